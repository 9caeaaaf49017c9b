//! Every environment variable is read here: the credential path's once,
//! into `Config`; the commands' (`DOCKER_CONFIG`, `REGISTRY_AUTH_FILE`, the
//! kubelet's role) through `var`, which `main` passes them as a lookup, so
//! that their tests can supply their own.

use std::path::{Path, PathBuf};
use std::time::Duration;

use sha2::Digest;

pub const CACHE_DIR_VAR: &str = "AWS_ECR_CACHE_DIR";
pub const DISABLE_CACHE_VAR: &str = "AWS_ECR_DISABLE_CACHE";
pub const IGNORE_CREDS_STORAGE_VAR: &str = "AWS_ECR_IGNORE_CREDS_STORAGE";
pub const LOG_VAR: &str = "AWS_ECR_LOG";
pub const LOG_FILE_VAR: &str = "AWS_ECR_LOG_FILE";
pub const TIMEOUT_VAR: &str = "AWS_ECR_TIMEOUT";
pub const CA_BUNDLE_VAR: &str = "AWS_CA_BUNDLE";
pub const CONFIG_FILE_VAR: &str = "AWS_ECR_CONFIG_FILE";

pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
/// The cache's directory below the user cache directory, and the config
/// file's below the user config directory.
pub const CACHE_SUBDIR: &str = "docker-credential-ecr-login";
pub const CONFIG_FILE: &str = "docker-credential-ecr-login/config.toml";

/// Variables that select which credentials the standard chain will find
/// when the environment's own keys do not answer (profile, web identity,
/// container, instance metadata, in the chain's order). They make up the
/// cache identity, so that two principals never share a token.
const IDENTITY_VARS: &[&str] = &[
    "AWS_PROFILE",
    "AWS_CONFIG_FILE",
    "AWS_SHARED_CREDENTIALS_FILE",
    "AWS_LOGIN_CACHE_DIRECTORY",
    "AWS_ROLE_ARN",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
    "AWS_EC2_METADATA_SERVICE_ENDPOINT",
    "AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE",
];

/// A secret that also selects the principal (the container endpoint's
/// token): it enters the identity as a digest only.
const IDENTITY_SECRETS: &[&str] = &["AWS_CONTAINER_AUTHORIZATION_TOKEN"];

/// The one reader of the process environment: a variable's value, where
/// it is set and not empty.
pub fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogConfig {
    pub level: tracing::Level,
    pub file: Option<PathBuf>,
}

/// Where files go when no variable says otherwise.
#[derive(Debug, Clone, Default)]
pub struct Defaults {
    pub cache_dir: Option<PathBuf>,
    pub registry_config: Option<PathBuf>,
    /// A home directory that does not exist: nothing below it is created.
    pub missing_home: Option<PathBuf>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// `None`: caching is off or no place for it was found.
    pub cache_dir: Option<PathBuf>,
    pub ignore_creds_storage: bool,
    /// Bound on each network call (and on the credential chain).
    pub timeout: Duration,
    pub ca_bundle: Option<PathBuf>,
    /// The per-registry credentials file (it may not exist).
    pub registry_config: Option<PathBuf>,
    pub log: Option<LogConfig>,
    /// Who is asking, derived without resolving any credential.
    pub identity: String,
    /// Both static keys are set: the credential chain ends at the
    /// environment.
    pub static_keys: bool,
    /// Problems with the variables themselves, logged once logging is up.
    pub warnings: Vec<String>,
}

impl Config {
    pub fn from_env() -> Self {
        let dirs = directories::BaseDirs::new();
        // The SDK's home (HOME) and the one the default directories are
        // below (HOME, else the passwd entry's).
        let missing_home = home_dir(&var)
            .into_iter()
            .chain(dirs.as_ref().map(|d| d.home_dir().to_owned()))
            .find(|h| !h.is_dir());
        let defaults = Defaults {
            cache_dir: dirs.as_ref().map(|d| d.cache_dir().join(CACHE_SUBDIR)),
            registry_config: dirs.as_ref().map(|d| d.config_dir().join(CONFIG_FILE)),
            missing_home,
        };
        Self::from_vars(var, defaults)
    }

    /// Builds the configuration from a variable lookup and the user's
    /// default directories (absent without a home).
    pub fn from_vars(var: impl Fn(&str) -> Option<String>, defaults: Defaults) -> Self {
        let home_cache = defaults.cache_dir;
        let var = |k: &str| var(k).filter(|v| !v.is_empty());
        let mut warnings = Vec::new();

        let cache_dir = if var(DISABLE_CACHE_VAR).is_some_and(|v| truthy(&v)) {
            None
        } else {
            let named = var(CACHE_DIR_VAR);
            let dir = named.as_ref().map(|d| expand_home(d, &var)).or(home_cache);
            let what = || match &named {
                Some(v) => format!("{CACHE_DIR_VAR}={v:?}"),
                None => "the default cache directory".to_owned(),
            };
            match dir {
                // Never resolved against the working directory, which
                // changes from one run to the next.
                Some(d) if !d.has_root() => {
                    warnings.push(format!(
                        "{} is not an absolute path; caching is off",
                        what()
                    ));
                    None
                }
                Some(d) => match &defaults.missing_home {
                    Some(home) if d.starts_with(home) => {
                        warnings.push(format!(
                            "{} is below the home directory {}, which does not exist (it is not created); caching is off",
                            what(),
                            home.display()
                        ));
                        None
                    }
                    _ => Some(d),
                },
                None => None,
            }
        };

        let timeout = match var(TIMEOUT_VAR) {
            None => DEFAULT_TIMEOUT,
            Some(v) => match v.trim().parse::<f64>() {
                Ok(s) if s.is_finite() && s > 0.0 && s <= 3600.0 => Duration::from_secs_f64(s),
                _ => {
                    warnings.push(format!(
                        "{TIMEOUT_VAR}={v:?} is not a number of seconds above 0 and at most 3600; using {}",
                        DEFAULT_TIMEOUT.as_secs()
                    ));
                    DEFAULT_TIMEOUT
                }
            },
        };

        let log_file = var(LOG_FILE_VAR).map(PathBuf::from);
        let log = match var(LOG_VAR) {
            Some(v) => match parse_level(&v) {
                Some(Some(level)) => Some(LogConfig {
                    level,
                    file: log_file,
                }),
                Some(None) => None,
                None => {
                    warnings.push(format!(
                        "{LOG_VAR}={v:?} is not one of off, error, warn, info, debug, trace; using info"
                    ));
                    Some(LogConfig {
                        level: tracing::Level::INFO,
                        file: log_file,
                    })
                }
            },
            None => log_file.map(|file| LogConfig {
                level: tracing::Level::INFO,
                file: Some(file),
            }),
        };

        Config {
            cache_dir,
            ignore_creds_storage: var(IGNORE_CREDS_STORAGE_VAR).as_deref() == Some("true"),
            timeout,
            ca_bundle: var(CA_BUNDLE_VAR).map(PathBuf::from),
            registry_config: var(CONFIG_FILE_VAR)
                .map(|p| expand_home(&p, &var))
                .or(defaults.registry_config),
            log,
            identity: cache_identity(&var),
            static_keys: static_keys_in_env(&var),
            warnings: {
                warnings.extend(env_keys_warning(&var));
                warnings
            },
        }
    }
}

/// The access key ID of the environment's keys when the AWS SDK's
/// environment provider, the chain's first link, will answer with them:
/// `AWS_ACCESS_KEY_ID` and a secret (`AWS_SECRET_ACCESS_KEY`, else
/// `SECRET_ACCESS_KEY`), neither blank. Otherwise that provider answers
/// "not loaded" and the chain goes on to the profile, web identity,
/// container and instance (aws-config's `EnvironmentVariableCredentialsProvider`).
pub fn env_key_id(var: &impl Fn(&str) -> Option<String>) -> Option<String> {
    let set = |k: &str| var(k).filter(|v| !v.trim().is_empty());
    let key_id = set("AWS_ACCESS_KEY_ID")?;
    set("AWS_SECRET_ACCESS_KEY")
        .or_else(|| set("SECRET_ACCESS_KEY"))
        .map(|_| key_id)
}

/// Whether the default chain's first link, the environment, has keys: then
/// it ends there, whatever profile or role is configured.
pub fn static_keys_in_env(var: &impl Fn(&str) -> Option<String>) -> bool {
    env_key_id(var).is_some()
}

/// Half of the environment's keys: the SDK ignores them and takes
/// credentials from the rest of its chain; said, since the user meant
/// otherwise.
fn env_keys_warning(var: &impl Fn(&str) -> Option<String>) -> Option<String> {
    let set = |k: &str| var(k).is_some_and(|v| !v.trim().is_empty());
    let secret = set("AWS_SECRET_ACCESS_KEY") || set("SECRET_ACCESS_KEY");
    let half = match (set("AWS_ACCESS_KEY_ID"), secret) {
        (true, false) => "AWS_ACCESS_KEY_ID is set without AWS_SECRET_ACCESS_KEY",
        (false, true) => "AWS_SECRET_ACCESS_KEY is set without AWS_ACCESS_KEY_ID",
        (false, false) if var("AWS_ACCESS_KEY_ID").is_some() => "AWS_ACCESS_KEY_ID is blank",
        _ => return None,
    };
    Some(format!(
        "{half}: the AWS SDK ignores the environment's keys and takes credentials from the rest of its chain (profile, web identity, container, instance)"
    ))
}

/// The credential identity for cache keys: it describes the credentials
/// the chain will use, without resolving them. Keys the environment
/// provider answers with are named by their access key ID (not secret);
/// otherwise (no keys, or half of them, which the SDK ignores) the chain
/// goes on, and the identity is what selects its answer: the variables
/// the later links read, the home directory its files are found below,
/// and the version of those files ([`file_stamp`]), since a profile's SSO
/// account and role, `role_arn`, `source_profile` and `credential_process`
/// are written there. That stays the same across the sessions of an
/// assumed role; an edit of either file is a miss.
pub fn cache_identity(var: &impl Fn(&str) -> Option<String>) -> String {
    if let Some(key_id) = env_key_id(var) {
        return format!("env:{key_id}");
    }
    let mut id = String::from("chain");
    for name in IDENTITY_VARS {
        if let Some(v) = var(name) {
            id.push_str(&format!("\0{name}={v}"));
        }
    }
    for name in IDENTITY_SECRETS {
        if let Some(v) = var(name) {
            let digest = sha2::Sha256::digest(v.as_bytes());
            let hex: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
            id.push_str(&format!("\0{name}=sha256:{hex}"));
        }
    }
    if let Some(home) = home_dir(var) {
        id.push_str(&format!("\0home={}", home.display()));
    }
    for (name, default) in AWS_FILES {
        if let Some(path) = aws_file(name, default, var) {
            id.push_str(&format!("\0{name}@{}", file_stamp(&path)));
        }
    }
    id
}

/// The shared AWS files: the variable naming each, and its place below the
/// home directory.
pub const AWS_FILES: [(&str, &str); 2] = [
    ("AWS_CONFIG_FILE", ".aws/config"),
    ("AWS_SHARED_CREDENTIALS_FILE", ".aws/credentials"),
];

/// The largest AWS config or credentials file read. A file with hundreds
/// of profiles is well under a megabyte.
pub const MAX_AWS_FILE: u64 = 4 << 20;

/// Where the SDK reads one of [`AWS_FILES`]: the variable's path (`~` as
/// its first component is the home directory), else `default` below the
/// home directory; `None` without either.
pub fn aws_file(
    name: &str,
    default: &str,
    var: &impl Fn(&str) -> Option<String>,
) -> Option<PathBuf> {
    let home = home_dir(var);
    match var(name) {
        Some(p) => {
            let p = Path::new(&p);
            let mut parts = p.components();
            Some(match (parts.next(), home) {
                (Some(std::path::Component::Normal(first)), Some(home)) if first == "~" => {
                    home.join(parts.as_path())
                }
                _ => p.to_owned(),
            })
        }
        None => home.map(|h| h.join(default)),
    }
}

/// A file's version without reading it: path, size, modification and
/// change times and (on Unix) device and inode, so that an edit, a rename
/// over it or a restored copy changes it. Never a digest of the contents:
/// the key must be the same before and after any moment, or every edit
/// would cost two misses (the load suite's 64 processes saw it). What it
/// cannot see is a rewrite in place to the same size within one tick of
/// the file system's clock after the last one, a few milliseconds: no
/// person edits that fast, and a `get` in between takes longer.
pub fn file_stamp(path: &Path) -> String {
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return format!("{}:absent", path.display());
        }
        // Unreadable: the miss's read reports it.
        Err(_) => return format!("{}:unreadable", path.display()),
    };
    let modified = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_nanos());
    #[cfg(unix)]
    let (changed, inode) = {
        use std::os::unix::fs::MetadataExt;
        let changed = u128::try_from(meta.ctime())
            .ok()
            .map_or(0, |s| s * 1_000_000_000 + meta.ctime_nsec().max(0) as u128);
        (changed, format!("{}:{}", meta.dev(), meta.ino()))
    };
    #[cfg(not(unix))]
    let (changed, inode) = (modified, String::new());
    format!(
        "{}:{}:{modified}:{changed}:{inode}",
        path.display(),
        meta.len()
    )
}

fn truthy(v: &str) -> bool {
    !matches!(
        v.trim().to_ascii_lowercase().as_str(),
        "" | "0" | "false" | "no" | "off"
    )
}

/// The variables [`home_dir`] reads on this OS, for messages.
pub const HOME_VARS: &str = if cfg!(windows) {
    "HOME, USERPROFILE, HOMEDRIVE and HOMEPATH"
} else {
    "HOME"
};

/// The user's home directory, found as the AWS SDK finds it (for
/// `~/.aws/config`): `HOME`; on Windows then `USERPROFILE`, then
/// `HOMEDRIVE` followed by `HOMEPATH`. `None` without one.
pub fn home_dir(var: &impl Fn(&str) -> Option<String>) -> Option<PathBuf> {
    home_dir_on(var, cfg!(windows))
}

/// [`home_dir`] on Windows (`windows`) or elsewhere.
fn home_dir_on(var: &impl Fn(&str) -> Option<String>, windows: bool) -> Option<PathBuf> {
    let var = |k: &str| var(k).filter(|v| !v.is_empty());
    if let Some(home) = var("HOME") {
        return Some(PathBuf::from(home));
    }
    if !windows {
        return None;
    }
    if let Some(profile) = var("USERPROFILE") {
        return Some(PathBuf::from(profile));
    }
    match (var("HOMEDRIVE"), var("HOMEPATH")) {
        (Some(drive), Some(path)) => Some(PathBuf::from(drive + &path)),
        _ => None,
    }
}

/// `~/rest` (on Windows also `~\rest`) below the home directory; any other
/// path, or any path without a home, as it is.
fn expand_home(path: &str, var: &impl Fn(&str) -> Option<String>) -> PathBuf {
    expand_home_on(path, var, cfg!(windows))
}

fn expand_home_on(path: &str, var: &impl Fn(&str) -> Option<String>, windows: bool) -> PathBuf {
    let rest = path
        .strip_prefix("~/")
        .or_else(|| path.strip_prefix("~\\").filter(|_| windows));
    match rest.zip(home_dir_on(var, windows)) {
        Some((rest, home)) => home.join(Path::new(rest)),
        None => PathBuf::from(path),
    }
}

/// `Some(None)` means logging is explicitly off.
fn parse_level(v: &str) -> Option<Option<tracing::Level>> {
    use tracing::Level;
    Some(Some(match v.trim().to_ascii_lowercase().as_str() {
        "off" | "none" | "0" | "false" => return Some(None),
        "error" => Level::ERROR,
        "warn" | "warning" => Level::WARN,
        "info" | "1" | "true" => Level::INFO,
        "debug" => Level::DEBUG,
        "trace" => Level::TRACE,
        _ => return None,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

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
            assert_eq!(static_keys_in_env(&var), want, "{vars:?}");
        }
    }

    fn config(vars: &[(&str, &str)]) -> Config {
        let owned: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::from_vars(
            move |k| owned.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone()),
            Defaults {
                cache_dir: Some(PathBuf::from("/home/u/.cache/docker-credential-ecr-login")),
                registry_config: Some(PathBuf::from(
                    "/home/u/.config/docker-credential-ecr-login/config.toml",
                )),
                missing_home: None,
            },
        )
    }

    #[test]
    fn cache_dir_choice() {
        let home = Some(PathBuf::from("/home/u/.cache/docker-credential-ecr-login"));
        type Case<'a> = (&'a [(&'a str, &'a str)], Option<&'a str>);
        let table: &[Case] = &[
            (&[], home.as_deref().and_then(|p| p.to_str())),
            (&[("AWS_ECR_CACHE_DIR", "/tmp/c")], Some("/tmp/c")),
            (
                &[("AWS_ECR_CACHE_DIR", "~/ecr"), ("HOME", "/h")],
                Some("/h/ecr"),
            ),
            (
                &[("AWS_ECR_CACHE_DIR", "")],
                home.as_deref().and_then(|p| p.to_str()),
            ),
            (&[("AWS_ECR_DISABLE_CACHE", "true")], None),
            (&[("AWS_ECR_DISABLE_CACHE", "1")], None),
            (
                &[
                    ("AWS_ECR_DISABLE_CACHE", "yes"),
                    ("AWS_ECR_CACHE_DIR", "/tmp/c"),
                ],
                None,
            ),
            (
                &[("AWS_ECR_DISABLE_CACHE", "false")],
                home.as_deref().and_then(|p| p.to_str()),
            ),
            (
                &[("AWS_ECR_DISABLE_CACHE", "0")],
                home.as_deref().and_then(|p| p.to_str()),
            ),
        ];
        // Compared as paths: on Windows, join puts a backslash in.
        for (vars, want) in table {
            assert_eq!(
                config(vars).cache_dir.as_deref(),
                want.map(Path::new),
                "{vars:?}"
            );
        }
        assert_eq!(
            Config::from_vars(|_| None, Defaults::default()).cache_dir,
            None
        );
    }

    /// (variables, on Windows, the home directory or `None`)
    type HomeCase = (
        &'static [(&'static str, &'static str)],
        bool,
        Option<&'static str>,
    );

    #[test]
    fn the_home_directory_is_found_as_the_sdk_finds_it() {
        let table: &[HomeCase] = &[
            (&[("HOME", "/h")], false, Some("/h")),
            (&[("HOME", "/h")], true, Some("/h")),
            // HOME comes first, on Windows too (Git Bash, Cygwin set it).
            (
                &[("HOME", "/h"), ("USERPROFILE", r"C:\Users\u")],
                true,
                Some("/h"),
            ),
            (&[("USERPROFILE", r"C:\Users\u")], true, Some(r"C:\Users\u")),
            (
                &[
                    ("USERPROFILE", r"C:\Users\u"),
                    ("HOMEDRIVE", "D:"),
                    ("HOMEPATH", r"\Home\u"),
                ],
                true,
                Some(r"C:\Users\u"),
            ),
            (
                &[("HOMEDRIVE", "D:"), ("HOMEPATH", r"\Home\u")],
                true,
                Some(r"D:\Home\u"),
            ),
            // Both halves, or neither.
            (&[("HOMEDRIVE", "D:")], true, None),
            (&[("HOMEPATH", r"\Home\u")], true, None),
            // An empty variable is unset.
            (
                &[("HOME", ""), ("USERPROFILE", r"C:\Users\u")],
                true,
                Some(r"C:\Users\u"),
            ),
            (&[("HOME", "")], false, None),
            (&[], true, None),
            (&[], false, None),
            // Elsewhere the SDK reads HOME only, and so do we.
            (&[("USERPROFILE", r"C:\Users\u")], false, None),
            (
                &[("HOMEDRIVE", "D:"), ("HOMEPATH", r"\Home\u")],
                false,
                None,
            ),
        ];
        for (vars, windows, want) in table {
            let var = |k: &str| {
                vars.iter()
                    .find(|(n, _)| *n == k)
                    .map(|(_, v)| v.to_string())
            };
            assert_eq!(
                home_dir_on(&var, *windows).as_deref(),
                want.map(Path::new),
                "{vars:?} windows={windows}"
            );
        }
    }

    #[test]
    fn tilde_expands_below_the_home_directory() {
        let var = |k: &str| (k == "USERPROFILE").then(|| "/profile".to_owned());
        // (path, on Windows, want)
        let table = [
            ("~/ecr", true, "/profile/ecr"),
            ("~\\ecr", true, "/profile/ecr"),
            ("~/a/b", true, "/profile/a/b"),
            // Without HOME, no home elsewhere: the path as it is.
            ("~/ecr", false, "~/ecr"),
            ("~\\ecr", false, "~\\ecr"),
            ("/abs/ecr", true, "/abs/ecr"),
            ("~user/ecr", true, "~user/ecr"),
            ("~", true, "~"),
        ];
        for (path, windows, want) in table {
            assert_eq!(
                expand_home_on(path, &var, windows),
                Path::new(want),
                "{path} windows={windows}"
            );
        }
    }

    #[test]
    fn registry_config_file_choice() {
        // Compared as paths: on Windows, join puts a backslash in.
        let path = |vars: &[(&str, &str)]| config(vars).registry_config;
        assert_eq!(
            path(&[]).as_deref(),
            Some(Path::new(
                "/home/u/.config/docker-credential-ecr-login/config.toml"
            ))
        );
        assert_eq!(
            path(&[(CONFIG_FILE_VAR, "/etc/ecr.toml")]).as_deref(),
            Some(Path::new("/etc/ecr.toml"))
        );
        assert_eq!(
            path(&[(CONFIG_FILE_VAR, "~/e.toml"), ("HOME", "/h")]).as_deref(),
            Some(Path::new("/h/e.toml"))
        );
        assert_eq!(
            Config::from_vars(|_| None, Defaults::default()).registry_config,
            None
        );
    }

    #[test]
    fn ignore_creds_storage_needs_exactly_true() {
        for (v, want) in [("true", true), ("TRUE", false), ("1", false), ("", false)] {
            assert_eq!(
                config(&[(IGNORE_CREDS_STORAGE_VAR, v)]).ignore_creds_storage,
                want,
                "{v}"
            );
        }
    }

    #[test]
    fn timeout_parsing() {
        assert_eq!(config(&[]).timeout, DEFAULT_TIMEOUT);
        assert_eq!(
            config(&[(TIMEOUT_VAR, "2.5")]).timeout,
            Duration::from_millis(2500)
        );
        for bad in ["0", "-1", "abc", "inf", "NaN", "99999"] {
            let c = config(&[(TIMEOUT_VAR, bad)]);
            assert_eq!(c.timeout, DEFAULT_TIMEOUT, "{bad}");
            assert_eq!(c.warnings.len(), 1, "{bad}");
            // The rule as the check applies it: 0 itself is refused.
            assert!(c.warnings[0].contains("above 0 and at most 3600"), "{bad}");
        }
        assert_eq!(
            config(&[(TIMEOUT_VAR, "3600")]).timeout,
            Duration::from_secs(3600)
        );
    }

    #[test]
    fn logging_is_off_unless_asked() {
        assert_eq!(config(&[]).log, None);
        assert_eq!(config(&[(LOG_VAR, "off")]).log, None);
        let c = config(&[(LOG_VAR, "debug")]);
        assert_eq!(
            c.log,
            Some(LogConfig {
                level: tracing::Level::DEBUG,
                file: None
            })
        );
        let c = config(&[(LOG_FILE_VAR, "/tmp/l")]);
        assert_eq!(c.log.unwrap().file, Some(PathBuf::from("/tmp/l")));
        let c = config(&[(LOG_VAR, "loud")]);
        assert_eq!(c.log.unwrap().level, tracing::Level::INFO);
        assert_eq!(c.warnings.len(), 1);
    }

    #[test]
    fn identity_separates_principals_without_resolving_them() {
        let id = |vars: &[(&str, &str)]| config(vars).identity;
        let base = id(&[]);
        let distinct = [
            base.clone(),
            id(&[
                ("AWS_ACCESS_KEY_ID", "AKIA1"),
                ("AWS_SECRET_ACCESS_KEY", "s"),
            ]),
            id(&[
                ("AWS_ACCESS_KEY_ID", "AKIA2"),
                ("AWS_SECRET_ACCESS_KEY", "s"),
            ]),
            id(&[("AWS_PROFILE", "dev")]),
            id(&[("AWS_PROFILE", "prod")]),
            id(&[
                ("AWS_ROLE_ARN", "arn:aws:iam::2:role/a"),
                ("AWS_WEB_IDENTITY_TOKEN_FILE", "/t"),
            ]),
            id(&[("AWS_CONFIG_FILE", "/other/config")]),
            id(&[(
                "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
                "/v2/credentials/x",
            )]),
        ];
        for (i, a) in distinct.iter().enumerate() {
            for b in &distinct[i + 1..] {
                assert_ne!(a, b);
            }
        }
        // Session credentials of one role, and secrets, do not change it.
        assert_eq!(
            id(&[("AWS_PROFILE", "dev"), ("AWS_SESSION_TOKEN", "s1")]),
            id(&[("AWS_PROFILE", "dev"), ("AWS_SESSION_TOKEN", "s2")])
        );
        assert_eq!(
            id(&[
                ("AWS_ACCESS_KEY_ID", "AKIA1"),
                ("AWS_SECRET_ACCESS_KEY", "x")
            ]),
            id(&[
                ("AWS_ACCESS_KEY_ID", "AKIA1"),
                ("AWS_SECRET_ACCESS_KEY", "y")
            ])
        );
        assert!(
            !id(&[
                ("AWS_ACCESS_KEY_ID", "AKIA1"),
                ("AWS_SECRET_ACCESS_KEY", "sekrit")
            ])
            .contains("sekrit")
        );
        // An empty variable counts as unset.
        assert_eq!(id(&[("AWS_PROFILE", "")]), base);
    }

    /// Whom the chain answers for, by the variables set.
    #[derive(Debug)]
    enum Principal {
        /// The environment's keys, with this access key ID.
        Env(&'static str),
        /// The rest of the chain: the identity is that of the same
        /// variables without the environment's keys.
        Chain,
    }

    /// The identity describes the credentials the SDK's chain will use:
    /// keys the environment provider ignores (half of them, or blank)
    /// never name it, and the chain's later links decide it instead.
    #[test]
    fn identity_describes_the_credentials_the_chain_will_use() {
        use Principal::*;
        const ENV_KEYS: [&str; 4] = [
            "AWS_ACCESS_KEY_ID",
            "AWS_SECRET_ACCESS_KEY",
            "SECRET_ACCESS_KEY",
            "AWS_SESSION_TOKEN",
        ];
        let web = [
            ("AWS_ROLE_ARN", "arn:aws:iam::2:role/w"),
            ("AWS_WEB_IDENTITY_TOKEN_FILE", "/t"),
        ];
        let container = [
            ("AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://127.0.0.1:9/c"),
            ("AWS_CONTAINER_AUTHORIZATION_TOKEN", "tok"),
        ];
        let key = ("AWS_ACCESS_KEY_ID", "AKIA1");
        let secret = ("AWS_SECRET_ACCESS_KEY", "s");
        let table: Vec<(Vec<(&str, &str)>, Principal)> = vec![
            (vec![key, secret], Env("AKIA1")),
            (vec![key], Chain),
            (vec![key, ("AWS_SECRET_ACCESS_KEY", "")], Chain),
            (vec![key, ("AWS_SECRET_ACCESS_KEY", " \t")], Chain),
            (vec![("AWS_ACCESS_KEY_ID", " "), secret], Chain),
            (vec![secret], Chain),
            // The SDK's fallback name for the secret.
            (vec![key, ("SECRET_ACCESS_KEY", "s")], Env("AKIA1")),
            (
                vec![
                    key,
                    ("AWS_SECRET_ACCESS_KEY", " "),
                    ("SECRET_ACCESS_KEY", "s"),
                ],
                Env("AKIA1"),
            ),
            // The environment comes before a profile.
            (vec![key, secret, ("AWS_PROFILE", "p")], Env("AKIA1")),
            (vec![key, ("AWS_PROFILE", "p")], Chain),
            (vec![secret, ("AWS_PROFILE", "p")], Chain),
            // A session token completes no half.
            (vec![key, ("AWS_SESSION_TOKEN", "t")], Chain),
            (vec![key, secret, ("AWS_SESSION_TOKEN", "t")], Env("AKIA1")),
            (vec![key, web[0], web[1]], Chain),
            (vec![key, secret, web[0], web[1]], Env("AKIA1")),
            (vec![key, container[0], container[1]], Chain),
            (vec![key, secret, container[0], container[1]], Env("AKIA1")),
            (vec![key, ("HOME", "/h")], Chain),
        ];
        for (vars, want) in &table {
            let got = config(vars).identity;
            match want {
                Env(key_id) => assert_eq!(got, format!("env:{key_id}"), "{vars:?}"),
                Chain => {
                    let rest: Vec<_> = vars
                        .iter()
                        .copied()
                        .filter(|(k, _)| !ENV_KEYS.contains(k))
                        .collect();
                    assert_eq!(got, config(&rest).identity, "{vars:?}");
                    assert!(got.starts_with("chain"), "{vars:?}: {got}");
                }
            }
            // Static keys skip the chain exactly when the identity says so.
            assert_eq!(config(vars).static_keys, matches!(want, Env(_)), "{vars:?}");
        }
        // What selects the rest of the chain separates identities: the
        // container's token (as a digest only), the home directory whose
        // ~/.aws files are read, the instance metadata endpoint.
        let id = |vars: &[(&str, &str)]| config(vars).identity;
        let distinct = [
            id(&[key]),
            id(&[key, ("AWS_PROFILE", "p")]),
            id(&[container[0], container[1]]),
            id(&[container[0], ("AWS_CONTAINER_AUTHORIZATION_TOKEN", "other")]),
            id(&[
                container[0],
                ("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", "/tok"),
            ]),
            id(&[("HOME", "/h1")]),
            id(&[("HOME", "/h2")]),
            id(&[(
                "AWS_EC2_METADATA_SERVICE_ENDPOINT",
                "http://[fd00:ec2::254]",
            )]),
        ];
        for (i, a) in distinct.iter().enumerate() {
            for b in &distinct[i + 1..] {
                assert_ne!(a, b);
            }
        }
        assert!(!id(&[container[0], container[1]]).contains("tok"));
    }

    /// A home with both AWS files, and the lookup that names it.
    fn aws_home() -> (tempfile::TempDir, impl Fn(&str) -> Option<String>) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join(".aws")).unwrap();
        let home = dir.path().to_string_lossy().into_owned();
        let var = move |k: &str| (k == "HOME").then(|| home.clone());
        (dir, var)
    }

    const SSO_A: &str = "[profile dev]\nsso_session = corp\nsso_account_id = 111111111111\nsso_role_name = ReadOnly\n\n[sso-session corp]\nsso_start_url = https://corp.awsapps.com/start\nsso_region = eu-west-1\n";

    /// Waits out one tick of the file system's clock, so that the next
    /// write in place carries other times (as any edit after a `get` does).
    fn next_tick() {
        std::thread::sleep(Duration::from_millis(20));
    }

    /// The issue's case: the same AWS_PROFILE in the same file, whose SSO
    /// account (or role, role_arn, credential_process) was edited, is
    /// another principal: its identity changes, without the file being read.
    #[test]
    fn an_edit_of_the_aws_files_changes_the_identity() {
        let (dir, var) = aws_home();
        let config = dir.path().join(".aws/config");
        std::fs::write(&config, SSO_A).unwrap();
        let before = cache_identity(&var);
        // The same size, rewritten in place: told apart by its times.
        next_tick();
        std::fs::write(&config, SSO_A.replace("111111111111", "222222222222")).unwrap();
        let account = cache_identity(&var);
        assert_ne!(account, before);
        next_tick();
        std::fs::write(&config, SSO_A.replace("ReadOnly", "PowerUsr")).unwrap();
        assert_ne!(cache_identity(&var), account);
        // Replaced by a rename (as editors save), same size, same times:
        // told apart by the inode, which std shows on Unix only (on
        // Windows a save's new modification time tells them apart).
        #[cfg(unix)]
        {
            let b = cache_identity(&var);
            let tmp = dir.path().join(".aws/config.new");
            std::fs::write(&tmp, SSO_A.replace("ReadOnly", "PowerUsr")).unwrap();
            let times = std::fs::metadata(&config).unwrap().modified().unwrap();
            std::fs::File::options()
                .write(true)
                .open(&tmp)
                .unwrap()
                .set_modified(times)
                .unwrap();
            std::fs::rename(&tmp, &config).unwrap();
            assert_ne!(cache_identity(&var), b);
        }
        // The credentials file counts as much (a source_profile's keys).
        let c = cache_identity(&var);
        std::fs::write(
            dir.path().join(".aws/credentials"),
            "[base]\naws_access_key_id = AKIA2\n",
        )
        .unwrap();
        assert_ne!(cache_identity(&var), c);
    }

    /// An untouched file keeps its identity, however much later: a hit
    /// stays a hit. Only its version is in it, never its contents.
    #[test]
    fn untouched_aws_files_keep_the_identity() {
        let (dir, var) = aws_home();
        std::fs::write(dir.path().join(".aws/config"), SSO_A).unwrap();
        let id = cache_identity(&var);
        next_tick();
        assert_eq!(cache_identity(&var), id);
        assert!(!id.contains("ReadOnly") && !id.contains("sha256"), "{id}");
        // A file that appears, or goes, changes it too.
        std::fs::remove_file(dir.path().join(".aws/config")).unwrap();
        let gone = cache_identity(&var);
        assert_ne!(gone, id);
        assert!(gone.contains("absent"), "{gone}");
    }

    /// The environment's keys end the chain: the files are not looked at.
    #[test]
    fn static_keys_do_not_stamp_the_aws_files() {
        let (dir, home) = aws_home();
        std::fs::write(dir.path().join(".aws/config"), SSO_A).unwrap();
        let var = |k: &str| match k {
            "AWS_ACCESS_KEY_ID" => Some("AKIA1".to_owned()),
            "AWS_SECRET_ACCESS_KEY" => Some("s".to_owned()),
            _ => home(k),
        };
        assert_eq!(cache_identity(&var), "env:AKIA1");
    }

    #[test]
    fn the_aws_files_are_found_as_the_sdk_finds_them() {
        let var = |vars: &'static [(&'static str, &'static str)]| {
            move |k: &str| {
                vars.iter()
                    .find(|(n, _)| *n == k)
                    .map(|(_, v)| v.to_string())
            }
        };
        let config = |vars| aws_file("AWS_CONFIG_FILE", ".aws/config", &var(vars));
        assert_eq!(
            config(&[("HOME", "/h")]).as_deref(),
            Some(Path::new("/h/.aws/config"))
        );
        assert_eq!(
            config(&[("HOME", "/h"), ("AWS_CONFIG_FILE", "/etc/aws")]).as_deref(),
            Some(Path::new("/etc/aws"))
        );
        assert_eq!(
            config(&[("HOME", "/h"), ("AWS_CONFIG_FILE", "~/c")]).as_deref(),
            Some(Path::new("/h/c"))
        );
        assert_eq!(
            config(&[("AWS_CONFIG_FILE", "~/c")]).as_deref(),
            Some(Path::new("~/c"))
        );
        assert_eq!(config(&[]), None);
    }

    #[test]
    fn half_of_the_environment_keys_is_a_warning() {
        let warned = |vars: &[(&str, &str)]| {
            config(vars)
                .warnings
                .iter()
                .any(|w| w.contains("ignores the environment's keys"))
        };
        assert!(warned(&[("AWS_ACCESS_KEY_ID", "AKIA1")]));
        assert!(warned(&[("AWS_SECRET_ACCESS_KEY", "s")]));
        assert!(warned(&[
            ("AWS_ACCESS_KEY_ID", "AKIA1"),
            ("AWS_SECRET_ACCESS_KEY", " ")
        ]));
        assert!(warned(&[("AWS_ACCESS_KEY_ID", " ")]));
        assert!(!warned(&[]));
        assert!(!warned(&[
            ("AWS_ACCESS_KEY_ID", "AKIA1"),
            ("AWS_SECRET_ACCESS_KEY", "s")
        ]));
        assert!(!warned(&[
            ("AWS_ACCESS_KEY_ID", "AKIA1"),
            ("SECRET_ACCESS_KEY", "s")
        ]));
        // One line, and no secret in it.
        let c = config(&[("AWS_SECRET_ACCESS_KEY", "sekrit")]);
        assert_eq!(c.warnings.len(), 1);
        assert!(!c.warnings[0].contains("sekrit") && !c.warnings[0].contains('\n'));
    }

    #[test]
    fn a_cache_directory_must_be_absolute_and_its_home_must_exist() {
        let with = |vars: &[(&str, &str)], missing_home: Option<&str>| {
            let owned: Vec<(String, String)> = vars
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            Config::from_vars(
                move |k| owned.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone()),
                Defaults {
                    cache_dir: Some(PathBuf::from("/gone/.cache/docker-credential-ecr-login")),
                    registry_config: None,
                    missing_home: missing_home.map(PathBuf::from),
                },
            )
        };
        for rel in ["cache", "./cache", "../c", "~/c", "~user/c"] {
            let c = with(&[(CACHE_DIR_VAR, rel)], None);
            assert_eq!(c.cache_dir, None, "{rel}");
            assert_eq!(c.warnings.len(), 1, "{rel}");
            assert!(c.warnings[0].contains("not an absolute path"), "{rel}");
        }
        // The default, or ~/ in the variable, below a home that is not there.
        let c = with(&[], Some("/gone"));
        assert_eq!(c.cache_dir, None);
        assert!(c.warnings[0].contains("does not exist"), "{:?}", c.warnings);
        let c = with(&[(CACHE_DIR_VAR, "~/c"), ("HOME", "/gone")], Some("/gone"));
        assert_eq!(c.cache_dir, None);
        // Elsewhere, an absolute directory is created as before.
        let c = with(&[(CACHE_DIR_VAR, "/var/c")], Some("/gone"));
        assert_eq!(c.cache_dir.as_deref(), Some(Path::new("/var/c")));
        assert!(c.warnings.is_empty());
        let c = with(&[], None);
        assert_eq!(
            c.cache_dir.as_deref(),
            Some(Path::new("/gone/.cache/docker-credential-ecr-login"))
        );
    }
}
