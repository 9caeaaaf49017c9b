//! The command line through the built binary: help for every action,
//! the usage on stderr, `version`, a stdout that cannot be written, and
//! "no credentials" in one line, for every command.

use crate::support::fake_ecr::FakeEcr;
use crate::support::{NOT_FOUND, Run, Sandbox};

const NAME: &str = "docker-credential-ecr-login";
const REGISTRY: &str = "111111111111.dkr.ecr.us-east-1.amazonaws.com";
const IMAGE: &str = "111111111111.dkr.ecr.us-east-1.amazonaws.com/team/app:1.0";
const KEY_ID: &str = "AKIAIOSFODNN7EXAMPLE";
const SECRET: &str = "cLi/TeSt+SeCrEt-never-logged-0123456789";

/// A sandbox with static keys whose ECR (and STS) is the fake.
fn fake_sandbox() -> (FakeEcr, Sandbox) {
    let fake = FakeEcr::start();
    let mut sb = Sandbox::new();
    fake.attach(&mut sb);
    sb.set("AWS_ENDPOINT_URL_STS", &fake.url());
    sb.with_credentials(KEY_ID, SECRET);
    (fake, sb)
}

fn kubelet_request() -> String {
    serde_json::json!({
        "apiVersion": "credentialprovider.kubelet.k8s.io/v1",
        "kind": "CredentialProviderRequest",
        "image": IMAGE,
    })
    .to_string()
}

fn assert_no_panic(what: &str, run: &Run) {
    assert!(
        !run.stderr().contains("panicked"),
        "{what}: the helper panicked: {}",
        run.stderr()
    );
}

/// `--help` and `-h` after any action print that action's help on stdout
/// and exit 0, as every other command does; `get --help` never reads a
/// request (it used to run `get`, reading stdin).
#[test]
fn help_flags_print_help_for_every_action() {
    let (fake, sb) = fake_sandbox();
    for action in ["get", "list", "store", "erase", "version", "help"] {
        for flag in ["--help", "-h"] {
            let what = format!("{action} {flag}");
            let run = sb.run(&[action, flag], REGISTRY);
            assert_eq!(run.code(), Some(0), "{what}: stderr={}", run.stderr());
            let out = run.stdout();
            assert!(out.contains(&format!("Usage: {NAME}")), "{what}:\n{out}");
            assert!(
                !out.contains(NOT_FOUND) && !out.contains('{'),
                "{what}:\n{out}"
            );
            assert_eq!(run.stderr(), "", "{what}");
        }
    }
    // help --help is the top-level help, with every command.
    let out = sb.run(&["help", "--help"], "").stdout();
    for command in ["get", "configure", "policy", "kubelet", "doctor"] {
        assert!(out.contains(command), "{command} missing:\n{out}");
    }
    assert_eq!(fake.calls(), 0, "no request was read, no token fetched");
    assert!(!sb.cache_dir().exists());
}

/// No action, an unknown one, or an argument an action does not take: the
/// usage on stderr (stdout is the protocol's), exit 1, for the protocol's
/// actions and clap's commands alike (doctor's exit 2 means "not an ECR
/// image").
#[test]
fn no_or_unknown_arguments_print_the_usage_on_stderr_and_exit_1() {
    let (fake, sb) = fake_sandbox();
    for args in [
        &[][..],
        &["bogus"],
        &["--bogus"],
        &["GET"],
        &["get", "--bogus"],
        &["list", "extra"],
        &["version", "--bogus"],
        &["configure", "--bogus"],
        &["policy", "--registry"],
        &["doctor"],
    ] {
        let run = sb.run(args, REGISTRY);
        assert_eq!(run.code(), Some(1), "{args:?}: stderr={}", run.stderr());
        assert_eq!(run.stdout(), "", "{args:?}: nothing on stdout");
        // The usage, or clap's pointer to it.
        assert!(
            run.stderr().contains("Usage:") || run.stderr().contains("try '--help'"),
            "{args:?}: stderr={}",
            run.stderr()
        );
        assert_no_panic(&format!("{args:?}"), &run);
    }
    assert_eq!(fake.calls(), 0);
    // An unknown action is named.
    let run = sb.run(&["bogus"], "");
    assert!(
        run.stderr().contains("unknown action \"bogus\""),
        "{}",
        run.stderr()
    );
}

/// `version` prints the bare version, as the Go helper's does, for scripts;
/// `--version` and `-v` keep the long form with the commit.
#[test]
fn version_is_bare_and_the_long_form_stays_under_dash_dash_version() {
    let sb = Sandbox::new();
    let run = sb.run(&["version"], "");
    assert_eq!(run.code(), Some(0), "{}", run.stderr());
    assert_eq!(run.stdout(), format!("{}\n", env!("CARGO_PKG_VERSION")));
    assert_eq!(run.stderr(), "");
    for flag in ["--version", "-v"] {
        let run = sb.run(&[flag], "");
        assert_eq!(run.code(), Some(0), "{flag}: {}", run.stderr());
        let out = run.stdout();
        assert!(
            out.starts_with(&format!("{NAME} (Rust) {} (", env!("CARGO_PKG_VERSION")))
                && out.ends_with(")\n")
                && out.lines().count() == 1,
            "{flag}: {out:?}"
        );
    }
}

#[cfg(target_os = "linux")]
#[derive(Clone, Copy, Debug)]
enum BrokenStdout {
    /// fd 1 closed (`cmd >&-`).
    Closed,
    /// `/dev/full`: every write fails with ENOSPC.
    Full,
}

/// Runs the helper with a stdout it cannot write.
#[cfg(target_os = "linux")]
fn run_with(sb: &Sandbox, args: &[&str], stdin: &str, how: BrokenStdout) -> Run {
    use std::io::Write as _;
    use std::os::unix::process::CommandExt;
    use std::process::Stdio;
    let mut cmd = sb.command(args);
    cmd.stdin(Stdio::piped()).stderr(Stdio::piped());
    match how {
        BrokenStdout::Closed => {
            cmd.stdout(Stdio::null());
            // SAFETY: only async-signal-safe calls between fork and exec.
            unsafe {
                cmd.pre_exec(|| {
                    libc::close(1);
                    Ok(())
                });
            }
        }
        BrokenStdout::Full => {
            let full = std::fs::OpenOptions::new()
                .write(true)
                .open("/dev/full")
                .expect("/dev/full");
            cmd.stdout(full);
        }
    }
    let mut child = cmd.spawn().expect("spawn the helper");
    let _ = child.stdin.take().unwrap().write_all(stdin.as_bytes());
    Run(child.wait_with_output().expect("wait for the helper"))
}

/// A stdout that is closed or full is an error, exit 1 with a message on
/// stderr, for every command that has something to say: `get` on a miss
/// and on a hit, `list`, `version`, `--version`, the help, `configure
/// --dry-run`, `policy`, `doctor` and `kubelet`. std opens a closed fd 1 on
/// /dev/null before `main`, where every write used to succeed unseen.
#[cfg(target_os = "linux")]
#[test]
fn a_closed_or_full_stdout_is_exit_1_for_every_command() {
    for how in [BrokenStdout::Closed, BrokenStdout::Full] {
        let (fake, sb) = fake_sandbox();
        let request = kubelet_request();
        let cases: &[(&str, &[&str], &str)] = &[
            ("get, a miss", &["get"], REGISTRY),
            ("get, a hit", &["get"], REGISTRY),
            ("list", &["list"], ""),
            ("version", &["version"], ""),
            ("--version", &["--version"], ""),
            ("-v", &["-v"], ""),
            ("help", &["help"], ""),
            ("--help", &["--help"], ""),
            ("get --help", &["get", "--help"], ""),
            (
                "configure --dry-run",
                &["configure", "--registry", REGISTRY, "--dry-run"],
                "",
            ),
            (
                "policy",
                &[
                    "policy",
                    "--registry",
                    REGISTRY,
                    "--allow-account",
                    "222222222222",
                ],
                "",
            ),
            // Not an ECR image: the report needs no AWS call.
            (
                "doctor",
                &["doctor", "registry.example.com/team/app:1.0"],
                "",
            ),
            ("kubelet", &["kubelet"], &request),
        ];
        for (what, args, stdin) in cases {
            let what = format!("{what}, stdout {how:?}");
            let run = run_with(&sb, args, stdin, how);
            assert_eq!(run.code(), Some(1), "{what}: stderr={}", run.stderr());
            assert!(
                !run.stderr().trim().is_empty(),
                "{what}: no message on stderr"
            );
            assert!(!run.stderr().contains(SECRET), "{what}: the secret leaked");
            assert_no_panic(&what, &run);
        }
        // The miss still fetched and cached: the hit and kubelet made no call.
        assert_eq!(fake.calls(), 1, "stdout {how:?}");
    }
}

/// Whether every line of `text` is a line of its own: a message, a
/// warning, a log record or a report line, never the continuation of one.
fn continuation_lines(text: &str) -> Vec<&str> {
    text.lines()
        .filter(|l| l.starts_with(' ') || l.starts_with('\t'))
        .filter(|l| !l.starts_with("  [") && !l.starts_with("         fix: "))
        .collect()
}

/// With no credentials anywhere, every command says so in one line, and
/// never with a `Debug` dump: `get` with its log on stderr, `doctor` (text
/// and JSON), `policy --apply`, `configure` and `kubelet`. (The SDK lists
/// the providers it tried one a line.)
#[test]
fn no_credentials_is_one_line_in_every_command() {
    let fake = FakeEcr::start();
    let mut sb = Sandbox::new();
    fake.attach(&mut sb);
    sb.set("AWS_ENDPOINT_URL_STS", &fake.url())
        .set("AWS_REGION", "us-east-1")
        .set("AWS_ECR_LOG", "error")
        .unset("AWS_ECR_LOG_FILE");
    let request = kubelet_request();
    let cases: &[(&str, &[&str], &str)] = &[
        ("get", &["get"], REGISTRY),
        ("doctor", &["doctor", "--no-docker-config", IMAGE], ""),
        (
            "policy --apply",
            &[
                "policy",
                "--registry",
                REGISTRY,
                "--repository",
                "team/app",
                "--allow-account",
                "222222222222",
                "--apply",
            ],
            "",
        ),
        ("configure", &["configure", "--dry-run"], ""),
        ("kubelet", &["kubelet"], &request),
    ];
    for (what, args, stdin) in cases {
        let run = sb.run(args, stdin);
        assert_ne!(run.code(), Some(0), "{what}");
        let all = format!("{}{}", run.stdout(), run.stderr());
        assert_eq!(
            all.matches("no AWS credentials").count(),
            1,
            "{what}: said once:\n{all}"
        );
        assert_eq!(
            continuation_lines(&all),
            Vec::<&str>::new(),
            "{what}:\n{all}"
        );
        assert!(
            !all.contains(" { ") && !all.contains("Error {"),
            "{what}: a Debug dump:\n{all}"
        );
        assert_no_panic(what, &run);
    }
    // doctor --json: the detail is one line too.
    let run = sb.run(&["doctor", "--json", "--no-docker-config", IMAGE], "");
    let report: serde_json::Value = serde_json::from_str(&run.stdout()).expect("JSON");
    let details: Vec<&str> = report["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .filter_map(|s| s["detail"].as_str())
        .filter(|d| d.contains("no AWS credentials"))
        .collect();
    assert_eq!(details.len(), 1, "{report:#}");
    assert!(!details[0].contains('\n'), "{:?}", details[0]);
    assert_eq!(fake.calls(), 0, "no call without credentials");
}
