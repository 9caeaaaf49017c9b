//! Replays every fuzz corpus file (`fuzz/corpus/<target>/*`) and every kept
//! input (`fuzz/regressions/<target>/*`) through the same checks the fuzz
//! targets run, so `cargo test` catches a regression without a fuzzer.
//! The checks live in `fuzz/src/lib.rs`, included here as they are; a
//! failing check panics and fails its test (nothing catches it), after a
//! line naming the file.

#[path = "../../fuzz/src/lib.rs"]
mod checks;

use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::sync::Once;

thread_local! {
    static CURRENT: RefCell<Option<PathBuf>> = const { RefCell::new(None) };
}

/// Names the input being checked when a check panics, then lets the
/// default hook report the panic as usual.
fn name_the_input_on_panic() {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            CURRENT.with(|c| {
                if let Some(path) = c.borrow().as_ref() {
                    eprintln!("fuzz input {} fails its check:", path.display());
                }
            });
            default(info);
        }));
    });
}

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz")
}

/// The files of `fuzz/<kind>/<target>/`, sorted; none if it is absent.
fn inputs(kind: &str, target: &str) -> Vec<PathBuf> {
    let dir = fuzz_dir().join(kind).join(target);
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .map(|e| e.expect("readable corpus directory").path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
}

fn replay(target: &str) {
    name_the_input_on_panic();
    let check = checks::TARGETS
        .iter()
        .find(|(name, _)| *name == target)
        .map(|(_, check)| *check)
        .expect("a known target");
    let corpus = inputs("corpus", target);
    assert!(
        !corpus.is_empty(),
        "fuzz/corpus/{target}/ is empty or missing"
    );
    for path in corpus.iter().chain(&inputs("regressions", target)) {
        let data = std::fs::read(path).expect("readable corpus file");
        CURRENT.with(|c| *c.borrow_mut() = Some(path.clone()));
        check(&data);
        CURRENT.with(|c| *c.borrow_mut() = None);
    }
}

#[test]
fn registry_host() {
    replay("registry_host");
}

#[test]
fn protocol_stdin() {
    replay("protocol_stdin");
}

#[test]
fn cache_entry() {
    replay("cache_entry");
}

#[test]
fn kubelet_request() {
    replay("kubelet_request");
}

#[test]
fn registry_config() {
    replay("registry_config");
}

#[test]
fn auth_token() {
    replay("auth_token");
}

#[test]
fn image() {
    replay("image");
}

/// Every corpus directory is a target this file replays, and every target
/// has its test above: a new target cannot go unreplayed.
#[test]
fn every_target_is_replayed() {
    let replayed = [
        "registry_host",
        "protocol_stdin",
        "cache_entry",
        "kubelet_request",
        "registry_config",
        "auth_token",
        "image",
    ];
    let targets: Vec<&str> = checks::TARGETS.iter().map(|(name, _)| *name).collect();
    assert_eq!(targets, replayed);
    for kind in ["corpus", "regressions"] {
        let Ok(dirs) = std::fs::read_dir(fuzz_dir().join(kind)) else {
            continue;
        };
        for dir in dirs {
            let name = dir.unwrap().file_name().into_string().unwrap();
            assert!(
                replayed.contains(&name.as_str()),
                "fuzz/{kind}/{name} is no target"
            );
        }
    }
    // The fuzz crate builds one binary per target, of the same names.
    let manifest = std::fs::read_to_string(fuzz_dir().join("Cargo.toml")).unwrap();
    for name in replayed {
        assert!(
            manifest.contains(&format!("name = \"{name}\"")),
            "fuzz/Cargo.toml has no [[bin]] {name}"
        );
    }
}
