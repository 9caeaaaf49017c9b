//! docker-credential-ecr-login: a docker credential helper for Amazon ECR,
//! built for cross-account pulls.
//!
//! The layers, each using only those above it:
//! - `registry`: pure domain code: hosts, partitions, images, the
//!   per-registry rules file. No IO.
//! - `helper`: `get` and `list` over a `TokenSource` and the file cache.
//! - `serve`: the docker and kubelet wire protocols.
//! - `commands`: the human commands (configure, policy, doctor).
//! - `aws`: the one adapter that names SDK types.
//!
//! `tests/it/layout.rs` checks the rules that keep them apart.
#![deny(clippy::print_stdout, clippy::print_stderr, clippy::dbg_macro)]

pub mod aws;
pub mod commands;
pub mod config;
pub mod helper;
pub mod logging;
pub mod registry;
pub mod secret;
#[allow(clippy::print_stdout)]
pub mod serve;

/// An error and its causes as `a: b: c`, by `Display` only, skipping a
/// cause whose text its parent already shows.
pub fn error_chain(err: &dyn std::error::Error) -> String {
    let mut out = err.to_string();
    let mut source = err.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !text.is_empty() && !out.ends_with(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = s.source();
    }
    out
}
