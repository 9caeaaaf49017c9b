//! The docker credential-helper protocol over a reader and a writer. This is
//! the only module that writes to stdout.

use std::collections::BTreeMap;
use std::io::{self, Read, Write};

use serde::Serialize;

use crate::helper::{Credentials, GetError};

/// The exact text docker recognises as "no credentials": it then pulls
/// anonymously instead of failing.
pub const NOT_FOUND: &str = "credentials not found in native keychain";
pub const NOT_IMPLEMENTED: &str = "not implemented";
/// docker sends a URL; anything much larger is not one.
pub const MAX_INPUT: u64 = 64 * 1024;

pub const USAGE: &str = "Usage: docker-credential-ecr-login <get|list|store|erase|version>";

/// What the protocol needs from the helper.
pub trait Backend {
    fn get(&self, server_url: &str) -> Result<Credentials, GetError>;
    fn list(&self) -> BTreeMap<String, String>;
    /// `AWS_ECR_IGNORE_CREDS_STORAGE=true`: store and erase succeed silently.
    fn ignore_creds_storage(&self) -> bool;
}

#[derive(Serialize)]
struct GetResponse<'a> {
    #[serde(rename = "ServerURL")]
    server_url: &'a str,
    #[serde(rename = "Username")]
    username: &'a str,
    #[serde(rename = "Secret")]
    secret: &'a str,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Get,
    Store,
    Erase,
    List,
    /// `version`: the bare version, as the Go helper prints it.
    Version,
    /// `--version`, `-v`: the version and the commit.
    LongVersion,
    Help,
}

impl Action {
    pub fn parse(arg: &str) -> Option<Action> {
        Some(match arg {
            "get" => Action::Get,
            "store" => Action::Store,
            "erase" => Action::Erase,
            "list" => Action::List,
            "version" => Action::Version,
            "--version" | "-v" => Action::LongVersion,
            "help" | "--help" | "-h" => Action::Help,
            _ => return None,
        })
    }
}

pub fn version_line() -> String {
    format!(
        "docker-credential-ecr-login (Rust) {} ({})",
        env!("CARGO_PKG_VERSION"),
        option_env!("ECR_LOGIN_GIT_COMMIT").unwrap_or("unknown commit")
    )
}

pub fn help_text() -> String {
    format!(
        "{USAGE}\n\n\
         A docker credential helper for Amazon ECR. docker runs it through\n\
         \"credHelpers\" in ~/.docker/config.json and sends the registry on stdin.\n\n\
         Actions:\n  \
           get       read a registry URL on stdin, print its credentials\n  \
           list      print the registries with a cached token\n  \
           store     not supported (no-op with AWS_ECR_IGNORE_CREDS_STORAGE=true)\n  \
           erase     not supported (no-op with AWS_ECR_IGNORE_CREDS_STORAGE=true)\n  \
           version   print the version\n\n\
         Environment: AWS_ECR_CACHE_DIR, AWS_ECR_DISABLE_CACHE, AWS_ECR_LOG,\n\
         AWS_ECR_LOG_FILE, AWS_ECR_TIMEOUT, AWS_ECR_IGNORE_CREDS_STORAGE, AWS_CA_BUNDLE\n\
         and the standard AWS credential chain (AWS_PROFILE, ...)."
    )
}

/// Reads the whole request, bounded. `None` if it is too large or not UTF-8.
fn read_input(stdin: &mut dyn Read) -> Option<String> {
    let mut buf = Vec::new();
    match stdin.take(MAX_INPUT + 1).read_to_end(&mut buf) {
        Ok(n) if n as u64 <= MAX_INPUT => String::from_utf8(buf).ok(),
        Ok(_) => {
            tracing::warn!("input larger than {MAX_INPUT} bytes; refusing it");
            None
        }
        Err(e) => {
            tracing::warn!(error = %e, "cannot read stdin");
            None
        }
    }
}

/// Runs one action; returns the process exit code. Errors writing stdout
/// (docker went away) end in exit 1, never in a panic.
/// `stderr` carries only what the user must fix (a broken configuration
/// file, no or an unknown action: the usage): docker shows it, and logs are
/// off by default. stdout is the protocol's: never the usage.
pub fn run(
    action: Option<&str>,
    stdin: &mut dyn Read,
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
    backend: &dyn Backend,
) -> u8 {
    let result = match action.map(|a| (a, Action::parse(a))) {
        Some((_, Some(action))) => dispatch(action, stdin, stdout, stderr, backend),
        unknown => {
            if let Some((arg, _)) = unknown {
                let _ = writeln!(
                    stderr,
                    "docker-credential-ecr-login: unknown action {arg:?}"
                );
            }
            let _ = writeln!(stderr, "{USAGE}");
            return 1;
        }
    };
    let code = result.and_then(|code| stdout.flush().map(|()| code));
    code.unwrap_or_else(|e| {
        tracing::warn!(error = %e, "cannot write the answer");
        let _ = writeln!(
            stderr,
            "docker-credential-ecr-login: cannot write the answer: {e}"
        );
        1
    })
}

/// One JSON document and its newline in a single write: stdout is
/// line-buffered, and piecemeal the answer would take three system calls.
fn write_json_line(stdout: &mut dyn Write, value: &impl serde::Serialize) -> io::Result<()> {
    let mut line = serde_json::to_vec(value)?;
    line.push(b'\n');
    stdout.write_all(&line)
}

fn dispatch(
    action: Action,
    stdin: &mut dyn Read,
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
    backend: &dyn Backend,
) -> io::Result<u8> {
    match action {
        Action::Get => {
            let Some(input) = read_input(stdin) else {
                writeln!(stdout, "{NOT_FOUND}")?;
                return Ok(1);
            };
            match backend.get(&input) {
                Ok(c) => {
                    let response = GetResponse {
                        server_url: &c.server_url,
                        username: &c.username,
                        secret: c.secret.expose(),
                    };
                    write_json_line(stdout, &response)?;
                    Ok(0)
                }
                Err(e) => {
                    match &e {
                        GetError::NotEcr(_) => tracing::debug!("{e}"),
                        GetError::Token { .. } => tracing::error!("{}", crate::error_chain(&e)),
                        GetError::Config(_) => {
                            tracing::error!("{e}");
                            let _ = writeln!(stderr, "docker-credential-ecr-login: {e}");
                        }
                    }
                    writeln!(stdout, "{NOT_FOUND}")?;
                    Ok(1)
                }
            }
        }
        Action::Store | Action::Erase => {
            // Drain the request so the writer never sees EPIPE.
            let _ = read_input(stdin);
            if backend.ignore_creds_storage() {
                Ok(0)
            } else {
                writeln!(stdout, "{NOT_IMPLEMENTED}")?;
                Ok(1)
            }
        }
        Action::List => {
            write_json_line(stdout, &backend.list())?;
            Ok(0)
        }
        Action::Version => {
            writeln!(stdout, "{}", env!("CARGO_PKG_VERSION"))?;
            Ok(0)
        }
        Action::LongVersion => {
            writeln!(stdout, "{}", version_line())?;
            Ok(0)
        }
        Action::Help => {
            writeln!(stdout, "{}", help_text())?;
            Ok(0)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::helper::token::TokenError;
    use crate::registry::ParseError;
    use std::cell::RefCell;

    struct Fake {
        ignore: bool,
        asked: RefCell<Vec<String>>,
    }

    impl Backend for Fake {
        fn get(&self, server_url: &str) -> Result<Credentials, GetError> {
            self.asked.borrow_mut().push(server_url.to_owned());
            match server_url.trim() {
                "good" => Ok(Credentials {
                    server_url: "good".into(),
                    username: "AWS".into(),
                    secret: "s3\"cr\\et".into(),
                }),
                "down" => Err(GetError::Token {
                    registry: "down".into(),
                    source: TokenError::Api {
                        operation: "GetAuthorizationToken",
                        status: None,
                        failure: crate::helper::token::ApiFailure::other("boom"),
                    },
                }),
                "misconfigured" => Err(GetError::Config("/c.toml:3: bad; fix it".into())),
                other => Err(ParseError::NotEcr(other.into()).into()),
            }
        }
        fn list(&self) -> BTreeMap<String, String> {
            BTreeMap::from([("https://a".to_owned(), "AWS".to_owned())])
        }
        fn ignore_creds_storage(&self) -> bool {
            self.ignore
        }
    }

    fn call(action: Option<&str>, input: &[u8], ignore: bool) -> (u8, String, Vec<String>) {
        let fake = Fake {
            ignore,
            asked: RefCell::new(Vec::new()),
        };
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let code = run(action, &mut &input[..], &mut out, &mut err, &fake);
        // Only the usage and what the user must fix go to stderr.
        let err = String::from_utf8(err).unwrap();
        assert!(
            err.is_empty() || err.ends_with(&format!("{USAGE}\n")),
            "{err}"
        );
        (
            code,
            String::from_utf8(out).unwrap(),
            fake.asked.into_inner(),
        )
    }

    #[test]
    fn wire_strings() {
        let nf = format!("{NOT_FOUND}\n");
        // (action, stdin, ignore storage, exit code, stdout)
        type Case<'a> = (Option<&'a str>, &'a [u8], bool, u8, &'a str);
        let table: &[Case] = &[
            (
                Some("get"),
                b"good\n",
                false,
                0,
                "{\"ServerURL\":\"good\",\"Username\":\"AWS\",\"Secret\":\"s3\\\"cr\\\\et\"}\n",
            ),
            (Some("get"), b"down", false, 1, &nf),
            (Some("get"), b"registry.example.com", false, 1, &nf),
            (Some("get"), b"", false, 1, &nf),
            (Some("get"), b"\xff\xfe", false, 1, &nf),
            (Some("store"), b"{}", false, 1, "not implemented\n"),
            (Some("erase"), b"x", false, 1, "not implemented\n"),
            (Some("store"), b"{}", true, 0, ""),
            (Some("erase"), b"x", true, 0, ""),
            (Some("list"), b"", false, 0, "{\"https://a\":\"AWS\"}\n"),
            // The usage goes to stderr: stdout is the protocol's.
            (None, b"", false, 1, ""),
            (Some("fetch"), b"", false, 1, ""),
        ];
        for &(action, input, ignore, code, out) in table {
            let got = call(action, input, ignore);
            assert_eq!((got.0, got.1.as_str()), (code, out), "{action:?} {input:?}");
        }
    }

    #[test]
    fn a_configuration_error_is_told_on_stderr_only() {
        let fake = Fake {
            ignore: false,
            asked: RefCell::new(Vec::new()),
        };
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let code = run(
            Some("get"),
            &mut &b"misconfigured"[..],
            &mut out,
            &mut err,
            &fake,
        );
        assert_eq!(
            (code, String::from_utf8(out).unwrap()),
            (1, format!("{NOT_FOUND}\n"))
        );
        assert_eq!(
            String::from_utf8(err).unwrap(),
            "docker-credential-ecr-login: /c.toml:3: bad; fix it\n"
        );
        // Other failures stay silent there.
        let mut err = Vec::new();
        run(
            Some("get"),
            &mut &b"down"[..],
            &mut Vec::new(),
            &mut err,
            &fake,
        );
        assert!(err.is_empty());
    }

    #[test]
    fn the_usage_is_told_on_stderr() {
        let fake = Fake {
            ignore: false,
            asked: RefCell::new(Vec::new()),
        };
        for (action, first) in [
            (None, USAGE),
            (
                Some("fetch"),
                "docker-credential-ecr-login: unknown action \"fetch\"",
            ),
        ] {
            let (mut out, mut err) = (Vec::new(), Vec::new());
            assert_eq!(run(action, &mut &b""[..], &mut out, &mut err, &fake), 1);
            assert!(out.is_empty());
            let err = String::from_utf8(err).unwrap();
            assert_eq!(err.lines().next(), Some(first), "{err}");
            assert!(err.ends_with(&format!("{USAGE}\n")), "{err}");
        }
    }

    #[test]
    fn version_and_help_succeed() {
        let (code, out, _) = call(Some("version"), b"", false);
        assert_eq!((code, out), (0, format!("{}\n", env!("CARGO_PKG_VERSION"))));
        for a in ["--version", "-v"] {
            let (code, out, _) = call(Some(a), b"", false);
            assert_eq!(code, 0);
            assert!(
                out.starts_with("docker-credential-ecr-login (Rust) "),
                "{out}"
            );
        }
        for a in ["help", "--help", "-h"] {
            let (code, out, _) = call(Some(a), b"", false);
            assert_eq!(code, 0);
            assert!(out.starts_with(USAGE), "{out}");
        }
    }

    #[test]
    fn oversized_input_is_refused_without_asking_the_backend() {
        let big = vec![b'a'; MAX_INPUT as usize + 1];
        let (code, out, asked) = call(Some("get"), &big, false);
        assert_eq!((code, out.as_str()), (1, format!("{NOT_FOUND}\n").as_str()));
        assert!(asked.is_empty());
        let exact = vec![b'a'; MAX_INPUT as usize];
        assert_eq!(call(Some("get"), &exact, false).2.len(), 1);
    }

    #[test]
    fn a_closed_stdout_is_exit_1() {
        struct Closed;
        impl Write for Closed {
            fn write(&mut self, _: &[u8]) -> io::Result<usize> {
                Err(io::ErrorKind::BrokenPipe.into())
            }
            fn flush(&mut self) -> io::Result<()> {
                Err(io::ErrorKind::BrokenPipe.into())
            }
        }
        let fake = Fake {
            ignore: false,
            asked: RefCell::new(Vec::new()),
        };
        assert_eq!(
            run(
                Some("get"),
                &mut &b"good"[..],
                &mut Closed,
                &mut Vec::new(),
                &fake
            ),
            1
        );
    }
}
