//! Load: 64 helper processes at once, for `LOAD_SECS` seconds (default 30),
//! over 8 registries and 2 profiles, against the fake ECR issuing 6-second
//! tokens: a cold cache, then hits, then refreshes every few seconds.
//!
//! Afterwards: every answer was right (the password was issued for that
//! registry to that profile's key, and had not expired when the run
//! started), every cache file parses, no temporary file is left, no secret
//! reached stderr or the trace log, and the API saw at most one call per
//! (registry, identity) per refresh window:
//!
//!   calls(registry, identity) <= floor(D / (L / 2)) + 1
//!
//! with L = 6 s the token lifetime and D the span of the run. Why: a call
//! is made only under the entry's lock, after re-reading the entry and
//! finding it past half its life. An entry fetched at second f (the
//! helper's clock, whole seconds) expires at e >= f + L (the fake's clock
//! on arrival, later), so it is fresh while now - f <= (e - f) / 2, i.e.
//! at least until f + L/2 + 1 > t + L/2, t the previous call's start. So
//! two calls for one key start more than L/2 apart.

use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::io::Write;
use std::process::Stdio;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::support::fake_ecr::{ECR_PUBLIC_TARGET, ECR_TARGET, FakeEcr};
use crate::support::{self, Sandbox};

const PROCESSES: usize = 64;
const LIFETIME_SECS: f64 = 6.0;
/// A run still going after this long is killed and fails the test.
const DEADLINE: Duration = Duration::from_secs(60);

/// (host, account or "public", API region)
const REGISTRIES: [(&str, &str, &str); 8] = [
    (
        "100000000001.dkr.ecr.us-east-1.amazonaws.com",
        "100000000001",
        "us-east-1",
    ),
    (
        "100000000002.dkr.ecr.eu-west-1.amazonaws.com",
        "100000000002",
        "eu-west-1",
    ),
    (
        "100000000003.dkr.ecr.ap-southeast-1.amazonaws.com",
        "100000000003",
        "ap-southeast-1",
    ),
    (
        "100000000004.dkr.ecr.us-west-2.amazonaws.com",
        "100000000004",
        "us-west-2",
    ),
    (
        "100000000005.dkr-ecr.us-east-2.on.aws",
        "100000000005",
        "us-east-2",
    ),
    (
        "100000000006.dkr.ecr.ca-central-1.amazonaws.com",
        "100000000006",
        "ca-central-1",
    ),
    (
        "100000000007.dkr.ecr.sa-east-1.amazonaws.com",
        "100000000007",
        "sa-east-1",
    ),
    ("public.ecr.aws", "public", "us-east-1"),
];

/// (profile, access key id, secret key, session token)
const PROFILES: [(&str, &str, &str, &str); 2] = [
    (
        "alpha",
        "AKIAFAKELOADALPHA000",
        "sk-LOAD-ALPHA-SENTINEL-5d1e07c3",
        "st-LOAD-ALPHA-SENTINEL-9a44b2f1",
    ),
    (
        "beta",
        "AKIAFAKELOADBETA0000",
        "sk-LOAD-BETA-SENTINEL-e2c8f610",
        "st-LOAD-BETA-SENTINEL-37bd09ae",
    ),
];

fn epoch() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

struct Answer {
    registry: usize,
    profile: usize,
    started: f64,
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

#[test]
fn sixty_four_processes_over_eight_registries_and_two_profiles() {
    let secs: f64 = std::env::var("LOAD_SECS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(30.0);
    let fake = FakeEcr::start();
    fake.set_lifetime(LIFETIME_SECS);
    let mut sb = Sandbox::new();
    fake.attach(&mut sb);
    let mut credentials = String::new();
    for (name, key, secret, session) in PROFILES {
        credentials.push_str(&format!(
            "[{name}]\naws_access_key_id = {key}\naws_secret_access_key = {secret}\naws_session_token = {session}\n\n"
        ));
    }
    fs::write(sb.var("AWS_SHARED_CREDENTIALS_FILE").unwrap(), credentials).unwrap();

    let answers = Mutex::new(Vec::<Answer>::new());
    let running = Mutex::new(HashMap::<u32, Instant>::new());
    let overdue = AtomicBool::new(false);
    let done = AtomicBool::new(false);
    let start = epoch();
    let until = Instant::now() + Duration::from_secs_f64(secs);
    thread::scope(|s| {
        // Watchdog: no run may hang the test.
        s.spawn(|| {
            while !done.load(Ordering::SeqCst) {
                for (pid, since) in running.lock().unwrap().iter() {
                    if since.elapsed() > DEADLINE {
                        overdue.store(true, Ordering::SeqCst);
                        support::kill_pid(*pid);
                    }
                }
                thread::sleep(Duration::from_millis(200));
            }
        });
        let workers: Vec<_> = (0..PROCESSES)
            .map(|w| {
                let (sb, answers, running) = (&sb, &answers, &running);
                s.spawn(move || {
                    let mut n = w;
                    while Instant::now() < until {
                        // Workers walk the 16 pairs from their own offsets and strides.
                        let (registry, profile) = (n % 8, (n / 8) % 2);
                        n += 1 + w % 3;
                        let mut cmd = sb.command(&["get"]);
                        cmd.env("AWS_PROFILE", PROFILES[profile].0)
                            .stdin(Stdio::piped())
                            .stdout(Stdio::piped())
                            .stderr(Stdio::piped());
                        let started = epoch();
                        let mut child = cmd.spawn().expect("spawn the helper");
                        let pid = child.id();
                        running.lock().unwrap().insert(pid, Instant::now());
                        let mut stdin = child.stdin.take().unwrap();
                        let _ = stdin.write_all(REGISTRIES[registry].0.as_bytes());
                        drop(stdin);
                        let out = child.wait_with_output().expect("wait for the helper");
                        running.lock().unwrap().remove(&pid);
                        answers.lock().unwrap().push(Answer {
                            registry,
                            profile,
                            started,
                            code: out.status.code(),
                            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
                            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
                        });
                    }
                })
            })
            .collect();
        for w in workers {
            w.join().unwrap();
        }
        done.store(true, Ordering::SeqCst);
    });
    let span = epoch() - start;
    assert!(!overdue.load(Ordering::SeqCst), "a run hung and was killed");
    let answers = answers.into_inner().unwrap();
    let calls = fake.call_log();

    // Every password the fake issued, and to whom.
    let issued: HashMap<&str, &support::fake_ecr::Call> = calls
        .iter()
        .flat_map(|c| c.passwords.iter().map(move |p| (p.as_str(), c)))
        .collect();
    let mut served = 0;
    for a in &answers {
        let (host, account, region) = REGISTRIES[a.registry];
        let (profile, key, ..) = PROFILES[a.profile];
        assert_eq!(
            a.code,
            Some(0),
            "get {host} as {profile}: stdout={:?} stderr={:?}",
            a.stdout,
            a.stderr
        );
        let json: serde_json::Value = serde_json::from_str(&a.stdout).unwrap();
        let secret = json["Secret"].as_str().unwrap();
        let want = format!(
            "{{\"ServerURL\":\"{host}\",\"Username\":\"AWS\",\"Secret\":{}}}\n",
            serde_json::to_string(secret).unwrap()
        );
        assert_eq!(a.stdout, want);
        let call = issued
            .get(secret)
            .unwrap_or_else(|| panic!("{host} as {profile}: a password never issued"));
        assert_eq!(
            call.access_key_id.as_deref(),
            Some(key),
            "{host} as {profile}: another identity's token"
        );
        if account == "public" {
            assert_eq!(call.target, ECR_PUBLIC_TARGET, "{host}: not a public token");
        } else {
            assert_eq!(call.target, ECR_TARGET);
            assert_eq!(
                call.registry_ids.as_deref(),
                Some(&[account.to_owned()][..]),
                "{host} as {profile}: another registry's token"
            );
            assert_eq!(call.region.as_deref(), Some(region));
        }
        assert!(
            call.expires_at.unwrap() > a.started,
            "{host} as {profile}: served a token that had expired"
        );
        assert!(a.stderr.is_empty(), "stderr: {}", a.stderr);
        served += 1;
    }

    // At most one call per (registry, identity) per refresh window.
    let bound = (span / (LIFETIME_SECS / 2.0)).floor() as usize + 1;
    let mut per_key: BTreeMap<(String, String), Vec<f64>> = BTreeMap::new();
    for c in &calls {
        assert_eq!(c.status, 200);
        let registry = match &c.registry_ids {
            Some(ids) => format!("{}/{}", ids.join(","), c.region.as_deref().unwrap_or("")),
            None => "public".into(),
        };
        per_key
            .entry((registry, c.access_key_id.clone().unwrap_or_default()))
            .or_default()
            .push(c.at);
    }
    assert_eq!(per_key.len(), 16, "{:?}", per_key.keys());
    let mut min_gap = f64::MAX;
    for (key, times) in &per_key {
        assert!(
            times.len() <= bound,
            "{key:?}: {} calls in {span:.1} s; at most {bound}",
            times.len()
        );
        for w in times.windows(2) {
            min_gap = min_gap.min(w[1] - w[0]);
        }
    }

    // The cache: 16 whole private entries, no temporary file.
    let dir = sb.cache_dir();
    #[cfg(unix)]
    assert_eq!(mode(&dir), 0o700);
    let mut entries = 0;
    for e in fs::read_dir(&dir).unwrap() {
        let path = e.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        assert!(!name.ends_with(".tmp"), "temporary file left: {name}");
        if name.ends_with(".json") {
            let json: serde_json::Value =
                serde_json::from_slice(&fs::read(&path).unwrap()).expect("entry parses");
            assert_eq!(json["version"], 1);
            assert!(issued.contains_key(json["password"].as_str().unwrap()));
            #[cfg(unix)]
            assert_eq!(mode(&path), 0o600);
            entries += 1;
        }
    }
    assert_eq!(entries, 16);

    // No secret in the trace log: keys, session tokens, passwords, tokens.
    let log = sb.log();
    assert!(!log.is_empty());
    assert!(!log.contains("panicked"));
    for (_, _, secret, session) in PROFILES {
        assert!(!log.contains(secret), "a secret key leaked into the log");
        assert!(
            !log.contains(session),
            "a session token leaked into the log"
        );
    }
    for c in &calls {
        for p in &c.passwords {
            assert!(!log.contains(p.as_str()), "a password leaked into the log");
        }
        for t in &c.tokens {
            assert!(!log.contains(t.as_str()), "a token leaked into the log");
        }
    }

    let counts: Vec<usize> = per_key.values().map(Vec::len).collect();
    eprintln!(
        "load: {PROCESSES} processes, {span:.1} s, {served} gets served ({:.0}/s), {} API calls \
         over {} (registry, identity) pairs: {counts:?} per pair (bound {bound}), \
         shortest gap between two calls of one pair {min_gap:.2} s, token lifetime {LIFETIME_SECS} s",
        served as f64 / span,
        calls.len(),
        per_key.len(),
    );
}

/// A file's Unix mode (Windows files have an access control list).
#[cfg(unix)]
fn mode(path: &std::path::Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    fs::metadata(path).unwrap().permissions().mode() & 0o777
}
