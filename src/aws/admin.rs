//! The calls of the human commands: who the caller is, reads of an image
//! and repository policies, all over the same configuration `get` uses.

use aws_config::Region;
use aws_credential_types::credential_feature::AwsCredentialFeature;

use super::AwsTokenSource;
use super::errors::{describe, failure};
use crate::commands::doctor::{Caller, DoctorApi, Image, Reference};
use crate::error_chain;
use crate::helper::token::{ApiFailure, AuthToken, TokenError, TokenSource};
use crate::registry::{CredentialSource, PrivateRegistry, Registry};

impl AwsTokenSource {
    /// The caller's account (`sts:GetCallerIdentity`) and the region: the
    /// given one, else the configured one (`AWS_REGION`, the profile).
    pub fn caller_account(&self, region: Option<&str>) -> Result<(String, String), TokenError> {
        self.block_on(async {
            let region = match region {
                Some(r) => Region::new(r.to_owned()),
                None => self.configured_region()?.region().await.ok_or_else(|| {
                    TokenError::Setup(
                        "no AWS region configured: pass --region or set AWS_REGION".into(),
                    )
                })?,
            };
            let credentials = self.credentials(&CredentialSource::Chain, &region).await?;
            let config = self
                .sdk_config(region.clone(), false, Some(credentials))
                .await?;
            let out = aws_sdk_sts::Client::new(&config)
                .get_caller_identity()
                .send()
                .await
                .map_err(|e| describe("GetCallerIdentity", e))?;
            let account = out.account().ok_or(TokenError::Empty)?.to_owned();
            Ok((account, region.to_string()))
        })
    }
}

impl AwsTokenSource {
    /// The standard region chain (environment, profile, instance metadata)
    /// over our HTTP client.
    fn configured_region(
        &self,
    ) -> Result<aws_config::meta::region::RegionProviderChain, TokenError> {
        use aws_config::environment::region::EnvironmentVariableRegionProvider;
        use aws_config::imds::region::ImdsRegionProvider;
        use aws_config::profile::region::ProfileFileRegionProvider;
        let (pc, imds) = self.provider_config(None)?;
        Ok(aws_config::meta::region::RegionProviderChain::first_try(
            EnvironmentVariableRegionProvider::new(),
        )
        .or_else(
            ProfileFileRegionProvider::builder()
                .configure(&pc)
                .profile_files(self.shared_config()?.profile_files())
                .build(),
        )
        .or_else(
            ImdsRegionProvider::builder()
                .configure(&pc)
                .imds_client(imds)
                .build(),
        ))
    }
}

impl AwsTokenSource {
    /// An ECR client for the registry's region, with the caller's credentials.
    async fn ecr_client(&self, region: &str) -> Result<aws_sdk_ecr::Client, TokenError> {
        let region = Region::new(region.to_owned());
        let credentials = self.credentials(&CredentialSource::Chain, &region).await?;
        let config = self.sdk_config(region, false, Some(credentials)).await?;
        Ok(aws_sdk_ecr::Client::new(&config))
    }
}

/// Which kind of credentials answered, from the features the SDK's
/// providers record on the credentials they make (for its user agent), the
/// innermost first: an SSO profile records SSO, then the profile.
fn credential_source_name(c: &aws_credential_types::Credentials) -> String {
    use AwsCredentialFeature as F;
    let name = |f: &F| match f {
        F::CredentialsEnvVars => "environment variables",
        F::CredentialsEnvVarsStsWebIdToken | F::CredentialsProfileStsWebIdToken => {
            "web identity (AssumeRoleWithWebIdentity)"
        }
        F::CredentialsStsAssumeRole => "an assumed role (sts:AssumeRole)",
        F::CredentialsStsAssumeRoleWebId => "web identity (AssumeRoleWithWebIdentity)",
        F::CredentialsProfileSso | F::CredentialsSso => "IAM Identity Center (SSO)",
        F::CredentialsProfileProcess | F::CredentialsProcess => "credential_process",
        F::CredentialsHttp => "the container credentials endpoint",
        F::CredentialsImds => "the instance metadata service",
        F::CredentialsProfile
        | F::CredentialsProfileSourceProfile
        | F::CredentialsProfileNamedProvider => "the shared config files (profile)",
        F::CredentialsProfileLogin | F::CredentialsLogin => "aws login",
        _ => "the credential chain",
    };
    c.get_property::<Vec<AwsCredentialFeature>>()
        .and_then(|features| features.first())
        .map_or("the credential chain", name)
        .to_owned()
}

impl DoctorApi for AwsTokenSource {
    fn caller(&self, registry: &Registry, source: &CredentialSource) -> Result<Caller, ApiFailure> {
        use aws_credential_types::provider::ProvideCredentials;
        self.block_on(async {
            let region = Region::new(registry.api_region().to_owned());
            let provider = self.credentials(source, &region).await?;
            let credentials = provider
                .provide_credentials()
                .await
                .map_err(|e| ApiFailure::from(TokenError::Credentials(error_chain(&e))))?;
            let config = self.sdk_config(region, false, Some(provider)).await?;
            let out = aws_sdk_sts::Client::new(&config)
                .get_caller_identity()
                .send()
                .await
                .map_err(failure)?;
            Ok(Caller {
                account: out.account().unwrap_or_default().to_owned(),
                arn: out.arn().unwrap_or_default().to_owned(),
                source: credential_source_name(&credentials),
            })
        })
    }

    /// The token exactly as `get` fetches it.
    fn token(
        &self,
        registry: &Registry,
        source: &CredentialSource,
    ) -> Result<AuthToken, ApiFailure> {
        TokenSource::fetch(self, registry, source).map_err(ApiFailure::from)
    }

    fn read_image(
        &self,
        registry: &PrivateRegistry,
        image: &Image,
        source: &CredentialSource,
    ) -> Result<(), ApiFailure> {
        use aws_sdk_ecr::types::ImageIdentifier;
        self.block_on(async {
            let region = Region::new(registry.region.clone());
            let credentials = self.credentials(source, &region).await?;
            let config = self
                .sdk_config(region, registry.fips, Some(credentials))
                .await?;
            let id = match &image.reference {
                Reference::Tag(t) => ImageIdentifier::builder().image_tag(t).build(),
                Reference::Digest(d) => ImageIdentifier::builder().image_digest(d).build(),
            };
            let out = aws_sdk_ecr::Client::new(&config)
                .batch_get_image()
                .registry_id(&registry.account)
                .repository_name(&image.repository)
                .image_ids(id)
                .send()
                .await
                .map_err(failure)?;
            if out.images().is_empty() {
                let f = out.failures().first();
                return Err(ApiFailure {
                    code: Some(
                        f.and_then(|f| f.failure_code())
                            .map_or("ImageNotFound".to_owned(), |c| c.as_str().to_owned()),
                    ),
                    message: f
                        .and_then(|f| f.failure_reason())
                        .unwrap_or("no such image")
                        .to_owned(),
                });
            }
            Ok(())
        })
    }
}

impl crate::commands::policy::RepositoryPolicies for AwsTokenSource {
    fn get(
        &self,
        spec: &crate::commands::policy::Spec,
        repository: &str,
    ) -> Result<Option<String>, String> {
        self.block_on::<_, TokenError>(async {
            let client = self.ecr_client(&spec.region).await?;
            match client
                .get_repository_policy()
                .registry_id(&spec.registry_account)
                .repository_name(repository)
                .send()
                .await
            {
                Ok(out) => Ok(out.policy_text().map(str::to_owned)),
                Err(e)
                    if e.as_service_error()
                        .is_some_and(|s| s.is_repository_policy_not_found_exception()) =>
                {
                    Ok(None)
                }
                Err(e) => Err(describe("GetRepositoryPolicy", e)),
            }
        })
        .map_err(|e| error_chain(&e))
    }

    fn set(
        &self,
        spec: &crate::commands::policy::Spec,
        repository: &str,
        policy: &str,
    ) -> Result<(), String> {
        self.block_on::<_, TokenError>(async {
            let client = self.ecr_client(&spec.region).await?;
            client
                .set_repository_policy()
                .registry_id(&spec.registry_account)
                .repository_name(repository)
                .policy_text(policy)
                .send()
                .await
                .map_err(|e| describe("SetRepositoryPolicy", e))?;
            Ok(())
        })
        .map_err(|e| error_chain(&e))
    }
}
