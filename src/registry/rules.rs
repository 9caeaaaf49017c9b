//! Per-registry credentials: a TOML file that maps registries (by account,
//! exact host or host glob, optionally narrowed by region) to an AWS
//! profile or to a role assumed with the caller's credentials.
//!
//! ```toml
//! [[registry]]
//! account = "111111111111"
//! profile = "shared-images"
//!
//! [[registry]]
//! host = "*.dkr.ecr.*.amazonaws.com.cn"
//! region = "cn-north-1"
//! role_arn = "arn:aws-cn:iam::333333333333:role/ecr-pull"
//! external_id = "build-farm"
//! ```
//!
//! The first matching rule wins; a registry no rule matches uses the
//! standard credential chain, exactly as without the file.
//!
//! A rule with `registry` is an alias: another name (a reverse proxy, a
//! corporate DNS name) for one private registry, served with its token.
//!
//! ```toml
//! [[registry]]
//! host = "images.corp.example"
//! registry = "111111111111.dkr.ecr.eu-west-1.amazonaws.com"
//! ```
//!
//! An alias rule may name its own `profile` or `role_arn`; without one,
//! the registry's own rules apply, as if its ECR host had been asked for.

use std::io;
use std::ops::Range;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::Spanned;

use crate::registry::{self, Registry};
use crate::secret::Secret;

const KNOWN_KEYS: &str = "account, host, registry, region, profile, role_arn, external_id, session_name, duration_seconds, source_profile";

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    registry: Vec<Spanned<RawRule>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    account: Option<String>,
    host: Option<String>,
    registry: Option<String>,
    region: Option<String>,
    profile: Option<String>,
    role_arn: Option<String>,
    external_id: Option<String>,
    session_name: Option<String>,
    duration_seconds: Option<u32>,
    source_profile: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Matcher {
    Account(String),
    Host(String),
    Glob(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    /// Where the rule starts in the file, for messages.
    pub line: usize,
    matcher: Matcher,
    region: Option<String>,
    pub credentials: CredentialSource,
}

/// Another name for a private registry: `host` is served with
/// `registry`'s token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alias {
    /// Where the rule starts in the file, for messages.
    pub line: usize,
    /// The name docker asks for, lower case, without scheme or port.
    pub host: String,
    pub registry: Registry,
    /// The rule's own credentials; `None`: the registry's rules decide.
    pub credentials: Option<CredentialSource>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RegistryConfig {
    pub rules: Vec<Rule>,
    pub aliases: Vec<Alias>,
}

#[derive(Debug, thiserror::Error)]
pub enum RegistryConfigError {
    #[error("{path}:{line}: {message}; {fix}")]
    Invalid {
        path: PathBuf,
        line: usize,
        message: String,
        fix: String,
    },
    #[error("cannot read {path}: {source}")]
    Read { path: PathBuf, source: io::Error },
    #[error("{path} does not exist; create it, or unset AWS_ECR_CONFIG_FILE, which names it")]
    Missing { path: PathBuf },
}

/// Whether `host` matches `pattern`, where `*` stands for any run of
/// characters within one DNS label (as the kubelet's `matchImages` does).
pub fn glob_match(pattern: &str, host: &str) -> bool {
    let (p, h) = (pattern.as_bytes(), host.as_bytes());
    // Classic two-pointer wildcard match, with `*` unable to cross a dot.
    let (mut pi, mut hi) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while hi < h.len() {
        if pi < p.len() && p[pi] == b'*' {
            star = Some((pi, hi));
            pi += 1;
        } else if pi < p.len() && p[pi] == h[hi] {
            pi += 1;
            hi += 1;
        } else if let Some((sp, sh)) = star.filter(|&(_, sh)| h[sh] != b'.') {
            star = Some((sp, sh + 1));
            pi = sp + 1;
            hi = sh + 1;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == b'*')
}

/// Why a host pattern can match no registry host, if it cannot: `*`
/// stays within one DNS label, and a host has no empty label.
fn never_matches(pattern: &str) -> Option<&'static str> {
    if !pattern
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"-.*".contains(&b))
    {
        return Some("has characters a host cannot");
    }
    if pattern.contains("**") {
        return Some("has **, which matches what * does: * never crosses a dot");
    }
    if pattern.split('.').any(str::is_empty) {
        return Some("has an empty label (a leading, trailing or doubled dot), which no host has");
    }
    None
}

/// Where each line starts, so that a span's line is a binary search, not
/// a count from the top (which made a long file quadratic).
struct Lines(Vec<usize>);

impl Lines {
    fn of(text: &str) -> Lines {
        let starts = std::iter::once(0)
            .chain(
                text.bytes()
                    .enumerate()
                    .filter(|&(_, b)| b == b'\n')
                    .map(|(i, _)| i + 1),
            )
            .collect();
        Lines(starts)
    }

    /// The 1-based line of a span's start.
    fn line(&self, span: Range<usize>) -> usize {
        self.0.partition_point(|&start| start <= span.start)
    }
}

/// What a rule says about credentials, apart from what it matches.
struct RawCredentials {
    profile: Option<String>,
    role_arn: Option<String>,
    external_id: Option<String>,
    session_name: Option<String>,
    duration_seconds: Option<u32>,
    source_profile: Option<String>,
}

/// A rule's credentials (`None`: it names none); a mistake is its message
/// and its fix.
fn credentials_of(r: RawCredentials) -> Result<Option<CredentialSource>, (String, String)> {
    let err = |message: &str, fix: &str| Err((message.to_owned(), fix.to_owned()));
    let role_keys = r.external_id.is_some()
        || r.session_name.is_some()
        || r.duration_seconds.is_some()
        || r.source_profile.is_some();
    let credentials = match (r.profile, r.role_arn) {
        (Some(_), Some(_)) => {
            return err(
                "a [[registry]] has both profile and role_arn",
                "keep one; to assume a role with a profile's credentials, use role_arn with source_profile",
            );
        }
        (None, None) if role_keys => {
            return err(
                "external_id, session_name, duration_seconds and source_profile go with role_arn",
                "add role_arn, or remove them",
            );
        }
        (None, None) => return Ok(None),
        (Some(profile), None) => {
            if role_keys {
                return err(
                    "external_id, session_name, duration_seconds and source_profile go with role_arn, not profile",
                    "remove them, or use role_arn",
                );
            }
            if profile.trim().is_empty() {
                return err("profile is empty", "name a profile of ~/.aws/config");
            }
            CredentialSource::Profile(profile)
        }
        (None, Some(role_arn)) => {
            if registry::role_arn_partition(&role_arn).is_none() {
                return err(
                    &format!("role_arn {role_arn:?} is not an IAM role ARN"),
                    "write it as arn:aws:iam::111111111111:role/name",
                );
            }
            if let Some(d) = r.duration_seconds
                && !(900..=43200).contains(&d)
            {
                return err(
                    &format!("duration_seconds {d} is outside 900..43200"),
                    "STS sessions last 15 minutes to 12 hours",
                );
            }
            if let Some(name) = &r.session_name {
                let ok = (2..=64).contains(&name.len())
                    && name
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"+=,.@-_".contains(&b));
                if !ok {
                    return err(
                        &format!("session_name {name:?} is not a valid STS session name"),
                        "use 2 to 64 letters, digits or +=,.@-_",
                    );
                }
            }
            CredentialSource::AssumeRole {
                role_arn,
                external_id: r.external_id,
                session_name: r.session_name,
                duration_secs: r.duration_seconds,
                base: Box::new(
                    r.source_profile
                        .map_or(CredentialSource::Chain, CredentialSource::Profile),
                ),
            }
        }
    };
    Ok(Some(credentials))
}

/// Why `host` cannot be an alias's exact host name, if it cannot.
fn not_a_host_name(host: &str) -> Option<&'static str> {
    if host.contains('*') {
        return Some("is a pattern; an alias names one exact host");
    }
    if host.contains("://") || host.contains(['/', ':']) {
        return Some("is not a bare host (no scheme, port or path)");
    }
    if !host
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"-.".contains(&b))
    {
        return Some("has characters a host name cannot");
    }
    if host.len() > 253 || host.split('.').any(|l| l.is_empty() || l.len() > 63) {
        return Some("is not a host name (empty or overlong label)");
    }
    None
}

/// An alias rule: `host` exact and no ECR host, `registry` a canonical
/// private ECR host, and nothing that narrows a match.
fn alias_of(
    line: usize,
    host: Option<String>,
    target: &str,
    narrowed: bool,
    credentials: Option<CredentialSource>,
) -> Result<Alias, (String, String)> {
    let err = |message: String, fix: &str| Err((message, fix.to_owned()));
    if narrowed {
        return err(
            "a [[registry]] with registry is an alias and names its host; account and region cannot narrow it".into(),
            "remove account and region; the registry's own rules may still narrow by them",
        );
    }
    let Some(host) = host else {
        return err(
            format!(
                "registry {target:?} is the registry an alias stands for, but the rule names no host"
            ),
            "add host = \"images.corp.example\", the name docker asks for",
        );
    };
    let host = host.to_ascii_lowercase();
    if let Some(why) = not_a_host_name(&host) {
        return err(
            format!("alias host {host:?} {why}"),
            "write the one name docker asks for, e.g. host = \"images.corp.example\"",
        );
    }
    if registry::parse(&host).is_ok() {
        return err(
            format!("alias host {host:?} is an Amazon ECR host itself"),
            "an alias is another name for a registry: give host the other name, or remove registry",
        );
    }
    let registry = match registry::parse(target) {
        Ok(r @ Registry::Private(_)) if r.host() == target => r,
        Ok(Registry::Public { .. }) => {
            return err(
                format!(
                    "registry {target:?} is ECR Public; an alias stands for a private registry"
                ),
                "ECR Public images pull without credentials; to mirror them, point the alias at a private registry with a pull-through cache rule",
            );
        }
        Ok(r) => {
            return err(
                format!("registry {target:?} is not written as a bare ECR host"),
                &format!("write registry = \"{}\"", r.host()),
            );
        }
        Err(_) => {
            return err(
                format!("registry {target:?} is not an Amazon ECR registry host"),
                "write the private registry's host, e.g. registry = \"111111111111.dkr.ecr.eu-west-1.amazonaws.com\"",
            );
        }
    };
    Ok(Alias {
        line,
        host,
        registry,
        credentials,
    })
}

/// Parses the file's text; every mistake names its line and the fix.
pub fn parse(path: &Path, text: &str) -> Result<RegistryConfig, RegistryConfigError> {
    let invalid = |line: usize, message: String, fix: &str| RegistryConfigError::Invalid {
        path: path.to_owned(),
        line,
        message,
        fix: fix.to_owned(),
    };
    let lines = Lines::of(text);
    let raw: RawFile = toml::from_str(text).map_err(|e| {
        let line = e.span().map_or(1, |s| lines.line(s));
        let message = e.message().trim().to_owned();
        let fix = if message.contains("expected a sequence") {
            "write each rule as [[registry]], two brackets: the rules are an array of tables".into()
        } else if message.contains("unknown field") {
            format!("check the spelling; a [[registry]] takes {KNOWN_KEYS}")
        } else if message.contains("invalid type") || message.contains("invalid value") {
            "quote account IDs, hosts, regions and names as strings (account = \"111111111111\"); duration_seconds is a whole number of seconds".into()
        } else {
            "see the [[registry]] format in the README".into()
        };
        invalid(line, message, &fix)
    })?;
    let mut rules = Vec::new();
    let mut aliases = Vec::new();
    for spanned in raw.registry {
        let line = lines.line(spanned.span());
        let r = spanned.into_inner();
        let err = |message: &str, fix: &str| invalid(line, message.to_owned(), fix);
        let creds = RawCredentials {
            profile: r.profile,
            role_arn: r.role_arn,
            external_id: r.external_id,
            session_name: r.session_name,
            duration_seconds: r.duration_seconds,
            source_profile: r.source_profile,
        };
        if let Some(target) = r.registry {
            let alias = credentials_of(creds).and_then(|credentials| {
                let narrowed = r.account.is_some() || r.region.is_some();
                alias_of(line, r.host, &target, narrowed, credentials)
            });
            let alias = alias.map_err(|(message, fix)| err(&message, &fix))?;
            if let Some(first) = aliases.iter().find(|a: &&Alias| a.host == alias.host) {
                return Err(err(
                    &format!(
                        "alias host {:?} is already an alias, at line {}",
                        alias.host, first.line
                    ),
                    "keep one rule for it",
                ));
            }
            aliases.push(alias);
            continue;
        }

        let matcher = match (r.account, r.host) {
            (Some(_), Some(_)) => {
                return Err(err(
                    "a [[registry]] has both account and host",
                    "keep one of them",
                ));
            }
            (None, None) => {
                return Err(err(
                    "a [[registry]] names no registry",
                    "add account = \"111111111111\" or host = \"111111111111.dkr.ecr.us-east-1.amazonaws.com\"",
                ));
            }
            (Some(a), None) => {
                if !registry::is_account_id(&a) {
                    return Err(err(
                        &format!("account {a:?} is not a 12-digit AWS account ID"),
                        "write the registry's account ID, as in 111111111111.dkr.ecr...",
                    ));
                }
                Matcher::Account(a)
            }
            (None, Some(h)) if h.contains('*') => {
                let h = h.to_ascii_lowercase();
                if let Some(why) = never_matches(&h) {
                    return Err(err(
                        &format!("host pattern {h:?} {why}"),
                        "use letters, digits, dots, dashes and * (one label), e.g. *.dkr.ecr.*.amazonaws.com",
                    ));
                }
                Matcher::Glob(h)
            }
            (None, Some(h)) => match registry::parse(&h) {
                Ok(reg) => Matcher::Host(reg.host().to_owned()),
                Err(_) => {
                    return Err(err(
                        &format!("host {h:?} is not an Amazon ECR registry host"),
                        "write it as docker does, e.g. 111111111111.dkr.ecr.us-east-1.amazonaws.com, or use * for a pattern",
                    ));
                }
            },
        };
        if let Some(region) = &r.region
            && !registry::is_region(region)
        {
            return Err(err(
                &format!("region {region:?} is not an AWS region"),
                "write it like us-east-1",
            ));
        }
        let credentials = match credentials_of(creds) {
            Ok(Some(c)) => c,
            Ok(None) => {
                return Err(err(
                    "a [[registry]] says neither profile nor role_arn",
                    "add profile = \"name\" or role_arn = \"arn:aws:iam::111111111111:role/name\"",
                ));
            }
            Err((message, fix)) => return Err(err(&message, &fix)),
        };
        rules.push(Rule {
            line,
            matcher,
            region: r.region,
            credentials,
        });
    }
    Ok(RegistryConfig { rules, aliases })
}

impl RegistryConfig {
    /// The first rule that matches the registry, if any.
    pub fn rule_for(&self, registry: &Registry) -> Option<&Rule> {
        self.rules.iter().find(|rule| {
            let matched = match (&rule.matcher, registry) {
                (Matcher::Account(a), Registry::Private(p)) => *a == p.account,
                (Matcher::Account(_), Registry::Public { .. }) => false,
                (Matcher::Host(h), r) => h == r.host(),
                (Matcher::Glob(g), r) => glob_match(g, r.host()),
            };
            matched
                && rule
                    .region
                    .as_deref()
                    .is_none_or(|region| region == registry.api_region())
        })
    }

    /// The credentials for a registry: its rule's, else the standard chain.
    pub fn route(&self, registry: &Registry) -> CredentialSource {
        self.rule_for(registry)
            .map_or(CredentialSource::Chain, |r| r.credentials.clone())
    }

    /// The alias for `host` (as `registry::server_host` reduces what docker
    /// sends), if a rule names it.
    pub fn alias_for(&self, host: &str) -> Option<&Alias> {
        self.aliases.iter().find(|a| a.host == host)
    }

    /// The credentials for an alias: its own, else its registry's, as if
    /// the registry's host had been asked for.
    pub fn alias_route(&self, alias: &Alias) -> CredentialSource {
        alias
            .credentials
            .clone()
            .unwrap_or_else(|| self.route(&alias.registry))
    }
}

/// Whose credentials ask for the token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CredentialSource {
    /// The standard AWS chain (environment, profile, web identity, ECS, IMDS).
    Chain,
    /// One profile of the shared config files, whatever else is set.
    Profile(String),
    /// A role assumed through STS with `base`'s credentials.
    AssumeRole {
        role_arn: String,
        external_id: Option<String>,
        session_name: Option<String>,
        duration_secs: Option<u32>,
        base: Box<CredentialSource>,
    },
    /// A role assumed with a web identity token (a Kubernetes service
    /// account's, for instance): `AssumeRoleWithWebIdentity`.
    WebIdentity {
        role_arn: String,
        token: Secret<String>,
        session_name: Option<String>,
    },
}

impl CredentialSource {
    /// The cache identity: what separates principals, never a secret, and
    /// the same across the sessions of one role. `chain` is the identity of
    /// the standard chain, derived from the environment.
    pub fn identity(&self, chain: &str) -> String {
        match self {
            CredentialSource::Chain => chain.to_owned(),
            CredentialSource::Profile(name) => format!("profile={name}\0{chain}"),
            CredentialSource::AssumeRole {
                role_arn,
                external_id,
                base,
                ..
            } => format!(
                "role={role_arn}\0external-id={}\0{}",
                external_id.as_deref().unwrap_or(""),
                base.identity(chain)
            ),
            CredentialSource::WebIdentity { role_arn, .. } => {
                format!("web-identity-role={role_arn}")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reg(host: &str) -> Registry {
        registry::parse(host).unwrap()
    }

    fn cfg(text: &str) -> RegistryConfig {
        parse(Path::new("/c.toml"), text).unwrap()
    }

    #[test]
    fn globs_stay_within_a_label() {
        let table = [
            (
                "*.dkr.ecr.*.amazonaws.com",
                "111111111111.dkr.ecr.us-east-1.amazonaws.com",
                true,
            ),
            (
                "*.dkr.ecr.*.amazonaws.com",
                "111111111111.dkr.ecr.cn-north-1.amazonaws.com.cn",
                false,
            ),
            (
                "*.dkr.ecr.*.amazonaws.com.cn",
                "111111111111.dkr.ecr.cn-north-1.amazonaws.com.cn",
                true,
            ),
            (
                "*.amazonaws.com",
                "111111111111.dkr.ecr.us-east-1.amazonaws.com",
                false,
            ),
            (
                "1111*.dkr.ecr.us-east-1.amazonaws.com",
                "111111111111.dkr.ecr.us-east-1.amazonaws.com",
                true,
            ),
            (
                "2222*.dkr.ecr.us-east-1.amazonaws.com",
                "111111111111.dkr.ecr.us-east-1.amazonaws.com",
                false,
            ),
            ("*", "public.ecr.aws", false),
            ("*.ecr.aws", "public.ecr.aws", true),
            ("public.ecr.aws", "public.ecr.aws", true),
            (
                "*.dkr.ecr.us-*-1.amazonaws.com",
                "111111111111.dkr.ecr.us-west-1.amazonaws.com",
                true,
            ),
            (
                "*.dkr.ecr.us-*-1.amazonaws.com",
                "111111111111.dkr.ecr.us-west-2.amazonaws.com",
                false,
            ),
            ("**.amazonaws.com", "a.amazonaws.com", true),
            ("", "", true),
        ];
        for (p, h, want) in table {
            assert_eq!(glob_match(p, h), want, "{p} ~ {h}");
        }
    }

    #[test]
    fn routes_by_account_host_glob_and_region_first_match_wins() {
        let c = cfg(r#"
[[registry]]
account = "111111111111"
region = "eu-west-1"
profile = "eu"

[[registry]]
account = "111111111111"
profile = "any-region"

[[registry]]
host = "333333333333.dkr.ecr.us-east-1.amazonaws.com"
role_arn = "arn:aws:iam::333333333333:role/pull"
external_id = "ext"
session_name = "ci"
duration_seconds = 3600
source_profile = "base"

[[registry]]
host = "*.dkr.ecr.*.amazonaws.com.cn"
role_arn = "arn:aws-cn:iam::444444444444:role/pull"

[[registry]]
host = "public.ecr.aws"
profile = "public"
"#);
        let profile = |p: &str| CredentialSource::Profile(p.into());
        assert_eq!(
            c.route(&reg("111111111111.dkr.ecr.eu-west-1.amazonaws.com")),
            profile("eu")
        );
        assert_eq!(
            c.route(&reg("111111111111.dkr.ecr.us-east-1.amazonaws.com")),
            profile("any-region")
        );
        assert_eq!(
            c.route(&reg("111111111111.dkr-ecr.us-east-1.on.aws")),
            profile("any-region")
        );
        assert_eq!(
            c.route(&reg(
                "https://333333333333.dkr.ecr.us-east-1.amazonaws.com/v2/"
            )),
            CredentialSource::AssumeRole {
                role_arn: "arn:aws:iam::333333333333:role/pull".into(),
                external_id: Some("ext".into()),
                session_name: Some("ci".into()),
                duration_secs: Some(3600),
                base: Box::new(profile("base")),
            }
        );
        // An exact host matches that host only.
        assert_eq!(
            c.route(&reg("333333333333.dkr.ecr.us-west-2.amazonaws.com")),
            CredentialSource::Chain
        );
        assert!(matches!(
            c.route(&reg("555555555555.dkr.ecr.cn-north-1.amazonaws.com.cn")),
            CredentialSource::AssumeRole { base, .. } if *base == CredentialSource::Chain
        ));
        assert_eq!(c.route(&reg("public.ecr.aws")), profile("public"));
        // Unmentioned: exactly as without the file.
        assert_eq!(
            c.route(&reg("999999999999.dkr.ecr.us-east-1.amazonaws.com")),
            CredentialSource::Chain
        );
        assert_eq!(c.rules[2].line, 11);
    }

    #[test]
    fn an_empty_file_routes_nothing() {
        for text in ["", "# nothing yet\n"] {
            assert_eq!(
                cfg(text).route(&reg("111111111111.dkr.ecr.us-east-1.amazonaws.com")),
                CredentialSource::Chain
            );
        }
    }

    #[test]
    fn every_mistake_names_its_line_and_fix() {
        // (text, line, words in the message, words in the fix)
        let table: &[(&str, usize, &str, &str)] = &[
            ("[[registry]\naccount = \"111111111111\"", 1, "", "README"),
            (
                "\n[[registry]]\naccount = 111111111111\nprofile = \"p\"",
                3,
                "invalid type",
                "quote",
            ),
            (
                "[[registry]]\naccount = \"111111111111\"\nrol_arn = \"x\"",
                3,
                "rol_arn",
                "spelling",
            ),
            ("[registries]\nx = 1", 1, "registries", "spelling"),
            (
                "[[registry]]\nprofile = \"p\"",
                1,
                "names no registry",
                "account =",
            ),
            (
                "\n\n[[registry]]\naccount = \"1\"\nhost = \"111111111111.dkr.ecr.us-east-1.amazonaws.com\"\nprofile = \"p\"",
                3,
                "both account and host",
                "keep one",
            ),
            (
                "[[registry]]\naccount = \"11111111111x\"\nprofile = \"p\"",
                1,
                "12-digit",
                "account ID",
            ),
            (
                "[[registry]]\nhost = \"registry.example.com\"\nprofile = \"p\"",
                1,
                "not an Amazon ECR",
                "111111111111.dkr.ecr",
            ),
            (
                "[[registry]]\nhost = \"*.dkr.ecr.*.amazonaws.com/x\"\nprofile = \"p\"",
                1,
                "characters",
                "*.dkr.ecr",
            ),
            (
                "[[registry]]\naccount = \"111111111111\"\nregion = \"east\"\nprofile = \"p\"",
                1,
                "not an AWS region",
                "us-east-1",
            ),
            (
                "[[registry]]\naccount = \"111111111111\"",
                1,
                "neither profile nor role_arn",
                "role_arn =",
            ),
            (
                "[[registry]]\naccount = \"111111111111\"\nprofile = \"p\"\nrole_arn = \"arn:aws:iam::1:role/r\"",
                1,
                "both profile and role_arn",
                "source_profile",
            ),
            (
                "[[registry]]\naccount = \"111111111111\"\nprofile = \"p\"\nexternal_id = \"x\"",
                1,
                "go with role_arn",
                "remove",
            ),
            (
                "[[registry]]\naccount = \"111111111111\"\nprofile = \" \"",
                1,
                "profile is empty",
                "~/.aws/config",
            ),
            (
                "[registry]\naccount = \"111111111111\"\nprofile = \"p\"",
                1,
                "expected a sequence",
                "[[registry]], two brackets",
            ),
            (
                "[[registry]]\nhost = \"**.dkr.ecr.*.amazonaws.com\"\nprofile = \"p\"",
                1,
                "never crosses a dot",
                "one label",
            ),
            (
                "[[registry]]\nhost = \"*.dkr.ecr.*.amazonaws.com.\"\nprofile = \"p\"",
                1,
                "empty label",
                "one label",
            ),
            (
                "[[registry]]\nhost = \"*..amazonaws.com\"\nprofile = \"p\"",
                1,
                "empty label",
                "one label",
            ),
            (
                "[[registry]]\naccount = \"111111111111\"\nrole_arn = \"arn:aws:s3::111111111111:role/r\"",
                1,
                "not an IAM role ARN",
                "arn:aws:iam::",
            ),
            (
                "[[registry]]\naccount = \"111111111111\"\nrole_arn = \"arn:aws:iam::111111111111:user/bob\"",
                1,
                "not an IAM role ARN",
                "arn:aws:iam::",
            ),
            (
                "[[registry]]\naccount = \"111111111111\"\nrole_arn = \"arn:aws:iam::111111111111:role/r\"\nduration_seconds = 60",
                1,
                "outside 900..43200",
                "12 hours",
            ),
            (
                "[[registry]]\naccount = \"111111111111\"\nrole_arn = \"arn:aws:iam::111111111111:role/r\"\nsession_name = \"a b\"",
                1,
                "session name",
                "letters",
            ),
            (
                "[[registry]]\naccount = \"111111111111\"\nrole_arn = \"arn:aws:iam::1:role/r\"\nduration_seconds = -5",
                4,
                "-5",
                "whole number of seconds",
            ),
        ];
        for &(text, line, message, fix) in table {
            match parse(
                Path::new("/home/u/.config/docker-credential-ecr-login/config.toml"),
                text,
            ) {
                Err(e @ RegistryConfigError::Invalid { line: got, .. }) => {
                    let shown = e.to_string();
                    assert_eq!(got, line, "{text:?}: {shown}");
                    assert!(
                        shown.starts_with(&format!(
                            "/home/u/.config/docker-credential-ecr-login/config.toml:{line}: "
                        )),
                        "{shown}"
                    );
                    assert!(
                        shown.contains(message) && shown.contains(fix),
                        "{text:?}: {shown}"
                    );
                }
                other => panic!("{text:?}: {other:?}"),
            }
        }
    }

    #[test]
    fn aliases_map_a_host_to_a_registry_and_inherit_its_route() {
        let c = cfg(r#"
[[registry]]
account = "111111111111"
region = "eu-west-1"
profile = "eu"

[[registry]]
host = "Images.Corp.Example"
registry = "111111111111.dkr.ecr.eu-west-1.amazonaws.com"

[[registry]]
host = "mirror.corp.example"
registry = "222222222222.dkr.ecr.us-east-1.amazonaws.com"
role_arn = "arn:aws:iam::222222222222:role/pull"

[[registry]]
host = "fips.corp.example"
registry = "333333333333.dkr.ecr-fips.us-gov-west-1.amazonaws.com"
"#);
        // Aliases are not routing rules: they never match an ECR host.
        assert_eq!(c.rules.len(), 1);
        let alias = |h: &str| c.alias_for(h).unwrap();
        // Lower case, as docker's host arrives reduced.
        let images = alias("images.corp.example");
        assert_eq!(
            (images.line, images.registry.host()),
            (7, "111111111111.dkr.ecr.eu-west-1.amazonaws.com")
        );
        // No credentials of its own: the registry's rule, as if its host
        // had been asked for.
        assert_eq!(images.credentials, None);
        assert_eq!(
            c.alias_route(images),
            CredentialSource::Profile("eu".into())
        );
        // Its own credentials win over the registry's route.
        assert!(matches!(
            c.alias_route(alias("mirror.corp.example")),
            CredentialSource::AssumeRole { role_arn, .. } if role_arn == "arn:aws:iam::222222222222:role/pull"
        ));
        // Nothing routes the FIPS registry: the standard chain.
        assert_eq!(
            c.alias_route(alias("fips.corp.example")),
            CredentialSource::Chain
        );
        for unknown in [
            "corp.example",
            "images.corp.example.evil",
            "111111111111.dkr.ecr.eu-west-1.amazonaws.com",
            "",
        ] {
            assert_eq!(c.alias_for(unknown), None, "{unknown}");
        }
    }

    #[test]
    fn every_alias_mistake_names_its_line_and_fix() {
        const R: &str = "registry = \"111111111111.dkr.ecr.eu-west-1.amazonaws.com\"";
        // (text, line, words in the message, words in the fix)
        let table: &[(String, usize, &str, &str)] = &[
            (
                format!("[[registry]]\n{R}\n"),
                1,
                "names no host",
                "images.corp.example",
            ),
            (
                format!("\n[[registry]]\nhost = \"*.corp.example\"\n{R}\n"),
                2,
                "is a pattern",
                "one name",
            ),
            (
                format!("[[registry]]\nhost = \"https://images.corp.example\"\n{R}\n"),
                1,
                "not a bare host",
                "one name",
            ),
            (
                format!("[[registry]]\nhost = \"images.corp.example:5000\"\n{R}\n"),
                1,
                "not a bare host",
                "one name",
            ),
            (
                format!("[[registry]]\nhost = \"images corp\"\n{R}\n"),
                1,
                "characters",
                "one name",
            ),
            (
                format!("[[registry]]\nhost = \"images..corp\"\n{R}\n"),
                1,
                "empty or overlong label",
                "one name",
            ),
            (
                format!("[[registry]]\nhost = \"222222222222.dkr.ecr.us-east-1.amazonaws.com\"\n{R}\n"),
                1,
                "is an Amazon ECR host itself",
                "other name",
            ),
            (
                format!("[[registry]]\nhost = \"public.ecr.aws\"\n{R}\n"),
                1,
                "is an Amazon ECR host itself",
                "other name",
            ),
            (
                format!("[[registry]]\naccount = \"111111111111\"\nhost = \"i.example\"\n{R}\n"),
                1,
                "cannot narrow",
                "remove account and region",
            ),
            (
                format!("[[registry]]\nhost = \"i.example\"\nregion = \"eu-west-1\"\n{R}\n"),
                1,
                "cannot narrow",
                "remove account and region",
            ),
            (
                "[[registry]]\nhost = \"i.example\"\nregistry = \"public.ecr.aws\"\n".into(),
                1,
                "is ECR Public",
                "pull-through cache",
            ),
            (
                "[[registry]]\nhost = \"i.example\"\nregistry = \"https://111111111111.dkr.ecr.eu-west-1.amazonaws.com/v2/\"\n".into(),
                1,
                "not written as a bare ECR host",
                "registry = \"111111111111.dkr.ecr.eu-west-1.amazonaws.com\"",
            ),
            (
                "[[registry]]\nhost = \"i.example\"\nregistry = \"111111111111.DKR.ecr.eu-west-1.amazonaws.com\"\n".into(),
                1,
                "not written as a bare ECR host",
                "registry = \"111111111111.dkr.ecr.eu-west-1.amazonaws.com\"",
            ),
            (
                "[[registry]]\nhost = \"i.example\"\nregistry = \"registry.corp.example\"\n".into(),
                1,
                "not an Amazon ECR registry host",
                "111111111111.dkr.ecr",
            ),
            (
                "[[registry]]\nhost = \"i.example\"\nregistry = \"111111111111.dkr.ecr.eu-west-1.amazonaws.com.evil.example\"\n".into(),
                1,
                "not an Amazon ECR registry host",
                "111111111111.dkr.ecr",
            ),
            (
                format!("[[registry]]\nhost = \"i.example\"\n{R}\nprofile = \"p\"\nrole_arn = \"arn:aws:iam::1:role/r\"\n"),
                1,
                "both profile and role_arn",
                "keep one",
            ),
            (
                format!("[[registry]]\nhost = \"i.example\"\n{R}\nexternal_id = \"x\"\n"),
                1,
                "go with role_arn",
                "add role_arn",
            ),
            (
                format!("[[registry]]\nhost = \"i.example\"\n{R}\nprofile = \"\"\n"),
                1,
                "profile is empty",
                "~/.aws/config",
            ),
            (
                format!("[[registry]]\nhost = \"i.example\"\n{R}\n\n[[registry]]\nhost = \"I.example\"\n{R}\n"),
                5,
                "already an alias, at line 1",
                "keep one",
            ),
            (
                format!("[[registry]]\nhost = \"i.example\"\n{R}\nregistri = \"x\"\n"),
                4,
                "registri",
                "registry, region",
            ),
        ];
        for (text, line, message, fix) in table {
            match parse(Path::new("/etc/c.toml"), text) {
                Err(e @ RegistryConfigError::Invalid { line: got, .. }) => {
                    let shown = e.to_string();
                    assert_eq!(got, *line, "{text:?}: {shown}");
                    assert!(
                        shown.starts_with(&format!("/etc/c.toml:{line}: ")),
                        "{shown}"
                    );
                    assert!(
                        shown.contains(message) && shown.contains(fix),
                        "{text:?}: {shown}"
                    );
                }
                other => panic!("{text:?}: {other:?}"),
            }
        }
    }

    #[test]
    fn identities_separate_principals_not_sessions() {
        let chain = "env:AKIA1";
        let role =
            |arn: &str, ext: Option<&str>, base: CredentialSource| CredentialSource::AssumeRole {
                role_arn: arn.into(),
                external_id: ext.map(Into::into),
                session_name: None,
                duration_secs: None,
                base: Box::new(base),
            };
        let web = |arn: &str, token: &str| CredentialSource::WebIdentity {
            role_arn: arn.into(),
            token: token.into(),
            session_name: None,
        };
        let ids = [
            CredentialSource::Chain.identity(chain),
            CredentialSource::Profile("a".into()).identity(chain),
            CredentialSource::Profile("b".into()).identity(chain),
            role("arn:aws:iam::1:role/r", None, CredentialSource::Chain).identity(chain),
            role("arn:aws:iam::1:role/s", None, CredentialSource::Chain).identity(chain),
            role("arn:aws:iam::1:role/r", Some("x"), CredentialSource::Chain).identity(chain),
            role(
                "arn:aws:iam::1:role/r",
                None,
                CredentialSource::Profile("a".into()),
            )
            .identity(chain),
            web("arn:aws:iam::1:role/r", "t1").identity(chain),
        ];
        for (i, a) in ids.iter().enumerate() {
            for b in &ids[i + 1..] {
                assert_ne!(a, b);
            }
        }
        // Two service-account tokens of one role share the role's entry,
        // and no token reaches the identity or Debug.
        assert_eq!(
            web("arn:aws:iam::1:role/r", "t1").identity(chain),
            web("arn:aws:iam::1:role/r", "t2").identity(chain)
        );
        assert!(!format!("{:?}", web("arn:aws:iam::1:role/r", "sekrit-jwt")).contains("sekrit"));
        assert!(
            !web("arn:aws:iam::1:role/r", "sekrit-jwt")
                .identity(chain)
                .contains("sekrit")
        );
    }
}
