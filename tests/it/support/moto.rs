//! A real `moto_server` (PyPI `moto[server]`, pinned by `scripts/test.sh`)
//! on 127.0.0.1, one process per [`Moto`], killed when it is dropped.
//!
//! Where the executable comes from: `$MOTO_SERVER`, else
//! `<repo>/target/test-venv/bin/moto_server`, else `moto_server` on `PATH`.
//! With none of them, a test that needs moto skips, or fails with
//! `ECR_LOGIN_TEST_ALL=1` (`support::require(Need::Moto)`), telling to run
//! `scripts/test.sh`.
//!
//! moto is started with `-p 0` (the OS picks a free port; the port is read off
//! the "Running on http://127.0.0.1:PORT" line werkzeug prints once the socket
//! is bound), `TZ=UTC`, and its request recorder on: every request it receives
//! is appended to a file before it is handled, so [`Moto::recorded`] tells
//! exactly what the helper sent, without any timing.
//!
//! Facts about moto 5.2.1 these helpers rely on (read off its source):
//! - `GetAuthorizationToken` answers, for each id in `registryIds` (default:
//!   the caller's account, 123456789012), the token `base64("AWS:<id>-auth-token")`
//!   with `expiresAt` = 2015-01-01 00:00 in moto's local time (so UTC here) and
//!   `proxyEndpoint` `https://<id>.dkr.ecr.<region>.amazonaws.com`
//!   (`moto/ecr/responses.py`).
//! - Signatures are not checked at all until `POST /moto-api/reset-auth`
//!   (body: a number N). After it, the next N actions pass unchecked and every
//!   later one must be SigV4-signed with an IAM access key moto knows, whose
//!   policies allow the action (`moto/core/authorization.py`).
//! - In server mode the service is inferred from the credential scope of the
//!   `Authorization` header, so unchecked requests only need a well-formed one.

use std::cell::Cell;
use std::fmt;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use base64::Engine as _;

use super::Sandbox;

/// Account moto answers for when the caller's key is not an IAM key it made.
pub const DEFAULT_ACCOUNT: &str = "123456789012";
/// `X-Amz-Target` of ECR's GetAuthorizationToken.
pub const ECR_TOKEN_TARGET: &str = "AmazonEC2ContainerRegistry_V20150921.GetAuthorizationToken";
/// How long moto may take to start (imports are slow on a loaded machine).
const START_LIMIT: Duration = Duration::from_secs(60);
/// Upper bound for one request to moto's own API.
const IO_LIMIT: Duration = Duration::from_secs(60);

/// The password moto hands out for `registry_id`.
pub fn moto_password(registry_id: &str) -> String {
    format!("{registry_id}-auth-token")
}

const HOW: &str = "run `scripts/test.sh` (it installs the pinned moto[server] into \
                   target/test-venv), or point MOTO_SERVER at a moto_server executable";

/// Where `moto_server` is, or a failure message telling how to get it.
pub fn moto_server_path() -> PathBuf {
    if let Some(p) = std::env::var_os("MOTO_SERVER").filter(|p| !p.is_empty()) {
        let p = PathBuf::from(p);
        assert!(
            p.is_file(),
            "MOTO_SERVER={} is not a file: {HOW}",
            p.display()
        );
        return p;
    }
    find_moto_server().unwrap_or_else(|e| panic!("{e}: {HOW}"))
}

/// Where `moto_server` is when `MOTO_SERVER` is unset: the venv
/// `scripts/test.sh` makes, else `PATH`; or what was looked at.
pub fn find_moto_server() -> Result<PathBuf, String> {
    let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/test-venv/bin/moto_server");
    if venv.is_file() {
        return Ok(venv);
    }
    if let Some(path) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&path) {
            let p = dir.join("moto_server");
            if p.is_file() {
                return Ok(p);
            }
        }
    }
    Err(format!(
        "moto_server not found (MOTO_SERVER unset, no {}, none on PATH)",
        venv.display()
    ))
}

/// An IAM access key moto created. `Debug` never shows the secret.
#[derive(Clone)]
pub struct AccessKey {
    pub id: String,
    pub secret: String,
}

impl fmt::Debug for AccessKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccessKey")
            .field("id", &self.id)
            .field("secret", &"<redacted>")
            .finish()
    }
}

/// Temporary credentials moto issued (STS): a key and its session token.
/// `Debug` never shows the secret or the token.
#[derive(Clone)]
pub struct SessionKey {
    pub key: AccessKey,
    pub token: String,
}

impl fmt::Debug for SessionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionKey")
            .field("key", &self.key)
            .field("token", &"<redacted>")
            .finish()
    }
}

/// One request moto received, as its recorder wrote it down.
#[derive(Clone, Debug)]
pub struct Recorded {
    pub method: String,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Recorded {
    /// A header's value, the name matched case-insensitively.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn target(&self) -> Option<&str> {
        self.header("x-amz-target")
    }

    /// Fields of the SigV4 credential scope: (access key id, date, region, service).
    fn scope(&self) -> Option<[&str; 4]> {
        let auth = self.header("authorization")?;
        let cred = auth.split("Credential=").nth(1)?.split([',', ' ']).next()?;
        let mut it = cred.split('/');
        Some([it.next()?, it.next()?, it.next()?, it.next()?])
    }

    /// The access key id the request was signed with.
    pub fn access_key_id(&self) -> Option<&str> {
        self.scope().map(|s| s[0])
    }

    /// The region the request was signed for.
    pub fn signing_region(&self) -> Option<&str> {
        self.scope().map(|s| s[2])
    }

    /// The service the request was signed for.
    pub fn signing_service(&self) -> Option<&str> {
        self.scope().map(|s| s[3])
    }

    /// The body parsed as JSON (`Null` when empty).
    pub fn json(&self) -> serde_json::Value {
        if self.body.is_empty() {
            return serde_json::Value::Null;
        }
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "recorded body is not JSON ({e}): {:?}",
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    /// `registryIds` of a GetAuthorizationToken request (empty when absent).
    pub fn registry_ids(&self) -> Vec<String> {
        self.json()["registryIds"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|v| v.as_str().expect("registry id is a string").to_owned())
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// A running `moto_server` of our own.
pub struct Moto {
    child: Child,
    port: u16,
    dir: tempfile::TempDir,
    stderr: Arc<Mutex<String>>,
    auth: Cell<bool>,
}

/// moto answers every `GetAuthorizationToken` with a token that expired
/// in 2015. For suites that need a live one (`doctor` refuses an expired
/// token), its answer is given a 12-hour expiry before it is sent.
const LIVE_TOKENS: &str = r#"
import sys, time
from moto.ecr import responses
answer = responses.ECRResponse.get_authorization_token
def live(self):
    result = answer(self)
    for data in result.result["authorizationData"]:
        data["expiresAt"] = time.time() + 12 * 3600
    return result
responses.ECRResponse.get_authorization_token = live
from moto.server import main
sys.exit(main(sys.argv[1:]))
"#;

impl Moto {
    /// Starts a fresh moto on 127.0.0.1 and waits until it listens.
    pub fn start() -> Moto {
        Self::start_with(None)
    }

    /// As `start`, with tokens that expire in 12 hours, not in 2015.
    pub fn start_with_live_tokens() -> Moto {
        Self::start_with(Some(LIVE_TOKENS))
    }

    fn start_with(script: Option<&str>) -> Moto {
        let exe = moto_server_path();
        let dir = tempfile::tempdir().expect("tempdir for moto");
        let mut command = match script {
            None => Command::new(&exe),
            // The interpreter moto_server runs with: a virtualenv's beside
            // it, else the one its first line names, else python3.
            Some(script) => {
                let dir = exe.parent().unwrap_or(Path::new("."));
                let beside = ["python3", "python"]
                    .iter()
                    .map(|n| dir.join(n))
                    .find(|p| p.is_file());
                let shebang = std::fs::read_to_string(&exe).ok().and_then(|text| {
                    let line = text.lines().next()?.strip_prefix("#!")?.trim().to_owned();
                    line.contains("python").then_some(line)
                });
                let mut words: Vec<String> = match (beside, shebang) {
                    (Some(p), _) => vec![p.to_string_lossy().into_owned()],
                    (None, Some(line)) => line.split_whitespace().map(str::to_owned).collect(),
                    (None, None) => vec!["python3".into()],
                };
                let python = words.remove(0);
                let mut c = Command::new(python);
                c.args(words).args(["-c", script]);
                c
            }
        };
        let mut child = command
            .args(["-H", "127.0.0.1", "-p", "0"])
            .current_dir(dir.path())
            .env("TZ", "UTC")
            .env("PYTHONUNBUFFERED", "1")
            .env("MOTO_ENABLE_RECORDING", "true")
            .env("MOTO_RECORDER_FILEPATH", dir.path().join("recording.jsonl"))
            .env("AWS_EC2_METADATA_DISABLED", "true")
            // Anything that would change the account or switch auth on early.
            .env_remove("INITIAL_NO_AUTH_ACTION_COUNT")
            .env_remove("MOTO_ACCOUNT_ID")
            .env_remove("MOTO_CALL_RESET_API")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", exe.display()));

        let stderr = Arc::new(Mutex::new(String::new()));
        let (tx, rx) = mpsc::channel::<u16>();
        let pipe = child.stderr.take().expect("moto stderr");
        let log = Arc::clone(&stderr);
        thread::spawn(move || {
            let mut tx = Some(tx);
            for line in BufReader::new(pipe).lines() {
                let Ok(line) = line else { break };
                if let Some(port) = tx.as_ref().and_then(|_| listening_port(&line)) {
                    let _ = tx.take().unwrap().send(port);
                }
                let mut log = log.lock().unwrap();
                log.push_str(&line);
                log.push('\n');
            }
            // Dropping `tx` here tells a waiting `start` that moto died.
        });

        let port = match rx.recv_timeout(START_LIMIT) {
            Ok(port) => port,
            Err(e) => {
                let _ = child.kill();
                let status = child.wait().ok();
                panic!(
                    "moto_server ({}) did not start listening ({e:?}; exit: {status:?}); \
                     its stderr:\n{}",
                    exe.display(),
                    stderr.lock().unwrap()
                );
            }
        };
        let moto = Moto {
            child,
            port,
            dir,
            stderr,
            auth: Cell::new(false),
        };
        // Prove it is moto answering on that port.
        let (status, body) = moto.request("GET", "/moto-api/data.json", &[], b"");
        assert_eq!(status, 200, "moto-api not ready: {body}");
        moto
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// `http://127.0.0.1:PORT`
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Points the helper run by `sandbox` at this moto, for every service and
    /// for ECR in particular.
    pub fn attach(&self, sandbox: &mut Sandbox) {
        let url = self.endpoint();
        sandbox
            .set("AWS_ENDPOINT_URL", &url)
            .set("AWS_ENDPOINT_URL_ECR", &url);
    }

    /// What moto printed on stderr so far (werkzeug's request log, tracebacks).
    pub fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// Wipes moto's state (`POST /moto-api/reset`): IAM users, recorder file
    /// stays as is. Does not change the auth setting.
    pub fn reset(&self) {
        let (status, body) = self.request("POST", "/moto-api/reset", &[], b"");
        assert_eq!(status, 200, "moto reset: {body}");
    }

    /// Switches SigV4 checking on for every later action: `reset-auth` with
    /// `0` unchecked actions left.
    pub fn enable_auth(&self) {
        self.reset_auth(0);
        self.auth.set(true);
    }

    /// `POST /moto-api/reset-auth` with body `n`: the next `n` actions pass
    /// unchecked, every later one is checked.
    fn reset_auth(&self, n: u32) {
        let (status, body) = self.request(
            "POST",
            "/moto-api/reset-auth",
            &[("Content-Type", "text/plain")],
            n.to_string().as_bytes(),
        );
        assert_eq!(status, 200, "moto reset-auth: {body}");
        assert!(body.contains("\"ok\""), "moto reset-auth: {body}");
    }

    /// Creates IAM user `name` in moto's default account with an inline policy
    /// allowing `ecr:*` on `*`, and an access key for it. Works before and
    /// after [`Moto::enable_auth`] (after: its three IAM actions are let through
    /// unchecked and checking resumes right after them).
    pub fn create_ecr_user(&self, name: &str) -> AccessKey {
        const POLICY: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"ecr:*","Resource":"*"}]}"#;
        if self.auth.get() {
            self.reset_auth(3);
        }
        self.iam(&[("Action", "CreateUser"), ("UserName", name)]);
        self.iam(&[
            ("Action", "PutUserPolicy"),
            ("UserName", name),
            ("PolicyName", "ecr-all"),
            ("PolicyDocument", POLICY),
        ]);
        let xml = self.iam(&[("Action", "CreateAccessKey"), ("UserName", name)]);
        let key = AccessKey {
            id: xml_text(&xml, "AccessKeyId").expect("CreateAccessKey: AccessKeyId"),
            secret: xml_text(&xml, "SecretAccessKey").expect("CreateAccessKey: SecretAccessKey"),
        };
        assert!(!key.secret.is_empty(), "CreateAccessKey: empty secret");
        key
    }

    /// Creates IAM role `name` in moto's default account, allowed `ecr:*`,
    /// and assumes it (STS `AssumeRole`): temporary credentials moto made,
    /// so with [`Moto::enable_auth`] it checks their secret and their
    /// session token (it refuses a token it did not issue). Works before
    /// and after `enable_auth`, like [`Moto::create_ecr_user`].
    pub fn create_ecr_role_session(&self, name: &str) -> SessionKey {
        const TRUST: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"sts:AssumeRole"}]}"#;
        const POLICY: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"ecr:*","Resource":"*"}]}"#;
        if self.auth.get() {
            self.reset_auth(3);
        }
        self.iam(&[
            ("Action", "CreateRole"),
            ("RoleName", name),
            ("AssumeRolePolicyDocument", TRUST),
        ]);
        self.iam(&[
            ("Action", "PutRolePolicy"),
            ("RoleName", name),
            ("PolicyName", "ecr-all"),
            ("PolicyDocument", POLICY),
        ]);
        let arn = format!("arn:aws:iam::{DEFAULT_ACCOUNT}:role/{name}");
        let xml = self.query(
            "sts",
            "2011-06-15",
            &[
                ("Action", "AssumeRole"),
                ("RoleArn", &arn),
                ("RoleSessionName", "test"),
            ],
        );
        let text = |tag| xml_text(&xml, tag).unwrap_or_else(|| panic!("AssumeRole: no {tag}"));
        SessionKey {
            key: AccessKey {
                id: text("AccessKeyId"),
                secret: text("SecretAccessKey"),
            },
            token: text("SessionToken"),
        }
    }

    /// One ECR JSON-API action (e.g. `CreateRepository`), sent unsigned like
    /// [`Moto::iam`]; returns the parsed answer. Only while auth is off.
    pub fn ecr(&self, action: &str, body: &serde_json::Value) -> serde_json::Value {
        let target = format!("AmazonEC2ContainerRegistry_V20150921.{action}");
        let (status, text) = self.request(
            "POST",
            "/",
            &[
                (
                    "Authorization",
                    "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20150101/us-east-1/ecr/aws4_request, \
                     SignedHeaders=host, Signature=0000",
                ),
                ("Content-Type", "application/x-amz-json-1.1"),
                ("X-Amz-Target", &target),
            ],
            body.to_string().as_bytes(),
        );
        assert_eq!(status, 200, "ECR {action} failed: {text}");
        serde_json::from_str(&text).unwrap_or(serde_json::Value::Null)
    }

    /// One IAM query-API action, sent unsigned (with a well-formed but bogus
    /// `Authorization` header so moto routes it to IAM). Only valid while auth
    /// checking is off or an unchecked action is left.
    fn iam(&self, params: &[(&str, &str)]) -> String {
        self.query("iam", "2010-05-08", params)
    }

    /// One query-API action of `service`, sent unsigned as [`Moto::iam`].
    fn query(&self, service: &str, version: &str, params: &[(&str, &str)]) -> String {
        let mut form: Vec<String> = params
            .iter()
            .map(|(k, v)| format!("{}={}", form_encode(k), form_encode(v)))
            .collect();
        form.push(format!("Version={version}"));
        let body = form.join("&");
        let (status, text) = self.request(
            "POST",
            "/",
            &[
                (
                    "Authorization",
                    &format!(
                        "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20150101/us-east-1/{service}/aws4_request, \
                         SignedHeaders=host, Signature=0000"
                    ),
                ),
                (
                    "Content-Type",
                    "application/x-www-form-urlencoded; charset=utf-8",
                ),
            ],
            body.as_bytes(),
        );
        assert_eq!(status, 200, "{service} {:?} failed: {text}", params[0].1);
        text
    }

    /// Every request moto received so far, in order (moto's recorder; the
    /// entry is written before moto handles the request, so a finished helper
    /// run is always fully in it). Excludes nothing but the recorder's own API.
    pub fn recorded(&self) -> Vec<Recorded> {
        let path = self.dir.path().join("recording.jsonl");
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Vec::new(),
            Err(e) => panic!("read {}: {e}", path.display()),
        };
        text.lines()
            .filter(|l| !l.trim().is_empty())
            .map(|line| {
                let v: serde_json::Value =
                    serde_json::from_str(line).expect("recorder line is JSON");
                let headers = v["headers"]
                    .as_object()
                    .map(|h| {
                        h.iter()
                            .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned()))
                            .collect()
                    })
                    .unwrap_or_default();
                let raw = v["body"].as_str().unwrap_or_default();
                let body = if v["body_encoded"].as_bool() == Some(true) {
                    base64::engine::general_purpose::STANDARD
                        .decode(raw)
                        .expect("recorder body is base64")
                } else {
                    raw.as_bytes().to_vec()
                };
                Recorded {
                    method: v["method"].as_str().unwrap_or_default().to_owned(),
                    url: v["url"].as_str().unwrap_or_default().to_owned(),
                    headers,
                    body,
                }
            })
            .collect()
    }

    /// The ECR `GetAuthorizationToken` requests moto received so far.
    pub fn ecr_token_requests(&self) -> Vec<Recorded> {
        self.recorded()
            .into_iter()
            .filter(|r| r.target() == Some(ECR_TOKEN_TARGET))
            .collect()
    }

    /// A plain HTTP/1.1 request to moto; returns (status, body).
    pub fn request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> (u16, String) {
        let mut s = TcpStream::connect(("127.0.0.1", self.port))
            .unwrap_or_else(|e| panic!("connect to moto on port {}: {e}", self.port));
        s.set_read_timeout(Some(IO_LIMIT)).unwrap();
        s.set_write_timeout(Some(IO_LIMIT)).unwrap();
        let mut req = format!(
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nConnection: close\r\nContent-Length: {}\r\n",
            self.port,
            body.len()
        );
        for (k, v) in headers {
            req.push_str(&format!("{k}: {v}\r\n"));
        }
        req.push_str("\r\n");
        s.write_all(req.as_bytes()).expect("write to moto");
        s.write_all(body).expect("write to moto");
        let mut raw = Vec::new();
        s.read_to_end(&mut raw).expect("read from moto");
        let text = String::from_utf8_lossy(&raw).into_owned();
        let (head, rest) = text
            .split_once("\r\n\r\n")
            .unwrap_or_else(|| panic!("malformed answer from moto: {text:?}"));
        let status = head
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("no status in moto's answer: {head:?}"));
        (status, rest.to_owned())
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The port in werkzeug's "Running on http://127.0.0.1:PORT" line.
fn listening_port(line: &str) -> Option<u16> {
    let rest = line.split("http://127.0.0.1:").nth(1)?;
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok().filter(|&p| p != 0)
}

/// The text of the first `<tag>…</tag>` in `xml`.
fn xml_text(xml: &str, tag: &str) -> Option<String> {
    let start = xml.find(&format!("<{tag}>"))? + tag.len() + 2;
    let end = start + xml[start..].find(&format!("</{tag}>"))?;
    Some(xml[start..end].to_owned())
}

/// `application/x-www-form-urlencoded` encoding of one key or value.
fn form_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}
