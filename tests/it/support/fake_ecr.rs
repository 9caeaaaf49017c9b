//! A fake Amazon ECR / ECR Public API of our own: std only, plain HTTP/1.1 on
//! 127.0.0.1 (never any other interface).
//!
//! The helper reaches it through `AWS_ENDPOINT_URL_ECR` and
//! `AWS_ENDPOINT_URL_ECR_PUBLIC` (see [`FakeEcr::attach`]). It speaks just
//! enough awsJson1_1 for `GetAuthorizationToken`, does not check signatures,
//! records every request, and can be scripted while it runs (token lifetime,
//! queued faults, "API down", delay, password override).
//!
//! Faults come in two kinds: API errors (throttling, 5xx, denial) and broken
//! answers (a server that never answers, a connection cut or reset in the
//! middle of the body, truncated JSON, tokens that do not decode, a missing
//! expiry, a 10 MB body), for the reliability tests in `tests/it/faults.rs`.
//!
//! It stops accepting when the [`FakeEcr`] is dropped; connection threads
//! end when their client closes the connection (or after an idle timeout).

use std::collections::VecDeque;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;

use super::Sandbox;
use super::loopback::{Head, LoopbackServer, hold_silent, read_head};

/// `X-Amz-Target` of ECR's GetAuthorizationToken.
pub const ECR_TARGET: &str = "AmazonEC2ContainerRegistry_V20150921.GetAuthorizationToken";
/// `X-Amz-Target` of ECR Public's GetAuthorizationToken.
pub const ECR_PUBLIC_TARGET: &str = "SpencerFrontendService.GetAuthorizationToken";
/// Registry answered for when an ECR request names no `registryIds`.
pub const DEFAULT_ACCOUNT: &str = "123456789012";
/// Default token lifetime: 12 hours, like the real service.
pub const DEFAULT_LIFETIME_SECS: f64 = 12.0 * 3600.0;

/// Idle time after which a kept-alive connection thread gives up.
const IDLE_TIMEOUT: Duration = Duration::from_secs(60);

/// A scripted failure for one call (or for every call, see
/// [`FakeEcr::fail_always`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// 400 `ThrottlingException` (retryable by the SDK).
    Throttle,
    /// 500 `ServerException` (retryable by the SDK).
    ServerError,
    /// 429 `TooManyRequestsException` (retryable by the SDK).
    TooManyRequests,
    /// 400 `AccessDeniedException` (not retryable).
    AccessDenied,
    /// Reads the request and never answers; the connection is held open
    /// until the client gives up (or 60 s pass, or the fake is dropped).
    Hang,
    /// Sends the head of a 200 answer and half its body, then resets the
    /// connection (TCP RST).
    ResetMidBody,
    /// Sends the head of a 200 answer and half its body, then closes the
    /// connection cleanly (FIN): fewer bytes than `Content-Length` says.
    EofMidBody,
    /// A complete HTTP 200 whose JSON body is cut in half.
    TruncatedJson,
    /// A 200 whose `authorizationToken` is not base64.
    NotBase64,
    /// A 200 whose `authorizationToken` is base64 of `USER:<password>`,
    /// not `AWS:<password>`.
    NotAwsUser,
    /// A 200 with a good token but no `expiresAt`.
    NoExpiry,
    /// A 200 of more than 10 MB: a good answer plus a 10 MB field the API
    /// does not define.
    HugeBody,
    /// A 200 whose token itself is 10 MB (a 10 MB password).
    HugeToken,
}

/// Size of the padding of [`Fault::HugeBody`] and of the password of
/// [`Fault::HugeToken`].
pub const HUGE_BYTES: usize = 10 * 1024 * 1024;

impl Fault {
    /// The error answer of an API-error fault; `None` for the others.
    fn error_response(self) -> Option<Response> {
        let (status, kind, message) = match self {
            Fault::Throttle => (400, "ThrottlingException", "Rate exceeded"),
            Fault::ServerError => (500, "ServerException", "boom"),
            Fault::TooManyRequests => (429, "TooManyRequestsException", "Too Many Requests"),
            Fault::AccessDenied => (400, "AccessDeniedException", "not authorized"),
            _ => return None,
        };
        Some(Response::error(status, kind, message))
    }
}

/// One request the fake received.
#[derive(Clone, Debug)]
pub struct Call {
    pub method: String,
    pub path: String,
    /// `X-Amz-Target` ("" when absent).
    pub target: String,
    /// `registryIds` from the JSON body (`None` when absent).
    pub registry_ids: Option<Vec<String>>,
    /// Region of the SigV4 credential scope, if the request was signed.
    pub region: Option<String>,
    /// Signing service of the SigV4 credential scope (`ecr`, `ecr-public`).
    pub service: Option<String>,
    /// Access key id of the SigV4 credential scope.
    pub access_key_id: Option<String>,
    /// Status the fake answered with (0 for [`Fault::Hang`]; for a cut
    /// answer, the status of its head).
    pub status: u16,
    /// Passwords issued (one per authorizationData entry; empty on error).
    pub passwords: Vec<String>,
    /// `expiresAt` sent back (epoch seconds), on success.
    pub expires_at: Option<f64>,
    /// The `authorizationToken` values sent back, as sent (well-formed or
    /// not); empty on error.
    pub tokens: Vec<String>,
    /// The fault this call was answered with, if any.
    pub fault: Option<Fault>,
    /// When the request arrived (epoch seconds).
    pub at: f64,
}

struct State {
    lifetime_secs: f64,
    faults: VecDeque<Fault>,
    always: Option<Fault>,
    delay: Duration,
    password: Option<String>,
    calls: Vec<Call>,
}

struct Inner {
    state: Mutex<State>,
}

impl Inner {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A panicking test thread must not poison the fake for the others.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The running fake. Dropping it stops accepting connections.
pub struct FakeEcr {
    server: LoopbackServer,
    inner: Arc<Inner>,
}

impl FakeEcr {
    /// Binds 127.0.0.1:0 and starts serving.
    pub fn start() -> FakeEcr {
        let inner = Arc::new(Inner {
            state: Mutex::new(State {
                lifetime_secs: DEFAULT_LIFETIME_SECS,
                faults: VecDeque::new(),
                always: None,
                delay: Duration::ZERO,
                password: None,
                calls: Vec::new(),
            }),
        });
        let shared = Arc::clone(&inner);
        let server = LoopbackServer::start("fake-ecr", move |stream, stop| {
            let _ = serve_connection(stream, &shared, stop);
        });
        FakeEcr { server, inner }
    }

    pub fn addr(&self) -> SocketAddr {
        self.server.addr()
    }

    /// `http://127.0.0.1:PORT`
    pub fn url(&self) -> String {
        format!("http://{}", self.addr())
    }

    /// Points the sandbox's ECR and ECR Public endpoints at this fake.
    pub fn attach(&self, sb: &mut Sandbox) {
        let url = self.url();
        sb.set("AWS_ENDPOINT_URL_ECR", &url)
            .set("AWS_ENDPOINT_URL_ECR_PUBLIC", &url);
    }

    /// Lifetime of the tokens issued from now on, in seconds from the moment
    /// the request arrives; negative means already expired.
    pub fn set_lifetime(&self, secs: f64) {
        self.inner.lock().lifetime_secs = secs;
    }

    /// Appends faults for the next calls; once used up, calls succeed again
    /// (unless [`FakeEcr::fail_always`] is set).
    pub fn queue_faults(&self, faults: &[Fault]) {
        self.inner.lock().faults.extend(faults.iter().copied());
    }

    pub fn queue_fault(&self, fault: Fault) {
        self.queue_faults(&[fault]);
    }

    /// Every call (after any queued faults) fails with `fault`; `None` heals.
    pub fn fail_always(&self, fault: Option<Fault>) {
        self.inner.lock().always = fault;
    }

    /// Shorthand: API down (always 500) or back up.
    pub fn set_down(&self, down: bool) {
        self.fail_always(down.then_some(Fault::ServerError));
    }

    /// Time to wait before answering each request (the call is recorded on
    /// arrival, before the wait).
    pub fn set_delay(&self, delay: Duration) {
        self.inner.lock().delay = delay;
    }

    /// Password of the tokens issued from now on; `None` restores the default
    /// `<registryId>-fake-token-<n>` (`public-fake-token-<n>` for ECR Public).
    pub fn set_password(&self, password: Option<&str>) {
        self.inner.lock().password = password.map(str::to_owned);
    }

    /// Number of requests received so far (successful or not).
    pub fn calls(&self) -> usize {
        self.inner.lock().calls.len()
    }

    /// Every request received so far, in arrival order.
    pub fn call_log(&self) -> Vec<Call> {
        self.inner.lock().calls.clone()
    }

    /// `registryIds` of every request (empty when the body had none).
    pub fn registry_ids(&self) -> Vec<Vec<String>> {
        self.inner
            .lock()
            .calls
            .iter()
            .map(|c| c.registry_ids.clone().unwrap_or_default())
            .collect()
    }

    /// `X-Amz-Target` of every request.
    pub fn targets(&self) -> Vec<String> {
        self.inner
            .lock()
            .calls
            .iter()
            .map(|c| c.target.clone())
            .collect()
    }

    /// The password the default scheme gives call number `n` (1-based).
    pub fn default_password(registry_id: &str, n: usize) -> String {
        format!("{registry_id}-fake-token-{n}")
    }
}

struct Request {
    method: String,
    path: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Request {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

struct Response {
    status: u16,
    headers: Vec<(&'static str, String)>,
    body: String,
}

impl Response {
    fn json(status: u16, body: serde_json::Value) -> Response {
        Response {
            status,
            headers: Vec::new(),
            body: body.to_string(),
        }
    }

    fn error(status: u16, kind: &str, message: &str) -> Response {
        let mut r = Response::json(
            status,
            serde_json::json!({ "__type": kind, "message": message }),
        );
        r.headers.push(("x-amzn-ErrorType", kind.to_owned()));
        r
    }
}

fn serve_connection(stream: TcpStream, inner: &Inner, stop: &AtomicBool) -> io::Result<()> {
    stream.set_read_timeout(Some(IDLE_TIMEOUT))?;
    stream.set_write_timeout(Some(IDLE_TIMEOUT))?;
    let _ = stream.set_nodelay(true);
    let mut writer = stream.try_clone()?;
    let mut reader = BufReader::new(stream);
    while let Some(req) = read_request(&mut reader, &mut writer)? {
        let close = req
            .header("connection")
            .is_some_and(|v| v.eq_ignore_ascii_case("close"));
        match handle(inner, &req) {
            Reply::Send(resp) => write_response(&mut writer, &resp, close)?,
            Reply::Hang => return hold_silent(reader.get_mut(), stop),
            Reply::Cut { resp, reset } => {
                let head = response_head(&resp, close);
                writer.write_all(head.as_bytes())?;
                writer.write_all(&resp.body.as_bytes()[..resp.body.len() / 2])?;
                writer.flush()?;
                if reset {
                    set_linger_zero(&writer);
                } else {
                    writer.shutdown(std::net::Shutdown::Write)?;
                }
                // Both handles close on return: RST with a zero linger.
                return Ok(());
            }
        }
        if close {
            break;
        }
    }
    Ok(())
}

/// Makes closing the socket send a TCP RST instead of a FIN (SO_LINGER
/// of zero, on Unix and Windows).
fn set_linger_zero(stream: &TcpStream) {
    let _ = socket2::SockRef::from(stream).set_linger(Some(Duration::ZERO));
}

/// Reads one request; `None` on a clean end of stream between requests.
fn read_request(
    reader: &mut BufReader<TcpStream>,
    writer: &mut TcpStream,
) -> io::Result<Option<Request>> {
    let Some(Head {
        method,
        path,
        headers,
    }) = read_head(reader)?
    else {
        return Ok(None);
    };
    let mut req = Request {
        method,
        path,
        headers,
        body: Vec::new(),
    };

    if req
        .header("expect")
        .is_some_and(|v| v.eq_ignore_ascii_case("100-continue"))
    {
        writer.write_all(b"HTTP/1.1 100 Continue\r\n\r\n")?;
        writer.flush()?;
    }

    if req
        .header("transfer-encoding")
        .is_some_and(|v| v.to_ascii_lowercase().contains("chunked"))
    {
        req.body = read_chunked(reader)?;
    } else {
        let len: usize = req
            .header("content-length")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        let mut body = vec![0; len];
        reader.read_exact(&mut body)?;
        req.body = body;
    }
    Ok(Some(req))
}

fn read_chunked(reader: &mut BufReader<TcpStream>) -> io::Result<Vec<u8>> {
    let mut body = Vec::new();
    let mut line = String::new();
    loop {
        line.clear();
        reader.read_line(&mut line)?;
        let size_hex = line.trim().split(';').next().unwrap_or("0");
        let size = usize::from_str_radix(size_hex, 16)
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "bad chunk size"))?;
        if size == 0 {
            // Trailers up to the empty line.
            loop {
                line.clear();
                if reader.read_line(&mut line)? == 0 || line.trim().is_empty() {
                    return Ok(body);
                }
            }
        }
        let start = body.len();
        body.resize(start + size, 0);
        reader.read_exact(&mut body[start..])?;
        line.clear();
        reader.read_line(&mut line)?; // CRLF after the chunk
    }
}

/// What the fake does with a request.
enum Reply {
    Send(Response),
    /// Never answer.
    Hang,
    /// Send the head and half the body, then close (`reset`: with a RST).
    Cut {
        resp: Response,
        reset: bool,
    },
}

fn write_response(w: &mut TcpStream, resp: &Response, close: bool) -> io::Result<()> {
    let mut out = response_head(resp, close).into_bytes();
    out.extend_from_slice(resp.body.as_bytes());
    w.write_all(&out)?;
    w.flush()
}

fn response_head(resp: &Response, close: bool) -> String {
    let reason = match resp.status {
        200 => "OK",
        400 => "Bad Request",
        404 => "Not Found",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        _ => "Unknown",
    };
    let mut out = format!(
        "HTTP/1.1 {} {reason}\r\nContent-Type: application/x-amz-json-1.1\r\nContent-Length: {}\r\nx-amzn-RequestId: fake-{}\r\nConnection: {}\r\n",
        resp.status,
        resp.body.len(),
        now_secs().to_bits(),
        if close { "close" } else { "keep-alive" },
    );
    for (k, v) in &resp.headers {
        out.push_str(&format!("{k}: {v}\r\n"));
    }
    out.push_str("\r\n");
    out
}

fn now_secs() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs_f64()
}

/// `(access key id, region, service)` from a SigV4 `Authorization` header.
fn credential_scope(auth: &str) -> Option<(String, String, String)> {
    let rest = &auth[auth.find("Credential=")? + "Credential=".len()..];
    let cred = rest.split([',', ' ']).next()?;
    let mut it = cred.split('/');
    let key = it.next()?.to_owned();
    let _date = it.next()?;
    let region = it.next()?.to_owned();
    let service = it.next()?.to_owned();
    Some((key, region, service))
}

fn handle(inner: &Inner, req: &Request) -> Reply {
    let arrived = now_secs();
    let target = req.header("x-amz-target").unwrap_or_default().to_owned();
    let scope = req.header("authorization").and_then(credential_scope);
    let body: Option<serde_json::Value> = if req.body.is_empty() {
        Some(serde_json::json!({}))
    } else {
        serde_json::from_slice(&req.body).ok()
    };
    let registry_ids = body
        .as_ref()
        .and_then(|b| b.get("registryIds"))
        .and_then(|v| v.as_array())
        .map(|ids| {
            ids.iter()
                .map(|id| id.as_str().unwrap_or_default().to_owned())
                .collect::<Vec<_>>()
        });
    let region = scope
        .as_ref()
        .map(|s| s.1.clone())
        .unwrap_or_else(|| "us-east-1".to_owned());

    let mut call = Call {
        method: req.method.clone(),
        path: req.path.clone(),
        target: target.clone(),
        registry_ids: registry_ids.clone(),
        region: scope.as_ref().map(|s| s.1.clone()),
        service: scope.as_ref().map(|s| s.2.clone()),
        access_key_id: scope.as_ref().map(|s| s.0.clone()),
        status: 0,
        passwords: Vec::new(),
        expires_at: None,
        tokens: Vec::new(),
        fault: None,
        at: arrived,
    };

    let (delay, reply) = {
        let mut s = inner.lock();
        let n = s.calls.len() + 1;
        let fault = if req.method == "POST"
            && body.is_some()
            && (target == ECR_TARGET || target == ECR_PUBLIC_TARGET)
        {
            s.faults.pop_front().or(s.always)
        } else {
            None
        };
        call.fault = fault;
        let reply = if req.method != "POST" {
            Reply::Send(Response::error(
                404,
                "UnknownOperationException",
                "not found",
            ))
        } else if body.is_none() {
            Reply::Send(Response::error(
                400,
                "SerializationException",
                "bad JSON body",
            ))
        } else if target != ECR_TARGET && target != ECR_PUBLIC_TARGET {
            Reply::Send(Response::error(
                400,
                "UnknownOperationException",
                "unknown target",
            ))
        } else if let Some(resp) = fault.and_then(Fault::error_response) {
            Reply::Send(resp)
        } else if fault == Some(Fault::Hang) {
            Reply::Hang
        } else {
            let expires_at = arrived + s.lifetime_secs;
            if fault != Some(Fault::NoExpiry) {
                call.expires_at = Some(expires_at);
            }
            let mut issue = |id: &str| -> serde_json::Value {
                let mut password = s
                    .password
                    .clone()
                    .unwrap_or_else(|| FakeEcr::default_password(id, n));
                if fault == Some(Fault::HugeToken) {
                    password = format!("{password}-{}", "p".repeat(HUGE_BYTES));
                }
                let token = match fault {
                    Some(Fault::NotBase64) => format!("!!not~base64:{password}!!"),
                    Some(Fault::NotAwsUser) => {
                        base64::engine::general_purpose::STANDARD.encode(format!("USER:{password}"))
                    }
                    _ => basic_token(&password),
                };
                let mut data = serde_json::json!({ "authorizationToken": token });
                if fault != Some(Fault::NoExpiry) {
                    data["expiresAt"] = serde_json::json!(expires_at);
                }
                call.passwords.push(password);
                call.tokens.push(token);
                data
            };
            let mut answer = if target == ECR_PUBLIC_TARGET {
                let data = issue("public");
                serde_json::json!({ "authorizationData": data })
            } else {
                let ids = match &registry_ids {
                    Some(ids) if !ids.is_empty() => ids.clone(),
                    _ => vec![DEFAULT_ACCOUNT.to_owned()],
                };
                let data: Vec<_> = ids
                    .iter()
                    .map(|id| {
                        let mut entry = issue(id);
                        entry["proxyEndpoint"] = serde_json::json!(format!(
                            "https://{id}.dkr.ecr.{region}.amazonaws.com"
                        ));
                        entry
                    })
                    .collect();
                serde_json::json!({ "authorizationData": data })
            };
            if fault == Some(Fault::HugeBody) {
                answer["padding"] = serde_json::json!("x".repeat(HUGE_BYTES));
            }
            let mut resp = Response::json(200, answer);
            match fault {
                Some(Fault::TruncatedJson) => {
                    resp.body.truncate(resp.body.len() / 2);
                    Reply::Send(resp)
                }
                Some(Fault::ResetMidBody) => Reply::Cut { resp, reset: true },
                Some(Fault::EofMidBody) => Reply::Cut { resp, reset: false },
                _ => Reply::Send(resp),
            }
        };
        call.status = match &reply {
            Reply::Send(r) | Reply::Cut { resp: r, .. } => r.status,
            Reply::Hang => 0,
        };
        s.calls.push(call);
        (s.delay, reply)
    };
    if !delay.is_zero() {
        thread::sleep(delay);
    }
    reply
}

/// base64 of `AWS:<password>`, as ECR's `authorizationToken`.
pub fn basic_token(password: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(format!("AWS:{password}"))
}
