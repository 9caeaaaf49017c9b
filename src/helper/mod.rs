//! What `get` and `list` do, over a `TokenSource` and an optional cache.
//! The cache-hit path touches one file and nothing else.

pub mod cache;
pub mod failure;
pub mod fsutil;
pub mod routes;
pub mod token;

use std::collections::BTreeMap;
use std::time::Duration;

use crate::error_chain;
use crate::helper::cache::{Cache, Entry, FORMAT_VERSION, Freshness, effective_expiry, entry_key};
use crate::helper::failure::FailureRecord;
use crate::helper::token::{AuthToken, TokenError, TokenSource, USERNAME};
use crate::registry::rules::Alias;
use crate::registry::{self, CredentialSource, ParseError, Registry};
use crate::secret::Secret;

/// What `get` hands back to the protocol.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    pub server_url: String,
    pub username: String,
    pub secret: Secret<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum GetError {
    #[error(transparent)]
    NotEcr(#[from] ParseError),
    /// The per-registry credentials configuration is unusable.
    #[error("{0}")]
    Config(String),
    #[error("no token for {registry}")]
    Token {
        registry: String,
        #[source]
        source: TokenError,
    },
}

/// Picks the credentials for a registry, from configuration alone.
pub trait RouteTable {
    /// What `route` answers from, as a version: it is part of the cache
    /// key, so that a hit routes nothing (the rules file is not read) and
    /// an entry routed by an older file is never served.
    fn version(&self) -> String {
        String::new()
    }

    fn route(&self, registry: &Registry) -> Result<CredentialSource, GetError>;

    /// The alias a host that is no ECR host stands for, if the rules name
    /// one. Asked only for such hosts: an ECR host's hit reads no rules.
    fn alias(&self, _host: &str) -> Result<Option<Alias>, GetError> {
        Ok(None)
    }

    /// The credentials for an alias: its rule's own, else its registry's
    /// route, as if the registry's host had been asked for.
    fn alias_route(&self, alias: &Alias) -> Result<CredentialSource, GetError> {
        match &alias.credentials {
            Some(c) => Ok(c.clone()),
            None => self.route(&alias.registry),
        }
    }
}

/// A function is a table that never changes.
impl<F: Fn(&Registry) -> Result<CredentialSource, GetError>> RouteTable for F {
    fn route(&self, registry: &Registry) -> Result<CredentialSource, GetError> {
        self(registry)
    }
}

pub type Routes<'a> = &'a dyn RouteTable;

/// The standard chain for every registry.
pub fn default_routes(_: &Registry) -> Result<CredentialSource, GetError> {
    Ok(CredentialSource::Chain)
}

/// A token as served, with what `get` leaves out: the kubelet wants to
/// know how long it may keep it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Served {
    pub registry: Registry,
    pub password: Secret<String>,
    /// Unix seconds after which it must not be used (0 if unknown).
    pub expires_at: i64,
}

pub struct Helper<'a> {
    pub cache: Option<Cache>,
    /// The standard chain's identity, derived from the environment.
    pub identity: String,
    pub source: &'a dyn TokenSource,
    pub routes: Routes<'a>,
    /// Unix seconds now; a parameter so tests can move time.
    pub now: fn() -> i64,
    /// How long to wait for another process refreshing the same entry.
    pub lock_wait: Duration,
}

pub fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

impl Helper<'_> {
    pub fn get(&self, server_url: &str) -> Result<Credentials, GetError> {
        let served = self.token(server_url, None)?;
        Ok(Credentials {
            server_url: server_url.trim().to_owned(),
            username: USERNAME.to_owned(),
            secret: served.password,
        })
    }

    /// The token for a registry: from the cache while fresh, else fetched
    /// under the entry's lock. `credentials` overrides the configured route.
    pub fn token(
        &self,
        server_url: &str,
        credentials: Option<CredentialSource>,
    ) -> Result<Served, GetError> {
        let (registry, alias) = self.resolve(server_url)?;
        let served = |password: Secret<String>, fetched_at: i64, expires_at: i64| Served {
            registry: registry.clone(),
            password,
            expires_at: effective_expiry(fetched_at, expires_at),
        };
        // Routed only when a fetch is due: a hit reads no rules.
        let fetch_with = |given: Option<CredentialSource>| match (given, &alias) {
            (Some(c), _) => Ok(c),
            (None, Some(a)) => self.routes.alias_route(a),
            (None, None) => self.routes.route(&registry),
        };
        // A refused directory (another user's, say) is not used at all.
        let Some(cache) = self.cache.as_ref().filter(|c| c.usable()) else {
            let credentials = fetch_with(credentials)?;
            let now = (self.now)();
            return self
                .fetch(&registry, &credentials)
                .map(|t| served(t.password, now, t.expires_at));
        };
        // An alias's own credentials are another principal: keyed by their
        // identity, as given ones are. Without them it is the registry's
        // entry, one token for both names.
        let own = alias.as_ref().and_then(|a| a.credentials.as_ref());
        let key = self.entry_key(&registry, credentials.as_ref().or(own));
        let cached = cache.load(&key, &registry);
        if let Some(e) = cached
            .as_ref()
            .filter(|e| e.freshness((self.now)()) == Freshness::Fresh)
        {
            tracing::debug!(registry = %registry, "cache hit");
            return Ok(served(e.password.clone(), e.fetched_at, e.expires_at));
        }

        // The failure record before waiting: one found after the wait that
        // is not this one was left by the fetch waited for.
        let seen = failure::load(cache, &key);
        // Refresh under the entry's lock; whoever waited reads the result.
        let _lock = match cache.lock(&key, self.lock_wait) {
            Ok(lock) => Some(lock),
            Err(e) => {
                tracing::warn!(error = %e, "refreshing without the cache lock");
                None
            }
        };
        let cached = cache.load(&key, &registry).or(cached);
        let now = (self.now)();
        if let Some(e) = cached
            .as_ref()
            .filter(|e| e.freshness(now) == Freshness::Fresh)
        {
            tracing::debug!(registry = %registry, "refreshed by another process");
            return Ok(served(e.password.clone(), e.fetched_at, e.expires_at));
        }
        let stale = cached.filter(|e| e.freshness(now) == Freshness::Stale);
        // Failures are single-flighted too: the fetch waited for failed,
        // and its failure is the answer (see `failure`).
        let record = failure::load(cache, &key);
        if let Some(r) = record
            .clone()
            .filter(|r| seen.as_ref() != Some(r) || r.holds(now, stale.is_none()))
        {
            let err = GetError::Token {
                registry: registry.host().to_owned(),
                source: r.into_error(now),
            };
            return match stale {
                Some(e) => {
                    tracing::warn!(registry = %registry, error = %error_chain(&err), expires_at = e.expires_at, "another process's refresh failed; serving the cached token, still valid");
                    Ok(served(e.password, e.fetched_at, e.expires_at))
                }
                None => Err(err),
            };
        }
        let credentials = fetch_with(credentials)?;
        match self.fetch(&registry, &credentials) {
            Ok(token) => {
                if record.is_some() && _lock.is_some() {
                    failure::clear(cache, &key);
                }
                if token.expires_at > now {
                    let entry = Entry {
                        version: FORMAT_VERSION,
                        server: registry.host().to_owned(),
                        fetched_at: now,
                        expires_at: token.expires_at,
                        password: token.password.clone(),
                    };
                    if let Err(e) = cache.store(&key, &entry) {
                        tracing::warn!(error = %e, "token not cached");
                    }
                } else {
                    tracing::warn!(registry = %registry, expires_at = token.expires_at, "token arrived already expired; returning it uncached");
                }
                Ok(served(token.password, now, token.expires_at))
            }
            Err(err) => {
                // Left under the lock for those waiting for it.
                if let (Some(_), GetError::Token { source, .. }) = (&_lock, &err) {
                    failure::store(cache, &key, &FailureRecord::new(source, now));
                }
                match stale {
                    Some(e) => {
                        tracing::warn!(registry = %registry, error = %error_chain(&err), expires_at = e.expires_at, "refresh failed; serving the cached token, still valid");
                        Ok(served(e.password, e.fetched_at, e.expires_at))
                    }
                    None => Err(err),
                }
            }
        }
    }

    /// The registry a server URL names: an ECR host, or an alias the rules
    /// name for one (a non-ECR host that is none stays `NotEcr`).
    fn resolve(&self, server_url: &str) -> Result<(Registry, Option<Alias>), GetError> {
        match registry::parse(server_url) {
            Ok(r) => Ok((r, None)),
            Err(ParseError::NotEcr(host)) => match self.routes.alias(&host)? {
                Some(a) => {
                    tracing::debug!(alias = %host, registry = %a.registry, line = a.line, "an alias");
                    Ok((a.registry.clone(), Some(a)))
                }
                None => Err(ParseError::NotEcr(host).into()),
            },
            Err(e) => Err(e.into()),
        }
    }

    /// The registry's cache entry: a given source keys by its own identity;
    /// a configured route by the rules' version, so that a hit routes
    /// nothing.
    fn entry_key(&self, registry: &Registry, credentials: Option<&CredentialSource>) -> String {
        let identity = match credentials {
            Some(c) => c.identity(&self.identity),
            None => format!("rules={}\0{}", self.routes.version(), self.identity),
        };
        entry_key(&registry.scope(), &identity)
    }

    fn fetch(
        &self,
        registry: &Registry,
        credentials: &CredentialSource,
    ) -> Result<AuthToken, GetError> {
        tracing::info!(registry = %registry, region = registry.api_region(), credentials = ?credentials, "calling GetAuthorizationToken");
        self.source
            .fetch(registry, credentials)
            .map_err(|source| GetError::Token {
                registry: registry.host().to_owned(),
                source,
            })
    }

    /// `list`: the registries with a valid cached token, from the cache
    /// alone: no credentials, no network.
    pub fn list(&self) -> BTreeMap<String, String> {
        let now = (self.now)();
        self.cache
            .as_ref()
            .map(|c| c.entries())
            .unwrap_or_default()
            .into_iter()
            .filter(|e| e.freshness(now) != Freshness::Expired)
            .map(|e| (format!("https://{}", e.server), USERNAME.to_owned()))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::{Cell, RefCell};
    use std::sync::atomic::{AtomicI64, Ordering};

    const HOST: &str = "111111111111.dkr.ecr.us-east-1.amazonaws.com";
    const H: i64 = 3600;

    /// A scripted token source that counts its calls.
    struct Fake {
        answers: RefCell<Vec<Result<AuthToken, TokenError>>>,
        calls: Cell<usize>,
        seen: RefCell<Vec<Registry>>,
        credentials: RefCell<Vec<CredentialSource>>,
    }

    impl Fake {
        fn new(answers: Vec<Result<AuthToken, TokenError>>) -> Self {
            Fake {
                answers: RefCell::new(answers),
                calls: Cell::new(0),
                seen: RefCell::new(Vec::new()),
                credentials: RefCell::new(Vec::new()),
            }
        }
    }

    impl TokenSource for Fake {
        fn fetch(
            &self,
            registry: &Registry,
            credentials: &CredentialSource,
        ) -> Result<AuthToken, TokenError> {
            self.calls.set(self.calls.get() + 1);
            self.seen.borrow_mut().push(registry.clone());
            self.credentials.borrow_mut().push(credentials.clone());
            self.answers.borrow_mut().remove(0)
        }
    }

    fn token(pw: &str, expires_at: i64) -> Result<AuthToken, TokenError> {
        Ok(AuthToken {
            password: pw.into(),
            expires_at,
        })
    }

    fn down() -> Result<AuthToken, TokenError> {
        Err(TokenError::Api {
            operation: "GetAuthorizationToken",
            status: Some(500),
            failure: crate::helper::token::ApiFailure {
                code: Some("ServerException".into()),
                message: "boom".into(),
            },
        })
    }

    // Tests in one binary run in parallel threads; each owns a clock slot.
    static CLOCKS: [AtomicI64; 17] = [const { AtomicI64::new(0) }; 17];
    macro_rules! clock {
        ($i:expr) => {{
            fn now() -> i64 {
                CLOCKS[$i].load(Ordering::SeqCst)
            }
            (now as fn() -> i64, |t: i64| {
                CLOCKS[$i].store(t, Ordering::SeqCst)
            })
        }};
    }

    fn helper<'a>(dir: Option<&std::path::Path>, source: &'a Fake, now: fn() -> i64) -> Helper<'a> {
        Helper {
            cache: dir.map(Cache::new),
            identity: "env:AKIA1".into(),
            source,
            routes: &default_routes,
            now,
            lock_wait: Duration::from_secs(1),
        }
    }

    #[test]
    fn answers_with_the_url_as_given_and_the_account_of_the_host() {
        let fake = Fake::new(vec![token("pw", 12 * H)]);
        let (now, _) = clock!(0);
        let h = helper(None, &fake, now);
        let c = h
            .get("  https://111111111111.dkr.ecr.us-east-1.amazonaws.com/v2/\n")
            .unwrap();
        assert_eq!(
            c.server_url,
            "https://111111111111.dkr.ecr.us-east-1.amazonaws.com/v2/"
        );
        assert_eq!(
            (c.username.as_str(), c.secret.expose().as_str()),
            ("AWS", "pw")
        );
        match &fake.seen.borrow()[0] {
            Registry::Private(p) => assert_eq!(
                (p.account.as_str(), p.region.as_str()),
                ("111111111111", "us-east-1")
            ),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_non_ecr_host_never_reaches_the_source_or_the_cache() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("cache");
        let fake = Fake::new(vec![]);
        let (now, _) = clock!(1);
        let h = helper(Some(&dir), &fake, now);
        for host in [
            "registry.example.com",
            "111111111111.dkr.ecr.us-east-1.amazonaws.com.evil.example",
            "",
        ] {
            assert!(matches!(h.get(host), Err(GetError::NotEcr(_))), "{host}");
        }
        assert_eq!(fake.calls.get(), 0);
        assert!(!dir.exists());
    }

    #[test]
    fn cache_hit_stale_refresh_and_fallback() {
        let tmp = tempfile::tempdir().unwrap();
        let (now, set) = clock!(2);
        set(1000);
        let fake = Fake::new(vec![
            token("one", 1000 + 12 * H),
            down(),
            token("two", 1000 + 20 * H),
        ]);
        let h = helper(Some(tmp.path()), &fake, now);
        assert_eq!(h.get(HOST).unwrap().secret.expose(), "one");
        // A hit makes no call, up to exactly half the lifetime.
        set(1000 + 6 * H);
        assert_eq!(h.get(HOST).unwrap().secret.expose(), "one");
        assert_eq!(fake.calls.get(), 1);
        // Past half-life with the API down: the still-valid token is served.
        set(1000 + 6 * H + 1);
        assert_eq!(h.get(HOST).unwrap().secret.expose(), "one");
        assert_eq!(fake.calls.get(), 2);
        // Then the refresh succeeds and replaces it.
        assert_eq!(h.get(HOST).unwrap().secret.expose(), "two");
        assert_eq!(fake.calls.get(), 3);
    }

    use crate::helper::fsutil::temporary_files as temporaries;

    /// Whatever the fetch comes to, no temporary file stays, and a failed
    /// refresh keeps the old entry.
    #[test]
    fn fetches_leave_no_temporary_file() {
        let tmp = tempfile::tempdir().unwrap();
        let (now, set) = clock!(10);
        set(1000);
        let fake = Fake::new(vec![token("one", 1000 + 12 * H), down()]);
        let h = helper(Some(tmp.path()), &fake, now);
        assert_eq!(h.get(HOST).unwrap().secret.expose(), "one");
        assert_eq!(temporaries(tmp.path()), Vec::<String>::new());
        // Stale, and the refresh fails: the old entry is served and kept.
        set(1000 + 6 * H + 1);
        assert_eq!(h.get(HOST).unwrap().secret.expose(), "one");
        assert_eq!(fake.calls.get(), 2);
        assert_eq!(temporaries(tmp.path()), Vec::<String>::new());
        assert_eq!(h.list().len(), 1, "the old entry is kept");
    }

    /// Another process holds the entry's lock and refreshes it meanwhile:
    /// the waiter serves what it wrote, with no fetch of its own.
    #[test]
    fn an_entry_refreshed_while_waiting_for_the_lock_is_served_without_a_fetch() {
        let tmp = tempfile::tempdir().unwrap();
        let (now, set) = clock!(11);
        set(1000);
        let cache = Cache::new(tmp.path());
        let fake = Fake::new(vec![]);
        let h = Helper {
            lock_wait: Duration::from_secs(30),
            ..helper(Some(tmp.path()), &fake, now)
        };
        let key = h.entry_key(&registry::parse(HOST).unwrap(), None);
        let lock = cache.lock(&key, Duration::from_secs(1)).unwrap();
        let other = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(200));
            let entry = Entry {
                version: FORMAT_VERSION,
                server: HOST.into(),
                fetched_at: 1000,
                expires_at: 1000 + 12 * H,
                password: "theirs".into(),
            };
            cache.store(&key, &entry).unwrap();
            drop(lock);
        });
        assert_eq!(h.get(HOST).unwrap().secret.expose(), "theirs");
        assert_eq!(fake.calls.get(), 0);
        other.join().unwrap();
    }

    fn throttled() -> Result<AuthToken, TokenError> {
        Err(TokenError::Api {
            operation: "GetAuthorizationToken",
            status: Some(400),
            failure: crate::helper::token::ApiFailure {
                code: Some("ThrottlingException".into()),
                message: "Rate exceeded".into(),
            },
        })
    }

    fn shared(r: Result<Credentials, GetError>) -> (failure::FailureKind, String) {
        match r {
            Err(GetError::Token {
                source: TokenError::Shared { kind, reason, .. },
                ..
            }) => (kind, reason),
            other => panic!("not a shared failure: {other:?}"),
        }
    }

    /// Another process holds the entry's lock and its fetch fails
    /// meanwhile: the waiter answers with that failure, with no fetch of
    /// its own, whatever its kind.
    #[test]
    fn a_failure_while_waiting_for_the_lock_is_the_answer_without_a_fetch() {
        let tmp = tempfile::tempdir().unwrap();
        let (now, set) = clock!(13);
        set(1000);
        let cache = Cache::new(tmp.path());
        let fake = Fake::new(vec![]);
        let h = Helper {
            lock_wait: Duration::from_secs(30),
            ..helper(Some(tmp.path()), &fake, now)
        };
        let key = h.entry_key(&registry::parse(HOST).unwrap(), None);
        let lock = cache.lock(&key, Duration::from_secs(1)).unwrap();
        let other = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(200));
            let Err(e) = down() else { unreachable!() };
            failure::store(&cache, &key, &FailureRecord::new(&e, 1000));
            drop(lock);
        });
        let (kind, reason) = shared(h.get(HOST));
        assert_eq!(kind, failure::FailureKind::Other);
        assert!(reason.contains("ServerException: boom"), "{reason}");
        assert_eq!(fake.calls.get(), 0);
        other.join().unwrap();
    }

    /// A failure recorded before a get started is not its answer: it
    /// fetches, and its success clears the record. A throttling failure
    /// is the exception, for cold gets, while it holds.
    #[test]
    fn an_earlier_failure_is_retried_except_a_throttle_while_it_holds() {
        let tmp = tempfile::tempdir().unwrap();
        let (now, set) = clock!(14);
        set(1000);
        let fake = Fake::new(vec![down(), token("a", 1000 + 12 * H)]);
        let h = helper(Some(tmp.path()), &fake, now);
        let cache = Cache::new(tmp.path());
        let key = h.entry_key(&registry::parse(HOST).unwrap(), None);
        // A failed fetch leaves its record.
        assert!(matches!(
            h.get(HOST),
            Err(GetError::Token {
                source: TokenError::Api { .. },
                ..
            })
        ));
        assert!(failure::load(&cache, &key).is_some());
        // The next get tries again, at once, and clears it.
        assert_eq!(h.get(HOST).unwrap().secret.expose(), "a");
        assert_eq!(fake.calls.get(), 2);
        assert_eq!(failure::load(&cache, &key), None);

        let fake = Fake::new(vec![token("b", 2000 + 12 * H)]);
        let h = helper(Some(tmp.path()), &fake, now);
        let key = h.entry_key(&registry::parse("public.ecr.aws").unwrap(), None);
        let Err(e) = throttled() else { unreachable!() };
        failure::store(&cache, &key, &FailureRecord::new(&e, 2000));
        set(2002);
        let (kind, _) = shared(h.get("public.ecr.aws"));
        assert_eq!(
            (kind, fake.calls.get()),
            (failure::FailureKind::Throttled, 0)
        );
        set(2003);
        assert_eq!(h.get("public.ecr.aws").unwrap().secret.expose(), "b");
        assert_eq!(fake.calls.get(), 1);
    }

    /// A stale entry and a throttled refresh: the failure is recorded and
    /// the cached token served; a waiter serves it too without a fetch; a
    /// later get (not a waiter) still tries to refresh.
    #[test]
    fn a_failed_refresh_is_shared_and_the_stale_token_served() {
        let tmp = tempfile::tempdir().unwrap();
        let (now, set) = clock!(15);
        set(1000);
        let fake = Fake::new(vec![token("one", 1000 + 12 * H), throttled(), throttled()]);
        let h = helper(Some(tmp.path()), &fake, now);
        assert_eq!(h.get(HOST).unwrap().secret.expose(), "one");
        set(1000 + 6 * H + 1);
        assert_eq!(h.get(HOST).unwrap().secret.expose(), "one");
        assert_eq!(fake.calls.get(), 2);
        let cache = Cache::new(tmp.path());
        let key = h.entry_key(&registry::parse(HOST).unwrap(), None);
        let first = failure::load(&cache, &key).expect("a record");
        assert_eq!(first.kind, failure::FailureKind::Throttled);
        // Not a waiter, and not cold: refreshes again.
        assert_eq!(h.get(HOST).unwrap().secret.expose(), "one");
        assert_eq!(fake.calls.get(), 3);
        assert_ne!(failure::load(&cache, &key), Some(first));
    }

    #[test]
    fn an_expired_entry_is_never_served() {
        let tmp = tempfile::tempdir().unwrap();
        let (now, set) = clock!(3);
        set(1000);
        let fake = Fake::new(vec![token("one", 1000 + 12 * H), down()]);
        let h = helper(Some(tmp.path()), &fake, now);
        h.get(HOST).unwrap();
        set(1000 + 12 * H);
        assert!(matches!(h.get(HOST), Err(GetError::Token { .. })));
    }

    #[test]
    fn a_token_that_arrives_expired_is_returned_but_not_cached() {
        let tmp = tempfile::tempdir().unwrap();
        let (now, set) = clock!(4);
        set(1000);
        let fake = Fake::new(vec![token("old", 10), token("old2", 10)]);
        let h = helper(Some(tmp.path()), &fake, now);
        assert_eq!(h.get(HOST).unwrap().secret.expose(), "old");
        assert_eq!(h.get(HOST).unwrap().secret.expose(), "old2");
        assert_eq!(fake.calls.get(), 2);
        assert!(h.list().is_empty());
    }

    #[test]
    fn without_a_cache_every_get_calls() {
        let (now, _) = clock!(5);
        let fake = Fake::new(vec![token("a", i64::MAX), token("b", i64::MAX)]);
        let h = helper(None, &fake, now);
        assert_eq!(h.get(HOST).unwrap().secret.expose(), "a");
        assert_eq!(h.get(HOST).unwrap().secret.expose(), "b");
        assert!(h.list().is_empty());
    }

    #[test]
    fn an_unwritable_cache_still_answers() {
        let (now, set) = clock!(6);
        set(1000);
        let tmp = tempfile::tempdir().unwrap();
        let file = tmp.path().join("file");
        std::fs::write(&file, b"").unwrap();
        let fake = Fake::new(vec![token("a", 1000 + 12 * H)]);
        // A cache "directory" below a regular file cannot be created.
        let h = helper(Some(&file.join("cache")), &fake, now);
        assert_eq!(h.get(HOST).unwrap().secret.expose(), "a");
    }

    #[test]
    fn list_reads_valid_entries_only() {
        let tmp = tempfile::tempdir().unwrap();
        let (now, set) = clock!(7);
        set(1000);
        let fake = Fake::new(vec![
            token("a", 1000 + 12 * H),
            token("b", 1000 + H),
            token("c", 1000 + 12 * H),
        ]);
        let h = helper(Some(tmp.path()), &fake, now);
        h.get(HOST).unwrap();
        h.get("333333333333.dkr.ecr.eu-west-1.amazonaws.com")
            .unwrap();
        h.get("public.ecr.aws").unwrap();
        set(1000 + 2 * H);
        let listed: Vec<String> = h.list().into_keys().collect();
        assert_eq!(
            listed,
            vec![
                "https://111111111111.dkr.ecr.us-east-1.amazonaws.com".to_owned(),
                "https://public.ecr.aws".to_owned(),
            ]
        );
        assert!(h.list().values().all(|u| u == "AWS"));
        assert_eq!(fake.calls.get(), 3);
    }

    #[test]
    fn routes_choose_credentials_and_separate_cache_entries() {
        let tmp = tempfile::tempdir().unwrap();
        let (now, set) = clock!(8);
        set(1000);
        let fake = Fake::new(vec![
            token("chain", 1000 + 12 * H),
            token("role", 1000 + 12 * H),
        ]);
        let routes = |r: &Registry| -> Result<CredentialSource, GetError> {
            match r {
                Registry::Private(p) if p.account == "333333333333" => {
                    Ok(CredentialSource::Profile("prod".into()))
                }
                Registry::Private(p) if p.account == "444444444444" => {
                    Err(GetError::Config("bad file".into()))
                }
                _ => Ok(CredentialSource::Chain),
            }
        };
        let h = Helper {
            routes: &routes,
            ..helper(Some(tmp.path()), &fake, now)
        };
        assert_eq!(h.get(HOST).unwrap().secret.expose(), "chain");
        assert_eq!(
            h.get("333333333333.dkr.ecr.us-east-1.amazonaws.com")
                .unwrap()
                .secret
                .expose(),
            "role"
        );
        assert_eq!(
            *fake.credentials.borrow(),
            vec![
                CredentialSource::Chain,
                CredentialSource::Profile("prod".into())
            ]
        );
        assert!(matches!(
            h.get("444444444444.dkr.ecr.us-east-1.amazonaws.com"),
            Err(GetError::Config(_))
        ));
        // Hits for both, no more calls.
        assert_eq!(h.get(HOST).unwrap().secret.expose(), "chain");
        assert_eq!(
            h.get("333333333333.dkr.ecr.us-east-1.amazonaws.com")
                .unwrap()
                .secret
                .expose(),
            "role"
        );
        assert_eq!(fake.calls.get(), 2);
    }

    /// A table that counts its routings and whose version can change.
    struct Table {
        version: RefCell<String>,
        routed: Cell<usize>,
    }

    impl RouteTable for Table {
        fn version(&self) -> String {
            self.version.borrow().clone()
        }
        fn route(&self, _: &Registry) -> Result<CredentialSource, GetError> {
            self.routed.set(self.routed.get() + 1);
            Ok(CredentialSource::Profile(self.version.borrow().clone()))
        }
    }

    /// A hit routes nothing (the rules file is not read); a new version of
    /// the rules is a miss, routed afresh.
    #[test]
    fn a_hit_routes_nothing_and_new_rules_are_a_miss() {
        let tmp = tempfile::tempdir().unwrap();
        let (now, set) = clock!(12);
        set(1000);
        let fake = Fake::new(vec![token("v1", 1000 + 12 * H), token("v2", 1000 + 12 * H)]);
        let table = Table {
            version: RefCell::new("v1".into()),
            routed: Cell::new(0),
        };
        let h = Helper {
            routes: &table,
            ..helper(Some(tmp.path()), &fake, now)
        };
        assert_eq!(h.get(HOST).unwrap().secret.expose(), "v1");
        assert_eq!(h.get(HOST).unwrap().secret.expose(), "v1");
        assert_eq!((table.routed.get(), fake.calls.get()), (1, 1));
        *table.version.borrow_mut() = "v2".into();
        assert_eq!(h.get(HOST).unwrap().secret.expose(), "v2");
        assert_eq!((table.routed.get(), fake.calls.get()), (2, 2));
        assert_eq!(
            fake.credentials.borrow()[1],
            CredentialSource::Profile("v2".into())
        );
    }

    /// Two aliases of HOST's registry: one with no credentials of its own,
    /// one with a profile.
    struct Aliases;

    impl RouteTable for Aliases {
        fn route(&self, _: &Registry) -> Result<CredentialSource, GetError> {
            Ok(CredentialSource::Chain)
        }
        fn alias(&self, host: &str) -> Result<Option<Alias>, GetError> {
            let credentials = match host {
                "images.corp.example" => None,
                "mirror.corp.example" => Some(CredentialSource::Profile("p".into())),
                _ => return Ok(None),
            };
            Ok(Some(Alias {
                line: 1,
                host: host.into(),
                registry: registry::parse(HOST).unwrap(),
                credentials,
            }))
        }
    }

    /// An alias is served its registry's token under the name asked for,
    /// from the registry's own entry; one with its own credentials has its
    /// own entry.
    #[test]
    fn an_alias_shares_its_registrys_entry_unless_it_has_credentials() {
        let tmp = tempfile::tempdir().unwrap();
        let (now, set) = clock!(16);
        set(1000);
        let fake = Fake::new(vec![
            token("reg", 1000 + 12 * H),
            token("own", 1000 + 12 * H),
        ]);
        let h = Helper {
            routes: &Aliases,
            ..helper(Some(tmp.path()), &fake, now)
        };
        let c = h.get("https://images.corp.example/v2/\n").unwrap();
        assert_eq!(
            (c.server_url.as_str(), c.secret.expose().as_str()),
            ("https://images.corp.example/v2/", "reg")
        );
        assert_eq!(fake.seen.borrow()[0].host(), HOST);
        assert_eq!(h.get(HOST).unwrap().secret.expose(), "reg");
        assert_eq!(fake.calls.get(), 1);
        assert_eq!(h.get("mirror.corp.example").unwrap().secret.expose(), "own");
        assert_eq!(
            fake.credentials.borrow()[1],
            CredentialSource::Profile("p".into())
        );
        assert_eq!(h.get("mirror.corp.example").unwrap().secret.expose(), "own");
        assert_eq!(h.get("images.corp.example").unwrap().secret.expose(), "reg");
        assert_eq!(fake.calls.get(), 2);
        // Listed once, by the registry's own host.
        assert_eq!(
            h.list().into_keys().collect::<Vec<_>>(),
            [format!("https://{HOST}")]
        );
        assert!(matches!(
            h.get("other.corp.example"),
            Err(GetError::NotEcr(_))
        ));
        assert_eq!(fake.calls.get(), 2);
    }

    #[test]
    fn served_tokens_carry_their_effective_expiry() {
        let tmp = tempfile::tempdir().unwrap();
        let (now, set) = clock!(9);
        set(1000);
        let fake = Fake::new(vec![token("a", i64::MAX), token("b", 1000 + 12 * H)]);
        let h = helper(Some(tmp.path()), &fake, now);
        // An absurd expiry is capped at 12 h, fetched and from the cache.
        assert_eq!(h.token(HOST, None).unwrap().expires_at, 1000 + 12 * H);
        set(2000);
        assert_eq!(h.token(HOST, None).unwrap().expires_at, 1000 + 12 * H);
        // An explicit credential source has its own entry.
        let web = CredentialSource::WebIdentity {
            role_arn: "arn:aws:iam::1:role/r".into(),
            token: "jwt".into(),
            session_name: None,
        };
        let s = h.token(HOST, Some(web.clone())).unwrap();
        assert_eq!(
            (s.password.expose().as_str(), s.expires_at),
            ("b", 1000 + 12 * H)
        );
        assert_eq!(fake.credentials.borrow()[1], web);
    }
}
