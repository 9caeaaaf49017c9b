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
    order_for_fast_start();
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

/// The functions a cache hit and a miss run, as `link/symbol-order.txt`
/// lists them (written by `scripts/symbol-order.sh` from callgrind), are
/// laid out together at the start of the code. Otherwise they are spread
/// over the whole 5.7 MB of it: the kernel maps code 64 KB around each
/// page fault, so a miss maps nearly all of it, and unmaps it all at exit.
///
/// The names carry hashes of the compiler, the lock file and the profile:
/// built otherwise, they match nothing and the linker keeps its own order
/// (the same code, slower to start; `scripts/test.sh` checks the list
/// against the release build's link map). Only where a trial link shows
/// that the linker takes the list (LLD, Rust's default on x86_64 Linux;
/// mold). `ECR_LOGIN_SYMBOL_ORDER=0` leaves the order to the linker;
/// `ECR_LOGIN_LINK_MAP=PATH` writes the link map there.
fn order_for_fast_start() {
    let var = |k: &str| std::env::var(k).unwrap_or_default();
    println!("cargo:rerun-if-changed=link/symbol-order.txt");
    println!("cargo:rerun-if-env-changed=ECR_LOGIN_SYMBOL_ORDER");
    println!("cargo:rerun-if-env-changed=ECR_LOGIN_LINK_MAP");
    if var("CARGO_CFG_TARGET_OS") != "linux" || var("ECR_LOGIN_SYMBOL_ORDER") == "0" {
        return;
    }
    let list = PathBuf::from(var("CARGO_MANIFEST_DIR")).join("link/symbol-order.txt");
    if !list.is_file() {
        return;
    }
    let mut args = vec![
        format!("-Wl,--symbol-ordering-file={}", list.display()),
        "-Wl,--no-warn-symbol-ordering".to_owned(),
    ];
    let map = var("ECR_LOGIN_LINK_MAP");
    if !map.is_empty() {
        args.push(format!("-Wl,-Map={map}"));
        args.push("-Wl,--no-demangle".to_owned());
    }
    if linker_takes(&args) {
        for arg in args {
            println!("cargo:rustc-link-arg-bins={arg}");
        }
    }
}

/// Whether the linker this build uses accepts `args`: a trial link of an
/// empty program by the same compiler, for the same target, with the same
/// flags and linker.
fn linker_takes(args: &[String]) -> bool {
    let var = |k: &str| std::env::var(k).unwrap_or_default();
    let out_dir = PathBuf::from(var("OUT_DIR")).join("link-trial");
    if std::fs::create_dir_all(&out_dir).is_err() {
        return false;
    }
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let mut cmd = Command::new(rustc);
    cmd.args(["--crate-type=bin", "--crate-name=link_trial", "--target"])
        .arg(var("TARGET"))
        .arg("--out-dir")
        .arg(&out_dir)
        .arg("-");
    cmd.args(
        var("CARGO_ENCODED_RUSTFLAGS")
            .split('\x1f')
            .filter(|f| !f.is_empty()),
    );
    let linker = var("RUSTC_LINKER");
    if !linker.is_empty() {
        cmd.arg(format!("-Clinker={linker}"));
    }
    for arg in args {
        cmd.arg(format!("-Clink-arg={arg}"));
    }
    cmd.stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    let Ok(mut child) = cmd.spawn() else {
        return false;
    };
    if let Some(mut stdin) = child.stdin.take() {
        use std::io::Write;
        if stdin.write_all(b"fn main() {}\n").is_err() {
            return false;
        }
    }
    child.wait().is_ok_and(|s| s.success())
}
