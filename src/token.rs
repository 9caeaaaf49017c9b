//! Registry tokens: the `TokenSource` seam every AWS call sits behind, and
//! the pure decoding of what `GetAuthorizationToken` returns.

use std::fmt;

use base64::Engine as _;

use crate::registry::Registry;

/// The user name every ECR token is issued for.
pub const USERNAME: &str = "AWS";

/// A registry password and when it stops working. `Debug` never shows the
/// password, so a token can be logged by accident without leaking.
#[derive(Clone, PartialEq, Eq)]
pub struct AuthToken {
    pub password: String,
    /// Unix seconds.
    pub expires_at: i64,
}

impl fmt::Debug for AuthToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthToken")
            .field("password", &"** redacted **")
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

/// Why no token could be had. Messages carry causes, never secrets.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("no AWS credentials: {0}")]
    Credentials(String),
    #[error("GetAuthorizationToken failed: {0}")]
    Api(String),
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

/// Whose credentials ask for the token.
#[derive(Clone, PartialEq, Eq)]
pub enum CredentialSource {
    /// The standard AWS chain (environment, profile, web identity, ECS, IMDS).
    Chain,
    /// One profile of the shared config files, whatever else is set.
    Profile(String),
    /// A role assumed through STS with `base`'s credentials.
    AssumeRole {
        role_arn: String,
        external_id: Option<String>,
        session_name: Option<String>,
        duration_secs: Option<u32>,
        base: Box<CredentialSource>,
    },
    /// A role assumed with a web identity token (a Kubernetes service
    /// account's, for instance): `AssumeRoleWithWebIdentity`.
    WebIdentity {
        role_arn: String,
        token: String,
        session_name: Option<String>,
    },
}

impl CredentialSource {
    /// The cache identity: what separates principals, never a secret, and
    /// the same across the sessions of one role. `chain` is the identity of
    /// the standard chain, derived from the environment.
    pub fn identity(&self, chain: &str) -> String {
        match self {
            CredentialSource::Chain => chain.to_owned(),
            CredentialSource::Profile(name) => format!("profile={name}\0{chain}"),
            CredentialSource::AssumeRole {
                role_arn,
                external_id,
                base,
                ..
            } => format!(
                "role={role_arn}\0external-id={}\0{}",
                external_id.as_deref().unwrap_or(""),
                base.identity(chain)
            ),
            CredentialSource::WebIdentity { role_arn, .. } => {
                format!("web-identity-role={role_arn}")
            }
        }
    }
}

impl fmt::Debug for CredentialSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CredentialSource::Chain => f.write_str("Chain"),
            CredentialSource::Profile(p) => f.debug_tuple("Profile").field(p).finish(),
            CredentialSource::AssumeRole { role_arn, base, .. } => f
                .debug_struct("AssumeRole")
                .field("role_arn", role_arn)
                .field("base", base)
                .finish_non_exhaustive(),
            CredentialSource::WebIdentity { role_arn, .. } => f
                .debug_struct("WebIdentity")
                .field("role_arn", role_arn)
                .finish_non_exhaustive(),
        }
    }
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
    fn identities_separate_principals_not_sessions() {
        let chain = "env:AKIA1";
        let role =
            |arn: &str, ext: Option<&str>, base: CredentialSource| CredentialSource::AssumeRole {
                role_arn: arn.into(),
                external_id: ext.map(Into::into),
                session_name: None,
                duration_secs: None,
                base: Box::new(base),
            };
        let web = |arn: &str, token: &str| CredentialSource::WebIdentity {
            role_arn: arn.into(),
            token: token.into(),
            session_name: None,
        };
        let ids = [
            CredentialSource::Chain.identity(chain),
            CredentialSource::Profile("a".into()).identity(chain),
            CredentialSource::Profile("b".into()).identity(chain),
            role("arn:aws:iam::1:role/r", None, CredentialSource::Chain).identity(chain),
            role("arn:aws:iam::1:role/s", None, CredentialSource::Chain).identity(chain),
            role("arn:aws:iam::1:role/r", Some("x"), CredentialSource::Chain).identity(chain),
            role(
                "arn:aws:iam::1:role/r",
                None,
                CredentialSource::Profile("a".into()),
            )
            .identity(chain),
            web("arn:aws:iam::1:role/r", "t1").identity(chain),
        ];
        for (i, a) in ids.iter().enumerate() {
            for b in &ids[i + 1..] {
                assert_ne!(a, b);
            }
        }
        // Two service-account tokens of one role share the role's entry,
        // and no token reaches the identity or Debug.
        assert_eq!(
            web("arn:aws:iam::1:role/r", "t1").identity(chain),
            web("arn:aws:iam::1:role/r", "t2").identity(chain)
        );
        assert!(!format!("{:?}", web("arn:aws:iam::1:role/r", "sekrit-jwt")).contains("sekrit"));
        assert!(
            !web("arn:aws:iam::1:role/r", "sekrit-jwt")
                .identity(chain)
                .contains("sekrit")
        );
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
