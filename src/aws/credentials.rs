//! The credentials provider for each `CredentialSource`. Nothing is
//! resolved here: the SDK asks the provider when it signs.

use std::time::Duration;

use aws_config::Region;
use aws_config::meta::credentials::CredentialsProviderChain;
use aws_credential_types::provider::error::CredentialsError;
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider, future};

use super::errors::{assume_role_failure, describe};
use super::{AwsTokenSource, SESSION_NAME};
use crate::helper::token::TokenError;
use crate::registry::CredentialSource;

/// Files the chain's providers read by path, named in the environment:
/// the web identity token and EKS Pod Identity's authorization token.
const TOKEN_FILE_VARS: [&str; 2] = [
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
];
/// A token file holds one JWT or header value: a few KB.
const MAX_TOKEN_FILE: u64 = 1 << 20;

/// The SDK reads these files itself, with no bound: each must be a regular
/// file of bounded size first, so that a FIFO or a device is refused, not
/// waited on. A missing one is the provider's to report, as before.
fn check_token_files() -> Result<(), TokenError> {
    for var in TOKEN_FILE_VARS {
        let Some(path) = crate::config::var(var) else {
            continue;
        };
        match crate::helper::fsutil::read_bounded(std::path::Path::new(&path), MAX_TOKEN_FILE) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(TokenError::Setup(format!("{var} {path}: {e}")));
            }
            _ => {}
        }
    }
    Ok(())
}

/// The container credentials link, whose failures name the endpoint and
/// where its token came from: the SDK's own say only "Non-success status
/// from HTTP credential provider: StatusCode(401)", which does not tell an
/// ECS task or an EKS pod which of its settings was refused. It is bounded
/// by one `bound` in all, within the identity cache's longer one, so that
/// an endpoint that never answers is named too (the cache's own timeout
/// says only "identity resolver timed out").
#[derive(Debug)]
struct NamedContainerEndpoint {
    provider: aws_config::ecs::EcsCredentialsProvider,
    bound: Duration,
}

impl ProvideCredentials for NamedContainerEndpoint {
    fn provide_credentials<'a>(&'a self) -> future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        future::ProvideCredentials::new(async move {
            match tokio::time::timeout(self.bound, self.provider.provide_credentials()).await {
                Ok(Ok(credentials)) => Ok(credentials),
                // Not configured: the chain goes on to instance metadata.
                Ok(Err(e @ CredentialsError::CredentialsNotLoaded(_))) => Err(e),
                Ok(Err(e)) => Err(CredentialsError::provider_error(
                    ContainerEndpointFailure::Failed(e),
                )),
                Err(_) => Err(CredentialsError::provider_error(
                    ContainerEndpointFailure::Silent(self.bound),
                )),
            }
        })
    }
}

/// "the container credentials endpoint <where it was named> failed", over
/// the provider's causes, or "did not answer within <bound>".
#[derive(Debug)]
enum ContainerEndpointFailure {
    Failed(CredentialsError),
    Silent(Duration),
}

impl std::fmt::Display for ContainerEndpointFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let var = crate::config::var;
        f.write_str("the container credentials endpoint")?;
        if let Some(uri) = var("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI") {
            write!(f, " (ECS: AWS_CONTAINER_CREDENTIALS_RELATIVE_URI={uri})")?;
        } else if let Some(uri) = var("AWS_CONTAINER_CREDENTIALS_FULL_URI") {
            write!(f, " {uri} (AWS_CONTAINER_CREDENTIALS_FULL_URI)")?;
        }
        // The token itself is a secret: only where it came from.
        if let Some(path) = var("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE") {
            write!(
                f,
                " with the token in AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE {path}"
            )?;
        } else if var("AWS_CONTAINER_AUTHORIZATION_TOKEN").is_some() {
            f.write_str(" with the token in AWS_CONTAINER_AUTHORIZATION_TOKEN")?;
        }
        match self {
            ContainerEndpointFailure::Failed(_) => f.write_str(" failed"),
            ContainerEndpointFailure::Silent(bound) => {
                write!(f, " did not answer within {bound:?}")
            }
        }
    }
}

impl std::error::Error for ContainerEndpointFailure {
    // The provider's causes, not its own "an error occurred while loading
    // credentials", which the chain's error already says.
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ContainerEndpointFailure::Failed(e) => std::error::Error::source(e),
            ContainerEndpointFailure::Silent(_) => None,
        }
    }
}

/// The profile link, whose failure says when the profile's credentials
/// come from its `credential_process`: the SDK's failure of that tool is a
/// message only, so which setting gave out is known from the profile, not
/// from the words. Looked up only when the link fails.
#[derive(Debug)]
struct NamedProfile {
    provider: aws_config::profile::ProfileFileCredentialsProvider,
    files: super::profiles::SharedConfig,
    /// The profile, when a rule names it; else the SDK's choice
    /// (`AWS_PROFILE`, else `default`).
    name: Option<String>,
}

impl ProvideCredentials for NamedProfile {
    fn provide_credentials<'a>(&'a self) -> future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        future::ProvideCredentials::new(async move {
            match self.provider.provide_credentials().await {
                Ok(credentials) => Ok(credentials),
                Err(e @ CredentialsError::CredentialsNotLoaded(_)) => Err(e),
                Err(e) => {
                    let name = self
                        .name
                        .clone()
                        .or_else(|| crate::config::var("AWS_PROFILE"))
                        .unwrap_or_else(|| "default".to_owned());
                    match self.files.credential_process_of(&name).await {
                        Some(_) => Err(CredentialsError::provider_error(
                            ProfileFailure::CredentialProcess {
                                profile: name,
                                cause: e,
                            },
                        )),
                        None => Err(e),
                    }
                }
            }
        })
    }
}

/// A profile's credentials that failed where the profile says they come from.
#[derive(Debug)]
pub(super) enum ProfileFailure {
    /// The profile (or a `source_profile` below it) runs a
    /// `credential_process`, and the profile link failed.
    CredentialProcess {
        profile: String,
        cause: CredentialsError,
    },
}

impl std::fmt::Display for ProfileFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ProfileFailure::CredentialProcess { profile, .. } => {
                write!(f, "profile {profile:?}: its credential_process failed")
            }
        }
    }
}

impl std::error::Error for ProfileFailure {
    // The provider's causes: its own wrapping says nothing more.
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ProfileFailure::CredentialProcess { cause, .. } => {
                std::error::Error::source(cause).or(Some(cause))
            }
        }
    }
}

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
                    if let Some(name) = crate::config::var("AWS_PROFILE") {
                        self.require_profile(&name, "AWS_PROFILE").await?;
                    }
                    check_token_files()?;
                    let (pc, imds) = provider_config()?;
                    let shared = self.shared_config()?;
                    // The SDK's default chain, link for link, because its
                    // builder takes no profile files: the profile link gets
                    // the contents we read.
                    SharedCredentialsProvider::new(
                        CredentialsProviderChain::first_try(
                            "Environment",
                            aws_config::environment::credentials::EnvironmentVariableCredentialsProvider::new(),
                        )
                        .or_else(
                            "Profile",
                            NamedProfile {
                                provider: aws_config::profile::ProfileFileCredentialsProvider::builder()
                                    .configure(&pc)
                                    .profile_files(shared.profile_files())
                                    .build(),
                                files: shared.clone(),
                                name: None,
                            },
                        )
                        .or_else(
                            "WebIdentityToken",
                            aws_config::web_identity_token::WebIdentityTokenCredentialsProvider::builder()
                                .configure(&pc)
                                .build(),
                        )
                        .or_else(
                            "EcsContainer",
                            NamedContainerEndpoint {
                                provider: aws_config::ecs::EcsCredentialsProvider::builder()
                                    .configure(&pc)
                                    .build(),
                                bound: self.settings.timeout,
                            },
                        )
                        .or_else(
                            "Ec2InstanceMetadata",
                            aws_config::imds::credentials::ImdsCredentialsProvider::builder()
                                .configure(&pc)
                                .imds_client(imds)
                                .build(),
                        ),
                    )
                }
                CredentialSource::Profile(name) => {
                    self.require_profile(name, "named for this registry").await?;
                    let shared = self.shared_config()?;
                    SharedCredentialsProvider::new(NamedProfile {
                        provider: aws_config::profile::ProfileFileCredentialsProvider::builder()
                            .configure(&provider_config()?.0)
                            .profile_files(shared.profile_files())
                            .profile_name(name)
                            .build(),
                        files: shared.clone(),
                        name: Some(name.clone()),
                    })
                }
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
                    // Asked now, so that a refusal is STS's, in its words,
                    // not a failure of whichever call would have signed.
                    let credentials = builder
                        .build_from_provider(base)
                        .await
                        .provide_credentials()
                        .await
                        .map_err(|e| assume_role_failure(role_arn, &e))?;
                    SharedCredentialsProvider::new(credentials)
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
