//! A private network namespace for black-box tests of the credential
//! sources that are found by address: the helper runs where only `lo`
//! exists, so the SDK's real discovery (IMDS at 169.254.169.254, the
//! container endpoint at 169.254.170.2, real AWS host names) reaches our
//! fakes and nothing else, and no packet can leave this machine.
//!
//! ```ignore
//! if !support::require(Need::Root) { return; }
//! let mut ns = Netns::new();                        // lo up, link-local addresses on lo
//! let imds = FakeImds::start(...);                  // a fake on the host's 127.0.0.1
//! ns.forward(IMDS_ADDR, imds.addr());               // 169.254.169.254:80 inside -> the fake
//! ns.forward(HTTPS_ON_LOOPBACK, front.addr());      // 127.0.0.1:443 inside -> a TlsForwarder
//! sb.resolve_locally(&["api.ecr.us-east-1.amazonaws.com"]).in_netns(&ns);
//! sb.get(HOST);                                     // nsenter --net=… unshare --mount … helper
//! ```
//!
//! The API: [`Netns::new`], [`Netns::forward`] (a plain TCP pipe from an
//! address inside the namespace to one on the host's loopback),
//! [`Netns::connections`], [`Netns::path`], and `Sandbox::in_netns`, which
//! runs the helper inside it. Fakes themselves stay ordinary loopback
//! servers on the host, so every existing one (moto, `TlsForwarder`,
//! `FakeEcr`) works unchanged behind a forward.
//!
//! How: a holder process (`unshare --net sleep`) keeps the namespace alive
//! and is killed on drop. Each forward's listening socket is bound from a
//! short-lived thread that entered the namespace with `setns(2)`: a net
//! namespace switch affects only the calling thread, and a socket stays in
//! the namespace it was made in. The accept and piping threads run in the
//! host's namespace, so they can connect to the host's 127.0.0.1.
//!
//! Linux only, and needs root (`support::require(Need::Root)`).

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{Ipv4Addr, Shutdown, SocketAddr, SocketAddrV4, TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread;
use std::time::Duration;

/// Where IMDS listens: the SDK's default endpoint.
pub const IMDS_ADDR: SocketAddr =
    SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::new(169, 254, 169, 254), 80));
/// Where ECS's container credentials endpoint listens
/// (`AWS_CONTAINER_CREDENTIALS_RELATIVE_URI` is a path on it).
pub const ECS_ADDR: SocketAddr =
    SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::new(169, 254, 170, 2), 80));
/// Where the EKS Pod Identity agent listens
/// (`AWS_CONTAINER_CREDENTIALS_FULL_URI=http://169.254.170.23/v1/credentials`).
pub const EKS_POD_IDENTITY_ADDR: SocketAddr =
    SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::new(169, 254, 170, 23), 80));
/// Port 443 on loopback inside: where a real AWS host name lands when
/// `Sandbox::resolve_locally` maps it to 127.0.0.1.
pub const HTTPS_ON_LOOPBACK: SocketAddr =
    SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::LOCALHOST, 443));

/// The holder's lifetime: longer than any test, so that a test process
/// killed before its drop leaves nothing behind for long.
const HOLDER_LIFETIME_SECS: &str = "3600";
/// Idle time after which a forwarded connection is given up.
const IDLE_TIMEOUT: Duration = Duration::from_secs(60);

/// A private network namespace with `lo` up and the link-local addresses
/// of IMDS, ECS and EKS Pod Identity on it. Dropping it kills the holder
/// and stops every forward.
pub struct Netns {
    holder: Child,
    path: PathBuf,
    forwards: Vec<Forward>,
}

struct Forward {
    inside: SocketAddr,
    listener: Arc<TcpListener>,
    connections: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
}

impl Netns {
    pub fn new() -> Netns {
        // `unshare` has made the namespace once `sh` runs: its line says so.
        let mut holder = Command::new("unshare")
            .args(["--net", "sh", "-c", "echo ready; exec sleep \"$0\""])
            .arg(HOLDER_LIFETIME_SECS)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn unshare --net (needs root and util-linux)");
        let mut line = String::new();
        let stdout = holder.stdout.take().expect("holder stdout");
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("read the holder's line");
        if line.trim() != "ready" {
            let _ = holder.kill();
            let status = holder.wait();
            panic!("unshare --net did not start ({status:?}): needs root");
        }
        let path = PathBuf::from(format!("/proc/{}/ns/net", holder.id()));
        let ns = Netns {
            holder,
            path,
            forwards: Vec::new(),
        };
        let addrs: Vec<String> = [IMDS_ADDR, ECS_ADDR, EKS_POD_IDENTITY_ADDR]
            .iter()
            .map(|a| format!("ip addr add {}/32 dev lo", a.ip()))
            .collect();
        ns.sh(&format!("ip link set lo up && {}", addrs.join(" && ")));
        ns
    }

    /// `/proc/<holder>/ns/net`: what `nsenter --net=` takes.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Runs `script` with `sh -c` inside the namespace; panics unless it
    /// succeeds.
    pub fn sh(&self, script: &str) {
        let out = Command::new("nsenter")
            .arg(format!("--net={}", self.path.display()))
            .args(["sh", "-c", script])
            .output()
            .expect("spawn nsenter");
        assert!(
            out.status.success(),
            "in the namespace, {script:?} failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Listens on `inside` (an address inside the namespace: one of the
    /// constants above, or any loopback one) and pipes each connection to
    /// `outside`, a server on the host's loopback. The server sees every
    /// byte as the helper sent it (TLS included), and a server that
    /// accepts and never answers is exactly that to the helper.
    pub fn forward(&mut self, inside: SocketAddr, outside: SocketAddr) -> &mut Self {
        assert!(
            outside.ip().is_loopback(),
            "forwards go to the host's loopback only, not {outside}"
        );
        let listener = Arc::new(self.bind(inside));
        let connections = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (l, count, stopped) = (
            Arc::clone(&listener),
            Arc::clone(&connections),
            Arc::clone(&stop),
        );
        thread::Builder::new()
            .name(format!("netns-forward-{inside}"))
            .spawn(move || {
                for client in l.incoming() {
                    if stopped.load(Ordering::SeqCst) {
                        return;
                    }
                    let Ok(client) = client else { continue };
                    count.fetch_add(1, Ordering::SeqCst);
                    let _ = thread::Builder::new()
                        .name("netns-forward-conn".into())
                        .spawn(move || pipe(client, outside));
                }
            })
            .expect("spawn the forward's accept thread");
        self.forwards.push(Forward {
            inside,
            listener,
            connections,
            stop,
        });
        self
    }

    /// Connections accepted so far on `inside` (by [`Netns::forward`]).
    pub fn connections(&self, inside: SocketAddr) -> usize {
        self.forwards
            .iter()
            .filter(|f| f.inside == inside)
            .map(|f| f.connections.load(Ordering::SeqCst))
            .sum()
    }

    /// A listening socket bound to `addr` inside the namespace.
    pub fn bind(&self, addr: SocketAddr) -> TcpListener {
        let path = self.path.clone();
        thread::Builder::new()
            .name("netns-bind".into())
            .spawn(move || -> io::Result<TcpListener> {
                let ns = File::open(&path)?;
                // SAFETY: setns on this thread only, with a valid fd; the
                // thread ends right after binding.
                if unsafe { libc::setns(ns.as_raw_fd(), libc::CLONE_NEWNET) } != 0 {
                    return Err(io::Error::last_os_error());
                }
                TcpListener::bind(addr)
            })
            .expect("spawn the bind thread")
            .join()
            .expect("the bind thread panicked")
            .unwrap_or_else(|e| panic!("bind {addr} inside the namespace: {e}"))
    }
}

impl Default for Netns {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        for f in &self.forwards {
            f.stop.store(true, Ordering::SeqCst);
            // Wakes the blocking accept(): it is not reachable from here
            // to connect to.
            // SAFETY: the listener is alive (held by `f`), its fd valid.
            unsafe {
                libc::shutdown(f.listener.as_raw_fd(), libc::SHUT_RDWR);
            }
        }
        let _ = self.holder.kill();
        let _ = self.holder.wait();
    }
}

/// Copies bytes both ways between `client` and a new connection to `to`
/// until either side closes, passing half-closes on.
fn pipe(client: TcpStream, to: SocketAddr) {
    let Ok(server) = TcpStream::connect(to) else {
        return;
    };
    for s in [&client, &server] {
        let _ = s.set_read_timeout(Some(IDLE_TIMEOUT));
        let _ = s.set_nodelay(true);
    }
    let (Ok(client_r), Ok(server_r)) = (client.try_clone(), server.try_clone()) else {
        return;
    };
    let up = thread::spawn(move || copy(client_r, server));
    copy(server_r, client);
    let _ = up.join();
}

fn copy(mut from: TcpStream, mut to: TcpStream) {
    let mut buf = [0u8; 16 * 1024];
    loop {
        match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                if to.write_all(&buf[..n]).is_err() {
                    break;
                }
            }
        }
    }
    let _ = to.shutdown(Shutdown::Write);
}

/// Runs `get HOST` in `sb`, asserting a clean not-found within `bound`
/// and no `GetAuthorizationToken` at `moto`; returns the log's lines. For
/// the credential sources' failure modes (`sources_machine`,
/// `sources_laptop`).
pub fn not_found_within(
    sb: &super::Sandbox,
    moto: &super::moto::Moto,
    host: &str,
    bound: Duration,
) -> Vec<String> {
    let start = std::time::Instant::now();
    let run = sb.get(host);
    let took = start.elapsed();
    run.assert_not_found_cleanly();
    assert!(took < bound, "not found after {took:?}, bound {bound:?}");
    assert_eq!(moto.ecr_token_requests().len(), 0, "ECR was called");
    sb.log().lines().map(str::to_owned).collect()
}

/// Exactly one ERROR line in `log`, and it contains each of `words`.
pub fn assert_one_clear_line(log: &[String], words: &[&str]) {
    let errors: Vec<&String> = log.iter().filter(|l| l.contains("ERROR")).collect();
    assert_eq!(errors.len(), 1, "not one error line:\n{}", log.join("\n"));
    for word in words {
        assert!(
            errors[0].contains(word),
            "the error line does not say {word:?}: {}",
            errors[0]
        );
    }
}
