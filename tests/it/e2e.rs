//! End-to-end: skopeo, podman, buildah, the docker CLI and the docker daemon
//! (`docker pull`, `docker build`) pull from two real registries of two ECR
//! accounts through the built helper, with moto as the API, inside a private
//! network namespace (see `tests/e2e/run.sh` and `suite.sh`).
//!
//! The suite runs once (the first test to need it starts it; the others wait)
//! and writes one result row per case; each test here asserts on its own
//! rows. It needs root, moto and the tools `tests/e2e/install-deps.sh`
//! installs: without them each test skips (`support::require(Need::E2e)`),
//! or fails with `ECR_LOGIN_TEST_ALL=1`, as `scripts/test.sh` sets it; a
//! tool `run.sh` needs beyond those is a failure naming its package. Run it
//! alone with `cargo test --test it e2e:: -- --nocapture` to see the whole
//! report.

// Unix only: the suite runs in Linux namespaces (`Need::E2e` is `cfg(unix)`).
#![cfg(unix)]

use std::path::Path;
use std::process::Command;
use std::sync::OnceLock;

use crate::support::{self, Need};

struct Suite {
    success: bool,
    /// stdout and stderr of `run.sh`, interleaved.
    output: String,
    rows: Vec<Row>,
}

struct Row {
    status: String,
    group: String,
    name: String,
    detail: String,
}

fn suite() -> &'static Suite {
    static SUITE: OnceLock<Suite> = OnceLock::new();
    SUITE.get_or_init(run_suite)
}

fn run_suite() -> Suite {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let results = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("e2e-results-{}.tsv", std::process::id()));
    let _ = std::fs::remove_file(&results);
    let out = Command::new("bash")
        .arg("-c")
        .arg(r#"exec bash "$0" 2>&1"#)
        .arg(root.join("tests/e2e/run.sh"))
        .env(
            "E2E_HELPER",
            env!("CARGO_BIN_EXE_docker-credential-ecr-login"),
        )
        .env("E2E_RESULTS", &results)
        .current_dir(root)
        .output()
        .expect("run bash tests/e2e/run.sh");
    let output = String::from_utf8_lossy(&out.stdout).into_owned();
    let rows = std::fs::read_to_string(&results)
        .unwrap_or_default()
        .lines()
        .filter_map(|line| {
            let mut f = line.splitn(4, '\t');
            Some(Row {
                status: f.next()?.to_owned(),
                group: f.next()?.to_owned(),
                name: f.next()?.to_owned(),
                detail: f.next().unwrap_or("").to_owned(),
            })
        })
        .collect();
    let _ = std::fs::remove_file(&results);
    println!("{output}");
    Suite {
        success: out.status.success(),
        output,
        rows,
    }
}

/// Asserts the suite ran cases of every group in `groups` and all of them
/// passed; on failure, shows the failing cases and the whole suite output.
fn assert_group(groups: &[&str]) {
    let s = suite();
    for group in groups {
        let rows: Vec<&Row> = s.rows.iter().filter(|r| r.group == *group).collect();
        let failed: Vec<String> = rows
            .iter()
            .filter(|r| r.status != "PASS")
            .map(|r| format!("  {} {}: {} [{}]", r.status, r.group, r.name, r.detail))
            .collect();
        assert!(
            !rows.is_empty() && failed.is_empty(),
            "e2e group {group:?}: {} cases ran, {} failed:\n{}\n\n--- suite output ---\n{}",
            rows.len(),
            failed.len(),
            failed.join("\n"),
            s.output
        );
    }
}

#[test]
fn setup_and_whole_suite_pass() {
    if !support::require(Need::E2e) {
        return;
    }
    assert_group(&["setup"]);
    let s = suite();
    assert!(
        s.success,
        "tests/e2e/run.sh failed\n\n--- suite output ---\n{}",
        s.output
    );
    assert!(
        s.output.contains("GetAuthorizationToken") && s.output.contains("API requests"),
        "the numbers table is missing\n{}",
        s.output
    );
}

#[test]
fn configure_writes_both_files_and_keeps_the_rest() {
    if !support::require(Need::E2e) {
        return;
    }
    assert_group(&["configure"]);
}

#[test]
fn skopeo_inspects_and_copies_from_both_accounts() {
    if !support::require(Need::E2e) {
        return;
    }
    assert_group(&["skopeo"]);
}

#[test]
fn podman_pulls_from_both_accounts() {
    if !support::require(Need::E2e) {
        return;
    }
    assert_group(&["podman"]);
}

#[test]
fn docker_cli_inspects_manifests_of_both_accounts() {
    if !support::require(Need::E2e) {
        return;
    }
    assert_group(&["docker"]);
}

#[test]
fn docker_pull_through_the_daemon_from_both_accounts() {
    if !support::require(Need::E2e) {
        return;
    }
    assert_group(&["dockerd"]);
}

#[test]
fn docker_build_from_an_image_of_each_account_classic_and_buildkit() {
    if !support::require(Need::E2e) {
        return;
    }
    assert_group(&["docker-build"]);
}

#[test]
fn buildah_pulls_from_both_accounts() {
    if !support::require(Need::E2e) {
        return;
    }
    assert_group(&["buildah"]);
}

#[test]
fn helper_protocol_errors_and_warm_cache() {
    if !support::require(Need::E2e) {
        return;
    }
    assert_group(&["helper"]);
}

#[test]
fn no_partial_files_and_one_api_call_per_uncached_get() {
    if !support::require(Need::E2e) {
        return;
    }
    assert_group(&["files", "numbers"]);
}

#[test]
fn an_alias_name_pulls_through_the_helper_with_the_registrys_token() {
    if !support::require(Need::E2e) {
        return;
    }
    assert_group(&["alias"]);
}
