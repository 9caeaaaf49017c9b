//! The private registry's `GetAuthorizationToken`, sent straight over the
//! early connection: the request the SDK would send, signed by the SDK's
//! own SigV4 signer, without building the SDK's client. On a miss that
//! client's set-up, request pipeline and answer handling are most of the
//! work this process does, and its code most of the pages it maps.
//!
//! Only the first attempt goes this way. A success or a failure that no
//! retry would change is the answer; anything a retry might change (a 5xx,
//! throttling, a clock-skew refusal, a broken connection) is left to the
//! SDK, with one attempt fewer. Building the request and reading the answer
//! are pure functions; the exchange is the early connection's.

use std::time::SystemTime;

use aws_credential_types::Credentials;
use bytes::Bytes;
use http_body_util::Full;

use crate::token::TokenError;

/// The JSON protocol's operation header and content type (awsJson 1.1).
pub const TARGET: &str = "AmazonEC2ContainerRegistry_V20150921.GetAuthorizationToken";
const CONTENT_TYPE: &str = "application/x-amz-json-1.1";
/// The signing name of ECR's API.
const SERVICE: &str = "ecr";

/// The signed request for a token of `account`'s registry, to the API
/// endpoint `host` in `region`, signed at `now`.
pub fn request(
    host: &str,
    account: &str,
    region: &str,
    credentials: &Credentials,
    now: SystemTime,
) -> Result<http::Request<Full<Bytes>>, String> {
    use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
    use aws_sigv4::sign::v4;

    let body = serde_json::to_vec(&serde_json::json!({ "registryIds": [account] }))
        .map_err(|e| e.to_string())?;
    let mut out = http::Request::builder()
        .method(http::Method::POST)
        .uri("/")
        // hyper's connection API, unlike its pooled client, adds no Host.
        .header(http::header::HOST, host)
        .header(http::header::CONTENT_TYPE, CONTENT_TYPE)
        .header("x-amz-target", TARGET)
        .header(http::header::CONTENT_LENGTH, body.len())
        .header(http::header::USER_AGENT, user_agent())
        .body(())
        .map_err(|e| e.to_string())?;
    let identity = credentials.clone().into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name(SERVICE)
        .time(now)
        .settings(SigningSettings::default())
        .build()
        .map_err(|e| e.to_string())?
        .into();
    let url = format!("https://{host}/");
    let headers = out
        .headers()
        .iter()
        .filter_map(|(k, v)| Some((k.as_str(), v.to_str().ok()?)));
    let signable = SignableRequest::new("POST", url.as_str(), headers, SignableBody::Bytes(&body))
        .map_err(|e| e.to_string())?;
    let (instructions, _) = sign(signable, &params)
        .map_err(|e| e.to_string())?
        .into_parts();
    instructions.apply_to_request_http1x(&mut out);
    Ok(out.map(|()| Full::new(Bytes::from(body))))
}

fn user_agent() -> String {
    format!("docker-credential-ecr-login/{}", env!("CARGO_PKG_VERSION"))
}

/// What an answer comes to.
#[derive(Debug)]
pub enum Outcome {
    /// The token as sent (base64 of `AWS:password`) and its expiry, in Unix
    /// seconds as the protocol gives it.
    Token {
        encoded: String,
        expires_at: Option<f64>,
    },
    /// A failure a retry would not change: the answer.
    Failed(TokenError),
    /// Worth another attempt, through the SDK: why this one failed.
    Retry(String),
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct Answer {
    #[serde(default)]
    authorization_data: Vec<Data>,
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct Data {
    authorization_token: Option<String>,
    expires_at: Option<f64>,
}

/// Error codes the SDK's standard retry retries (throttling and transient
/// errors), and the clock-skew refusals its clock correction handles.
const RETRIED_CODES: [&str; 22] = [
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestThrottledException",
    "TooManyRequestsException",
    "ProvisionedThroughputExceededException",
    "TransactionInProgressException",
    "RequestLimitExceeded",
    "BandwidthLimitExceeded",
    "LimitExceededException",
    "RequestThrottled",
    "SlowDown",
    "PriorRequestNotComplete",
    "EC2ThrottledException",
    "RequestTimeout",
    "RequestTimeoutException",
    "IDPCommunicationError",
    "RequestTimeTooSkewed",
    "RequestExpired",
    "RequestInTheFuture",
    "InvalidSignatureException",
    "SignatureDoesNotMatch",
];

/// Reads an answer: the token, a final failure worded as the SDK's is
/// (`HTTP <status> <code>: <message>`), or a reason to try again.
pub fn outcome(status: u16, error_type: Option<&str>, body: &[u8]) -> Outcome {
    if status == 200 {
        return match serde_json::from_slice::<Answer>(body) {
            Ok(answer) => match answer.authorization_data.into_iter().next() {
                Some(Data {
                    authorization_token: Some(encoded),
                    expires_at,
                }) => Outcome::Token {
                    encoded,
                    expires_at,
                },
                _ => Outcome::Failed(TokenError::Empty),
            },
            Err(_) => Outcome::Failed(TokenError::Api("unreadable response (HTTP 200)".into())),
        };
    }
    if status >= 500 || status == 429 || !(400..500).contains(&status) {
        return Outcome::Retry(format!("HTTP {status}"));
    }
    let (code, message) = error_of(error_type, body);
    match code {
        Some(code) if RETRIED_CODES.contains(&code.as_str()) => {
            Outcome::Retry(format!("HTTP {status} {code}"))
        }
        Some(code) => Outcome::Failed(TokenError::Api(format!("HTTP {status} {code}: {message}"))),
        // Not an error this protocol words: the SDK reads it its way.
        None => Outcome::Retry(format!("HTTP {status}")),
    }
}

/// An awsJson error's code and message: the code from the
/// `x-amzn-errortype` header or the body's `__type`, either possibly
/// prefixed (`namespace#Code`) or suffixed (`Code:uri`).
fn error_of(header: Option<&str>, body: &[u8]) -> (Option<String>, String) {
    let json: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
    let field = |k: &str| json.get(k).and_then(|v| v.as_str()).map(str::to_owned);
    let code = header
        .map(str::to_owned)
        .or_else(|| field("__type"))
        .or_else(|| field("code"))
        .map(|c| {
            let c = c.split(':').next().unwrap_or_default();
            c.rsplit('#').next().unwrap_or_default().to_owned()
        })
        .filter(|c| !c.is_empty());
    let message = field("message")
        .or_else(|| field("Message"))
        .unwrap_or_default();
    (code, message)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn credentials(token: Option<&str>) -> Credentials {
        Credentials::new(
            "AKIDEXAMPLE",
            "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
            token.map(str::to_owned),
            None,
            "test",
        )
    }

    fn at(secs: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(secs)
    }

    fn header<'a>(r: &'a http::Request<Full<Bytes>>, k: &str) -> &'a str {
        r.headers()[k].to_str().unwrap()
    }

    #[test]
    fn the_request_is_the_json_call_signed_for_ecr_in_the_region() {
        let host = "api.ecr.eu-west-1.amazonaws.com";
        let r = request(
            host,
            "111111111111",
            "eu-west-1",
            &credentials(None),
            at(1_700_000_000),
        )
        .unwrap();
        assert_eq!(
            (r.method().as_str(), r.uri().to_string()),
            ("POST", "/".into())
        );
        assert_eq!(header(&r, "host"), host);
        assert_eq!(header(&r, "x-amz-target"), TARGET);
        assert_eq!(header(&r, "content-type"), "application/x-amz-json-1.1");
        assert_eq!(header(&r, "x-amz-date"), "20231114T221320Z");
        let auth = header(&r, "authorization");
        assert!(
            auth.starts_with(
                "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20231114/eu-west-1/ecr/aws4_request, "
            ),
            "{auth}"
        );
        for signed in ["content-type", "host", "x-amz-date", "x-amz-target"] {
            assert!(auth.contains(signed), "{signed} unsigned: {auth}");
        }
        assert!(r.headers().get("x-amz-security-token").is_none());
        use http_body_util::BodyExt;
        let body = futures_body(r.into_body().collect());
        assert_eq!(body, br#"{"registryIds":["111111111111"]}"#);
    }

    fn futures_body(
        f: impl std::future::Future<
            Output = Result<http_body_util::Collected<Bytes>, std::convert::Infallible>,
        >,
    ) -> Vec<u8> {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(f)
            .unwrap()
            .to_bytes()
            .to_vec()
    }

    #[test]
    fn a_session_token_is_sent_and_signed() {
        let r = request(
            "api.ecr.us-east-1.amazonaws.com",
            "1",
            "us-east-1",
            &credentials(Some("SESSION")),
            at(1_700_000_000),
        )
        .unwrap();
        assert_eq!(header(&r, "x-amz-security-token"), "SESSION");
        assert!(header(&r, "authorization").contains("x-amz-security-token"));
    }

    /// The signature is the SDK signer's: the same inputs sign alike, and
    /// any change to them changes it.
    #[test]
    fn the_signature_follows_every_input() {
        let sig = |host: &str, account: &str, region: &str, secs: u64| {
            let r = request(host, account, region, &credentials(None), at(secs)).unwrap();
            header(&r, "authorization")
                .rsplit('=')
                .next()
                .unwrap()
                .to_owned()
        };
        let base = sig("api.ecr.us-east-1.amazonaws.com", "1", "us-east-1", 1);
        assert_eq!(base.len(), 64);
        assert_eq!(
            base,
            sig("api.ecr.us-east-1.amazonaws.com", "1", "us-east-1", 1)
        );
        for other in [
            sig("api.ecr.us-east-2.amazonaws.com", "1", "us-east-1", 1),
            sig("api.ecr.us-east-1.amazonaws.com", "2", "us-east-1", 1),
            sig("api.ecr.us-east-1.amazonaws.com", "1", "us-east-2", 1),
            sig("api.ecr.us-east-1.amazonaws.com", "1", "us-east-1", 2),
        ] {
            assert_ne!(other, base);
        }
    }

    #[test]
    fn answers_are_read_as_the_sdk_reads_them() {
        use Outcome::*;
        let token = |e: &str, t: Option<f64>| Token {
            encoded: e.into(),
            expires_at: t,
        };
        let api = |m: &str| Failed(TokenError::Api(m.into()));
        let table: Vec<(u16, Option<&str>, &str, Outcome)> = vec![
            (
                200,
                None,
                r#"{"authorizationData":[{"authorizationToken":"QVdTOng=","expiresAt":1.7E9,"proxyEndpoint":"https://x"}]}"#,
                token("QVdTOng=", Some(1.7e9)),
            ),
            (
                200,
                None,
                r#"{"authorizationData":[{"authorizationToken":"QVdTOng="}]}"#,
                token("QVdTOng=", None),
            ),
            (
                200,
                None,
                r#"{"authorizationData":[]}"#,
                Failed(TokenError::Empty),
            ),
            (200, None, r#"{}"#, Failed(TokenError::Empty)),
            (
                200,
                None,
                r#"{"authorizationData":[{}]}"#,
                Failed(TokenError::Empty),
            ),
            (200, None, "not json", api("unreadable response (HTTP 200)")),
            (
                400,
                None,
                r#"{"__type":"AccessDeniedException","message":"not allowed"}"#,
                api("HTTP 400 AccessDeniedException: not allowed"),
            ),
            (
                400,
                None,
                r#"{"__type":"com.amazonaws.ecr#UnrecognizedClientException","Message":"bad key"}"#,
                api("HTTP 400 UnrecognizedClientException: bad key"),
            ),
            (
                400,
                Some("InvalidParameterException:http://internal"),
                r#"{"message":"no"}"#,
                api("HTTP 400 InvalidParameterException: no"),
            ),
            (
                400,
                None,
                r#"{"__type":"ThrottlingException","message":"Rate exceeded"}"#,
                Retry("HTTP 400 ThrottlingException".into()),
            ),
            (
                403,
                None,
                r#"{"__type":"InvalidSignatureException","message":"Signature expired"}"#,
                Retry("HTTP 403 InvalidSignatureException".into()),
            ),
            (400, None, "<html>", Retry("HTTP 400".into())),
            (429, None, "", Retry("HTTP 429".into())),
            (
                500,
                None,
                r#"{"__type":"ServerException"}"#,
                Retry("HTTP 500".into()),
            ),
            (503, None, "", Retry("HTTP 503".into())),
            (302, None, "", Retry("HTTP 302".into())),
        ];
        for (status, error_type, body, want) in table {
            assert_eq!(
                format!("{:?}", outcome(status, error_type, body.as_bytes())),
                format!("{want:?}"),
                "{status} {body}"
            );
        }
    }
}
