//! Black-box tests of the early connection (src/early.rs): on a miss, the
//! TLS handshake with the default API endpoint starts while the SDK sets
//! up, and the first request goes over it.
//!
//! The default endpoint, `api.ecr.us-east-1.amazonaws.com`, resolves in the
//! helper's private /etc/hosts to a loopback address of each test's own,
//! where a TLS forwarder listens on port 443 in front of the fake ECR API.
//! Nothing leaves the machine. Needs root (port 443, `unshare --mount`).

mod support;

use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use support::fake_ecr::{ECR_TARGET, FakeEcr, Fault};
use support::tls::{DEFAULT_NAMES, TestCa, TlsForwarder};
use support::{Run, Sandbox};

const HOST: &str = "111111111111.dkr.ecr.us-east-1.amazonaws.com";
const ACCOUNT: &str = "111111111111";
const API: &str = "api.ecr.us-east-1.amazonaws.com";
const KEY_ID: &str = "AKIAFAKECALLEREARLY1";
const SECRET_KEY: &str = "fake-secret-access-key-for-early-tests";
const EARLY_USED: &str = "request over the early connection to api.ecr.us-east-1.amazonaws.com";

/// A loopback address per test, so that tests run in parallel each have
/// their own port 443.
fn address(test: u8) -> Ipv4Addr {
    Ipv4Addr::new(127, 0, 80, test)
}

struct T {
    sb: Sandbox,
    fake: FakeEcr,
    front: TlsForwarder,
}

/// The default endpoint of us-east-1 served by the fake on `address(test)`,
/// and its CA trusted through `AWS_CA_BUNDLE`. No endpoint override.
fn setup(test: u8) -> T {
    let fake = FakeEcr::start();
    let mut sb = Sandbox::new();
    sb.with_credentials(KEY_ID, SECRET_KEY)
        .resolve_locally_to(address(test), &[API]);
    let ca = TestCa::new("docker-credential-ecr-login early connection test CA");
    let ca_pem = ca.write_pem(&sb.path().join("ca.pem"));
    sb.set("AWS_CA_BUNDLE", &ca_pem.to_string_lossy());
    let front = TlsForwarder::start_on(
        &ca.server_cert(DEFAULT_NAMES),
        fake.addr(),
        SocketAddr::from((address(test), 443)),
    );
    T { sb, fake, front }
}

fn assert_token(run: &Run, t: &T, n: usize) {
    let creds = run.credentials();
    assert_eq!(creds["ServerURL"], HOST, "{}", t.sb.log());
    assert_eq!(creds["Secret"], FakeEcr::default_password(ACCOUNT, n));
    let call = t.fake.call_log().pop().expect("a call");
    assert_eq!(call.target, ECR_TARGET);
    assert_eq!(call.registry_ids, Some(vec![ACCOUNT.to_owned()]));
    assert_eq!(call.access_key_id.as_deref(), Some(KEY_ID));
}

#[test]
fn the_first_request_goes_over_the_early_connection() {
    let t = setup(1);
    let run = t.sb.get(HOST);
    assert_token(&run, &t, 1);
    assert_eq!(t.fake.calls(), 1);
    // One connection in all: the request did not open a second one.
    assert_eq!(t.front.connections(), 1);
    assert_eq!(t.front.handshakes(), 1);
    assert!(t.sb.log().contains(EARLY_USED), "{}", t.sb.log());
    // A hit opens no connection.
    assert_token(&t.sb.get(HOST), &t, 1);
    assert_eq!(t.front.connections(), 1);
}

/// A retryable failure on the early connection is retried through the
/// SDK's own connector, on a new connection.
#[test]
fn a_retry_goes_through_the_sdk_connector() {
    let t = setup(2);
    t.fake.queue_fault(Fault::ServerError);
    let run = t.sb.get(HOST);
    assert_token(&run, &t, 2);
    assert_eq!(t.fake.calls(), 2);
    assert_eq!(t.front.connections(), 2);
    assert!(t.sb.log().contains(EARLY_USED), "{}", t.sb.log());
}

/// A cut answer on the early connection is a transient failure, as on the
/// SDK's: retried, and the next answer served.
#[test]
fn an_answer_cut_on_the_early_connection_is_retried() {
    // A dropped forwarder may hold its port until the process ends: each
    // case has an address of its own.
    for (test, fault) in [(3, Fault::ResetMidBody), (20, Fault::EofMidBody)] {
        let t = setup(test);
        t.fake.queue_fault(fault);
        assert_token(&t.sb.get(HOST), &t, 2);
        assert_eq!(t.fake.calls(), 2, "{fault:?}");
        assert!(t.sb.log().contains(EARLY_USED), "{fault:?}");
    }
}

/// The early connection checks the server as the SDK does: a CA that did
/// not sign it is refused, nothing is sent, nothing cached.
#[test]
fn an_untrusted_server_is_refused_on_the_early_connection() {
    let mut t = setup(4);
    let other = TestCa::new("unrelated test CA").write_pem(&t.sb.path().join("other.pem"));
    t.sb.set("AWS_CA_BUNDLE", &other.to_string_lossy());
    let run = t.sb.get(HOST);
    run.assert_not_found_cleanly();
    assert_eq!(t.fake.calls(), 0, "a request went to an untrusted server");
    assert_eq!(t.front.handshakes(), 0, "{:?}", t.front.handshake_errors());
    let log = t.sb.log();
    assert!(
        log.contains("certificate") || log.contains("UnknownIssuer"),
        "{log}"
    );
    assert!(log.contains(EARLY_USED), "{log}");
    assert_eq!(cached_entries(&t.sb), 0);
}

fn cached_entries(sb: &Sandbox) -> usize {
    std::fs::read_dir(sb.cache_dir()).map_or(0, |d| {
        d.filter_map(Result::ok)
            .filter(|e| e.file_name().to_string_lossy().ends_with(".json"))
            .count()
    })
}

/// Nothing listens at the endpoint: the refusal is reported as the SDK
/// reports its own, after its retries.
#[test]
fn a_refused_early_connection_is_not_found() {
    let mut sb = Sandbox::new();
    sb.with_credentials(KEY_ID, SECRET_KEY)
        .resolve_locally_to(address(5), &[API]);
    let run = sb.get(HOST);
    run.assert_not_found_cleanly();
    let log = sb.log();
    assert!(log.to_lowercase().contains("refused"), "{log}");
    assert!(log.contains(EARLY_USED), "{log}");
}

/// Counts the connections made to an address, answering none.
struct Listener {
    accepted: Arc<AtomicUsize>,
}

impl Listener {
    fn on(at: SocketAddr) -> Listener {
        let listener = TcpListener::bind(at).unwrap_or_else(|e| panic!("bind {at}: {e}"));
        let accepted = Arc::new(AtomicUsize::new(0));
        let count = accepted.clone();
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                count.fetch_add(1, Ordering::SeqCst);
                drop(conn);
            }
        });
        Listener { accepted }
    }

    fn connections(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }
}

/// Where the SDK would send the request elsewhere (an endpoint override in
/// the environment or the config file, a proxy), no early connection is
/// made to the default endpoint.
#[test]
fn no_early_connection_where_the_request_goes_elsewhere() {
    type Arrange = fn(&mut Sandbox, &str);
    let cases: [(&str, Arrange); 4] = [
        ("AWS_ENDPOINT_URL_ECR", |sb, url| {
            sb.set("AWS_ENDPOINT_URL_ECR", url);
        }),
        ("AWS_ENDPOINT_URL", |sb, url| {
            sb.set("AWS_ENDPOINT_URL", url);
        }),
        ("endpoint_url in the config file", |sb, url| {
            let config = sb.var("AWS_CONFIG_FILE").unwrap();
            std::fs::write(config, format!("[default]\nendpoint_url = {url}\n")).unwrap();
        }),
        ("a proxy", |sb, _| {
            // A proxy that refuses: the point is only that the default
            // endpoint sees nothing.
            sb.set("HTTPS_PROXY", "http://127.0.0.1:9");
        }),
    ];
    for (i, (what, arrange)) in cases.into_iter().enumerate() {
        let ip = address(10 + i as u8);
        let default_endpoint = Listener::on(SocketAddr::from((ip, 443)));
        let fake = FakeEcr::start();
        let mut sb = Sandbox::new();
        sb.with_credentials(KEY_ID, SECRET_KEY)
            .resolve_locally_to(ip, &[API]);
        arrange(&mut sb, &fake.url());
        let run = sb.get(HOST);
        if what != "a proxy" {
            assert_eq!(run.credentials()["ServerURL"], HOST, "{what}: {}", sb.log());
            assert_eq!(fake.calls(), 1, "{what}");
        }
        assert_eq!(default_endpoint.connections(), 0, "{what}: {}", sb.log());
        assert!(!sb.log().contains(EARLY_USED), "{what}");
    }
}

/// Credentials that cannot be found end the get before any request: the
/// early connection is dropped and the answer is not held up by it.
#[test]
fn an_unused_early_connection_does_not_hold_the_answer() {
    let mut t = setup(6);
    t.sb.unset("AWS_ACCESS_KEY_ID")
        .unset("AWS_SECRET_ACCESS_KEY");
    let run = t.sb.get(HOST);
    run.assert_not_found_cleanly();
    assert_eq!(t.fake.calls(), 0);
}

/// The request sent over the early connection is the one the SDK signed:
/// moto, checking SigV4 (the Host header included), accepts it and refuses
/// a wrong secret.
#[test]
fn moto_accepts_the_signature_of_a_request_sent_early() {
    use support::moto::{Moto, moto_password};
    let moto = Moto::start();
    moto.enable_auth();
    let user = moto.create_ecr_user("early-puller");
    let ca = TestCa::new("docker-credential-ecr-login early moto test CA");
    let moto_addr = SocketAddr::from((Ipv4Addr::LOCALHOST, moto.port()));
    let _front = TlsForwarder::start_on(
        &ca.server_cert(DEFAULT_NAMES),
        moto_addr,
        SocketAddr::from((address(7), 443)),
    );
    let mut sb = Sandbox::new();
    sb.resolve_locally_to(address(7), &[API]);
    let ca_pem = ca.write_pem(&sb.path().join("ca.pem"));
    sb.set("AWS_CA_BUNDLE", &ca_pem.to_string_lossy());

    sb.with_credentials(&user.id, &format!("{}-WRONG", user.secret));
    sb.get(HOST).assert_not_found_cleanly();
    assert!(sb.log().contains(EARLY_USED), "{}", sb.log());

    sb.with_credentials(&user.id, &user.secret);
    let run = sb.get(HOST);
    assert_eq!(
        run.credentials()["Secret"],
        moto_password(ACCOUNT),
        "{}\n{}",
        sb.log(),
        moto.stderr()
    );
    assert_eq!(sb.log().matches(EARLY_USED).count(), 2, "{}", sb.log());
}

/// With logs on stderr, the early thread's log lines are not held back by
/// the main thread: the failed early connection is logged as it happens,
/// before the main thread gives up, and the answer does not wait for it
/// (a thread stuck on stderr would leave the request waiting out its bound).
#[test]
fn logging_to_stderr_does_not_hold_the_early_connection() {
    let mut sb = Sandbox::new();
    sb.with_credentials(KEY_ID, SECRET_KEY)
        .resolve_locally_to(address(21), &[API])
        .unset("AWS_ECR_LOG_FILE")
        .set("AWS_ECR_LOG", "debug");
    let run = sb.get(HOST);
    run.assert_not_found();
    let stderr = run.stderr();
    let early = stderr
        .find("early connection: connecting to api.ecr.us-east-1.amazonaws.com")
        .unwrap_or_else(|| panic!("the early thread's failure was not logged: {stderr}"));
    let gave_up = stderr
        .find("GetAuthorizationToken failed")
        .unwrap_or_else(|| panic!("no final failure logged: {stderr}"));
    assert!(
        early < gave_up,
        "the early thread's line came only after the main thread gave up: {stderr}"
    );
}

/// On a miss the early connection's thread starts before the cache lock is
/// taken, but touches the network only once the fetch is decided. Here
/// another process holds the lock and refreshes the entry meanwhile: the
/// waiting get answers with that token and connects nowhere.
#[test]
fn a_get_that_finds_the_entry_refreshed_under_the_lock_connects_nowhere() {
    use std::io::Write;
    use std::process::Stdio;
    let t = setup(22);
    assert_token(&t.sb.get(HOST), &t, 1);
    assert_eq!(t.front.connections(), 1);
    let entry_path = std::fs::read_dir(t.sb.cache_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|x| x == "json"))
        .expect("the cache entry");
    let lock_path = entry_path.with_extension("lock");
    let mut entry: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&entry_path).unwrap()).unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    // Expired: the next get misses.
    entry["fetched_at"] = (now - 13 * 3600).into();
    entry["expires_at"] = (now - 3600).into();
    std::fs::write(&entry_path, entry.to_string()).unwrap();

    // Another process is refreshing: it holds the entry's lock.
    let lock = std::fs::File::options()
        .read(true)
        .write(true)
        .open(&lock_path)
        .unwrap();
    lock.lock().unwrap();
    let mut cmd = t.sb.command(&["get"]);
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(HOST.as_bytes())
        .unwrap();
    // Long enough for the waiting get to have readied its early thread.
    std::thread::sleep(std::time::Duration::from_millis(400));
    entry["fetched_at"] = now.into();
    entry["expires_at"] = (now + 12 * 3600).into();
    entry["password"] = "refreshed-by-the-other-process".into();
    let tmp = entry_path.with_extension("other-writer");
    std::fs::write(&tmp, entry.to_string()).unwrap();
    std::fs::rename(&tmp, &entry_path).unwrap();
    lock.unlock().unwrap();

    let run = Run(child.wait_with_output().unwrap());
    assert_eq!(
        run.secret(),
        "refreshed-by-the-other-process",
        "{}",
        t.sb.log()
    );
    assert_eq!(t.front.connections(), 1, "{}", t.sb.log());
    assert_eq!(t.fake.calls(), 1);
}
