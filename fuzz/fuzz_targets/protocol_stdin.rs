//! `cargo fuzz run protocol_stdin`: see fuzz/README.md; the invariants are
//! `ecr_login_fuzz::protocol_stdin`, which `tests/it/fuzz_corpus.rs` replays too.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| ecr_login_fuzz::protocol_stdin(data));
