//! The AWS SDK adapter behind `TokenSource`, the only code that names SDK
//! types: the cross-account `GetAuthorizationToken` call, with bounded
//! waiting and the corporate network settings (CA bundle, proxy) the SDK
//! does not honour by itself.
//!
//! - `credentials`: the provider for each `CredentialSource`;
//! - `tls` and `http`: the trust store and the HTTP client;
//! - `profiles`: the shared config files, read with a bound;
//! - `errors`: SDK failures as `TokenError` kinds;
//! - `admin`: the calls of `configure`, `policy` and `doctor`.

mod admin;
mod credentials;
mod errors;
mod http;
mod profiles;
mod tls;

use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::Duration;

use aws_config::identity::IdentityCache;
use aws_config::provider_config::ProviderConfig;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::provider::SharedCredentialsProvider;

use self::errors::Transmitted;
use self::http::{CorporateHttpClient, http_client};
use self::profiles::SharedConfig;
use self::tls::load_trust;
use crate::helper::token::{AuthToken, TokenError, TokenSource, decode_authorization_token};
use crate::registry::{CredentialSource, Registry};
use crate::secret::Secret;

/// IMDS is the last link of the credential chain; off EC2 it never answers,
/// so one short try keeps "no credentials" fast (the Go helper waits ~10 s).
const IMDS_TIMEOUT: Duration = Duration::from_millis(1000);
/// The STS session name when none is configured: it shows in CloudTrail.
const SESSION_NAME: &str = "docker-credential-ecr-login";
/// Throttling and 5xx are retried; three attempts in all.
const MAX_ATTEMPTS: u32 = 3;

#[derive(Debug, Clone)]
pub struct NetSettings {
    /// Bound on each network call and on resolving credentials.
    pub timeout: Duration,
    /// `AWS_CA_BUNDLE`: trusted instead of the system roots.
    pub ca_bundle: Option<PathBuf>,
    /// Both static keys are in the environment: the chain ends at its first
    /// link, so nothing else of it is built.
    pub static_keys: bool,
}

/// Builds nothing until asked: the cache-hit path never starts a runtime,
/// loads certificates or reads AWS configuration.
#[derive(Debug, Clone)]
pub struct AwsTokenSource {
    settings: NetSettings,
    /// Built on first use, with the trust store read once per process.
    http: OnceLock<CorporateHttpClient>,
    /// `~/.aws/config` and `~/.aws/credentials`, read on first use, and
    /// shared by the clones (the rules file's profile check holds one).
    shared: std::sync::Arc<OnceLock<SharedConfig>>,
}

impl AwsTokenSource {
    pub fn new(settings: NetSettings) -> Self {
        AwsTokenSource {
            settings,
            http: OnceLock::new(),
            shared: Default::default(),
        }
    }

    /// The shared config files, read (with a bound) once per process: every
    /// SDK client and provider gets their contents from here, so that the
    /// SDK never opens them itself.
    fn shared_config(&self) -> Result<&SharedConfig, TokenError> {
        if let Some(shared) = self.shared.get() {
            return Ok(shared);
        }
        let shared = SharedConfig::load()?;
        Ok(self.shared.get_or_init(|| shared))
    }

    /// Whether the shared config files define the profile `name`; an error
    /// says why they cannot be read. For the rules file's check, which
    /// names its own line.
    pub fn profile_exists(&self, name: &str) -> Result<bool, String> {
        let shared = self.shared_config().map_err(|e| e.to_string())?;
        // Parsing contents completes at once: no I/O, no timers.
        tokio::runtime::Builder::new_current_thread()
            .build()
            .map_err(|e| format!("async runtime: {e}"))?
            .block_on(shared.has_profile(name))
            .map_err(|e| e.to_string())
    }

    /// Refuses a profile the shared config files do not define, naming
    /// who asked for it and where it was looked for: the SDK would fall
    /// through to other credentials, or fail with its own words.
    async fn require_profile(&self, name: &str, named_by: &str) -> Result<(), TokenError> {
        let shared = self.shared_config()?;
        if shared.has_profile(name).await? {
            return Ok(());
        }
        Err(TokenError::Credentials(format!(
            "profile {name:?} ({named_by}) does not exist in {}",
            shared.places()
        )))
    }

    fn http(&self) -> Result<CorporateHttpClient, TokenError> {
        if let Some(http) = self.http.get() {
            return Ok(http.clone());
        }
        let http = http_client(&load_trust(self.settings.ca_bundle.as_ref())?)?;
        Ok(self.http.get_or_init(|| http).clone())
    }

    fn connect_timeout(&self) -> Duration {
        self.settings.timeout.min(Duration::from_secs(3))
    }

    /// One operation's bound, credentials, retries and backoff included.
    fn operation_timeout(&self) -> Duration {
        self.settings.timeout * MAX_ATTEMPTS
    }

    /// The whole fetch is bounded: credentials, retries and backoff included.
    fn total_bound(&self) -> Duration {
        self.settings.timeout * (MAX_ATTEMPTS + 1)
    }

    /// What every credential and region provider shares: our HTTP client,
    /// timeouts and retries, and a one-try instance metadata client.
    fn provider_config(
        &self,
        region: Option<Region>,
    ) -> Result<(ProviderConfig, aws_config::imds::Client), TokenError> {
        let (http, timeouts, retries) = self.client_settings()?;
        let provider_config = ProviderConfig::without_region()
            .with_region(region)
            .with_http_client(http)
            .with_timeout_config(timeouts)
            .with_retry_config(retries);
        let imds = aws_config::imds::Client::builder()
            .configure(&provider_config)
            .connect_timeout(IMDS_TIMEOUT)
            .read_timeout(IMDS_TIMEOUT)
            .max_attempts(1)
            .build();
        Ok((provider_config, imds))
    }

    fn client_settings(
        &self,
    ) -> Result<(CorporateHttpClient, TimeoutConfig, RetryConfig), TokenError> {
        let http = self.http()?;
        let t = self.settings.timeout;
        let timeouts = TimeoutConfig::builder()
            .connect_timeout(self.connect_timeout())
            .read_timeout(t)
            .operation_attempt_timeout(t)
            .operation_timeout(self.operation_timeout())
            .build();
        let retries = RetryConfig::standard().with_max_attempts(MAX_ATTEMPTS);
        Ok((http, timeouts, retries))
    }

    /// The SDK configuration for one region, with the given credentials
    /// (`None`: unsigned, for `AssumeRoleWithWebIdentity`).
    async fn sdk_config(
        &self,
        region: Region,
        fips: bool,
        credentials: Option<SharedCredentialsProvider>,
    ) -> Result<SdkConfig, TokenError> {
        let (http, timeouts, retries) = self.client_settings()?;
        let t = self.settings.timeout;
        let loader = aws_config::defaults(BehaviorVersion::latest())
            .profile_files(self.shared_config()?.profile_files())
            .region(region)
            .http_client(http)
            .timeout_config(timeouts)
            .retry_config(retries)
            // A backstop: the links that wait on the network bound
            // themselves first (IMDS, the container endpoint), with a
            // message that names them; this one's does not.
            .identity_cache(IdentityCache::lazy().load_timeout(t * 2).build())
            .use_fips(fips);
        let loader = match credentials {
            Some(c) => loader.credentials_provider(c),
            None => loader.no_credentials(),
        };
        Ok(loader.load().await)
    }

    async fn fetch_async(
        &self,
        registry: &Registry,
        source: &CredentialSource,
    ) -> Result<AuthToken, TokenError> {
        let (region, fips) = api_location(registry);
        let region = Region::new(region);
        let credentials = self.credentials(source, &region).await?;
        let config = self.sdk_config(region, fips, Some(credentials)).await?;
        let sent = Transmitted::default();
        let within = self.operation_timeout();
        match registry {
            Registry::Private(p) => {
                let client = aws_sdk_ecr::Client::new(&config);
                // The cross-account call: the caller's own credentials, the
                // registry's account. AWS deprecated registryIds as no longer
                // needed; it is still accepted and states what we ask for.
                #[allow(deprecated)]
                let out = client
                    .get_authorization_token()
                    .registry_ids(&p.account)
                    .customize()
                    .interceptor(sent.clone())
                    .send()
                    .await
                    .map_err(|e| sent.describe("GetAuthorizationToken", e, within))?;
                let data = out.authorization_data().first().ok_or(TokenError::Empty)?;
                token(data.authorization_token(), data.expires_at())
            }
            Registry::Public { .. } => {
                let client = aws_sdk_ecrpublic::Client::new(&config);
                let out = client
                    .get_authorization_token()
                    .customize()
                    .interceptor(sent.clone())
                    .send()
                    .await
                    .map_err(|e| sent.describe("GetAuthorizationToken", e, within))?;
                let data = out.authorization_data().ok_or(TokenError::Empty)?;
                token(data.authorization_token(), data.expires_at())
            }
        }
    }

    /// Runs one bounded AWS conversation on a runtime started for it.
    fn block_on<T, E: From<TokenError>>(
        &self,
        fut: impl std::future::Future<Output = Result<T, E>>,
    ) -> Result<T, E> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| TokenError::Setup(format!("async runtime: {e}")))?;
        let bound = self.total_bound();
        let result = runtime.block_on(async {
            tokio::time::timeout(bound, fut)
                .await
                .unwrap_or_else(|_| Err(TokenError::Timeout(bound).into()))
        });
        // Dropping the runtime would wait for its blocking threads: one
        // stuck in getaddrinfo (a DNS server that never answers) would hold
        // the answer for minutes past the bound. They end with the process.
        runtime.shutdown_background();
        result
    }
}

impl TokenSource for AwsTokenSource {
    fn fetch(
        &self,
        registry: &Registry,
        credentials: &CredentialSource,
    ) -> Result<AuthToken, TokenError> {
        self.block_on(self.fetch_async(registry, credentials))
    }
}

/// Where a registry's token is asked for: the region its host names (never
/// a region lookup, which alone costs seconds off EC2) and whether on the
/// FIPS endpoint. The partition follows from the region.
pub fn api_location(registry: &Registry) -> (String, bool) {
    let fips = matches!(registry, Registry::Private(p) if p.fips);
    (registry.api_region().to_owned(), fips)
}

fn token(
    encoded: Option<&str>,
    expires_at: Option<&aws_smithy_types::DateTime>,
) -> Result<AuthToken, TokenError> {
    let password = decode_authorization_token(encoded.ok_or(TokenError::Empty)?)?;
    // No expiry stated: assume it is already stale, so it is never cached.
    let expires_at = expires_at.map(|t| t.secs()).unwrap_or(0);
    Ok(AuthToken {
        password: Secret::new(password),
        expires_at,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each host form reaches its own partition's API, FIPS where the host
    /// says so, as the SDK's own endpoint rules resolve our choice.
    #[test]
    fn every_host_form_reaches_its_api_endpoint() {
        use aws_sdk_ecr::config::endpoint::{DefaultResolver, Params, ResolveEndpoint};
        let table = [
            (
                "111111111111.dkr.ecr.us-east-1.amazonaws.com",
                "https://api.ecr.us-east-1.amazonaws.com",
            ),
            (
                "111111111111.dkr.ecr-fips.us-east-1.amazonaws.com",
                "https://api.ecr-fips.us-east-1.amazonaws.com",
            ),
            (
                "111111111111.dkr-ecr.us-west-2.on.aws",
                "https://api.ecr.us-west-2.amazonaws.com",
            ),
            (
                "111111111111.dkr-ecr-fips.us-east-2.on.aws",
                "https://api.ecr-fips.us-east-2.amazonaws.com",
            ),
            (
                "111111111111.dkr.ecr.us-gov-west-1.amazonaws.com",
                "https://api.ecr.us-gov-west-1.amazonaws.com",
            ),
            (
                "111111111111.dkr.ecr.cn-north-1.amazonaws.com.cn",
                "https://api.ecr.cn-north-1.amazonaws.com.cn",
            ),
            (
                "111111111111.dkr-ecr.cn-north-1.on.amazonwebservices.com.cn",
                "https://api.ecr.cn-north-1.amazonaws.com.cn",
            ),
            (
                "111111111111.dkr.ecr.us-iso-east-1.c2s.ic.gov",
                "https://api.ecr.us-iso-east-1.c2s.ic.gov",
            ),
            (
                "111111111111.dkr.ecr.us-isob-east-1.sc2s.sgov.gov",
                "https://api.ecr.us-isob-east-1.sc2s.sgov.gov",
            ),
            (
                "111111111111.dkr.ecr.eu-isoe-west-1.cloud.adc-e.uk",
                "https://api.ecr.eu-isoe-west-1.cloud.adc-e.uk",
            ),
            (
                "111111111111.dkr.ecr.us-isof-south-1.csp.hci.ic.gov",
                "https://api.ecr.us-isof-south-1.csp.hci.ic.gov",
            ),
            (
                "111111111111.dkr.ecr.eusc-de-east-1.amazonaws.eu",
                "https://api.ecr.eusc-de-east-1.amazonaws.eu",
            ),
        ];
        for (host, want) in table {
            let (region, fips) = api_location(&crate::registry::parse(host).unwrap());
            let params = Params::builder()
                .region(region)
                .use_fips(fips)
                .use_dual_stack(false)
                .build()
                .unwrap();
            let resolver = DefaultResolver::new();
            let endpoint = futures_lite_now(resolver.resolve_endpoint(&params))
                .unwrap_or_else(|e| panic!("{host}: {e}"));
            assert_eq!(endpoint.url(), want, "{host}");
        }
        let public = crate::registry::parse("public.ecr.aws").unwrap();
        let (region, fips) = api_location(&public);
        let params = aws_sdk_ecrpublic::config::endpoint::Params::builder()
            .region(region)
            .use_fips(fips)
            .use_dual_stack(false)
            .build()
            .unwrap();
        let resolver = aws_sdk_ecrpublic::config::endpoint::DefaultResolver::new();
        let endpoint = futures_lite_now(
            aws_sdk_ecrpublic::config::endpoint::ResolveEndpoint::resolve_endpoint(
                &resolver, &params,
            ),
        )
        .unwrap();
        assert_eq!(
            endpoint.url(),
            "https://api.ecr-public.us-east-1.amazonaws.com"
        );
    }

    /// Endpoint resolution completes at once.
    fn futures_lite_now<F: std::future::Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(f)
    }

    #[test]
    fn the_http_client_is_built_once_per_process() {
        let tmp = tempfile::tempdir().unwrap();
        let bundle = tmp.path().join("ca.pem");
        let ca = rcgen::generate_simple_self_signed(vec!["ca.test".into()]).unwrap();
        std::fs::write(&bundle, ca.cert.pem()).unwrap();
        let source = AwsTokenSource::new(NetSettings {
            timeout: Duration::from_secs(1),
            ca_bundle: Some(bundle.clone()),
            static_keys: false,
        });
        source.http().unwrap();
        // A second read of the bundle would now fail.
        std::fs::remove_file(&bundle).unwrap();
        source.http().unwrap();
        source.client_settings().unwrap();
    }
}
