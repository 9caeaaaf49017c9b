//! Black-box tests of the token cache, through the built binary, against our
//! own fake ECR API on 127.0.0.1 (see `support::fake_ecr`).

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::sync::Barrier;
use std::thread;
use std::time::Duration;

use crate::support::fake_ecr::{
    self, DEFAULT_ACCOUNT, ECR_PUBLIC_TARGET, ECR_TARGET, FakeEcr, Fault,
};
use crate::support::{Run, Sandbox, symlink_file};
use base64::Engine as _;

const HOST: &str = "111111111111.dkr.ecr.us-east-1.amazonaws.com";
const ACCOUNT: &str = "111111111111";
const KEY_ID: &str = "AKIAFAKECALLER222222";
const SECRET_KEY: &str = "fake-secret-access-key-for-tests";

/// A sandbox with static credentials, wired to a fresh fake.
fn setup() -> (Sandbox, FakeEcr) {
    let fake = FakeEcr::start();
    let mut sb = Sandbox::new();
    sb.with_credentials(KEY_ID, SECRET_KEY);
    fake.attach(&mut sb);
    (sb, fake)
}

fn token(n: usize) -> String {
    FakeEcr::default_password(ACCOUNT, n)
}

fn sleep_secs(s: f64) {
    thread::sleep(Duration::from_secs_f64(s));
}

/// Asserts `run` is the exact one-line success answer for `server`.
fn assert_answer(run: &Run, server: &str, secret: &str) {
    let creds = run.credentials();
    assert_eq!(creds["Secret"], secret, "unexpected Secret");
    // Exact bytes: one line, keys in this order (json! would sort them).
    let q = |v: &str| serde_json::to_string(v).unwrap();
    let expected = format!(
        "{{\"ServerURL\":{},\"Username\":\"AWS\",\"Secret\":{}}}\n",
        q(server),
        q(secret)
    );
    assert_eq!(
        run.stdout(),
        expected,
        "stdout is not the exact one-line answer"
    );
}

fn is_entry_name(name: &str) -> bool {
    name.strip_suffix(".json").is_some_and(|stem| {
        stem.len() == 32
            && stem
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    })
}

/// Cache entries (`<32 lowercase hex>.json`) in the sandbox's cache dir.
fn entries(sb: &Sandbox) -> Vec<PathBuf> {
    let Ok(rd) = std::fs::read_dir(sb.cache_dir()) else {
        return Vec::new();
    };
    let mut v: Vec<PathBuf> = rd
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(is_entry_name)
        })
        .collect();
    v.sort();
    v
}

/// The single cache entry, asserting there is exactly one.
fn only_entry(sb: &Sandbox) -> PathBuf {
    let e = entries(sb);
    assert_eq!(e.len(), 1, "expected exactly one cache entry, found {e:?}");
    e.into_iter().next().unwrap()
}

fn all_files(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .map(|rd| rd.filter_map(|e| e.ok()).map(|e| e.path()).collect())
        .unwrap_or_default()
}

fn read_entry(path: &Path) -> serde_json::Value {
    let bytes = std::fs::read(path).expect("read cache entry");
    serde_json::from_slice(&bytes).expect("cache entry is JSON")
}

/// A file's Unix mode (Windows files have an access control list).
#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::symlink_metadata(path)
        .unwrap_or_else(|e| panic!("stat {path:?}: {e}"))
        .permissions()
        .mode()
        & 0o7777
}

// ---------------------------------------------------------------------------
// The fake itself (no binary involved).
// ---------------------------------------------------------------------------

struct RawResponse {
    status: u16,
    headers: Vec<(String, String)>,
    body: serde_json::Value,
}

impl RawResponse {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

fn raw_post(
    conn: &mut BufReader<TcpStream>,
    target: &str,
    body: &str,
    extra_headers: &str,
) -> RawResponse {
    let req = format!(
        "POST / HTTP/1.1\r\nHost: fake\r\nX-Amz-Target: {target}\r\nContent-Type: application/x-amz-json-1.1\r\nAuthorization: AWS4-HMAC-SHA256 Credential=AKIDSELFTEST/20240101/eu-west-1/ecr/aws4_request, SignedHeaders=host, Signature=00\r\n{extra_headers}Content-Length: {}\r\n\r\n",
        body.len()
    );
    let stream = conn.get_mut();
    stream.write_all(req.as_bytes()).unwrap();
    if extra_headers.contains("100-continue") {
        let mut interim = String::new();
        conn.read_line(&mut interim).unwrap();
        assert!(interim.starts_with("HTTP/1.1 100"), "{interim:?}");
        let mut blank = String::new();
        conn.read_line(&mut blank).unwrap();
        assert_eq!(blank, "\r\n");
    }
    conn.get_mut().write_all(body.as_bytes()).unwrap();

    let mut line = String::new();
    conn.read_line(&mut line).unwrap();
    let status: u16 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
    let mut headers = Vec::new();
    loop {
        line.clear();
        conn.read_line(&mut line).unwrap();
        let l = line.trim_end();
        if l.is_empty() {
            break;
        }
        let (k, v) = l.split_once(':').unwrap();
        headers.push((k.trim().to_owned(), v.trim().to_owned()));
    }
    let len: usize = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        .unwrap()
        .1
        .parse()
        .unwrap();
    let mut buf = vec![0; len];
    conn.read_exact(&mut buf).unwrap();
    RawResponse {
        status,
        headers,
        body: serde_json::from_slice(&buf).unwrap(),
    }
}

fn decode_password(token: &serde_json::Value) -> String {
    let raw = base64::engine::general_purpose::STANDARD
        .decode(token.as_str().unwrap())
        .unwrap();
    String::from_utf8(raw)
        .unwrap()
        .strip_prefix("AWS:")
        .unwrap()
        .to_owned()
}

#[test]
fn fake_ecr_self_test() {
    let fake = FakeEcr::start();
    let mut conn = BufReader::new(TcpStream::connect(fake.addr()).unwrap());
    let body = r#"{"registryIds":["111111111111"]}"#;

    // 1: success, with Expect: 100-continue.
    let r = raw_post(&mut conn, ECR_TARGET, body, "Expect: 100-continue\r\n");
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("application/x-amz-json-1.1"));
    let data = &r.body["authorizationData"][0];
    assert_eq!(decode_password(&data["authorizationToken"]), token(1));
    assert_eq!(
        data["proxyEndpoint"],
        "https://111111111111.dkr.ecr.eu-west-1.amazonaws.com"
    );
    let expires = data["expiresAt"].as_f64().unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    assert!((expires - now - fake_ecr::DEFAULT_LIFETIME_SECS).abs() < 60.0);

    // 2-4: scripted faults on the same (kept-alive) connection, then success.
    fake.queue_faults(&[Fault::Throttle, Fault::ServerError, Fault::TooManyRequests]);
    let r = raw_post(&mut conn, ECR_TARGET, body, "");
    assert_eq!(
        (r.status, r.header("x-amzn-ErrorType")),
        (400, Some("ThrottlingException"))
    );
    assert_eq!(r.body["__type"], "ThrottlingException");
    assert_eq!(r.body["message"], "Rate exceeded");
    let r = raw_post(&mut conn, ECR_TARGET, body, "");
    assert_eq!(
        (r.status, r.body["__type"].as_str()),
        (500, Some("ServerException"))
    );
    let r = raw_post(&mut conn, ECR_TARGET, body, "");
    assert_eq!(r.status, 429);

    // 5: lifetime and password overrides; ECR Public shape.
    fake.set_lifetime(-60.0);
    fake.set_password(Some("override"));
    let r = raw_post(&mut conn, ECR_PUBLIC_TARGET, "{}", "");
    assert_eq!(r.status, 200);
    let data = &r.body["authorizationData"];
    assert!(data.is_object(), "ECR Public returns one object");
    assert_eq!(decode_password(&data["authorizationToken"]), "override");
    assert!(data["expiresAt"].as_f64().unwrap() < now);
    fake.set_password(None);
    fake.set_lifetime(fake_ecr::DEFAULT_LIFETIME_SECS);

    // 6: always-fail mode, then healed; no registryIds → default account.
    fake.set_down(true);
    assert_eq!(raw_post(&mut conn, ECR_TARGET, "{}", "").status, 500);
    fake.set_down(false);
    let r = raw_post(&mut conn, ECR_TARGET, "{}", "");
    assert_eq!(r.status, 200);
    assert_eq!(
        decode_password(&r.body["authorizationData"][0]["authorizationToken"]),
        FakeEcr::default_password(DEFAULT_ACCOUNT, 7)
    );

    // 8: unknown operation is refused (and recorded).
    assert_eq!(raw_post(&mut conn, "Nope.Nothing", "{}", "").status, 400);

    assert_eq!(fake.calls(), 8);
    let log = fake.call_log();
    assert_eq!(
        log[0].registry_ids.as_deref(),
        Some(&["111111111111".to_owned()][..])
    );
    assert_eq!(log[0].region.as_deref(), Some("eu-west-1"));
    assert_eq!(log[0].service.as_deref(), Some("ecr"));
    assert_eq!(log[0].access_key_id.as_deref(), Some("AKIDSELFTEST"));
    assert_eq!(log[0].passwords, vec![token(1)]);
    assert_eq!(
        log.iter().map(|c| c.status).collect::<Vec<_>>(),
        vec![200, 400, 500, 429, 200, 500, 200, 400]
    );
    assert_eq!(fake.registry_ids()[4], Vec::<String>::new());
    assert_eq!(fake.targets()[4], ECR_PUBLIC_TARGET);

    // A second connection works concurrently with the first one.
    let mut conn2 = BufReader::new(TcpStream::connect(fake.addr()).unwrap());
    assert_eq!(raw_post(&mut conn2, ECR_TARGET, body, "").status, 200);
    assert_eq!(fake.calls(), 9);
}

// ---------------------------------------------------------------------------
// Cache behaviour through the binary.
// ---------------------------------------------------------------------------

#[test]
fn hit_makes_no_call() {
    let (sb, fake) = setup();
    let first = sb.get(HOST);
    assert_answer(&first, HOST, &token(1));
    assert_eq!(fake.calls(), 1);

    let second = sb.get(HOST);
    assert_answer(&second, HOST, &token(1));
    assert_eq!(fake.calls(), 1, "a cache hit must not call the API");
}

#[test]
fn cache_layout_and_entry_format() {
    let (sb, fake) = setup();
    sb.get(HOST).credentials();
    let entry = only_entry(&sb);
    let lock = PathBuf::from(format!("{}.lock", entry.with_extension("").display()));
    assert!(lock.exists(), "lock file {lock:?} beside the entry");

    let json = read_entry(&entry);
    assert_eq!(json["version"], 1);
    let stored = json["expires_at"]
        .as_f64()
        .expect("expires_at is epoch seconds (a number)");
    let sent = fake.call_log()[0].expires_at.unwrap();
    assert!(
        (stored - sent).abs() <= 1.0,
        "expires_at {stored} differs from the expiresAt the API sent ({sent})"
    );
}

#[test]
fn expired_entry_is_refreshed() {
    let (sb, fake) = setup();
    fake.set_lifetime(2.0);
    assert_answer(&sb.get(HOST), HOST, &token(1));
    sleep_secs(2.5);
    assert_answer(&sb.get(HOST), HOST, &token(2));
    assert_eq!(fake.calls(), 2);
}

#[test]
fn already_expired_token_is_returned_but_not_cached() {
    let (sb, fake) = setup();
    fake.set_lifetime(-60.0);
    assert_answer(&sb.get(HOST), HOST, &token(1));
    assert_answer(&sb.get(HOST), HOST, &token(2));
    assert_eq!(
        fake.calls(),
        2,
        "an expired token must never be served from cache"
    );
}

#[test]
fn past_half_life_is_refreshed() {
    let (sb, fake) = setup();
    // Past half of the 6 s lifetime but before expiry. (Entries keep whole
    // seconds, so a 4 s lifetime slept 2.5 s can land on exactly half left.)
    fake.set_lifetime(6.0);
    assert_answer(&sb.get(HOST), HOST, &token(1));
    sleep_secs(4.0);
    assert_answer(&sb.get(HOST), HOST, &token(2));
    assert_eq!(fake.calls(), 2);
}

#[test]
fn concurrent_cold_gets_make_one_call() {
    const N: usize = 16;
    let (sb, fake) = setup();
    fake.set_delay(Duration::from_millis(300));
    let barrier = Barrier::new(N);
    let runs: Vec<Run> = thread::scope(|s| {
        let handles: Vec<_> = (0..N)
            .map(|_| {
                s.spawn(|| {
                    barrier.wait();
                    sb.get(HOST)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for run in &runs {
        assert_answer(run, HOST, &token(1));
    }
    assert_eq!(fake.calls(), 1, "{N} cold gets must share one API call");
    assert_eq!(entries(&sb).len(), 1);
}

#[test]
fn throttling_then_success_is_retried() {
    let (sb, fake) = setup();
    fake.queue_fault(Fault::Throttle);
    assert_answer(&sb.get(HOST), HOST, &token(2));
    assert_eq!(fake.calls(), 2);
}

#[test]
fn server_error_then_success_is_retried() {
    let (sb, fake) = setup();
    fake.queue_fault(Fault::ServerError);
    assert_answer(&sb.get(HOST), HOST, &token(2));
    assert_eq!(fake.calls(), 2);
}

#[test]
fn too_many_requests_then_success_is_retried() {
    let (sb, fake) = setup();
    fake.queue_fault(Fault::TooManyRequests);
    assert_answer(&sb.get(HOST), HOST, &token(2));
    assert_eq!(fake.calls(), 2);
}

#[test]
fn api_down_serves_unexpired_cached_token_with_warning() {
    let (sb, fake) = setup();
    // Past half-life after 10 s even with whole-second bookkeeping, and
    // still valid once the refresh has failed, SDK retry backoff (at most
    // ~3 s) included.
    fake.set_lifetime(18.0);
    assert_answer(&sb.get(HOST), HOST, &token(1));
    sleep_secs(10.0);
    fake.set_down(true);
    let log_path = sb.var("AWS_ECR_LOG_FILE").unwrap();
    let _ = std::fs::remove_file(&log_path);

    let run = sb.get(HOST);
    assert_answer(&run, HOST, &token(1));
    assert!(fake.calls() > 1, "a refresh must have been attempted");
    let log = sb.log();
    assert!(
        log.to_ascii_uppercase().contains("WARN"),
        "serving a stale token must log a warning; log was:\n{log}"
    );
}

#[test]
fn api_down_with_expired_cache_is_not_found() {
    let (sb, fake) = setup();
    fake.set_lifetime(2.0);
    assert_answer(&sb.get(HOST), HOST, &token(1));
    sleep_secs(2.5);
    fake.set_down(true);
    sb.get(HOST).assert_not_found();
    assert!(fake.calls() > 1);
}

#[test]
fn api_down_and_nothing_cached_is_not_found() {
    let (sb, fake) = setup();
    fake.set_down(true);
    sb.get(HOST).assert_not_found();
    assert_eq!(fake.calls(), 3, "standard retry mode makes 3 attempts");
    assert!(entries(&sb).is_empty());
}

#[test]
fn cross_account_registry_id_and_region_come_from_host() {
    let (sb, fake) = setup();
    assert_answer(&sb.get(HOST), HOST, &token(1));
    let other = "222222222222.dkr.ecr.eu-west-1.amazonaws.com";
    assert_answer(
        &sb.get(other),
        other,
        &FakeEcr::default_password("222222222222", 2),
    );

    assert_eq!(
        fake.registry_ids(),
        vec![vec!["111111111111"], vec!["222222222222"]]
    );
    let log = fake.call_log();
    assert_eq!(log[0].target, ECR_TARGET);
    assert_eq!(log[0].region.as_deref(), Some("us-east-1"));
    assert_eq!(log[1].region.as_deref(), Some("eu-west-1"));
    assert_eq!(log[0].access_key_id.as_deref(), Some(KEY_ID));
    assert_eq!(entries(&sb).len(), 2, "one entry per registry");
}

#[test]
fn ecr_public_is_fetched_and_cached() {
    let (sb, fake) = setup();
    let host = "public.ecr.aws";
    assert_answer(&sb.get(host), host, "public-fake-token-1");
    assert_answer(&sb.get(host), host, "public-fake-token-1");
    assert_eq!(fake.calls(), 1);
    let call = &fake.call_log()[0];
    assert_eq!(call.target, ECR_PUBLIC_TARGET);
    assert_eq!(call.region.as_deref(), Some("us-east-1"));
}

/// Unix only: a umask and modes (on Windows a new file takes its
/// directory's access control list).
#[cfg(unix)]
#[test]
fn modes_are_private_even_with_umask_000() {
    use crate::support::{self, run_command};
    use std::process::Command;
    let (sb, _fake) = setup();
    assert!(!sb.cache_dir().exists());
    let mut cmd = Command::new("/bin/sh");
    cmd.args(["-c", r#"umask 000; exec "$0" get"#])
        .arg(support::binary())
        .env_clear();
    for (k, v) in &sb.env {
        cmd.env(k, v);
    }
    assert_answer(&run_command(cmd, HOST), HOST, &token(1));

    assert_eq!(mode(&sb.cache_dir()), 0o700, "cache dir mode");
    let files = all_files(&sb.cache_dir());
    assert!(files.len() >= 2, "entry and lock expected: {files:?}");
    for f in files {
        assert_eq!(mode(&f), 0o600, "mode of {f:?}");
    }
}

#[test]
#[cfg_attr(
    windows,
    ignore = "needs a symlink: Windows makes one only in Developer Mode or for an administrator, and wine 8 makes none (its CreateSymbolicLinkW is a stub); run with --ignored where links can be made"
)]
fn symlink_at_entry_path_is_not_followed() {
    let (sb, fake) = setup();
    assert_answer(&sb.get(HOST), HOST, &token(1));
    let entry = only_entry(&sb);
    // The victim holds a valid, fresh entry: following the link on read would
    // serve token 1 without a call; following it on write would change it.
    let victim = sb.path().join("victim.json");
    let original = std::fs::read(&entry).unwrap();
    std::fs::write(&victim, &original).unwrap();
    std::fs::remove_file(&entry).unwrap();
    symlink_file(&victim, &entry);

    assert_answer(&sb.get(HOST), HOST, &token(2));
    assert_eq!(fake.calls(), 2, "the symlinked entry must not be read");
    assert_eq!(
        std::fs::read(&victim).unwrap(),
        original,
        "symlink target was modified"
    );
}

#[test]
#[cfg_attr(
    windows,
    ignore = "needs a symlink: Windows makes one only in Developer Mode or for an administrator, and wine 8 makes none (its CreateSymbolicLinkW is a stub); run with --ignored where links can be made"
)]
fn symlink_at_lock_path_is_not_followed() {
    let (sb, _fake) = setup();
    assert_answer(&sb.get(HOST), HOST, &token(1));
    let entry = only_entry(&sb);
    let lock = PathBuf::from(format!("{}.lock", entry.with_extension("").display()));
    let victim = sb.path().join("victim.txt");
    std::fs::write(&victim, b"precious\n").unwrap();
    #[cfg(unix)]
    let victim_mode = mode(&victim);
    let _ = std::fs::remove_file(&lock);
    std::fs::remove_file(&entry).unwrap();
    symlink_file(&victim, &lock);

    assert_answer(&sb.get(HOST), HOST, &token(2));
    assert_eq!(std::fs::read(&victim).unwrap(), b"precious\n");
    #[cfg(unix)]
    assert_eq!(mode(&victim), victim_mode, "symlink target's mode changed");
}

#[test]
fn corrupt_entry_is_refetched_and_rewritten() {
    let (sb, fake) = setup();
    assert_answer(&sb.get(HOST), HOST, &token(1));
    let entry = only_entry(&sb);
    std::fs::write(&entry, b"{not json at all\x00\xff").unwrap();

    assert_answer(&sb.get(HOST), HOST, &token(2));
    assert_eq!(fake.calls(), 2);
    assert_eq!(read_entry(&entry)["version"], 1, "entry rewritten");
    // And the rewritten entry is served.
    assert_answer(&sb.get(HOST), HOST, &token(2));
    assert_eq!(fake.calls(), 2);
}

#[test]
fn unknown_version_counts_as_empty() {
    let (sb, fake) = setup();
    assert_answer(&sb.get(HOST), HOST, &token(1));
    let entry = only_entry(&sb);
    let mut json = read_entry(&entry);
    json["version"] = serde_json::json!(999);
    std::fs::write(&entry, serde_json::to_vec(&json).unwrap()).unwrap();

    assert_answer(&sb.get(HOST), HOST, &token(2));
    assert_eq!(fake.calls(), 2);
    assert_eq!(read_entry(&entry)["version"], 1, "entry rewritten");
}

#[test]
fn different_access_key_is_a_different_entry() {
    let (mut sb, fake) = setup();
    assert_answer(&sb.get(HOST), HOST, &token(1));
    sb.with_credentials("AKIAFAKEOTHERCALLER3", SECRET_KEY);
    assert_answer(&sb.get(HOST), HOST, &token(2));
    assert_eq!(fake.calls(), 2);
    assert_eq!(entries(&sb).len(), 2);

    // Both entries stay usable.
    sb.with_credentials(KEY_ID, SECRET_KEY);
    assert_answer(&sb.get(HOST), HOST, &token(1));
    assert_eq!(fake.calls(), 2);
}

#[test]
fn different_profile_is_a_different_entry() {
    let (mut sb, fake) = setup();
    sb.unset("AWS_ACCESS_KEY_ID").unset("AWS_SECRET_ACCESS_KEY");
    std::fs::write(
        sb.var("AWS_SHARED_CREDENTIALS_FILE").unwrap(),
        "[alpha]\naws_access_key_id = AKIAFAKEPROFILEALPHA\naws_secret_access_key = alpha-secret\n\n\
         [beta]\naws_access_key_id = AKIAFAKEPROFILEBETA0\naws_secret_access_key = beta-secret\n",
    )
    .unwrap();
    sb.set("AWS_PROFILE", "alpha");
    assert_answer(&sb.get(HOST), HOST, &token(1));
    sb.set("AWS_PROFILE", "beta");
    assert_answer(&sb.get(HOST), HOST, &token(2));
    assert_eq!(fake.calls(), 2);
    assert_eq!(entries(&sb).len(), 2);
    let keys: BTreeSet<_> = fake
        .call_log()
        .into_iter()
        .filter_map(|c| c.access_key_id)
        .collect();
    assert_eq!(
        keys,
        BTreeSet::from(["AKIAFAKEPROFILEALPHA".into(), "AKIAFAKEPROFILEBETA0".into()])
    );
}

#[test]
fn disable_cache_writes_nothing_and_always_calls() {
    let (mut sb, fake) = setup();
    sb.set("AWS_ECR_DISABLE_CACHE", "true");
    assert_answer(&sb.get(HOST), HOST, &token(1));
    assert_answer(&sb.get(HOST), HOST, &token(2));
    assert_eq!(fake.calls(), 2);
    let files = all_files(&sb.cache_dir());
    assert!(
        files.is_empty(),
        "cache disabled but files written: {files:?}"
    );
}

#[test]
fn secrets_never_leak_into_stderr_or_log() {
    let (mut sb, fake) = setup();
    let secret_key = "sk-SENTINEL-91be4d0c77a2";
    let password = "pw-SENTINEL-7f3a9c15e0bd";
    sb.with_credentials(KEY_ID, secret_key);
    fake.set_password(Some(password));
    let token_b64 = fake_ecr::basic_token(password);

    // Cold, hit, then an error path (API down, nothing cached).
    let mut runs = vec![sb.get(HOST), sb.get(HOST)];
    fake.set_down(true);
    runs.push(sb.get("222222222222.dkr.ecr.eu-west-1.amazonaws.com"));

    for run in &runs[..2] {
        assert_answer(run, HOST, password);
    }
    runs[2].assert_not_found();

    let log = sb.log();
    assert!(!log.is_empty(), "trace log must not be empty");
    for (i, run) in runs.iter().enumerate() {
        let (out, err) = (run.stdout(), run.stderr());
        assert!(
            !err.contains(password),
            "run {i}: password leaked into stderr"
        );
        assert!(
            !err.contains(&token_b64),
            "run {i}: token leaked into stderr"
        );
        assert!(
            !err.contains(secret_key),
            "run {i}: secret key leaked into stderr"
        );
        assert!(
            !out.contains(secret_key),
            "run {i}: secret key leaked into stdout"
        );
    }
    assert!(!log.contains(password), "password leaked into the log");
    assert!(!log.contains(&token_b64), "token leaked into the log");
    assert!(!log.contains(secret_key), "secret key leaked into the log");
}

#[test]
fn non_ecr_hosts_are_not_found_without_calls_or_cache() {
    let (sb, fake) = setup();
    for host in [
        "registry.example.com",
        "111111111111.dkr.ecr.us-east-1.amazonaws.com.evil.example",
    ] {
        sb.get(host).assert_not_found();
    }
    assert_eq!(fake.calls(), 0);
    assert!(!sb.cache_dir().exists(), "no cache dir for non-ECR hosts");
}

/// A hit must not load any AWS configuration, credential or certificate:
/// after a cold get, every such file becomes a FIFO, which blocks whoever
/// opens it. A hit that read one would hang; it must answer at once.
#[test]
#[cfg(unix)] // FIFOs: Windows has none in the file system
fn a_hit_reads_no_aws_configuration_credentials_or_certificates() {
    let (mut sb, fake) = setup();
    let paths: Vec<String> = ["aws-config", "aws-credentials", "ca.pem", "roots.pem"]
        .iter()
        .map(|n| sb.path().join(n).to_string_lossy().into_owned())
        .collect();
    sb.set("AWS_CONFIG_FILE", &paths[0])
        .set("AWS_SHARED_CREDENTIALS_FILE", &paths[1]);
    let first = sb.get(HOST).secret();
    for p in &paths {
        let _ = std::fs::remove_file(p);
        let c = std::ffi::CString::new(p.as_str()).unwrap();
        // SAFETY: a valid NUL-terminated path.
        assert_eq!(unsafe { libc_mkfifo(c.as_ptr(), 0o600) }, 0, "mkfifo {p}");
    }
    sb.set("AWS_CA_BUNDLE", &paths[2])
        .set("SSL_CERT_FILE", &paths[3]);
    let mut child = sb
        .command(&["get"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(HOST.as_bytes())
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while child.try_wait().unwrap().is_none() {
        if std::time::Instant::now() > deadline {
            child.kill().unwrap();
            panic!("the hit blocked on a configuration file");
        }
        thread::sleep(Duration::from_millis(10));
    }
    let run = Run(child.wait_with_output().unwrap());
    assert_answer(&run, HOST, &first);
    assert_eq!(fake.calls(), 1);
}

// ---------------------------------------------------------------------------
// An entry serves only the registry and identity it was written for
// (issue 17, group 2), and each cache warning is logged once (group 8).
// ---------------------------------------------------------------------------

const OTHER_HOST: &str = "222222222222.dkr.ecr.us-east-1.amazonaws.com";

/// The entry whose content names `server`.
fn entry_of(sb: &Sandbox, server: &str) -> PathBuf {
    entries(sb)
        .into_iter()
        .find(|p| read_entry(p)["server"] == server)
        .unwrap_or_else(|| panic!("no entry for {server}"))
}

/// An entry file copied or hard-linked over another registry's, or whose
/// content names another registry, is not served: the token is fetched
/// for the registry asked, and the other registry's entry is left as it
/// was.
#[test]
fn an_entry_is_served_only_for_its_registry() {
    let (sb, fake) = setup();
    let theirs = FakeEcr::default_password("222222222222", 2);
    assert_answer(&sb.get(HOST), HOST, &token(1));
    assert_answer(&sb.get(OTHER_HOST), OTHER_HOST, &theirs);
    let (mine, other) = (entry_of(&sb, HOST), entry_of(&sb, OTHER_HOST));
    let mine_bytes = std::fs::read(&mine).unwrap();

    // A copy of 111111111111's entry in 222222222222's place.
    std::fs::copy(&mine, &other).unwrap();
    let run = sb.get(OTHER_HOST);
    assert_answer(
        &run,
        OTHER_HOST,
        &FakeEcr::default_password("222222222222", 3),
    );
    assert_eq!(fake.calls(), 3, "the copied entry must not be served");

    // A hard link to it.
    std::fs::remove_file(&other).unwrap();
    std::fs::hard_link(&mine, &other).unwrap();
    let run = sb.get(OTHER_HOST);
    assert_answer(
        &run,
        OTHER_HOST,
        &FakeEcr::default_password("222222222222", 4),
    );
    assert_eq!(fake.calls(), 4, "the linked entry must not be served");
    assert_eq!(
        std::fs::read(&mine).unwrap(),
        mine_bytes,
        "the link's target changed"
    );

    // The right file, whose content names another registry.
    let mut json = read_entry(&other);
    json["server"] = HOST.into();
    std::fs::write(&other, serde_json::to_vec(&json).unwrap()).unwrap();
    let run = sb.get(OTHER_HOST);
    assert_answer(
        &run,
        OTHER_HOST,
        &FakeEcr::default_password("222222222222", 5),
    );
    assert_eq!(
        fake.calls(),
        5,
        "an entry naming another registry must not be served"
    );

    // 111111111111's own entry is still served, untouched.
    assert_answer(&sb.get(HOST), HOST, &token(1));
    assert_eq!(fake.calls(), 5);
}

/// `list` prints only ECR registry hosts, never another host nor control
/// characters, whatever an entry's content names.
#[test]
fn list_prints_only_ecr_registries() {
    let (sb, _fake) = setup();
    assert_answer(&sb.get(HOST), HOST, &token(1));
    let good = read_entry(&only_entry(&sb));
    let bad = [
        "registry.example.com",
        "111111111111.dkr.ecr.us-east-1.amazonaws.com\u{1b}[2J",
        "222222222222.dkr.ecr.us-east-1.amazonaws.com\r\nX-Injected: 1",
        "111111111111.dkr.ecr.us-east-1.amazonaws.com.evil.example",
        "https://333333333333.dkr.ecr.us-east-1.amazonaws.com/v2/",
        "444444444444.DKR.ECR.us-east-1.amazonaws.com",
        "",
    ];
    for (i, server) in bad.iter().enumerate() {
        // A file of the entry's own name (and key), as the helper would
        // write it: only its content names something else.
        let name = format!("{:032x}", i + 1);
        let mut json = good.clone();
        json["server"] = (*server).into();
        json["key"] = name.clone().into();
        std::fs::write(
            sb.cache_dir().join(format!("{name}.json")),
            serde_json::to_vec(&json).unwrap(),
        )
        .unwrap();
    }
    let run = sb.run(&["list"], "");
    assert_eq!(run.code(), Some(0), "{}", run.stderr());
    let listed: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(&run.stdout()).expect("list prints a JSON object");
    let hosts: Vec<&String> = listed.keys().collect();
    assert_eq!(hosts, [&format!("https://{HOST}")], "{}", run.stdout());
    assert!(
        run.stdout()
            .trim_end()
            .bytes()
            .all(|b| !b.is_ascii_control()),
        "{:?}",
        run.stdout()
    );
}

/// A container credentials endpoint (ECS's, EKS Pod Identity's) on
/// loopback: it answers each request with keys named after the
/// authorization token it was sent (`AKIACONTAINER<TOKEN>`), so that two
/// tokens are two principals.
fn container_endpoint() -> crate::support::loopback::LoopbackServer {
    crate::support::loopback::LoopbackServer::start("container-creds", |stream, _| {
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        let mut token = String::new();
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                return;
            }
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            if let Some((k, v)) = line.split_once(':')
                && k.eq_ignore_ascii_case("authorization")
            {
                token = v.trim().to_ascii_uppercase();
            }
        }
        let body = serde_json::json!({
            "AccessKeyId": format!("AKIACONTAINER{token}"),
            "SecretAccessKey": "container-secret",
            "Token": "container-session",
            "Expiration": "2099-01-01T00:00:00Z",
        })
        .to_string();
        let mut stream = stream;
        let _ = write!(
            stream,
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
    })
}

/// Whatever the environment, the token served was issued to the principal
/// the SDK's chain uses there, never to another: the environment's keys
/// when the SDK takes them (both, not blank; `SECRET_ACCESS_KEY` is its
/// fallback), else the chain's next link: the profile (the environment
/// wins over `AWS_PROFILE`), the container endpoint (its token selects the
/// principal), the home directory's `~/.aws` files. Every environment runs
/// twice over one cache, in turn; the second round is all hits.
#[test]
fn a_token_is_served_only_to_the_principal_it_was_issued_to() {
    let (mut sb, fake) = setup();
    let env_key = "AKIAENVIRONMENTKEY01";
    let creds = sb.var("AWS_SHARED_CREDENTIALS_FILE").unwrap();
    std::fs::write(
        &creds,
        "[default]\naws_access_key_id = AKIAPROFILEDEFAULT00\naws_secret_access_key = d\n\n\
         [alpha]\naws_access_key_id = AKIAPROFILEALPHA0000\naws_secret_access_key = a\n\n\
         [beta]\naws_access_key_id = AKIAPROFILEBETA00000\naws_secret_access_key = b\n",
    )
    .unwrap();
    let homes: Vec<PathBuf> = ["ONE", "TWO"]
        .iter()
        .map(|n| {
            let home = sb.path().join(format!("home-{n}"));
            std::fs::create_dir_all(home.join(".aws")).unwrap();
            std::fs::write(
                home.join(".aws/credentials"),
                format!("[default]\naws_access_key_id = AKIAHOME{n}\naws_secret_access_key = h\n"),
            )
            .unwrap();
            home
        })
        .collect();
    let endpoint = container_endpoint();
    let uri = format!("http://{}/creds", endpoint.addr());
    let none = sb.path().join("no-credentials-file");
    let none = none.to_str().unwrap();
    let (h1, h2) = (homes[0].to_str().unwrap(), homes[1].to_str().unwrap());
    sb.unset("AWS_ACCESS_KEY_ID").unset("AWS_SECRET_ACCESS_KEY");
    let base = sb.env.clone();

    let id = ("AWS_ACCESS_KEY_ID", env_key);
    let secret = ("AWS_SECRET_ACCESS_KEY", SECRET_KEY);
    let unset = "";
    // (variables set, or unset when empty; the principal)
    let table: Vec<(Vec<(&str, &str)>, &str)> = vec![
        (vec![id, secret], env_key),
        (vec![id], "AKIAPROFILEDEFAULT00"),
        (
            vec![id, ("AWS_SECRET_ACCESS_KEY", "")],
            "AKIAPROFILEDEFAULT00",
        ),
        (
            vec![id, ("AWS_SECRET_ACCESS_KEY", "  ")],
            "AKIAPROFILEDEFAULT00",
        ),
        (
            vec![id, ("AWS_SESSION_TOKEN", "session")],
            "AKIAPROFILEDEFAULT00",
        ),
        (vec![id, ("SECRET_ACCESS_KEY", SECRET_KEY)], env_key),
        (vec![id, secret, ("AWS_PROFILE", "alpha")], env_key),
        (vec![id, ("AWS_PROFILE", "alpha")], "AKIAPROFILEALPHA0000"),
        (
            vec![("AWS_ACCESS_KEY_ID", " "), secret, ("AWS_PROFILE", "beta")],
            "AKIAPROFILEBETA00000",
        ),
        (
            vec![("AWS_ACCESS_KEY_ID", " "), secret, ("AWS_PROFILE", "alpha")],
            "AKIAPROFILEALPHA0000",
        ),
        (
            vec![
                id,
                ("AWS_SHARED_CREDENTIALS_FILE", none),
                ("AWS_CONTAINER_CREDENTIALS_FULL_URI", &uri),
                ("AWS_CONTAINER_AUTHORIZATION_TOKEN", "a"),
            ],
            "AKIACONTAINERA",
        ),
        (
            vec![
                id,
                ("AWS_SHARED_CREDENTIALS_FILE", none),
                ("AWS_CONTAINER_CREDENTIALS_FULL_URI", &uri),
                ("AWS_CONTAINER_AUTHORIZATION_TOKEN", "b"),
            ],
            "AKIACONTAINERB",
        ),
        (
            vec![
                ("HOME", h1),
                ("AWS_CONFIG_FILE", unset),
                ("AWS_SHARED_CREDENTIALS_FILE", unset),
            ],
            "AKIAHOMEONE",
        ),
        (
            vec![
                ("HOME", h2),
                ("AWS_CONFIG_FILE", unset),
                ("AWS_SHARED_CREDENTIALS_FILE", unset),
            ],
            "AKIAHOMETWO",
        ),
    ];
    let mut calls_after_first_round = 0;
    for round in 0..2 {
        for (vars, principal) in &table {
            sb.env = base.clone();
            for (k, v) in vars {
                if v.is_empty() && *k != "AWS_SECRET_ACCESS_KEY" {
                    sb.unset(k);
                } else {
                    sb.set(k, v);
                }
            }
            let run = sb.get(HOST);
            let secret = run.secret();
            let issued_to = fake
                .call_log()
                .into_iter()
                .find(|c| c.passwords.contains(&secret))
                .and_then(|c| c.access_key_id);
            assert_eq!(
                issued_to.as_deref(),
                Some(*principal),
                "round {round}, {vars:?}: served a token issued to another principal"
            );
        }
        if round == 0 {
            calls_after_first_round = fake.calls();
        }
    }
    assert_eq!(
        fake.calls(),
        calls_after_first_round,
        "the second round is all hits"
    );
}

/// Each distinct cache warning is logged once per run, however often the
/// entry is read (a miss reads it before and under the lock). Logging to
/// stderr, as docker shows it.
#[test]
fn each_cache_warning_is_logged_once() {
    let (mut sb, fake) = setup();
    sb.unset("AWS_ECR_LOG_FILE").set("AWS_ECR_LOG", "warn");
    assert_answer(&sb.get(HOST), HOST, &token(1));
    let entry = only_entry(&sb);
    let mut other = read_entry(&entry);
    other["server"] = OTHER_HOST.into();
    let mut other_version = read_entry(&entry);
    other_version["version"] = 999.into();
    // (what, the entry file's bytes)
    let spoiled: Vec<(&str, Vec<u8>)> = vec![
        ("corrupt", b"{not json".to_vec()),
        (
            "another version",
            serde_json::to_vec(&other_version).unwrap(),
        ),
        (
            "naming another registry",
            serde_json::to_vec(&other).unwrap(),
        ),
        ("too large", vec![b' '; 65 * 1024]),
    ];
    for (n, (what, bytes)) in spoiled.iter().enumerate() {
        std::fs::write(&entry, bytes).unwrap();
        let run = sb.get(HOST);
        assert_answer(&run, HOST, &token(n + 2));
        let lines: Vec<String> = run
            .stderr()
            .lines()
            .filter_map(|l| l.split_once(" WARN ").map(|(_, w)| w.to_owned()))
            .collect();
        assert!(!lines.is_empty(), "{what}: no warning at all");
        let distinct: BTreeSet<&String> = lines.iter().collect();
        assert_eq!(
            distinct.len(),
            lines.len(),
            "{what}: a warning repeated:\n{}",
            run.stderr()
        );
    }
    assert_eq!(fake.calls(), 1 + spoiled.len());
}

#[cfg(unix)]
unsafe extern "C" {
    #[link_name = "mkfifo"]
    fn libc_mkfifo(path: *const std::ffi::c_char, mode: u32) -> i32;
}
