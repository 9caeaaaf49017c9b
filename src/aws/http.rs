//! The SDK's HTTP client, with our trust store and the proxy variables,
//! and a bound on every answer's body.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_smithy_http_client::Connector;
use aws_smithy_http_client::proxy::ProxyConfig;
use aws_smithy_http_client::tls::{self, TlsContext, TrustStore, rustls_provider::CryptoMode};
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use aws_smithy_runtime_api::client::result::ConnectorError;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::byte_stream::ByteStream;

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
        let connector = SharedHttpConnector::new(BoundedBody {
            inner: SharedHttpConnector::new(
                builder
                    .tls_provider(tls::Provider::Rustls(CryptoMode::Ring))
                    .tls_context(self.tls.clone())
                    .build(),
            ),
            max: MAX_RESPONSE_BODY,
        });
        connectors.push((key, connector.clone()));
        connector
    }
}

/// The largest answer body read from any endpoint (ECR, ECR Public, STS,
/// the container and instance credential endpoints). Their answers are a
/// few KB; the largest real one is `BatchGetImage`'s (doctor), whose image
/// manifests ECR caps at 4 MiB. Anything past this is refused, never held.
pub(super) const MAX_RESPONSE_BODY: u64 = 16 << 20;

/// Reads each answer's body whole (the SDK would, for every operation we
/// call: none streams), failing at `max` bytes instead of growing with
/// whatever the server sends.
#[derive(Debug)]
struct BoundedBody {
    inner: SharedHttpConnector,
    max: u64,
}

impl HttpConnector for BoundedBody {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let answer = self.inner.call(request);
        let max = self.max;
        HttpConnectorFuture::new(async move {
            let mut response = answer.await?;
            let stated = response
                .headers()
                .get("content-length")
                .and_then(|v| v.trim().parse::<u64>().ok());
            if stated.is_some_and(|len| len > max) {
                return Err(too_large(max));
            }
            let mut body = ByteStream::new(response.take_body());
            let mut bytes = Vec::new();
            while let Some(chunk) = body.next().await {
                // Cut mid-body: an I/O failure, retried like one.
                let chunk = chunk.map_err(|e| ConnectorError::io(Box::new(e)))?;
                if (bytes.len() + chunk.len()) as u64 > max {
                    return Err(too_large(max));
                }
                bytes.extend_from_slice(&chunk);
            }
            *response.body_mut() = SdkBody::from(bytes);
            Ok(response)
        })
    }
}

/// Not retried: the same server would send the same answer.
fn too_large(max: u64) -> ConnectorError {
    ConnectorError::other(
        format!(
            "the answer's body is larger than {} MiB; refusing to read it",
            max >> 20
        )
        .into(),
        None,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_smithy_runtime_api::client::orchestrator::HttpResponse;

    /// Answers every request with a body of `len` bytes, its length
    /// stated in a header or not (as a chunked answer comes).
    #[derive(Debug)]
    struct Answers {
        len: usize,
        stated: bool,
    }

    impl HttpConnector for Answers {
        fn call(&self, _: HttpRequest) -> HttpConnectorFuture {
            let body = SdkBody::from(vec![b' '; self.len]);
            let mut response = HttpResponse::new(200.try_into().unwrap(), body);
            if self.stated {
                response
                    .headers_mut()
                    .insert("content-length", self.len.to_string());
            }
            HttpConnectorFuture::ready(Ok(response))
        }
    }

    fn call(len: usize, stated: bool) -> Result<usize, String> {
        let connector = BoundedBody {
            inner: SharedHttpConnector::new(Answers { len, stated }),
            max: 1 << 20,
        };
        let request = HttpRequest::get("http://127.0.0.1/").unwrap();
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(async {
                let response = connector
                    .call(request)
                    .await
                    .map_err(|e| crate::error_chain(&e))?;
                Ok(response.body().bytes().map_or(0, <[u8]>::len))
            })
    }

    #[test]
    fn a_body_is_read_whole_up_to_the_bound_and_refused_past_it() {
        assert_eq!(call(1 << 20, false), Ok(1 << 20));
        assert_eq!(call(3, true), Ok(3));
        for stated in [false, true] {
            let err = call((1 << 20) + 1, stated).unwrap_err();
            assert!(err.contains("larger than 1 MiB"), "{err}");
        }
    }
}
