//! Shared machines: no directory or file of another user is trusted
//! (issue 17, group 3). Through the built binary, against the fake ECR.
//!
//! A cache directory others can write is tightened when it is the user's
//! and refused when it is not; a link another user made, on the way to it,
//! is never followed into; a lock file of another user is not waited for;
//! a relative `AWS_ECR_CACHE_DIR` and a home that does not exist are never
//! created. Refused, the helper works uncached: it fetches and answers,
//! and writes nothing.
//!
//! Owners and modes are Unix's (Windows has access control lists, and the
//! default cache is in the user's own profile: docs/reliability.md), so
//! most of this suite is `cfg(unix)`. Files of another user are made by
//! chown to uid 65534, which needs root (`Need::Root`).

use std::path::Path;
#[cfg(unix)]
use std::path::PathBuf;

use crate::support::fake_ecr::FakeEcr;
use crate::support::{Run, Sandbox};

const HOST: &str = "111111111111.dkr.ecr.us-east-1.amazonaws.com";
const ACCOUNT: &str = "111111111111";

/// A sandbox with static keys, wired to a fresh fake, logging warnings to
/// stderr (where docker shows them).
fn setup() -> (Sandbox, FakeEcr) {
    let fake = FakeEcr::start();
    let mut sb = Sandbox::new();
    sb.with_credentials("AKIAFAKESHARED000001", "fake-secret-shared-machine")
        .unset("AWS_ECR_LOG_FILE")
        .set("AWS_ECR_LOG", "warn");
    fake.attach(&mut sb);
    (sb, fake)
}

fn token(n: usize) -> String {
    FakeEcr::default_password(ACCOUNT, n)
}

/// Asserts the run answered with token `n`.
fn assert_token(run: &Run, n: usize) {
    assert_eq!(run.secret(), token(n), "stderr: {}", run.stderr());
}

/// The warning lines of a run, without their time stamps.
fn warnings(run: &Run) -> Vec<String> {
    run.stderr()
        .lines()
        .filter_map(|l| l.split_once(" WARN ").map(|(_, w)| w.to_owned()))
        .collect()
}

/// Asserts exactly one warning contains `needle`, and returns it.
fn one_warning(run: &Run, needle: &str) -> String {
    let found: Vec<String> = warnings(run)
        .into_iter()
        .filter(|w| w.contains(needle))
        .collect();
    assert_eq!(
        found.len(),
        1,
        "want one warning with {needle:?}; stderr:\n{}",
        run.stderr()
    );
    found.into_iter().next().unwrap()
}

/// Names in `dir` (none when it does not exist), sorted.
fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

/// Two gets, each fetched (nothing cached) and answered.
#[cfg(unix)]
fn assert_uncached(sb: &Sandbox, fake: &FakeEcr) -> Run {
    let first = sb.get(HOST);
    assert_token(&first, 1);
    assert_token(&sb.get(HOST), 2);
    assert_eq!(fake.calls(), 2, "uncached: one call per get");
    first
}

/// Two gets: one call, then a hit.
#[cfg(unix)]
fn assert_cached(sb: &Sandbox, fake: &FakeEcr) -> Run {
    let first = sb.get(HOST);
    assert_token(&first, 1);
    assert_token(&sb.get(HOST), 1);
    assert_eq!(fake.calls(), 1, "cached: the second get is a hit");
    first
}

#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::symlink_metadata(path)
        .unwrap()
        .permissions()
        .mode()
        & 0o7777
}

#[cfg(unix)]
fn mkdir_mode(path: &Path, mode: u32) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    std::fs::create_dir_all(path).unwrap();
    // Set after creation: the umask must not change it.
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
    path.to_owned()
}

#[cfg(unix)]
const NOBODY: u32 = 65534;

/// The user's own cache directory that others can write is tightened to
/// 0700, with one warning, and used.
#[cfg(unix)]
#[test]
fn a_cache_directory_others_can_write_is_tightened() {
    for loose in [0o777, 0o770, 0o722] {
        let (mut sb, fake) = setup();
        let dir = mkdir_mode(&sb.path().join(format!("cache-{loose:o}")), loose);
        sb.set("AWS_ECR_CACHE_DIR", dir.to_str().unwrap());
        let run = assert_cached(&sb, &fake);
        assert_eq!(mode(&dir), 0o700, "{loose:o}");
        one_warning(&run, "tightened it to 0700");
        assert_eq!(names(&dir).len(), 2, "entry and lock: {:?}", names(&dir));
    }
}

/// A sticky directory every user can write (`/tmp`'s kind) is shared by
/// design: it is refused, never chmod-ed, and nothing is written in it. A
/// directory of the user's own below it is used.
#[cfg(unix)]
#[test]
fn a_shared_sticky_directory_is_refused_and_one_below_it_used() {
    let (mut sb, fake) = setup();
    let shared = mkdir_mode(&sb.path().join("shared"), 0o1777);
    sb.set("AWS_ECR_CACHE_DIR", shared.to_str().unwrap());
    let run = assert_uncached(&sb, &fake);
    one_warning(&run, "cache directory refused");
    assert_eq!(mode(&shared), 0o1777);
    assert!(names(&shared).is_empty(), "{:?}", names(&shared));

    let (mut sb, fake) = setup();
    let shared = mkdir_mode(&sb.path().join("shared"), 0o1777);
    let own = shared.join("cache");
    sb.set("AWS_ECR_CACHE_DIR", own.to_str().unwrap());
    let run = assert_cached(&sb, &fake);
    assert!(warnings(&run).is_empty(), "{}", run.stderr());
    assert_eq!(mode(&own), 0o700);
}

/// Below a directory every user can write (not sticky), anyone could
/// replace the cache directory: refused, nothing written.
#[cfg(unix)]
#[test]
fn a_cache_directory_below_one_everyone_can_write_is_refused() {
    let (mut sb, fake) = setup();
    let open = mkdir_mode(&sb.path().join("open"), 0o777);
    sb.set("AWS_ECR_CACHE_DIR", open.join("cache").to_str().unwrap());
    let run = assert_uncached(&sb, &fake);
    let w = one_warning(&run, "cache directory refused");
    assert!(w.contains("writable by every user"), "{w}");
    assert!(names(&open).is_empty(), "{:?}", names(&open));
    assert_eq!(mode(&open), 0o777, "not ours to change");
}

/// Another user's cache directory, whether named or reached through the
/// user's own link, or below another user's directory, is refused with a
/// warning that says whose it is; nothing is read from it or written in it.
#[cfg(unix)]
#[test]
fn a_cache_directory_of_another_user_is_refused() {
    use crate::support::{self, Need};
    if !support::require(Need::Root) {
        return;
    }
    // (what, how the cache directory is set up; returns it and the
    // directory that must stay untouched)
    type Setup = fn(&Path) -> (PathBuf, PathBuf);
    let cases: [(&str, Setup); 4] = [
        ("theirs, private", |root| {
            let d = mkdir_mode(&root.join("theirs"), 0o700);
            std::os::unix::fs::chown(&d, Some(NOBODY), Some(NOBODY)).unwrap();
            (d.clone(), d)
        }),
        ("theirs, world-writable", |root| {
            let d = mkdir_mode(&root.join("theirs"), 0o777);
            std::os::unix::fs::chown(&d, Some(NOBODY), Some(NOBODY)).unwrap();
            (d.clone(), d)
        }),
        ("our link to theirs", |root| {
            let d = mkdir_mode(&root.join("theirs"), 0o777);
            std::os::unix::fs::chown(&d, Some(NOBODY), Some(NOBODY)).unwrap();
            let link = root.join("link");
            std::os::unix::fs::symlink(&d, &link).unwrap();
            (link, d)
        }),
        ("ours, below theirs", |root| {
            let d = mkdir_mode(&root.join("theirs"), 0o755);
            mkdir_mode(&d.join("cache"), 0o700);
            std::os::unix::fs::chown(&d, Some(NOBODY), Some(NOBODY)).unwrap();
            (d.join("cache"), d)
        }),
    ];
    for (what, make) in cases {
        let (mut sb, fake) = setup();
        let (dir, untouched) = make(sb.path());
        let before = names(&untouched);
        sb.set("AWS_ECR_CACHE_DIR", dir.to_str().unwrap());
        let run = assert_uncached(&sb, &fake);
        let w = one_warning(&run, "cache directory refused");
        assert!(w.contains(&format!("uid {NOBODY}")), "{what}: {w}");
        assert_eq!(names(&untouched), before, "{what}: written into");
        assert!(
            run.stdout().trim_end().ends_with('}'),
            "{what}: only the answer on stdout"
        );
    }
}

/// A link another user made (uid 65534 while the helper runs as root) on
/// the way to the cache directory is not followed: entries and locks are
/// never written where it points. The same link made by the user is.
#[cfg(unix)]
#[test]
fn a_link_another_user_made_is_not_followed() {
    use crate::support::{self, Need};
    if !support::require(Need::Root) {
        return;
    }
    for (made_by_another, want_cached) in [(true, false), (false, true)] {
        let (mut sb, fake) = setup();
        let target = mkdir_mode(&sb.path().join("target"), 0o700);
        let link = sb.path().join("link");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        if made_by_another {
            std::os::unix::fs::lchown(&link, Some(NOBODY), Some(NOBODY)).unwrap();
        }
        sb.set("AWS_ECR_CACHE_DIR", link.join("cache").to_str().unwrap());
        if want_cached {
            let run = assert_cached(&sb, &fake);
            assert!(warnings(&run).is_empty(), "{}", run.stderr());
            assert_eq!(names(&target), ["cache"]);
        } else {
            let run = assert_uncached(&sb, &fake);
            let w = one_warning(&run, "cache directory refused");
            assert!(w.contains("a link made by uid 65534"), "{w}");
            assert!(names(&target).is_empty(), "{:?}", names(&target));
        }
    }
}

/// A lock file of another user does not stall a miss: the helper fetches
/// without the lock at once (not after waiting 5T for a holder that may
/// never let go), with one warning saying why.
#[cfg(unix)]
#[test]
fn a_lock_file_of_another_user_does_not_stall_a_miss() {
    use crate::support::{self, Need};
    if !support::require(Need::Root) {
        return;
    }
    let (mut sb, fake) = setup();
    // T = 4 s: the lock would be waited for 5T = 20 s.
    sb.set("AWS_ECR_TIMEOUT", "4");
    assert_token(&sb.get(HOST), 1);
    let dir = sb.cache_dir();
    let lock = names(&dir)
        .into_iter()
        .find(|n| n.ends_with(".lock"))
        .map(|n| dir.join(n))
        .expect("a lock file");
    std::fs::remove_file(lock.with_extension("json")).unwrap();
    std::os::unix::fs::chown(&lock, Some(NOBODY), Some(NOBODY)).unwrap();
    // Its holder never lets go while the helper runs.
    let held = std::fs::File::open(&lock).unwrap();
    held.lock().unwrap();

    let start = std::time::Instant::now();
    let run = sb.get(HOST);
    let took = start.elapsed();
    assert_token(&run, 2);
    let w = one_warning(&run, "without the cache lock");
    assert!(w.contains(&format!("owned by uid {NOBODY}")), "{w}");
    assert!(!run.stderr().contains("timed out"), "{}", run.stderr());
    assert!(
        took < std::time::Duration::from_secs(20),
        "the miss waited {took:?}, as long as for a stuck holder (5T)"
    );
    assert_eq!(fake.calls(), 2);
    drop(held);
}

/// A relative `AWS_ECR_CACHE_DIR` is refused (the helper runs uncached),
/// never resolved against the working directory, which changes from one
/// run to the next.
#[test]
fn a_relative_cache_directory_is_refused() {
    let (mut sb, fake) = setup();
    let work = sb.path().join("work");
    std::fs::create_dir(&work).unwrap();
    for rel in ["cache", "./cache", "sub/cache"] {
        sb.set("AWS_ECR_CACHE_DIR", rel);
        let get = || {
            let mut cmd = sb.command(&["get"]);
            cmd.current_dir(&work);
            crate::support::run_command(cmd, HOST)
        };
        let calls = fake.calls();
        let run = get();
        run.credentials();
        get().credentials();
        assert_eq!(fake.calls(), calls + 2, "{rel}: uncached");
        one_warning(&run, "not an absolute path");
        assert!(names(&work).is_empty(), "{rel}: {:?}", names(&work));
    }
}

/// With no `AWS_ECR_CACHE_DIR`, the default cache is below the home
/// directory (on Unix); a `HOME` that does not exist is not created: the
/// helper runs uncached, with a warning.
#[test]
fn a_home_that_does_not_exist_is_not_created() {
    let (mut sb, fake) = setup();
    let home = sb.path().join("no-such-home");
    sb.set("HOME", home.to_str().unwrap());
    // Unix only: Windows's default cache is in %LOCALAPPDATA%, which HOME
    // does not move (the test would write to the user's own profile).
    #[cfg(unix)]
    {
        sb.unset("AWS_ECR_CACHE_DIR");
        let run = assert_uncached(&sb, &fake);
        one_warning(&run, "does not exist");
        assert!(!home.exists(), "{home:?} was created");
    }
    // `~/` in AWS_ECR_CACHE_DIR is below it too.
    sb.set("AWS_ECR_CACHE_DIR", "~/ecr-cache");
    // Uncached: fetched, the next token.
    let next = fake.calls() + 1;
    assert_token(&sb.get(HOST), next);
    assert!(!home.exists(), "{home:?} was created");
}
