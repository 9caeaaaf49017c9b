//! Fault injection through the built binary: a broken or slow ECR API (our
//! fake, `support::fake_ecr`), a hostile or broken machine (read-only, full
//! or missing cache directories, foreign files, FIFOs, no HOME, odd stdin, a
//! closed stdout, SIGKILL in the middle of a write), and, in every test, a
//! sweep of stdout, stderr and the trace log for secrets.
//!
//! Every child runs under a kill deadline (`DEADLINE`): a hang fails the
//! test instead of hanging the suite. No test asserts how long anything
//! took; the bounds are stated in docs/reliability.md.
//!
//! Tests that mount file systems run the helper inside `unshare --mount`
//! (root, as CI is): modes alone do not stop root. They need Linux, and
//! say so in a `cfg_attr(…, ignore = …)`; tests of what only Unix has
//! (modes, owners, FIFOs, signals, descriptors) are `cfg(unix)`, each with
//! its reason.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Output, Stdio};
use std::sync::Mutex;
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

#[cfg(unix)]
use crate::support::Need;
use crate::support::fake_ecr::{FakeEcr, Fault, HUGE_BYTES};
use crate::support::{self, NOT_FOUND, Run, Sandbox};

const HOST: &str = "111111111111.dkr.ecr.us-east-1.amazonaws.com";
const ACCOUNT: &str = "111111111111";
const KEY_ID: &str = "AKIAFAKEFAULTS444444";
/// Sentinels: none may appear in any output or log.
const SECRET_KEY: &str = "sk-FAULTS-SENTINEL-3c9e51d2a8f04b77";
const SESSION_TOKEN: &str = "st-FAULTS-SENTINEL-b7f20e6d14c95a03";
/// Every child is killed after this long, failing its test: generous, since
/// the binary's own bound with `AWS_ECR_TIMEOUT=2` is 8 s per fetch (plus 10 s
/// of waiting for a stuck lock holder).
const DEADLINE: Duration = Duration::from_secs(60);

// ---------------------------------------------------------------------------
// Harness: bounded runs, recorded for the secrets sweep.
// ---------------------------------------------------------------------------

/// What a child gets on stdin.
enum Input {
    Bytes(Vec<u8>),
    /// `/dev/null`.
    Null,
    /// A pipe closed before anything is written.
    Closed,
}

impl Input {
    fn text(s: &str) -> Input {
        Input::Bytes(s.as_bytes().to_vec())
    }
}

/// Runs `cmd` (on Unix in its own process group), killing it (the group)
/// and failing the test if it has not ended after `DEADLINE`. `stdout`
/// replaces the piped stdout (then `Output::stdout` is empty).
fn run_bounded(mut cmd: Command, input: Input, stdout: Option<Stdio>) -> Output {
    cmd.stderr(Stdio::piped());
    #[cfg(unix)]
    std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
    cmd.stdout(stdout.unwrap_or_else(Stdio::piped));
    match input {
        Input::Null => cmd.stdin(Stdio::null()),
        _ => cmd.stdin(Stdio::piped()),
    };
    let mut child = cmd.spawn().expect("spawn the helper");
    let stdin = child.stdin.take();
    let writer = thread::spawn(move || {
        if let (Some(mut w), Input::Bytes(bytes)) = (stdin, input) {
            // The helper may stop reading early (oversized input): EPIPE.
            let _ = w.write_all(&bytes);
        }
    });
    let drain = |r: Option<Box<dyn Read + Send>>| {
        thread::spawn(move || {
            let mut buf = Vec::new();
            if let Some(mut r) = r {
                let _ = r.read_to_end(&mut buf);
            }
            buf
        })
    };
    let out = drain(child.stdout.take().map(|s| Box::new(s) as _));
    let err = drain(child.stderr.take().map(|s| Box::new(s) as _));
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for the helper") {
            break status;
        }
        if start.elapsed() > DEADLINE {
            // SAFETY: signalling the child's own process group.
            #[cfg(unix)]
            unsafe {
                libc::kill(-(child.id() as i32), libc::SIGKILL)
            };
            // Windows has no process groups to signal: the child alone.
            #[cfg(not(unix))]
            let _ = child.kill();
            let _ = child.wait();
            let err = err.join().unwrap_or_default();
            panic!(
                "the helper did not finish within {DEADLINE:?} and was killed; stderr: {}",
                String::from_utf8_lossy(&err)
            );
        }
        thread::sleep(Duration::from_millis(5));
    };
    let _ = writer.join();
    Output {
        status,
        stdout: out.join().unwrap(),
        stderr: err.join().unwrap(),
    }
}

/// One recorded run, for the sweep.
struct Recorded {
    what: String,
    /// A successful `get` may carry the password on stdout; nothing else may.
    get: bool,
    stdout: Vec<u8>,
    stderr: Vec<u8>,
}

/// A sandbox with static credentials (and a session token), a 2 s network
/// timeout and a fake ECR; every run is recorded for [`T::finish`].
struct T {
    sb: Sandbox,
    fake: FakeEcr,
    runs: Mutex<Vec<Recorded>>,
}

fn setup() -> T {
    let fake = FakeEcr::start();
    let mut sb = Sandbox::new();
    sb.with_credentials(KEY_ID, SECRET_KEY)
        .set("AWS_SESSION_TOKEN", SESSION_TOKEN)
        .set("AWS_ECR_TIMEOUT", "2");
    fake.attach(&mut sb);
    T {
        sb,
        fake,
        runs: Mutex::new(Vec::new()),
    }
}

impl T {
    fn record(&self, what: &str, get: bool, out: Output) -> Run {
        let mut runs = self.runs.lock().unwrap_or_else(|e| e.into_inner());
        runs.push(Recorded {
            what: what.to_owned(),
            get,
            stdout: out.stdout.clone(),
            stderr: out.stderr.clone(),
        });
        Run(out)
    }

    fn run_cmd(&self, what: &str, cmd: Command, input: Input) -> Run {
        let start = Instant::now();
        let out = run_bounded(cmd, input, None);
        // Informational only (docs/reliability.md), never asserted.
        if std::env::var_os("FAULTS_TIMING").is_some() {
            eprintln!("timing: {what}: {:.2} s", start.elapsed().as_secs_f64());
        }
        // Runs of `get` are labelled "get…": their stdout may carry a password.
        self.record(what, what.starts_with("get"), out)
    }

    fn get(&self, host: &str) -> Run {
        self.run_cmd(
            &format!("get {host:?}"),
            self.sb.command(&["get"]),
            Input::text(host),
        )
    }

    fn list(&self) -> Run {
        self.run_cmd("list", self.sb.command(&["list"]), Input::Null)
    }

    /// The helper inside a private mount namespace: `script` runs as
    /// `sh -c script BINARY args…` (so `"$0"` is the binary, `"$1"`… the
    /// args), with the sandbox's environment.
    #[cfg(unix)]
    fn in_mount_ns(&self, script: &str, args: &[&Path]) -> Command {
        let mut cmd = Command::new("unshare");
        cmd.args(["--mount", "sh", "-c", script])
            .arg(support::binary())
            .args(args)
            .env_clear();
        for (k, v) in &self.sb.env {
            cmd.env(k, v);
        }
        cmd
    }

    /// Sweeps every recorded run and the trace log for secrets: the secret
    /// key, the session token, every token the fake sent (and its first 24
    /// characters) and every password it issued. Only the stdout of a `get`
    /// may carry a password. Also: no panic anywhere.
    fn finish(self) {
        let mut never: Vec<(String, String)> = vec![
            (SECRET_KEY.into(), "the secret access key".into()),
            (SESSION_TOKEN.into(), "the session token".into()),
        ];
        let mut passwords = Vec::new();
        for (i, call) in self.fake.call_log().iter().enumerate() {
            for t in &call.tokens {
                never.push((t.clone(), format!("the token of call {}", i + 1)));
                if t.len() > 24 {
                    never.push((
                        t[..24].to_owned(),
                        format!("the token of call {} (its first 24 characters)", i + 1),
                    ));
                }
            }
            for p in &call.passwords {
                passwords.push((p.clone(), format!("the password of call {}", i + 1)));
            }
        }
        let log = self.sb.log();
        assert!(!log.is_empty(), "the trace log is empty");
        let runs = self.runs.into_inner().unwrap_or_else(|e| e.into_inner());
        let mut places: Vec<(String, String, bool)> = vec![(log, "the log file".into(), false)];
        for r in runs {
            places.push((
                String::from_utf8_lossy(&r.stdout).into_owned(),
                format!("stdout of {}", r.what),
                r.get,
            ));
            places.push((
                String::from_utf8_lossy(&r.stderr).into_owned(),
                format!("stderr of {}", r.what),
                false,
            ));
        }
        for (text, place, may_carry_password) in &places {
            assert!(!text.contains("panicked"), "a panic in {place}: {text}");
            for (needle, name) in &never {
                assert!(
                    !text.contains(needle.as_str()),
                    "{name} leaked into {place}"
                );
            }
            if !may_carry_password {
                for (needle, name) in &passwords {
                    assert!(
                        !text.contains(needle.as_str()),
                        "{name} leaked into {place}"
                    );
                }
            }
        }
    }
}

fn token(n: usize) -> String {
    FakeEcr::default_password(ACCOUNT, n)
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// Asserts the exact one-line success answer.
fn assert_answer(run: &Run, secret: &str) {
    assert_eq!(
        run.code(),
        Some(0),
        "get failed: stdout={:?} stderr={:?}",
        run.stdout(),
        run.stderr()
    );
    let want = format!(
        "{{\"ServerURL\":{},\"Username\":\"AWS\",\"Secret\":{}}}\n",
        serde_json::to_string(HOST).unwrap(),
        serde_json::to_string(secret).unwrap()
    );
    // Not assert_eq: a huge secret would flood the failure message.
    assert!(
        run.stdout() == want,
        "not the expected answer (secret {} bytes): {:.300}",
        secret.len(),
        run.stdout()
    );
}

/// The signal that killed a process. Windows has no signals (a process
/// killed there has an exit code, which the callers check too): `None`.
fn signal(status: &ExitStatus) -> Option<i32> {
    #[cfg(unix)]
    {
        std::os::unix::process::ExitStatusExt::signal(status)
    }
    #[cfg(not(unix))]
    {
        let _ = status;
        None
    }
}

/// Exit 1 with exactly the not-found line, no signal.
fn assert_not_found(run: &Run) {
    assert_eq!(
        signal(&run.0.status),
        None,
        "killed by a signal; stderr={}",
        run.stderr()
    );
    run.assert_not_found();
    assert_eq!(run.stdout(), format!("{NOT_FOUND}\n"));
}

fn is_entry_name(name: &str) -> bool {
    name.strip_suffix(".json")
        .is_some_and(|k| k.len() == 32 && k.bytes().all(|b| b.is_ascii_hexdigit()))
}

fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(Result::ok)
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

fn entries(dir: &Path) -> Vec<PathBuf> {
    names(dir)
        .into_iter()
        .filter(|n| is_entry_name(n))
        .map(|n| dir.join(n))
        .collect()
}

fn only_entry(dir: &Path) -> PathBuf {
    let e = entries(dir);
    assert_eq!(e.len(), 1, "expected one cache entry: {:?}", names(dir));
    e.into_iter().next().unwrap()
}

fn temp_files(dir: &Path) -> Vec<String> {
    names(dir)
        .into_iter()
        .filter(|n| n.ends_with(".tmp"))
        .collect()
}

fn read_entry(path: &Path) -> serde_json::Value {
    serde_json::from_slice(&fs::read(path).expect("read the entry")).expect("the entry is JSON")
}

/// Rewrites an entry in place (its mode and owner are kept).
fn write_entry(path: &Path, json: &serde_json::Value) {
    fs::write(path, serde_json::to_vec(json).unwrap()).unwrap();
}

/// Makes an entry stale but valid: past half its life, 10 minutes left.
fn make_stale(path: &Path) {
    let mut e = read_entry(path);
    e["fetched_at"] = (now() - 1200).into();
    e["expires_at"] = (now() + 600).into();
    write_entry(path, &e);
}

/// A file's Unix mode (Windows files have an access control list).
#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    fs::symlink_metadata(path).unwrap().permissions().mode() & 0o777
}

/// Windows has no FIFOs in the file system.
#[cfg(unix)]
fn mkfifo(path: &Path) {
    let c = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).unwrap();
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0, "mkfifo");
}

// ---------------------------------------------------------------------------
// The fake's new fault modes, checked on the wire (no binary).
// ---------------------------------------------------------------------------

/// Sends one request on a fresh connection; returns everything read until
/// the server closes (or 30 s of silence), and whether the read ended in a
/// reset.
fn raw_exchange(fake: &FakeEcr) -> (Vec<u8>, bool) {
    raw_exchange_waiting(fake, Duration::from_secs(30))
}

/// [`raw_exchange`], giving up after `silence` without a byte.
fn raw_exchange_waiting(fake: &FakeEcr, silence: Duration) -> (Vec<u8>, bool) {
    let mut s = std::net::TcpStream::connect(fake.addr()).unwrap();
    s.set_read_timeout(Some(silence)).unwrap();
    let body = r#"{"registryIds":["111111111111"]}"#;
    let req = format!(
        "POST / HTTP/1.1\r\nHost: fake\r\nX-Amz-Target: {}\r\nConnection: close\r\nContent-Length: {}\r\n\r\n{body}",
        support::fake_ecr::ECR_TARGET,
        body.len()
    );
    s.write_all(req.as_bytes()).unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 65536];
    loop {
        match s.read(&mut buf) {
            Ok(0) => return (got, false),
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return (got, true),
            Err(_) => return (got, false), // silence
        }
    }
}

fn split_response(raw: &[u8]) -> (String, Vec<u8>) {
    let at = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a response head");
    (
        String::from_utf8_lossy(&raw[..at]).into_owned(),
        raw[at + 4..].to_vec(),
    )
}

fn content_length(head: &str) -> usize {
    head.lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("content-length:")
                .map(|v| v.trim().parse().unwrap())
        })
        .expect("Content-Length")
}

#[test]
fn fake_fault_modes_self_test() {
    let fake = FakeEcr::start();
    let b64 = |s: &[u8]| {
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD.decode(s)
    };
    let data = |body: &[u8]| -> serde_json::Value {
        serde_json::from_slice::<serde_json::Value>(body).unwrap()["authorizationData"][0].clone()
    };

    fake.queue_fault(Fault::Hang);
    let (raw, reset) = raw_exchange_waiting(&fake, Duration::from_secs(2));
    assert!(raw.is_empty() && !reset, "Hang answered: {raw:?}");

    for (fault, want_reset) in [(Fault::ResetMidBody, true), (Fault::EofMidBody, false)] {
        fake.queue_fault(fault);
        let (raw, reset) = raw_exchange(&fake);
        let (head, body) = split_response(&raw);
        assert!(head.starts_with("HTTP/1.1 200"), "{head}");
        assert!(
            body.len() < content_length(&head),
            "{fault:?}: whole body sent"
        );
        assert!(!body.is_empty(), "{fault:?}: no body at all");
        // A reset may also surface as a plain end of stream, depending on
        // timing; a clean close never surfaces as a reset.
        if !want_reset {
            assert!(!reset, "{fault:?} reset the connection");
        }
    }

    fake.queue_fault(Fault::TruncatedJson);
    let (head, body) = split_response(&raw_exchange(&fake).0);
    assert_eq!(body.len(), content_length(&head));
    assert!(serde_json::from_slice::<serde_json::Value>(&body).is_err());

    fake.queue_fault(Fault::NotBase64);
    let d = data(&split_response(&raw_exchange(&fake).0).1);
    assert!(b64(d["authorizationToken"].as_str().unwrap().as_bytes()).is_err());

    fake.queue_fault(Fault::NotAwsUser);
    let d = data(&split_response(&raw_exchange(&fake).0).1);
    let text = b64(d["authorizationToken"].as_str().unwrap().as_bytes()).unwrap();
    assert!(
        text.starts_with(b"USER:"),
        "{:?}",
        String::from_utf8_lossy(&text)
    );

    fake.queue_fault(Fault::NoExpiry);
    let d = data(&split_response(&raw_exchange(&fake).0).1);
    assert!(d.get("expiresAt").is_none() && d.get("authorizationToken").is_some());

    fake.queue_fault(Fault::HugeBody);
    let (head, body) = split_response(&raw_exchange(&fake).0);
    assert!(body.len() > HUGE_BYTES && body.len() == content_length(&head));
    assert!(data(&body)["expiresAt"].is_number());

    fake.queue_fault(Fault::HugeToken);
    let body = split_response(&raw_exchange(&fake).0).1;
    assert!(data(&body)["authorizationToken"].as_str().unwrap().len() > HUGE_BYTES);

    let log = fake.call_log();
    let faults: Vec<_> = log.iter().map(|c| c.fault).collect();
    assert_eq!(faults.len(), 9);
    assert!(faults.iter().all(Option::is_some));
    assert_eq!(log[0].status, 0, "a hung call has no status");
    assert!(log[0].tokens.is_empty() && log[1].tokens.len() == 1);
    assert!(log[6].expires_at.is_none(), "NoExpiry recorded an expiry");
    assert!(log.windows(2).all(|w| w[0].at <= w[1].at));
}

// ---------------------------------------------------------------------------
// From the ECR side.
// ---------------------------------------------------------------------------

/// Retryable errors get three attempts in all: two faults then a success is
/// served; a denial is not retried. (One fault then success, for each of
/// 500, ThrottlingException and 429, is in tests/it/cache.rs.)
#[test]
fn api_errors_are_retried_up_to_three_attempts() {
    for (faults, calls, served) in [
        (&[Fault::Throttle, Fault::TooManyRequests][..], 3, Some(3)),
        (&[Fault::ServerError, Fault::Throttle][..], 3, Some(3)),
        (
            &[
                Fault::TooManyRequests,
                Fault::TooManyRequests,
                Fault::TooManyRequests,
            ][..],
            3,
            None,
        ),
        (&[Fault::AccessDenied][..], 1, None),
    ] {
        let t = setup();
        t.fake.queue_faults(faults);
        let run = t.get(HOST);
        match served {
            Some(n) => assert_answer(&run, &token(n)),
            None => {
                assert_not_found(&run);
                assert!(entries(&t.sb.cache_dir()).is_empty());
            }
        }
        assert_eq!(t.fake.calls(), calls, "{faults:?}");
        t.finish();
    }
}

/// A server that accepts and never answers: each attempt is cut at
/// AWS_ECR_TIMEOUT (2 s here) and retried; one hang then a success is
/// served, a server that always hangs ends in not-found, nothing cached.
#[test]
fn a_server_that_never_answers_is_retried_then_given_up() {
    let t = setup();
    t.fake.queue_fault(Fault::Hang);
    assert_answer(&t.get(HOST), &token(2));
    assert_eq!(t.fake.calls(), 2);
    t.finish();

    let t = setup();
    t.fake.fail_always(Some(Fault::Hang));
    assert_not_found(&t.get(HOST));
    let calls = t.fake.calls();
    eprintln!("Hang: not found after {calls} attempt(s)");
    assert!((1..=3).contains(&calls), "{calls} attempts");
    assert!(entries(&t.sb.cache_dir()).is_empty());
    assert!(
        t.sb.log().contains("timed out"),
        "the log does not say it timed out:\n{}",
        t.sb.log()
    );
    t.finish();
}

/// A name server that never answers: glibc's resolver, in a thread of the
/// SDK's runtime, is stuck for up to 150 s (`timeout:30 attempts:5`), far
/// past the 60 s kill deadline. Each attempt's connect timeout gives up on
/// it and the helper answers not-found within its bound: it must not wait
/// for the stuck thread on its way out. The name server is a UDP socket of
/// this test on a loopback address, named in a private /etc/resolv.conf.
#[cfg(unix)] // Need::Root: Windows has no root
#[test]
#[cfg_attr(
    not(target_os = "linux"),
    ignore = "needs Linux: glibc's resolver and a private /etc/resolv.conf (unshare --mount)"
)]
fn a_name_server_that_never_answers_does_not_hold_the_answer() {
    if !support::require(Need::Root) {
        return;
    }
    let dns = std::net::UdpSocket::bind("127.53.53.53:53")
        .expect("bind a silent name server on 127.53.53.53:53 (needs root)");
    let mut t = setup();
    t.sb.resolv_conf("nameserver 127.53.53.53\noptions timeout:30 attempts:5\n")
        .set("AWS_ENDPOINT_URL_ECR", "http://api.ecr.dns-hang.test");
    assert_not_found(&t.get(HOST));
    dns.set_nonblocking(true).unwrap();
    let mut query = [0u8; 512];
    assert!(
        dns.recv_from(&mut query).is_ok(),
        "the helper never asked the name server"
    );
    assert_eq!(t.fake.calls(), 0);
    assert!(entries(&t.sb.cache_dir()).is_empty());
    let log = t.sb.log();
    assert!(
        log.contains("timeout") || log.contains("timed out"),
        "{log}"
    );
    t.finish();
}

/// A connection reset, or closed, in the middle of the body is a transient
/// failure: retried, and the next attempt's token served.
#[test]
fn a_connection_cut_mid_body_is_retried() {
    for fault in [Fault::ResetMidBody, Fault::EofMidBody] {
        let t = setup();
        t.fake.queue_fault(fault);
        assert_answer(&t.get(HOST), &token(2));
        assert_eq!(t.fake.calls(), 2, "{fault:?}");
        t.finish();

        let t = setup();
        t.fake.fail_always(Some(fault));
        assert_not_found(&t.get(HOST));
        assert_eq!(t.fake.calls(), 3, "{fault:?}");
        assert!(entries(&t.sb.cache_dir()).is_empty());
        t.finish();
    }
}

/// Answers that arrive whole but are wrong: truncated JSON, a token that is
/// not base64, one not for user `AWS`. Not found, nothing cached, and the
/// token not echoed into any log.
#[test]
fn malformed_answers_are_not_found_and_not_cached() {
    for fault in [Fault::TruncatedJson, Fault::NotBase64, Fault::NotAwsUser] {
        let t = setup();
        t.fake.fail_always(Some(fault));
        assert_not_found(&t.get(HOST));
        assert!(entries(&t.sb.cache_dir()).is_empty(), "{fault:?}");
        let calls = t.fake.calls();
        eprintln!("{fault:?}: not found after {calls} call(s)");
        assert!((1..=3).contains(&calls), "{fault:?}: {calls} calls");
        if fault == Fault::TruncatedJson {
            // What was wrong is named (the secrets sweep in `finish` checks
            // that no part of the body is).
            let log = t.sb.log();
            assert!(log.contains("unreadable response: "), "{log}");
        }
        // The next good answer is served at once.
        t.fake.fail_always(None);
        assert_answer(&t.get(HOST), &token(calls + 1));
        t.finish();
    }
}

/// A token without `expiresAt` is served but never cached.
#[test]
fn a_token_without_expiry_is_served_uncached() {
    let t = setup();
    t.fake.fail_always(Some(Fault::NoExpiry));
    assert_answer(&t.get(HOST), &token(1));
    assert_answer(&t.get(HOST), &token(2));
    assert_eq!(t.fake.calls(), 2);
    assert!(entries(&t.sb.cache_dir()).is_empty());
    t.finish();
}

/// `expiresAt` absurdly far ahead: served and cached, but believed for 12 h
/// at most (src/cache.rs): an entry fetched 7 h ago is refreshed, one
/// fetched 13 h ago is never served nor listed. (`expiresAt` in the past is
/// `already_expired_token_is_returned_but_not_cached` in tests/it/cache.rs.)
#[test]
fn an_absurd_expiry_is_believed_for_12_hours_at_most() {
    for lifetime in [1e12, 1e300] {
        let t = setup();
        t.fake.set_lifetime(lifetime);
        let before = now();
        assert_answer(&t.get(HOST), &token(1));
        let entry = only_entry(&t.sb.cache_dir());
        let e = read_entry(&entry);
        let fetched = e["fetched_at"].as_i64().unwrap();
        assert!((before..=now()).contains(&fetched), "fetched_at {fetched}");
        assert!(
            e["expires_at"].as_i64().unwrap() > fetched + 12 * 3600,
            "expires_at as sent: {e}"
        );
        // A hit, and listed.
        assert_answer(&t.get(HOST), &token(1));
        assert!(t.list().stdout().contains(HOST));
        assert_eq!(t.fake.calls(), 1);

        // 7 h old: past half of the 12 h believed, so refreshed (it would be
        // fresh for centuries if the stated expiry were believed).
        let mut e = read_entry(&entry);
        e["fetched_at"] = (now() - 7 * 3600).into();
        write_entry(&entry, &e);
        assert_answer(&t.get(HOST), &token(2));
        assert_eq!(t.fake.calls(), 2);

        // 13 h old and the API down: expired, so neither served nor listed.
        let mut e = read_entry(&entry);
        e["fetched_at"] = (now() - 13 * 3600).into();
        write_entry(&entry, &e);
        t.fake.set_down(true);
        assert_not_found(&t.get(HOST));
        assert_eq!(t.list().stdout(), "{}\n");
        t.finish();
    }
}

/// A 10 MB answer (a good token plus a 10 MB field the API does not define)
/// is served and cached like any other.
#[test]
fn a_10_mb_answer_is_served() {
    let mut t = setup();
    // The 10 MB body is parsed by a debug build: give each attempt time.
    t.sb.set("AWS_ECR_TIMEOUT", "10");
    t.fake.queue_fault(Fault::HugeBody);
    assert_answer(&t.get(HOST), &token(1));
    assert_answer(&t.get(HOST), &token(1));
    assert_eq!(t.fake.calls(), 1);
    t.finish();
}

/// A 10 MB token: served (it decodes), and then either served again from
/// the cache or not cached at all; never written to a cache file that no
/// later `get` reads (src/cache.rs reads at most 64 KiB).
#[test]
fn a_10_mb_token_is_not_cached_as_an_unreadable_entry() {
    let mut t = setup();
    t.sb.set("AWS_ECR_TIMEOUT", "10");
    t.fake.queue_fault(Fault::HugeToken);
    let huge = t.get(HOST);
    let password = t.fake.call_log()[0].passwords[0].clone();
    assert_answer(&huge, &password);
    let sizes: Vec<u64> = entries(&t.sb.cache_dir())
        .iter()
        .map(|p| fs::metadata(p).unwrap().len())
        .collect();
    let second = t.get(HOST);
    eprintln!(
        "HugeToken: entry sizes after the first get {sizes:?}; {} call(s) for two gets",
        t.fake.calls()
    );
    if sizes.is_empty() {
        assert_answer(&second, &token(2));
    } else {
        assert_eq!(
            t.fake.calls(),
            1,
            "a {} byte entry was written, then not read",
            sizes[0]
        );
        assert_answer(&second, &password);
    }
    t.finish();
}

/// With a stale but valid entry, any failure of the refresh serves the
/// cached token (with a warning), within the fetch bound.
#[test]
fn every_api_failure_falls_back_to_a_valid_cached_token() {
    let t = setup();
    assert_answer(&t.get(HOST), &token(1));
    let entry = only_entry(&t.sb.cache_dir());
    for fault in [
        Fault::ServerError,
        Fault::Throttle,
        Fault::TooManyRequests,
        Fault::AccessDenied,
        Fault::Hang,
        Fault::ResetMidBody,
        Fault::EofMidBody,
        Fault::TruncatedJson,
        Fault::NotBase64,
        Fault::NotAwsUser,
    ] {
        make_stale(&entry);
        let calls = t.fake.calls();
        t.fake.fail_always(Some(fault));
        assert_answer(&t.get(HOST), &token(1));
        assert!(t.fake.calls() > calls, "{fault:?}: no refresh was tried");
        assert_eq!(read_entry(&entry)["password"], token(1), "{fault:?}");
    }
    assert_eq!(
        t.sb.log()
            .matches("refresh failed; serving the cached token")
            .count(),
        10
    );
    t.finish();
}

// ---------------------------------------------------------------------------
// From the machine's side.
// ---------------------------------------------------------------------------

/// The cache directory read-only (a read-only bind mount: root ignores
/// modes): a fresh entry is still served; a stale one is refreshed and the
/// new token served, the old entry left as it was; with no entry the token
/// is fetched and served, uncached.
#[cfg(unix)] // Need::Root: Windows has no root
#[test]
#[cfg_attr(
    not(target_os = "linux"),
    ignore = "needs Linux: a private mount namespace (unshare --mount)"
)]
fn a_read_only_cache_directory_still_answers() {
    if !support::require(Need::Root) {
        return;
    }
    let t = setup();
    let cache = t.sb.cache_dir();
    assert_answer(&t.get(HOST), &token(1));
    let entry = only_entry(&cache);
    let ro = "mount --bind \"$1\" \"$1\" && mount -o remount,bind,ro \"$1\" && exec \"$0\" get";
    let get_ro = |what| t.run_cmd(what, t.in_mount_ns(ro, &[&cache]), Input::text(HOST));

    assert_answer(&get_ro("get, read-only, fresh"), &token(1));
    assert_eq!(t.fake.calls(), 1);

    make_stale(&entry);
    let stale = fs::read(&entry).unwrap();
    assert_answer(&get_ro("get, read-only, stale"), &token(2));
    assert_eq!(
        fs::read(&entry).unwrap(),
        stale,
        "a read-only entry changed"
    );

    fs::remove_file(&entry).unwrap();
    assert_answer(&get_ro("get, read-only, empty"), &token(3));
    assert!(entries(&cache).is_empty());
    assert!(temp_files(&cache).is_empty());
    let log = t.sb.log();
    assert!(log.contains("token not cached"), "{log}");
    assert!(log.contains("Read-only file system"), "{log}");
    t.finish();
}

/// A cache path below a regular file can never be created: every get
/// answers, fetching each time.
#[test]
fn a_cache_path_below_a_file_still_answers() {
    let mut t = setup();
    let file = t.sb.path().join("plain-file");
    fs::write(&file, b"").unwrap();
    let dir = file.join("cache");
    t.sb.set("AWS_ECR_CACHE_DIR", dir.to_str().unwrap());
    assert_answer(&t.get(HOST), &token(1));
    assert_answer(&t.get(HOST), &token(2));
    assert_eq!(fs::read(&file).unwrap(), b"");
    t.finish();
}

/// A missing cache directory is created, parents included, mode 0700 (on
/// Unix; Windows has no modes).
#[test]
fn a_missing_cache_directory_is_created_private() {
    let mut t = setup();
    let top = t.sb.path().join("a");
    let dir = top.join("b/c");
    t.sb.set("AWS_ECR_CACHE_DIR", dir.to_str().unwrap());
    assert_answer(&t.get(HOST), &token(1));
    assert_answer(&t.get(HOST), &token(1));
    #[cfg(unix)]
    for d in [&top, &top.join("b"), &dir] {
        assert_eq!(mode(d), 0o700, "{d:?}");
    }
    assert_eq!(entries(&dir).len(), 1);
    t.finish();
}

/// The cache on a full file system (a 4 KiB tmpfs, filled): the token is
/// served, and no temporary file is left behind.
#[cfg(unix)] // Need::Root: Windows has no root
#[test]
#[cfg_attr(
    not(target_os = "linux"),
    ignore = "needs Linux: a private mount namespace (unshare --mount)"
)]
fn a_full_file_system_still_answers_and_leaves_no_temp_file() {
    if !support::require(Need::Root) {
        return;
    }
    let t = setup();
    let cache = t.sb.cache_dir();
    fs::create_dir_all(&cache).unwrap();
    let listing = t.sb.path().join("listing");
    let script = "mount -t tmpfs -o size=4k,mode=0700 tmpfs \"$1\" || exit 99
        dd if=/dev/zero of=\"$1/fill\" bs=4096 count=1 2>/dev/null
        \"$0\" get; rc=$?
        ls -A \"$1\" > \"$2\"
        exit $rc";
    let run = t.run_cmd(
        "get, full file system",
        t.in_mount_ns(script, &[&cache, &listing]),
        Input::text(HOST),
    );
    assert_answer(&run, &token(1));
    let inside = fs::read_to_string(&listing).unwrap();
    let inside: Vec<&str> = inside.lines().collect();
    assert!(
        inside.contains(&"fill"),
        "the tmpfs was not used: {inside:?}"
    );
    assert!(
        inside
            .iter()
            .all(|n| !n.ends_with(".tmp") && !is_entry_name(n)),
        "left on the full file system: {inside:?}"
    );
    let log = t.sb.log();
    assert!(log.contains("token not cached"), "{log}");
    assert!(log.contains("No space left on device"), "{log}");
    t.finish();
}

/// An entry owned by another user is not read: the token is fetched again
/// and the entry replaced by one of ours. Unix only: Windows checks no
/// owner (the cache is in the user's own profile, docs/reliability.md).
#[cfg(unix)]
#[test]
fn an_entry_of_another_user_is_refused_and_replaced() {
    use std::os::unix::fs::MetadataExt;
    if !support::require(Need::Root) {
        return;
    }
    let t = setup();
    assert_answer(&t.get(HOST), &token(1));
    let entry = only_entry(&t.sb.cache_dir());
    std::os::unix::fs::chown(&entry, Some(65534), Some(65534)).unwrap();
    assert_answer(&t.get(HOST), &token(2));
    assert_eq!(t.fake.calls(), 2);
    // SAFETY: geteuid has no preconditions.
    let me = unsafe { libc::geteuid() };
    assert_eq!(fs::metadata(&entry).unwrap().uid(), me);
    assert_eq!(mode(&entry), 0o600);
    assert!(t.sb.log().contains("owned by uid 65534"), "{}", t.sb.log());
    assert_answer(&t.get(HOST), &token(2));
    t.finish();
}

/// An entry others can read (0644) is tightened to 0600, with a warning,
/// and still served. Unix only: Windows files have no mode.
#[cfg(unix)]
#[test]
fn a_loose_entry_is_tightened_and_served() {
    use std::os::unix::fs::PermissionsExt;
    let t = setup();
    assert_answer(&t.get(HOST), &token(1));
    let entry = only_entry(&t.sb.cache_dir());
    fs::set_permissions(&entry, fs::Permissions::from_mode(0o644)).unwrap();
    assert_answer(&t.get(HOST), &token(1));
    assert_eq!(t.fake.calls(), 1);
    assert_eq!(mode(&entry), 0o600);
    let log = t.sb.log();
    assert!(log.contains("tightening it to 0600"), "{log}");
    t.finish();
}

/// A FIFO at the entry path or at the lock path: no hang; the token is
/// fetched and served. (A symlink at either path: tests/it/cache.rs.)
/// Unix only: Windows has no FIFOs in the file system.
#[cfg(unix)]
#[test]
fn a_fifo_at_the_entry_or_lock_path_does_not_hang() {
    let t = setup();
    assert_answer(&t.get(HOST), &token(1));
    let entry = only_entry(&t.sb.cache_dir());
    fs::remove_file(&entry).unwrap();
    mkfifo(&entry);
    assert_answer(&t.get(HOST), &token(2));
    assert!(fs::metadata(&entry).unwrap().is_file(), "FIFO not replaced");
    assert_answer(&t.get(HOST), &token(2));

    let lock = entry.with_extension("lock");
    fs::remove_file(&lock).unwrap();
    fs::remove_file(&entry).unwrap();
    mkfifo(&lock);
    assert_answer(&t.get(HOST), &token(3));
    assert_eq!(t.fake.calls(), 3);
    assert!(t.sb.log().contains("refreshing without the cache lock"));
    t.finish();
}

/// Another process holding the entry's lock and stuck: the helper waits
/// 5 × AWS_ECR_TIMEOUT at most, then fetches without the lock.
#[test]
fn a_stuck_lock_holder_delays_but_does_not_block() {
    let t = setup();
    assert_answer(&t.get(HOST), &token(1));
    let entry = only_entry(&t.sb.cache_dir());
    fs::remove_file(&entry).unwrap();
    let held = fs::File::open(entry.with_extension("lock")).unwrap();
    held.lock().unwrap();
    assert_answer(&t.get(HOST), &token(2));
    drop(held);
    let log = t.sb.log();
    assert!(log.contains("waiting for the cache lock"), "{log}");
    t.finish();
}

/// The home directory of the current user, from the passwd database.
#[cfg(unix)]
fn passwd_home() -> PathBuf {
    // SAFETY: getpwuid returns a pointer into static storage or null; it is
    // read at once, in a test binary that calls it from one place.
    unsafe {
        let pw = libc::getpwuid(libc::getuid());
        assert!(!pw.is_null(), "no passwd entry for this user");
        PathBuf::from(
            std::ffi::CStr::from_ptr((*pw).pw_dir)
                .to_string_lossy()
                .into_owned(),
        )
    }
}

/// `HOME` unset and no `AWS_ECR_CACHE_DIR`: the helper answers. With a
/// passwd entry it caches below that entry's home (here a stand-in bound
/// over it); without one it answers uncached.
///
/// The checkout, and so the binary under test, may well be below that home
/// (where most people clone): each run first binds the binary onto a file
/// in the sandbox, and runs it from there, so that no mount over the home
/// can hide it. Unix only: the passwd database (Windows finds the profile
/// by its known-folder API, not by HOME).
#[cfg(unix)]
#[test]
#[cfg_attr(
    not(target_os = "linux"),
    ignore = "needs Linux: a private mount namespace (unshare --mount)"
)]
fn without_home_the_helper_still_answers() {
    if !support::require(Need::Root) {
        return;
    }
    let mut t = setup();
    t.sb.unset("HOME").unset("AWS_ECR_CACHE_DIR");
    let home = passwd_home();
    assert!(home.is_dir(), "passwd home {home:?} is not a directory");
    let sandbox = t.sb.path().canonicalize().unwrap();
    assert!(
        !sandbox.starts_with(home.canonicalize().unwrap()),
        "the sandbox {sandbox:?} is below the passwd home {home:?}, which this test hides: \
         point TMPDIR elsewhere"
    );
    let outside = t.sb.path().join("bin/docker-credential-ecr-login");
    fs::create_dir(outside.parent().unwrap()).unwrap();
    fs::write(&outside, b"").unwrap();
    let stand_in = t.sb.path().join("passwd-home");
    fs::create_dir(&stand_in).unwrap();

    let bind_home = "mount --bind \"$0\" \"$1\" && mount --bind \"$2\" \"$3\" && exec \"$1\" get";
    let run = t.run_cmd(
        "get, no HOME",
        t.in_mount_ns(bind_home, &[&outside, &stand_in, &home]),
        Input::text(HOST),
    );
    assert_answer(&run, &token(1));
    let cache = stand_in.join(".cache/docker-credential-ecr-login");
    assert_eq!(entries(&cache).len(), 1, "{:?}", names(&stand_in));

    // No passwd entry for this user either (a private /etc/passwd, and
    // /etc/nsswitch.conf without nss-systemd, which makes up root's):
    // nowhere to cache.
    let passwd = t.sb.path().join("passwd");
    fs::write(
        &passwd,
        "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n",
    )
    .unwrap();
    let nsswitch = t.sb.path().join("nsswitch.conf");
    fs::write(&nsswitch, "passwd: files\ngroup: files\nhosts: files\n").unwrap();
    let canary = t.sb.path().join("canary-home");
    fs::create_dir(&canary).unwrap();
    let no_user = "mount --bind \"$0\" \"$1\" && mount --bind \"$2\" /etc/passwd \
        && mount --bind \"$3\" /etc/nsswitch.conf && mount --bind \"$4\" \"$5\" \
        && exec \"$1\" get";
    for i in 0..2 {
        let run = t.run_cmd(
            &format!("get, no HOME nor passwd entry ({i})"),
            t.in_mount_ns(no_user, &[&outside, &passwd, &nsswitch, &canary, &home]),
            Input::text(HOST),
        );
        assert_answer(&run, &token(2 + i));
    }
    assert_eq!(t.fake.calls(), 3, "uncached: one call per get");
    assert!(names(&canary).is_empty(), "{:?}", names(&canary));
    t.finish();
}

/// Odd stdin: empty, /dev/null, closed at once, 10 MB, invalid UTF-8,
/// cut in the middle. Not found, no call, no panic.
#[test]
fn odd_stdin_is_not_found_without_a_call() {
    let t = setup();
    let mut huge = HOST.as_bytes().to_vec();
    huge.resize(10 * 1024 * 1024, b'a');
    let mut invalid = HOST.as_bytes().to_vec();
    invalid.extend_from_slice(b"\xff\xfe");
    let cases: Vec<(&str, Input)> = vec![
        ("empty", Input::Bytes(Vec::new())),
        ("/dev/null", Input::Null),
        ("closed", Input::Closed),
        ("10 MB", Input::Bytes(huge)),
        ("10 MB of newlines", Input::Bytes(vec![b'\n'; 10 << 20])),
        ("invalid UTF-8", Input::Bytes(b"\xff\xfe\xfd".to_vec())),
        ("host then invalid UTF-8", Input::Bytes(invalid)),
        ("cut short", Input::text(&HOST[..26])),
    ];
    for (what, input) in cases {
        let run = t.run_cmd(what, t.sb.command(&["get"]), input);
        assert_not_found(&run);
    }
    assert_eq!(t.fake.calls(), 0);
    assert!(!t.sb.cache_dir().exists());
    t.finish();
}

/// stdout whose reader is gone (EPIPE): exit 1, no signal, no panic, for a
/// fetched token (which is still cached), a cache hit, `list` and `version`.
#[test]
fn a_closed_stdout_is_exit_1() {
    let t = setup();
    let closed_pipe = || {
        let (r, w) = std::io::pipe().expect("a pipe");
        drop(r);
        Stdio::from(w)
    };
    for (what, args, input) in [
        ("get, fetched", &["get"][..], Input::text(HOST)),
        ("get, cached", &["get"][..], Input::text(HOST)),
        ("list", &["list"][..], Input::Null),
        ("version", &["version"][..], Input::Null),
    ] {
        let out = run_bounded(t.sb.command(args), input, Some(closed_pipe()));
        let run = t.record(what, false, out);
        assert_eq!(signal(&run.0.status), None, "{what}: killed by a signal");
        assert_eq!(run.code(), Some(1), "{what}: stderr={}", run.stderr());
    }
    assert_eq!(t.fake.calls(), 1, "the fetched token was not cached");
    assert_eq!(entries(&t.sb.cache_dir()).len(), 1);
    assert!(t.sb.log().contains("cannot write the answer"));
    t.finish();
}

/// Closed standard descriptors are opened on /dev/null before anything
/// else is opened (std's start-up does it): otherwise the log file would
/// take fd 1 and the answer, with its token, would be written into it.
/// The answer that cannot be written is an error, exit 1 (tests/it/cli.rs).
/// Unix only: a Windows process gets its standard handles explicitly, and
/// a new file never takes their place.
#[cfg(unix)]
#[test]
fn closed_stdout_and_stderr_never_become_the_log_file() {
    use std::os::unix::process::CommandExt;
    let t = setup();
    let mut cmd = t.sb.command(&["get"]);
    // SAFETY: only async-signal-safe calls between fork and exec.
    unsafe {
        cmd.pre_exec(|| {
            libc::close(1);
            libc::close(2);
            Ok(())
        });
    }
    let run = Run(run_bounded(cmd, Input::text(HOST), None));
    assert_eq!(run.code(), Some(1), "stderr={}", run.stderr());
    assert_eq!(t.fake.calls(), 1);
    let log = t.sb.log();
    assert!(log.contains("GetAuthorizationToken"), "{log}");
    assert!(
        !log.contains("ServerURL") && !log.contains("Secret"),
        "{log}"
    );
    assert_eq!(entries(&t.sb.cache_dir()).len(), 1);
    t.finish();
}

/// A tiny xorshift generator: the seed is printed, so a failure replays.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

/// SIGKILL at random points of 200 runs that each fetch and write the
/// entry: after every kill the entry is absent or whole, never torn, and
/// the only temporary files left are those of killed processes.
#[test]
fn sigkill_at_random_points_never_tears_the_entry() {
    const RUNS: usize = 200;
    let t = setup();
    let cache = t.sb.cache_dir();
    let spawn = || {
        let mut cmd = t.sb.command(&["get"]);
        cmd.stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let mut child = cmd.spawn().unwrap();
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(HOST.as_bytes()).unwrap();
        drop(stdin);
        child
    };
    // Waits (bounded) until the fake has seen a call beyond `calls`, or the
    // child has ended; true if the call was seen.
    let call_seen = |child: &mut std::process::Child, calls: usize| {
        let start = Instant::now();
        while start.elapsed() < DEADLINE {
            if t.fake.calls() > calls {
                return true;
            }
            if child.try_wait().unwrap().is_some() {
                return false;
            }
            thread::sleep(Duration::from_micros(200));
        }
        panic!("no call within {DEADLINE:?}");
    };
    // Calibration (not asserted): how long a refreshing run takes, and how
    // long from its call reaching the fake to its exit (decode, write the
    // entry, answer). Kills are placed relative to the call, so that they
    // land in the write whatever the machine's load.
    let (mut whole, mut tail) = (u64::MAX, u64::MAX);
    for _ in 0..3 {
        if let Some(e) = entries(&cache).first() {
            make_stale(e);
        }
        let calls = t.fake.calls();
        let start = Instant::now();
        let mut child = spawn();
        assert!(call_seen(&mut child, calls));
        let seen = Instant::now();
        assert!(child.wait().unwrap().success());
        whole = whole.min(start.elapsed().as_micros() as u64);
        tail = tail.min(seen.elapsed().as_micros() as u64);
    }
    let seed = std::env::var("KILL_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
                | 1
        });
    eprintln!(
        "sigkill: seed {seed} (KILL_SEED={seed} replays); a run {whole} µs, \
         {tail} µs of it after its call reached the fake"
    );
    let mut rng = Rng(seed);

    let mut killed_pids = BTreeSet::new();
    let mut outcome: BTreeMap<&str, usize> = BTreeMap::new();
    for i in 0..RUNS {
        let entry = entries(&cache).into_iter().next();
        if let Some(e) = &entry {
            make_stale(e);
        }
        let before = entry.as_ref().map(|e| fs::read(e).unwrap());
        let calls = t.fake.calls();
        let mut child = spawn();
        // A quarter of the kills anywhere in the run; the rest after its
        // call reached the fake, where the answer is decoded and the entry
        // written.
        if i % 4 == 0 {
            thread::sleep(Duration::from_micros(rng.below(whole)));
        } else if call_seen(&mut child, calls) {
            thread::sleep(Duration::from_micros(rng.below(tail * 3 / 2)));
        }
        let killed = child.try_wait().unwrap().is_none();
        if killed {
            child.kill().unwrap();
            killed_pids.insert(child.id());
        }
        child.wait().unwrap();

        let after = entries(&cache)
            .into_iter()
            .next()
            .map(|e| fs::read(e).unwrap());
        if let Some(bytes) = &after {
            let e: serde_json::Value = serde_json::from_slice(bytes).unwrap_or_else(|err| {
                panic!(
                    "run {i}: torn entry ({err}): {:?}",
                    String::from_utf8_lossy(bytes)
                )
            });
            assert_eq!(e["version"], 1, "run {i}: {e}");
            let pw = e["password"].as_str().unwrap();
            assert!(
                pw.starts_with(&format!("{ACCOUNT}-fake-token-")),
                "run {i}: {e}"
            );
            assert!(e["expires_at"].as_i64().unwrap() > e["fetched_at"].as_i64().unwrap());
        }
        let key = match (killed, t.fake.calls() > calls, before == after) {
            (false, _, _) => "finished before the kill",
            (true, false, _) => "killed before calling the API",
            (true, true, true) => "killed after the call, entry not yet replaced",
            (true, true, false) => "killed after the entry was replaced",
        };
        *outcome.entry(key).or_default() += 1;
    }
    let temps = temp_files(&cache);
    eprintln!(
        "sigkill: {outcome:?}; {} temporary files left, e.g. {:?}",
        temps.len(),
        temps.first()
    );
    for name in &temps {
        // `.<entry>.<pid>.<nonce>.tmp`
        let pid: u32 = name.rsplit('.').nth(2).unwrap().parse().unwrap();
        assert!(killed_pids.contains(&pid), "{name} is not a killed run's");
    }
    // The next write of the entry clears what killed writers left.
    if let Some(e) = entries(&cache).into_iter().next() {
        make_stale(&e);
    }
    // Afterwards everything works: a get (a refresh), a hit, list.
    assert_eq!(t.get(HOST).code(), Some(0));
    let left = temp_files(&cache);
    assert!(
        left.is_empty(),
        "the refresh left killed writers' temporary files: {left:?}"
    );
    let calls = t.fake.calls();
    assert_eq!(t.get(HOST).code(), Some(0));
    assert_eq!(t.fake.calls(), calls, "no hit after the kills");
    assert!(t.list().stdout().contains(HOST));
    t.finish();
}

// ---------------------------------------------------------------------------
// Secrets and non-ECR hosts.
// ---------------------------------------------------------------------------

/// Crafted hosts that are not ECR registries: no AWS call, no cache
/// directory. From src/registry.rs's tests and more: userinfo, backslashes,
/// NUL, percent-encoding, unicode look-alikes, punycode, very long labels.
#[test]
fn crafted_non_ecr_hosts_make_no_call_and_no_cache() {
    let long_label = format!("111111111111.dkr.ecr.us-{}-1.amazonaws.com", "e".repeat(70));
    let long_host = format!("{}.dkr.ecr.us-east-1.amazonaws.com", "1".repeat(300));
    let many_labels = format!("{HOST}.{}", "a.".repeat(200));
    let spoofs: Vec<&str> = vec![
        "registry.example.com",
        "111111111111.dkr.ecr.us-east-1.amazonaws.com.evil.example",
        "111111111111.dkr.ecr.us-east-1.amazonaws.com.cn.evil.example",
        "111111111111.dkr-ecr.us-east-1.on.aws.evil.example",
        "public.ecr.aws.evil.example",
        "evilpublic.ecr.aws",
        "https://111111111111.dkr.ecr.us-east-1.amazonaws.com@evil.example",
        "111111111111.dkr.ecr.us-east-1.amazonaws.com:443@evil.example",
        "https://user:pass@evil.example/111111111111.dkr.ecr.us-east-1.amazonaws.com",
        "public.ecr.aws@evil.example",
        "evil.example\\@111111111111.dkr.ecr.us-east-1.amazonaws.com",
        "https://111111111111.dkr.ecr.us-east-1.amazonaws.com\\.evil.example",
        "111111111111.dkr.ecr.us-east-1.amazonaws.com\0.evil.example",
        "111111111111.dkr.ecr.us-east-1.amazonaws.com%00.evil.example",
        "111111111111.dkr.ecr.us-east-1.amazonaws.com%2eevil.example",
        "111111111111%2Edkr.ecr.us-east-1.amazonaws.com",
        "111111111111.dkr.ecr.us-east-1.amazonaws.com%2f@evil.example",
        "evil.example#111111111111.dkr.ecr.us-east-1.amazonaws.com",
        "evil.example?111111111111.dkr.ecr.us-east-1.amazonaws.com",
        "111111111111.dkr.ecr.us-east-1.amazonaws.com:443.evil.example",
        "evil.example\n111111111111.dkr.ecr.us-east-1.amazonaws.com",
        // Cyrillic а in amazonaws, fullwidth digits, ideographic full stop,
        // a zero-width space, punycode.
        "111111111111.dkr.ecr.us-east-1.am\u{430}zonaws.com",
        "\u{ff11}\u{ff11}\u{ff11}\u{ff11}\u{ff11}\u{ff11}\u{ff11}\u{ff11}\u{ff11}\u{ff11}\u{ff11}\u{ff11}.dkr.ecr.us-east-1.amazonaws.com",
        "111111111111.dkr.ecr.us-east-1.amazonaws\u{3002}com",
        "111111111111.dkr.ecr.us-east-1.amazonaws.com\u{200b}",
        "111111111111.dkr.ecr.us-east-1.xn--amazonaws-4n7c.com",
        "xn--111111111111.dkr.ecr.us-east-1.amazonaws.com",
        // Labels longer than DNS allows (63), hosts longer than 253.
        &long_label,
        &long_host,
        &many_labels,
        "127.0.0.1",
        "[::1]:443",
    ];
    let mut accepted = Vec::new();
    for host in &spoofs {
        let t = setup();
        let run = t.get(host);
        if run.code() != Some(1) || t.fake.calls() != 0 || t.sb.cache_dir().exists() {
            accepted.push(format!(
                "{:.120?} (exit {:?}, {} calls, cache dir {})",
                host,
                run.code(),
                t.fake.calls(),
                t.sb.cache_dir().exists()
            ));
        } else {
            assert_not_found(&run);
        }
        t.finish();
    }
    assert!(
        accepted.is_empty(),
        "treated as ECR hosts:\n{}",
        accepted.join("\n")
    );
}
