//! Stamps the git commit into `--version`, and links the executable for a
//! fast start (see `link_for_fast_start`).
use std::path::PathBuf;
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
    link_for_fast_start();
    println!("cargo:rerun-if-changed=.git/HEAD");
    println!("cargo:rerun-if-changed=.git/refs/heads");
    println!("cargo:rerun-if-env-changed=ECR_LOGIN_GIT_COMMIT");
}

/// A cache hit is over in about a millisecond, most of it the dynamic
/// loader's (benches/results/findings.md). On Linux with glibc:
/// - `-no-pie`: a position-independent executable of this size carries
///   ~20,000 relative relocations that ld.so applies on every start, writing
///   ~300 KB of pages. The cost: the executable's own code is not at a
///   random address (its libraries, stack and heap still are).
/// - the unwinder linked in from `libgcc_eh.a` (what `-static-libgcc` does
///   for C++) in place of `libgcc_s.so`, one shared library fewer to find,
///   map and relocate. Where `libgcc_eh.a` is missing, `libgcc_s` stays.
fn link_for_fast_start() {
    let var = |k: &str| std::env::var(k).unwrap_or_default();
    println!("cargo:rerun-if-env-changed=ECR_LOGIN_PIE");
    println!("cargo:rerun-if-env-changed=CC");
    if var("CARGO_CFG_TARGET_OS") != "linux" || var("CARGO_CFG_TARGET_ENV") != "gnu" {
        return;
    }
    // For packagers whose policy requires a PIE: slower start, same code.
    if var("ECR_LOGIN_PIE") != "1" {
        println!("cargo:rustc-link-arg-bins=-no-pie");
    }
    // The host's compiler names the host's libgcc_eh.a: a cross build keeps
    // libgcc_s.
    if var("HOST") != var("TARGET") {
        return;
    }
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    let eh = Command::new(cc)
        .arg("-print-file-name=libgcc_eh.a")
        .output()
        .ok()
        .filter(|o| o.status.success())
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map(|s| PathBuf::from(s.trim()))
        .filter(|p| p.is_absolute() && p.is_file());
    if let Some(eh) = eh {
        // rustc asks for `-lgcc_s`; a linker script of that name found first
        // answers with the static unwinder.
        let dir = PathBuf::from(var("OUT_DIR")).join("link");
        let script = format!("INPUT ( {} )\n", eh.display());
        if std::fs::create_dir_all(&dir).is_ok()
            && std::fs::write(dir.join("libgcc_s.so"), script).is_ok()
        {
            println!("cargo:rustc-link-search=native={}", dir.display());
        }
    }
}
