//! The early connection: on a cache miss, the TCP and TLS handshakes with
//! the registry's API endpoint run on a thread of their own while the SDK
//! loads its configuration, resolves credentials and signs, so that the
//! request leaves as soon as it is signed instead of waiting two more round
//! trips and the server's signature.
//!
//! Only the first request to that endpoint uses it: retries, other hosts
//! (STS), and every case the SDK routes differently (a proxy, an endpoint
//! override, dual-stack) go through the SDK's own connector, so behaviour
//! never depends on the early connection existing. The decisions are pure
//! functions; the thread and the HTTP exchange are IO at the edge.

use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper_util::rt::TokioIo;
use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use rustls_pki_types::{CertificateDer, ServerName, UnixTime};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

use crate::registry::{Partition, Registry};

/// An answer larger than this is refused: API answers are a few KB.
const MAX_BODY: usize = 16 << 20;
/// The API endpoints' port; anything else is left to the SDK.
const HTTPS_PORT: u16 = 443;

/// Environment variables under which the SDK would not send the request
/// straight to the default endpoint: the early connection would be wasted,
/// or would go where the user routed traffic away from.
const ROUTING_VARIABLES: [&str; 11] = [
    "HTTPS_PROXY",
    "https_proxy",
    "HTTP_PROXY",
    "http_proxy",
    "ALL_PROXY",
    "all_proxy",
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_ECR",
    "AWS_ENDPOINT_URL_ECR_PUBLIC",
    "AWS_USE_DUALSTACK_ENDPOINT",
    "AWS_USE_FIPS_ENDPOINT",
];

/// Words of the shared config file that can move the endpoint: a profile's
/// `endpoint_url`, a `services` section, dual-stack or FIPS settings.
const ROUTING_CONFIG_WORDS: [&str; 4] = [
    "endpoint_url",
    "services",
    "use_dualstack_endpoint",
    "use_fips_endpoint",
];

/// Whether the environment leaves the API request to the default endpoint,
/// direct: no proxy, no endpoint override, no dual-stack or FIPS switch.
pub fn environment_allows(var: impl Fn(&str) -> Option<String>) -> bool {
    ROUTING_VARIABLES
        .iter()
        .all(|k| var(k).is_none_or(|v| v.trim().is_empty()))
}

/// Whether the shared config file's text may move the endpoint (any
/// profile: which one applies is the SDK's business, so any mention counts).
pub fn config_may_route(text: &str) -> bool {
    text.lines()
        .map(|l| l.trim_start().trim_start_matches('['))
        .any(|l| ROUTING_CONFIG_WORDS.iter().any(|w| l.starts_with(w)))
}

/// The registry's API endpoint host as the SDK's endpoint rules give it
/// with no override (`api.ecr[-fips].<region>.<partition's DNS suffix>`),
/// without loading the SDK's partition table, which is 0.1 ms of parsing
/// better spent after the connection has started. The table test in
/// aws.rs holds it to the SDK's own rules for every host form; were they
/// ever to differ, the request would simply not match and go through the
/// SDK's connector.
pub fn api_host(registry: &Registry) -> String {
    match registry {
        Registry::Private(p) => {
            let suffix = match p.partition {
                Partition::Aws | Partition::AwsUsGov => "amazonaws.com",
                Partition::AwsCn => "amazonaws.com.cn",
                Partition::AwsIso => "c2s.ic.gov",
                Partition::AwsIsoB => "sc2s.sgov.gov",
                Partition::AwsIsoE => "cloud.adc-e.uk",
                Partition::AwsIsoF => "csp.hci.ic.gov",
                Partition::AwsEusc => "amazonaws.eu",
            };
            let fips = if p.fips { "-fips" } else { "" };
            format!("api.ecr{fips}.{}.{suffix}", p.region)
        }
        Registry::Public { .. } => {
            format!("api.ecr-public.{}.amazonaws.com", registry.api_region())
        }
    }
}

/// The host of an endpoint URL the early connection can serve: `https`,
/// port 443, no path. The tests hold `api_host` to the SDK's rules with it.
#[cfg(test)]
pub(crate) fn endpoint_host(url: &str) -> Option<String> {
    let uri: http::Uri = url.parse().ok()?;
    let port_ok = uri.port_u16().is_none_or(|p| p == HTTPS_PORT);
    let path_ok = matches!(uri.path(), "" | "/") && uri.query().is_none();
    (uri.scheme_str() == Some("https") && port_ok && path_ok)
        .then(|| uri.host().map(str::to_owned))
        .flatten()
}

/// Failures of the early exchange, mapped to the SDK's connector errors so
/// that retries treat them as they treat the SDK's own.
#[derive(Debug, thiserror::Error)]
pub enum EarlyError {
    #[error("connecting to {host}: {source}")]
    Connect {
        host: String,
        source: std::io::Error,
    },
    #[error("connecting to {0}: timed out")]
    ConnectTimeout(String),
    #[error("no answer within {0:?}")]
    ReadTimeout(Duration),
    #[error("HTTP exchange: {0}")]
    Http(#[from] hyper::Error),
    #[error("answer body: {0}")]
    Body(String),
    #[error("the early connection's thread ended")]
    Gone,
}

impl EarlyError {
    /// As the SDK's connector classifies the same failures: connect and
    /// I/O failures are retryable I/O errors, timeouts are timeouts.
    pub fn into_connector_error(self) -> aws_smithy_runtime_api::client::result::ConnectorError {
        use aws_smithy_runtime_api::client::result::ConnectorError;
        use aws_smithy_types::retry::ErrorKind;
        match self {
            e @ (EarlyError::ConnectTimeout(_) | EarlyError::ReadTimeout(_)) => {
                ConnectorError::timeout(e.into())
            }
            EarlyError::Http(h) if h.is_incomplete_message() => {
                ConnectorError::other(h.into(), Some(ErrorKind::TransientError))
            }
            EarlyError::Http(h) if !(h.is_closed() || h.is_canceled() || io_cause(&h)) => {
                ConnectorError::other(h.into(), None)
            }
            e => ConnectorError::io(e.into()),
        }
    }
}

fn io_cause(err: &hyper::Error) -> bool {
    let mut next = std::error::Error::source(err);
    while let Some(e) = next {
        if e.is::<std::io::Error>() {
            return true;
        }
        next = e.source();
    }
    false
}

/// What the early connection's thread is told, in order.
enum Msg {
    /// Connect and shake hands, within `deadline`, on `runtime` (built by
    /// the sender, which has time to spare: this thread has none). Until
    /// then the thread only resolves the name: a fetch may still turn out
    /// unneeded.
    Go {
        tls: Arc<ClientConfig>,
        deadline: Instant,
        runtime: tokio::runtime::Runtime,
    },
    /// The one request to send.
    Job(Box<Job>),
}

/// A request for the early connection, and where its answer goes.
struct Job {
    request: http::Request<Full<Bytes>>,
    read_timeout: Option<Duration>,
    reply: tokio::sync::oneshot::Sender<Result<http::Response<Bytes>, EarlyError>>,
}

/// An early connection to `host`:443: its thread ready (`start`), then
/// opening or open (`go`). Dropping it ends its thread and closes the
/// connection, if any.
#[derive(Debug)]
pub struct Early {
    host: String,
    jobs: mpsc::Sender<Msg>,
    connect_timeout: Duration,
    /// The connect bound, counted from `go` as the SDK counts its own from
    /// its connect; `None` before `go`.
    connect_deadline: Option<Instant>,
}

impl Early {
    /// Starts the connection's thread, which resolves the host and waits
    /// for `go`: starting a thread takes longer than deciding whether to
    /// fetch, so it is started before that decision. `None` when the thread cannot
    /// be started: the SDK's connector then does it all. `warm` is work for
    /// the calling thread's later use that the early thread does while it
    /// waits for the server's first answer.
    pub fn start(host: String, connect_timeout: Duration, warm: fn()) -> Option<Early> {
        let (jobs, inbox) = mpsc::channel();
        let thread_host = host.clone();
        std::thread::Builder::new()
            .name("early-connect".into())
            .spawn(move || run(&thread_host, inbox, warm))
            .ok()?;
        Some(Early {
            host,
            jobs,
            connect_timeout,
            connect_deadline: None,
        })
    }

    /// Lets the thread connect and shake hands with `tls` on `runtime` (a
    /// current-thread runtime with IO and time enabled).
    pub fn go(&mut self, tls: Arc<ClientConfig>, runtime: tokio::runtime::Runtime) {
        let deadline = Instant::now() + self.connect_timeout;
        self.connect_deadline = Some(deadline);
        // A thread already gone is found out by `send`.
        let _ = self.jobs.send(Msg::Go {
            tls,
            deadline,
            runtime,
        });
    }

    pub fn host(&self) -> &str {
        &self.host
    }

    /// The request as the early connection would send it, when it is one
    /// for this endpoint with its whole body in memory, and the connection
    /// has been let go.
    pub fn accepts(&self, request: &HttpRequest) -> Option<http::Request<Full<Bytes>>> {
        self.connect_deadline?;
        let uri: http::Uri = request.uri().parse().ok()?;
        let same_endpoint = uri.scheme_str() == Some("https")
            && uri.host() == Some(self.host.as_str())
            && uri.port_u16().is_none_or(|p| p == HTTPS_PORT);
        if !same_endpoint {
            return None;
        }
        let body = request.body().bytes()?;
        let mut out = http::Request::builder()
            .method(request.method())
            .uri(uri.path_and_query()?.as_str());
        // hyper's connection API, unlike its pooled client, adds no Host.
        if request.headers().get("host").is_none() {
            out = out.header(http::header::HOST, self.host.as_str());
        }
        for (name, value) in request.headers() {
            out = out.header(name, value);
        }
        out.body(Full::new(Bytes::copy_from_slice(body))).ok()
    }

    /// Sends `request` over the early connection and waits for the whole
    /// answer, within the connect bound left plus the read bound.
    pub async fn send(
        self,
        request: http::Request<Full<Bytes>>,
        read_timeout: Option<Duration>,
    ) -> Result<http::Response<Bytes>, EarlyError> {
        let (reply, answer) = tokio::sync::oneshot::channel();
        let job = Job {
            request,
            read_timeout,
            reply,
        };
        self.jobs
            .send(Msg::Job(Box::new(job)))
            .map_err(|_| EarlyError::Gone)?;
        // The thread bounds each phase itself; this bounds a resolver that
        // never returns, which no timer in the thread can interrupt.
        let left = self
            .connect_deadline
            .unwrap_or_else(Instant::now)
            .saturating_duration_since(Instant::now());
        let bound = left + read_timeout.unwrap_or(Duration::from_secs(60));
        match tokio::time::timeout(bound, answer).await {
            Ok(Ok(result)) => result,
            Ok(Err(_)) => Err(EarlyError::Gone),
            Err(_) => Err(EarlyError::ConnectTimeout(self.host)),
        }
    }
}

/// The thread: resolve the host, wait for `go`, then connect and shake
/// hands, wait for the one request and carry it out. It ends when the
/// `Early` is dropped, whatever it was waiting for.
///
/// The name is resolved before `go`, while the other thread takes the
/// cache lock: a lookup is not a connection, and is wasted only when
/// another process refreshed the entry meanwhile.
fn run(host: &str, inbox: mpsc::Receiver<Msg>, warm: fn()) {
    // getaddrinfo blocks this thread only; the waiting side bounds it.
    let resolved = (host, HTTPS_PORT).to_socket_addrs();
    let Ok(Msg::Go {
        tls,
        deadline,
        runtime,
    }) = inbox.recv()
    else {
        return;
    };
    let connected = match resolved {
        Ok(addrs) => {
            let addrs: Vec<SocketAddr> = addrs.collect();
            let left = deadline.saturating_duration_since(Instant::now());
            runtime.block_on(async {
                tokio::time::timeout(left, connect(host, &addrs, tls, warm))
                    .await
                    .unwrap_or_else(|_| Err(EarlyError::ConnectTimeout(host.to_owned())))
            })
        }
        Err(source) => Err(EarlyError::Connect {
            host: host.to_owned(),
            source,
        }),
    };
    if let Err(e) = &connected {
        tracing::debug!("early connection: {e}");
    }
    let Ok(Msg::Job(job)) = inbox.recv() else {
        return;
    };
    let result = match connected {
        Ok(stream) => runtime.block_on(exchange(stream, job.request, job.read_timeout)),
        Err(e) => Err(e),
    };
    let _ = job.reply.send(result);
    runtime.shutdown_background();
}

/// Connects to the first address that answers and shakes hands. `warm`
/// runs once the ClientHello is out, while the server works on its answer.
async fn connect(
    host: &str,
    addrs: &[SocketAddr],
    tls: Arc<ClientConfig>,
    warm: fn(),
) -> Result<TlsStream<TcpStream>, EarlyError> {
    let fail = |source| EarlyError::Connect {
        host: host.to_owned(),
        source,
    };
    let name = ServerName::try_from(host.to_owned())
        .map_err(|e| fail(std::io::Error::new(std::io::ErrorKind::InvalidInput, e)))?;
    let mut last = std::io::Error::new(std::io::ErrorKind::NotFound, "no address");
    for addr in addrs {
        match TcpStream::connect(addr).await {
            Ok(tcp) => {
                tcp.set_nodelay(true).map_err(fail)?;
                let mut handshake = std::pin::pin!(TlsConnector::from(tls).connect(name, tcp));
                // The first poll writes the ClientHello and waits for the
                // server, unless it already failed.
                let first =
                    std::future::poll_fn(|cx| std::task::Poll::Ready(handshake.as_mut().poll(cx)))
                        .await;
                if let std::task::Poll::Ready(done) = first {
                    return done.map_err(fail);
                }
                warm();
                return handshake.await.map_err(fail);
            }
            Err(e) => last = e,
        }
    }
    Err(fail(last))
}

async fn exchange(
    stream: TlsStream<TcpStream>,
    request: http::Request<Full<Bytes>>,
    read_timeout: Option<Duration>,
) -> Result<http::Response<Bytes>, EarlyError> {
    let round_trip = async {
        let (mut sender, connection) =
            hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
        tokio::spawn(connection);
        let response = sender.send_request(request).await?;
        let (parts, body) = response.into_parts();
        let body = Limited::new(body, MAX_BODY)
            .collect()
            .await
            .map_err(|e| match e.downcast::<hyper::Error>() {
                Ok(h) => EarlyError::Http(*h),
                Err(other) => EarlyError::Body(other.to_string()),
            })?
            .to_bytes();
        Ok(http::Response::from_parts(parts, body))
    };
    match read_timeout {
        Some(t) => tokio::time::timeout(t, round_trip)
            .await
            .unwrap_or(Err(EarlyError::ReadTimeout(t))),
        None => round_trip.await,
    }
}

/// Where the verifier gets its roots: the trust store the main thread
/// loads (or this thread, if it gets there first).
pub type RootsLoader = Arc<dyn Fn() -> Result<Arc<RootCertStore>, String> + Send + Sync>;

/// The TLS settings of the early connection: the SDK's own choices (its
/// cipher suites, TLS 1.2 and 1.3, ring), HTTP/1.1 only, and roots loaded
/// only when the server's certificate arrives, so that reading the trust
/// store overlaps the handshake instead of preceding it.
pub fn tls_config(roots: RootsLoader) -> Result<Arc<ClientConfig>, rustls::Error> {
    use rustls::CipherSuite as S;
    const SUITES: [S; 7] = [
        S::TLS13_AES_256_GCM_SHA384,
        S::TLS13_AES_128_GCM_SHA256,
        S::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
        S::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
        S::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
        S::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
        S::TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
    ];
    let mut provider = rustls::crypto::ring::default_provider();
    provider
        .cipher_suites
        .retain(|s| SUITES.contains(&s.suite()));
    let provider = Arc::new(provider);
    let verifier = Arc::new(LazyVerifier {
        roots,
        provider: provider.clone(),
        webpki: std::sync::OnceLock::new(),
    });
    let mut config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// rustls's WebPKI verification, built from the roots when the
/// certificate is first checked. Handshake signatures need no roots.
struct LazyVerifier {
    roots: RootsLoader,
    provider: Arc<CryptoProvider>,
    webpki: std::sync::OnceLock<Result<Arc<WebPkiServerVerifier>, String>>,
}

impl std::fmt::Debug for LazyVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LazyVerifier").finish_non_exhaustive()
    }
}

impl ServerCertVerifier for LazyVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let webpki = self.webpki.get_or_init(|| {
            let roots = (self.roots)()?;
            WebPkiServerVerifier::builder_with_provider(roots, self.provider.clone())
                .build()
                .map_err(|e| e.to_string())
        });
        match webpki {
            Ok(v) => {
                v.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
            }
            Err(why) => Err(rustls::Error::General(format!("trust store: {why}"))),
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// A slot for the early connection of the fetch under way: the connector
/// takes it for the first request it serves.
pub type Slot = Arc<Mutex<Option<Early>>>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_direct_default_route_allows_it() {
        let none = |_: &str| None;
        assert!(environment_allows(none));
        for k in ROUTING_VARIABLES {
            let set = |name: &str| (name == k).then(|| "http://proxy:3128".to_owned());
            assert!(!environment_allows(set), "{k}");
            let empty = |name: &str| (name == k).then(|| " ".to_owned());
            assert!(environment_allows(empty), "{k} empty");
        }
        let unrelated = |name: &str| (name == "AWS_REGION").then(|| "eu-west-1".to_owned());
        assert!(environment_allows(unrelated));
    }

    #[test]
    fn config_words_that_move_the_endpoint_are_seen() {
        let table = [
            ("", false),
            ("[default]\nregion = eu-west-1\n", false),
            ("[default]\nendpoint_url = https://vpce.example\n", true),
            ("[profile x]\n  endpoint_url=https://x\n", true),
            ("[services local]\necr =\n  endpoint_url = http://x\n", true),
            ("[default]\nuse_dualstack_endpoint = true\n", true),
            ("[default]\nuse_fips_endpoint = true\n", true),
            ("[default]\nservices = local\n", true),
            // Words inside values or comments of other keys do not count.
            (
                "[default]\nrole_arn = arn:aws:iam::1:role/endpoint_url\n",
                false,
            ),
        ];
        for (text, want) in table {
            assert_eq!(config_may_route(text), want, "{text:?}");
        }
    }

    #[test]
    fn only_plain_https_endpoints_are_served() {
        let table = [
            (
                "https://api.ecr.us-east-1.amazonaws.com",
                Some("api.ecr.us-east-1.amazonaws.com"),
            ),
            (
                "https://api.ecr.us-east-1.amazonaws.com/",
                Some("api.ecr.us-east-1.amazonaws.com"),
            ),
            (
                "https://api.ecr.us-east-1.amazonaws.com:443",
                Some("api.ecr.us-east-1.amazonaws.com"),
            ),
            ("https://api.ecr.us-east-1.amazonaws.com:8443", None),
            ("http://api.ecr.us-east-1.amazonaws.com", None),
            ("https://example.com/prefix", None),
            ("not a url", None),
        ];
        for (url, want) in table {
            assert_eq!(endpoint_host(url).as_deref(), want, "{url}");
        }
    }

    fn early_for(host: &str) -> Early {
        let (jobs, _inbox) = mpsc::channel();
        Early {
            host: host.into(),
            jobs,
            connect_timeout: Duration::from_secs(1),
            connect_deadline: Some(Instant::now()),
        }
    }

    fn request(uri: &str, body: &str) -> HttpRequest {
        let mut r = HttpRequest::new(aws_smithy_types::body::SdkBody::from(body.to_owned()));
        r.set_uri(uri).unwrap();
        r.set_method("POST").unwrap();
        r.headers_mut().insert("x-amz-target", "Target");
        r
    }

    #[test]
    fn only_requests_for_its_endpoint_are_taken() {
        let early = early_for("api.ecr.us-east-1.amazonaws.com");
        let out = early
            .accepts(&request("https://api.ecr.us-east-1.amazonaws.com/", "{}"))
            .expect("same endpoint");
        assert_eq!(out.uri(), "/");
        assert_eq!(out.method(), "POST");
        assert_eq!(
            out.headers()["host"],
            "api.ecr.us-east-1.amazonaws.com",
            "hyper's connection API adds no Host"
        );
        assert_eq!(out.headers()["x-amz-target"], "Target");
        for other in [
            "https://sts.us-east-1.amazonaws.com/",
            "http://api.ecr.us-east-1.amazonaws.com/",
            "https://api.ecr.us-east-1.amazonaws.com:8443/",
            "https://api.ecr.us-west-2.amazonaws.com/",
        ] {
            assert!(early.accepts(&request(other, "{}")).is_none(), "{other}");
        }
        // Not let go (the fetch was not decided): it carries nothing.
        let waiting = Early {
            connect_deadline: None,
            ..early_for("api.ecr.us-east-1.amazonaws.com")
        };
        let same = request("https://api.ecr.us-east-1.amazonaws.com/", "{}");
        assert!(waiting.accepts(&same).is_none());
    }
}
