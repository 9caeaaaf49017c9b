//! Shared harness for black-box tests: runs the built binary with a clean,
//! hermetic environment (never the developer's ~/.aws or ~/.docker).

pub mod fake_ecr;
pub mod loopback;
pub mod metadata;
pub mod moto;
pub mod need;
#[cfg(target_os = "linux")]
pub mod netns;
pub mod proxy;
pub mod sso_portal;
pub mod tls;

pub use need::{Need, require};

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

pub const NOT_FOUND: &str = "credentials not found in native keychain";

/// The helper under test: the one cargo built, or `ECR_LOGIN_TEST_BINARY`
/// (an older build, to show that a new test fails on it).
pub fn binary() -> PathBuf {
    std::env::var_os("ECR_LOGIN_TEST_BINARY")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_docker-credential-ecr-login")))
}

/// Makes `link` a symbolic link to the file `target`, and checks that it
/// is one: on Windows a link needs Developer Mode or an administrator, and
/// wine 8 reports success and makes none.
pub fn symlink_file(target: &Path, link: &Path) {
    #[cfg(unix)]
    let made = std::os::unix::fs::symlink(target, link);
    #[cfg(windows)]
    let made = std::os::windows::fs::symlink_file(target, link);
    let made = made.and_then(|()| std::fs::symlink_metadata(link));
    if !made.as_ref().is_ok_and(|m| m.file_type().is_symlink()) {
        panic!(
            "cannot make the symlink {} -> {}: {made:?}",
            link.display(),
            target.display()
        );
    }
}

/// A sandbox: its own HOME, cache dir and AWS config paths inside a temp dir.
pub struct Sandbox {
    pub dir: tempfile::TempDir,
    pub env: Vec<(String, String)>,
    /// A private /etc/hosts for the helper (see `resolve_locally`).
    hosts_file: Option<PathBuf>,
    /// A private /etc/resolv.conf (see `resolv_conf`).
    resolv_conf: Option<PathBuf>,
    /// A private network namespace to run the helper in (see `in_netns`).
    netns: Option<PathBuf>,
}

impl Sandbox {
    pub fn new() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let home = dir.path().join("home");
        std::fs::create_dir_all(&home).unwrap();
        let p = |s: &str| dir.path().join(s).to_string_lossy().into_owned();
        let env = vec![
            ("HOME".into(), home.to_string_lossy().into_owned()),
            ("PATH".into(), std::env::var("PATH").unwrap_or_default()),
            ("AWS_EC2_METADATA_DISABLED".into(), "true".into()),
            ("AWS_CONFIG_FILE".into(), p("aws-config")),
            ("AWS_SHARED_CREDENTIALS_FILE".into(), p("aws-credentials")),
            ("AWS_ECR_CACHE_DIR".into(), p("cache")),
            ("AWS_ECR_LOG".into(), "trace".into()),
            ("AWS_ECR_LOG_FILE".into(), p("helper.log")),
        ];
        Sandbox {
            dir,
            env,
            hosts_file: None,
            resolv_conf: None,
            netns: None,
        }
    }

    /// Runs the helper in a private mount namespace whose /etc/hosts maps
    /// `names` to 127.0.0.1, so that a test using real AWS host names can
    /// never send a DNS query or a packet off this machine, whatever the
    /// helper does with the name. Needs root (`unshare --mount`).
    pub fn resolve_locally(&mut self, names: &[&str]) -> &mut Self {
        self.resolve_locally_to(std::net::Ipv4Addr::LOCALHOST, names)
    }

    /// As `resolve_locally`, to a loopback address of the test's own.
    pub fn resolve_locally_to(&mut self, ip: std::net::Ipv4Addr, names: &[&str]) -> &mut Self {
        assert!(ip.is_loopback(), "{ip} is not a loopback address");
        let path = self.dir.path().join("hosts");
        let mut text = String::from("127.0.0.1 localhost\n");
        for name in names {
            text.push_str(&format!("{ip} {name}\n"));
        }
        std::fs::write(&path, text).unwrap();
        self.hosts_file = Some(path);
        self
    }

    /// Runs the helper in a private mount namespace whose
    /// /etc/resolv.conf is `text` (a loopback name server of the test's
    /// own). Needs root (`unshare --mount`).
    pub fn resolv_conf(&mut self, text: &str) -> &mut Self {
        let path = self.dir.path().join("resolv.conf");
        std::fs::write(&path, text).unwrap();
        self.resolv_conf = Some(path);
        self
    }

    /// Runs the helper inside `ns` (`nsenter --net`), which must outlive
    /// every run. Needs root. See `support::netns`.
    #[cfg(target_os = "linux")]
    pub fn in_netns(&mut self, ns: &netns::Netns) -> &mut Self {
        self.netns = Some(ns.path().to_path_buf());
        self
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn cache_dir(&self) -> PathBuf {
        PathBuf::from(self.var("AWS_ECR_CACHE_DIR").expect("cache dir set"))
    }

    pub fn log(&self) -> String {
        self.var("AWS_ECR_LOG_FILE")
            .and_then(|p| std::fs::read_to_string(p).ok())
            .unwrap_or_default()
    }

    pub fn var(&self, k: &str) -> Option<String> {
        self.env
            .iter()
            .rev()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.clone())
    }

    /// Sets (or replaces) a variable for every later run.
    pub fn set(&mut self, k: &str, v: &str) -> &mut Self {
        self.env.retain(|(key, _)| key != k);
        self.env.push((k.into(), v.into()));
        self
    }

    pub fn unset(&mut self, k: &str) -> &mut Self {
        self.env.retain(|(key, _)| key != k);
        self
    }

    /// Static credentials of the caller's own account.
    pub fn with_credentials(&mut self, key_id: &str, secret: &str) -> &mut Self {
        self.set("AWS_ACCESS_KEY_ID", key_id)
            .set("AWS_SECRET_ACCESS_KEY", secret)
    }

    pub fn command(&self, args: &[&str]) -> Command {
        let mounts: Vec<(&PathBuf, &str)> = [
            (self.hosts_file.as_ref(), "/etc/hosts"),
            (self.resolv_conf.as_ref(), "/etc/resolv.conf"),
        ]
        .into_iter()
        .filter_map(|(file, target)| file.map(|f| (f, target)))
        .collect();
        // nsenter --net=NS [unshare --mount sh -c '…' …] BINARY ARGS
        let mut cmd = match &self.netns {
            Some(ns) => {
                let mut c = Command::new("nsenter");
                c.arg(format!("--net={}", ns.display()));
                c.arg(if mounts.is_empty() {
                    binary()
                } else {
                    "unshare".into()
                });
                c
            }
            None if mounts.is_empty() => Command::new(binary()),
            None => Command::new("unshare"),
        };
        if !mounts.is_empty() {
            // sh -c '…' sh FILE TARGET [FILE TARGET] -- BINARY ARGS
            let c = &mut cmd;
            c.args([
                "--mount",
                "sh",
                "-c",
                "while [ \"$1\" != -- ]; do mount --bind \"$1\" \"$2\" || exit 111; shift 2; done; shift; exec \"$@\"",
                "sh",
            ]);
            for (file, target) in mounts {
                c.arg(file).arg(target);
            }
            c.arg("--").arg(binary());
        }
        cmd.args(args).env_clear();
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        cmd
    }

    /// Runs the helper with `args`, feeding `stdin`.
    pub fn run(&self, args: &[&str], stdin: &str) -> Run {
        run_command(self.command(args), stdin)
    }

    pub fn get(&self, server: &str) -> Run {
        self.run(&["get"], server)
    }
}

impl Default for Sandbox {
    fn default() -> Self {
        Self::new()
    }
}

pub fn run_command(mut cmd: Command, stdin: &str) -> Run {
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("spawn helper");
    // The helper may exit before reading stdin (e.g. `version`); ignore EPIPE.
    let _ = child.stdin.take().unwrap().write_all(stdin.as_bytes());
    Run(child.wait_with_output().expect("wait helper"))
}

pub struct Run(pub Output);

impl Run {
    pub fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.0.stdout).into_owned()
    }
    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.0.stderr).into_owned()
    }
    pub fn code(&self) -> Option<i32> {
        self.0.status.code()
    }
    /// Parses a successful `get` answer, panicking with both streams otherwise.
    pub fn credentials(&self) -> serde_json::Value {
        assert_eq!(
            self.code(),
            Some(0),
            "get failed: stdout={:?} stderr={:?}",
            self.stdout(),
            self.stderr()
        );
        serde_json::from_slice(&self.0.stdout).expect("stdout is JSON")
    }
    pub fn secret(&self) -> String {
        self.credentials()["Secret"].as_str().unwrap().to_owned()
    }
    pub fn assert_not_found(&self) {
        assert_eq!(self.code(), Some(1), "stderr={:?}", self.stderr());
        assert_eq!(self.stdout().trim_end(), NOT_FOUND);
    }

    /// The not-found answer exactly (one line on stdout, exit 1), and no
    /// panic on stderr.
    pub fn assert_not_found_cleanly(&self) {
        self.assert_not_found();
        assert_eq!(self.stdout(), format!("{NOT_FOUND}\n"));
        assert!(
            !self.stderr().contains("panicked"),
            "the helper panicked: {}",
            self.stderr()
        );
    }
}

/// Kills a child of this test by its pid: SIGKILL on Unix, `taskkill /F`
/// (TerminateProcess) on Windows.
pub fn kill_pid(pid: u32) {
    #[cfg(unix)]
    // SAFETY: signalling a child of this test (a reaped pid at worst names
    // nothing: the caller has not spawned since).
    unsafe {
        libc::kill(pid as i32, libc::SIGKILL);
    }
    #[cfg(not(unix))]
    let _ = std::process::Command::new("taskkill")
        .args(["/F", "/PID", &pid.to_string()])
        .output();
}
