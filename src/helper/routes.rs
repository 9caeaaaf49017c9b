//! The per-registry rules file (`registry::rules`), read from disk on
//! first use.

use std::io;
use std::path::{Path, PathBuf};

use crate::helper::GetError;
use crate::registry::rules::{RegistryConfig, RegistryConfigError, parse};
use crate::registry::{CredentialSource, Registry};

/// Reads the file; a missing file is no configuration at all.
pub fn load(path: &Path) -> Result<Option<RegistryConfig>, RegistryConfigError> {
    match std::fs::read_to_string(path) {
        Ok(text) => parse(path, &text).map(Some),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(RegistryConfigError::Read {
            path: path.to_owned(),
            source,
        }),
    }
}

/// The routes of a configuration file, read on first use only: `list`
/// and non-ECR hosts never touch it.
#[derive(Debug)]
pub struct Routes {
    path: Option<PathBuf>,
    loaded: std::cell::OnceCell<Result<Option<RegistryConfig>, String>>,
}

impl Routes {
    pub fn new(path: Option<PathBuf>) -> Self {
        Routes {
            path,
            loaded: std::cell::OnceCell::new(),
        }
    }

    /// The credentials for a registry. A broken file fails every registry:
    /// serving one it meant to map with other credentials would only turn
    /// into a puzzling 401.
    pub fn route(&self, registry: &Registry) -> Result<CredentialSource, GetError> {
        let loaded = self.loaded.get_or_init(|| match &self.path {
            None => Ok(None),
            Some(p) => load(p).map_err(|e| e.to_string()),
        });
        match loaded {
            Ok(Some(config)) => Ok(config.route(registry)),
            Ok(None) => Ok(CredentialSource::Chain),
            Err(e) => Err(GetError::Config(e.clone())),
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
        assert_eq!(load(&tmp.path().join("none.toml")).unwrap(), None);
        let p = tmp.path().join("c.toml");
        std::fs::write(
            &p,
            "[[registry]]\naccount = \"111111111111\"\nprofile = \"p\"\n",
        )
        .unwrap();
        assert_eq!(load(&p).unwrap().unwrap().rules.len(), 1);
        assert!(matches!(
            load(tmp.path()),
            Err(RegistryConfigError::Read { .. })
        ));
    }

    #[test]
    fn routes_load_lazily_and_a_broken_file_fails_every_registry() {
        let tmp = tempfile::tempdir().unwrap();
        let p = tmp.path().join("c.toml");
        let routes = Routes::new(Some(p.clone()));
        std::fs::write(&p, "[[registry]]\naccount = 1\n").unwrap();
        let r = reg("999999999999.dkr.ecr.us-east-1.amazonaws.com");
        match routes.route(&r) {
            Err(GetError::Config(m)) => assert!(m.contains("c.toml:2"), "{m}"),
            other => panic!("{other:?}"),
        }
        assert_eq!(
            Routes::new(None).route(&r).unwrap(),
            CredentialSource::Chain
        );
        assert_eq!(
            Routes::new(Some(tmp.path().join("absent.toml")))
                .route(&r)
                .unwrap(),
            CredentialSource::Chain
        );
    }
}
