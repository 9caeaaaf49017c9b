//! The credentials provider for each `CredentialSource`. Nothing is
//! resolved here: the SDK asks the provider when it signs.

use std::time::Duration;

use aws_config::Region;
use aws_config::default_provider::credentials::DefaultCredentialsChain;
use aws_credential_types::provider::SharedCredentialsProvider;

use super::errors::describe;
use super::{AwsTokenSource, SESSION_NAME};
use crate::helper::token::TokenError;
use crate::registry::CredentialSource;

impl AwsTokenSource {
    /// The credentials provider for a source. Nothing is resolved here: the
    /// SDK asks the provider when it signs.
    pub(super) fn credentials<'a>(
        &'a self,
        source: &'a CredentialSource,
        region: &'a Region,
    ) -> std::pin::Pin<
        Box<dyn std::future::Future<Output = Result<SharedCredentialsProvider, TokenError>> + 'a>,
    > {
        Box::pin(async move {
            // Built only for the links that use it (an IMDS client is a
            // tenth of the miss's own work before the request).
            let provider_config = || self.provider_config(Some(region.clone()));
            Ok(match source {
                // The chain's first link would answer; building the rest
                // (an STS client among them) is a quarter of a miss's work.
                CredentialSource::Chain if self.settings.static_keys => {
                    SharedCredentialsProvider::new(
                        aws_config::environment::credentials::EnvironmentVariableCredentialsProvider::new(),
                    )
                }
                CredentialSource::Chain => {
                    let (pc, imds) = provider_config()?;
                    SharedCredentialsProvider::new(
                        DefaultCredentialsChain::builder()
                            .configure(pc)
                            .region(region.clone())
                            .imds_client(imds)
                            .build()
                            .await,
                    )
                }
                CredentialSource::Profile(name) => SharedCredentialsProvider::new(
                    aws_config::profile::ProfileFileCredentialsProvider::builder()
                        .configure(&provider_config()?.0)
                        .profile_name(name)
                        .build(),
                ),
                CredentialSource::AssumeRole {
                    role_arn,
                    external_id,
                    session_name,
                    duration_secs,
                    base,
                } => {
                    let base = self.credentials(base, region).await?;
                    let sts = self
                        .sdk_config(region.clone(), false, Some(base.clone()))
                        .await?;
                    let mut builder = aws_config::sts::AssumeRoleProvider::builder(role_arn)
                        .configure(&sts)
                        .region(region.clone())
                        .session_name(session_name.as_deref().unwrap_or(SESSION_NAME));
                    if let Some(id) = external_id {
                        builder = builder.external_id(id);
                    }
                    if let Some(secs) = duration_secs {
                        builder = builder.session_length(Duration::from_secs(u64::from(*secs)));
                    }
                    SharedCredentialsProvider::new(builder.build_from_provider(base).await)
                }
                CredentialSource::WebIdentity {
                    role_arn,
                    token,
                    session_name,
                } => {
                    let sts = self.sdk_config(region.clone(), false, None).await?;
                    let out = aws_sdk_sts::Client::new(&sts)
                        .assume_role_with_web_identity()
                        .role_arn(role_arn)
                        .role_session_name(session_name.as_deref().unwrap_or(SESSION_NAME))
                        .web_identity_token(token.expose())
                        .send()
                        .await
                        .map_err(|e| match describe("AssumeRoleWithWebIdentity", e) {
                            TokenError::Api { failure, .. } => TokenError::Credentials(format!(
                                "AssumeRoleWithWebIdentity {role_arn}: {failure}"
                            )),
                            other => other,
                        })?;
                    let c = out.credentials().ok_or_else(|| {
                        TokenError::Credentials(format!(
                            "AssumeRoleWithWebIdentity {role_arn} returned no credentials"
                        ))
                    })?;
                    let expiry = std::time::SystemTime::try_from(*c.expiration()).ok();
                    SharedCredentialsProvider::new(aws_credential_types::Credentials::new(
                        c.access_key_id(),
                        c.secret_access_key(),
                        Some(c.session_token().to_owned()),
                        expiry,
                        "AssumeRoleWithWebIdentity",
                    ))
                }
            })
        })
    }
}
