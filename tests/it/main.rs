//! The integration tests: one test binary (`it`), one module per suite, all
//! sharing `support` (compiled once). Most run the built helper as a black
//! box, with a clean environment, against our fake ECR or a real moto.
//!
//!     cargo test --test it                # every suite
//!     cargo test --test it faults::       # one suite
//!
//! - `cache`: the token cache. `faults`: a broken API, a hostile machine,
//!   and the secrets sweep. `load`: 64 processes at once.
//! - `moto`, `doctor`, `policy`, `kubelet`, `registries`: the SDK path
//!   against moto (and the fake), per command.
//! - `network`: CA bundles and proxies. `e2e`: skopeo, podman and docker
//!   through the helper (`tests/e2e/`).
//! - `fuzz_corpus`: the fuzz corpora replayed. `packaging`: the man page,
//!   completions and package definitions.

mod cache;
mod doctor;
mod e2e;
mod faults;
mod fuzz_corpus;
mod kubelet;
mod load;
mod moto;
mod network;
mod packaging;
mod policy;
mod registries;
// The harness: not every suite uses every part of it.
#[allow(dead_code)]
mod support;
