//! The shared config files (`~/.aws/config`, `~/.aws/credentials`), read
//! by us with a size bound and handed to the SDK as contents: the SDK's own
//! reader would block on a FIFO and read `/dev/zero` until memory runs out.
//! The SDK still parses them; only the reading is ours.

use std::path::PathBuf;

// The SDK's names for these types are deprecated aliases of aws-runtime's,
// a crate we do not depend on directly; the aliases are its public API.
#[allow(deprecated)]
use aws_config::profile::profile_file::{ProfileFileKind, ProfileFiles};

use crate::config;
use crate::helper::fsutil::read_bounded;
use crate::helper::token::TokenError;

/// The largest config or credentials file read.
pub(super) const MAX_PROFILE_FILE: u64 = config::MAX_AWS_FILE;

/// One of the two files: where it is, and what it holds (empty when it
/// does not exist, as for the SDK).
#[derive(Debug, Clone)]
struct SharedFile {
    var: &'static str,
    path: PathBuf,
    contents: String,
}

/// Both files, read once per process on the first miss.
#[derive(Debug, Clone)]
pub(super) struct SharedConfig {
    config: SharedFile,
    credentials: SharedFile,
}

impl SharedConfig {
    /// Reads both files where the SDK would look: the variable's path, else
    /// the default below the home directory, `~` expanded as the SDK does.
    pub(super) fn load() -> Result<SharedConfig, TokenError> {
        Ok(SharedConfig {
            config: SharedFile::read("AWS_CONFIG_FILE", ".aws/config")?,
            credentials: SharedFile::read("AWS_SHARED_CREDENTIALS_FILE", ".aws/credentials")?,
        })
    }

    /// The files as the SDK takes them: contents, never paths.
    #[allow(deprecated)]
    pub(super) fn profile_files(&self) -> ProfileFiles {
        ProfileFiles::builder()
            .with_contents(ProfileFileKind::Config, self.config.contents.clone())
            .with_contents(
                ProfileFileKind::Credentials,
                self.credentials.contents.clone(),
            )
            .build()
    }

    /// The profiles of both files, as the SDK's parser reads them
    /// (`[profile x]` in config, `[x]` in credentials), `name` selected.
    async fn profiles(&self, name: &str) -> Result<aws_config::profile::ProfileSet, TokenError> {
        // Contents only: the file system shim is never asked for a file,
        // and the environment's AWS_PROFILE is overridden by `name`.
        aws_config::profile::load(
            &Default::default(),
            &Default::default(),
            &self.profile_files(),
            Some(name.to_owned().into()),
        )
        .await
        .map_err(|e| {
            TokenError::Setup(format!(
                "{} or {}: {}",
                self.config.path.display(),
                self.credentials.path.display(),
                crate::error_chain(&e)
            ))
        })
    }

    /// Whether a profile of that name is in either file. The SDK's own
    /// "profile not found" reaches us only as text.
    pub(super) async fn has_profile(&self, name: &str) -> Result<bool, TokenError> {
        Ok(self.profiles(name).await?.get_profile(name).is_some())
    }

    /// The `credential_process` the profile `name` runs, itself or through
    /// the profiles its `source_profile` names; `None` when none does (or
    /// the files do not parse, which the provider has already said).
    pub(super) async fn credential_process_of(&self, name: &str) -> Option<String> {
        let set = self.profiles(name).await.ok()?;
        let mut profile = set.get_profile(name)?;
        // A chain of source profiles is short; a loop is the SDK's to report.
        for _ in 0..16 {
            if let Some(command) = profile.get("credential_process") {
                return Some(command.to_owned());
            }
            let next = profile.get("source_profile")?;
            if next == profile.name() {
                return None;
            }
            profile = set.get_profile(next)?;
        }
        None
    }

    /// Where a missing profile was looked for, for messages.
    pub(super) fn places(&self) -> String {
        format!(
            "{} ({}) or {} ({})",
            self.config.path.display(),
            self.config.var,
            self.credentials.path.display(),
            self.credentials.var
        )
    }
}

impl SharedFile {
    fn read(var: &'static str, default: &str) -> Result<SharedFile, TokenError> {
        // The same path the cache identity stamps.
        let Some(path) = config::aws_file(var, default, &config::var) else {
            // No home: nothing to read, as for the SDK.
            return Ok(SharedFile {
                var,
                path: PathBuf::from("~").join(default),
                contents: String::new(),
            });
        };
        let bytes = match read_bounded(&path, MAX_PROFILE_FILE) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => {
                return Err(TokenError::Setup(format!(
                    "{var} {}: {e}; it must be a regular file of at most {} MiB",
                    path.display(),
                    MAX_PROFILE_FILE >> 20
                )));
            }
        };
        // Not UTF-8: the SDK reads such a file as empty, and says so.
        let contents = String::from_utf8(bytes).unwrap_or_else(|_| {
            tracing::warn!("{var} {}: not UTF-8; read as empty", path.display());
            String::new()
        });
        Ok(SharedFile {
            var,
            path,
            contents,
        })
    }
}
