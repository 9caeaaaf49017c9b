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

/// An error and its causes as `a: b: c` on one line, by `Display` only,
/// skipping a cause whose text its parent already shows.
pub fn error_chain(err: &dyn std::error::Error) -> String {
    let mut out = one_line(&err.to_string());
    let mut source = err.source();
    while let Some(s) = source {
        let text = one_line(&s.to_string());
        if !text.is_empty() && !out.ends_with(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = s.source();
    }
    out
}

/// A message as one line: every command says a failure in one. Lines are
/// joined with "; " (the SDK's "no credentials found in chain" lists a
/// provider a line) and other control characters become spaces.
pub fn one_line(text: &str) -> String {
    let mut out = String::new();
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        if !out.is_empty() {
            out.push_str(if out.ends_with(':') { " " } else { "; " });
        }
        out.extend(line.chars().map(|c| if c.is_control() { ' ' } else { c }));
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn an_error_chain_is_one_line() {
        let sdk = "no credentials found in chain. Attempted:\n  Environment: not set\n  Profile: none\r\n";
        let err = std::io::Error::other(sdk);
        assert_eq!(
            super::error_chain(&err),
            "no credentials found in chain. Attempted: Environment: not set; Profile: none"
        );
        assert_eq!(super::one_line("a\rb\tc\u{1b}[31m"), "a b c [31m");
        assert_eq!(super::one_line("plain: text"), "plain: text");
    }
}
