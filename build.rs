//! Stamps the git commit into `--version`.
use std::process::Command;

fn git(args: &[&str]) -> Option<String> {
    Command::new("git")
        .args(args)
        .output()
        .ok()
        .filter(|o| o.status.success())
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
}

fn main() {
    // Only our own checkout: a release tarball unpacked inside some other
    // repository must not be stamped with that repository's commit.
    let ours = git(&["rev-parse", "--show-toplevel"]).is_some_and(|top| {
        let manifest = std::env::var("CARGO_MANIFEST_DIR").unwrap_or_default();
        std::fs::canonicalize(top).ok() == std::fs::canonicalize(manifest).ok()
    });
    let commit = if ours {
        git(&["rev-parse", "--short=12", "HEAD"])
    } else {
        None
    };
    if let Some(commit) = commit {
        println!("cargo:rustc-env=ECR_LOGIN_GIT_COMMIT={commit}");
    }
    println!("cargo:rerun-if-changed=.git/HEAD");
    println!("cargo:rerun-if-changed=.git/refs/heads");
    println!("cargo:rerun-if-env-changed=ECR_LOGIN_GIT_COMMIT");
}
