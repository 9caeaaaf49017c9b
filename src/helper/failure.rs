//! The failure record: a fetch that fails leaves, under the entry's lock,
//! a small file beside the entry saying when and why (`<key>.failed`). The
//! processes that waited for that lock answer with it instead of calling
//! the API again, so that a burst of gets makes one fetch whether it
//! succeeds or fails; against a throttling API, calls multiplied by the
//! number of waiting processes would only make the throttling worse.
//!
//! What counts as "waited for it": the record found under the lock is not
//! the one found before waiting (the writer stamp differs). A get that
//! starts after a failure calls again, so that a transient failure never
//! holds the next `docker pull`, with one exception: a throttling answer,
//! with no cached token to serve, is also taken by gets that start within
//! [`THROTTLED_HOLD_SECS`] of it. The API asked for fewer calls, and the
//! SDK's own backoff before a further attempt would be up to four seconds
//! (see `src/aws/mod.rs`); a burst of processes started a little after
//! the first one failed is held back for no longer than that.
//!
//! The record holds no secret: the kind, and the failure's message as
//! logged (error messages carry causes, never secrets). A success removes
//! it.

use std::fs;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::helper::cache::Cache;
use crate::helper::fsutil::{
    Durability, atomic_write, link_error, open_no_follow, refuse_non_file, remove_stale_temps,
};
use crate::helper::token::TokenError;

const RECORD_VERSION: u32 = 1;
/// A record is a few hundred bytes; the reason is cut to fit.
const MAX_RECORD_BYTES: u64 = 4096;
const MAX_REASON_CHARS: usize = 1024;
/// How long a throttling failure also answers gets that did not wait for
/// it, in whole seconds of the helper's clock: held while `now -
/// written_at` is below this, so for between two and three seconds.
pub const THROTTLED_HOLD_SECS: i64 = 3;

/// What kind of failure was recorded, for callers that branch on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureKind {
    /// The API throttled the calls (the SDK had retried with backoff).
    Throttled,
    /// The API refused the caller's permissions.
    Denied,
    /// No credentials could be had.
    Credentials,
    /// Anything else: a server error, a timeout, an unreadable answer.
    Other,
}

impl FailureKind {
    pub fn of(err: &TokenError) -> FailureKind {
        match err {
            TokenError::Api {
                status, failure, ..
            } if failure.is_throttling(*status) => FailureKind::Throttled,
            TokenError::Api { failure, .. } if failure.is_denied() => FailureKind::Denied,
            TokenError::Credentials(_) => FailureKind::Credentials,
            TokenError::Shared { kind, .. } => *kind,
            _ => FailureKind::Other,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FailureRecord {
    version: u32,
    /// Unix seconds (the helper's clock) when the fetch failed.
    pub written_at: i64,
    /// Which write this is (process id and wall-clock nanoseconds): tells a
    /// record written while a process waited from one it saw before.
    writer: String,
    pub kind: FailureKind,
    /// The failure as logged; never a secret.
    pub reason: String,
}

impl FailureRecord {
    pub fn new(err: &TokenError, now: i64) -> FailureRecord {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        let reason: String = crate::error_chain(err)
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .take(MAX_REASON_CHARS)
            .collect();
        FailureRecord {
            version: RECORD_VERSION,
            written_at: now,
            writer: format!("{}.{nanos}", std::process::id()),
            kind: FailureKind::of(err),
            reason,
        }
    }

    /// Whether a get that did not wait for this failure takes it anyway
    /// (see the module's comment); `cold`: there is no cached token to
    /// serve instead.
    pub fn holds(&self, now: i64, cold: bool) -> bool {
        let age = now.saturating_sub(self.written_at);
        cold && self.kind == FailureKind::Throttled && (0..THROTTLED_HOLD_SECS).contains(&age)
    }

    /// The failure as this process's own answer.
    pub fn into_error(self, now: i64) -> TokenError {
        TokenError::Shared {
            kind: self.kind,
            reason: self.reason,
            age_secs: now.saturating_sub(self.written_at).max(0),
        }
    }
}

/// Parses a record; anything unexpected is `None` (no record).
pub fn parse_record(bytes: &[u8]) -> Option<FailureRecord> {
    let record: FailureRecord = serde_json::from_slice(bytes).ok()?;
    (record.version == RECORD_VERSION).then_some(record)
}

fn record_path(cache: &Cache, key: &str) -> PathBuf {
    cache.dir().join(format!("{key}.failed"))
}

/// The entry's failure record, if there is a readable one of this user's.
pub fn load(cache: &Cache, key: &str) -> Option<FailureRecord> {
    let path = record_path(cache, key);
    match read_own_file(&path) {
        Ok(bytes) => parse_record(&bytes),
        Err(e) if e.kind() == io::ErrorKind::NotFound => None,
        Err(e) => {
            tracing::debug!(path = %path.display(), error = %e, "failure record not read");
            None
        }
    }
}

/// Records a failed fetch; call it holding the entry's lock. Atomic and
/// unsynced: losing it to a crash costs one more call.
pub fn store(cache: &Cache, key: &str, record: &FailureRecord) {
    let path = record_path(cache, key);
    remove_stale_temps(&path);
    let bytes = serde_json::to_vec(record).expect("a record serializes");
    if let Err(e) = atomic_write(&path, &bytes, 0o600, Durability::Unsynced) {
        tracing::debug!(path = %path.display(), error = %e, "failure record not written");
    }
}

/// Removes the record after a success; call it holding the entry's lock.
pub fn clear(cache: &Cache, key: &str) {
    let path = record_path(cache, key);
    match fs::remove_file(&path) {
        Ok(()) => tracing::debug!(path = %path.display(), "failure record cleared"),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => tracing::warn!(path = %path.display(), error = %e, "failure record not removed"),
    }
}

/// Reads a small regular file of this user's: no link followed, no FIFO
/// waited on, nothing over the bound read. Another user's record is not
/// believed: it could only make this process answer not found.
fn read_own_file(path: &Path) -> io::Result<Vec<u8>> {
    let file = open_no_follow(0o600)
        .read(true)
        .open(path)
        .map_err(link_error)?;
    let meta = file.metadata()?;
    refuse_non_file(&meta)?;
    #[cfg(unix)]
    crate::helper::fsutil::check_owner(&meta)?;
    let mut bytes = Vec::new();
    file.take(MAX_RECORD_BYTES + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > MAX_RECORD_BYTES {
        return Err(io::Error::other("larger than any failure record"));
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::helper::token::ApiFailure;

    fn api(status: u16, code: &str) -> TokenError {
        TokenError::Api {
            operation: "GetAuthorizationToken",
            status: Some(status),
            failure: ApiFailure {
                code: Some(code.into()),
                message: "Rate exceeded".into(),
            },
        }
    }

    #[test]
    fn kinds() {
        assert_eq!(
            FailureKind::of(&api(400, "ThrottlingException")),
            FailureKind::Throttled
        );
        assert_eq!(
            FailureKind::of(&api(429, "TooManyRequestsException")),
            FailureKind::Throttled
        );
        assert_eq!(
            FailureKind::of(&api(400, "AccessDeniedException")),
            FailureKind::Denied
        );
        assert_eq!(
            FailureKind::of(&api(500, "ServerException")),
            FailureKind::Other
        );
        assert_eq!(
            FailureKind::of(&TokenError::Credentials("none".into())),
            FailureKind::Credentials
        );
    }

    #[test]
    fn a_throttling_failure_holds_cold_gets_briefly_and_others_never() {
        let throttled = FailureRecord::new(&api(400, "ThrottlingException"), 1000);
        let other = FailureRecord::new(&api(500, "ServerException"), 1000);
        for (age, want) in [(-1, false), (0, true), (2, true), (3, false), (60, false)] {
            assert_eq!(throttled.holds(1000 + age, true), want, "{age}");
            assert!(!throttled.holds(1000 + age, false), "{age}: not cold");
            assert!(!other.holds(1000 + age, true), "{age}: not throttled");
        }
    }

    #[test]
    fn store_load_clear_round_trip_privately() {
        let tmp = tempfile::tempdir().unwrap();
        let cache = Cache::new(tmp.path());
        assert_eq!(load(&cache, "k"), None);
        let record = FailureRecord::new(&api(400, "ThrottlingException"), 1000);
        store(&cache, "k", &record);
        assert_eq!(load(&cache, "k"), Some(record.clone()));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(tmp.path().join("k.failed"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        // Two writes are told apart even within one second.
        let again = FailureRecord::new(&api(400, "ThrottlingException"), 1000);
        assert_ne!(record, again);
        clear(&cache, "k");
        assert_eq!(load(&cache, "k"), None);
        clear(&cache, "k");
        assert_eq!(fs::read_dir(tmp.path()).unwrap().count(), 0);
    }

    #[test]
    fn the_reason_is_bounded_and_on_one_line() {
        let long = TokenError::Credentials(format!("a\nb\x1b[31m{}", "x".repeat(5000)));
        let record = FailureRecord::new(&long, 1);
        assert!(record.reason.chars().count() <= MAX_REASON_CHARS);
        assert!(!record.reason.chars().any(char::is_control));
        let bytes = serde_json::to_vec(&record).unwrap();
        assert!((bytes.len() as u64) < MAX_RECORD_BYTES);
    }

    #[test]
    fn anything_else_is_no_record() {
        let tmp = tempfile::tempdir().unwrap();
        let cache = Cache::new(tmp.path());
        for bad in [
            &b""[..],
            b"{",
            b"null",
            b"{\"version\":2,\"written_at\":1,\"writer\":\"1\",\"kind\":\"other\",\"reason\":\"\"}",
        ] {
            fs::write(tmp.path().join("k.failed"), bad).unwrap();
            assert_eq!(load(&cache, "k"), None);
        }
        fs::write(tmp.path().join("k.failed"), vec![b' '; 10_000]).unwrap();
        assert_eq!(load(&cache, "k"), None);
    }
}
