//! A minimal HTTP proxy for black-box tests, on 127.0.0.1 (never any other
//! interface), that only ever connects to 127.0.0.1.
//!
//! It understands `CONNECT host:port` (a tunnel, as for `HTTPS_PROXY`) and
//! absolute-form plain HTTP requests (`POST http://host:port/ HTTP/1.1`, as
//! for `HTTP_PROXY`). Whatever host it is asked for, made-up or real, it
//! "resolves" to 127.0.0.1 and keeps the port: a name reaches our loopback
//! servers only through the proxy. Every request is recorded.
//!
//! It stops accepting when the [`Proxy`] is dropped.

use std::io::{self, BufRead, BufReader, Write};
use std::net::{Ipv4Addr, Shutdown, SocketAddr, TcpStream};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread;
use std::time::Duration;

use super::loopback::LoopbackServer;

/// Idle time after which a connection thread gives up.
const IDLE_TIMEOUT: Duration = Duration::from_secs(60);

/// One request the proxy received.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProxyRequest {
    /// `CONNECT`, `POST`, ...
    pub method: String,
    /// The `host:port` asked for (port 80 filled in for `http://host/`).
    pub target: String,
    /// The request target as sent (`host:port` or `http://host:port/path`).
    pub uri: String,
}

#[derive(Default)]
struct Inner {
    requests: Mutex<Vec<ProxyRequest>>,
}

impl Inner {
    fn requests(&self) -> MutexGuard<'_, Vec<ProxyRequest>> {
        self.requests.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The running proxy. Dropping it stops accepting connections.
pub struct Proxy {
    server: LoopbackServer,
    inner: Arc<Inner>,
}

impl Proxy {
    /// Binds 127.0.0.1:0 and starts serving.
    pub fn start() -> Proxy {
        let inner = Arc::new(Inner::default());
        let shared = Arc::clone(&inner);
        let server = LoopbackServer::start("proxy", move |stream, _| {
            let _ = serve(stream, &shared);
        });
        Proxy { server, inner }
    }

    pub fn addr(&self) -> SocketAddr {
        self.server.addr()
    }

    /// `http://127.0.0.1:PORT`, for `HTTPS_PROXY` / `HTTP_PROXY`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr())
    }

    /// Every request received so far, in arrival order.
    pub fn requests(&self) -> Vec<ProxyRequest> {
        self.inner.requests().clone()
    }

    /// The `host:port` of every request, in arrival order.
    pub fn targets(&self) -> Vec<String> {
        self.inner
            .requests()
            .iter()
            .map(|r| r.target.clone())
            .collect()
    }

    /// The `host:port` of every `CONNECT`, in arrival order.
    pub fn connects(&self) -> Vec<String> {
        self.inner
            .requests()
            .iter()
            .filter(|r| r.method == "CONNECT")
            .map(|r| r.target.clone())
            .collect()
    }
}

/// The only address the proxy ever connects to: 127.0.0.1, whatever the host.
fn connect_loopback(port: u16) -> io::Result<TcpStream> {
    let stream = TcpStream::connect((Ipv4Addr::LOCALHOST, port))?;
    stream.set_read_timeout(Some(IDLE_TIMEOUT))?;
    stream.set_write_timeout(Some(IDLE_TIMEOUT))?;
    Ok(stream)
}

/// `host:port` → port; `None` without a valid non-zero port.
fn port_of(authority: &str) -> Option<u16> {
    let (_, port) = authority.rsplit_once(':')?;
    port.parse().ok().filter(|&p| p != 0)
}

fn refuse(client: &mut TcpStream, status: &str) -> io::Result<()> {
    client.write_all(
        format!("HTTP/1.1 {status}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n").as_bytes(),
    )?;
    client.flush()
}

fn serve(client: TcpStream, inner: &Inner) -> io::Result<()> {
    client.set_read_timeout(Some(IDLE_TIMEOUT))?;
    client.set_write_timeout(Some(IDLE_TIMEOUT))?;
    let mut reply = client.try_clone()?;
    let mut reader = BufReader::new(client);

    let mut request_line = String::new();
    if reader.read_line(&mut request_line)? == 0 {
        return Ok(());
    }
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        let line = line.trim_end_matches(['\r', '\n']).to_owned();
        if line.is_empty() {
            break;
        }
        headers.push(line);
    }
    let mut parts = request_line.split_whitespace();
    let method = parts.next().unwrap_or_default().to_owned();
    let uri = parts.next().unwrap_or_default().to_owned();
    let version = parts.next().unwrap_or("HTTP/1.1").to_owned();

    // Where the request is going, and the request line to send on (none for
    // a tunnel).
    let (target, forwarded_line) = if method.eq_ignore_ascii_case("CONNECT") {
        (uri.clone(), None)
    } else if let Some(rest) = uri.strip_prefix("http://") {
        let (authority, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, "/"),
        };
        let authority = if port_of(authority).is_some() {
            authority.to_owned()
        } else {
            format!("{authority}:80")
        };
        (authority, Some(format!("{method} {path} {version}\r\n")))
    } else {
        // Origin-form or another scheme: not a proxy request we serve.
        (String::new(), None)
    };
    inner.requests().push(ProxyRequest {
        method: method.clone(),
        target: target.clone(),
        uri,
    });

    let Some(port) = port_of(&target) else {
        return refuse(&mut reply, "400 Bad Request");
    };
    let mut backend = match connect_loopback(port) {
        Ok(b) => b,
        Err(_) => return refuse(&mut reply, "502 Bad Gateway"),
    };

    match forwarded_line {
        None => {
            reply.write_all(b"HTTP/1.1 200 Connection Established\r\n\r\n")?;
            reply.flush()?;
        }
        Some(line) => {
            // Origin-form, one request per connection: hop-by-hop headers
            // dropped, the backend told to close after answering.
            let mut head = line;
            for h in &headers {
                let name = h.split(':').next().unwrap_or_default().trim();
                let hop = [
                    "connection",
                    "proxy-connection",
                    "proxy-authorization",
                    "keep-alive",
                ]
                .iter()
                .any(|n| name.eq_ignore_ascii_case(n));
                if !hop {
                    head.push_str(h);
                    head.push_str("\r\n");
                }
            }
            head.push_str("Connection: close\r\n\r\n");
            backend.write_all(head.as_bytes())?;
        }
    }
    // Bytes the client sent after the head, already buffered.
    backend.write_all(reader.buffer())?;
    backend.flush()?;
    let client = reader.into_inner();
    pipe(client, backend)
}

/// Copies both ways until each side has closed its sending half.
fn pipe(client: TcpStream, backend: TcpStream) -> io::Result<()> {
    let mut client_in = client.try_clone()?;
    let mut backend_out = backend.try_clone()?;
    let up = thread::Builder::new()
        .name("proxy-up".into())
        .spawn(move || {
            let _ = io::copy(&mut client_in, &mut backend_out);
            let _ = backend_out.shutdown(Shutdown::Write);
        })?;
    let mut backend_in = backend;
    let mut client_out = client;
    let _ = io::copy(&mut backend_in, &mut client_out);
    let _ = client_out.shutdown(Shutdown::Write);
    let _ = up.join();
    Ok(())
}
