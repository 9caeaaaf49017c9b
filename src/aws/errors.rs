//! SDK failures as `TokenError` kinds, told apart by type, and described
//! without the raw response.

use std::error::Error;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use aws_credential_types::provider::error::CredentialsError;
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextRef;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

use crate::error_chain;
use crate::helper::token::{ApiFailure, TokenError};

/// Describes a failed `operation` without the raw response: the SDK's own
/// display includes the HTTP body, which for a garbled success would be
/// the token itself.
pub(super) fn describe<E>(operation: &'static str, err: SdkError<E, HttpResponse>) -> TokenError
where
    E: ProvideErrorMetadata + Error + 'static,
{
    describe_ref(operation, &err)
}

/// Whether an operation's request was ever handed to the HTTP client. The
/// SDK resolves credentials first, inside the operation's own timeout, and
/// its timeout error does not say which part ran out: a credential source
/// that never answers (an SSO refresh, a `credential_process`, STS) would
/// read as ECR's silence.
#[derive(Debug, Clone, Default)]
pub(super) struct Transmitted(Arc<AtomicBool>);

impl Intercept for Transmitted {
    fn name(&self) -> &'static str {
        "Transmitted"
    }

    fn read_before_transmit(
        &self,
        _context: &BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        self.0.store(true, Ordering::Relaxed);
        Ok(())
    }
}

impl Transmitted {
    /// As [`describe`], but a timeout before any request was sent is the
    /// credentials' (`within`: the operation's timeout).
    pub(super) fn describe<E>(
        &self,
        operation: &'static str,
        err: SdkError<E, HttpResponse>,
        within: Duration,
    ) -> TokenError
    where
        E: ProvideErrorMetadata + Error + 'static,
    {
        match err {
            SdkError::TimeoutError(_) if !self.0.load(Ordering::Relaxed) => {
                TokenError::Credentials(format!(
                    "their source did not answer within {within:?} (an SSO refresh, a \
                     credential_process or STS); {operation} was never sent"
                ))
            }
            err => describe(operation, err),
        }
    }
}

fn describe_ref<E>(operation: &'static str, err: &SdkError<E, HttpResponse>) -> TokenError
where
    E: ProvideErrorMetadata + Error + 'static,
{
    let api = |status: Option<u16>, failure: ApiFailure| TokenError::Api {
        operation,
        status,
        failure,
    };
    match err {
        // An answer with no error code is one the SDK could not read: what
        // was wrong, never its body (a garbled success would carry the
        // token): the parser's reason and offset.
        SdkError::ServiceError(e) if e.err().code().is_none() => api(
            Some(e.raw().status().as_u16()),
            ApiFailure::other(match e.err().source() {
                Some(why) => format!("unreadable response: {}", error_chain(why)),
                None => format!("unreadable response: {}", e.err()),
            }),
        ),
        SdkError::ServiceError(e) => api(
            Some(e.raw().status().as_u16()),
            ApiFailure {
                code: e.err().code().map(str::to_owned),
                message: e.err().message().unwrap_or("").to_owned(),
            },
        ),
        SdkError::ResponseError(e) => api(
            Some(e.raw().status().as_u16()),
            ApiFailure::other(match err.source() {
                Some(why) => format!("unreadable response: {}", error_chain(why)),
                None => "unreadable response".to_owned(),
            }),
        ),
        SdkError::TimeoutError(_) => api(None, ApiFailure::other("timed out")),
        // Connection and credential failures: their causes, by Display only
        // (the SDK's Debug output carries response bodies).
        // An SSO profile whose sign-in lapsed: what to do, then the SDK's words.
        _ if from_credentials(err) && sso_sign_in_lapsed(err).is_some() => {
            TokenError::Credentials(format!(
                "the SSO sign-in has expired or is missing: run `aws sso login` ({})",
                sso_sign_in_lapsed(err).unwrap_or_default()
            ))
        }
        // A profile's role (role_arn in ~/.aws/config) that STS refused:
        // STS's words, not the provider's wrapping of them. Then a profile
        // whose credential_process failed: named as the user wrote it, then
        // the SDK's words (its exit status and stderr, or why its output is
        // not credentials, never the output itself).
        _ if from_credentials(err) => match (sts_refusal(err), credential_process_failure(err)) {
            (Some(failure), _) => {
                TokenError::Credentials(format!("sts:AssumeRole failed: {failure}"))
            }
            (None, Some(why)) => TokenError::Credentials(why),
            (None, None) => TokenError::Credentials(error_chain(err)),
        },
        _ => api(None, ApiFailure::other(error_chain(err))),
    }
}

type StsError = SdkError<aws_sdk_sts::operation::assume_role::AssumeRoleError, HttpResponse>;

/// STS's answer to an `AssumeRole` among the causes, as "HTTP 403 Code:
/// message" (or the failure's own causes, when no answer came).
fn sts_refusal(err: &(dyn Error + 'static)) -> Option<String> {
    let mut cause = err.source();
    while let Some(e) = cause {
        if let Some(sts) = e.downcast_ref::<StsError>() {
            return match describe_ref("AssumeRole", sts) {
                TokenError::Api {
                    status, failure, ..
                } => Some(format!(
                    "{}{failure}",
                    status.map(|s| format!("HTTP {s} ")).unwrap_or_default()
                )),
                other => Some(error_chain(&other)),
            };
        }
        cause = e.source();
    }
    None
}

/// A role that could not be assumed, as STS said it: the role, the code
/// and the message (the provider's own error, by `Debug`, dumps the raw
/// answer). The call that would have been signed is not named: it never
/// left.
pub(super) fn assume_role_failure(role_arn: &str, err: &CredentialsError) -> TokenError {
    let mut cause: Option<&(dyn Error + 'static)> = Some(err);
    while let Some(e) = cause {
        if let Some(sts) = e.downcast_ref::<StsError>() {
            return match describe_ref("AssumeRole", sts) {
                TokenError::Api {
                    status, failure, ..
                } => TokenError::Credentials(format!(
                    "sts:AssumeRole {role_arn} failed: {}{failure}",
                    status.map(|s| format!("HTTP {s} ")).unwrap_or_default()
                )),
                TokenError::Credentials(why) => TokenError::Credentials(format!(
                    "sts:AssumeRole {role_arn}: no credentials to assume it with: {why}"
                )),
                other => other,
            };
        }
        cause = e.source();
    }
    TokenError::Credentials(format!("sts:AssumeRole {role_arn}: {}", error_chain(err)))
}

/// An IAM Identity Center sign-in that no longer holds, among the causes,
/// in the SDK's words: its token provider (an `sso-session` profile) had
/// no token to give (expired and not refreshable, or never cached), or the
/// SSO portal refused the cached one (a legacy profile's token is sent
/// unchecked) with `UnauthorizedException`.
fn sso_sign_in_lapsed(err: &(dyn Error + 'static)) -> Option<String> {
    use aws_credential_types::provider::error::TokenError as SdkTokenError;
    use aws_sdk_sso::operation::get_role_credentials::GetRoleCredentialsError;
    type PortalError = SdkError<GetRoleCredentialsError, HttpResponse>;
    let mut cause = Some(err);
    while let Some(e) = cause {
        match e.downcast_ref::<SdkTokenError>() {
            Some(SdkTokenError::ProviderTimedOut(_)) => return None,
            Some(_) => return Some(error_chain(e)),
            None => {}
        }
        if let Some(portal) = e.downcast_ref::<PortalError>() {
            return match portal.as_service_error() {
                Some(GetRoleCredentialsError::UnauthorizedException(refusal)) => Some(format!(
                    "the SSO portal refused the cached token: {}",
                    refusal.message().unwrap_or("UnauthorizedException")
                )),
                _ => None,
            };
        }
        cause = e.source();
    }
    None
}

/// A profile whose `credential_process` failed, among the causes (the
/// profile link knows it from the profile: the SDK says it in words only).
fn credential_process_failure(err: &(dyn Error + 'static)) -> Option<String> {
    use super::credentials::ProfileFailure;
    let mut cause = Some(err);
    while let Some(e) = cause {
        if let Some(f @ ProfileFailure::CredentialProcess { .. }) =
            e.downcast_ref::<ProfileFailure>()
        {
            return Some(error_chain(f));
        }
        cause = e.source();
    }
    None
}

/// Whether a credentials provider's failure is among the causes: then the
/// call never left, for want of credentials.
fn from_credentials(err: &(dyn Error + 'static)) -> bool {
    let mut cause = Some(err);
    while let Some(e) = cause {
        if e.downcast_ref::<CredentialsError>().is_some() {
            return true;
        }
        cause = e.source();
    }
    false
}

/// A service's error as `doctor` reports it: its code and message, or the
/// failure's causes.
pub(super) fn failure<E>(err: SdkError<E, HttpResponse>) -> ApiFailure
where
    E: ProvideErrorMetadata + Error + 'static,
{
    match describe("", err) {
        TokenError::Api { failure, .. } => failure,
        other => ApiFailure::other(error_chain(&other)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct Wrapper(Box<dyn Error + Send + Sync>);
    impl std::fmt::Display for Wrapper {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("dispatch failure")
        }
    }
    impl Error for Wrapper {
        fn source(&self) -> Option<&(dyn Error + 'static)> {
            Some(&*self.0)
        }
    }

    #[test]
    fn a_credentials_failure_is_found_among_the_causes() {
        let no_credentials = Wrapper(Box::new(CredentialsError::not_loaded("no profile")));
        assert!(from_credentials(&no_credentials));
        let refused = Wrapper(Box::new(CredentialsError::provider_error("STS said no")));
        assert!(from_credentials(&refused));
        let io = Wrapper(Box::new(std::io::Error::other("connection refused")));
        assert!(!from_credentials(&io));
    }

    #[test]
    fn a_lapsed_sso_sign_in_is_found_among_the_causes() {
        use aws_credential_types::provider::error::TokenError as SdkTokenError;
        use aws_sdk_sso::operation::get_role_credentials::GetRoleCredentialsError;
        use aws_sdk_sso::types::error::{TooManyRequestsException, UnauthorizedException};
        let expired = Wrapper(Box::new(CredentialsError::provider_error(
            SdkTokenError::provider_error("the SSO token has expired and cannot be refreshed"),
        )));
        let why = sso_sign_in_lapsed(&expired).unwrap();
        assert!(why.contains("has expired"), "{why}");
        // The portal's answers, by their type.
        let portal = |e: GetRoleCredentialsError, status: u16| {
            Wrapper(Box::new(CredentialsError::provider_error(
                SdkError::service_error(
                    e,
                    HttpResponse::new(
                        status.try_into().unwrap(),
                        aws_smithy_types::body::SdkBody::empty(),
                    ),
                ),
            )))
        };
        let refused = portal(
            GetRoleCredentialsError::UnauthorizedException(
                UnauthorizedException::builder()
                    .message("Session token not found or invalid")
                    .build(),
            ),
            401,
        );
        let why = sso_sign_in_lapsed(&refused).unwrap();
        assert!(
            why.contains("portal refused") && why.contains("not found or invalid"),
            "{why}"
        );
        let busy = portal(
            GetRoleCredentialsError::TooManyRequestsException(
                TooManyRequestsException::builder().build(),
            ),
            429,
        );
        assert_eq!(sso_sign_in_lapsed(&busy), None);
        // Not a sign-in: words alike, STS's refusal, a timeout.
        for other in [
            CredentialsError::provider_error(std::io::Error::other(
                "UnauthorizedException: only words",
            )),
            CredentialsError::provider_error(std::io::Error::other("AccessDenied: no")),
            CredentialsError::provider_timed_out(std::time::Duration::from_secs(1)),
        ] {
            assert_eq!(sso_sign_in_lapsed(&Wrapper(Box::new(other))), None);
        }
        let slow = Wrapper(Box::new(CredentialsError::provider_error(
            SdkTokenError::provider_timed_out(std::time::Duration::from_secs(1)),
        )));
        assert_eq!(sso_sign_in_lapsed(&slow), None);
    }

    #[test]
    fn a_credential_process_failure_is_known_by_the_profile_not_the_words() {
        use super::super::credentials::ProfileFailure;
        let failed = Wrapper(Box::new(CredentialsError::provider_error(
            ProfileFailure::CredentialProcess {
                profile: "dev".into(),
                cause: CredentialsError::provider_error("external process exited: status 3"),
            },
        )));
        let why = credential_process_failure(&failed).unwrap();
        assert!(
            why.contains("\"dev\"")
                && why.contains("credential_process failed")
                && why.contains("status 3"),
            "{why}"
        );
        // The SDK's words alone name nothing.
        let words = Wrapper(Box::new(CredentialsError::provider_error(
            "Error retrieving credentials: external process exited with code 3",
        )));
        assert_eq!(credential_process_failure(&words), None);
    }
}
