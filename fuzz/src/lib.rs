//! The invariants the fuzz targets check, one public function per target.
//!
//! This file is the single copy: each `fuzz_targets/<target>.rs` calls the
//! function of its name, and `tests/it/fuzz_corpus.rs` includes this file
//! (`#[path]`) to replay every corpus file through the same functions with
//! plain `cargo test`. A check fails by panicking; nothing here catches a
//! panic. It may use only `ecr_login`, `std`, `serde_json` and `base64`,
//! which both the fuzz crate and the root package's tests have.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::io::{self, Read, Write};
use std::path::Path;

use base64::Engine as _;
use ecr_login::commands::doctor;
use ecr_login::helper::token::{ApiFailure, TokenError};
use ecr_login::helper::{Credentials, GetError};
use ecr_login::helper::{cache, token};
use ecr_login::registry::{self, rules};
use ecr_login::registry::{ParseError, Partition, Registry};
use ecr_login::serve::{docker, kubelet};
use serde_json::Value;

/// A target's check: panics on an input that breaks an invariant.
pub type Check = fn(&[u8]);

/// Every target: its name (the directory of its corpus) and its check.
pub const TARGETS: &[(&str, Check)] = &[
    ("registry_host", registry_host),
    ("protocol_stdin", protocol_stdin),
    ("cache_entry", cache_entry),
    ("kubelet_request", kubelet_request),
    ("registry_config", registry_config),
    ("auth_token", auth_token),
    ("image", image),
];

fn text(data: &[u8]) -> String {
    String::from_utf8_lossy(data).into_owned()
}

// --- registry_host ----------------------------------------------------------

/// `registry::parse` and `server_host` on any text (bytes that are not
/// UTF-8 are read lossily): never a panic; the two agree on the host; an
/// accepted registry has a lower-case `[a-z0-9.-]` host of DNS lengths
/// (at most 253, labels 1 to 63) that parses back to the same registry,
/// also as an upper-case URL with port and path, and that is rebuilt
/// exactly from its parts in one of the documented ECR host forms (a
/// 12-digit account, a region, one of its partition's domains).
pub fn registry_host(data: &[u8]) {
    check_host(&text(data));
}

fn check_host(input: &str) {
    let host = registry::server_host(input);
    if let Ok(h) = &host {
        assert!(!h.is_empty(), "{input:?}: empty host");
        assert!(
            !h.bytes()
                .any(|b| b.is_ascii_uppercase() || b"/?#".contains(&b)),
            "{input:?}: host {h:?} keeps upper case or a path"
        );
    }
    let parsed = registry::parse(input);
    let reg = match (&parsed, &host) {
        (Ok(reg), Ok(h)) => {
            assert_eq!(reg.host(), h, "{input:?}: parse and server_host disagree");
            reg
        }
        (Err(ParseError::Empty), Err(ParseError::Empty)) => return,
        (Err(ParseError::NotEcr(shown)), Ok(h)) => {
            assert_eq!(shown, h, "{input:?}: the error names another host");
            return;
        }
        other => panic!("{input:?}: parse and server_host disagree: {other:?}"),
    };
    let h = reg.host();
    assert!(
        h.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-'),
        "{input:?}: accepted host {h:?} outside [a-z0-9.-]"
    );
    assert!(
        h.len() <= 253 && h.split('.').all(|l| (1..=63).contains(&l.len())),
        "{input:?}: accepted host {h:?} is no DNS name (RFC 1035 lengths)"
    );
    assert_eq!(registry::parse(h).as_ref(), Ok(reg), "{input:?}: re-parse");
    let url = format!("HTTPS://{}:443/v2/", h.to_ascii_uppercase());
    assert_eq!(registry::parse(&url).as_ref(), Ok(reg), "{input:?}: {url}");
    match reg {
        Registry::Public { host } => {
            assert!(
                host == "public.ecr.aws" || host == "ecr-public.aws.com",
                "{input:?}: public host {host:?}"
            );
            assert_eq!(reg.api_region(), registry::ECR_PUBLIC_API_REGION);
        }
        Registry::Private(p) => {
            assert!(
                p.account.len() == 12 && p.account.bytes().all(|b| b.is_ascii_digit()),
                "{input:?}: account {:?}",
                p.account
            );
            assert!(registry::is_region(&p.region), "{input:?}: {:?}", p.region);
            assert_eq!(reg.api_region(), p.region);
            // The host is rebuilt from its parts with one of the partition's
            // own domains: no look-alike prefix or suffix gets through.
            let service = if p.fips { "ecr-fips" } else { "ecr" };
            let dkr = if p.dual_stack {
                format!("dkr-{service}")
            } else {
                format!("dkr.{service}")
            };
            let domains: &[&str] = match (p.partition, p.dual_stack) {
                (Partition::Aws | Partition::AwsUsGov, false) => &["amazonaws.com"],
                (Partition::Aws | Partition::AwsUsGov, true) => &["on.aws"],
                (Partition::AwsCn, false) => &["amazonaws.com.cn"],
                (Partition::AwsCn, true) => &["on.amazonwebservices.com.cn"],
                (Partition::AwsEusc, false) => &["amazonaws.eu"],
                (Partition::AwsIso, false) => &["c2s.ic.gov"],
                (Partition::AwsIsoB, false) => &["sc2s.sgov.gov"],
                (Partition::AwsIsoE, false) => &["cloud.adc-e.uk"],
                (Partition::AwsIsoF, false) => &["csp.hci.ic.gov"],
                (partition, true) => panic!("{input:?}: dual-stack in {partition:?}"),
            };
            assert!(
                domains
                    .iter()
                    .any(|d| p.host == format!("{}.{dkr}.{}.{d}", p.account, p.region)),
                "{input:?}: host {:?} is not of its parts {p:?}",
                p.host
            );
            let scope = reg.scope();
            assert!(
                scope.contains(&p.account) && scope.contains(&p.region),
                "{scope}"
            );
        }
    }
}

// --- protocol_stdin ---------------------------------------------------------

/// What the fake backend's `get` answers with a success.
pub const FAKE_SECRET: &str = "s3\"cr\\et\n\u{2028}";
const FAKE_CONFIG_ERROR: &str = "/c.toml:1: bad; fix it";
const FAKE_LIST_URL: &str = "https://111111111111.dkr.ecr.us-east-1.amazonaws.com";

/// How the fake backend answers `get`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// As the real helper does: success for an ECR host, else not-ECR.
    LikeHelper,
    /// Success for anything: the input comes back as `ServerURL`.
    Echo,
    /// A failed token fetch.
    TokenFails,
    /// A broken configuration file.
    ConfigBroken,
}

/// Records every `get`; answers by its mode.
struct Fake {
    mode: Mode,
    ignore: bool,
    asked: RefCell<Vec<String>>,
}

impl docker::Backend for Fake {
    fn get(&self, server_url: &str) -> Result<Credentials, GetError> {
        self.asked.borrow_mut().push(server_url.to_owned());
        let ok = || Credentials {
            server_url: server_url.trim().to_owned(),
            username: token::USERNAME.to_owned(),
            secret: FAKE_SECRET.into(),
        };
        match self.mode {
            Mode::LikeHelper => registry::parse(server_url)
                .map(|_| ok())
                .map_err(Into::into),
            Mode::Echo => Ok(ok()),
            Mode::TokenFails => Err(GetError::Token {
                registry: "r".into(),
                source: TokenError::Api {
                    operation: "GetAuthorizationToken",
                    status: None,
                    failure: ApiFailure::other("boom"),
                },
            }),
            Mode::ConfigBroken => Err(GetError::Config(FAKE_CONFIG_ERROR.into())),
        }
    }
    fn list(&self) -> BTreeMap<String, String> {
        BTreeMap::from([(FAKE_LIST_URL.to_owned(), token::USERNAME.to_owned())])
    }
    fn ignore_creds_storage(&self) -> bool {
        self.ignore
    }
}

/// Hands out `data` `chunk` bytes at a time (all at once for 0), then
/// end of file, or an error if `fail`.
struct Stdin<'a> {
    data: &'a [u8],
    chunk: usize,
    fail: bool,
}

impl Read for Stdin<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.data.is_empty() {
            return if self.fail {
                Err(io::Error::other("stdin broke"))
            } else {
                Ok(0)
            };
        }
        let mut n = buf.len().min(self.data.len());
        if self.chunk > 0 {
            n = n.min(self.chunk);
        }
        buf[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        Ok(n)
    }
}

/// Takes `budget` bytes (all if `None`), then fails as a closed pipe.
struct Stdout {
    buf: Vec<u8>,
    budget: Option<usize>,
    failed: bool,
}

impl Write for Stdout {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        let room = self.budget.map_or(usize::MAX, |b| b - self.buf.len());
        if room == 0 && !data.is_empty() {
            self.failed = true;
            return Err(io::ErrorKind::BrokenPipe.into());
        }
        let n = data.len().min(room);
        self.buf.extend_from_slice(&data[..n]);
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        if self.budget.is_some_and(|b| self.buf.len() >= b) {
            self.failed = true;
            return Err(io::ErrorKind::BrokenPipe.into());
        }
        Ok(())
    }
}

/// `docker::run` over a fake backend. Byte 0 picks the action (bits
/// 0-2: get, erase, store, list, version, help, none, an unknown one),
/// `AWS_ECR_IGNORE_CREDS_STORAGE` (bit 3), the backend's mode (bits 4-5),
/// a stdout that breaks (bit 6) and a stdin that ends in an error (bit 7);
/// byte 1 the stdin chunk size (low nibble) and how many bytes the broken
/// stdout takes (high nibble, times 16). The rest is stdin.
///
/// Exit code 0 or 1. stdout is exactly one of: the not-found line, the
/// JSON credentials of the input (its `ServerURL` the only part of the
/// input that can show), `not implemented`, the JSON list, the version,
/// the help, the usage, or nothing, as the action and the backend call
/// for; stderr is empty unless the configuration is broken; the backend is
/// asked once, with the exact input, for a `get` whose input is whole, at
/// most `MAX_INPUT` bytes and UTF-8, and else never. When stdout breaks
/// (the same input is run again with a stdout that fails after some
/// bytes), it got a prefix of that answer, the exit code is 1, and stderr
/// and the backend's calls are the same.
pub fn protocol_stdin(data: &[u8]) {
    let b0 = data.first().copied().unwrap_or(0);
    let b1 = data.get(1).copied().unwrap_or(0);
    let input = data.get(2..).unwrap_or_default();
    let action = [
        Some("get"),
        Some("erase"),
        Some("store"),
        Some("list"),
        Some("version"),
        Some("help"),
        None,
        Some("fetch"),
    ][usize::from(b0 & 7)];
    let ignore = b0 & 8 != 0;
    let mode = [
        Mode::LikeHelper,
        Mode::Echo,
        Mode::TokenFails,
        Mode::ConfigBroken,
    ][usize::from((b0 >> 4) & 3)];
    let broken = b0 & 0x40 != 0;
    let stdin_fails = b0 & 0x80 != 0;

    let run = |budget: Option<usize>| {
        let fake = Fake {
            mode,
            ignore,
            asked: RefCell::new(Vec::new()),
        };
        let mut stdin = Stdin {
            data: input,
            chunk: usize::from(b1 & 0xf),
            fail: stdin_fails,
        };
        let mut stdout = Stdout {
            buf: Vec::new(),
            budget,
            failed: false,
        };
        let mut stderr = Vec::new();
        let code = docker::run(action, &mut stdin, &mut stdout, &mut stderr, &fake);
        let err = String::from_utf8(stderr).expect("stderr is UTF-8");
        (code, stdout, err, fake.asked.into_inner())
    };
    let (code, stdout, err, asked) = run(None);
    assert!(!stdout.failed);
    let out = String::from_utf8(stdout.buf).expect("stdout is UTF-8");
    if broken {
        // A stdout that breaks gets a prefix of the same answer, and exit 1.
        let cut = run(Some(usize::from(b1 >> 4) * 16));
        assert!(
            out.as_bytes().starts_with(&cut.1.buf),
            "a broken stdout got {:?}, not a prefix of {out:?}",
            String::from_utf8_lossy(&cut.1.buf)
        );
        let mut want_err = err.clone();
        if cut.1.failed {
            assert_eq!(cut.0, 1, "a failed stdout must be exit 1");
            // ... and says so on stderr, once, after what the run said.
            want_err
                .push_str("docker-credential-ecr-login: cannot write the answer: broken pipe\n");
        } else {
            assert_eq!((cut.0, cut.1.buf.len()), (code, out.len()));
        }
        assert_eq!((&cut.2, &cut.3), (&want_err, &asked), "stderr and asked");
    }

    assert!(code <= 1, "exit code {code}");
    // What `get` reads: whole, bounded, UTF-8.
    let whole = (input.len() as u64) <= docker::MAX_INPUT && !stdin_fails;
    let request = whole.then(|| std::str::from_utf8(input).ok()).flatten();
    let get_request = request.filter(|_| action == Some("get"));
    let want_asked: Vec<String> = get_request.into_iter().map(str::to_owned).collect();
    assert_eq!(asked, want_asked, "what the backend was asked");

    {
        let line = |s: &str| out == format!("{s}\n");
        let (want_code, expected) = match action {
            Some("get") => match get_request {
                Some(r)
                    if mode == Mode::Echo
                        || (mode == Mode::LikeHelper && registry::parse(r).is_ok()) =>
                {
                    (0, credentials_json(&out, r.trim()))
                }
                _ => (1, line(docker::NOT_FOUND)),
            },
            Some("erase" | "store") if ignore => (0, out.is_empty()),
            Some("erase" | "store") => (1, line(docker::NOT_IMPLEMENTED)),
            Some("list") => (0, line(&format!("{{\"{FAKE_LIST_URL}\":\"AWS\"}}"))),
            Some("version") => (0, line(env!("CARGO_PKG_VERSION"))),
            Some("--version" | "-v") => (0, line(&docker::version_line())),
            Some("help" | "--help" | "-h") => (0, line(&docker::help_text())),
            // No or an unknown action: the usage, on stderr only.
            _ => (1, out.is_empty()),
        };
        assert_eq!(code, want_code, "{action:?} {mode:?}: {out:?}");
        assert!(expected, "{action:?} {mode:?}: unexpected stdout {out:?}");
    }
    if get_request.is_some() && mode == Mode::ConfigBroken {
        assert_eq!(
            err,
            format!("docker-credential-ecr-login: {FAKE_CONFIG_ERROR}\n")
        );
    } else if docker::Action::parse(action.unwrap_or_default()).is_none() {
        assert!(
            err.ends_with(&format!("{}\n", docker::USAGE)),
            "stderr {err:?}"
        );
    } else {
        assert!(err.is_empty(), "stderr {err:?}");
    }
}

/// One line holding the JSON credentials for `server_url`, keys in
/// docker's order.
fn credentials_json(out: &str, server_url: &str) -> bool {
    let Some(line) = out.strip_suffix('\n') else {
        return false;
    };
    if line.contains('\n') {
        return false;
    }
    let Ok(Value::Object(map)) = serde_json::from_str::<Value>(line) else {
        return false;
    };
    let keys: Vec<&str> = map.keys().map(String::as_str).collect();
    keys == ["ServerURL", "Username", "Secret"]
        && map["ServerURL"] == server_url
        && map["Username"] == token::USERNAME
        && map["Secret"] == FAKE_SECRET
}

// --- cache_entry ------------------------------------------------------------

/// `cache::parse_entry` on any bytes: an entry it accepts is of the current
/// version with a password, serializes and parses back to itself (the same
/// bytes again), never shows its password in `Debug`, and is never served
/// past its expiry nor 12 hours after it was fetched.
pub fn cache_entry(data: &[u8]) {
    let Some(e) = cache::parse_entry(data) else {
        return;
    };
    assert_eq!(e.version, cache::FORMAT_VERSION);
    assert!(!e.password.expose().is_empty());
    let bytes = serde_json::to_vec(&e).expect("an entry serializes");
    let again = cache::parse_entry(&bytes).expect("a serialized entry parses");
    assert_eq!(again, e, "round trip");
    assert_eq!(
        serde_json::to_vec(&again).unwrap(),
        bytes,
        "round trip bytes"
    );
    let other = cache::Entry {
        password: "other".into(),
        ..e.clone()
    };
    assert_eq!(
        format!("{e:?}"),
        format!("{other:?}"),
        "Debug shows the password"
    );
    // `now` is the wall clock: never before 1970.
    for now in [
        0,
        1_700_000_000,
        i64::MAX,
        e.fetched_at.max(0),
        e.expires_at.max(0),
        e.expires_at.saturating_sub(1).max(0),
        e.fetched_at
            .saturating_add(cache::MAX_LIFETIME_SECS / 2)
            .max(0),
    ] {
        let f = e.freshness(now);
        if f != cache::Freshness::Expired {
            assert!(
                now < e.expires_at && now < e.fetched_at.saturating_add(cache::MAX_LIFETIME_SECS),
                "{e:?} is {f:?} at {now}"
            );
        }
    }
}

// --- kubelet_request --------------------------------------------------------

/// `kubelet::parse_request` on any bytes, and `split_image` on the image it
/// accepts and on the bytes as text. An accepted request has a known
/// apiVersion, a trimmed non-empty image and a non-empty token if any; the
/// service-account token changes neither an error's text nor `Debug`. An
/// accepted image splits into a valid authority followed by `/` and its
/// repository (see `check_split`).
pub fn kubelet_request(data: &[u8]) {
    let parsed = kubelet::parse_request(data);
    if let Ok(r) = &parsed {
        assert!(kubelet::API_VERSIONS.contains(&r.api_version.as_str()));
        assert!(!r.image.is_empty() && r.image.trim() == r.image, "{r:?}");
        assert!(
            r.service_account_token
                .as_ref()
                .is_none_or(|t| !t.expose().is_empty())
        );
        check_split(&r.image);
    }
    check_split(&text(data));

    // Swap the token for another: nothing else may change.
    let Ok(Value::Object(mut map)) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    let other = match map.get("serviceAccountToken") {
        Some(Value::String(t)) if t == "x" => "y",
        Some(Value::String(t)) if !t.is_empty() => "x",
        _ => return,
    };
    map.insert("serviceAccountToken".into(), Value::String(other.into()));
    let swapped = serde_json::to_vec(&Value::Object(map)).expect("a JSON value serializes");
    match (parsed, kubelet::parse_request(&swapped)) {
        (Ok(a), Ok(b)) => {
            assert_eq!(format!("{a:?}"), format!("{b:?}"), "Debug shows the token");
            assert_eq!(
                (&a.api_version, &a.image, &a.service_account_annotations),
                (&b.api_version, &b.image, &b.service_account_annotations)
            );
            assert_eq!(
                b.service_account_token
                    .as_ref()
                    .map(|t| t.expose().as_str()),
                Some(other)
            );
        }
        (Err(a), Err(b)) => {
            assert_eq!(a.to_string(), b.to_string(), "the error shows the token");
            assert_eq!(
                format!("{a:?}"),
                format!("{b:?}"),
                "the error shows the token"
            );
        }
        (a, b) => panic!("the token decides: {a:?} / {b:?}"),
    }
}

fn check_split(image: &str) {
    let Ok(r) = kubelet::split_image(image) else {
        return;
    };
    let rest = image
        .strip_prefix(r.authority)
        .and_then(|rest| rest.strip_prefix('/'))
        .unwrap_or_else(|| panic!("{image:?}: authority {:?} is not its start", r.authority));
    assert!(!r.authority.contains('/'), "{image:?}: {r:?}");
    let (host, port) = match r.authority.rsplit_once(':') {
        Some((h, p)) => (h, Some(p)),
        None => (r.authority, None),
    };
    assert!(
        !host.is_empty()
            && host
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-'),
        "{image:?}: host {host:?}"
    );
    assert!(
        port.is_none_or(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit())),
        "{image:?}: port {port:?}"
    );
    assert!(
        rest.starts_with(r.repository),
        "{image:?}: repository {:?} is not what follows the authority",
        r.repository
    );
    assert!(
        !r.repository.is_empty() && !r.repository.split('/').any(str::is_empty),
        "{image:?}: repository {:?}",
        r.repository
    );
    assert!(!r.repository.contains('@'), "{image:?}: {r:?}");
    // What `respond` does next with the authority.
    check_host(r.authority);
    if let Ok(reg) = registry::parse(r.authority) {
        let host = host.to_ascii_lowercase();
        assert_eq!(
            reg.host(),
            host.strip_suffix('.').unwrap_or(&host),
            "{image:?}"
        );
    }
}

// --- registry_config --------------------------------------------------------

/// The path `registry_config` passes; messages start with it.
pub const CONFIG_PATH: &str = "/fuzz/config.toml";

/// `rules::parse` on any text: a configuration, or an `Invalid` error
/// naming a line between 1 and the text's line count + 1, shown as
/// `path:line: ...`. Rules name lines within the text too, and routing a
/// few registries through an accepted configuration never panics.
/// `glob_match` on the text's lines agrees with a plain reference matcher.
pub fn registry_config(data: &[u8]) {
    let text = text(data);
    let max_line = text.lines().count() + 1;
    match rules::parse(Path::new(CONFIG_PATH), &text) {
        Ok(config) => {
            for rule in &config.rules {
                assert!(
                    (1..=max_line).contains(&rule.line),
                    "rule at line {} of {max_line}",
                    rule.line
                );
            }
            for host in [
                "111111111111.dkr.ecr.us-east-1.amazonaws.com",
                "333333333333.dkr-ecr-fips.us-gov-west-1.on.aws",
                "444444444444.dkr.ecr.cn-north-1.amazonaws.com.cn",
                "public.ecr.aws",
            ] {
                let reg = registry::parse(host).expect("an ECR host");
                let route = config.route(&reg);
                if let Some(rule) = config.rule_for(&reg) {
                    assert_eq!(route, rule.credentials);
                }
            }
        }
        Err(e @ rules::RegistryConfigError::Invalid { line, .. }) => {
            assert!(
                (1..=max_line).contains(&line),
                "line {line} of {max_line}: {e}"
            );
            let shown = e.to_string();
            assert!(
                shown.starts_with(&format!("{CONFIG_PATH}:{line}: ")),
                "{shown}"
            );
        }
        Err(e) => panic!("parse read a file: {e}"),
    }
    // Against a plain dynamic-programming matcher, on the text's lines
    // as patterns and as hosts.
    let lines: Vec<&str> = text.lines().take(8).filter(|l| l.len() <= 128).collect();
    for pattern in &lines {
        for host in lines.iter().copied().chain([
            "111111111111.dkr.ecr.us-east-1.amazonaws.com",
            "public.ecr.aws",
        ]) {
            let want = if pattern.contains('*') {
                glob_reference(pattern.as_bytes(), host.as_bytes())
            } else {
                pattern == &host
            };
            assert_eq!(
                rules::glob_match(pattern, host),
                want,
                "{pattern:?} ~ {host:?}"
            );
        }
    }
}

/// `*` matches any run of bytes other than `.`; anything else itself.
fn glob_reference(p: &[u8], h: &[u8]) -> bool {
    // row[j]: whether p[i..] matches h[j..], for i from the end down.
    let mut row: Vec<bool> = (0..=h.len()).map(|j| j == h.len()).collect();
    let mut next = vec![false; h.len() + 1];
    for &c in p.iter().rev() {
        next[h.len()] = c == b'*' && row[h.len()];
        for j in (0..h.len()).rev() {
            next[j] = if c == b'*' {
                row[j] || (h[j] != b'.' && next[j + 1])
            } else {
                h[j] == c && row[j + 1]
            };
        }
        std::mem::swap(&mut row, &mut next);
    }
    row[0]
}

// --- auth_token -------------------------------------------------------------

/// `token::decode_authorization_token` on any text: a password it returns
/// is non-empty and is exactly what `base64("AWS:<password>")` carries,
/// that encoding being the trimmed input (the decoder is canonical).
pub fn auth_token(data: &[u8]) {
    let text = text(data);
    let Ok(password) = token::decode_authorization_token(&text) else {
        return;
    };
    assert!(!password.is_empty());
    let encoded = base64::engine::general_purpose::STANDARD.encode(format!("AWS:{password}"));
    assert_eq!(encoded, text.trim(), "non-canonical base64 accepted");
    assert_eq!(
        token::decode_authorization_token(&encoded).as_deref(),
        Ok(password.as_str())
    );
}

// --- image ------------------------------------------------------------------

/// `doctor::parse_image` on any text: an image it accepts has a non-empty
/// repository without `@`, a non-empty tag without `/`, `:` or `@`, or a
/// digest with a `:`; written back as `docker://host/repository<ref>` it
/// parses to itself; its host goes through the `registry_host` checks.
pub fn image(data: &[u8]) {
    let text = text(data);
    let Some(img) = doctor::parse_image(&text) else {
        return;
    };
    assert!(!img.host.contains('/'), "{text:?}: {img:?}");
    assert!(
        !img.repository.is_empty() && !img.repository.contains('@'),
        "{text:?}: {img:?}"
    );
    match &img.reference {
        doctor::Reference::Tag(t) => assert!(
            !t.is_empty() && !t.contains(['/', ':', '@']),
            "{text:?}: {img:?}"
        ),
        doctor::Reference::Digest(d) => assert!(d.contains(':'), "{text:?}: {img:?}"),
    }
    let written = format!("docker://{}/{}{}", img.host, img.repository, img.reference);
    assert_eq!(
        doctor::parse_image(&written).as_ref(),
        Some(&img),
        "{text:?} written back as {written:?}"
    );
    check_host(&img.host);
}
