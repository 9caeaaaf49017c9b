//! `cargo fuzz run registry_host`: see fuzz/README.md; the invariants are
//! `ecr_login_fuzz::registry_host`, which `tests/it/fuzz_corpus.rs` replays too.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| ecr_login_fuzz::registry_host(data));
