//! TLS for black-box tests: a throwaway certificate authority and a
//! TLS-terminating forwarder on 127.0.0.1 (never any other interface) that
//! decrypts and pipes bytes both ways to a plain TCP backend, such as
//! [`super::fake_ecr::FakeEcr`].
//!
//! ```ignore
//! let fake = FakeEcr::start();
//! let ca = TestCa::new("network test CA");
//! let ca_pem = ca.write_pem(&sb.path().join("ca.pem"));
//! let front = TlsForwarder::start(&ca.server_cert(DEFAULT_NAMES), fake.addr());
//! sb.set("AWS_ENDPOINT_URL_ECR", &front.url("localhost"));
//! ```
//!
//! The accept thread stops when the [`TlsForwarder`] is dropped; connection
//! threads end when either side closes (or after an idle timeout).

use std::io::{self, Read, Write};
use std::net::{Ipv4Addr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread;
use std::time::Duration;

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::{ServerConfig, ServerConnection, StreamOwned};

/// Names the default server certificate is valid for: a real ECR API host
/// name (reached only through the test proxy), `localhost` and the IP
/// address 127.0.0.1 (an IP SAN).
pub const DEFAULT_NAMES: &[&str] = &["api.ecr.us-east-1.amazonaws.com", "localhost", "127.0.0.1"];

/// Idle time after which a connection thread gives up.
const IDLE_TIMEOUT: Duration = Duration::from_secs(60);

/// A certificate authority generated for one test.
pub struct TestCa {
    pem: String,
    issuer: Issuer<'static, KeyPair>,
}

impl TestCa {
    /// A new self-signed CA whose subject common name is `common_name`.
    pub fn new(common_name: &str) -> TestCa {
        let key = KeyPair::generate().expect("CA key");
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        params
            .distinguished_name
            .push(DnType::CommonName, common_name);
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let cert = params
            .self_signed(&key)
            .expect("self-signed CA certificate");
        TestCa {
            pem: cert.pem(),
            issuer: Issuer::new(params, key),
        }
    }

    /// The CA certificate, PEM.
    pub fn pem(&self) -> &str {
        &self.pem
    }

    /// Writes the CA certificate (PEM) to `path` and returns the path.
    pub fn write_pem(&self, path: &Path) -> PathBuf {
        std::fs::write(path, &self.pem).expect("write CA PEM");
        path.to_path_buf()
    }

    /// A server certificate signed by this CA, valid for `names`: each is a
    /// DNS name, or an IP address (then an IP SAN), e.g. [`DEFAULT_NAMES`].
    pub fn server_cert(&self, names: &[&str]) -> ServerCert {
        let key = KeyPair::generate().expect("server key");
        let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        let mut params = CertificateParams::new(names).expect("server certificate params");
        params.distinguished_name.push(
            DnType::CommonName,
            "docker-credential-ecr-login test server",
        );
        params.is_ca = IsCa::ExplicitNoCa;
        params.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyEncipherment,
        ];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let cert = params
            .signed_by(&key, &self.issuer)
            .expect("server certificate");
        ServerCert {
            chain: vec![cert.der().clone()],
            key: PrivatePkcs8KeyDer::from(key.serialize_der()).into(),
        }
    }
}

/// A server certificate chain (leaf only) and its private key.
pub struct ServerCert {
    pub chain: Vec<CertificateDer<'static>>,
    pub key: PrivateKeyDer<'static>,
}

impl ServerCert {
    /// A rustls server configuration with the ring provider, TLS 1.2 and
    /// 1.3, no client authentication and no ALPN (so HTTP/1.1).
    pub fn server_config(&self) -> ServerConfig {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("TLS versions")
            .with_no_client_auth()
            .with_single_cert(self.chain.clone(), self.key.clone_key())
            .expect("server certificate and key")
    }
}

#[derive(Default)]
struct Counters {
    connections: AtomicUsize,
    handshakes: AtomicUsize,
    handshake_errors: Mutex<Vec<String>>,
    stop: AtomicBool,
}

impl Counters {
    fn errors(&self) -> MutexGuard<'_, Vec<String>> {
        self.handshake_errors
            .lock()
            .unwrap_or_else(|e| e.into_inner())
    }
}

/// A TLS-terminating forwarder on 127.0.0.1: every connection is decrypted
/// and piped to `backend` (plain TCP). Dropping it stops accepting.
pub struct TlsForwarder {
    addr: SocketAddr,
    counters: Arc<Counters>,
}

impl TlsForwarder {
    /// Binds 127.0.0.1:0 and serves `cert`, forwarding to `backend`, which
    /// must be a loopback address (asserted).
    pub fn start(cert: &ServerCert, backend: SocketAddr) -> TlsForwarder {
        Self::start_on(cert, backend, SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))
    }

    /// As `start`, on a given loopback address (e.g. 127.0.80.1:443, where
    /// a real AWS host name resolves in the test's private /etc/hosts).
    pub fn start_on(cert: &ServerCert, backend: SocketAddr, at: SocketAddr) -> TlsForwarder {
        assert!(
            backend.ip().is_loopback() && at.ip().is_loopback(),
            "the TLS forwarder only listens and forwards on loopback, not {at} -> {backend}"
        );
        let config = Arc::new(cert.server_config());
        let listener = TcpListener::bind(at)
            .unwrap_or_else(|e| panic!("bind TLS forwarder on {at} (port 443 needs root): {e}"));
        let addr = listener.local_addr().expect("TLS forwarder address");
        let counters = Arc::new(Counters::default());
        let shared = Arc::clone(&counters);
        thread::Builder::new()
            .name("tls-forwarder-accept".into())
            .spawn(move || accept_loop(listener, config, backend, shared))
            .expect("spawn TLS forwarder accept thread");
        TlsForwarder { addr, counters }
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// `https://<host>:<port>`; `host` must be one of the certificate's names
    /// and reach this forwarder (`localhost`, `127.0.0.1`, or any name when
    /// going through the test proxy).
    pub fn url(&self, host: &str) -> String {
        format!("https://{host}:{}", self.port())
    }

    /// TCP connections accepted so far.
    pub fn connections(&self) -> usize {
        self.counters.connections.load(Ordering::SeqCst)
    }

    /// TLS handshakes completed so far.
    pub fn handshakes(&self) -> usize {
        self.counters.handshakes.load(Ordering::SeqCst)
    }

    /// Why handshakes failed (e.g. the client's "unknown CA" alert).
    pub fn handshake_errors(&self) -> Vec<String> {
        self.counters.errors().clone()
    }
}

impl Drop for TlsForwarder {
    fn drop(&mut self) {
        self.counters.stop.store(true, Ordering::SeqCst);
        // Wake the blocking accept() so the thread sees the flag and exits.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
    }
}

fn accept_loop(
    listener: TcpListener,
    config: Arc<ServerConfig>,
    backend: SocketAddr,
    counters: Arc<Counters>,
) {
    for stream in listener.incoming() {
        if counters.stop.load(Ordering::SeqCst) {
            return;
        }
        let Ok(stream) = stream else { continue };
        counters.connections.fetch_add(1, Ordering::SeqCst);
        let config = Arc::clone(&config);
        let counters = Arc::clone(&counters);
        let _ = thread::Builder::new()
            .name("tls-forwarder-conn".into())
            .spawn(move || {
                let _ = serve(stream, config, backend, &counters);
            });
    }
}

/// The decrypted connection, shared by the two piping threads: every use of
/// the rustls state, and every write of TLS records, happens under the lock;
/// blocking reads happen outside it.
struct Shared {
    conn: ServerConnection,
    sock: TcpStream,
}

impl Shared {
    /// Sends whatever TLS records rustls has queued (data, alerts, tickets).
    fn flush_tls(&mut self) -> io::Result<()> {
        while self.conn.wants_write() {
            self.conn.write_tls(&mut self.sock)?;
        }
        self.sock.flush()
    }

    /// Moves the decrypted bytes rustls holds into `out`; `true` when the
    /// client has closed the TLS session (close_notify or end of stream).
    fn drain_plaintext(&mut self, out: &mut Vec<u8>) -> io::Result<bool> {
        let mut buf = [0u8; 16 * 1024];
        loop {
            match self.conn.reader().read(&mut buf) {
                Ok(0) => return Ok(true),
                Ok(n) => out.extend_from_slice(&buf[..n]),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(false),
                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(true),
                Err(e) => return Err(e),
            }
        }
    }
}

fn lock(shared: &Mutex<Shared>) -> MutexGuard<'_, Shared> {
    shared.lock().unwrap_or_else(|e| e.into_inner())
}

fn serve(
    tcp: TcpStream,
    config: Arc<ServerConfig>,
    backend: SocketAddr,
    counters: &Counters,
) -> io::Result<()> {
    tcp.set_read_timeout(Some(IDLE_TIMEOUT))?;
    tcp.set_write_timeout(Some(IDLE_TIMEOUT))?;
    let _ = tcp.set_nodelay(true);
    let conn = ServerConnection::new(config).map_err(io::Error::other)?;
    let mut tls = StreamOwned::new(conn, tcp);
    while tls.conn.is_handshaking() {
        if let Err(e) = tls.conn.complete_io(&mut tls.sock) {
            counters.errors().push(e.to_string());
            // Let the client see our alert, if any.
            let _ = tls.conn.write_tls(&mut tls.sock);
            return Err(e);
        }
    }
    counters.handshakes.fetch_add(1, Ordering::SeqCst);

    let backend = TcpStream::connect(backend)?;
    backend.set_read_timeout(Some(IDLE_TIMEOUT))?;
    let _ = backend.set_nodelay(true);
    let (conn, sock) = tls.into_parts();
    let mut client_reader = sock.try_clone()?;
    let shared = Arc::new(Mutex::new(Shared { conn, sock }));
    lock(&shared).flush_tls()?;

    // Backend -> client: encrypt.
    let mut backend_reader = backend.try_clone()?;
    let to_client = Arc::clone(&shared);
    let down = thread::Builder::new()
        .name("tls-forwarder-down".into())
        .spawn(move || -> io::Result<()> {
            let mut buf = [0u8; 16 * 1024];
            loop {
                let n = backend_reader.read(&mut buf).unwrap_or(0);
                let mut s = lock(&to_client);
                if n == 0 {
                    s.conn.send_close_notify();
                    let _ = s.flush_tls();
                    let _ = s.sock.shutdown(Shutdown::Write);
                    return Ok(());
                }
                s.conn.writer().write_all(&buf[..n])?;
                s.flush_tls()?;
            }
        })?;

    // Client -> backend: decrypt.
    let mut backend_writer = backend;
    let mut buf = [0u8; 16 * 1024];
    let result = (|| -> io::Result<()> {
        loop {
            let mut plain = Vec::new();
            let closed = {
                let mut s = lock(&shared);
                let closed = s.drain_plaintext(&mut plain)?;
                s.flush_tls()?;
                closed
            };
            if !plain.is_empty() {
                backend_writer.write_all(&plain)?;
                plain.clear();
            }
            if closed {
                return Ok(());
            }
            let n = client_reader.read(&mut buf)?;
            let mut s = lock(&shared);
            if n == 0 {
                // End of stream without close_notify: let rustls know.
                let _ = s.conn.read_tls(&mut &[][..]);
                let _ = s.conn.process_new_packets();
                let mut rest = Vec::new();
                let _ = s.drain_plaintext(&mut rest);
                drop(s);
                if !rest.is_empty() {
                    backend_writer.write_all(&rest)?;
                }
                return Ok(());
            }
            let mut ciphertext = &buf[..n];
            while !ciphertext.is_empty() {
                s.conn.read_tls(&mut ciphertext)?;
                if let Err(e) = s.conn.process_new_packets() {
                    let _ = s.flush_tls();
                    return Err(io::Error::new(io::ErrorKind::InvalidData, e));
                }
                s.drain_plaintext(&mut plain)?;
            }
            drop(s);
            if !plain.is_empty() {
                backend_writer.write_all(&plain)?;
            }
        }
    })();
    // The client is done sending: pass the end of stream on, so the backend
    // answers and closes, which ends the other direction.
    let _ = backend_writer.shutdown(Shutdown::Write);
    let _ = down.join();
    result
}
