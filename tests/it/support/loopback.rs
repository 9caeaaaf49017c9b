//! The TCP server under the test fakes, on 127.0.0.1 only (never any other
//! interface): one thread accepts, each connection is served in a thread of
//! its own, and dropping the server stops accepting.

use std::io::Read;
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::Duration;

/// How long a fake holds a connection it does not answer, at most.
const SILENT_HOLD: Duration = Duration::from_secs(60);

/// Holds a connection open without answering until the client closes it,
/// the fake is dropped (`stop`), or `SILENT_HOLD` passes: a server that
/// never answers, for the fakes' silent modes.
pub fn hold_silent(stream: &mut TcpStream, stop: &AtomicBool) -> std::io::Result<()> {
    use std::io::ErrorKind;
    stream.set_read_timeout(Some(Duration::from_millis(100)))?;
    let start = std::time::Instant::now();
    let mut buf = [0u8; 1024];
    while start.elapsed() < SILENT_HOLD && !stop.load(Ordering::SeqCst) {
        match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(_) => {}
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(_) => break,
        }
    }
    Ok(())
}

pub struct LoopbackServer {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
}

impl LoopbackServer {
    /// Binds 127.0.0.1:0 and serves every connection with `serve`, which is
    /// also given the flag set when the server is dropped (for connections
    /// held open on purpose). Threads are named `NAME-accept`, `NAME-conn`.
    pub fn start<F>(name: &str, serve: F) -> LoopbackServer
    where
        F: Fn(TcpStream, &AtomicBool) + Send + Sync + 'static,
    {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .unwrap_or_else(|e| panic!("bind {name} on loopback: {e}"));
        let addr = listener.local_addr().expect("loopback address");
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = Arc::clone(&stop);
        let serve = Arc::new(serve);
        let conn = format!("{name}-conn");
        thread::Builder::new()
            .name(format!("{name}-accept"))
            .spawn(move || {
                for stream in listener.incoming() {
                    if stopped.load(Ordering::SeqCst) {
                        return;
                    }
                    let Ok(stream) = stream else { continue };
                    let (serve, stopped) = (Arc::clone(&serve), Arc::clone(&stopped));
                    let _ = thread::Builder::new()
                        .name(conn.clone())
                        .spawn(move || serve(stream, &stopped));
                }
            })
            .unwrap_or_else(|e| panic!("spawn the {name} accept thread: {e}"));
        LoopbackServer { addr, stop }
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
}

impl Drop for LoopbackServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the blocking accept() so the thread sees the flag and exits.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
    }
}

/// A request's line and headers, as the fakes read them.
pub struct Head {
    pub method: String,
    /// The request target: path and query.
    pub path: String,
    /// Names as sent; look them up with [`Head::header`].
    pub headers: Vec<(String, String)>,
}

impl Head {
    /// A header's value, its name in any case.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Reads one request's line and headers (not its body); `None` on a clean
/// end of stream between requests. Stray CRLFs between requests are
/// skipped.
pub fn read_head(reader: &mut impl std::io::BufRead) -> std::io::Result<Option<Head>> {
    let mut line = String::new();
    loop {
        line.clear();
        if reader.read_line(&mut line)? == 0 {
            return Ok(None);
        }
        if !line.trim().is_empty() {
            break;
        }
    }
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or_default().to_owned();
    let path = parts.next().unwrap_or_default().to_owned();
    let mut headers = Vec::new();
    loop {
        line.clear();
        if reader.read_line(&mut line)? == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        let l = line.trim_end_matches(['\r', '\n']);
        if l.is_empty() {
            break;
        }
        if let Some((k, v)) = l.split_once(':') {
            headers.push((k.trim().to_owned(), v.trim().to_owned()));
        }
    }
    Ok(Some(Head {
        method,
        path,
        headers,
    }))
}

/// `YYYY-MM-DDTHH:MM:SSZ` for Unix seconds, as AWS's JSON writes times
/// (days to civil date: Howard Hinnant's algorithm).
pub fn rfc3339(secs: i64) -> String {
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[test]
fn rfc3339_dates() {
    assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
    assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
    assert_eq!(rfc3339(1_764_936_000), "2025-12-05T12:00:00Z");
}
