//! The token cache: one small JSON file per (registry, identity), written
//! atomically under a per-entry lock so that concurrent helpers make one
//! API call between them. Freshness and keys are pure functions.

use std::collections::HashSet;
use std::fs::{self, File};
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

#[cfg(unix)]
use crate::helper::fsutil::check_owner;
use crate::helper::fsutil::{
    DirCheck, Durability, LockError, atomic_write, check_private_dir, create_private_dir,
    link_error, lock_file, open_no_follow, refuse_non_file, remove_stale_temps,
};
use crate::registry::{self, Registry};
use crate::secret::Secret;

pub const FORMAT_VERSION: u32 = 1;
/// ECR tokens last 12 hours; a server that claims longer is not believed.
pub const MAX_LIFETIME_SECS: i64 = 12 * 3600;
/// An entry is a few hundred bytes; anything much larger is not ours.
const MAX_ENTRY_BYTES: u64 = 64 * 1024;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    pub version: u32,
    /// The registry host the token was fetched for.
    pub server: String,
    /// Unix seconds when the token was fetched.
    pub fetched_at: i64,
    /// Unix seconds when ECR says the token expires.
    pub expires_at: i64,
    pub password: Secret<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Freshness {
    /// At least half the lifetime left: serve it.
    Fresh,
    /// Past half-life but still valid: refresh, and serve it if that fails.
    Stale,
    /// Never serve it.
    Expired,
}

/// When a token fetched at `fetched_at` really stops being served.
pub fn effective_expiry(fetched_at: i64, expires_at: i64) -> i64 {
    expires_at.min(fetched_at.saturating_add(MAX_LIFETIME_SECS))
}

pub fn freshness(fetched_at: i64, expires_at: i64, now: i64) -> Freshness {
    let expires = effective_expiry(fetched_at, expires_at);
    if now >= expires {
        return Freshness::Expired;
    }
    let lifetime = expires.saturating_sub(fetched_at);
    let remaining = expires - now;
    if remaining.saturating_mul(2) >= lifetime {
        Freshness::Fresh
    } else {
        Freshness::Stale
    }
}

impl Entry {
    pub fn freshness(&self, now: i64) -> Freshness {
        freshness(self.fetched_at, self.expires_at, now)
    }
}

/// The file name of an entry: a digest of what must separate two tokens,
/// the registry scope and the caller's identity. Nothing secret goes in,
/// and nothing needs resolving credentials first.
pub fn entry_key(scope: &str, identity: &str) -> String {
    let mut h = Sha256::new();
    // Length prefixes: no text moved between the parts forges another key.
    h.update(format!(
        "v{FORMAT_VERSION}:{}:{scope}:{}:{identity}",
        scope.len(),
        identity.len()
    ));
    h.finalize()[..16]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Parses an entry file; anything unexpected is `None`, i.e. a miss.
pub fn parse_entry(bytes: &[u8]) -> Option<Entry> {
    parse_stored(bytes).map(|s| s.entry)
}

/// An entry as written: bound to its file's key (registry scope and
/// identity), so that a copy or link under another key is not served.
#[derive(Serialize)]
struct StoredRef<'a> {
    #[serde(flatten)]
    entry: &'a Entry,
    key: &'a str,
}

#[derive(Deserialize)]
struct Stored {
    #[serde(flatten)]
    entry: Entry,
    /// Absent in entries written before keys were recorded: a miss.
    #[serde(default)]
    key: Option<String>,
}

fn parse_stored(bytes: &[u8]) -> Option<Stored> {
    let stored: Stored = serde_json::from_slice(bytes).ok()?;
    let entry = &stored.entry;
    (entry.version == FORMAT_VERSION && !entry.password.expose().is_empty()).then_some(stored)
}

/// Whether `server` is a registry host as this helper writes it: one that
/// `registry::parse` accepts and gives back unchanged (so no scheme, path,
/// port, upper case or control character).
pub fn is_registry_host(server: &str) -> bool {
    registry::parse(server).is_ok_and(|r| r.host() == server)
}

#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    #[error("cannot create cache directory {path}: {source}")]
    CreateDir { path: PathBuf, source: io::Error },
    #[error("cannot open lock file {path}: {source}")]
    Lock { path: PathBuf, source: io::Error },
    #[error("timed out after {0:?} waiting for the cache lock")]
    LockTimeout(Duration),
    #[error("cannot write cache entry {path}: {source}")]
    Write { path: PathBuf, source: io::Error },
    #[error("a {0}-byte entry is larger than any token; not cached")]
    TooLarge(usize),
    #[error("the cache directory {0} is not used (see the warning before)")]
    Refused(PathBuf),
}

/// A cache directory. Constructing one touches no file; the first use
/// checks the directory and the way to it (`fsutil::check_private_dir`),
/// once: a directory that is not to be trusted is never read or written.
#[derive(Debug, Clone)]
pub struct Cache {
    dir: PathBuf,
    /// What the check found, once it found anything.
    state: Arc<Mutex<DirState>>,
    /// The warnings already logged: each is logged once per process, however
    /// often the entry is read (a miss reads it twice, before and under the
    /// lock).
    warned: Arc<Mutex<HashSet<String>>>,
}

/// The cache directory as this process last found it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
enum DirState {
    #[default]
    Unchecked,
    /// Missing, with nothing on the way to it another user's. Reads find
    /// nothing until it is created: the lock creates it, and the entry is
    /// read again under the lock, so nothing another process writes in
    /// the meantime is missed.
    Missing,
    Trusted,
    Refused,
}

/// Held while one process refreshes an entry; released on drop.
#[derive(Debug)]
pub struct LockGuard {
    _file: File,
}

impl Cache {
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Cache {
            dir: dir.into(),
            state: Arc::default(),
            warned: Arc::default(),
        }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn entry_path(&self, key: &str) -> PathBuf {
        self.dir.join(format!("{key}.json"))
    }

    /// Logs a warning about `path`, unless this one was logged already.
    fn warn(&self, path: &Path, error: &dyn std::fmt::Display, message: &str) {
        let error = error.to_string();
        let seen = format!("{message}\0{}\0{error}", path.display());
        if self.warned.lock().is_ok_and(|mut w| w.insert(seen)) {
            if error.is_empty() {
                tracing::warn!(path = %path.display(), "{message}");
            } else {
                tracing::warn!(path = %path.display(), error = %error, "{message}");
            }
        }
    }

    /// Whether the directory may be used: false once it was refused (and
    /// the reason logged). A missing directory may be: it is created when
    /// something is written.
    pub fn usable(&self) -> bool {
        self.check(false) != Some(false)
    }

    /// Checks the directory once (see [`check_private_dir`]): `Some(true)`
    /// trusted, `Some(false)` refused, `None` missing (created first when
    /// `create`, and then checked again).
    fn check(&self, create: bool) -> Option<bool> {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let mut result = match (*state, create) {
            (DirState::Trusted, _) => return Some(true),
            (DirState::Refused, _) => return Some(false),
            (DirState::Missing, false) => return None,
            // The way to it was checked when it was found missing; what is
            // created is checked again below, the whole way.
            (DirState::Missing, true) => Ok(DirCheck::Missing),
            (DirState::Unchecked, _) => check_private_dir(&self.dir),
        };
        if create && matches!(result, Ok(DirCheck::Missing)) {
            result = create_private_dir(&self.dir).and_then(|()| check_private_dir(&self.dir));
        }
        *state = match result {
            Ok(DirCheck::Missing) => DirState::Missing,
            Ok(DirCheck::Trusted) => DirState::Trusted,
            Ok(DirCheck::Tightened(mode)) => {
                self.warn(
                    &self.dir,
                    &format_args!("mode {mode:o}"),
                    "cache directory was writable by others; tightened it to 0700",
                );
                DirState::Trusted
            }
            Err(e) => {
                self.warn(
                    &self.dir,
                    &e,
                    "cache directory refused; fetching every token, caching none",
                );
                DirState::Refused
            }
        };
        match *state {
            DirState::Trusted => Some(true),
            DirState::Refused => Some(false),
            DirState::Missing | DirState::Unchecked => None,
        }
    }

    /// Reads the entry of `key` for `registry`; a missing, corrupt,
    /// foreign or unsafe file, one written under another key or naming
    /// another registry, is a miss.
    pub fn load(&self, key: &str, registry: &Registry) -> Option<Entry> {
        let entry = self.load_stored(key)?;
        // Another host of the same scope (dual-stack, the other ECR Public
        // name) shares the token; another registry never does.
        let same = registry::parse(&entry.server)
            .is_ok_and(|r| r.host() == entry.server && r.scope() == registry.scope());
        if !same {
            self.warn(
                &self.entry_path(key),
                &"",
                "cache entry names another registry; ignoring it",
            );
            return None;
        }
        Some(entry)
    }

    /// Reads an entry written under `key`.
    fn load_stored(&self, key: &str) -> Option<Entry> {
        if self.check(false) != Some(true) {
            return None;
        }
        let path = self.entry_path(key);
        match self.read_private_file(&path) {
            Ok(bytes) => match parse_stored(&bytes) {
                None => {
                    self.warn(
                        &path,
                        &"",
                        "cache entry is corrupt or of another version; ignoring it",
                    );
                    None
                }
                Some(s) if s.key.as_deref() != Some(key) => {
                    self.warn(
                        &path,
                        &"",
                        "cache entry was written under another name (copied or linked); ignoring it",
                    );
                    None
                }
                Some(s) => Some(s.entry),
            },
            Err(e) if e.kind() == io::ErrorKind::NotFound => None,
            Err(e) => {
                self.warn(&path, &e, "cache entry not read");
                None
            }
        }
    }

    /// Every readable entry of a registry host, for `list`.
    pub fn entries(&self) -> Vec<Entry> {
        if self.check(false) != Some(true) {
            return Vec::new();
        }
        let Ok(dir) = fs::read_dir(&self.dir) else {
            return Vec::new();
        };
        let mut keys: Vec<String> = dir
            .filter_map(Result::ok)
            .filter_map(|d| {
                let name = d.file_name().into_string().ok()?;
                let key = name.strip_suffix(".json")?;
                (key.len() == 32 && key.bytes().all(|b| b.is_ascii_hexdigit()))
                    .then(|| key.to_owned())
            })
            .collect();
        keys.sort();
        keys.iter()
            .filter_map(|k| self.load_stored(k))
            .filter(|e| {
                let ok = is_registry_host(&e.server);
                if !ok {
                    self.warn(
                        &self.dir,
                        &"",
                        "a cache entry names no ECR registry; not listed",
                    );
                }
                ok
            })
            .collect()
    }

    /// Creates the directory if missing, and checks it.
    fn ensure_dir(&self) -> Result<(), CacheError> {
        match self.check(true) {
            Some(true) => Ok(()),
            Some(false) => Err(CacheError::Refused(self.dir.clone())),
            // Still missing after creating it: the check said why.
            None => Err(CacheError::CreateDir {
                path: self.dir.clone(),
                source: io::Error::from(io::ErrorKind::NotFound),
            }),
        }
    }

    /// Takes the entry's exclusive lock, waiting at most `wait`: a stuck
    /// holder must not hang every later `docker pull`.
    pub fn lock(&self, key: &str, wait: Duration) -> Result<LockGuard, CacheError> {
        self.ensure_dir()?;
        let path = self.dir.join(format!("{key}.lock"));
        // Another user's lock is not waited for: its holder may never let go.
        let check = |_meta: &fs::Metadata| {
            #[cfg(unix)]
            check_owner(_meta)?;
            Ok(())
        };
        match lock_file(&path, wait, check) {
            Ok(file) => Ok(LockGuard { _file: file }),
            Err(LockError::Timeout(wait)) => Err(CacheError::LockTimeout(wait)),
            Err(LockError::Open(source)) => Err(CacheError::Lock { path, source }),
        }
    }

    /// Writes an entry atomically (see `fsutil`): a failure leaves the old
    /// entry, or none, and no temporary file.
    pub fn store(&self, key: &str, entry: &Entry) -> Result<(), CacheError> {
        self.ensure_dir()?;
        remove_stale_temps(&self.entry_path(key));
        self.write(key, entry)
    }

    fn write(&self, key: &str, entry: &Entry) -> Result<(), CacheError> {
        let path = self.entry_path(key);
        let bytes = entry_bytes(entry, key)?;
        // A token can always be fetched again: no fsync (see Durability).
        atomic_write(&path, &bytes, 0o600, Durability::Unsynced)
            .map_err(|source| CacheError::Write { path, source })
    }
}

/// The entry as stored; what `load` would refuse to read is not written.
fn entry_bytes(entry: &Entry, key: &str) -> Result<Vec<u8>, CacheError> {
    let bytes = serde_json::to_vec(&StoredRef { entry, key }).expect("entry serializes");
    if bytes.len() as u64 > MAX_ENTRY_BYTES {
        return Err(CacheError::TooLarge(bytes.len()));
    }
    Ok(bytes)
}

impl Cache {
    /// Opens without following a link and without blocking on a FIFO, and
    /// reads only a regular file (see `fsutil::open_no_follow`, on every
    /// OS); on Unix, only one of ours, and a file others can read is
    /// tightened.
    fn read_private_file(&self, path: &Path) -> io::Result<Vec<u8>> {
        let mut file = open_no_follow(0o600)
            .read(true)
            .open(path)
            .map_err(link_error)?;
        let meta = file.metadata()?;
        refuse_non_file(&meta)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::{MetadataExt, PermissionsExt};
            check_owner(&meta)?;
            if meta.mode() & 0o077 != 0 {
                self.warn(
                    path,
                    &format_args!("mode {:o}", meta.mode() & 0o777),
                    "cache entry was readable by others; tightening it to 0600",
                );
                file.set_permissions(fs::Permissions::from_mode(0o600))?;
            }
        }
        if meta.len() > MAX_ENTRY_BYTES {
            return Err(io::Error::other("larger than any cache entry"));
        }
        let mut bytes = Vec::with_capacity(meta.len() as usize);
        Read::take(&mut file, MAX_ENTRY_BYTES).read_to_end(&mut bytes)?;
        Ok(bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const H: i64 = 3600;

    #[test]
    fn freshness_at_the_boundaries() {
        use Freshness::*;
        let t0 = 1_000_000;
        // (fetched_at, expires_at, now, want)
        let table = [
            (t0, t0 + 12 * H, t0, Fresh),
            (t0, t0 + 12 * H, t0 + 6 * H - 1, Fresh),
            (t0, t0 + 12 * H, t0 + 6 * H, Fresh), // exactly half left
            (t0, t0 + 12 * H, t0 + 6 * H + 1, Stale),
            (t0, t0 + 12 * H, t0 + 12 * H - 1, Stale),
            (t0, t0 + 12 * H, t0 + 12 * H, Expired),
            (t0, t0 + 12 * H, t0 + 13 * H, Expired),
            (t0, t0 - 1, t0, Expired),   // arrived expired
            (t0, t0, t0, Expired),       // zero lifetime
            (t0, t0 + 4, t0 + 2, Fresh), // a short-lived token
            (t0, t0 + 4, t0 + 3, Stale),
            // clock stepped back: still within its life
            (t0, t0 + 12 * H, t0 - H, Fresh),
            // absurd expiry is capped at 12 h from fetching
            (t0, i64::MAX, t0 + 6 * H, Fresh),
            (t0, i64::MAX, t0 + 6 * H + 1, Stale),
            (t0, i64::MAX, t0 + 12 * H, Expired),
            (t0, t0 + 100 * H, t0 + 12 * H + 1, Expired),
        ];
        for (fetched, expires, now, want) in table {
            assert_eq!(
                freshness(fetched, expires, now),
                want,
                "{fetched} {expires} {now}"
            );
        }
    }

    #[test]
    fn keys_separate_scopes_and_identities() {
        let a = entry_key("ecr:aws:us-east-1:111111111111:fips=false", "env:AKIA1");
        assert_eq!(a.len(), 32);
        assert!(a.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_eq!(
            a,
            entry_key("ecr:aws:us-east-1:111111111111:fips=false", "env:AKIA1")
        );
        for (scope, id) in [
            ("ecr:aws:us-east-1:111111111111:fips=false", "env:AKIA2"),
            (
                "ecr:aws:us-east-1:111111111111:fips=false",
                "profile:default",
            ),
            ("ecr:aws:us-west-2:111111111111:fips=false", "env:AKIA1"),
            ("ecr:aws:us-east-1:333333333333:fips=false", "env:AKIA1"),
            ("ecr:aws:us-east-1:111111111111:fips=true", "env:AKIA1"),
        ] {
            assert_ne!(a, entry_key(scope, id), "{scope} {id}");
        }
        // The separator cannot be forged by moving text between the parts.
        assert_ne!(entry_key("a", "b\0c"), entry_key("a\0b", "c"));
    }

    const HOST: &str = "111111111111.dkr.ecr.us-east-1.amazonaws.com";

    fn host() -> Registry {
        registry::parse(HOST).unwrap()
    }

    fn entry(expires_at: i64) -> Entry {
        Entry {
            version: FORMAT_VERSION,
            server: HOST.into(),
            fetched_at: 100,
            expires_at,
            password: "pw".into(),
        }
    }

    #[test]
    fn parses_only_good_entries() {
        let good = serde_json::to_vec(&entry(200)).unwrap();
        assert_eq!(parse_entry(&good), Some(entry(200)));
        let mut other_version = entry(200);
        other_version.version = 2;
        let mut empty = entry(200);
        empty.password = Secret::default();
        for bad in [
            b"".to_vec(),
            b"{".to_vec(),
            b"null".to_vec(),
            b"{\"version\":1}".to_vec(),
            good[..good.len() - 1].to_vec(),
            serde_json::to_vec(&other_version).unwrap(),
            serde_json::to_vec(&empty).unwrap(),
        ] {
            assert_eq!(parse_entry(&bad), None, "{}", String::from_utf8_lossy(&bad));
        }
    }

    #[test]
    fn store_then_load_round_trips_with_private_modes() {
        let tmp = tempfile::tempdir().unwrap();
        let cache = Cache::new(tmp.path().join("a/b"));
        assert_eq!(cache.load("00", &host()), None);
        cache.store("k", &entry(300)).unwrap();
        assert_eq!(cache.load("k", &host()), Some(entry(300)));
        // Modes are Unix's (Windows: the profile's access control list).
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode(&tmp.path().join("a/b/k.json")), 0o600);
            assert_eq!(mode(&tmp.path().join("a/b")), 0o700);
        }
        // No temporary file is left behind.
        let names: Vec<_> = fs::read_dir(cache.dir())
            .unwrap()
            .map(|d| d.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("k.json")]);
    }

    #[test]
    fn a_store_clears_dead_writers_leftovers_and_no_live_writers() {
        let tmp = tempfile::tempdir().unwrap();
        let cache = Cache::new(tmp.path().join("c"));
        let _lock = cache.lock("k", Duration::from_secs(1)).unwrap();
        // What a killed writer left: its pid cannot exist (above pid_max).
        let dead = cache.dir().join(format!(".k.json.{}.1.tmp", i32::MAX));
        fs::write(&dead, b"partial").unwrap();
        let ours = cache
            .dir()
            .join(format!(".k.json.{}.1.tmp", std::process::id()));
        fs::write(&ours, b"in flight").unwrap();
        cache.store("k", &entry(300)).unwrap();
        assert!(!dead.exists(), "a dead writer's temporary file stays");
        assert!(ours.exists(), "a live writer's temporary file was removed");
        fs::remove_file(&ours).unwrap();
        assert_eq!(cache.load("k", &host()), Some(entry(300)));
        let names: Vec<_> = fs::read_dir(cache.dir())
            .unwrap()
            .map(|d| d.unwrap().file_name().into_string().unwrap())
            .collect();
        assert!(names.iter().all(|n| !n.ends_with(".tmp")), "{names:?}");
    }

    #[test]
    fn an_oversized_entry_is_not_written() {
        let tmp = tempfile::tempdir().unwrap();
        let cache = Cache::new(tmp.path());
        let mut huge = entry(300);
        huge.password = Secret::new("p".repeat(MAX_ENTRY_BYTES as usize));
        assert!(matches!(
            cache.store("k", &huge),
            Err(CacheError::TooLarge(_))
        ));
        assert_eq!(fs::read_dir(tmp.path()).unwrap().count(), 0);
    }

    #[test]
    #[cfg_attr(
        windows,
        ignore = "needs a symlink: Windows makes one only in Developer Mode or for an administrator, and wine 8 makes none (its CreateSymbolicLinkW is a stub); run with --ignored where links can be made"
    )]
    fn a_symlink_is_not_followed() {
        let tmp = tempfile::tempdir().unwrap();
        let cache = Cache::new(tmp.path());
        let victim = tmp.path().join("victim");
        fs::write(&victim, serde_json::to_vec(&entry(300)).unwrap()).unwrap();
        crate::helper::fsutil::symlink_file(&victim, &tmp.path().join("k.json"));
        assert_eq!(cache.load("k", &host()), None);
        cache.store("k", &entry(400)).unwrap();
        // The link was replaced, its target untouched.
        assert_eq!(parse_entry(&fs::read(&victim).unwrap()), Some(entry(300)));
        assert_eq!(cache.load("k", &host()), Some(entry(400)));
    }

    // Unix modes: Windows files have none (an access control list instead).
    #[cfg(unix)]
    #[test]
    fn a_loose_file_is_tightened() {
        use std::os::unix::fs::PermissionsExt;
        let tmp = tempfile::tempdir().unwrap();
        let cache = Cache::new(tmp.path());
        let path = tmp.path().join("k.json");
        fs::write(&path, entry_bytes(&entry(300), "k").unwrap()).unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
        assert_eq!(cache.load("k", &host()), Some(entry(300)));
        assert_eq!(
            fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }

    // Windows has no FIFOs in the file system (its named pipes live only
    // under \\.\pipe\).
    #[cfg(unix)]
    #[test]
    fn a_fifo_does_not_block() {
        let tmp = tempfile::tempdir().unwrap();
        let cache = Cache::new(tmp.path());
        let path = std::ffi::CString::new(
            tmp.path()
                .join("k.json")
                .into_os_string()
                .into_encoded_bytes(),
        )
        .unwrap();
        // SAFETY: a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(path.as_ptr(), 0o600) }, 0);
        assert_eq!(cache.load("k", &host()), None);
    }

    #[test]
    fn entries_lists_only_entry_files() {
        let tmp = tempfile::tempdir().unwrap();
        let cache = Cache::new(tmp.path());
        let k1 = entry_key("a", "b");
        let k2 = entry_key("c", "d");
        cache.store(&k1, &entry(300)).unwrap();
        cache.store(&k2, &entry(500)).unwrap();
        fs::write(tmp.path().join("notes.json"), b"{}").unwrap();
        fs::write(
            tmp.path().join(format!("{}.json", entry_key("e", "f"))),
            b"garbage",
        )
        .unwrap();
        let mut got: Vec<i64> = cache.entries().iter().map(|e| e.expires_at).collect();
        got.sort();
        assert_eq!(got, vec![300, 500]);
    }

    #[test]
    fn an_entry_serves_only_its_key_and_its_registry() {
        let tmp = tempfile::tempdir().unwrap();
        let cache = Cache::new(tmp.path());
        cache.store("k1", &entry(300)).unwrap();
        // A copy under another key (another identity or registry).
        fs::copy(tmp.path().join("k1.json"), tmp.path().join("k2.json")).unwrap();
        assert_eq!(cache.load("k2", &host()), None);
        assert_eq!(cache.load("k1", &host()), Some(entry(300)));
        // Asked for another registry, the entry is not served.
        let other = registry::parse("222222222222.dkr.ecr.us-east-1.amazonaws.com").unwrap();
        assert_eq!(cache.load("k1", &other), None);
        // Another host of the same scope (dual-stack) shares it.
        let dual = registry::parse("111111111111.dkr-ecr.us-east-1.on.aws").unwrap();
        assert_eq!(dual.scope(), host().scope());
        assert_eq!(cache.load("k1", &dual), Some(entry(300)));
        // Content naming another registry under the right key: a miss.
        let mut named = entry(300);
        named.server = "222222222222.dkr.ecr.us-east-1.amazonaws.com".into();
        cache.store("k3", &named).unwrap();
        assert_eq!(cache.load("k3", &host()), None);
        // Each distinct warning once, however often the entry is read.
        assert_eq!(cache.warned.lock().unwrap().len(), 3);
        assert_eq!(cache.load("k3", &host()), None);
        assert_eq!(cache.load("k2", &host()), None);
        assert_eq!(cache.warned.lock().unwrap().len(), 3);
    }

    #[test]
    fn entries_lists_only_registry_hosts() {
        let tmp = tempfile::tempdir().unwrap();
        let cache = Cache::new(tmp.path());
        let bad_hosts = [
            "registry.example.com",
            "111111111111.dkr.ecr.us-east-1.amazonaws.com\u{1b}[2J",
            "111111111111.dkr.ecr.us-east-1.amazonaws.com\nhttps://evil.example",
            "https://111111111111.dkr.ecr.us-east-1.amazonaws.com",
            "111111111111.DKR.ecr.us-east-1.amazonaws.com",
            "111111111111.dkr.ecr.us-east-1.amazonaws.com:443",
        ];
        for (i, server) in bad_hosts.iter().enumerate() {
            let mut e = entry(300);
            e.server = (*server).into();
            cache.store(&entry_key("bad", &i.to_string()), &e).unwrap();
        }
        cache.store(&entry_key("good", ""), &entry(300)).unwrap();
        let listed: Vec<String> = cache.entries().into_iter().map(|e| e.server).collect();
        assert_eq!(listed, [HOST]);
    }

    #[test]
    fn a_relative_directory_is_refused_and_nothing_written() {
        let tmp = tempfile::tempdir().unwrap();
        let cache = Cache::new("relative-cache");
        assert!(!cache.usable());
        assert!(matches!(
            cache.store("k", &entry(300)),
            Err(CacheError::Refused(_))
        ));
        assert!(cache.lock("k", Duration::ZERO).is_err());
        assert!(!Path::new("relative-cache").exists());
        drop(tmp);
    }

    // Unix modes: Windows directories have an access control list.
    #[cfg(unix)]
    #[test]
    fn a_directory_others_can_write_is_tightened_and_a_shared_one_refused() {
        use std::os::unix::fs::PermissionsExt;
        let tmp = tempfile::tempdir().unwrap();
        let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o7777;
        for loose in [0o777, 0o770, 0o720, 0o702] {
            let dir = tmp.path().join(format!("c{loose:o}"));
            fs::create_dir(&dir).unwrap();
            fs::set_permissions(&dir, fs::Permissions::from_mode(loose)).unwrap();
            let cache = Cache::new(&dir);
            cache.store("k", &entry(300)).unwrap();
            assert_eq!(mode(&dir), 0o700, "{loose:o}");
            assert_eq!(cache.load("k", &host()), Some(entry(300)));
        }
        // Sticky and writable by all: shared by design, never chmod-ed.
        let shared = tmp.path().join("shared");
        fs::create_dir(&shared).unwrap();
        fs::set_permissions(&shared, fs::Permissions::from_mode(0o1777)).unwrap();
        let cache = Cache::new(&shared);
        assert!(!cache.usable());
        assert!(cache.store("k", &entry(300)).is_err());
        assert_eq!(mode(&shared), 0o1777);
        assert_eq!(fs::read_dir(&shared).unwrap().count(), 0);
        // Below a directory every user can write (not sticky): refused.
        let open = tmp.path().join("open");
        fs::create_dir(&open).unwrap();
        fs::set_permissions(&open, fs::Permissions::from_mode(0o777)).unwrap();
        let cache = Cache::new(open.join("cache"));
        assert!(!cache.usable());
        assert!(cache.store("k", &entry(300)).is_err());
        assert_eq!(fs::read_dir(&open).unwrap().count(), 0);
    }

    /// A directory found missing is not looked for again by every read;
    /// the lock creates it, and the read under the lock finds what another
    /// process wrote after the first look.
    #[test]
    fn an_entry_written_after_the_directory_was_found_missing_is_read_under_the_lock() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("cache");
        let ours = Cache::new(&dir);
        assert!(ours.usable());
        assert_eq!(ours.load("k", &host()), None);
        Cache::new(&dir).store("k", &entry(300)).unwrap();
        let _lock = ours.lock("k", Duration::ZERO).unwrap();
        assert_eq!(ours.load("k", &host()), Some(entry(300)));
    }

    /// What is created is checked the whole way, even when the way was
    /// checked when the directory was found missing.
    #[cfg(unix)]
    #[test]
    fn a_directory_made_shared_after_it_was_found_missing_is_refused() {
        use std::os::unix::fs::PermissionsExt;
        let tmp = tempfile::tempdir().unwrap();
        let parent = tmp.path().join("p");
        fs::create_dir(&parent).unwrap();
        let cache = Cache::new(parent.join("cache"));
        assert_eq!(cache.load("k", &host()), None);
        fs::set_permissions(&parent, fs::Permissions::from_mode(0o777)).unwrap();
        assert!(matches!(
            cache.lock("k", Duration::ZERO),
            Err(CacheError::Refused(_))
        ));
        assert!(!cache.usable());
    }

    #[test]
    fn the_lock_is_exclusive_and_bounded() {
        let tmp = tempfile::tempdir().unwrap();
        let cache = Cache::new(tmp.path());
        let held = cache.lock("k", Duration::ZERO).unwrap();
        assert!(matches!(
            cache.lock("k", Duration::from_millis(20)),
            Err(CacheError::LockTimeout(_))
        ));
        // Another entry is not blocked.
        cache.lock("other", Duration::ZERO).unwrap();
        drop(held);
        cache.lock("k", Duration::ZERO).unwrap();
    }
}
