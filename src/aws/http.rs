//! The SDK's HTTP client, with our trust store and the proxy variables.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_smithy_http_client::Connector;
use aws_smithy_http_client::proxy::ProxyConfig;
use aws_smithy_http_client::tls::{self, TlsContext, TrustStore, rustls_provider::CryptoMode};
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnectorSettings, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;

use super::tls::Trust;
use crate::helper::token::TokenError;

pub(super) fn http_client(trust: &Trust) -> Result<CorporateHttpClient, TokenError> {
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
pub(super) struct CorporateHttpClient {
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
