//! A fake ECR API over TLS for the benchmark, on loopback only.
//!
//! Answers GetAuthorizationToken (awsJson1_1, `POST /` with
//! `X-Amz-Target: AmazonEC2ContainerRegistry_V20150921.GetAuthorizationToken`)
//! with one authorizationData entry per requested registryId (the account
//! "000000000000" when the request names none), each token expiring 12 hours
//! from now so that both helpers' caches can hit. The password is about as
//! long as a real ECR one (~2 KB), so parsing and caching cost what they cost
//! in production. Any other target gets a 400 UnknownOperationException, and
//! every request past `--max-requests` (a runaway bound; 0: none) a 503.
//! While the file named by `--throttle-file` exists, every
//! GetAuthorizationToken is answered as a throttled API answers it: HTTP
//! 400 `ThrottlingException` (the benchmark's throttling storm).
//!
//! Every request is appended as one JSON line to the log file (time, target,
//! registryIds, host, user agent, status, handshake time, request number)
//! before it is answered: the benchmark counts API calls by counting lines,
//! and the log shows what each helper sends. A failed handshake is a line
//! too, `{"error": "handshake: ...", "n": N}`.
//!
//! The fake's own cost is kept small, since every client waits for it alike
//! and it would dilute the comparison: a thread per connection doing its own
//! TLS handshake (concurrent clients are not serialized), HTTP/1.1
//! keep-alive, `TCP_NODELAY` and each answer in one write (headers and body
//! in separate segments would make the body wait for the client's delayed
//! ACK, 40 ms). What is left is mostly the handshake's RSA-2048 signature,
//! which the real API makes too.
//!
//! usage: fake-ecr --cert CERT --key KEY --log FILE [--host 127.0.0.1]
//!                 [--port 443] [--ready FILE] [--max-requests N]
//!                 [--throttle-file FILE]

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use rustls::{ServerConfig, ServerConnection, Stream};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use serde_json::Value;

const USAGE: &str = "usage: fake-ecr --cert CERT --key KEY --log FILE [--host 127.0.0.1]
                [--port 443] [--ready FILE] [--max-requests N]
                [--throttle-file FILE]";
const TARGET: &str = "AmazonEC2ContainerRegistry_V20150921.GetAuthorizationToken";
const LIFETIME_SECS: u64 = 12 * 3600;
const DEFAULT_ACCOUNT: &str = "000000000000";
/// The region comes from the Host header; a request without one is taken as
/// addressed to us-east-1.
const DEFAULT_HOST: &str = "api.ecr.us-east-1.amazonaws.com";
const REQUEST_ID: &str = "00000000-0000-0000-0000-000000000000";
/// A stuck client holds only its own thread, and not for ever.
const IO_TIMEOUT: Duration = Duration::from_secs(30);
/// Bounds on one request: past them the connection is closed.
const MAX_HEAD: usize = 64 * 1024;
const MAX_BODY: usize = 16 * 1024 * 1024;

struct Args {
    cert: String,
    key: String,
    log: String,
    host: String,
    port: u16,
    ready: Option<String>,
    max_requests: u64,
    throttle_file: Option<String>,
}

/// `--name value` or `--name=value`; `Ok(None)` for --help.
fn parse_args(mut argv: impl Iterator<Item = String>) -> Result<Option<Args>, String> {
    let (mut cert, mut key, mut log, mut ready) = (None, None, None, None);
    let mut throttle_file = None;
    let (mut host, mut port, mut max_requests) = ("127.0.0.1".to_string(), 443, 100_000);
    while let Some(arg) = argv.next() {
        if arg == "-h" || arg == "--help" {
            return Ok(None);
        }
        let (name, inline) = match arg.split_once('=') {
            Some((name, value)) if name.starts_with("--") => {
                (name.to_string(), Some(value.to_string()))
            }
            _ => (arg, None),
        };
        let value = match inline.or_else(|| argv.next()) {
            Some(value) => value,
            None => return Err(format!("{name} needs a value")),
        };
        match name.as_str() {
            "--cert" => cert = Some(value),
            "--key" => key = Some(value),
            "--log" => log = Some(value),
            "--host" => host = value,
            "--port" => {
                port = value
                    .parse()
                    .map_err(|_| format!("--port: not a port: {value}"))?
            }
            "--ready" => ready = Some(value),
            "--throttle-file" => throttle_file = Some(value),
            "--max-requests" => {
                max_requests = value
                    .parse()
                    .map_err(|_| format!("--max-requests: not a count: {value}"))?
            }
            _ => return Err(format!("unknown argument {name}")),
        }
    }
    let required = |v: Option<String>, name: &str| v.ok_or_else(|| format!("{name} is required"));
    Ok(Some(Args {
        cert: required(cert, "--cert")?,
        key: required(key, "--key")?,
        log: required(log, "--log")?,
        host,
        port,
        ready,
        max_requests,
        throttle_file,
    }))
}

fn main() -> ExitCode {
    let args = match parse_args(std::env::args().skip(1)) {
        Ok(Some(args)) => args,
        Ok(None) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("{USAGE}\nfake-ecr: {e}");
            return ExitCode::from(2);
        }
    };
    match run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("fake-ecr: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: Args) -> Result<(), String> {
    if !args.host.starts_with("127.") {
        return Err("loopback only".into());
    }
    let server = Arc::new(Server::new(&args)?);
    let listener = TcpListener::bind((args.host.as_str(), args.port))
        .map_err(|e| format!("bind {}:{}: {e}", args.host, args.port))?;
    if let Some(ready) = &args.ready {
        std::fs::write(ready, std::process::id().to_string())
            .map_err(|e| format!("{ready}: {e}"))?;
    }
    loop {
        let sock = match listener.accept() {
            Ok((sock, _)) => sock,
            Err(e) => {
                // Out of descriptors, say: the clients already connected finish.
                eprintln!("fake-ecr: accept: {e}");
                thread::sleep(Duration::from_millis(10));
                continue;
            }
        };
        let accepted = Instant::now();
        let server = Arc::clone(&server);
        let spawned = thread::Builder::new().spawn(move || server.connection(sock, accepted));
        if let Err(e) = spawned {
            eprintln!("fake-ecr: no thread for a connection: {e}");
        }
    }
}

struct Server {
    tls: Arc<ServerConfig>,
    log: Mutex<Log>,
    max_requests: u64,
    throttle_file: Option<std::path::PathBuf>,
    urandom: File,
}

struct Log {
    file: File,
    count: u64,
}

impl Server {
    fn new(args: &Args) -> Result<Self, String> {
        let certs = CertificateDer::pem_file_iter(&args.cert)
            .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
            .map_err(|e| format!("{}: {e}", args.cert))?;
        let key =
            PrivateKeyDer::from_pem_file(&args.key).map_err(|e| format!("{}: {e}", args.key))?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let tls = ServerConfig::builder_with_provider(provider)
            .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
            .and_then(|b| b.with_no_client_auth().with_single_cert(certs, key))
            .map_err(|e| format!("TLS set-up: {e}"))?;
        let file = OpenOptions::new()
            .append(true)
            .create(true)
            .open(&args.log)
            .map_err(|e| format!("{}: {e}", args.log))?;
        let urandom = File::open("/dev/urandom").map_err(|e| format!("/dev/urandom: {e}"))?;
        Ok(Self {
            tls: Arc::new(tls),
            log: Mutex::new(Log { file, count: 0 }),
            max_requests: args.max_requests,
            throttle_file: args.throttle_file.as_ref().map(Into::into),
            urandom,
        })
    }

    /// Appends one log line, `fields` (the members of a JSON object) and the
    /// request number, and returns that number. Under one lock, so that the
    /// numbers follow the lines.
    fn record(&self, fields: &str) -> io::Result<u64> {
        let mut log = self
            .log
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        log.count += 1;
        let n = log.count;
        log.file
            .write_all(format!("{{{fields}, \"n\": {n}}}\n").as_bytes())?;
        Ok(n)
    }

    /// One connection, in its own thread: an error ends this connection only.
    fn connection(&self, mut sock: TcpStream, accepted: Instant) {
        if let Err(e) = self.serve(&mut sock, accepted) {
            // A client that just goes away is the normal end of a connection.
            if e.kind() != io::ErrorKind::UnexpectedEof
                && e.kind() != io::ErrorKind::ConnectionReset
            {
                eprintln!("fake-ecr: connection closed: {e}");
            }
        }
    }

    fn serve(&self, sock: &mut TcpStream, accepted: Instant) -> io::Result<()> {
        sock.set_nodelay(true)?;
        sock.set_read_timeout(Some(IO_TIMEOUT))?;
        sock.set_write_timeout(Some(IO_TIMEOUT))?;
        let mut conn = ServerConnection::new(Arc::clone(&self.tls)).map_err(io::Error::other)?;
        if let Err(e) = handshake(&mut conn, sock) {
            self.record(&format!(
                "\"error\": {}",
                py_json(&Value::from(format!("handshake: {e}")))
            ))?;
            return Err(e);
        }
        // Accept to handshake done: the fake's signing plus the client's own
        // work between the flights.
        let handshake_ms = round(accepted.elapsed().as_secs_f64() * 1000.0, 3);
        let mut tls = Stream::new(&mut conn, sock);
        let mut buf = Vec::new();
        while let Some(request) = read_request(&mut tls, &mut buf)? {
            let keep_alive = request.keep_alive();
            if request.expects_continue() {
                tls.write_all(b"HTTP/1.1 100 Continue\r\n\r\n")?;
            }
            let body = read_body(&mut tls, &mut buf, request.content_length()?)?;
            let answer = if request.method == "POST" {
                self.answer(&request, &body, handshake_ms)?
            } else {
                // Only POST is an API call: anything else is not logged, and
                // ends the connection.
                b"HTTP/1.1 501 Not Implemented\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                    .to_vec()
            };
            tls.write_all(&answer)?;
            tls.flush()?;
            if !keep_alive || request.method != "POST" {
                break;
            }
        }
        // Closed without close_notify: Content-Length has delimited every
        // answer already.
        Ok(())
    }

    /// Logs a POST and makes its answer (head and body, to be sent in one write).
    fn answer(&self, request: &Request, body: &[u8], handshake_ms: f64) -> io::Result<Vec<u8>> {
        let target = request.header("x-amz-target").unwrap_or_default();
        let doc: Value = if body.is_empty() {
            Value::Object(Default::default())
        } else {
            serde_json::from_slice(body).unwrap_or_else(|_| Value::Object(Default::default()))
        };
        let Value::Object(doc) = doc else {
            return Err(bad_request("the body is not a JSON object"));
        };
        // Absent, null or empty: none named.
        let ids = doc
            .get("registryIds")
            .filter(|v| truthy(v))
            .cloned()
            .unwrap_or(Value::Array(Vec::new()));
        let throttled = target == TARGET
            && self
                .throttle_file
                .as_ref()
                .is_some_and(|path| path.exists());
        let status = if target == TARGET && !throttled {
            200
        } else {
            400
        };
        let host = request.header("host");
        let user_agent: String = request
            .header("user-agent")
            .unwrap_or_default()
            .chars()
            .take(120)
            .collect();
        let now = unix_now();
        let n = self.record(&format!(
            "\"t\": {}, \"path\": {}, \"target\": {}, \"registryIds\": {}, \"host\": {}, \"user_agent\": {}, \"status\": {status}, \"handshake_ms\": {}",
            py_json(&Value::from(round(now, 6))),
            py_json(&Value::from(request.path.as_str())),
            py_json(&Value::from(target.as_str())),
            py_json(&ids),
            py_json(&Value::from(host.clone().unwrap_or_default())),
            py_json(&Value::from(user_agent)),
            py_json(&Value::from(handshake_ms)),
        ))?;
        if self.max_requests != 0 && n > self.max_requests {
            return Ok(http_answer(
                503,
                r#"{"__type": "ServiceUnavailableException", "message": "fake-ecr: request budget spent"}"#,
            ));
        }
        if throttled {
            return Ok(http_answer(
                400,
                r#"{"__type": "ThrottlingException", "message": "Rate exceeded"}"#,
            ));
        }
        if status != 200 {
            return Ok(http_answer(
                400,
                r#"{"__type": "UnknownOperationException"}"#,
            ));
        }
        let host = host.unwrap_or_else(|| DEFAULT_HOST.to_string());
        let region = host
            .split('.')
            .nth(2)
            .ok_or_else(|| bad_request("no region in the Host header"))?;
        let Value::Array(ids) = ids else {
            return Err(bad_request("registryIds is not a list"));
        };
        let accounts = if ids.is_empty() {
            vec![Value::from(DEFAULT_ACCOUNT)]
        } else {
            ids
        };
        let expires = now as u64 + LIFETIME_SECS;
        let mut entries = Vec::with_capacity(accounts.len());
        for account in &accounts {
            let name = match account {
                Value::String(s) => s.clone(),
                other => py_json(other),
            };
            let token = B64.encode(format!("AWS:{}", self.password(account, n, expires)?));
            entries.push(format!(
                "{{\"authorizationToken\": \"{token}\", \"expiresAt\": {expires}, \"proxyEndpoint\": {}}}",
                py_json(&Value::from(format!("https://{name}.dkr.ecr.{region}.amazonaws.com")))
            ));
        }
        Ok(http_answer(
            200,
            &format!("{{\"authorizationData\": [{}]}}", entries.join(", ")),
        ))
    }

    /// Shaped like a real ECR password: a base64 JSON envelope, ~2 KB.
    fn password(&self, account: &Value, n: u64, expires: u64) -> io::Result<String> {
        let mut random = [0u8; 1100 + 180];
        (&self.urandom).read_exact(&mut random)?;
        let (payload, datakey) = random.split_at(1100);
        let blob = format!(
            "{{\"payload\": \"{}\", \"datakey\": \"{}\", \"version\": \"2\", \"type\": \"DATA_KEY\", \"expiration\": {expires}, \"account\": {}, \"n\": {n}}}",
            B64.encode(payload),
            B64.encode(datakey),
            py_json(account),
        );
        Ok(format!("eyJ{}", &B64.encode(blob)[3..]))
    }
}

fn handshake(conn: &mut ServerConnection, sock: &mut TcpStream) -> io::Result<()> {
    while conn.is_handshaking() {
        if conn.complete_io(sock)? == (0, 0) {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
    }
    Ok(())
}

struct Request {
    method: String,
    path: String,
    version: String,
    /// Names lower-cased (they are case-insensitive); values read as
    /// ISO-8859-1, so that any byte can be logged.
    headers: Vec<(String, String)>,
}

impl Request {
    /// The first header of that (lower-case) name.
    fn header(&self, name: &str) -> Option<String> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
    }

    /// HTTP/1.1 keeps the connection unless the client says close.
    fn keep_alive(&self) -> bool {
        let close = self
            .header("connection")
            .is_some_and(|v| v.eq_ignore_ascii_case("close"));
        self.version == "HTTP/1.1" && !close
    }

    fn expects_continue(&self) -> bool {
        self.version == "HTTP/1.1"
            && self
                .header("expect")
                .is_some_and(|v| v.eq_ignore_ascii_case("100-continue"))
    }

    fn content_length(&self) -> io::Result<usize> {
        match self.header("content-length") {
            None => Ok(0),
            Some(v) => v
                .trim()
                .parse()
                .ok()
                .filter(|&len| len <= MAX_BODY)
                .ok_or_else(|| bad_request("bad Content-Length")),
        }
    }
}

/// Reads the next request's line and headers; `None` when the client has
/// closed the connection between requests.
fn read_request(tls: &mut impl Read, buf: &mut Vec<u8>) -> io::Result<Option<Request>> {
    let end = loop {
        if let Some(end) = head_end(buf) {
            break end;
        }
        if buf.len() > MAX_HEAD {
            return Err(bad_request("request head too long"));
        }
        if fill(tls, buf)? == 0 {
            return if buf.is_empty() {
                Ok(None)
            } else {
                Err(io::ErrorKind::UnexpectedEof.into())
            };
        }
    };
    let head: String = buf.drain(..end).map(char::from).collect();
    let mut lines = head.lines();
    let mut words = lines.next().unwrap_or_default().split_whitespace();
    let (Some(method), Some(path), Some(version), None) =
        (words.next(), words.next(), words.next(), words.next())
    else {
        return Err(bad_request("bad request line"));
    };
    if !version.starts_with("HTTP/") {
        return Err(bad_request("bad request line"));
    }
    let headers = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.trim().to_ascii_lowercase(), value.trim().to_string()))
        .collect();
    Ok(Some(Request {
        method: method.into(),
        path: path.into(),
        version: version.into(),
        headers,
    }))
}

/// The length of the head (request line, headers, empty line), once `buf`
/// holds all of it. Lines may end in CRLF or in a bare LF.
fn head_end(buf: &[u8]) -> Option<usize> {
    let mut start = 0;
    while let Some(i) = buf[start..].iter().position(|&b| b == b'\n') {
        let line = &buf[start..start + i];
        start += i + 1;
        // An empty first line (no request line) ends the head too: it is
        // then a bad request, which drops the connection.
        if line.is_empty() || line == b"\r" {
            return Some(start);
        }
    }
    None
}

fn read_body(tls: &mut impl Read, buf: &mut Vec<u8>, len: usize) -> io::Result<Vec<u8>> {
    while buf.len() < len {
        if fill(tls, buf)? == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
    }
    Ok(buf.drain(..len).collect())
}

/// Appends what the connection has; 0 at its end.
fn fill(tls: &mut impl Read, buf: &mut Vec<u8>) -> io::Result<usize> {
    let mut chunk = [0u8; 16 * 1024];
    let n = tls.read(&mut chunk)?;
    buf.extend_from_slice(&chunk[..n]);
    Ok(n)
}

fn http_answer(status: u16, body: &str) -> Vec<u8> {
    let reason = match status {
        200 => "OK",
        400 => "Bad Request",
        _ => "Service Unavailable",
    };
    let mut out = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: application/x-amz-json-1.1\r\nContent-Length: {}\r\nx-amzn-RequestId: {REQUEST_ID}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    out.extend_from_slice(body.as_bytes());
    out
}

fn bad_request(why: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, format!("bad request: {why}"))
}

/// False for null, false, 0, "", [] and {}.
fn truthy(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64() != Some(0.0),
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
    }
}

fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

fn round(x: f64, digits: i32) -> f64 {
    let scale = 10f64.powi(digits);
    (x * scale).round() / scale
}

/// JSON as Python's `json.dumps` writes it (", " and ": " separators, ASCII
/// only), the log's format since the benchmark's first, Python, fake.
fn py_json(v: &Value) -> String {
    let mut out = String::new();
    write_py_json(&mut out, v);
    out
}

fn write_py_json(out: &mut String, v: &Value) {
    match v {
        Value::Null | Value::Bool(_) | Value::Number(_) => out.push_str(&v.to_string()),
        Value::String(s) => write_py_str(out, s),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_py_json(out, item);
            }
            out.push(']');
        }
        Value::Object(members) => {
            out.push('{');
            for (i, (key, value)) in members.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_py_str(out, key);
                out.push_str(": ");
                write_py_json(out, value);
            }
            out.push('}');
        }
    }
}

fn write_py_str(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            ' '..='~' => out.push(c),
            _ => {
                for unit in c.encode_utf16(&mut [0; 2]) {
                    out.push_str(&format!("\\u{unit:04x}"));
                }
            }
        }
    }
    out.push('"');
}
