//! What a test needs beyond `cargo`: root, moto, the end-to-end tools.
//!
//! A test that needs one of them starts with
//!
//! ```ignore
//! if !support::require(Need::Root) {
//!     return;
//! }
//! ```
//!
//! When the need is met, `require` returns true and the test runs. When it
//! is not, `require` writes one line to stderr,
//! `skipped <test>: needs <what> (<how to get it>)`, and returns false: the
//! test returns at once and counts as passed. The line is written with
//! `std::io::stderr().write_all`, which libtest does not capture (it only
//! captures `print!` and `eprint!`), so it shows in a plain `cargo test`.
//!
//! With `ECR_LOGIN_TEST_ALL=1` (as `scripts/test.sh`, and so CI, sets it), a
//! need not met is a failure instead: `require` panics with the same reason.
//!
//! A need that cannot exist on a platform is not there to ask for: Windows
//! has no root and no Linux namespaces, so `Need::Root` and `Need::E2e` are
//! `cfg(unix)`, and so is every test that needs them. Moto's tests are
//! ignored on Windows with the reason (see `support::moto`): the Windows
//! test run is under wine, where the Linux `moto_server` cannot start.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use super::moto;

/// The environment variable that turns every skip into a failure.
pub const TEST_ALL: &str = "ECR_LOGIN_TEST_ALL";

/// Something a test needs that a contributor's machine may lack.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Need {
    /// Root: mount namespaces (`unshare --mount`), bind mounts, ports below
    /// 1024, files chowned to another user. Unix only: Windows has no root.
    #[cfg(unix)]
    Root,
    /// A `moto_server` (see `support::moto`).
    Moto,
    /// The end-to-end suite (`tests/e2e/run.sh`): root, moto, and the real
    /// clients and registry (skopeo, podman, docker, docker-registry).
    /// Unix only: it runs in Linux namespaces.
    #[cfg(unix)]
    E2e,
}

/// One thing missing: what it is and how to get it.
struct Missing {
    what: String,
    how: &'static str,
}

const ROOT_HOW: &str = "run the tests as root, as scripts/test.sh and CI do";
const MOTO_HOW: &str = "scripts/test.sh installs moto[server] into target/test-venv, or set MOTO_SERVER to a moto_server";
const TOOLS_HOW: &str = "tests/e2e/install-deps.sh installs them, as root, on Debian";

/// True when `need` is met. Otherwise: with `ECR_LOGIN_TEST_ALL=1`, panics;
/// without, writes `skipped <test>: needs <what> (<how>)` to stderr and
/// returns false, and the caller returns.
#[must_use = "a test must return when its need is not met"]
pub fn require(need: Need) -> bool {
    gate(
        &test_name(),
        &missing(need),
        test_all(),
        &mut std::io::stderr(),
    )
}

/// `require` once its facts are known: true when nothing is `missing`;
/// else a panic when `all`, or the skip line written to `out` and false.
fn gate(test: &str, missing: &[Missing], all: bool, out: &mut dyn Write) -> bool {
    if missing.is_empty() {
        return true;
    }
    let reason = reason(missing);
    if all {
        panic!("{test}: needs {reason}; {TEST_ALL}=1 makes a missing need a failure, not a skip");
    }
    // `require` passes the real stderr: libtest captures `eprintln!`, not this.
    let _ = out.write_all(format!("skipped {test}: needs {reason}\n").as_bytes());
    false
}

/// Whether `ECR_LOGIN_TEST_ALL=1` is set.
pub fn test_all() -> bool {
    std::env::var_os(TEST_ALL).is_some_and(|v| v == "1")
}

/// `<what>, <what> (<how>; <how>)`, each `how` once.
fn reason(missing: &[Missing]) -> String {
    let whats: Vec<&str> = missing.iter().map(|m| m.what.as_str()).collect();
    let mut hows: Vec<&str> = Vec::new();
    for m in missing {
        if !hows.contains(&m.how) {
            hows.push(m.how);
        }
    }
    format!("{} ({})", whats.join(", "), hows.join("; "))
}

/// The running test's name, as libtest names its thread
/// (`faults::without_home_the_helper_still_answers`).
fn test_name() -> String {
    match std::thread::current().name() {
        Some(name) if name != "main" => name.to_owned(),
        _ => "this test".to_owned(),
    }
}

fn missing(need: Need) -> Vec<Missing> {
    let mut missing = Vec::new();
    #[cfg(unix)]
    if matches!(need, Need::Root | Need::E2e) && !is_root() {
        missing.push(Missing {
            what: "root".into(),
            how: ROOT_HOW,
        });
    }
    let moto = match need {
        Need::Moto => true,
        #[cfg(unix)]
        Need::E2e => true,
        #[cfg(unix)]
        Need::Root => false,
    };
    if moto && let Some(what) = moto_missing() {
        missing.push(Missing {
            what,
            how: MOTO_HOW,
        });
    }
    #[cfg(unix)]
    if need == Need::E2e {
        for tool in ["skopeo", "podman", "docker-registry"] {
            if on_path(tool).is_none() {
                missing.push(Missing {
                    what: tool.into(),
                    how: TOOLS_HOW,
                });
            }
        }
        if !has_docker() {
            missing.push(Missing {
                what: "docker".into(),
                how: TOOLS_HOW,
            });
        }
    }
    missing
}

/// Root (Unix only: `Need::Root` does not exist on Windows).
#[cfg(unix)]
fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// What is wrong with moto, if anything: none where `support::moto`
/// looks, or the one found there does not run (a venv made by another
/// user, a pyenv shim of another Python: `moto_server --help` fails; asked
/// once per test run). An explicit `MOTO_SERVER` counts as there: if it is
/// wrong, `Moto::start` fails saying so (a wrong setting is never a skip).
fn moto_missing() -> Option<String> {
    if std::env::var_os("MOTO_SERVER").is_some_and(|p| !p.is_empty()) {
        return None;
    }
    static FOUND: OnceLock<Option<String>> = OnceLock::new();
    FOUND
        .get_or_init(|| match moto::find_moto_server() {
            Err(_) => Some("moto_server".into()),
            Ok(path) => runs(&path)
                .err()
                .map(|e| format!("a moto_server that runs ({} --help: {e})", path.display())),
        })
        .clone()
}

/// Whether `exe --help` runs and exits 0; else why not.
fn runs(exe: &Path) -> Result<(), String> {
    let out = Command::new(exe)
        .arg("--help")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .map_err(|e| e.to_string())?;
    if out.status.success() {
        return Ok(());
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    let last = stderr.lines().rfind(|l| !l.trim().is_empty()).unwrap_or("");
    Err(format!("{}: {}", out.status, last.trim()))
}

/// The docker CLI the suite runs: `E2E_DOCKER`, else /usr/bin/docker, else
/// the first on PATH (as `tests/e2e/run.sh` picks it).
fn has_docker() -> bool {
    match std::env::var_os("E2E_DOCKER").filter(|p| !p.is_empty()) {
        Some(p) => is_executable(Path::new(&p)),
        None => is_executable(Path::new("/usr/bin/docker")) || on_path("docker").is_some(),
    }
}

/// `name` in a directory of `PATH`, as an executable file.
fn on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|p| is_executable(p))
}

/// A file, with an execute bit on Unix (Windows has none).
fn is_executable(p: &Path) -> bool {
    p.metadata().is_ok_and(|m| {
        #[cfg(unix)]
        let runs = std::os::unix::fs::PermissionsExt::mode(&m.permissions()) & 0o111 != 0;
        #[cfg(not(unix))]
        let runs = true;
        m.is_file() && runs
    })
}

fn sample() -> Vec<Missing> {
    vec![
        Missing {
            what: "root".into(),
            how: ROOT_HOW,
        },
        Missing {
            what: "skopeo".into(),
            how: TOOLS_HOW,
        },
        Missing {
            what: "podman".into(),
            how: TOOLS_HOW,
        },
    ]
}

#[test]
fn the_gate_skips_with_one_line_naming_the_test_and_the_reason() {
    let mut out = Vec::new();
    assert!(!gate("faults::a_test", &sample(), false, &mut out));
    assert_eq!(
        String::from_utf8(out).unwrap(),
        format!("skipped faults::a_test: needs root, skopeo, podman ({ROOT_HOW}; {TOOLS_HOW})\n")
    );
}

#[test]
fn the_gate_lets_a_test_run_when_nothing_is_missing() {
    let mut out = Vec::new();
    assert!(gate("faults::a_test", &[], false, &mut out));
    assert!(gate("faults::a_test", &[], true, &mut out));
    assert!(out.is_empty());
}

#[test]
fn with_test_all_a_missing_need_is_a_failure() {
    let mut out = Vec::new();
    let panic = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        gate("faults::a_test", &sample(), true, &mut out)
    }))
    .expect_err("ECR_LOGIN_TEST_ALL=1 must fail the test, not skip it");
    let message = panic.downcast_ref::<String>().unwrap();
    assert!(
        message.starts_with("faults::a_test: needs root, skopeo, podman ("),
        "{message}"
    );
    assert!(message.contains("ECR_LOGIN_TEST_ALL=1"), "{message}");
    assert!(out.is_empty(), "a failure is not also a skip");
}

#[test]
#[cfg(unix)] // /bin/true and /bin/false are Unix's
fn a_moto_server_that_does_not_run_is_missing() {
    assert_eq!(runs(Path::new("/bin/true")), Ok(()));
    let failed = runs(Path::new("/bin/false")).unwrap_err();
    assert!(failed.contains("exit status: 1"), "{failed}");
    let absent = runs(Path::new("/nonexistent/moto_server")).unwrap_err();
    assert!(absent.contains("No such file"), "{absent}");
}
