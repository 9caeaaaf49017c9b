//! `doctor IMAGE`: walks the chain a cross-account pull depends on and
//! stops at the first broken link, saying what is wrong and how to fix it.
//! The decisions are pure over the `DoctorApi` trait.

use serde::Serialize;
use serde_json::Value;

use crate::commands::policy::{self, Access, Spec, pretty};
use crate::helper::routes::RulesFile;
use crate::helper::token::{ApiFailure, AuthToken};
use crate::helper::{GetError, RouteTable};
use crate::registry::CredentialSource;
use crate::registry::image::ImageError;
use crate::registry::{self, PrivateRegistry, Registry};

/// The process exit code tells each failure class apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    Ok,
    NotEcr,
    NotRouted,
    NoCredentials,
    TokenDenied,
    RepositoryPolicy,
    IdentityPolicy,
    NotFound,
    ApiError,
}

impl Verdict {
    pub fn exit_code(self) -> u8 {
        match self {
            Verdict::Ok => 0,
            Verdict::NotEcr => 2,
            Verdict::NotRouted => 3,
            Verdict::NoCredentials => 4,
            Verdict::TokenDenied => 5,
            Verdict::RepositoryPolicy => 6,
            Verdict::IdentityPolicy => 7,
            Verdict::NotFound => 8,
            Verdict::ApiError => 9,
        }
    }
}

pub use crate::registry::image::Reference;

/// An image split into what the checks need.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Image {
    pub host: String,
    pub repository: String,
    pub reference: Reference,
}

/// `[docker://]host/repo[:tag][@digest]`; no tag means `latest`.
pub fn parse_image(image: &str) -> Option<Image> {
    split_image(image).ok()
}

fn split_image(image: &str) -> Result<Image, ImageError> {
    let r = crate::registry::image::split(bare(image))?;
    Ok(Image {
        host: r.authority.to_owned(),
        repository: r.repository.to_owned(),
        reference: r.reference,
    })
}

/// The image as written, without white space or a `docker://` prefix.
fn bare(image: &str) -> &str {
    let image = image.trim();
    image.strip_prefix("docker://").unwrap_or(image)
}

/// Who is asking, as STS says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub account: String,
    pub arn: String,
    /// Which link of the credential chain answered (`Environment`, `Profile`…).
    pub source: String,
}

/// What `doctor` asks AWS.
pub trait DoctorApi {
    fn caller(
        &self,
        registry: &Registry,
        credentials: &CredentialSource,
    ) -> Result<Caller, ApiFailure>;
    fn token(
        &self,
        registry: &Registry,
        credentials: &CredentialSource,
    ) -> Result<AuthToken, ApiFailure>;
    /// Reads the image as a pull does (`BatchGetImage`).
    fn read_image(
        &self,
        registry: &PrivateRegistry,
        image: &Image,
        credentials: &CredentialSource,
    ) -> Result<(), ApiFailure>;
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Step {
    pub name: &'static str,
    pub ok: bool,
    pub detail: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
    /// A policy statement to add, when one is missing.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub statement: Option<Value>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    pub image: String,
    pub verdict: Verdict,
    pub exit_code: u8,
    pub steps: Vec<Step>,
}

/// How the docker config routes the registry, read by the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DockerConfig {
    /// Not checked (`--no-docker-config`: kubelet, or podman with auth.json).
    Skipped,
    Missing {
        path: String,
    },
    Invalid {
        path: String,
        error: String,
    },
    Text {
        path: String,
        text: String,
    },
}

fn ok(name: &'static str, detail: String) -> Step {
    Step {
        name,
        ok: true,
        detail,
        fix: None,
        statement: None,
    }
}

fn broken(name: &'static str, detail: String, fix: String) -> Step {
    Step {
        name,
        ok: false,
        detail,
        fix: Some(fix),
        statement: None,
    }
}

/// What the docker config does with `host`: `Ok` when it runs this helper.
fn routing(config: &DockerConfig, host: &str) -> Result<String, String> {
    let (path, text) = match config {
        DockerConfig::Skipped => return Ok("not checked (--no-docker-config)".into()),
        DockerConfig::Missing { path } => return Err(format!("{path} does not exist")),
        DockerConfig::Invalid { path, error } => {
            return Err(format!("{path} cannot be read: {error}"));
        }
        DockerConfig::Text { path, text } => (path, text),
    };
    let doc: Value =
        serde_json::from_str(text).map_err(|e| format!("{path} is not valid JSON: {e}"))?;
    match doc["credHelpers"][host].as_str() {
        Some(crate::commands::configure::HELPER) => {
            return Ok(format!(
                "{path}: credHelpers sends {host} to docker-credential-ecr-login"
            ));
        }
        Some(other) => {
            return Err(format!(
                "{path}: credHelpers sends {host} to docker-credential-{other}"
            ));
        }
        None => {}
    }
    // The Go helper's documented setup: every registry without an entry of
    // its own goes to the store (`auths` then holds empty placeholders).
    if doc["credsStore"].as_str() == Some(crate::commands::configure::HELPER) {
        return Ok(format!(
            "{path}: credsStore sends {host} (and every registry without a credHelpers entry) to docker-credential-ecr-login"
        ));
    }
    let in_auths = doc["auths"].as_object().is_some_and(|a| {
        a.keys()
            .any(|k| crate::registry::server_host(k).is_ok_and(|h| h == host))
    });
    if in_auths {
        return Err(format!(
            "{path}: \"auths\" holds static credentials for {host} (from docker login); they expire after 12 h"
        ));
    }
    match doc["credsStore"].as_str() {
        Some(store) => Err(format!(
            "{path}: no credHelpers entry for {host}; it goes to credsStore docker-credential-{store}"
        )),
        None => Err(format!("{path}: no credHelpers entry for {host}")),
    }
}

/// The image's host is an alias the rules file names for a registry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AliasOf {
    pub host: String,
    /// The rules file and the rule's line, for the report.
    pub file: String,
    pub line: usize,
    pub registry: Registry,
}

/// The credentials `get` would use for the image's host, and the alias
/// that host is, if it is one. A broken rules file is an error: the host
/// may be an alias it names.
pub fn routes_for(
    image_text: &str,
    rules: &RulesFile,
) -> Result<(CredentialSource, Option<AliasOf>), GetError> {
    // A bare host is no image, but may still name an alias.
    let host = parse_image(image_text).map_or_else(|| bare(image_text).to_owned(), |i| i.host);
    let host = match registry::parse(&host) {
        Ok(r) => return Ok((rules.route(&r)?, None)),
        Err(_) => match registry::server_host(&host) {
            Ok(h) => h,
            Err(_) => return Ok((CredentialSource::Chain, None)),
        },
    };
    match rules.alias(&host)? {
        Some(a) => Ok((
            rules.alias_route(&a)?,
            Some(AliasOf {
                file: rules
                    .path()
                    .map_or_else(|| "config".into(), |p| p.display().to_string()),
                line: a.line,
                host: a.host,
                registry: a.registry,
            }),
        )),
        None => Ok((CredentialSource::Chain, None)),
    }
}

/// Walks the chain; stops at the first broken link. `alias`: the image's
/// host stands for that registry (see [`routes_for`]).
pub fn diagnose(
    image_text: &str,
    docker_config: &DockerConfig,
    path_warning: Option<&str>,
    credentials: &CredentialSource,
    alias: Option<&AliasOf>,
    api: &dyn DoctorApi,
) -> Report {
    let mut steps = Vec::new();
    let mut walk = || -> Result<Verdict, Verdict> {
        let (image, registry) = check_host(&mut steps, image_text, alias)?;
        // docker looks the registry up as the image names it, port included.
        check_routing(&mut steps, docker_config, &image.host, path_warning)?;
        let caller = check_credentials(&mut steps, api, &registry, credentials)?;
        let spec = |p: &PrivateRegistry| pull_spec(p, &image, &caller);
        check_token(&mut steps, api, &registry, credentials, &caller, &spec)?;
        Ok(check_repository(
            &mut steps,
            api,
            &registry,
            &image,
            credentials,
            &caller,
            &spec,
        ))
    };
    let verdict = walk().unwrap_or_else(|stopped| stopped);
    Report {
        image: image_text.to_owned(),
        verdict,
        exit_code: verdict.exit_code(),
        steps,
    }
}

/// What a pull by the caller from `registry` needs, as `policy` writes it.
fn pull_spec(registry: &PrivateRegistry, image: &Image, caller: &Caller) -> Spec {
    Spec {
        partition: registry.partition.id().to_owned(),
        region: registry.region.clone(),
        registry_account: registry.account.clone(),
        repositories: vec![image.repository.clone()],
        allow_accounts: vec![caller.account.clone()],
        allow_orgs: vec![],
        allow_org_paths: vec![],
        access: Access::Pull,
    }
}

/// Step 1: the host names an ECR registry, or is an alias for one.
fn check_host(
    steps: &mut Vec<Step>,
    image_text: &str,
    alias: Option<&AliasOf>,
) -> Result<(Image, Registry), Verdict> {
    let text = bare(image_text);
    let refuse = |steps: &mut Vec<Step>, detail: String, fix: String| {
        steps.push(broken("registry host", detail, fix));
        Err(Verdict::NotEcr)
    };
    let image = match split_image(text) {
        Ok(image) => image,
        Err(ImageError::NoRegistry) if registry::parse(text).is_ok() || alias.is_some() => {
            return refuse(
                steps,
                format!("{text:?} names a registry but no repository"),
                format!("add the repository: {text}/REPOSITORY:TAG"),
            );
        }
        Err(ImageError::Invalid(why)) => {
            return refuse(
                steps,
                format!("{text:?} is not an image reference docker accepts: {why}"),
                "write it as ACCOUNT.dkr.ecr.REGION.amazonaws.com/REPOSITORY:TAG".into(),
            );
        }
        Err(ImageError::NoRegistry) => {
            return refuse(
                steps,
                format!(
                    "{text:?} is not an image of an Amazon ECR registry (no registry: Docker Hub)"
                ),
                "name it as ACCOUNT.dkr.ecr.REGION.amazonaws.com/REPOSITORY:TAG".into(),
            );
        }
    };
    let alias = alias.filter(|a| registry::server_host(&image.host).is_ok_and(|h| h == a.host));
    if let (Err(_), Some(a)) = (registry::parse(&image.host), alias) {
        steps.push(ok(
            "registry host",
            format!(
                "{} is an alias ({} line {}) for {}",
                a.host,
                a.file,
                a.line,
                describe(&a.registry)
            ),
        ));
        return Ok((image, a.registry.clone()));
    }
    let Ok(registry) = registry::parse(&image.host) else {
        return refuse(
            steps,
            format!("{image_text:?} is not an image of an Amazon ECR registry"),
            "name it as ACCOUNT.dkr.ecr.REGION.amazonaws.com/REPOSITORY:TAG".into(),
        );
    };
    steps.push(ok("registry host", describe(&registry)));
    Ok((image, registry))
}

/// A registry's host, with the account, region and partition it gives.
fn describe(registry: &Registry) -> String {
    let host = registry.host();
    match registry {
        Registry::Private(p) => format!(
            "{host}: account {}, region {}, partition {}",
            p.account,
            p.region,
            p.partition.id()
        ),
        Registry::Public { .. } => format!("{host}: ECR Public (API in us-east-1)"),
    }
}

/// Step 2: the docker config sends the registry to this helper.
fn check_routing(
    steps: &mut Vec<Step>,
    docker_config: &DockerConfig,
    host: &str,
    path_warning: Option<&str>,
) -> Result<(), Verdict> {
    match routing(docker_config, host) {
        Ok(detail) if matches!(docker_config, DockerConfig::Skipped) => {
            steps.push(ok("docker config", detail));
            Ok(())
        }
        // Routed, but docker must find this binary on PATH to run it.
        Ok(detail) => match path_warning {
            Some(warning) if warning.contains("not on PATH") => {
                steps.push(broken(
                    "docker config",
                    format!("{detail}; but {warning}"),
                    "put the directory of docker-credential-ecr-login on PATH (cargo install puts it in ~/.cargo/bin)".into(),
                ));
                Err(Verdict::NotRouted)
            }
            Some(warning) => {
                steps.push(ok("docker config", format!("{detail}; warning: {warning}")));
                Ok(())
            }
            None => {
                steps.push(ok("docker config", detail));
                Ok(())
            }
        },
        Err(detail) => {
            steps.push(broken(
                "docker config",
                detail,
                format!("docker-credential-ecr-login configure --registry {host}"),
            ));
            Err(Verdict::NotRouted)
        }
    }
}

/// Step 3: whose credentials: STS says who the caller is.
fn check_credentials(
    steps: &mut Vec<Step>,
    api: &dyn DoctorApi,
    registry: &Registry,
    credentials: &CredentialSource,
) -> Result<Caller, Verdict> {
    match api.caller(registry, credentials) {
        Ok(c) => {
            steps.push(ok(
                "credentials",
                format!("{} (account {}), from {}", c.arn, c.account, c.source),
            ));
            Ok(c)
        }
        Err(e) => {
            let expired = e.code.as_deref().is_some_and(|c| c.contains("Expired"));
            steps.push(broken(
                "credentials",
                e.to_string(),
                if expired {
                    "the credentials expired: refresh them (aws sso login, or new keys), then try again".into()
                } else {
                    "give this machine AWS credentials: aws configure, aws sso login, AWS_PROFILE, or an instance/pod role".into()
                },
            ));
            Err(Verdict::NoCredentials)
        }
    }
}

/// Step 4: the registry token, fetched as `get` fetches it.
fn check_token(
    steps: &mut Vec<Step>,
    api: &dyn DoctorApi,
    registry: &Registry,
    credentials: &CredentialSource,
    caller: &Caller,
    spec: &dyn Fn(&PrivateRegistry) -> Spec,
) -> Result<(), Verdict> {
    match api.token(registry, credentials) {
        Ok(t) if t.expires_at <= crate::helper::unix_now() => {
            steps.push(broken(
                "token",
                format!(
                    "GetAuthorizationToken answered a token that expired at {}",
                    utc_time(t.expires_at)
                ),
                "check this machine's clock (docker would be refused with it); then try again"
                    .into(),
            ));
            Err(Verdict::ApiError)
        }
        Ok(t) => {
            steps.push(ok(
                "token",
                format!(
                    "GetAuthorizationToken for account {} succeeded; valid until {}",
                    match registry {
                        Registry::Private(p) => p.account.as_str(),
                        Registry::Public { .. } => "ECR Public",
                    },
                    utc_time(t.expires_at)
                ),
            ));
            Ok(())
        }
        Err(e) if e.is_denied() => {
            let mut step = broken(
                "token",
                e.to_string(),
                format!(
                    "the caller's IAM policy (account {}) must allow ecr:GetAuthorizationToken on \"*\"; add this statement",
                    caller.account
                ),
            );
            if let Registry::Private(p) = registry {
                step.statement = spec(p).identity_statement(policy::SID_AUTHORIZATION_TOKEN);
            }
            steps.push(step);
            Err(Verdict::TokenDenied)
        }
        Err(e) => {
            steps.push(broken(
                "token",
                e.to_string(),
                "see the error; try again later if it is a throttle or an outage".into(),
            ));
            Err(Verdict::ApiError)
        }
    }
}

/// Step 5: the image, read as a pull reads it. A denial is put on the side
/// that refused: the repository's policy or the caller's.
fn check_repository(
    steps: &mut Vec<Step>,
    api: &dyn DoctorApi,
    registry: &Registry,
    image: &Image,
    credentials: &CredentialSource,
    caller: &Caller,
    spec: &dyn Fn(&PrivateRegistry) -> Spec,
) -> Verdict {
    let Registry::Private(p) = registry else {
        steps.push(ok(
            "repository",
            "ECR Public images are readable by anyone with a token".into(),
        ));
        return Verdict::Ok;
    };
    let host = registry.host();
    let target = format!("{}{}", image.repository, image.reference);
    match api.read_image(p, image, credentials) {
        Ok(()) => {
            steps.push(ok("repository", format!("{target} can be pulled")));
            Verdict::Ok
        }
        Err(e) if e.is_denied() => {
            let s = spec(p);
            let message = e.message.to_ascii_lowercase();
            let cross_account = caller.account != p.account;
            let repository_side = message.contains("resource-based policy")
                || (cross_account && !message.contains("identity-based policy"));
            if repository_side {
                let mut step = broken(
                    "repository",
                    format!(
                        "{e}: the repository policy of {} in account {} does not let account {} pull",
                        image.repository, p.account, caller.account
                    ),
                    format!(
                        "in account {}, add this statement to the repository policy, or run there: docker-credential-ecr-login policy --registry {host} --repository {} --allow-account {} --apply (or --allow-org o-… for the whole organization){}",
                        p.account,
                        image.repository,
                        caller.account,
                        if message.contains("resource-based policy") {
                            ""
                        } else {
                            "; if it already does, the caller's IAM policy needs the statement from `policy --document identity` too"
                        }
                    ),
                );
                step.statement = s.repository_statement(policy::SID_ACCOUNTS);
                steps.push(step);
                Verdict::RepositoryPolicy
            } else {
                let mut step = broken(
                    "repository",
                    format!(
                        "{e}: the caller's IAM policy in account {} does not allow pulling {}",
                        caller.account, image.repository
                    ),
                    format!(
                        "in account {}, add this statement to the IAM policy of {}",
                        caller.account, caller.arn
                    ),
                );
                step.statement = s.identity_statement(policy::SID_REPOSITORIES);
                steps.push(step);
                Verdict::IdentityPolicy
            }
        }
        Err(e) if e.code.as_deref().is_some_and(|c| c.contains("NotFound")) => {
            steps.push(broken(
                "repository",
                format!("{e}"),
                format!(
                    "check the name: {target} in account {}, region {}",
                    p.account, p.region
                ),
            ));
            Verdict::NotFound
        }
        Err(e) => {
            steps.push(broken(
                "repository",
                e.to_string(),
                "see the error; try again later if it is a throttle or an outage".into(),
            ));
            Verdict::ApiError
        }
    }
}

/// Unix seconds as an RFC 3339 UTC time (`2026-12-05T04:10:33Z`).
fn utc_time(secs: i64) -> String {
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// The report for people: one line a step, the fix and statement under
/// the broken one.
pub fn render(report: &Report) -> String {
    let mut out = format!("doctor {}\n", report.image);
    for step in &report.steps {
        let mark = if step.ok { "ok  " } else { "FAIL" };
        out.push_str(&format!("  [{mark}] {}: {}\n", step.name, step.detail));
        if let Some(fix) = &step.fix {
            out.push_str(&format!("         fix: {fix}\n"));
        }
        if let Some(statement) = &step.statement {
            for line in pretty(statement).lines() {
                out.push_str(&format!("           {line}\n"));
            }
        }
    }
    out.push_str(&match report.verdict {
        Verdict::Ok => "verdict: the image can be pulled\n".to_owned(),
        v => format!(
            "verdict: {} (exit {})\n",
            serde_json::to_value(v).unwrap().as_str().unwrap_or(""),
            report.exit_code
        ),
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_shown_as_rfc3339_utc() {
        for (secs, want) in [
            (0, "1970-01-01T00:00:00Z"),
            (951_782_400, "2000-02-29T00:00:00Z"),
            (951_868_799, "2000-02-29T23:59:59Z"),
            (1_798_085_433, "2026-12-24T04:10:33Z"),
            (4_102_444_800, "2100-01-01T00:00:00Z"),
            (-1, "1969-12-31T23:59:59Z"),
        ] {
            assert_eq!(utc_time(secs), want, "{secs}");
        }
    }
    use std::cell::RefCell;

    const IMAGE: &str =
        "111111111111.dkr.ecr.ap-southeast-1.amazonaws.com/audit/sa/cicd-runner:latest";
    const HOST: &str = "111111111111.dkr.ecr.ap-southeast-1.amazonaws.com";

    #[test]
    fn images_may_carry_a_scheme_and_spaces() {
        let i = parse_image(" docker://h.example/app:v2\n").unwrap();
        assert_eq!(
            (i.host.as_str(), i.repository.as_str()),
            ("h.example", "app")
        );
        assert_eq!(i.reference, Reference::Tag("v2".into()));
        assert_eq!(parse_image("nginx"), None);
    }

    /// A scripted AWS: each step answers as told, and records the calls.
    struct Fake {
        caller: Result<Caller, ApiFailure>,
        token: Result<AuthToken, ApiFailure>,
        read: Result<(), ApiFailure>,
        calls: RefCell<Vec<&'static str>>,
    }

    fn caller(account: &str) -> Result<Caller, ApiFailure> {
        Ok(Caller {
            account: account.into(),
            arn: format!("arn:aws:sts::{account}:assumed-role/ci/i-0"),
            source: "Environment".into(),
        })
    }

    fn denied(message: &str) -> ApiFailure {
        ApiFailure {
            code: Some("AccessDeniedException".into()),
            message: message.into(),
        }
    }

    fn fake() -> Fake {
        Fake {
            caller: caller("222222222222"),
            token: Ok(AuthToken {
                password: "pw".into(),
                expires_at: 4_102_444_800,
            }),
            read: Ok(()),
            calls: RefCell::new(Vec::new()),
        }
    }

    impl DoctorApi for Fake {
        fn caller(&self, _: &Registry, _: &CredentialSource) -> Result<Caller, ApiFailure> {
            self.calls.borrow_mut().push("caller");
            self.caller.clone()
        }
        fn token(&self, _: &Registry, _: &CredentialSource) -> Result<AuthToken, ApiFailure> {
            self.calls.borrow_mut().push("token");
            self.token.clone()
        }
        fn read_image(
            &self,
            _: &PrivateRegistry,
            _: &Image,
            _: &CredentialSource,
        ) -> Result<(), ApiFailure> {
            self.calls.borrow_mut().push("read");
            self.read.clone()
        }
    }

    fn routed() -> DockerConfig {
        DockerConfig::Text {
            path: "/h/.docker/config.json".into(),
            text: format!(r#"{{"credHelpers":{{"{HOST}":"ecr-login"}}}}"#),
        }
    }

    fn run(f: &Fake, config: &DockerConfig) -> Report {
        diagnose(IMAGE, config, None, &CredentialSource::Chain, None, f)
    }

    #[test]
    fn a_healthy_chain_passes_every_step() {
        let f = fake();
        let r = run(&f, &routed());
        assert_eq!((r.verdict, r.exit_code), (Verdict::Ok, 0));
        assert!(r.steps.iter().all(|s| s.ok));
        assert_eq!(*f.calls.borrow(), ["caller", "token", "read"]);
        assert!(render(&r).contains("can be pulled"));
    }

    /// What issue 17 found doctor getting wrong, each told truly now.
    #[test]
    fn doctor_tells_the_truth() {
        let text = |t: &str| DockerConfig::Text {
            path: "/c.json".into(),
            text: t.into(),
        };
        let walk = |image: &str, config: &DockerConfig, warning: Option<&str>, f: &Fake| {
            diagnose(image, config, warning, &CredentialSource::Chain, None, f)
        };
        // The Go helper's documented setup routes every registry here.
        let store = walk(
            IMAGE,
            &text(r#"{"credsStore": "ecr-login"}"#),
            None,
            &fake(),
        );
        assert_eq!(store.verdict, Verdict::Ok, "{}", render(&store));
        // docker looks up host:443 as written.
        let host = IMAGE.split('/').next().unwrap();
        let with_port = IMAGE.replacen(host, &format!("{host}:443"), 1);
        let keyed = |k: &str| text(&format!(r#"{{"credHelpers": {{"{k}": "ecr-login"}}}}"#));
        assert_eq!(
            walk(&with_port, &keyed(&format!("{host}:443")), None, &fake()).verdict,
            Verdict::Ok
        );
        assert_eq!(
            walk(&with_port, &keyed(host), None, &fake()).verdict,
            Verdict::NotRouted
        );
        // A token that arrives expired is a failure.
        let expired = Fake {
            token: Ok(AuthToken {
                password: "pw".into(),
                expires_at: 1,
            }),
            ..fake()
        };
        let r = walk(IMAGE, &routed(), None, &expired);
        assert_eq!(r.verdict, Verdict::ApiError, "{}", render(&r));
        assert!(render(&r).contains("expired"));
        // A bare registry host: no repository, not "not ECR".
        let r = walk(host, &routed(), None, &fake());
        assert!(render(&r).contains("no repository"), "{}", render(&r));
        // Names docker would refuse.
        for bad in [
            format!("{host}/Team/App:1"),
            format!("{host}/team/app:.x"),
            format!("{host}/team//app"),
        ] {
            let r = walk(&bad, &routed(), None, &fake());
            assert_eq!(r.verdict, Verdict::NotEcr);
            assert!(render(&r).contains("docker accepts"), "{}", render(&r));
        }
        // Not on PATH: docker cannot run it; another one first: a warning.
        let r = walk(
            IMAGE,
            &routed(),
            Some("docker-credential-ecr-login is not on PATH"),
            &fake(),
        );
        assert_eq!(r.verdict, Verdict::NotRouted);
        let r = walk(
            IMAGE,
            &routed(),
            Some("PATH finds /usr/bin/x first"),
            &fake(),
        );
        assert_eq!(r.verdict, Verdict::Ok);
        assert!(render(&r).contains("/usr/bin/x first"));
    }

    /// An alias is explained, routed by its own name, and checked as its
    /// registry.
    #[test]
    fn an_alias_is_explained_and_checked_as_its_registry() {
        let alias = AliasOf {
            host: "images.corp.example".into(),
            file: "/c.toml".into(),
            line: 3,
            registry: registry::parse(HOST).unwrap(),
        };
        let routed_alias = DockerConfig::Text {
            path: "/h/.docker/config.json".into(),
            text: r#"{"credHelpers":{"images.corp.example":"ecr-login"}}"#.into(),
        };
        let chain = CredentialSource::Chain;
        let f = fake();
        let r = diagnose(
            "images.corp.example/audit/app:1",
            &routed_alias,
            None,
            &chain,
            Some(&alias),
            &f,
        );
        assert_eq!(r.verdict, Verdict::Ok, "{}", render(&r));
        assert_eq!(
            r.steps[0].detail,
            format!(
                "images.corp.example is an alias (/c.toml line 3) for {HOST}: account 111111111111, region ap-southeast-1, partition aws"
            )
        );
        assert!(
            r.steps[1]
                .detail
                .contains("credHelpers sends images.corp.example")
        );
        assert_eq!(*f.calls.borrow(), ["caller", "token", "read"]);
        // docker asks for the alias's name: the ECR host's entry is not it.
        let r = diagnose(
            "images.corp.example/audit/app:1",
            &routed(),
            None,
            &chain,
            Some(&alias),
            &fake(),
        );
        assert_eq!(r.verdict, Verdict::NotRouted);
        assert!(
            r.steps[1]
                .fix
                .as_deref()
                .is_some_and(|f| f.contains("configure --registry images.corp.example")),
            "{}",
            render(&r)
        );
        // Another host is not the alias.
        let r = diagnose(
            "other.corp.example/app:1",
            &routed_alias,
            None,
            &chain,
            Some(&alias),
            &fake(),
        );
        assert_eq!(r.verdict, Verdict::NotEcr);
        // A bare alias host names a registry, not Docker Hub.
        let r = diagnose(
            "images.corp.example",
            &routed_alias,
            None,
            &chain,
            Some(&alias),
            &fake(),
        );
        assert!(
            r.steps[0]
                .detail
                .contains("names a registry but no repository"),
            "{}",
            render(&r)
        );
    }

    #[test]
    fn stops_at_the_first_broken_link() {
        let not_ecr = diagnose(
            "registry.example.com/app:1",
            &routed(),
            None,
            &CredentialSource::Chain,
            None,
            &fake(),
        );
        assert_eq!(
            (not_ecr.verdict, not_ecr.exit_code, not_ecr.steps.len()),
            (Verdict::NotEcr, 2, 1)
        );

        let configs = [
            DockerConfig::Missing {
                path: "/c.json".into(),
            },
            DockerConfig::Text {
                path: "/c.json".into(),
                text: "{".into(),
            },
            DockerConfig::Text {
                path: "/c.json".into(),
                text: r#"{"credsStore":"desktop"}"#.into(),
            },
            DockerConfig::Text {
                path: "/c.json".into(),
                text: format!(r#"{{"credHelpers":{{"{HOST}":"other"}}}}"#),
            },
            DockerConfig::Text {
                path: "/c.json".into(),
                text: format!(r#"{{"auths":{{"https://{HOST}":{{"auth":"x"}}}}}}"#),
            },
        ];
        for config in configs {
            let f = fake();
            let r = run(&f, &config);
            assert_eq!(
                (r.verdict, r.exit_code),
                (Verdict::NotRouted, 3),
                "{config:?}"
            );
            assert!(
                r.steps[1]
                    .fix
                    .as_deref()
                    .unwrap()
                    .contains(&format!("configure --registry {HOST}"))
            );
            assert!(
                f.calls.borrow().is_empty(),
                "no AWS call before the config is right"
            );
        }
        assert_eq!(run(&fake(), &DockerConfig::Skipped).verdict, Verdict::Ok);

        let f = Fake {
            caller: Err(ApiFailure {
                code: None,
                message: "no credentials found in chain".into(),
            }),
            ..fake()
        };
        let r = run(&f, &routed());
        assert_eq!((r.verdict, r.exit_code), (Verdict::NoCredentials, 4));
        assert_eq!(*f.calls.borrow(), ["caller"]);
        let f = Fake {
            caller: Err(ApiFailure {
                code: Some("ExpiredToken".into()),
                message: "expired".into(),
            }),
            ..fake()
        };
        assert!(
            run(&f, &routed()).steps[2]
                .fix
                .as_deref()
                .unwrap()
                .contains("refresh")
        );

        let f = Fake {
            token: Err(denied(
                "not authorized to perform: ecr:GetAuthorizationToken",
            )),
            ..fake()
        };
        let r = run(&f, &routed());
        assert_eq!((r.verdict, r.exit_code), (Verdict::TokenDenied, 5));
        let st = r.steps[3].statement.as_ref().unwrap();
        assert_eq!(
            (&st["Action"], &st["Resource"]),
            (&Value::from("ecr:GetAuthorizationToken"), &Value::from("*"))
        );
    }

    #[test]
    fn denials_name_the_missing_policy_and_the_statement_to_add() {
        // AWS says which policy is missing.
        let f = Fake {
            read: Err(denied(
                "User: arn:aws:sts::222222222222:assumed-role/ci/i-0 is not authorized to perform: ecr:BatchGetImage on resource: arn:aws:ecr:ap-southeast-1:111111111111:repository/audit/sa/cicd-runner because no resource-based policy allows the ecr:BatchGetImage action",
            )),
            ..fake()
        };
        let r = run(&f, &routed());
        assert_eq!((r.verdict, r.exit_code), (Verdict::RepositoryPolicy, 6));
        let step = r.steps.last().unwrap();
        let st = step.statement.as_ref().unwrap();
        assert_eq!(st["Principal"]["AWS"][0], "arn:aws:iam::222222222222:root");
        assert!(
            step.fix
                .as_deref()
                .unwrap()
                .contains("--allow-account 222222222222 --apply")
        );
        let shown = render(&r);
        assert!(
            shown.contains("[FAIL] repository")
                && shown.contains("ecr:BatchGetImage")
                && shown.contains("exit 6"),
            "{shown}"
        );

        let f = Fake {
            read: Err(denied(
                "User: arn:aws:sts::222222222222:assumed-role/ci/i-0 is not authorized to perform: ecr:BatchGetImage on resource: arn:aws:ecr:ap-southeast-1:111111111111:repository/audit/sa/cicd-runner because no identity-based policy allows the ecr:BatchGetImage action",
            )),
            ..fake()
        };
        let r = run(&f, &routed());
        assert_eq!((r.verdict, r.exit_code), (Verdict::IdentityPolicy, 7));
        let st = r.steps.last().unwrap().statement.as_ref().unwrap();
        assert_eq!(
            st["Resource"][0],
            "arn:aws:ecr:ap-southeast-1:111111111111:repository/audit/sa/cicd-runner"
        );

        // AWS does not say: across accounts the repository policy is the usual
        // culprit; within one account it can only be the identity policy.
        let r = run(
            &Fake {
                read: Err(denied("access denied")),
                ..fake()
            },
            &routed(),
        );
        assert_eq!(r.verdict, Verdict::RepositoryPolicy);
        let r = run(
            &Fake {
                caller: caller("111111111111"),
                read: Err(denied("access denied")),
                ..fake()
            },
            &routed(),
        );
        assert_eq!(r.verdict, Verdict::IdentityPolicy);
    }

    #[test]
    fn missing_images_and_other_failures() {
        let nf = |code: &str| ApiFailure {
            code: Some(code.into()),
            message: "x".into(),
        };
        for code in ["RepositoryNotFoundException", "ImageNotFound"] {
            let r = run(
                &Fake {
                    read: Err(nf(code)),
                    ..fake()
                },
                &routed(),
            );
            assert_eq!((r.verdict, r.exit_code), (Verdict::NotFound, 8), "{code}");
        }
        let r = run(
            &Fake {
                read: Err(nf("ThrottlingException")),
                ..fake()
            },
            &routed(),
        );
        assert_eq!((r.verdict, r.exit_code), (Verdict::ApiError, 9));
        let r = run(
            &Fake {
                token: Err(nf("ServerException")),
                ..fake()
            },
            &routed(),
        );
        assert_eq!(r.verdict, Verdict::ApiError);
    }

    #[test]
    fn the_json_report_is_machine_readable() {
        let r = run(
            &Fake {
                read: Err(denied("because no resource-based policy allows")),
                ..fake()
            },
            &routed(),
        );
        let v: Value = serde_json::from_str(&serde_json::to_string(&r).unwrap()).unwrap();
        assert_eq!(v["verdict"], "repository-policy");
        assert_eq!(v["exit_code"], 6);
        assert_eq!(v["steps"].as_array().unwrap().len(), 5);
        assert_eq!(v["steps"][4]["ok"], false);
        assert!(v["steps"][4]["statement"].is_object());
        assert!(v["steps"][0].get("fix").is_none());
    }
}
