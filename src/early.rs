//! The early connection: on a cache miss, a thread of its own resolves the
//! registry's API endpoint while the cache lock is taken; once the fetch is
//! decided, the connection opens and sends the TLS ClientHello while the
//! request is readied (credentials, signing: see `direct`), so that the
//! server's signature and the round trips overlap that work. Whichever
//! comes second connects: the thread, when the decision came before the
//! name, or the deciding thread itself, when the name came first (waking a
//! sleeping thread costs more than the connect). The request's own thread
//! finishes the handshake and sends the request, so no thread waits for
//! another's wake-up once the answer arrives.
//!
//! Only the first request to that endpoint uses it (a private registry's
//! is sent by `direct`, ECR Public's by the SDK through our connector):
//! retries, other hosts (STS), and every case the SDK routes differently (a
//! proxy, an endpoint override, dual-stack) go through the SDK's own
//! connector, so behaviour never depends on the early connection existing.
//! The decisions are pure functions; the thread and the HTTP exchange are
//! IO at the edge.

use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::{Arc, Mutex};
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

/// The decision to connect and shake hands, within `deadline`. Until it
/// comes only the name is resolved: a fetch may still turn out unneeded.
struct Go {
    connecting: Connecting,
    deadline: Instant,
}

/// A TLS session made before its connection (the ClientHello and its key
/// share are computed): it gets its socket once connected.
type Connecting = tokio_rustls::Connect<LateIo>;

/// How far the name lookup and the decision have got, shared by the thread
/// and the `Early`. Neither side waits for the other: the second to arrive
/// connects.
enum Stage {
    /// The thread is resolving; nothing is decided.
    Resolving,
    /// The name came first; the thread has ended, leaving its addresses.
    Resolved(std::io::Result<Vec<SocketAddr>>),
    /// The decision came first; the thread connects once it has the name.
    Go(Box<Go>),
    /// Taken by one side, or given up (the `Early` dropped).
    Done,
}

/// Where the handshake comes from: the thread, or `go` on its own thread.
enum Started {
    ByThread(tokio::sync::oneshot::Receiver<Result<Handshake, EarlyError>>),
    Here(Result<Handshake, EarlyError>),
}

/// A TLS handshake under way: the ClientHello is out, the rest is done by
/// whoever awaits it (the thread that sends the request).
type Handshake = std::pin::Pin<Box<dyn Future<Output = std::io::Result<TlsStream<LateIo>>> + Send>>;

/// An early connection to `host`:443: its name being resolved (`start`),
/// then opening or open (`go`). Whoever connects sends the ClientHello and
/// leaves the rest of the handshake to the thread that sends the request,
/// which finishes it on its own runtime, so no thread has to wake another
/// when the answer arrives. Dropping it closes the connection, if any, and
/// a thread still resolving then connects nowhere.
pub struct Early {
    host: String,
    stage: Arc<Mutex<Stage>>,
    /// `None` once `send` has taken it.
    handshake: Option<Started>,
    connect_timeout: Duration,
    /// The connect bound, counted from `go` as the SDK counts its own from
    /// its connect; `None` before `go`.
    connect_deadline: Option<Instant>,
}

impl std::fmt::Debug for Early {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Early")
            .field("host", &self.host)
            .field("connect_deadline", &self.connect_deadline)
            .finish_non_exhaustive()
    }
}

impl Early {
    /// Starts the connection's thread, which resolves the host: starting a
    /// thread takes longer than deciding whether to fetch, so it is started
    /// before that decision. `None` when the thread cannot be started: the
    /// SDK's connector then does it all. `warm` is work for the calling
    /// thread's later use that the early thread does once it has nothing
    /// else to do.
    pub fn start(host: String, connect_timeout: Duration, warm: fn()) -> Option<Early> {
        let stage = Arc::new(Mutex::new(Stage::Resolving));
        let (reply, handshake) = tokio::sync::oneshot::channel();
        let (thread_host, thread_stage) = (host.clone(), stage.clone());
        std::thread::Builder::new()
            .name("early-connect".into())
            .spawn(move || run(&thread_host, &thread_stage, reply, warm))
            .ok()?;
        Some(Early {
            host,
            stage,
            handshake: Some(Started::ByThread(handshake)),
            connect_timeout,
            connect_deadline: None,
        })
    }

    /// The fetch is decided: connect and send the ClientHello with `tls`,
    /// here if the name is already resolved, else on the thread once it is.
    /// Either way the TLS session is made here first, while the thread may
    /// still be resolving: the ClientHello then leaves as soon as the
    /// connection is open.
    pub fn go(&mut self, tls: Arc<ClientConfig>) {
        if self.connect_deadline.is_some() {
            return;
        }
        let deadline = Instant::now() + self.connect_timeout;
        self.connect_deadline = Some(deadline);
        let connecting = match ServerName::try_from(self.host.clone()) {
            Ok(name) => TlsConnector::from(tls).connect(name, LateIo::Unconnected),
            Err(e) => {
                let source = std::io::Error::new(std::io::ErrorKind::InvalidInput, e);
                self.handshake = Some(Started::Here(Err(connect_error(&self.host, source))));
                return;
            }
        };
        let mut stage = lock(&self.stage);
        match std::mem::replace(&mut *stage, Stage::Done) {
            Stage::Resolving => {
                *stage = Stage::Go(Box::new(Go {
                    connecting,
                    deadline,
                }))
            }
            Stage::Resolved(addrs) => {
                drop(stage);
                let started = addrs
                    .map_err(|source| connect_error(&self.host, source))
                    .and_then(|addrs| start_handshake(&self.host, addrs, connecting, deadline));
                self.handshake = Some(Started::Here(started));
            }
            // Only `go` and `drop` leave these, and neither came before.
            Stage::Go(_) | Stage::Done => {}
        }
    }

    pub fn host(&self) -> &str {
        &self.host
    }

    /// Whether `go` has let it connect.
    pub fn is_let_go(&self) -> bool {
        self.connect_deadline.is_some()
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

    /// Finishes the handshake on the calling runtime, within the connect
    /// bound, then sends `request` and waits for the whole answer within
    /// the read bound.
    pub async fn send(
        mut self,
        request: http::Request<Full<Bytes>>,
        read_timeout: Option<Duration>,
    ) -> Result<http::Response<Bytes>, EarlyError> {
        let host = self.host.clone();
        // This also bounds a resolver that never returns, which no timer
        // in the thread can interrupt.
        let left = self
            .connect_deadline
            .unwrap_or_else(Instant::now)
            .saturating_duration_since(Instant::now());
        let started = self.handshake.take();
        let connected = async {
            let handshake = match started {
                Some(Started::Here(handshake)) => handshake?,
                Some(Started::ByThread(reply)) => reply.await.map_err(|_| EarlyError::Gone)??,
                None => return Err(EarlyError::Gone),
            };
            handshake
                .await
                .map_err(|source| connect_error(&host, source))
        };
        let stream = tokio::time::timeout(left, connected)
            .await
            .unwrap_or_else(|_| Err(EarlyError::ConnectTimeout(host.clone())))?;
        exchange(stream, request, read_timeout).await
    }
}

impl Drop for Early {
    fn drop(&mut self) {
        // A thread still resolving then ends without connecting.
        *lock(&self.stage) = Stage::Done;
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn connect_error(host: &str, source: std::io::Error) -> EarlyError {
    EarlyError::Connect {
        host: host.to_owned(),
        source,
    }
}

/// The thread: resolve the host, then connect if the fetch is already
/// decided, else leave the addresses to `go`; it never waits for the
/// decision. It ends once it has handed the handshake or the addresses
/// over, or when the `Early` is gone.
///
/// The name is resolved before the decision, while the other thread takes
/// the cache lock: a lookup is not a connection, and is wasted only when
/// another process refreshed the entry meanwhile.
fn run(
    host: &str,
    stage: &Mutex<Stage>,
    reply: tokio::sync::oneshot::Sender<Result<Handshake, EarlyError>>,
    warm: fn(),
) {
    // getaddrinfo blocks this thread only; the waiting side bounds it.
    let resolved = (host, HTTPS_PORT).to_socket_addrs().map(Iterator::collect);
    let mut stage = lock(stage);
    let Go {
        connecting,
        deadline,
    } = match std::mem::replace(&mut *stage, Stage::Done) {
        Stage::Go(go) => *go,
        Stage::Resolving => {
            *stage = Stage::Resolved(resolved);
            drop(stage);
            // The addresses are left for `go`, which will need what `warm` readies.
            warm();
            return;
        }
        Stage::Resolved(_) | Stage::Done => return,
    };
    drop(stage);
    let started = resolved
        .map_err(|source| connect_error(host, source))
        .and_then(|addrs| start_handshake(host, addrs, connecting, deadline));
    let handed_over = started.is_ok();
    // Refused only when the `Early` is gone: the connection closes with it.
    let _ = reply.send(started);
    if handed_over {
        warm();
    }
}

/// Connects within `deadline` and sends the session's ClientHello: the
/// handshake, under way, for the request's thread to finish.
fn start_handshake(
    host: &str,
    addrs: Vec<SocketAddr>,
    mut connecting: Connecting,
    deadline: Instant,
) -> Result<Handshake, EarlyError> {
    let fail = |source| connect_error(host, source);
    let started = connect(host, addrs.into_iter(), deadline).and_then(|tcp| {
        // `None` only once the handshake has ended, which it has not begun.
        if let Some(io) = connecting.get_mut() {
            *io = LateIo::new(tcp);
        }
        let mut handshake: Handshake = Box::pin(connecting);
        // The first poll writes the ClientHello and finds no answer yet (no
        // runtime is polling here to wait on), unless it already failed.
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        match handshake.as_mut().poll(&mut cx) {
            std::task::Poll::Ready(Err(e)) => Err(fail(e)),
            std::task::Poll::Ready(Ok(stream)) => {
                Ok(Box::pin(std::future::ready(Ok(stream))) as Handshake)
            }
            std::task::Poll::Pending => Ok(handshake),
        }
    });
    if let Err(e) = &started {
        tracing::debug!("early connection: {e}");
    }
    started
}

/// Connects to the first address that answers, within `deadline`.
fn connect(
    host: &str,
    addrs: impl Iterator<Item = SocketAddr>,
    deadline: Instant,
) -> Result<std::net::TcpStream, EarlyError> {
    let fail = |source| connect_error(host, source);
    let mut last = std::io::Error::new(std::io::ErrorKind::NotFound, "no address");
    for addr in addrs {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(EarlyError::ConnectTimeout(host.to_owned()));
        }
        match std::net::TcpStream::connect_timeout(&addr, left) {
            Ok(tcp) => {
                let ready = tcp
                    .set_nodelay(true)
                    .and_then(|()| tcp.set_nonblocking(true));
                return ready.map(|()| tcp).map_err(fail);
            }
            Err(e) if e.kind() == std::io::ErrorKind::TimedOut => {
                return Err(EarlyError::ConnectTimeout(host.to_owned()));
            }
            Err(e) => last = e,
        }
    }
    Err(fail(last))
}

/// A non-blocking TCP stream that joins a runtime's reactor only when it
/// first has to wait, and then the reactor of the runtime polling it: the
/// early thread, which has no runtime, writes the ClientHello through it,
/// and the thread that finishes the handshake waits on its own runtime.
#[derive(Debug)]
enum LateIo {
    /// A session's socket before it is connected: never read or written.
    Unconnected,
    Detached(std::net::TcpStream),
    Joined(tokio::net::TcpStream),
}

/// What a detached socket's operation came to.
enum Detached<T> {
    Done(std::io::Result<T>),
    /// It would block: the socket is now on the current runtime's reactor.
    Joined,
    /// It would block, and no runtime is here to wait on.
    Pending,
}

impl LateIo {
    fn new(tcp: std::net::TcpStream) -> Self {
        LateIo::Detached(tcp)
    }

    /// Runs `op` on a detached socket; when it would block, joins the
    /// current runtime, if any.
    fn try_detached<T>(
        &mut self,
        op: impl FnOnce(&std::net::TcpStream) -> std::io::Result<T>,
    ) -> Detached<T> {
        let tcp = match self {
            LateIo::Detached(tcp) => tcp,
            LateIo::Joined(_) => return Detached::Joined,
            LateIo::Unconnected => {
                return Detached::Done(Err(std::io::ErrorKind::NotConnected.into()));
            }
        };
        match op(tcp) {
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                if tokio::runtime::Handle::try_current().is_err() {
                    return Detached::Pending;
                }
                let joined = tcp.try_clone().and_then(tokio::net::TcpStream::from_std);
                match joined {
                    Ok(joined) => {
                        // The clone is the same socket; the original closes.
                        *self = LateIo::Joined(joined);
                        Detached::Joined
                    }
                    Err(e) => Detached::Done(Err(e)),
                }
            }
            done => Detached::Done(done),
        }
    }

    fn joined(self: std::pin::Pin<&mut Self>) -> std::pin::Pin<&mut tokio::net::TcpStream> {
        match self.get_mut() {
            LateIo::Joined(tcp) => std::pin::Pin::new(tcp),
            LateIo::Detached(_) | LateIo::Unconnected => {
                unreachable!("joined only after try_detached said so")
            }
        }
    }
}

impl tokio::io::AsyncRead for LateIo {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        use std::io::Read;
        let unfilled = buf.initialize_unfilled();
        match self.try_detached(|mut tcp| tcp.read(unfilled)) {
            Detached::Done(n) => {
                buf.advance(n?);
                std::task::Poll::Ready(Ok(()))
            }
            Detached::Pending => std::task::Poll::Pending,
            Detached::Joined => self.joined().poll_read(cx, buf),
        }
    }
}

impl tokio::io::AsyncWrite for LateIo {
    fn poll_write(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        use std::io::Write;
        match self.try_detached(|mut tcp| tcp.write(buf)) {
            Detached::Done(n) => std::task::Poll::Ready(n),
            Detached::Pending => std::task::Poll::Pending,
            Detached::Joined => self.joined().poll_write(cx, buf),
        }
    }

    fn poll_write_vectored(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> std::task::Poll<std::io::Result<usize>> {
        use std::io::Write;
        match self.try_detached(|mut tcp| tcp.write_vectored(bufs)) {
            Detached::Done(n) => std::task::Poll::Ready(n),
            Detached::Pending => std::task::Poll::Pending,
            Detached::Joined => self.joined().poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        true
    }

    fn poll_flush(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        // Nothing is buffered here.
        std::task::Poll::Ready(Ok(()))
    }

    fn poll_shutdown(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        match self.get_mut() {
            LateIo::Unconnected => std::task::Poll::Ready(Ok(())),
            LateIo::Detached(tcp) => {
                std::task::Poll::Ready(tcp.shutdown(std::net::Shutdown::Write))
            }
            LateIo::Joined(tcp) => std::pin::Pin::new(tcp).poll_shutdown(cx),
        }
    }
}

async fn exchange(
    stream: TlsStream<LateIo>,
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

    /// An `Early` let go, with no thread behind it.
    fn early_for(host: &str) -> Early {
        let (mut early, _reply) = unstarted(host);
        early.connect_deadline = Some(Instant::now());
        early
    }

    type Reply = tokio::sync::oneshot::Sender<Result<Handshake, EarlyError>>;

    /// An `Early` whose thread the test runs itself, by calling `run`.
    fn unstarted(host: &str) -> (Early, Reply) {
        let (reply, handshake) = tokio::sync::oneshot::channel();
        let early = Early {
            host: host.into(),
            stage: Arc::new(Mutex::new(Stage::Resolving)),
            handshake: Some(Started::ByThread(handshake)),
            connect_timeout: Duration::from_secs(1),
            connect_deadline: None,
        };
        (early, reply)
    }

    fn tls() -> Arc<ClientConfig> {
        tls_config(Arc::new(|| Err("no roots needed".into()))).unwrap()
    }

    fn no_warm() {}

    /// Port 443 of 127.0.0.2: nothing listens there in tests, and whatever
    /// the connect comes to, who made it is what these tests look at.
    const LOCAL: &str = "127.0.0.2";

    #[test]
    fn the_name_first_then_the_decision_connects_on_the_deciding_thread() {
        let (mut early, reply) = unstarted(LOCAL);
        run(LOCAL, &early.stage.clone(), reply, no_warm);
        assert!(matches!(*lock(&early.stage), Stage::Resolved(Ok(_))));
        early.go(tls());
        assert!(matches!(early.handshake, Some(Started::Here(_))));
        assert!(matches!(*lock(&early.stage), Stage::Done));
    }

    #[test]
    fn the_decision_first_then_the_name_connects_on_the_thread() {
        let (mut early, reply) = unstarted(LOCAL);
        early.go(tls());
        assert!(matches!(*lock(&early.stage), Stage::Go(_)));
        run(LOCAL, &early.stage.clone(), reply, no_warm);
        let Some(Started::ByThread(mut answer)) = early.handshake.take() else {
            panic!("the thread connects");
        };
        assert!(answer.try_recv().is_ok(), "the thread answered");
    }

    #[test]
    fn dropped_undecided_the_thread_connects_nowhere() {
        let (mut early, reply) = unstarted(LOCAL);
        let stage = early.stage.clone();
        let Some(Started::ByThread(mut answer)) = early.handshake.take() else {
            unreachable!()
        };
        drop(early);
        run(LOCAL, &stage, reply, no_warm);
        assert!(matches!(*lock(&stage), Stage::Done), "no addresses left");
        assert_eq!(
            answer.try_recv().err(),
            Some(tokio::sync::oneshot::error::TryRecvError::Closed),
            "no connection made"
        );
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
        let mut waiting = early_for("api.ecr.us-east-1.amazonaws.com");
        waiting.connect_deadline = None;
        let same = request("https://api.ecr.us-east-1.amazonaws.com/", "{}");
        assert!(waiting.accepts(&same).is_none());
    }

    /// The early thread writes outside any runtime and leaves a read that
    /// would block pending; the runtime that polls next waits for it.
    #[test]
    fn a_late_socket_writes_detached_and_waits_on_the_runtime_that_polls_it() {
        use std::io::{Read, Write};
        use tokio::io::{AsyncRead, AsyncWrite};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let tcp = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        tcp.set_nonblocking(true).unwrap();
        let (mut server, _) = listener.accept().unwrap();
        let mut io = LateIo::new(tcp);
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        let written = std::pin::Pin::new(&mut io).poll_write(&mut cx, b"hello");
        assert!(matches!(written, std::task::Poll::Ready(Ok(5))));
        let mut storage = [0u8; 16];
        let mut buf = tokio::io::ReadBuf::new(&mut storage);
        assert!(
            std::pin::Pin::new(&mut io)
                .poll_read(&mut cx, &mut buf)
                .is_pending()
        );
        assert!(matches!(io, LateIo::Detached(_)), "no runtime to join");
        let mut got = [0u8; 5];
        server.read_exact(&mut got).unwrap();
        assert_eq!(&got, b"hello");

        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let answer = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(50));
            server.write_all(b"world").unwrap();
            server
        });
        let read = runtime.block_on(async {
            let mut storage = [0u8; 16];
            let mut buf = tokio::io::ReadBuf::new(&mut storage);
            std::future::poll_fn(|cx| std::pin::Pin::new(&mut io).poll_read(cx, &mut buf))
                .await
                .unwrap();
            buf.filled().to_vec()
        });
        assert_eq!(read, b"world");
        assert!(matches!(io, LateIo::Joined(_)));
        drop(answer.join().unwrap());
    }
}
