//! Black-box tests of the corporate network settings (`AWS_CA_BUNDLE`,
//! `SSL_CERT_FILE`, `HTTPS_PROXY`, `HTTP_PROXY`, `NO_PROXY`) and of the
//! no-credentials answer, through the built binary.
//!
//! Everything stays on 127.0.0.1: our fake ECR API (plain HTTP), a TLS
//! forwarder in front of it with a certificate from a per-test CA, and a
//! proxy that maps every host name it is asked for to 127.0.0.1. Host names
//! that are not loopback (`api.ecr.us-east-1.amazonaws.com`,
//! `fake-ecr.invalid`) are only ever used with the proxy, or, for the
//! `.invalid` one, where it cannot resolve.

use std::path::{Path, PathBuf};

use crate::support::fake_ecr::{ECR_TARGET, FakeEcr};
use crate::support::proxy::Proxy;
#[cfg(unix)]
use crate::support::proxy::ProxyRequest;
use crate::support::tls::{DEFAULT_NAMES, TestCa, TlsForwarder};
#[cfg(unix)]
use crate::support::{self, Need};
use crate::support::{NOT_FOUND, Run, Sandbox};

const HOST: &str = "111111111111.dkr.ecr.us-east-1.amazonaws.com";
const ACCOUNT: &str = "111111111111";
const KEY_ID: &str = "AKIAFAKECALLER333333";
const SECRET_KEY: &str = "fake-secret-access-key-for-network-tests";
/// A real AWS API host name: it reaches our server only through the proxy.
#[cfg(unix)]
const AWS_API_NAME: &str = "api.ecr.us-east-1.amazonaws.com";
/// Never resolves in DNS: reaches the fake only through the proxy.
#[cfg(unix)]
const INVALID_NAME: &str = "fake-ecr.invalid";

/// A sandbox with static credentials, a fake ECR API, a test CA (written to
/// `ca_pem`) and a TLS forwarder in front of the fake. No endpoint is set.
struct Net {
    sb: Sandbox,
    fake: FakeEcr,
    ca_pem: PathBuf,
    front: TlsForwarder,
}

fn setup() -> Net {
    let fake = FakeEcr::start();
    let mut sb = Sandbox::new();
    sb.with_credentials(KEY_ID, SECRET_KEY);
    let ca = TestCa::new("docker-credential-ecr-login network test CA");
    let ca_pem = ca.write_pem(&sb.path().join("ca.pem"));
    let front = TlsForwarder::start(&ca.server_cert(DEFAULT_NAMES), fake.addr());
    Net {
        sb,
        fake,
        ca_pem,
        front,
    }
}

impl Net {
    /// Points the ECR endpoint at the TLS forwarder, by `host`.
    fn https_endpoint(&mut self, host: &str) -> &mut Self {
        let url = self.front.url(host);
        self.sb.set("AWS_ENDPOINT_URL_ECR", &url);
        self
    }

    fn trust_bundle(&mut self) -> &mut Self {
        let ca = path_str(&self.ca_pem);
        self.sb.set("AWS_CA_BUNDLE", &ca);
        self
    }

    /// `host:port` of the TLS forwarder by `host`.
    fn front_target(&self, host: &str) -> String {
        format!("{host}:{}", self.front.port())
    }
}

fn path_str(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

/// A CA that signed nothing we serve, written to `dir/name`.
fn unrelated_ca(dir: &Path, name: &str) -> PathBuf {
    TestCa::new("unrelated test CA").write_pem(&dir.join(name))
}

/// The run got the fake's first token, from exactly one call for ACCOUNT.
fn assert_token(run: &Run, fake: &FakeEcr) {
    let creds = run.credentials();
    assert_eq!(creds["ServerURL"], HOST);
    assert_eq!(creds["Username"], "AWS");
    assert_eq!(
        creds["Secret"],
        FakeEcr::default_password(ACCOUNT, 1),
        "not the fake's token"
    );
    assert_eq!(fake.calls(), 1, "calls at the fake: {:?}", fake.call_log());
    let call = &fake.call_log()[0];
    assert_eq!(call.target, ECR_TARGET);
    assert_eq!(call.registry_ids, Some(vec![ACCOUNT.to_owned()]));
    assert_eq!(call.access_key_id.as_deref(), Some(KEY_ID));
}

// --- AWS_CA_BUNDLE and SSL_CERT_FILE ----------------------------------------

#[test]
fn ca_bundle_is_trusted() {
    let mut net = setup();
    net.https_endpoint("localhost").trust_bundle();
    let run = net.sb.get(HOST);
    assert_token(&run, &net.fake);
    assert_eq!(net.front.handshakes(), 1);
}

#[test]
fn ca_bundle_is_trusted_for_an_ip_address_endpoint() {
    let mut net = setup();
    net.https_endpoint("127.0.0.1").trust_bundle();
    let run = net.sb.get(HOST);
    assert_token(&run, &net.fake);
    assert_eq!(net.front.handshakes(), 1);
}

#[test]
fn untrusted_server_is_refused_without_ca_bundle() {
    let mut net = setup();
    net.https_endpoint("localhost");
    // System roots from a file that does not hold our CA, so nothing on this
    // machine can happen to trust it.
    let other = unrelated_ca(net.sb.path(), "unrelated.pem");
    net.sb.set("SSL_CERT_FILE", &path_str(&other));
    let run = net.sb.get(HOST);
    run.assert_not_found_cleanly();
    assert_eq!(
        net.fake.calls(),
        0,
        "a request got through: {:?}",
        net.fake.call_log()
    );
    assert_eq!(net.front.handshakes(), 0);
    // The helper did try our server: TLS is what refused it.
    assert!(
        net.front.connections() >= 1,
        "the helper never connected; log:\n{}",
        net.sb.log()
    );
    let errors = net.front.handshake_errors();
    assert!(
        errors.iter().any(|e| e.contains("UnknownCA")),
        "the client did not reject our CA: {errors:?}"
    );
}

#[test]
fn unusable_ssl_cert_file_is_not_found_without_panic() {
    // System roots that hold no certificate at all: nothing is trusted, and
    // the answer is the ordinary not-found one, not a crash.
    for (name, contents) in [
        ("empty file", Some("")),
        ("garbage", Some("hello, I am not a certificate bundle\n")),
        ("missing file", None),
    ] {
        let mut net = setup();
        net.https_endpoint("localhost");
        let roots = net.sb.path().join("roots.pem");
        if let Some(contents) = contents {
            std::fs::write(&roots, contents).unwrap();
        }
        net.sb.set("SSL_CERT_FILE", &path_str(&roots));
        let run = net.sb.get(HOST);
        assert_eq!(
            run.code(),
            Some(1),
            "{name}: exit code (a panic is 101, an abort 134); stderr={:?}",
            run.stderr()
        );
        assert_eq!(run.stdout(), format!("{NOT_FOUND}\n"), "{name}");
        assert_eq!(net.fake.calls(), 0, "{name}: a request got through");
        assert_eq!(net.front.handshakes(), 0, "{name}: a TLS session was made");
    }
}

#[test]
fn ca_bundle_replaces_the_system_roots() {
    let mut net = setup();
    net.https_endpoint("localhost");
    // SSL_CERT_FILE (the system roots) trusts our server, the bundle does
    // not: the bundle alone counts.
    let other = unrelated_ca(net.sb.path(), "unrelated.pem");
    let ca = path_str(&net.ca_pem);
    net.sb
        .set("SSL_CERT_FILE", &ca)
        .set("AWS_CA_BUNDLE", &path_str(&other));
    let run = net.sb.get(HOST);
    run.assert_not_found_cleanly();
    assert_eq!(net.fake.calls(), 0);
    assert_eq!(net.front.handshakes(), 0);
    assert!(net.front.connections() >= 1, "log:\n{}", net.sb.log());
}

#[test]
fn ssl_cert_file_is_honoured_without_ca_bundle() {
    let mut net = setup();
    net.https_endpoint("localhost");
    let ca = path_str(&net.ca_pem);
    net.sb.set("SSL_CERT_FILE", &ca);
    let run = net.sb.get(HOST);
    assert_token(&run, &net.fake);
    assert_eq!(net.front.handshakes(), 1);
}

#[test]
fn bad_ca_bundle_is_refused_without_panic() {
    const BAD_BASE64: &str =
        "-----BEGIN CERTIFICATE-----\n!!!! this is not base64 !!!!\n-----END CERTIFICATE-----\n";
    // Decodes, but is no certificate.
    const NOT_A_CERTIFICATE: &str =
        "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
    let variants = [
        "missing file",
        "empty file",
        "garbage",
        "PEM block with bad base64",
        "PEM block that is no certificate",
        // Our CA, then a broken block: refused as a whole, not half-used.
        "good certificate then bad base64",
    ];
    for name in variants {
        let mut net = setup();
        net.https_endpoint("localhost");
        let good = std::fs::read_to_string(&net.ca_pem).unwrap();
        let contents = match name {
            "missing file" => None,
            "empty file" => Some(String::new()),
            "garbage" => Some("hello, I am not a certificate bundle\n".to_owned()),
            "PEM block with bad base64" => Some(BAD_BASE64.to_owned()),
            "PEM block that is no certificate" => Some(NOT_A_CERTIFICATE.to_owned()),
            "good certificate then bad base64" => Some(format!("{good}{BAD_BASE64}")),
            _ => unreachable!("{name}"),
        };
        let bundle = net.sb.path().join("bundle.pem");
        if let Some(contents) = contents {
            std::fs::write(&bundle, contents).unwrap();
        }
        // The system roots trust our server: falling back to them instead of
        // refusing the bad bundle would succeed, and fail this test.
        let ca = path_str(&net.ca_pem);
        net.sb
            .set("SSL_CERT_FILE", &ca)
            .set("AWS_CA_BUNDLE", &path_str(&bundle));
        let run = net.sb.get(HOST);
        assert_eq!(
            run.code(),
            Some(1),
            "{name}: exit code (a panic is 101, an abort 134); stderr={:?}",
            run.stderr()
        );
        assert_eq!(run.stdout(), format!("{NOT_FOUND}\n"), "{name}");
        assert!(
            !run.stderr().contains("panicked"),
            "{name}: {}",
            run.stderr()
        );
        assert_eq!(net.fake.calls(), 0, "{name}: a request got through");
        assert_eq!(net.front.handshakes(), 0, "{name}: a TLS session was made");
        let log = net.sb.log();
        assert!(
            log.contains("AWS_CA_BUNDLE"),
            "{name}: the log does not name AWS_CA_BUNDLE:\n{log}"
        );
        assert!(
            log.contains(&path_str(&bundle)),
            "{name}: the log does not name the bundle's path:\n{log}"
        );
    }
}

// --- proxies ----------------------------------------------------------------

#[cfg(unix)] // Need::Root: Windows has no root
#[test]
#[cfg_attr(
    not(target_os = "linux"),
    ignore = "needs Linux: a private /etc/hosts (unshare --mount)"
)]
fn https_proxy_is_used_for_an_https_endpoint() {
    if !support::require(Need::Root) {
        return;
    }
    let mut net = setup();
    let proxy = Proxy::start();
    // A real AWS name, resolved only by a private /etc/hosts: even a helper
    // that ignored the proxy could not reach beyond loopback. The proxy's
    // record is what shows it was used.
    net.https_endpoint(AWS_API_NAME).trust_bundle();
    net.sb
        .set("HTTPS_PROXY", &proxy.url())
        .set("AWS_ECR_TIMEOUT", "3")
        .resolve_locally(&[AWS_API_NAME]);
    let run = net.sb.get(HOST);
    assert_token(&run, &net.fake);
    assert_eq!(
        proxy.requests(),
        vec![ProxyRequest {
            method: "CONNECT".into(),
            target: net.front_target(AWS_API_NAME),
            uri: net.front_target(AWS_API_NAME),
        }]
    );
    assert_eq!(net.front.handshakes(), 1);
}

#[test]
fn https_proxy_is_used_for_localhost_without_no_proxy() {
    let mut net = setup();
    let proxy = Proxy::start();
    net.https_endpoint("localhost").trust_bundle();
    net.sb.set("HTTPS_PROXY", &proxy.url());
    let run = net.sb.get(HOST);
    assert_token(&run, &net.fake);
    assert_eq!(proxy.connects(), vec![net.front_target("localhost")]);
    assert_eq!(proxy.requests().len(), 1, "{:?}", proxy.requests());
}

#[test]
fn no_proxy_bypasses_the_proxy() {
    let mut net = setup();
    let proxy = Proxy::start();
    net.https_endpoint("localhost").trust_bundle();
    net.sb
        .set("HTTPS_PROXY", &proxy.url())
        .set("NO_PROXY", "localhost");
    let run = net.sb.get(HOST);
    assert_token(&run, &net.fake);
    assert_eq!(proxy.requests(), vec![], "the proxy was used");
    assert_eq!(net.front.handshakes(), 1);
}

#[test]
fn lowercase_proxy_variables_are_honoured() {
    // https_proxy alone: used.
    let mut net = setup();
    let proxy = Proxy::start();
    net.https_endpoint("localhost").trust_bundle();
    net.sb.set("https_proxy", &proxy.url());
    assert_token(&net.sb.get(HOST), &net.fake);
    assert_eq!(proxy.connects(), vec![net.front_target("localhost")]);

    // With no_proxy naming the endpoint's host: bypassed.
    let mut net = setup();
    let proxy = Proxy::start();
    net.https_endpoint("localhost").trust_bundle();
    net.sb
        .set("https_proxy", &proxy.url())
        .set("no_proxy", "localhost");
    assert_token(&net.sb.get(HOST), &net.fake);
    assert_eq!(proxy.requests(), vec![], "the proxy was used");
}

#[cfg(unix)] // Need::Root: Windows has no root
#[test]
#[cfg_attr(
    not(target_os = "linux"),
    ignore = "needs Linux: a private /etc/hosts (unshare --mount)"
)]
fn http_proxy_is_used_for_an_http_endpoint() {
    if !support::require(Need::Root) {
        return;
    }
    let fake = FakeEcr::start();
    let proxy = Proxy::start();
    let mut sb = Sandbox::new();
    sb.with_credentials(KEY_ID, SECRET_KEY);
    let target = format!("{INVALID_NAME}:{}", fake.addr().port());
    sb.set("AWS_ENDPOINT_URL_ECR", &format!("http://{target}"))
        .set("HTTP_PROXY", &proxy.url())
        .set("AWS_ECR_TIMEOUT", "3")
        .resolve_locally(&[INVALID_NAME]);
    let run = sb.get(HOST);
    assert_token(&run, &fake);
    let requests = proxy.requests();
    assert_eq!(requests.len(), 1, "{requests:?}");
    assert_eq!(requests[0].method, "POST");
    assert_eq!(requests[0].target, target);
    assert!(
        requests[0].uri.starts_with(&format!("http://{target}/")),
        "not an absolute-form request: {requests:?}"
    );
}

#[test]
fn proxy_variables_are_scheme_specific() {
    // HTTP_PROXY alone does not apply to an https endpoint.
    let mut net = setup();
    let proxy = Proxy::start();
    net.https_endpoint("127.0.0.1").trust_bundle();
    net.sb.set("HTTP_PROXY", &proxy.url());
    assert_token(&net.sb.get(HOST), &net.fake);
    assert_eq!(proxy.requests(), vec![], "HTTP_PROXY used for https");
    assert_eq!(net.front.handshakes(), 1);

    // HTTPS_PROXY alone does not apply to a plain http endpoint.
    let fake = FakeEcr::start();
    let proxy = Proxy::start();
    let mut sb = Sandbox::new();
    sb.with_credentials(KEY_ID, SECRET_KEY);
    fake.attach(&mut sb);
    sb.set("HTTPS_PROXY", &proxy.url());
    assert_token(&sb.get(HOST), &fake);
    assert_eq!(proxy.requests(), vec![], "HTTPS_PROXY used for http");
}

// --- credentials -------------------------------------------------------------

#[test]
fn no_credentials_anywhere_is_not_found() {
    let fake = FakeEcr::start();
    let mut sb = Sandbox::new();
    fake.attach(&mut sb);
    for var in ["AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"] {
        let path = PathBuf::from(sb.var(var).expect("set by Sandbox"));
        assert!(!path.exists(), "{var} must point at a missing file");
    }
    assert_eq!(sb.var("AWS_EC2_METADATA_DISABLED").as_deref(), Some("true"));
    assert!(sb.var("AWS_ACCESS_KEY_ID").is_none());
    let run = sb.get(HOST);
    run.assert_not_found_cleanly();
    assert_eq!(
        fake.calls(),
        0,
        "a request got through: {:?}",
        fake.call_log()
    );
    let log = sb.log();
    assert!(
        log.contains("no AWS credentials"),
        "the log does not say no credentials were found:\n{log}"
    );
}
