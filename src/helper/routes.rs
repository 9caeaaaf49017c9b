//! The per-registry rules file (`registry::rules`), read from disk on
//! first use.

use std::io;
use std::path::{Path, PathBuf};

use crate::helper::fsutil::read_bounded;
use crate::helper::{GetError, RouteTable};
use crate::registry::rules::{Alias, RegistryConfig, RegistryConfigError, parse};
use crate::registry::{CredentialSource, Registry};

/// The largest rules file read: tens of thousands of rules fit.
pub const MAX_RULES_FILE: u64 = 16 << 20;

/// Reads the file; a missing file is no configuration at all, unless it
/// was named (`AWS_ECR_CONFIG_FILE`): then it is a mistake. A FIFO or a
/// device is refused at once, and so is a file over [`MAX_RULES_FILE`].
pub fn load(path: &Path, required: bool) -> Result<Option<RegistryConfig>, RegistryConfigError> {
    let text = read_bounded(path, MAX_RULES_FILE).and_then(|bytes| {
        String::from_utf8(bytes)
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "not UTF-8"))
    });
    match text {
        Ok(text) => parse(path, &text).map(Some),
        Err(e) if e.kind() == io::ErrorKind::NotFound && !required => Ok(None),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Err(RegistryConfigError::Missing {
            path: path.to_owned(),
        }),
        Err(source) => Err(RegistryConfigError::Read {
            path: path.to_owned(),
            source,
        }),
    }
}

/// Whether a profile exists in the shared config files (`Err`: they cannot
/// be read).
pub type ProfileCheck = Box<dyn Fn(&str) -> Result<bool, String>>;

/// The routes of a configuration file, read on a miss only: a hit, `list`
/// and non-ECR hosts never read it (a hit looks at its metadata).
pub struct RulesFile {
    path: Option<PathBuf>,
    /// Named by the user, so it must exist.
    required: bool,
    loaded: std::cell::OnceCell<Result<Option<RegistryConfig>, String>>,
    /// A rule's profile must exist: checked when the rule is used.
    profiles: Option<ProfileCheck>,
}

impl std::fmt::Debug for RulesFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RulesFile")
            .field("path", &self.path)
            .field("required", &self.required)
            .finish_non_exhaustive()
    }
}

impl RulesFile {
    pub fn new(path: Option<PathBuf>, required: bool) -> Self {
        RulesFile {
            path,
            required,
            loaded: std::cell::OnceCell::new(),
            profiles: None,
        }
    }

    /// Checks that the profile a matching rule names exists, so that a
    /// misspelt one fails naming the rule's line, not as a puzzle later.
    pub fn with_profile_check(mut self, check: ProfileCheck) -> Self {
        self.profiles = Some(check);
        self
    }

    /// The file, where there is one.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// The file's rules, read once; `None`: there is no file.
    fn config(&self) -> Result<Option<&RegistryConfig>, GetError> {
        let loaded = self.loaded.get_or_init(|| match &self.path {
            None => Ok(None),
            Some(p) => load(p, self.required).map_err(|e| e.to_string()),
        });
        match loaded {
            Ok(c) => Ok(c.as_ref()),
            Err(e) => Err(GetError::Config(e.clone())),
        }
    }

    /// The profile a rule (at `line`) names, if it is not in the shared
    /// config files.
    fn check_profiles(
        &self,
        path: &Path,
        line: usize,
        credentials: &CredentialSource,
    ) -> Result<(), GetError> {
        let Some(exists) = &self.profiles else {
            return Ok(());
        };
        let (name, key) = match credentials {
            CredentialSource::Profile(name) => (name, "profile"),
            CredentialSource::AssumeRole { base, .. } => match &**base {
                CredentialSource::Profile(name) => (name, "source_profile"),
                _ => return Ok(()),
            },
            _ => return Ok(()),
        };
        match exists(name) {
            Ok(true) => Ok(()),
            Ok(false) => Err(GetError::Config(format!(
                "{}:{}: {key} {name:?} does not exist in the AWS config or credentials file; add it there, or fix the rule",
                path.display(),
                line
            ))),
            Err(why) => Err(GetError::Config(format!(
                "{}:{}: cannot check {key} {name:?}: {why}",
                path.display(),
                line
            ))),
        }
    }
}

impl RouteTable for RulesFile {
    /// The file's identity and last change: a new version whenever it is
    /// created, removed, replaced or written.
    fn version(&self) -> String {
        let Some(path) = &self.path else {
            return "none".into();
        };
        match std::fs::metadata(path) {
            Ok(m) => {
                let modified = m
                    .modified()
                    .ok()
                    .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                    .map_or(0, |d| d.as_nanos());
                #[cfg(unix)]
                let inode = {
                    use std::os::unix::fs::MetadataExt;
                    format!("{}:{}:{}.{}", m.dev(), m.ino(), m.ctime(), m.ctime_nsec())
                };
                #[cfg(not(unix))]
                let inode = String::new();
                format!("{}:{}:{modified}:{inode}", path.display(), m.len())
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => format!("{}:absent", path.display()),
            // Unreadable: the miss's read reports it.
            Err(_) => format!("{}:unreadable", path.display()),
        }
    }

    /// The credentials for a registry. A broken file fails every registry:
    /// serving one it meant to map with other credentials would only turn
    /// into a puzzling 401.
    fn route(&self, registry: &Registry) -> Result<CredentialSource, GetError> {
        match (self.config()?, &self.path) {
            (Some(config), Some(path)) => match config.rule_for(registry) {
                Some(rule) => {
                    self.check_profiles(path, rule.line, &rule.credentials)?;
                    Ok(rule.credentials.clone())
                }
                None => Ok(CredentialSource::Chain),
            },
            _ => Ok(CredentialSource::Chain),
        }
    }

    /// A broken file fails here too: the host may be an alias it names.
    fn alias(&self, host: &str) -> Result<Option<Alias>, GetError> {
        Ok(self.config()?.and_then(|c| c.alias_for(host)).cloned())
    }

    fn alias_route(&self, alias: &Alias) -> Result<CredentialSource, GetError> {
        match (&alias.credentials, &self.path) {
            (Some(own), Some(path)) => {
                self.check_profiles(path, alias.line, own)?;
                Ok(own.clone())
            }
            (Some(own), None) => Ok(own.clone()),
            (None, _) => self.route(&alias.registry),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reg(host: &str) -> Registry {
        crate::registry::parse(host).unwrap()
    }

    #[test]
    fn load_treats_a_missing_file_as_none() {
        let tmp = tempfile::tempdir().unwrap();
        assert_eq!(load(&tmp.path().join("none.toml"), false).unwrap(), None);
        let p = tmp.path().join("c.toml");
        std::fs::write(
            &p,
            "[[registry]]\naccount = \"111111111111\"\nprofile = \"p\"\n",
        )
        .unwrap();
        assert_eq!(load(&p, true).unwrap().unwrap().rules.len(), 1);
        assert!(matches!(
            load(tmp.path(), false),
            Err(RegistryConfigError::Read { .. })
        ));
        // Named by AWS_ECR_CONFIG_FILE, it must exist.
        let named = load(&tmp.path().join("none.toml"), true).unwrap_err();
        assert!(matches!(named, RegistryConfigError::Missing { .. }));
        assert!(named.to_string().contains("AWS_ECR_CONFIG_FILE"), "{named}");
    }

    #[test]
    fn a_rules_profile_must_exist_and_its_line_is_named() {
        let tmp = tempfile::tempdir().unwrap();
        let p = tmp.path().join("c.toml");
        std::fs::write(
            &p,
            "[[registry]]\naccount = \"111111111111\"\nprofile = \"known\"\n\n\
             [[registry]]\naccount = \"222222222222\"\nprofile = \"typo\"\n\n\
             [[registry]]\naccount = \"333333333333\"\nrole_arn = \"arn:aws:iam::333333333333:role/r\"\nsource_profile = \"gone\"\n",
        )
        .unwrap();
        let routes = RulesFile::new(Some(p.clone()), true)
            .with_profile_check(Box::new(|name| Ok(name == "known")));
        let host = |a: &str| reg(&format!("{a}.dkr.ecr.us-east-1.amazonaws.com"));
        assert_eq!(
            routes.route(&host("111111111111")).unwrap(),
            CredentialSource::Profile("known".into())
        );
        for (account, want) in [
            ("222222222222", "c.toml:5: profile \"typo\" does not exist"),
            (
                "333333333333",
                "c.toml:9: source_profile \"gone\" does not exist",
            ),
        ] {
            match routes.route(&host(account)) {
                Err(GetError::Config(m)) => assert!(m.contains(want), "{m}"),
                other => panic!("{account}: {other:?}"),
            }
        }
        // Unmatched registries use the chain; nothing to check.
        assert_eq!(
            routes.route(&host("444444444444")).unwrap(),
            CredentialSource::Chain
        );
        let unreadable = RulesFile::new(Some(p), true).with_profile_check(Box::new(|_| {
            Err("AWS_CONFIG_FILE /x: not a regular file".into())
        }));
        match unreadable.route(&host("111111111111")) {
            Err(GetError::Config(m)) => {
                assert!(
                    m.contains("c.toml:1: cannot check profile \"known\": AWS_CONFIG_FILE /x"),
                    "{m}"
                )
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn aliases_resolve_from_the_file_and_their_profiles_are_checked() {
        let tmp = tempfile::tempdir().unwrap();
        let p = tmp.path().join("c.toml");
        std::fs::write(
            &p,
            "[[registry]]\nhost = \"images.corp.example\"\nregistry = \"111111111111.dkr.ecr.eu-west-1.amazonaws.com\"\n\n\
             [[registry]]\nhost = \"typo.corp.example\"\nregistry = \"111111111111.dkr.ecr.eu-west-1.amazonaws.com\"\nprofile = \"typo\"\n\n\
             [[registry]]\naccount = \"111111111111\"\nprofile = \"known\"\n",
        )
        .unwrap();
        let routes = RulesFile::new(Some(p.clone()), true)
            .with_profile_check(Box::new(|name| Ok(name == "known")));
        let images = routes.alias("images.corp.example").unwrap().unwrap();
        assert_eq!(
            (images.line, images.registry.host()),
            (1, "111111111111.dkr.ecr.eu-west-1.amazonaws.com")
        );
        // No credentials of its own: the registry's rule, checked as such.
        assert_eq!(
            routes.alias_route(&images).unwrap(),
            CredentialSource::Profile("known".into())
        );
        let typo = routes.alias("typo.corp.example").unwrap().unwrap();
        match routes.alias_route(&typo) {
            Err(GetError::Config(m)) => {
                assert!(
                    m.contains("c.toml:5: profile \"typo\" does not exist"),
                    "{m}"
                )
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(routes.alias("other.corp.example").unwrap(), None);
        assert_eq!(
            RulesFile::new(None, false)
                .alias("images.corp.example")
                .unwrap(),
            None
        );
        // A broken file: the host may be an alias it names.
        std::fs::write(&p, "[[registry]]\nhost = 1\n").unwrap();
        match RulesFile::new(Some(p), true).alias("images.corp.example") {
            Err(GetError::Config(m)) => assert!(m.contains("c.toml:2"), "{m}"),
            other => panic!("{other:?}"),
        }
    }

    #[cfg(unix)]
    #[test]
    fn a_fifo_or_a_device_is_refused_without_blocking() {
        let tmp = tempfile::tempdir().unwrap();
        let fifo = tmp.path().join("fifo");
        let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        // SAFETY: a valid C string; mkfifo only creates the node.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        for path in [fifo.as_path(), Path::new("/dev/zero")] {
            let err = load(path, true).unwrap_err().to_string();
            assert!(err.contains("not a regular file"), "{err}");
        }
    }

    #[test]
    fn routes_load_lazily_and_a_broken_file_fails_every_registry() {
        let tmp = tempfile::tempdir().unwrap();
        let p = tmp.path().join("c.toml");
        let routes = RulesFile::new(Some(p.clone()), false);
        std::fs::write(&p, "[[registry]]\naccount = 1\n").unwrap();
        let r = reg("999999999999.dkr.ecr.us-east-1.amazonaws.com");
        match routes.route(&r) {
            Err(GetError::Config(m)) => assert!(m.contains("c.toml:2"), "{m}"),
            other => panic!("{other:?}"),
        }
        assert_eq!(
            RulesFile::new(None, false).route(&r).unwrap(),
            CredentialSource::Chain
        );
        assert_eq!(
            RulesFile::new(Some(tmp.path().join("absent.toml")), false)
                .route(&r)
                .unwrap(),
            CredentialSource::Chain
        );
    }

    #[test]
    fn the_version_changes_with_the_file() {
        let tmp = tempfile::tempdir().unwrap();
        let p = tmp.path().join("c.toml");
        let routes = RulesFile::new(Some(p.clone()), false);
        let absent = routes.version();
        std::fs::write(&p, "# one\n").unwrap();
        let one = routes.version();
        // Same size, written again later: still another version.
        std::thread::sleep(std::time::Duration::from_millis(20));
        std::fs::write(&p, "# two\n").unwrap();
        let two = routes.version();
        std::fs::remove_file(&p).unwrap();
        let versions = [absent.clone(), one, two, routes.version()];
        assert_eq!(versions[3], absent);
        for (i, a) in versions[..3].iter().enumerate() {
            for b in &versions[i + 1..3] {
                assert_ne!(a, b);
            }
        }
        assert_eq!(RulesFile::new(None, false).version(), "none");
    }
}
