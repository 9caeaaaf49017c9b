//! The integration tests: one test binary (`it`), one module per suite, all
//! sharing `support` (compiled once). Most run the built helper as a black
//! box, with a clean environment, against our fake ECR or a real moto.
//!
//!     cargo test --test it                # every suite
//!     cargo test --test it faults::       # one suite
//!
//! # Skipped tests, and `ECR_LOGIN_TEST_ALL=1`
//!
//! Plain `cargo test` passes for a contributor without root, moto or the
//! end-to-end tools. A test that needs one of them starts with
//! `support::require(Need::Root | Need::Moto | Need::E2e)`: when the need
//! is not met, it writes one line to stderr and returns, passing:
//!
//!     skipped faults::a_read_only_cache_directory_still_answers: needs root (…)
//!
//! The line is written past libtest's output capture, so it shows without
//! `--nocapture`. With `ECR_LOGIN_TEST_ALL=1` every such need is a failure
//! with the same reason instead, never a skip: `scripts/test.sh` (and so CI)
//! sets it, so there every test runs. See `support::need`.
//!
//! On Windows (`scripts/cross.sh --test-windows` runs this binary under
//! wine): `Need::Root` and `Need::E2e` do not exist, so the tests that
//! need them are `cfg(unix)`; moto's are ignored with the reason.
//!
//! - `cache`: the token cache. `faults`: a broken API, a hostile machine,
//!   and the secrets sweep. `load`: 64 processes at once.
//! - `moto`, `doctor`, `policy`, `kubelet`, `registries`: the SDK path
//!   against moto (and the fake), per command.
//! - `sources_machine`: IMDSv2, ECS, EKS Pod Identity and static keys, in a
//!   private network namespace (`support::netns`).
//! - `network`: CA bundles and proxies. `e2e`: skopeo, podman and docker
//!   through the helper (`tests/e2e/`).
//! - `fuzz_corpus`: the fuzz corpora replayed. `packaging`: the man page,
//!   completions and package definitions. `layout`: the rules that keep
//!   `src/`'s layers apart. `executable`: how the binary is linked.

mod bounded;
mod cache;
mod cli;
mod configure;
mod doctor;
mod e2e;
mod executable;
mod faults;
mod fuzz_corpus;
mod kubelet;
mod layout;
mod load;
mod moto;
mod network;
mod packaging;
mod policy;
mod registries;
mod shared_machine;
mod sources_laptop;
mod sources_machine;
mod throttling;
// The harness: not every suite uses every part of it.
#[allow(dead_code)]
mod support;
