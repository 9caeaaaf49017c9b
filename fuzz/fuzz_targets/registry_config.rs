//! `cargo fuzz run registry_config`: see fuzz/README.md; the invariants are
//! `ecr_login_fuzz::registry_config`, which `tests/it/fuzz_corpus.rs` replays too.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| ecr_login_fuzz::registry_config(data));
