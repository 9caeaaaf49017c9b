//! Fakes of the machine credential endpoints, speaking the wire formats the
//! SDK's providers use (read off `aws-config`'s `imds/` and `ecs.rs`):
//!
//! - [`FakeImds`], EC2's instance metadata service, IMDSv2 only:
//!   `PUT /latest/api/token` with `x-aws-ec2-metadata-token-ttl-seconds`
//!   answers a session token (and that header); every `GET` must carry it
//!   in `x-aws-ec2-metadata-token` (else 401).
//!   `GET /latest/meta-data/iam/security-credentials/` answers the role's
//!   name, `GET …/<role>` its credentials as JSON.
//! - [`FakeContainerCreds`], ECS's task role endpoint and the EKS Pod
//!   Identity agent: `GET <path>` answers the credentials as JSON, and,
//!   when an authorization token is expected, only to a request whose
//!   `Authorization` header is exactly that token (else 401).
//!
//! Both are ordinary loopback servers on the host: a test puts them where
//! the SDK looks with `Netns::forward`. Each counts what it was asked, so a
//! test can tell that a cache hit did not consult the source.

use std::io::{self, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::loopback::{Head as Request, LoopbackServer, hold_silent, read_head, rfc3339};

/// Idle time after which a connection (or a silent fake) gives up.
const IDLE_TIMEOUT: Duration = Duration::from_secs(60);
/// How long the credentials the fakes hand out are valid.
const CREDENTIALS_LIFETIME_SECS: u64 = 6 * 3600;

/// Temporary credentials a fake hands out. `Debug` never shows the secret.
#[derive(Clone)]
pub struct RoleCredentials {
    pub access_key_id: String,
    pub secret_access_key: String,
    pub token: String,
}

impl std::fmt::Debug for RoleCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RoleCredentials")
            .field("access_key_id", &self.access_key_id)
            .finish_non_exhaustive()
    }
}

impl RoleCredentials {
    /// The JSON both endpoints answer with, valid for some hours.
    fn json(&self) -> String {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs();
        serde_json::json!({
            "Code": "Success",
            "LastUpdated": rfc3339(now as i64),
            "Type": "AWS-HMAC",
            "AccessKeyId": self.access_key_id,
            "SecretAccessKey": self.secret_access_key,
            "Token": self.token,
            "Expiration": rfc3339((now + CREDENTIALS_LIFETIME_SECS) as i64),
        })
        .to_string()
    }
}

/// How a fake answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Behaviour {
    /// As the real service does.
    Serve,
    /// IMDS: the token `PUT` gets 403 (IMDSv2 off, or the hop limit in a
    /// container). The container endpoint: every request gets 403.
    Forbidden,
    /// Accepts the connection, reads the request, and never answers.
    Silent,
}

/// What a fake was asked, in order: `"PUT /latest/api/token"`, …
#[derive(Default)]
struct State {
    requests: Vec<String>,
    /// Container endpoint: requests that carried the expected token.
    authorized: usize,
}

type Shared = Arc<Mutex<State>>;

fn lock(s: &Shared) -> MutexGuard<'_, State> {
    s.lock().unwrap_or_else(|e| e.into_inner())
}

/// EC2's instance metadata service with one instance role.
pub struct FakeImds {
    server: LoopbackServer,
    state: Shared,
}

/// The IMDSv2 session token the fake issues.
const IMDS_SESSION_TOKEN: &str = "fake-imds-session-token";

impl FakeImds {
    pub fn start(role: &str, credentials: RoleCredentials, behaviour: Behaviour) -> FakeImds {
        let state: Shared = Arc::default();
        let shared = Arc::clone(&state);
        let role = role.to_owned();
        let server = LoopbackServer::start("fake-imds", move |stream, stop| {
            let _ = serve(stream, stop, &shared, &|req| {
                imds_answer(&role, &credentials, behaviour, req)
            });
        });
        FakeImds { server, state }
    }

    pub fn addr(&self) -> SocketAddr {
        self.server.addr()
    }

    /// Every request so far, as `"METHOD path"`.
    pub fn requests(&self) -> Vec<String> {
        lock(&self.state).requests.clone()
    }

    /// How many requests asked for the role's credentials.
    pub fn credential_fetches(&self) -> usize {
        self.requests()
            .iter()
            .filter(|r| {
                r.starts_with("GET /latest/meta-data/iam/security-credentials/")
                    && !r.ends_with('/')
            })
            .count()
    }
}

fn imds_answer(
    role: &str,
    credentials: &RoleCredentials,
    behaviour: Behaviour,
    req: &Request,
) -> Answer {
    const CREDS: &str = "/latest/meta-data/iam/security-credentials/";
    if behaviour == Behaviour::Silent {
        return Answer::Silence;
    }
    if req.method == "PUT" && req.path == "/latest/api/token" {
        let Some(ttl) = req.header("x-aws-ec2-metadata-token-ttl-seconds") else {
            return Answer::status(400, "missing x-aws-ec2-metadata-token-ttl-seconds");
        };
        if behaviour == Behaviour::Forbidden {
            return Answer::status(403, "Forbidden");
        }
        return Answer::Reply {
            status: 200,
            headers: vec![("x-aws-ec2-metadata-token-ttl-seconds", ttl.to_owned())],
            body: IMDS_SESSION_TOKEN.to_owned(),
        };
    }
    if req.method != "GET" {
        return Answer::status(405, "Method Not Allowed");
    }
    if req.header("x-aws-ec2-metadata-token") != Some(IMDS_SESSION_TOKEN) {
        return Answer::status(401, "Unauthorized");
    }
    match req.path.strip_prefix(CREDS) {
        Some("") => Answer::text(200, role),
        Some(r) if r == role => Answer::json(credentials.json()),
        _ => Answer::status(404, "Not Found"),
    }
}

/// The container credentials endpoint (ECS task role, EKS Pod Identity).
pub struct FakeContainerCreds {
    server: LoopbackServer,
    state: Shared,
}

impl FakeContainerCreds {
    /// Serves `credentials` at `path`; with `authorization`, only to a
    /// request whose `Authorization` header is exactly it.
    pub fn start(
        path: &str,
        authorization: Option<&str>,
        credentials: RoleCredentials,
        behaviour: Behaviour,
    ) -> FakeContainerCreds {
        let state: Shared = Arc::default();
        let shared = Arc::clone(&state);
        let path = path.to_owned();
        let authorization = authorization.map(str::to_owned);
        let server = LoopbackServer::start("fake-container-creds", move |stream, stop| {
            let _ = serve(stream, stop, &shared, &|req| {
                if behaviour == Behaviour::Silent {
                    return Answer::Silence;
                }
                if behaviour == Behaviour::Forbidden {
                    return Answer::json_status(
                        403,
                        r#"{"Code":"AccessDenied","Message":"the authorization token was refused"}"#,
                    );
                }
                if req.method != "GET" || req.path != path {
                    return Answer::status(404, "Not Found");
                }
                if let Some(want) = &authorization
                    && req.header("authorization") != Some(want.as_str())
                {
                    return Answer::json_status(
                        401,
                        r#"{"Code":"AccessDenied","Message":"bad authorization token"}"#,
                    );
                }
                if authorization.is_some() {
                    lock(&shared).authorized += 1;
                }
                Answer::json(credentials.json())
            });
        });
        FakeContainerCreds { server, state }
    }

    /// Requests that carried the expected `Authorization` token.
    pub fn authorized(&self) -> usize {
        lock(&self.state).authorized
    }

    pub fn addr(&self) -> SocketAddr {
        self.server.addr()
    }

    /// Every request so far, as `"METHOD path"`.
    pub fn requests(&self) -> Vec<String> {
        lock(&self.state).requests.clone()
    }
}

// --- a minimal HTTP/1.1 server side -----------------------------------------

enum Answer {
    Reply {
        status: u16,
        headers: Vec<(&'static str, String)>,
        body: String,
    },
    Silence,
}

impl Answer {
    fn text(status: u16, body: &str) -> Answer {
        Answer::Reply {
            status,
            headers: vec![("Content-Type", "text/plain".into())],
            body: body.to_owned(),
        }
    }
    fn status(status: u16, body: &str) -> Answer {
        Answer::text(status, body)
    }
    fn json(body: String) -> Answer {
        Answer::json_status(200, &body)
    }
    fn json_status(status: u16, body: &str) -> Answer {
        Answer::Reply {
            status,
            headers: vec![("Content-Type", "application/json".into())],
            body: body.to_owned(),
        }
    }
}

fn serve(
    stream: TcpStream,
    stop: &AtomicBool,
    state: &Shared,
    answer: &dyn Fn(&Request) -> Answer,
) -> io::Result<()> {
    stream.set_read_timeout(Some(IDLE_TIMEOUT))?;
    let mut writer = stream.try_clone()?;
    let mut reader = BufReader::new(stream);
    while let Some(req) = read_request(&mut reader)? {
        lock(state)
            .requests
            .push(format!("{} {}", req.method, req.path));
        match answer(&req) {
            Answer::Silence => return hold_silent(reader.get_mut(), stop),
            Answer::Reply {
                status,
                headers,
                body,
            } => {
                let mut head = format!(
                    "HTTP/1.1 {status} {}\r\nContent-Length: {}\r\n",
                    reason(status),
                    body.len()
                );
                for (k, v) in headers {
                    head.push_str(&format!("{k}: {v}\r\n"));
                }
                head.push_str("\r\n");
                writer.write_all(head.as_bytes())?;
                writer.write_all(body.as_bytes())?;
                writer.flush()?;
            }
        }
    }
    Ok(())
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        _ => "Other",
    }
}

/// One request's head (and its body, skipped); `None` at end of stream.
fn read_request(reader: &mut BufReader<TcpStream>) -> io::Result<Option<Request>> {
    let Some(req) = read_head(reader)? else {
        return Ok(None);
    };
    let len: u64 = req
        .header("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    io::copy(&mut reader.by_ref().take(len), &mut io::sink())?;
    Ok(Some(req))
}
