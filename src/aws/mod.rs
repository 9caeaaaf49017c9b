//! The AWS SDK adapter behind `TokenSource`: the cross-account
//! `GetAuthorizationToken` call, with bounded waiting and the corporate
//! network settings (CA bundle, proxy) the SDK does not honour by itself.

use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use aws_config::default_provider::credentials::DefaultCredentialsChain;
use aws_config::identity::IdentityCache;
use aws_config::provider_config::ProviderConfig;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::provider::SharedCredentialsProvider;
use aws_smithy_http_client::Connector;
use aws_smithy_http_client::proxy::ProxyConfig;
use aws_smithy_http_client::tls::{self, TlsContext, TrustStore, rustls_provider::CryptoMode};
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnectorSettings, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

use crate::commands::doctor::{ApiFailure, Caller, DoctorApi, Image, Reference};
use crate::error_chain;
use crate::helper::token::{AuthToken, TokenError, TokenSource, decode_authorization_token};
use crate::registry::CredentialSource;
use crate::registry::{PrivateRegistry, Registry};

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
}

/// Builds nothing until asked: the cache-hit path never starts a runtime,
/// loads certificates or reads AWS configuration.
#[derive(Debug, Clone)]
pub struct AwsTokenSource {
    settings: NetSettings,
    /// Built on first use, with the trust store read once per process.
    http: OnceLock<CorporateHttpClient>,
}

impl AwsTokenSource {
    pub fn new(settings: NetSettings) -> Self {
        AwsTokenSource {
            settings,
            http: OnceLock::new(),
        }
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
            .operation_timeout(t * MAX_ATTEMPTS)
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
            .region(region)
            .http_client(http)
            .timeout_config(timeouts)
            .retry_config(retries)
            .identity_cache(IdentityCache::lazy().load_timeout(t).build())
            .use_fips(fips);
        let loader = match credentials {
            Some(c) => loader.credentials_provider(c),
            None => loader.no_credentials(),
        };
        Ok(loader.load().await)
    }

    /// The credentials provider for a source. Nothing is resolved here: the
    /// SDK asks the provider when it signs.
    fn credentials<'a>(
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
                CredentialSource::Chain if static_keys_in_env(|k| std::env::var(k).ok()) => {
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
                        .web_identity_token(token)
                        .send()
                        .await
                        .map_err(|e| match describe(e) {
                            TokenError::Api(m) => TokenError::Credentials(format!(
                                "AssumeRoleWithWebIdentity {role_arn}: {m}"
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

    async fn fetch_async(
        &self,
        registry: &Registry,
        source: &CredentialSource,
    ) -> Result<AuthToken, TokenError> {
        let (region, fips) = api_location(registry);
        let region = Region::new(region);
        let credentials = self.credentials(source, &region).await?;
        let config = self.sdk_config(region, fips, Some(credentials)).await?;
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
                    .send()
                    .await
                    .map_err(describe)?;
                let data = out.authorization_data().first().ok_or(TokenError::Empty)?;
                token(data.authorization_token(), data.expires_at())
            }
            Registry::Public { .. } => {
                let client = aws_sdk_ecrpublic::Client::new(&config);
                let out = client
                    .get_authorization_token()
                    .send()
                    .await
                    .map_err(describe)?;
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
                .map_err(describe)?;
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
        .or_else(ProfileFileRegionProvider::builder().configure(&pc).build())
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

/// A service error's code and message, or the failure's causes.
fn failure<E>(err: SdkError<E, HttpResponse>) -> ApiFailure
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    match err.as_service_error() {
        Some(e) => ApiFailure {
            code: e.code().map(str::to_owned),
            message: e.message().unwrap_or("").to_owned(),
        },
        None => ApiFailure::from(describe(err)),
    }
}

/// The name of the chain link that produced credentials. `Credentials` has
/// no getter for it; its `Debug`, which redacts the secrets, shows it.
fn provider_name(c: &aws_credential_types::Credentials) -> String {
    let shown = format!("{c:?}");
    shown
        .split("provider_name: \"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap_or("the credential chain")
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
                source: provider_name(&credentials),
            })
        })
    }

    fn token(
        &self,
        registry: &Registry,
        source: &CredentialSource,
    ) -> Result<AuthToken, ApiFailure> {
        self.block_on(async {
            let (region, fips) = api_location(registry);
            let region = Region::new(region);
            let credentials = self.credentials(source, &region).await?;
            let config = self.sdk_config(region, fips, Some(credentials)).await?;
            let Registry::Private(p) = registry else {
                return self
                    .fetch_async(registry, source)
                    .await
                    .map_err(ApiFailure::from);
            };
            #[allow(deprecated)]
            let out = aws_sdk_ecr::Client::new(&config)
                .get_authorization_token()
                .registry_ids(&p.account)
                .send()
                .await
                .map_err(failure)?;
            let data = out.authorization_data().first().ok_or(TokenError::Empty)?;
            Ok(token(data.authorization_token(), data.expires_at())?)
        })
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
                Err(e) => Err(describe(e)),
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
                .map_err(describe)?;
            Ok(())
        })
        .map_err(|e| error_chain(&e))
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

/// Whether the default chain's first link, the environment, has keys: then
/// it ends there, whatever profile or role is configured.
fn static_keys_in_env(var: impl Fn(&str) -> Option<String>) -> bool {
    ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"]
        .iter()
        .all(|k| var(k).is_some_and(|v| !v.trim().is_empty()))
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
        password,
        expires_at,
    })
}

/// Describes an SDK failure without the raw response: the SDK's own
/// display includes the HTTP body, which for a garbled success would be
/// the token itself.
fn describe<E>(err: SdkError<E, HttpResponse>) -> TokenError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    match &err {
        SdkError::ServiceError(e) => {
            let status = e.raw().status().as_u16();
            let code = e.err().code().unwrap_or("unknown error");
            let message = e.err().message().unwrap_or("");
            TokenError::Api(format!("HTTP {status} {code}: {message}"))
        }
        SdkError::ResponseError(e) => TokenError::Api(format!(
            "unreadable response (HTTP {})",
            e.raw().status().as_u16()
        )),
        SdkError::TimeoutError(_) => TokenError::Api("timed out".into()),
        // Connection and credential failures: their causes, by Display only
        // (the SDK's Debug output carries response bodies).
        _ => classify(error_chain(&err)),
    }
}

/// Separates "no credentials" from API failures for clearer logs.
fn classify(message: String) -> TokenError {
    let lower = message.to_ascii_lowercase();
    if lower.contains("no credentials")
        || lower.contains("credentialsnotloaded")
        || lower.contains("failed to load credentials")
        || lower.contains("identity")
    {
        TokenError::Credentials(message)
    } else {
        TokenError::Api(message)
    }
}

/// The trusted roots as PEM, for the SDK's connector, which parses them.
#[derive(Debug)]
struct Trust {
    pem: Vec<u8>,
}

/// Reads and checks `AWS_CA_BUNDLE`: the SDK's TLS layer panics on a bad
/// PEM, so a bad bundle must be refused here with the file's name.
fn load_ca_bundle(path: &PathBuf) -> Result<Trust, TokenError> {
    use rustls_pki_types::CertificateDer;
    use rustls_pki_types::pem::PemObject;
    let bad = |why: String| TokenError::Setup(format!("AWS_CA_BUNDLE {}: {why}", path.display()));
    let pem = std::fs::read(path).map_err(|e| bad(e.to_string()))?;
    let certs = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| bad(format!("not a PEM certificate bundle ({e:?})")))?;
    if certs.is_empty() {
        return Err(bad("no PEM certificate in it".into()));
    }
    let mut roots = rustls::RootCertStore::empty();
    for cert in certs {
        roots
            .add(cert)
            .map_err(|e| bad(format!("unusable certificate: {e}")))?;
    }
    Ok(Trust { pem })
}

/// The system roots (honouring `SSL_CERT_FILE` and `SSL_CERT_DIR`), only
/// those that parse, as PEM: handed to the SDK's own loader, an unusable
/// file trips an assertion there instead of failing cleanly.
fn system_roots() -> Result<Trust, TokenError> {
    use base64::Engine as _;
    let loaded = rustls_native_certs::load_native_certs();
    let mut pem = Vec::new();
    let mut roots = rustls::RootCertStore::empty();
    // The bundle file and the hashed directory usually hold the same roots:
    // each is encoded (and parsed again by the SDK) once.
    let mut seen = std::collections::HashSet::new();
    for cert in loaded.certs {
        if !seen.insert(cert.as_ref().to_vec()) {
            continue;
        }
        if roots.add(cert.clone()).is_ok() {
            let b64 = base64::engine::general_purpose::STANDARD.encode(cert.as_ref());
            pem.extend_from_slice(b"-----BEGIN CERTIFICATE-----\n");
            for line in b64.as_bytes().chunks(64) {
                pem.extend_from_slice(line);
                pem.push(b'\n');
            }
            pem.extend_from_slice(b"-----END CERTIFICATE-----\n");
        }
    }
    if roots.is_empty() {
        let errors: Vec<String> = loaded.errors.iter().map(|e| e.to_string()).collect();
        return Err(TokenError::Setup(format!(
            "no usable root certificate in the system store (SSL_CERT_FILE, SSL_CERT_DIR){}",
            if errors.is_empty() {
                String::new()
            } else {
                format!(": {}", errors.join("; "))
            }
        )));
    }
    Ok(Trust { pem })
}

fn load_trust(ca_bundle: Option<&PathBuf>) -> Result<Trust, TokenError> {
    match ca_bundle {
        Some(path) => load_ca_bundle(path),
        None => system_roots(),
    }
}

fn http_client(trust: &Trust) -> Result<CorporateHttpClient, TokenError> {
    let tls = TlsContext::builder()
        .with_trust_store(TrustStore::empty().with_pem_certificate(trust.pem.clone()))
        .build()
        .map_err(|e| TokenError::Setup(format!("TLS: {e}")))?;
    Ok(CorporateHttpClient {
        tls,
        connectors: Arc::default(),
    })
}

/// The SDK's hyper connector with our trust store and `HTTPS_PROXY`,
/// `HTTP_PROXY` and `NO_PROXY` from the environment.
#[derive(Debug, Clone)]
struct CorporateHttpClient {
    tls: TlsContext,
    /// One connector per timeout settings, so that the trust store is
    /// parsed once and connections are reused.
    connectors: Arc<Mutex<Vec<(ConnectorKey, SharedHttpConnector)>>>,
}

type ConnectorKey = (Option<Duration>, Option<Duration>);

impl HttpClient for CorporateHttpClient {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        let key = (settings.connect_timeout(), settings.read_timeout());
        let mut connectors = self.connectors.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((_, c)) = connectors.iter().find(|(k, _)| *k == key) {
            return c.clone();
        }
        let mut builder = Connector::builder()
            .connector_settings(settings.clone())
            .proxy_config(ProxyConfig::from_env())
            .enable_tcp_nodelay(true);
        if let Some(sleep) = components.sleep_impl() {
            builder = builder.sleep_impl(sleep);
        }
        let connector = SharedHttpConnector::new(
            builder
                .tls_provider(tls::Provider::Rustls(CryptoMode::Ring))
                .tls_context(self.tls.clone())
                .build(),
        );
        connectors.push((key, connector.clone()));
        connector
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ca_bundle_must_hold_certificates() {
        let tmp = tempfile::tempdir().unwrap();
        let missing = tmp.path().join("missing.pem");
        let garbage = tmp.path().join("garbage.pem");
        std::fs::write(&garbage, b"hello").unwrap();
        let broken = tmp.path().join("broken.pem");
        std::fs::write(
            &broken,
            b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
        )
        .unwrap();
        for path in [missing, garbage, broken] {
            let err = load_ca_bundle(&path).unwrap_err().to_string();
            assert!(
                err.contains("AWS_CA_BUNDLE") && err.contains(&*path.to_string_lossy()),
                "{err}"
            );
        }
    }

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
    fn only_both_static_keys_end_the_chain_at_the_environment() {
        let table: [(&[(&str, &str)], bool); 5] = [
            (
                &[
                    ("AWS_ACCESS_KEY_ID", "AKIA"),
                    ("AWS_SECRET_ACCESS_KEY", "s"),
                ],
                true,
            ),
            (&[("AWS_ACCESS_KEY_ID", "AKIA")], false),
            (&[("AWS_SECRET_ACCESS_KEY", "s")], false),
            (
                &[
                    ("AWS_ACCESS_KEY_ID", "AKIA"),
                    ("AWS_SECRET_ACCESS_KEY", " "),
                ],
                false,
            ),
            (&[], false),
        ];
        for (vars, want) in table {
            let var = |k: &str| {
                vars.iter()
                    .find(|(n, _)| *n == k)
                    .map(|(_, v)| v.to_string())
            };
            assert_eq!(static_keys_in_env(var), want, "{vars:?}");
        }
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
        });
        source.http().unwrap();
        // A second read of the bundle would now fail.
        std::fs::remove_file(&bundle).unwrap();
        source.http().unwrap();
        source.client_settings().unwrap();
    }

    #[test]
    fn credential_failures_are_told_apart() {
        assert!(matches!(
            classify("dispatch failure: no credentials in the property bag".into()),
            TokenError::Credentials(_)
        ));
        assert!(matches!(
            classify("ThrottlingException: Rate exceeded".into()),
            TokenError::Api(_)
        ));
    }
}
