//! A fake IAM Identity Center (SSO) portal: `GetRoleCredentials` as
//! `aws-sdk-sso` sends it (`GET /federation/credentials?role_name=R&account_id=A`
//! with the access token in `x-amz-sso_bearer_token`), on plain HTTP on
//! 127.0.0.1: put a `TlsForwarder` with a certificate for
//! `portal.sso.<region>.amazonaws.com` in front, and reach that from a
//! network namespace (`support::netns`). Also the SSO token cache file the
//! SDK reads (`~/.aws/sso/cache/<sha1>.json`, aws-config's `sso/cache.rs`).
//!
//! The portal answers a known token for a granted (account, role) with the
//! key given for it; an unknown token with 401 `UnauthorizedException`, as
//! the real one answers an expired or revoked session; an unknown role with
//! 403 `ForbiddenException`. It records each request, never the token.
//!
//! The same server is SSO OIDC's `CreateToken` (`POST /token`, JSON), the
//! call by which the SDK refreshes an `sso-session` token near its expiry:
//! put a second `TlsForwarder`, for `oidc.<region>.amazonaws.com`, in
//! front. A refresh token it was given buys a new access token, which the
//! portal then knows; any other is refused with 400 `InvalidGrantException`,
//! as a revoked session's is.
//! Linux only, as the namespace tests that use it.
#![cfg(target_os = "linux")]

use std::collections::HashMap;
use std::io::{self, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::loopback::{LoopbackServer, hold_silent, read_head, rfc3339};
use super::moto::AccessKey;

/// The credentials the portal hands out for one (account, role).
#[derive(Clone)]
pub struct RoleKey {
    pub key: AccessKey,
    pub session_token: Option<String>,
}

/// One `GetRoleCredentials` the portal received.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PortalCall {
    pub account_id: String,
    pub role_name: String,
    /// Whether the bearer token was one the portal knows.
    pub token_known: bool,
}

/// One `CreateToken` SSO OIDC received.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OidcCall {
    pub grant_type: String,
    pub client_id: String,
    /// Whether the refresh token (and the client secret with it) was one
    /// the fake was given.
    pub refresh_known: bool,
}

/// A refresh token SSO OIDC accepts, and what it hands out for it.
struct Refresh {
    client_id: String,
    client_secret: String,
    refresh_token: String,
    new_access_token: String,
}

#[derive(Default)]
struct State {
    tokens: Vec<String>,
    roles: HashMap<(String, String), RoleKey>,
    calls: Vec<PortalCall>,
    refreshes: Vec<Refresh>,
    oidc_calls: Vec<OidcCall>,
    /// SSO OIDC takes each `CreateToken` and never answers.
    oidc_stalls: bool,
}

pub struct SsoPortal {
    server: LoopbackServer,
    state: Arc<Mutex<State>>,
}

impl SsoPortal {
    pub fn start() -> SsoPortal {
        let state = Arc::new(Mutex::new(State::default()));
        let shared = Arc::clone(&state);
        let server = LoopbackServer::start("sso-portal", move |stream, stop| {
            let _ = serve(stream, &shared, stop);
        });
        SsoPortal { server, state }
    }

    pub fn addr(&self) -> SocketAddr {
        self.server.addr()
    }

    /// Accepts `token` as a signed-in session's access token.
    pub fn accept_token(&self, token: &str) {
        self.state.lock().unwrap().tokens.push(token.to_owned());
    }

    /// Grants (account, role): its credentials are `key`.
    pub fn grant(&self, account_id: &str, role_name: &str, key: RoleKey) {
        self.state
            .lock()
            .unwrap()
            .roles
            .insert((account_id.to_owned(), role_name.to_owned()), key);
    }

    pub fn calls(&self) -> Vec<PortalCall> {
        self.state.lock().unwrap().calls.clone()
    }

    /// SSO OIDC will trade the `registration`'s refresh token, from its
    /// client, for `new_access_token`, which the portal then accepts.
    pub fn accept_refresh(&self, registration: &Registration<'_>, new_access_token: &str) {
        self.state.lock().unwrap().refreshes.push(Refresh {
            client_id: registration.client_id.to_owned(),
            client_secret: registration.client_secret.to_owned(),
            refresh_token: registration.refresh_token.to_owned(),
            new_access_token: new_access_token.to_owned(),
        });
    }

    /// From now on SSO OIDC reads each `CreateToken` and never answers
    /// (`loopback::hold_silent`).
    pub fn stall_oidc(&self) {
        self.state.lock().unwrap().oidc_stalls = true;
    }

    pub fn oidc_calls(&self) -> Vec<OidcCall> {
        self.state.lock().unwrap().oidc_calls.clone()
    }
}

/// The client registration and refresh token `aws sso login` keeps beside
/// an `sso-session` token, which make it refreshable.
pub struct Registration<'a> {
    pub client_id: &'a str,
    pub client_secret: &'a str,
    pub refresh_token: &'a str,
}

/// Where the SDK looks for the cached token of `identifier` below `home`:
/// the `sso-session` section's name for an `sso-session` profile, the
/// `sso_start_url` for a legacy one.
pub fn token_cache_path(home: &Path, identifier: &str) -> PathBuf {
    // SHA-1 is no dependency of ours: coreutils' (these tests are Linux's).
    let mut child = std::process::Command::new("sha1sum")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("sha1sum (coreutils)");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(identifier.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let hex = String::from_utf8(out.stdout).unwrap();
    let hex = hex.split_whitespace().next().expect("sha1sum's digest");
    assert_eq!(hex.len(), 40, "{hex}");
    home.join(".aws/sso/cache").join(format!("{hex}.json"))
}

/// Writes the cached token for `identifier` as `aws sso login` leaves it,
/// expiring `expires_in` from now (negative: expired that long ago).
/// Without a `registration` there is no refresh token: an `sso-session`
/// token near expiry is then not refreshed through SSO OIDC, and an expired
/// one is refused by the SDK. With one (valid for a day more), the SDK
/// refreshes the token through SSO OIDC within five minutes of its expiry,
/// or after it.
pub fn write_cached_token(
    home: &Path,
    identifier: &str,
    access_token: &str,
    start_url: &str,
    region: &str,
    expires_in: i64,
    registration: Option<&Registration<'_>>,
) -> PathBuf {
    let path = token_cache_path(home, identifier);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let mut token = serde_json::json!({
        "startUrl": start_url,
        "region": region,
        "accessToken": access_token,
        "expiresAt": rfc3339(now + expires_in),
    });
    if let Some(r) = registration {
        token["clientId"] = r.client_id.into();
        token["clientSecret"] = r.client_secret.into();
        token["refreshToken"] = r.refresh_token.into();
        token["registrationExpiresAt"] = rfc3339(now + expires_in.max(0) + 86_400).into();
    }
    std::fs::write(&path, token.to_string()).unwrap();
    path
}

fn serve(stream: TcpStream, state: &Mutex<State>, stop: &AtomicBool) -> io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(60)))?;
    let mut writer = stream.try_clone()?;
    let mut reader = BufReader::new(stream);
    while let Some(req) = read_head(&mut reader)? {
        // GetRoleCredentials is a GET without a body; CreateToken a POST
        // with one.
        let length = req
            .header("content-length")
            .and_then(|l| l.parse::<usize>().ok())
            .unwrap_or(0);
        let mut request_body = vec![0; length];
        reader.read_exact(&mut request_body)?;
        let (status, error, body) = if req.method == "POST" && req.path == "/token" {
            let Some(answer) = create_token(state, &request_body) else {
                return hold_silent(reader.get_mut(), stop);
            };
            answer
        } else {
            answer(state, &req.path, req.header("x-amz-sso_bearer_token"))
        };
        let mut head = format!(
            "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n",
            body.len()
        );
        if let Some(e) = error {
            head.push_str(&format!("x-amzn-ErrorType: {e}\r\n"));
        }
        head.push_str("\r\n");
        writer.write_all(head.as_bytes())?;
        writer.write_all(body.as_bytes())?;
        writer.flush()?;
    }
    Ok(())
}

type Answer = (&'static str, Option<&'static str>, String);

/// SSO OIDC's `CreateToken` for a refresh (`grantType` `refresh_token`),
/// recorded; `None` when OIDC stalls.
fn create_token(state: &Mutex<State>, body: &[u8]) -> Option<Answer> {
    let request: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
    let field = |name: &str| request[name].as_str().unwrap_or_default().to_owned();
    let (grant_type, client_id) = (field("grantType"), field("clientId"));
    let mut state = state.lock().unwrap();
    let granted = state
        .refreshes
        .iter()
        .find(|r| {
            grant_type == "refresh_token"
                && r.client_id == client_id
                && r.client_secret == field("clientSecret")
                && r.refresh_token == field("refreshToken")
        })
        .map(|r| r.new_access_token.clone());
    state.oidc_calls.push(OidcCall {
        grant_type,
        client_id,
        refresh_known: granted.is_some(),
    });
    if state.oidc_stalls {
        return None;
    }
    let Some(access_token) = granted else {
        return Some((
            "400 Bad Request",
            Some("InvalidGrantException"),
            r#"{"error":"invalid_grant","error_description":"Invalid refresh token provided"}"#
                .into(),
        ));
    };
    state.tokens.push(access_token.clone());
    Some((
        "200 OK",
        None,
        serde_json::json!({
            "accessToken": access_token,
            "tokenType": "Bearer",
            "expiresIn": 3600,
            "refreshToken": "a-rotated-refresh-token",
        })
        .to_string(),
    ))
}

fn answer(state: &Mutex<State>, target: &str, token: Option<&str>) -> Answer {
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let param = |name: &str| {
        query
            .split('&')
            .filter_map(|kv| kv.split_once('='))
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.to_owned())
    };
    if path != "/federation/credentials" {
        return (
            "404 Not Found",
            Some("NotFoundException"),
            r#"{"message":"not GetRoleCredentials"}"#.into(),
        );
    }
    let (account_id, role_name) = (
        param("account_id").unwrap_or_default(),
        param("role_name").unwrap_or_default(),
    );
    let mut state = state.lock().unwrap();
    let token_known = token.is_some_and(|t| state.tokens.iter().any(|k| k == t));
    state.calls.push(PortalCall {
        account_id: account_id.clone(),
        role_name: role_name.clone(),
        token_known,
    });
    if !token_known {
        return (
            "401 Unauthorized",
            Some("UnauthorizedException"),
            r#"{"message":"Session token not found or invalid"}"#.into(),
        );
    }
    let Some(role) = state.roles.get(&(account_id, role_name)) else {
        return (
            "403 Forbidden",
            Some("ForbiddenException"),
            r#"{"message":"No access"}"#.into(),
        );
    };
    let expiration = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis()
        + 3_600_000;
    let mut creds = serde_json::json!({
        "accessKeyId": role.key.id,
        "secretAccessKey": role.key.secret,
        "expiration": expiration as u64,
    });
    if let Some(t) = &role.session_token {
        creds["sessionToken"] = t.clone().into();
    }
    (
        "200 OK",
        None,
        serde_json::json!({ "roleCredentials": creds }).to_string(),
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_token_cache_is_named_by_the_sha1_of_its_identifier() {
        let path = super::token_cache_path(std::path::Path::new("/h"), "abc");
        assert_eq!(
            path,
            std::path::Path::new("/h/.aws/sso/cache/a9993e364706816aba3e25717850c26c9cd0d89d.json")
        );
    }
}
