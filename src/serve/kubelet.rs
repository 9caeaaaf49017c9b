//! The kubelet image credential provider (KEP-2133,
//! `credentialprovider.kubelet.k8s.io`), served by the same binary as the
//! docker helper: `docker-credential-ecr-login kubelet`, or the executable
//! invoked as `ecr-credential-provider` (a symlink or a copy), which is the
//! name the kubelet configuration and the EKS AMIs use.
//!
//! The kubelet writes one `CredentialProviderRequest` on stdin and reads one
//! `CredentialProviderResponse` on stdout. On any failure nothing is written
//! on stdout, one line goes to stderr (the kubelet logs it) and the exit
//! code is 1. Tokens come from [`Helper::token`], so the disk cache is the
//! same as the docker helper's.
//!
//! Service-account mode (KEP-4412, Kubernetes 1.33+): when the request
//! carries a `serviceAccountToken`, the token is exchanged through STS
//! `AssumeRoleWithWebIdentity` for the role named by the service account's
//! [`ROLE_ANNOTATION`], else by [`ROLE_ARN_VAR`]; the cache entry is then
//! the role's. The service-account token is never logged nor printed.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::io::{self, Read, Write};
use std::path::Path;

use serde::Serialize;
use serde_json::Value;

use crate::error_chain;
use crate::helper::token::USERNAME;
use crate::helper::{GetError, Helper};
use crate::registry::CredentialSource;
use crate::registry::{self, ParseError, Partition, Registry};
use crate::secret::Secret;

/// The executable name that selects this mode (argv[0]'s file name).
pub const PROVIDER_NAME: &str = "ecr-credential-provider";
/// The subcommand that selects this mode.
pub const SUBCOMMAND: &str = "kubelet";
pub const API_GROUP: &str = "credentialprovider.kubelet.k8s.io";
/// Every request version the kubelet may send; the answer uses the same.
pub const API_VERSIONS: [&str; 3] = [
    "credentialprovider.kubelet.k8s.io/v1",
    "credentialprovider.kubelet.k8s.io/v1beta1",
    "credentialprovider.kubelet.k8s.io/v1alpha1",
];
pub const REQUEST_KIND: &str = "CredentialProviderRequest";
pub const RESPONSE_KIND: &str = "CredentialProviderResponse";
/// ECR tokens are valid for the whole registry.
pub const CACHE_KEY_TYPE: &str = "Registry";
/// In service-account mode the token depends on the role alone, which the
/// service account selects (kubelet 1.33 requires this field then; later
/// versions take it from `tokenAttributes.cacheType` and ignore it).
pub const SERVICE_ACCOUNT_CACHE_TYPE: &str = "ServiceAccount";
/// Service-account annotation naming the role to assume.
pub const ROLE_ANNOTATION: &str = "eks.amazonaws.com/ecr-role-arn";
/// The role to assume when the service account has no [`ROLE_ANNOTATION`].
pub const ROLE_ARN_VAR: &str = "AWS_ECR_KUBELET_ROLE_ARN";
/// The STS session name of service-account mode (it shows in CloudTrail).
pub const SESSION_NAME: &str = "ecr-credential-provider";
/// A request is a few hundred bytes; anything this large is not one.
pub const MAX_REQUEST: u64 = 1024 * 1024;

/// Whether the process serves the kubelet: its executable is named
/// [`PROVIDER_NAME`], or `ecr-credential-provider.exe` as on Windows
/// (whatever the arguments: they come from the kubelet's configuration),
/// or its first argument is [`SUBCOMMAND`] with no help flag after it
/// (extra arguments are ignored).
pub fn invoked_as_plugin(args: impl IntoIterator<Item = OsString>) -> bool {
    let mut args = args.into_iter();
    let by_name = args
        .next()
        .as_deref()
        .and_then(|argv0| Path::new(argv0).file_name())
        .and_then(|name| name.to_str())
        .and_then(|name| name.strip_prefix(PROVIDER_NAME))
        // Windows matches extensions in any case.
        .is_some_and(|ext| ext.is_empty() || ext.eq_ignore_ascii_case(".exe"));
    if by_name {
        return true;
    }
    args.next().is_some_and(|a| a == SUBCOMMAND) && !args.any(|a| a == "--help" || a == "-h")
}

#[derive(Debug, thiserror::Error)]
pub enum KubeletError {
    #[error("cannot read the request from stdin: {0}")]
    Read(io::Error),
    #[error("the request is larger than {MAX_REQUEST} bytes")]
    TooLarge,
    #[error("malformed {REQUEST_KIND}: {0}")]
    Malformed(String),
    #[error(
        "unsupported apiVersion {0:?}: expected credentialprovider.kubelet.k8s.io/v1, v1beta1 or v1alpha1"
    )]
    ApiVersion(String),
    #[error("unexpected kind {0:?}: expected {REQUEST_KIND}")]
    Kind(String),
    #[error("the request names no image")]
    NoImage,
    #[error("image {image:?} is not a valid image reference: {reason}")]
    InvalidImage { image: String, reason: &'static str },
    #[error(
        "image {image:?} names no registry host: it is a Docker Hub image, not an Amazon ECR one"
    )]
    DockerHub { image: String },
    #[error("image {image:?} is not in an Amazon ECR registry")]
    NotEcr {
        image: String,
        #[source]
        source: ParseError,
    },
    #[error(
        "a service account token was sent but no role to assume: annotate the service account with {ROLE_ANNOTATION} or set {ROLE_ARN_VAR}"
    )]
    NoRole,
    #[error("{origin} {arn:?} is not an IAM role ARN (arn:<partition>:iam::<account>:role/<name>)")]
    BadRole { origin: &'static str, arn: String },
    #[error(
        "the serviceAccountToken is empty: the kubelet sent no token to exchange (the node's own credentials are not used instead)"
    )]
    EmptyServiceAccountToken,
    #[error(
        "{origin} {arn:?} is a role of partition {role}, the registry {registry} is in partition {expected}: STS of one partition cannot give credentials for another (the node's own credentials are not used instead)"
    )]
    RolePartition {
        origin: &'static str,
        arn: String,
        role: &'static str,
        registry: String,
        expected: &'static str,
    },
    #[error(transparent)]
    Token(#[from] GetError),
    #[error("cannot encode the response: {0}")]
    Encode(serde_json::Error),
}

/// A request, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub api_version: String,
    pub image: String,
    pub service_account_token: Option<Secret<String>>,
    pub service_account_annotations: BTreeMap<String, String>,
}

/// Parses and checks a request. Error messages never quote the input
/// beyond `apiVersion`, `kind` and `image`, so no token can leak through
/// them. Unknown fields are ignored.
pub fn parse_request(bytes: &[u8]) -> Result<Request, KubeletError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(KubeletError::Malformed("empty request".into()));
    }
    let value: Value = serde_json::from_slice(bytes)
        .map_err(|e| KubeletError::Malformed(format!("not JSON ({e})")))?;
    let Value::Object(map) = value else {
        return Err(KubeletError::Malformed("not a JSON object".into()));
    };
    let string = |name: &str| match map.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.as_str())),
        Some(_) => Err(KubeletError::Malformed(format!("{name} is not a string"))),
    };
    let api_version = string("apiVersion")?.unwrap_or_default();
    if !API_VERSIONS.contains(&api_version) {
        return Err(KubeletError::ApiVersion(api_version.to_owned()));
    }
    let kind = string("kind")?.unwrap_or_default();
    if kind != REQUEST_KIND {
        return Err(KubeletError::Kind(kind.to_owned()));
    }
    let image = string("image")?
        .map(str::trim)
        .filter(|i| !i.is_empty())
        .ok_or(KubeletError::NoImage)?;
    // Absent (or null) is no service-account mode; present but empty is a
    // broken request, never a reason to fall back to the node's credentials.
    let service_account_token = string("serviceAccountToken")?.map(str::to_owned);
    if service_account_token
        .as_deref()
        .is_some_and(|t| t.trim().is_empty())
    {
        return Err(KubeletError::EmptyServiceAccountToken);
    }
    let service_account_annotations = match map.get("serviceAccountAnnotations") {
        None | Some(Value::Null) => BTreeMap::new(),
        Some(Value::Object(m)) => m
            .iter()
            .map(|(k, v)| match v {
                Value::String(s) => Ok((k.clone(), s.clone())),
                _ => Err(KubeletError::Malformed(format!(
                    "serviceAccountAnnotations[{k:?}] is not a string"
                ))),
            })
            .collect::<Result<_, _>>()?,
        Some(_) => {
            return Err(KubeletError::Malformed(
                "serviceAccountAnnotations is not an object".into(),
            ));
        }
    };
    Ok(Request {
        api_version: api_version.to_owned(),
        image: image.to_owned(),
        service_account_token: service_account_token.map(Secret::new),
        service_account_annotations,
    })
}

pub use crate::registry::image::ImageRef;

/// Splits an image reference. An image without a `/` (`nginx`,
/// `nginx:1.27`) lives on Docker Hub: it has no registry host at all.
pub fn split_image(image: &str) -> Result<ImageRef<'_>, KubeletError> {
    crate::registry::image::split(image).map_err(|e| match e {
        crate::registry::image::ImageError::NoRegistry => KubeletError::DockerHub {
            image: image.to_owned(),
        },
        crate::registry::image::ImageError::Invalid(reason) => KubeletError::InvalidImage {
            image: image.to_owned(),
            reason,
        },
    })
}

/// The credentials to fetch with: `None` (the configured route, normally
/// the node's own credentials) unless the request carries a
/// service-account token. The role must be of the registry's partition.
fn credentials_for(
    request: &Request,
    registry: &Registry,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Option<CredentialSource>, KubeletError> {
    let Some(token) = &request.service_account_token else {
        return Ok(None);
    };
    let annotated = request
        .service_account_annotations
        .get(ROLE_ANNOTATION)
        .map(|r| r.trim().to_owned())
        .filter(|r| !r.is_empty());
    let configured = || {
        env(ROLE_ARN_VAR)
            .map(|r| r.trim().to_owned())
            .filter(|r| !r.is_empty())
    };
    let (origin, role_arn) = match annotated {
        Some(r) => (ROLE_ANNOTATION, r),
        None => (ROLE_ARN_VAR, configured().ok_or(KubeletError::NoRole)?),
    };
    let Some(partition) = registry::role_arn_partition(&role_arn) else {
        return Err(KubeletError::BadRole {
            origin,
            arn: role_arn,
        });
    };
    let expected = match registry {
        Registry::Private(p) => p.partition,
        // ECR Public lives in the commercial partition only.
        Registry::Public { .. } => Partition::Aws,
    };
    if partition != expected {
        return Err(KubeletError::RolePartition {
            origin,
            arn: role_arn,
            role: partition.id(),
            registry: registry.host().to_owned(),
            expected: expected.id(),
        });
    }
    Ok(Some(CredentialSource::WebIdentity {
        role_arn,
        token: token.clone(),
        session_name: Some(SESSION_NAME.to_owned()),
    }))
}

/// How long the kubelet may keep a token: half of what is left of it, so
/// that it comes back while the token is still good for a while.
pub fn cache_duration_secs(expires_at: i64, now: i64) -> u64 {
    u64::try_from(expires_at.saturating_sub(now) / 2).unwrap_or(0)
}

/// A whole number of seconds as Go's `time.Duration.String()` writes it:
/// `0s`, `45s`, `1m0s`, `2h3m4s`.
pub fn go_duration(secs: u64) -> String {
    let (h, m, s) = (secs / 3600, secs % 3600 / 60, secs % 60);
    if h > 0 {
        format!("{h}h{m}m{s}s")
    } else if m > 0 {
        format!("{m}m{s}s")
    } else {
        format!("{s}s")
    }
}

#[derive(Serialize)]
struct AuthConfig<'a> {
    username: &'a str,
    password: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Response<'a> {
    kind: &'static str,
    api_version: &'a str,
    cache_key_type: &'static str,
    cache_duration: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    service_account_token_cache_type: Option<&'static str>,
    auth: BTreeMap<&'a str, AuthConfig<'a>>,
}

/// Answers one request: the response document, or why there is none.
pub fn respond(
    input: &[u8],
    helper: &Helper<'_>,
    env: &dyn Fn(&str) -> Option<String>,
    now: i64,
) -> Result<String, KubeletError> {
    let request = parse_request(input)?;
    let image = split_image(&request.image)?;
    let registry = registry::parse(image.authority).map_err(|source| KubeletError::NotEcr {
        image: request.image.clone(),
        source,
    })?;
    let credentials = credentials_for(&request, &registry, env)?;
    tracing::info!(
        api_version = %request.api_version,
        image = %request.image,
        credentials = ?credentials,
        "kubelet credential request"
    );
    let service_account_mode = credentials.is_some();
    let served = helper.token(image.authority, credentials)?;
    let secs = cache_duration_secs(served.expires_at, now);
    tracing::info!(registry = %served.registry, cache_duration_secs = secs, "answering the kubelet");
    let response = Response {
        kind: RESPONSE_KIND,
        api_version: &request.api_version,
        cache_key_type: CACHE_KEY_TYPE,
        cache_duration: go_duration(secs),
        service_account_token_cache_type: service_account_mode
            .then_some(SERVICE_ACCOUNT_CACHE_TYPE),
        // Keyed by the registry as the image writes it: the kubelet
        // matches this key against the image, port included.
        auth: BTreeMap::from([(
            image.authority,
            AuthConfig {
                username: USERNAME,
                password: served.password.expose(),
            },
        )]),
    };
    let mut out = serde_json::to_string(&response).map_err(KubeletError::Encode)?;
    out.push('\n');
    Ok(out)
}

fn read_request(stdin: &mut dyn Read) -> Result<Vec<u8>, KubeletError> {
    let mut buf = Vec::new();
    stdin
        .take(MAX_REQUEST + 1)
        .read_to_end(&mut buf)
        .map_err(KubeletError::Read)?;
    if buf.len() as u64 > MAX_REQUEST {
        return Err(KubeletError::TooLarge);
    }
    Ok(buf)
}

/// Serves one kubelet request: the response on `stdout` and exit code 0,
/// or one line on `stderr`, nothing on `stdout`, and exit code 1.
/// `env` reads the environment; `now` is Unix seconds.
pub fn run(
    stdin: &mut dyn Read,
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
    helper: &Helper<'_>,
    env: impl Fn(&str) -> Option<String>,
    now: i64,
) -> u8 {
    let result = read_request(stdin).and_then(|input| respond(&input, helper, &env, now));
    let message = match result {
        Ok(body) => match stdout
            .write_all(body.as_bytes())
            .and_then(|()| stdout.flush())
        {
            Ok(()) => return 0,
            Err(e) => format!("cannot write the response: {e}"),
        },
        Err(e) => error_chain(&e),
    };
    tracing::warn!(error = %message, "no credentials for the kubelet");
    let _ = writeln!(stderr, "{PROVIDER_NAME}: {}", crate::one_line(&message));
    let _ = stderr.flush();
    1
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;
    use std::time::Duration;

    use crate::helper::cache::Cache;
    use crate::helper::default_routes;
    use crate::helper::token::{AuthToken, TokenError, TokenSource};

    const NOW: i64 = 1_700_000_000;
    const HOST: &str = "111111111111.dkr.ecr.us-east-1.amazonaws.com";
    const IMAGE: &str = "111111111111.dkr.ecr.us-east-1.amazonaws.com/audit/sa/cicd-runner:latest";
    const ROLE: &str = "arn:aws:iam::222222222222:role/ecr-pull";
    const SA_TOKEN: &str = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzeXN0ZW06c2EifQ.c2lnbmF0dXJl";

    fn now() -> i64 {
        NOW
    }

    /// Answers every fetch with `password`, expiring `lifetime` from NOW,
    /// or with an error; records what it was asked.
    struct Fake {
        answer: Result<(String, i64), String>,
        asked: RefCell<Vec<(Registry, CredentialSource)>>,
    }

    impl Fake {
        fn ok(password: &str, lifetime: i64) -> Self {
            Fake {
                answer: Ok((password.into(), NOW + lifetime)),
                asked: RefCell::new(Vec::new()),
            }
        }
        fn failing(message: &str) -> Self {
            Fake {
                answer: Err(message.into()),
                asked: RefCell::new(Vec::new()),
            }
        }
        fn calls(&self) -> usize {
            self.asked.borrow().len()
        }
    }

    impl TokenSource for Fake {
        fn fetch(
            &self,
            registry: &Registry,
            credentials: &CredentialSource,
        ) -> Result<AuthToken, TokenError> {
            self.asked
                .borrow_mut()
                .push((registry.clone(), credentials.clone()));
            match &self.answer {
                Ok((password, expires_at)) => Ok(AuthToken {
                    password: Secret::new(password.clone()),
                    expires_at: *expires_at,
                }),
                Err(m) => Err(TokenError::Api {
                    operation: "GetAuthorizationToken",
                    status: None,
                    failure: crate::helper::token::ApiFailure::other(m.clone()),
                }),
            }
        }
    }

    fn helper<'a>(source: &'a Fake, cache: Option<&Path>) -> Helper<'a> {
        Helper {
            cache: cache.map(Cache::new),
            identity: "env:AKIANODE".into(),
            source,
            routes: &default_routes,
            now,
            lock_wait: Duration::from_secs(1),
        }
    }

    struct Outcome {
        code: u8,
        stdout: String,
        stderr: String,
    }

    fn run_with(fake: &Fake, input: &str, env: &[(&str, &str)]) -> Outcome {
        run_with_helper(&helper(fake, None), input, env)
    }

    fn run_with_helper(h: &Helper<'_>, input: &str, env: &[(&str, &str)]) -> Outcome {
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let env: Vec<(String, String)> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let code = run(
            &mut input.as_bytes(),
            &mut out,
            &mut err,
            h,
            |k| env.iter().find(|(key, _)| key == k).map(|(_, v)| v.clone()),
            NOW,
        );
        Outcome {
            code,
            stdout: String::from_utf8(out).unwrap(),
            stderr: String::from_utf8(err).unwrap(),
        }
    }

    fn request(api_version: &str, image: &str) -> String {
        serde_json::json!({
            "apiVersion": api_version,
            "kind": "CredentialProviderRequest",
            "image": image,
        })
        .to_string()
    }

    fn sa_request(image: &str, annotations: serde_json::Value) -> String {
        serde_json::json!({
            "apiVersion": "credentialprovider.kubelet.k8s.io/v1",
            "kind": "CredentialProviderRequest",
            "image": image,
            "serviceAccountToken": SA_TOKEN,
            "serviceAccountAnnotations": annotations,
        })
        .to_string()
    }

    /// A failure: exit 1, nothing on stdout, exactly one line on stderr.
    fn assert_refused(o: &Outcome, needle: &str) {
        assert_eq!(o.code, 1, "stderr={:?}", o.stderr);
        assert_eq!(o.stdout, "", "nothing on stdout on failure");
        assert!(
            o.stderr.ends_with('\n') && o.stderr.matches('\n').count() == 1,
            "one line on stderr: {:?}",
            o.stderr
        );
        assert!(
            o.stderr.starts_with("ecr-credential-provider: "),
            "{:?}",
            o.stderr
        );
        assert!(o.stderr.contains(needle), "{:?} lacks {needle:?}", o.stderr);
        assert!(!o.stderr.contains(SA_TOKEN), "the token leaked");
    }

    #[test]
    fn golden_request_and_response_for_every_api_version() {
        for version in API_VERSIONS {
            let fake = Fake::ok("pw-123", 12 * 3600 - 60);
            // As the kubelet sends it, unknown fields included.
            let input = format!(
                r#"{{"kind":"CredentialProviderRequest","apiVersion":"{version}","image":"{IMAGE}","somethingNew":{{"a":1}}}}"#
            );
            let o = run_with(&fake, &input, &[]);
            assert_eq!(o.code, 0, "{version}: {}", o.stderr);
            assert_eq!(o.stderr, "");
            assert!(o.stdout.ends_with('\n') && o.stdout.matches('\n').count() == 1);
            let v: serde_json::Value = serde_json::from_str(&o.stdout).unwrap();
            let obj = v.as_object().unwrap();
            let keys: Vec<&str> = obj.keys().map(String::as_str).collect();
            assert_eq!(
                keys,
                [
                    "kind",
                    "apiVersion",
                    "cacheKeyType",
                    "cacheDuration",
                    "auth"
                ]
            );
            assert_eq!(v["kind"], "CredentialProviderResponse");
            assert_eq!(v["apiVersion"], version);
            assert_eq!(v["cacheKeyType"], "Registry");
            // (12 h - 1 min) / 2
            assert_eq!(v["cacheDuration"], "5h59m30s");
            let auth = v["auth"].as_object().unwrap();
            assert_eq!(auth.len(), 1);
            assert_eq!(
                auth[HOST],
                serde_json::json!({"username": "AWS", "password": "pw-123"})
            );
            // The node's own credentials, for the registry in the image.
            let asked = fake.asked.borrow();
            assert_eq!(asked.len(), 1);
            assert_eq!(asked[0].0.host(), HOST);
            assert_eq!(asked[0].1, CredentialSource::Chain);
        }
    }

    #[test]
    fn parses_requests_field_by_field() {
        let r = parse_request(
            br#"{"apiVersion":"credentialprovider.kubelet.k8s.io/v1","kind":"CredentialProviderRequest",
                "image":"public.ecr.aws/x/y:1","serviceAccountToken":"t",
                "serviceAccountAnnotations":{"a":"b"},"extra":[1,2]}"#,
        )
        .unwrap();
        assert_eq!(r.api_version, "credentialprovider.kubelet.k8s.io/v1");
        assert_eq!(r.image, "public.ecr.aws/x/y:1");
        assert_eq!(
            r.service_account_token
                .as_ref()
                .map(|t| t.expose().as_str()),
            Some("t")
        );
        assert_eq!(
            r.service_account_annotations,
            BTreeMap::from([("a".to_owned(), "b".to_owned())])
        );
        assert!(!format!("{r:?}").contains("\"t\""));
        // A null token and null annotations are absent ones.
        let r = parse_request(
            br#"{"apiVersion":"credentialprovider.kubelet.k8s.io/v1beta1","kind":"CredentialProviderRequest",
                "image":"x/y","serviceAccountToken":null,"serviceAccountAnnotations":null}"#,
        )
        .unwrap();
        assert_eq!(r.service_account_token, None);
        assert!(r.service_account_annotations.is_empty());
        // An empty one is a broken request.
        for empty in ["", " ", "\n\t"] {
            let input = serde_json::json!({
                "apiVersion": "credentialprovider.kubelet.k8s.io/v1",
                "kind": "CredentialProviderRequest",
                "image": IMAGE,
                "serviceAccountToken": empty,
            });
            assert!(
                matches!(
                    parse_request(input.to_string().as_bytes()),
                    Err(KubeletError::EmptyServiceAccountToken)
                ),
                "{empty:?}"
            );
        }
    }

    #[test]
    fn a_role_of_another_partition_is_refused_without_a_fetch() {
        // (image, role)
        let table: &[(&str, &str)] = &[
            (IMAGE, "arn:aws-cn:iam::222222222222:role/pull"),
            (IMAGE, "arn:aws-us-gov:iam::222222222222:role/pull"),
            ("111111111111.dkr.ecr.cn-north-1.amazonaws.com.cn/app", ROLE),
            ("111111111111.dkr.ecr.us-gov-west-1.amazonaws.com/app", ROLE),
            (
                "public.ecr.aws/team/app",
                "arn:aws-cn:iam::222222222222:role/pull",
            ),
        ];
        for &(image, role) in table {
            let fake = Fake::ok("pw", 3600);
            let o = run_with(
                &fake,
                &sa_request(image, serde_json::json!({ROLE_ANNOTATION: role})),
                &[],
            );
            assert_refused(&o, "is a role of partition");
            assert!(o.stderr.contains(role), "{}", o.stderr);
            assert_eq!(fake.calls(), 0, "{image} {role}");
            // The same from the environment.
            let o = run_with(
                &fake,
                &sa_request(image, serde_json::json!({})),
                &[(ROLE_ARN_VAR, role)],
            );
            assert_refused(&o, ROLE_ARN_VAR);
            assert_eq!(fake.calls(), 0, "{image} {role}");
        }
        // The registry's own partition passes.
        for (image, role) in [
            (
                "111111111111.dkr.ecr.cn-north-1.amazonaws.com.cn/app",
                "arn:aws-cn:iam::222222222222:role/pull",
            ),
            (
                "111111111111.dkr.ecr.us-gov-west-1.amazonaws.com/app",
                "arn:aws-us-gov:iam::222222222222:role/pull",
            ),
            ("public.ecr.aws/team/app", ROLE),
        ] {
            let fake = Fake::ok("pw", 3600);
            let o = run_with(
                &fake,
                &sa_request(image, serde_json::json!({ROLE_ANNOTATION: role})),
                &[],
            );
            assert_eq!(o.code, 0, "{image}: {}", o.stderr);
            assert_eq!(fake.calls(), 1);
        }
    }

    #[test]
    fn go_duration_matches_go() {
        // time.Duration(n * time.Second).String()
        let table: &[(u64, &str)] = &[
            (0, "0s"),
            (1, "1s"),
            (45, "45s"),
            (59, "59s"),
            (60, "1m0s"),
            (61, "1m1s"),
            (599, "9m59s"),
            (3599, "59m59s"),
            (3600, "1h0m0s"),
            (3601, "1h0m1s"),
            (3660, "1h1m0s"),
            (7384, "2h3m4s"),
            (21570, "5h59m30s"),
            (21600, "6h0m0s"),
            (43200, "12h0m0s"),
            (86400, "24h0m0s"),
            (360_000, "100h0m0s"),
        ];
        for &(secs, want) in table {
            assert_eq!(go_duration(secs), want, "{secs}");
        }
    }

    #[test]
    fn cache_duration_is_half_the_remaining_lifetime_floored_at_zero() {
        assert_eq!(cache_duration_secs(NOW + 12 * 3600, NOW), 6 * 3600);
        assert_eq!(cache_duration_secs(NOW + 7201, NOW), 3600);
        assert_eq!(cache_duration_secs(NOW + 1, NOW), 0);
        assert_eq!(cache_duration_secs(NOW, NOW), 0);
        assert_eq!(cache_duration_secs(NOW - 100, NOW), 0);
        assert_eq!(cache_duration_secs(0, NOW), 0);
        assert_eq!(cache_duration_secs(i64::MIN, i64::MAX), 0);
    }

    #[test]
    fn an_expired_token_is_served_with_a_zero_cache_duration() {
        let fake = Fake::ok("old", -3600);
        let o = run_with(&fake, &request(API_VERSIONS[0], IMAGE), &[]);
        assert_eq!(o.code, 0, "{}", o.stderr);
        let v: serde_json::Value = serde_json::from_str(&o.stdout).unwrap();
        assert_eq!(v["cacheDuration"], "0s");
    }

    #[test]
    fn image_to_registry() {
        // (image, authority, repository)
        let table: &[(&str, &str, &str)] = &[
            (IMAGE, HOST, "audit/sa/cicd-runner"),
            (
                "111111111111.dkr.ecr.us-east-1.amazonaws.com/app",
                HOST,
                "app",
            ),
            (
                "111111111111.dkr.ecr.us-east-1.amazonaws.com/team/app@sha256:0123abcd",
                HOST,
                "team/app",
            ),
            (
                "111111111111.dkr.ecr.us-east-1.amazonaws.com/team/app:1.0@sha256:0123abcd",
                HOST,
                "team/app",
            ),
            (
                "111111111111.dkr.ecr.us-east-1.amazonaws.com:443/team/app:1.0",
                "111111111111.dkr.ecr.us-east-1.amazonaws.com:443",
                "team/app",
            ),
            (
                "111111111111.dkr.ecr.us-east-1.amazonaws.com:443/team/app",
                "111111111111.dkr.ecr.us-east-1.amazonaws.com:443",
                "team/app",
            ),
            (
                "public.ecr.aws/docker/library/nginx:1.27",
                "public.ecr.aws",
                "docker/library/nginx",
            ),
            ("ecr-public.aws.com/a/b", "ecr-public.aws.com", "a/b"),
            (
                "123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn/a:b",
                "123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn",
                "a",
            ),
            (
                "123456789012.dkr-ecr-fips.us-east-2.on.aws/a",
                "123456789012.dkr-ecr-fips.us-east-2.on.aws",
                "a",
            ),
            (
                "123456789012.dkr.ecr.us-isof-south-1.csp.hci.ic.gov/a/b/c:d",
                "123456789012.dkr.ecr.us-isof-south-1.csp.hci.ic.gov",
                "a/b/c",
            ),
        ];
        for &(image, authority, repository) in table {
            let r = split_image(image).unwrap_or_else(|e| panic!("{image}: {e}"));
            assert_eq!(
                (r.authority, r.repository),
                (authority, repository),
                "{image}"
            );
            assert!(registry::parse(r.authority).is_ok(), "{image}");
        }
        // Not ECR, or not an image at all.
        for image in [
            "nginx",
            "nginx:1.27",
            "library/nginx",
            "docker.io/library/nginx:latest",
            "registry.example.com/team/app:1.0",
            "localhost:5000/app",
            "111111111111.dkr.ecr.us-east-1.amazonaws.com",
            "111111111111.dkr.ecr.us-east-1.amazonaws.com:443",
            "111111111111.dkr.ecr.us-east-1.amazonaws.com.evil.example/app",
            "evil.example/111111111111.dkr.ecr.us-east-1.amazonaws.com/app",
            "111111111111.dkr.ecr.us-east-1.amazonaws.com@evil.example/app",
            "111111111111.dkr.ecr.us-east-1.amazonaws.com:x/app",
            "111111111111.dkr.ecr.us-east-1.amazonaws.com/",
            "111111111111.dkr.ecr.us-east-1.amazonaws.com//app",
            "public.ecr.aws.evil.example/app",
            "https://111111111111.dkr.ecr.us-east-1.amazonaws.com/app",
        ] {
            let ecr = split_image(image)
                .ok()
                .filter(|r| registry::parse(r.authority).is_ok());
            assert_eq!(ecr, None, "{image} must be refused");
            let o = run_with(&Fake::ok("pw", 3600), &request(API_VERSIONS[0], image), &[]);
            assert_refused(&o, image);
        }
    }

    #[test]
    fn auth_is_keyed_by_the_registry_as_the_image_writes_it() {
        let fake = Fake::ok("pw", 3600);
        let image = "111111111111.dkr.ecr.us-east-1.amazonaws.com:443/team/app:1.0";
        let o = run_with(&fake, &request(API_VERSIONS[0], image), &[]);
        assert_eq!(o.code, 0, "{}", o.stderr);
        let v: serde_json::Value = serde_json::from_str(&o.stdout).unwrap();
        assert_eq!(
            v["auth"]["111111111111.dkr.ecr.us-east-1.amazonaws.com:443"]["password"],
            "pw"
        );
        let fake = Fake::ok("pub", 3600);
        let o = run_with(
            &fake,
            &request(API_VERSIONS[1], "public.ecr.aws/a/b:1"),
            &[],
        );
        let v: serde_json::Value = serde_json::from_str(&o.stdout).unwrap();
        assert_eq!(v["auth"]["public.ecr.aws"]["password"], "pub");
        assert!(matches!(fake.asked.borrow()[0].0, Registry::Public { .. }));
    }

    #[test]
    fn refuses_malformed_json() {
        for input in [
            "",
            "  \n",
            "{",
            "not json",
            "[]",
            "\"CredentialProviderRequest\"",
            "{} {}",
            r#"{"apiVersion":1,"kind":"CredentialProviderRequest","image":"x/y"}"#,
            r#"{"apiVersion":"credentialprovider.kubelet.k8s.io/v1","kind":"CredentialProviderRequest","image":["x"]}"#,
        ] {
            let o = run_with(&Fake::ok("pw", 3600), input, &[]);
            assert_refused(&o, "malformed CredentialProviderRequest");
        }
        // A token in a wrongly typed field is not quoted back.
        let input = format!(
            r#"{{"apiVersion":"credentialprovider.kubelet.k8s.io/v1","kind":"CredentialProviderRequest","image":"{IMAGE}","serviceAccountToken":"x","serviceAccountAnnotations":{{"{ROLE_ANNOTATION}":["{SA_TOKEN}"]}}}}"#
        );
        assert_refused(&run_with(&Fake::ok("pw", 3600), &input, &[]), "malformed");
    }

    #[test]
    fn refuses_a_request_larger_than_the_bound() {
        let mut input = request(API_VERSIONS[0], IMAGE);
        input.truncate(input.len() - 1);
        input.push_str(&format!(
            r#","pad":"{}"}}"#,
            "x".repeat(MAX_REQUEST as usize)
        ));
        assert_refused(&run_with(&Fake::ok("pw", 3600), &input, &[]), "larger than");
    }

    #[test]
    fn refuses_a_wrong_api_version() {
        for version in [
            "",
            "credentialprovider.kubelet.k8s.io/v2",
            "credentialprovider.kubelet.k8s.io",
            "kubelet.config.k8s.io/v1",
            "v1",
        ] {
            let o = run_with(&Fake::ok("pw", 3600), &request(version, IMAGE), &[]);
            assert_refused(&o, "unsupported apiVersion");
        }
        let o = run_with(
            &Fake::ok("pw", 3600),
            &format!(r#"{{"kind":"CredentialProviderRequest","image":"{IMAGE}"}}"#),
            &[],
        );
        assert_refused(&o, "unsupported apiVersion");
    }

    #[test]
    fn refuses_a_wrong_kind() {
        for kind in [
            serde_json::json!("CredentialProviderResponse"),
            serde_json::json!(""),
            serde_json::Value::Null,
        ] {
            let input = serde_json::json!({
                "apiVersion": API_VERSIONS[0], "kind": kind, "image": IMAGE,
            });
            let o = run_with(&Fake::ok("pw", 3600), &input.to_string(), &[]);
            assert_refused(&o, "unexpected kind");
        }
    }

    #[test]
    fn refuses_a_missing_or_empty_image() {
        for input in [
            format!(
                r#"{{"apiVersion":"{}","kind":"CredentialProviderRequest"}}"#,
                API_VERSIONS[0]
            ),
            request(API_VERSIONS[0], ""),
            request(API_VERSIONS[0], "  "),
        ] {
            let o = run_with(&Fake::ok("pw", 3600), &input, &[]);
            assert_refused(&o, "names no image");
        }
    }

    #[test]
    fn refuses_a_non_ecr_image_without_any_call() {
        let fake = Fake::ok("pw", 3600);
        let o = run_with(
            &fake,
            &request(API_VERSIONS[0], "docker.io/library/nginx:latest"),
            &[],
        );
        assert_refused(&o, "is not in an Amazon ECR registry");
        assert_eq!(fake.calls(), 0);
    }

    #[test]
    fn refuses_when_the_token_fetch_fails() {
        let fake = Fake::failing("AccessDeniedException: not authorized\nsecond line");
        let o = run_with(&fake, &request(API_VERSIONS[0], IMAGE), &[]);
        assert_refused(&o, "AccessDeniedException: not authorized; second line");
        assert!(o.stderr.contains(HOST));
    }

    #[test]
    fn service_account_mode_assumes_the_annotated_role() {
        let fake = Fake::ok("sa-pw", 12 * 3600);
        let o = run_with(
            &fake,
            &sa_request(
                IMAGE,
                serde_json::json!({ ROLE_ANNOTATION: ROLE, "other": "x" }),
            ),
            &[(ROLE_ARN_VAR, "arn:aws:iam::333333333333:role/default")],
        );
        assert_eq!(o.code, 0, "{}", o.stderr);
        let v: serde_json::Value = serde_json::from_str(&o.stdout).unwrap();
        assert_eq!(v["auth"][HOST]["password"], "sa-pw");
        assert_eq!(v["cacheDuration"], "6h0m0s");
        assert_eq!(v["serviceAccountTokenCacheType"], "ServiceAccount");
        assert!(!o.stdout.contains(SA_TOKEN));
        assert_eq!(
            fake.asked.borrow()[0].1,
            CredentialSource::WebIdentity {
                role_arn: ROLE.into(),
                token: SA_TOKEN.into(),
                session_name: Some(SESSION_NAME.into()),
            }
        );
    }

    #[test]
    fn service_account_mode_falls_back_to_the_configured_role() {
        let fake = Fake::ok("sa-pw", 12 * 3600);
        let o = run_with(
            &fake,
            &sa_request(IMAGE, serde_json::json!({})),
            &[(ROLE_ARN_VAR, ROLE)],
        );
        assert_eq!(o.code, 0, "{}", o.stderr);
        assert!(matches!(
            &fake.asked.borrow()[0].1,
            CredentialSource::WebIdentity { role_arn, .. } if role_arn == ROLE
        ));
    }

    #[test]
    fn service_account_mode_caches_per_role() {
        let tmp = tempfile::tempdir().unwrap();
        let fake = Fake::ok("sa-pw", 12 * 3600);
        let h = helper(&fake, Some(tmp.path()));
        let other = "arn:aws:iam::222222222222:role/other";
        for (role, calls) in [(ROLE, 1), (ROLE, 1), (other, 2), (ROLE, 2)] {
            let o = run_with_helper(
                &h,
                &sa_request(IMAGE, serde_json::json!({ ROLE_ANNOTATION: role })),
                &[],
            );
            assert_eq!(o.code, 0, "{}", o.stderr);
            assert_eq!(fake.calls(), calls, "{role}");
        }
        // The node's own credentials have their own entry.
        let o = run_with_helper(&h, &request(API_VERSIONS[0], IMAGE), &[]);
        assert_eq!(o.code, 0, "{}", o.stderr);
        assert_eq!(fake.calls(), 3);
        assert!(!o.stdout.contains("serviceAccountTokenCacheType"));
    }

    #[test]
    fn refuses_a_service_account_token_without_a_role() {
        let fake = Fake::ok("pw", 3600);
        for env in [&[][..], &[(ROLE_ARN_VAR, "  ")][..]] {
            let o = run_with(
                &fake,
                &sa_request(IMAGE, serde_json::json!({ "a": "b" })),
                env,
            );
            assert_refused(&o, "no role to assume");
            assert!(o.stderr.contains(ROLE_ANNOTATION) && o.stderr.contains(ROLE_ARN_VAR));
        }
        assert_eq!(fake.calls(), 0);
    }

    #[test]
    fn refuses_a_role_that_is_no_role_arn() {
        let fake = Fake::ok("pw", 3600);
        for bad in [
            "ecr-pull",
            "arn:aws:iam::222222222222:user/bob",
            "arn:aws:iam::2222:role/r",
            "arn:aws:iam::222222222222:role/",
            "arn:aws:sts::222222222222:role/r",
        ] {
            let o = run_with(
                &fake,
                &sa_request(IMAGE, serde_json::json!({ ROLE_ANNOTATION: bad })),
                &[],
            );
            assert_refused(&o, "is not an IAM role ARN");
            let o = run_with(
                &fake,
                &sa_request(IMAGE, serde_json::json!({})),
                &[(ROLE_ARN_VAR, bad)],
            );
            assert_refused(&o, ROLE_ARN_VAR);
        }
        assert_eq!(fake.calls(), 0);
        for good in [
            ROLE,
            "arn:aws-cn:iam::222222222222:role/path/to/r",
            "arn:aws-us-gov:iam::222222222222:role/r",
        ] {
            assert!(registry::role_arn_partition(good).is_some(), "{good}");
        }
    }

    #[test]
    fn dispatch_by_name_or_subcommand() {
        let os = |args: &[&str]| args.iter().map(OsString::from).collect::<Vec<_>>();
        for yes in [
            &["/etc/eks/image-credential-provider/ecr-credential-provider"][..],
            &["ecr-credential-provider", "--v=2", "get"],
            &["./ecr-credential-provider", "--help"],
            &["ecr-credential-provider.exe", "get"],
            &["/opt/bin/ecr-credential-provider.EXE"],
            &["docker-credential-ecr-login", "kubelet"],
            &["/usr/bin/docker-credential-ecr-login", "kubelet", "--v=2"],
        ] {
            assert!(invoked_as_plugin(os(yes)), "{yes:?}");
        }
        for no in [
            &[][..],
            &["docker-credential-ecr-login"],
            &["docker-credential-ecr-login", "get"],
            &["docker-credential-ecr-login", "get", "kubelet"],
            &["docker-credential-ecr-login", "kubelet", "--help"],
            &["docker-credential-ecr-login", "kubelet", "-h"],
            &["ecr-credential-provider-old", "get"],
            &["ecr-credential-provider.exe.old", "get"],
            &["ecr-credential-provider.bat"],
            &["ecr-credential-provider.", "get"],
            &["xecr-credential-provider"],
            &[
                "/ecr-credential-provider/docker-credential-ecr-login",
                "get",
            ],
        ] {
            assert!(!invoked_as_plugin(os(no)), "{no:?}");
        }
        // A backslash separates directories on Windows only.
        let windows_path = os(&[r"C:\k\bin\ecr-credential-provider.exe"]);
        assert_eq!(invoked_as_plugin(windows_path), cfg!(windows));
    }

    // --- packaging/kubernetes/credential-provider-config.yaml --------------

    const CONFIG_YAML: &str =
        include_str!("../../packaging/kubernetes/credential-provider-config.yaml");

    /// The `matchImages` of the (uncommented) provider, by lines.
    fn match_images() -> Vec<String> {
        let mut globs = Vec::new();
        let mut inside = false;
        for line in CONFIG_YAML.lines() {
            let t = line.trim();
            if t.starts_with('#') || t.is_empty() {
                continue;
            }
            if t == "matchImages:" {
                inside = true;
                continue;
            }
            if inside {
                match t.strip_prefix("- ") {
                    Some(item) => globs.push(item.trim().trim_matches('"').to_owned()),
                    None => break,
                }
            }
        }
        globs
    }

    /// Go's `filepath.Match` for one DNS label (only `*` and `?` in use).
    fn label_match(pattern: &[u8], text: &[u8]) -> bool {
        match (pattern.first(), text.first()) {
            (None, None) => true,
            (Some(b'*'), _) => {
                label_match(&pattern[1..], text)
                    || (!text.is_empty() && label_match(pattern, &text[1..]))
            }
            (Some(b'?'), Some(_)) => label_match(&pattern[1..], &text[1..]),
            (Some(p), Some(t)) if p == t => label_match(&pattern[1..], &text[1..]),
            _ => false,
        }
    }

    /// The kubelet's `URLsMatchStr(glob, image)`: same port, same number of
    /// labels, each label matched, the glob's path a prefix of the image's.
    fn kubelet_matches(glob: &str, image: &str) -> bool {
        fn split(s: &str) -> (Vec<&str>, &str, &str) {
            let (authority, path) = match s.find('/') {
                Some(i) => (&s[..i], &s[i..]),
                None => (s, ""),
            };
            let (host, port) = match authority.rsplit_once(':') {
                Some((h, p)) => (h, p),
                None => (authority, ""),
            };
            (host.split('.').collect(), port, path)
        }
        let (glob_labels, glob_port, glob_path) = split(glob);
        let (labels, port, path) = split(image);
        glob_port == port
            && glob_labels.len() == labels.len()
            && path.starts_with(glob_path)
            && glob_labels
                .iter()
                .zip(&labels)
                .all(|(g, l)| label_match(g.as_bytes(), l.as_bytes()))
    }

    #[test]
    fn the_kubelet_glob_semantics() {
        assert!(kubelet_matches(
            "*.dkr.ecr.*.amazonaws.com",
            &format!("{HOST}/a:b")
        ));
        assert!(kubelet_matches("*.azurecr.io", "x.azurecr.io"));
        assert!(kubelet_matches("app*.k8s.io", "apps.k8s.io"));
        assert!(!kubelet_matches("*.io", "a.k8s.io"));
        assert!(!kubelet_matches(
            "*.dkr.ecr.*.amazonaws.com",
            &format!("{HOST}:443/a")
        ));
        assert!(kubelet_matches(
            "registry.io:8080/path",
            "registry.io:8080/path/sub"
        ));
        assert!(!kubelet_matches(
            "registry.io:8080/path",
            "registry.io:8080/other"
        ));
    }

    #[test]
    fn the_packaged_config_matches_every_ecr_host_form() {
        assert!(CONFIG_YAML.contains("apiVersion: kubelet.config.k8s.io/v1"));
        assert!(CONFIG_YAML.contains("kind: CredentialProviderConfig"));
        assert!(CONFIG_YAML.contains("name: ecr-credential-provider"));
        assert!(CONFIG_YAML.contains("apiVersion: credentialprovider.kubelet.k8s.io/v1\n"));
        assert!(CONFIG_YAML.contains("defaultCacheDuration:"));
        assert!(CONFIG_YAML.contains("# tokenAttributes:"));
        let globs = match_images();
        assert!(globs.len() >= 13, "{globs:?}");
        // Every form of src/registry.rs's accepts_every_host_form table.
        for host in [
            "111111111111.dkr.ecr.us-east-1.amazonaws.com",
            "222222222222.dkr.ecr.ap-southeast-1.amazonaws.com",
            "123456789012.dkr.ecr.mx-central-1.amazonaws.com",
            "123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn",
            "123456789012.dkr.ecr.cn-northwest-1.amazonaws.com.cn",
            "123456789012.dkr.ecr.us-gov-west-1.amazonaws.com",
            "123456789012.dkr.ecr.eusc-de-east-1.amazonaws.eu",
            "123456789012.dkr.ecr.us-iso-east-1.c2s.ic.gov",
            "123456789012.dkr.ecr.us-isob-east-1.sc2s.sgov.gov",
            "123456789012.dkr.ecr.eu-isoe-west-1.cloud.adc-e.uk",
            "123456789012.dkr.ecr.us-isof-south-1.csp.hci.ic.gov",
            "123456789012.dkr.ecr-fips.us-east-1.amazonaws.com",
            "123456789012.dkr.ecr-fips.us-gov-east-1.amazonaws.com",
            "123456789012.dkr-ecr.us-west-2.on.aws",
            "123456789012.dkr-ecr-fips.us-east-2.on.aws",
            "123456789012.dkr-ecr.us-gov-west-1.on.aws",
            "123456789012.dkr-ecr.cn-north-1.on.amazonwebservices.com.cn",
            "public.ecr.aws",
            "ecr-public.aws.com",
        ] {
            assert!(registry::parse(host).is_ok(), "{host}");
            for image in [
                format!("{host}/team/app:1.0"),
                format!("{host}/a@sha256:00"),
            ] {
                assert!(
                    globs.iter().any(|g| kubelet_matches(g, &image)),
                    "no matchImages entry matches {image}"
                );
            }
        }
        for image in [
            "registry.example.com/team/app:1.0",
            "registry.example.com",
            "docker.io/library/nginx",
            "ghcr.io/a/b",
            "111111111111.dkr.ecr.us-east-1.amazonaws.com.evil.example/a",
        ] {
            assert!(
                !globs.iter().any(|g| kubelet_matches(g, image)),
                "{image} must not match"
            );
        }
    }
}
