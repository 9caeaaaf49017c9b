//! docker-credential-ecr-login: a docker credential helper for Amazon ECR,
//! built for cross-account pulls.
#![deny(clippy::print_stdout, clippy::print_stderr, clippy::dbg_macro)]

pub mod aws;
pub mod cache;
pub mod cli;
pub mod config;
pub mod configure;
pub mod doctor;
pub mod fsutil;
pub mod helper;
pub mod image;
pub mod kubelet;
pub mod logging;
pub mod policy;
#[allow(clippy::print_stdout)]
pub mod protocol;
pub mod registries;
pub mod registry;
pub mod token;

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
