//! Registry tokens: the `TokenSource` seam every AWS call sits behind, and
//! the pure decoding of what `GetAuthorizationToken` returns.

use std::fmt;

use base64::Engine as _;

use crate::helper::failure::FailureKind;
use crate::registry::{CredentialSource, Registry};
use crate::secret::Secret;

/// The user name every ECR token is issued for.
pub const USERNAME: &str = "AWS";

/// A registry password and when it stops working.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthToken {
    pub password: Secret<String>,
    /// Unix seconds.
    pub expires_at: i64,
}

/// A failure an AWS service stated: its error code when it gave one
/// (`AccessDeniedException`, `ThrottlingException`), and its message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiFailure {
    pub code: Option<String>,
    pub message: String,
}

impl ApiFailure {
    /// A failure with no code: a connection that broke, an unreadable
    /// answer.
    pub fn other(message: impl Into<String>) -> Self {
        ApiFailure {
            code: None,
            message: message.into(),
        }
    }

    /// Whether the service throttled the call: HTTP 429, or an error code
    /// of the throttling family (`ThrottlingException`, `Throttling`,
    /// `TooManyRequestsException`, `RequestLimitExceeded`, `SlowDown`: the
    /// codes the SDK's standard retry strategy backs off from as
    /// throttling). Used to label a failure, never to retry: the SDK
    /// retries.
    pub fn is_throttling(&self, status: Option<u16>) -> bool {
        status == Some(429)
            || self.code.as_deref().is_some_and(|c| {
                c.contains("Throttl")
                    || c.contains("TooManyRequests")
                    || c == "RequestLimitExceeded"
                    || c == "SlowDown"
            })
    }

    /// Whether the service refused the caller's permissions.
    pub fn is_denied(&self) -> bool {
        self.code
            .as_deref()
            .is_some_and(|c| c.contains("AccessDenied") || c.contains("UnauthorizedOperation"))
    }
}

impl fmt::Display for ApiFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.code {
            Some(code) => write!(f, "{code}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

impl From<TokenError> for ApiFailure {
    fn from(e: TokenError) -> Self {
        match e {
            TokenError::Api { failure, .. } => failure,
            other => ApiFailure::other(crate::error_chain(&other)),
        }
    }
}

/// Why no token could be had. Messages carry causes, never secrets;
/// callers branch on the kind.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    /// No credentials could be had (none anywhere, an expired SSO session,
    /// a failing `credential_process`, a refused role): the user must act.
    #[error("no AWS credentials: {0}")]
    Credentials(String),
    /// An AWS call failed: refused, throttled, unreachable or unreadable.
    #[error("{operation} failed: {}{failure}", status.map(|s| format!("HTTP {s} ")).unwrap_or_default())]
    Api {
        operation: &'static str,
        /// The HTTP status, when an answer came.
        status: Option<u16>,
        failure: ApiFailure,
    },
    #[error("GetAuthorizationToken timed out after {0:?}")]
    Timeout(std::time::Duration),
    #[error("GetAuthorizationToken returned no authorization data")]
    Empty,
    #[error("invalid authorization token: {0}")]
    Decode(#[from] DecodeError),
    #[error("cannot set up the AWS client: {0}")]
    Setup(String),
    #[error("no AWS region configured: pass --region or set AWS_REGION")]
    NoRegion,
    /// Another helper process made this fetch moments ago (while this one
    /// waited for it) and failed: its failure is the answer, without a call
    /// of our own (`helper::failure`). `reason` is its failure as logged.
    #[error("{reason} (another helper process's attempt {age_secs} s ago; not repeated)")]
    Shared {
        kind: FailureKind,
        reason: String,
        age_secs: i64,
    },
}

/// Fetches a fresh token for a registry with the given credentials. The
/// only door to the network.
pub trait TokenSource {
    fn fetch(
        &self,
        registry: &Registry,
        credentials: &CredentialSource,
    ) -> Result<AuthToken, TokenError>;
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("not base64")]
    NotBase64,
    #[error("not UTF-8")]
    NotUtf8,
    #[error("not of the form AWS:<password>")]
    NotAwsUser,
    #[error("empty password")]
    EmptyPassword,
}

/// Decodes `base64("AWS:<password>")` into the password.
pub fn decode_authorization_token(encoded: &str) -> Result<String, DecodeError> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .map_err(|_| DecodeError::NotBase64)?;
    let text = String::from_utf8(bytes).map_err(|_| DecodeError::NotUtf8)?;
    let password = text
        .strip_prefix(USERNAME)
        .and_then(|rest| rest.strip_prefix(':'))
        .ok_or(DecodeError::NotAwsUser)?;
    if password.is_empty() {
        return Err(DecodeError::EmptyPassword);
    }
    Ok(password.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b64(s: &str) -> String {
        base64::engine::general_purpose::STANDARD.encode(s)
    }

    #[test]
    fn decodes_tokens() {
        let table: &[(String, Result<&str, DecodeError>)] = &[
            (b64("AWS:secret-password"), Ok("secret-password")),
            (b64("AWS:a:b:c"), Ok("a:b:c")),
            (format!(" {}\n", b64("AWS:pw")), Ok("pw")),
            (b64("AWS:"), Err(DecodeError::EmptyPassword)),
            (b64("aws:pw"), Err(DecodeError::NotAwsUser)),
            (b64("AWSpw"), Err(DecodeError::NotAwsUser)),
            (b64("USER:pw"), Err(DecodeError::NotAwsUser)),
            (b64(""), Err(DecodeError::NotAwsUser)),
            ("not base64!".into(), Err(DecodeError::NotBase64)),
            (
                base64::engine::general_purpose::STANDARD.encode([b'A', b'W', b'S', b':', 0xff]),
                Err(DecodeError::NotUtf8),
            ),
        ];
        for (input, want) in table {
            assert_eq!(
                decode_authorization_token(input)
                    .as_deref()
                    .map_err(Clone::clone),
                want.clone(),
                "{input:?}"
            );
        }
    }

    #[test]
    fn debug_redacts_the_password() {
        let t = AuthToken {
            password: "hunter2".into(),
            expires_at: 1,
        };
        assert!(!format!("{t:?}").contains("hunter2"));
    }
}
