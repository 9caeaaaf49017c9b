//! File writes that never leave a half-written file: a private temporary
//! file in the same directory, renamed into place (flushed to disk first
//! where losing it would lose the user's work).
//!
//! What is Unix-only here, and what Windows does instead: a file's mode
//! (0600, 0700) is set on Unix; on Windows a new file or directory takes
//! the access control list its directory passes on (in the user's profile,
//! the user, SYSTEM and Administrators only). Not following a link is
//! `O_NOFOLLOW` on Unix, `FILE_FLAG_OPEN_REPARSE_POINT` on Windows (see
//! [`open_no_follow`]).

use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// Creates `dir` (and parents) where missing: mode 0700 on Unix; on Windows
/// it inherits its parent's access control list.
pub fn create_private_dir(dir: &Path) -> io::Result<()> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}

/// What [`check_private_dir`] found at a directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DirCheck {
    /// It exists, is ours and private, and nothing on the way to it is
    /// another user's.
    Trusted,
    /// It was ours but writable by others (this mode): now 0700.
    Tightened(u32),
    /// It does not exist yet; nothing on the way to where it would be is
    /// another user's.
    Missing,
}

/// Checks the way to `dir` (a path from the root: on Windows `\dir` is
/// one, below the current drive) and `dir` itself, so that
/// nothing another user controls decides where a private file goes. On
/// Unix, component by component, links followed by hand:
/// - a link must be this user's or root's (another user's link could
///   point anywhere);
/// - a directory looked into must be this user's or root's, and not
///   writable by every user unless sticky (else anyone could replace
///   what is in it). Group write is allowed there: with a group per user,
///   home directories often have it;
/// - `dir` itself must be this user's; writable by its group or others it
///   is tightened to 0700, unless it is sticky, a directory shared by
///   design (`/tmp`), which is refused.
///
/// The error says why, in a sentence. Elsewhere (Windows) only the path's
/// form and the directory's existence are checked: the default cache is in
/// the user's own profile (docs/reliability.md).
pub fn check_private_dir(dir: &Path) -> io::Result<DirCheck> {
    if !dir.has_root() {
        return Err(refused(format!(
            "{} is not an absolute path",
            dir.display()
        )));
    }
    #[cfg(unix)]
    {
        unix_dirs::check(dir)
    }
    #[cfg(not(unix))]
    {
        match fs::metadata(dir) {
            Ok(m) if m.is_dir() => Ok(DirCheck::Trusted),
            Ok(_) => Err(refused(format!("{} is not a directory", dir.display()))),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(DirCheck::Missing),
            Err(e) => Err(e),
        }
    }
}

fn refused(why: String) -> io::Error {
    io::Error::new(io::ErrorKind::PermissionDenied, why)
}

#[cfg(unix)]
mod unix_dirs {
    use super::{DirCheck, refused};
    use std::collections::VecDeque;
    use std::ffi::OsString;
    use std::fs;
    use std::io;
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    use std::path::{Component, Path, PathBuf};

    /// As the kernel resolves a path; more links than this is a loop.
    const MAX_LINKS: usize = 40;
    const STICKY: u32 = 0o1000;

    enum Step {
        Up,
        Name(OsString),
    }

    fn steps(path: &Path) -> VecDeque<Step> {
        path.components()
            .filter_map(|c| match c {
                Component::ParentDir => Some(Step::Up),
                Component::Normal(n) => Some(Step::Name(n.to_owned())),
                _ => None,
            })
            .collect()
    }

    pub(super) fn check(dir: &Path) -> io::Result<DirCheck> {
        // SAFETY: geteuid has no preconditions and cannot fail.
        let me = unsafe { libc::geteuid() };
        let mut at = PathBuf::from("/");
        let mut meta = fs::symlink_metadata(&at)?;
        let mut todo = steps(dir);
        let mut links = 0;
        while let Some(step) = todo.pop_front() {
            let name = match step {
                Step::Up => {
                    at.pop();
                    meta = fs::symlink_metadata(&at)?;
                    continue;
                }
                Step::Name(name) => name,
            };
            // Whoever can write `at` decides what `name` is in it.
            if meta.uid() != me && meta.uid() != 0 {
                return Err(refused(format!(
                    "{} belongs to uid {}, not to this user (uid {me}) or root",
                    at.display(),
                    meta.uid()
                )));
            }
            if meta.mode() & 0o002 != 0 && meta.mode() & STICKY == 0 {
                return Err(refused(format!(
                    "{} is writable by every user",
                    at.display()
                )));
            }
            let next = at.join(&name);
            let found = match fs::symlink_metadata(&next) {
                Ok(m) => m,
                Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(DirCheck::Missing),
                Err(e) => return Err(e),
            };
            if found.file_type().is_symlink() {
                if found.uid() != me && found.uid() != 0 {
                    return Err(refused(format!(
                        "{} is a link made by uid {}, not by this user (uid {me}) or root",
                        next.display(),
                        found.uid()
                    )));
                }
                links += 1;
                if links > MAX_LINKS {
                    return Err(refused(format!(
                        "more than {MAX_LINKS} links on the way to {}",
                        dir.display()
                    )));
                }
                let target = fs::read_link(&next)?;
                if target.is_absolute() {
                    at = PathBuf::from("/");
                    meta = fs::symlink_metadata(&at)?;
                }
                let mut rest = steps(&target);
                rest.extend(todo.drain(..));
                todo = rest;
                continue;
            }
            if !found.is_dir() {
                return Err(refused(format!("{} is not a directory", next.display())));
            }
            at = next;
            meta = found;
        }
        let mode = meta.mode() & 0o7777;
        if meta.uid() != me {
            return Err(refused(format!(
                "{} belongs to uid {}, not to this user (uid {me})",
                at.display(),
                meta.uid()
            )));
        }
        if mode & STICKY != 0 {
            return Err(refused(format!(
                "{} is a shared directory (sticky, mode {mode:o}); caching needs one of this user's own",
                at.display()
            )));
        }
        if mode & 0o022 == 0 {
            return Ok(DirCheck::Trusted);
        }
        fs::set_permissions(&at, fs::Permissions::from_mode(0o700))?;
        Ok(DirCheck::Tightened(mode))
    }
}

/// Open options that never follow a link at the path's last component,
/// nor block on a FIFO: `O_NOFOLLOW | O_NONBLOCK` on Unix (opening a
/// symlink fails with `ELOOP`); on Windows `FILE_FLAG_OPEN_REPARSE_POINT`,
/// which opens a symlink or junction itself, so that its metadata says
/// what it is (Windows has no FIFOs in the file system). The caller checks
/// the file it got with [`refuse_non_file`]. `mode` is the Unix mode of a
/// file this creates.
pub fn open_no_follow(mode: u32) -> OpenOptions {
    let mut options = OpenOptions::new();
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options
            .mode(mode)
            .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK);
    }
    #[cfg(windows)]
    {
        use std::os::windows::fs::OpenOptionsExt;
        /// winbase.h; std has no name for it.
        const FILE_FLAG_OPEN_REPARSE_POINT: u32 = 0x0020_0000;
        let _ = mode;
        options.custom_flags(FILE_FLAG_OPEN_REPARSE_POINT);
    }
    #[cfg(not(any(unix, windows)))]
    let _ = mode;
    options
}

/// Reads a file the user names (a config file, a CA bundle): links are
/// followed, but a FIFO never blocks the open (`O_NONBLOCK` on Unix), only
/// a regular file is read, and one over `max` bytes is refused unread, so
/// that `/dev/zero` or a pipe can neither hang the helper nor fill memory.
pub fn read_bounded(path: &Path, max: u64) -> io::Result<Vec<u8>> {
    use std::io::Read;
    let mut options = OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::custom_flags(&mut options, libc::O_NONBLOCK);
    let file = options.open(path)?;
    let meta = file.metadata()?;
    if !meta.is_file() {
        // `AWS_CONFIG_FILE=/dev/null` is the usual way to say "none".
        if is_dev_null(&meta) {
            return Ok(Vec::new());
        }
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "not a regular file",
        ));
    }
    if meta.len() > max {
        return Err(too_large(max));
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    // The file may grow between the stat and the read.
    file.take(max + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > max {
        return Err(too_large(max));
    }
    Ok(bytes)
}

/// Whether `meta` is the null device's: empty to read, whatever its name.
fn is_dev_null(meta: &fs::Metadata) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        fs::metadata("/dev/null").is_ok_and(|n| n.dev() == meta.dev() && n.ino() == meta.ino())
    }
    #[cfg(not(unix))]
    {
        let _ = meta;
        false
    }
}

fn too_large(max: u64) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("larger than {max} bytes; refusing to read it"),
    )
}

/// Unix: an entry or lock must be this user's. Windows has no equivalent
/// checked here: the default cache lives in the user's own
/// `%LOCALAPPDATA%`, which only the user, SYSTEM and the administrators can
/// open (docs/reliability.md).
#[cfg(unix)]
pub fn check_owner(meta: &fs::Metadata) -> io::Result<()> {
    use std::os::unix::fs::MetadataExt;
    // SAFETY: geteuid has no preconditions and cannot fail.
    let euid = unsafe { libc::geteuid() };
    if meta.uid() != euid {
        return Err(io::Error::other(format!(
            "owned by uid {}, not by this user (uid {euid}); refusing it",
            meta.uid()
        )));
    }
    Ok(())
}

/// Why [`lock_file`] holds no lock.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// The lock file could not be opened, or was refused (a link, not a
    /// regular file, or what `check` refused).
    #[error("{0}")]
    Open(io::Error),
    /// Another holder kept it for the whole wait.
    #[error("still held by another process after {0:?}")]
    Timeout(std::time::Duration),
}

/// Takes the exclusive lock of the file at `path` (created 0600 where
/// missing, never through a link, a regular file only, and then whatever
/// `check` asks of its metadata), waiting at most `wait`: a stuck holder
/// must never hang the caller. The lock lasts as long as the file handle.
pub fn lock_file(
    path: &Path,
    wait: std::time::Duration,
    check: impl Fn(&fs::Metadata) -> io::Result<()>,
) -> Result<fs::File, LockError> {
    use std::time::{Duration, Instant};
    let file = open_no_follow(0o600)
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
        .map_err(link_error)
        .and_then(|f| {
            let meta = f.metadata()?;
            refuse_non_file(&meta)?;
            check(&meta)?;
            Ok(f)
        })
        .map_err(LockError::Open)?;
    let start = Instant::now();
    let mut pause = Duration::from_millis(2);
    loop {
        match file.try_lock() {
            Ok(()) => return Ok(file),
            Err(fs::TryLockError::WouldBlock) if start.elapsed() < wait => {
                std::thread::sleep(pause);
                pause = (pause * 2).min(Duration::from_millis(25));
            }
            Err(fs::TryLockError::WouldBlock) => return Err(LockError::Timeout(wait)),
            Err(fs::TryLockError::Error(e)) => return Err(LockError::Open(e)),
        }
    }
}

/// An error for a file that [`open_no_follow`] opened but that is not a
/// regular file: a link (on Windows, a symlink or junction) or anything
/// else.
pub fn refuse_non_file(meta: &fs::Metadata) -> io::Result<()> {
    if meta.file_type().is_symlink() {
        Err(io::Error::other(LINK_REFUSED))
    } else if !meta.is_file() {
        Err(io::Error::other("not a regular file"))
    } else {
        Ok(())
    }
}

/// Why a link at a cache path is not read.
pub const LINK_REFUSED: &str = "a symlink stands at the cache path; not following it";

/// Maps the error of [`open_no_follow`] on a symlink (Unix: `ELOOP`) to
/// [`LINK_REFUSED`].
pub fn link_error(e: io::Error) -> io::Error {
    #[cfg(unix)]
    if e.raw_os_error() == Some(libc::ELOOP) {
        return io::Error::other(LINK_REFUSED);
    }
    e
}

/// The Unix mode bits of a file (`0o7777`); elsewhere `default`, since
/// files there have no mode to keep.
pub fn unix_mode(meta: &fs::Metadata, default: u32) -> u32 {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let _ = default;
        meta.permissions().mode() & 0o7777
    }
    #[cfg(not(unix))]
    {
        let _ = meta;
        default
    }
}

/// Sets a file's Unix mode; elsewhere nothing (see the module's comment).
pub fn set_unix_mode(file: &fs::File, mode: u32) -> io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        file.set_permissions(fs::Permissions::from_mode(mode))
    }
    #[cfg(not(unix))]
    {
        let _ = (file, mode);
        Ok(())
    }
}

/// Whether a write must survive a crash of the machine, not only of the
/// process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    /// fsync before the rename: for files only the user can recreate.
    Synced,
    /// No fsync (about 2 ms on a miss): for caches, where a file lost or
    /// torn by a power failure reads as empty and is fetched again.
    Unsynced,
}

/// Replaces `path` with `bytes` atomically, the new file having `mode` (on
/// Unix; see the module's comment). A symlink at `path` is replaced, never
/// followed.
pub fn atomic_write(
    path: &Path,
    bytes: &[u8],
    mode: u32,
    durability: Durability,
) -> io::Result<()> {
    PendingWrite::create(path, mode)?.commit(bytes, durability)
}

/// An atomic write begun: its temporary file, beside `path`, is created
/// now, and the bytes come later. Making the file (a new inode) is most of
/// a small write's cost, so a caller that knows a write will follow can pay
/// it while it waits for the bytes. Dropped without `commit`, or failing in
/// it, the temporary file is removed and `path` is left as it was.
#[derive(Debug)]
pub struct PendingWrite {
    path: PathBuf,
    tmp: PathBuf,
    file: Option<fs::File>,
}

impl PendingWrite {
    /// Creates the temporary file, private to us and then given `mode` (on
    /// Unix).
    pub fn create(path: &Path, mode: u32) -> io::Result<PendingWrite> {
        let dir = path
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let name = path
            .file_name()
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "no file name"))?;
        let tmp = dir.join(format!(
            ".{}.{}.{}.tmp",
            name.to_string_lossy(),
            std::process::id(),
            nonce()
        ));
        // A name already taken is not ours to remove: nothing is recorded
        // until the file is ours.
        let file = open_no_follow(0o600)
            .write(true)
            .create_new(true)
            .open(&tmp)?;
        let pending = PendingWrite {
            path: path.to_owned(),
            tmp,
            file: Some(file),
        };
        // Set after creation: the umask must not widen or narrow it.
        set_unix_mode(pending.file(), mode)?;
        Ok(pending)
    }

    fn file(&self) -> &fs::File {
        self.file.as_ref().expect("open until committed")
    }

    /// Writes `bytes` and renames the file over `path`.
    pub fn commit(mut self, bytes: &[u8], durability: Durability) -> io::Result<()> {
        let mut file = self.file.take().expect("open until committed");
        file.write_all(bytes)?;
        if durability == Durability::Synced {
            file.sync_all()?;
        }
        drop(file);
        fs::rename(&self.tmp, &self.path)?;
        // Renamed: nothing left to remove.
        self.tmp = PathBuf::new();
        Ok(())
    }
}

impl Drop for PendingWrite {
    fn drop(&mut self) {
        if !self.tmp.as_os_str().is_empty() {
            let _ = fs::remove_file(&self.tmp);
        }
    }
}

/// Removes the temporary files a killed writer of `path` left behind: those
/// of a process that no longer exists, or older than ten minutes (a pid can
/// be reused). Call it holding the lock that orders writers of `path`.
pub fn remove_stale_temps(path: &Path) {
    let (Some(dir), Some(name)) = (path.parent(), path.file_name()) else {
        return;
    };
    let prefix = format!(".{}.", name.to_string_lossy());
    let Ok(entries) = fs::read_dir(if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    }) else {
        return;
    };
    for entry in entries.filter_map(Result::ok) {
        let file_name = entry.file_name();
        let Some(rest) = file_name.to_str().and_then(|n| n.strip_prefix(&prefix)) else {
            continue;
        };
        let Some(pid) = rest
            .strip_suffix(".tmp")
            .and_then(|r| r.split('.').next())
            .and_then(|p| p.parse::<u32>().ok())
        else {
            continue;
        };
        let dead = pid != std::process::id() && process_is_gone(pid);
        let old = entry
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|age| age > std::time::Duration::from_secs(600));
        if dead || old {
            let _ = fs::remove_file(entry.path());
        }
    }
}

/// Whether no process `pid` exists. Unix: `kill(pid, 0)` fails with
/// `ESRCH`. Windows: `OpenProcess` refuses the pid as invalid, or the
/// process it opens has exited. Anything unsure (no permission to ask) is
/// "alive": only the age rule removes its file.
fn process_is_gone(pid: u32) -> bool {
    #[cfg(unix)]
    {
        // A pid beyond pid_t cannot exist; 0 and negatives name groups.
        let Ok(pid) = libc::pid_t::try_from(pid) else {
            return true;
        };
        // SAFETY: kill with signal 0 only checks whether the process exists.
        pid > 0
            && unsafe { libc::kill(pid, 0) } == -1
            && io::Error::last_os_error().raw_os_error() == Some(libc::ESRCH)
    }
    #[cfg(windows)]
    {
        use windows_sys::Win32::Foundation::{
            CloseHandle, ERROR_INVALID_PARAMETER, GetLastError, STILL_ACTIVE,
        };
        use windows_sys::Win32::System::Threading::{
            GetExitCodeProcess, OpenProcess, PROCESS_QUERY_LIMITED_INFORMATION,
        };
        // SAFETY: OpenProcess takes any pid; a handle it returns is closed
        // once, below, and GetExitCodeProcess writes one u32.
        unsafe {
            let handle = OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION, 0, pid);
            if handle.is_null() {
                return GetLastError() == ERROR_INVALID_PARAMETER;
            }
            let mut code = 0u32;
            let exited = GetExitCodeProcess(handle, &mut code) != 0 && code != STILL_ACTIVE as u32;
            CloseHandle(handle);
            exited
        }
    }
    #[cfg(not(any(unix, windows)))]
    {
        let _ = pid;
        false
    }
}

/// The names of the temporary files in `dir` (for tests).
#[cfg(test)]
pub(crate) fn temporary_files(dir: &Path) -> Vec<String> {
    fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".tmp"))
        .collect()
}

/// Makes `link` a symbolic link to the file `target` (for tests), and
/// checks that it is one: on Windows a link needs Developer Mode or an
/// administrator, and wine 8 reports success and makes none.
#[cfg(test)]
pub(crate) fn symlink_file(target: &Path, link: &Path) {
    #[cfg(unix)]
    let made = std::os::unix::fs::symlink(target, link);
    #[cfg(windows)]
    let made = std::os::windows::fs::symlink_file(target, link);
    let made = made.and_then(|()| fs::symlink_metadata(link));
    if !made.as_ref().is_ok_and(|m| m.file_type().is_symlink()) {
        panic!(
            "cannot make the symlink {} -> {}: {made:?}",
            link.display(),
            target.display()
        );
    }
}

/// Distinguishes temporary files of threads in one process.
fn nonce() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| u64::from(d.subsec_nanos()))
        .unwrap_or(0);
    t ^ (COUNTER.fetch_add(1, Ordering::Relaxed) << 32)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The Unix mode of `p`; Windows files have none (`None`).
    fn mode(p: &Path) -> Option<u32> {
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            Some(fs::symlink_metadata(p).unwrap().permissions().mode() & 0o777)
        }
        #[cfg(not(unix))]
        {
            let _ = p;
            None
        }
    }

    #[test]
    fn read_bounded_reads_files_and_refuses_the_rest() {
        let tmp = tempfile::tempdir().unwrap();
        let file = tmp.path().join("f");
        fs::write(&file, b"12345").unwrap();
        assert_eq!(read_bounded(&file, 5).unwrap(), b"12345");
        let big = read_bounded(&file, 4).unwrap_err();
        assert_eq!(big.kind(), io::ErrorKind::InvalidData);
        // Windows refuses to open a directory as a file at all.
        let dir = read_bounded(tmp.path(), 5).unwrap_err().to_string();
        assert!(cfg!(windows) || dir.contains("not a regular file"), "{dir}");
        #[cfg(unix)]
        {
            // Neither blocks: a FIFO with no writer, an endless device.
            let fifo = tmp.path().join("fifo");
            let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
            // SAFETY: a valid NUL-terminated path.
            assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
            assert!(read_bounded(&fifo, 5).is_err());
            assert!(read_bounded(Path::new("/dev/zero"), 5).is_err());
            // The null device is an empty file, as the SDK reads it.
            assert_eq!(read_bounded(Path::new("/dev/null"), 5).unwrap(), b"");
        }
    }

    /// What [`mode`] gives for a file of Unix mode `m`.
    fn unix(m: u32) -> Option<u32> {
        cfg!(unix).then_some(m)
    }

    #[test]
    fn writes_replace_atomically_with_the_mode_asked() {
        let tmp = tempfile::tempdir().unwrap();
        let p = tmp.path().join("f.json");
        atomic_write(&p, b"one", 0o600, Durability::Synced).unwrap();
        assert_eq!(
            (fs::read(&p).unwrap(), mode(&p)),
            (b"one".to_vec(), unix(0o600))
        );
        atomic_write(&p, b"two", 0o644, Durability::Unsynced).unwrap();
        assert_eq!(
            (fs::read(&p).unwrap(), mode(&p)),
            (b"two".to_vec(), unix(0o644))
        );
        assert_eq!(
            fs::read_dir(tmp.path()).unwrap().count(),
            1,
            "no temporary file left"
        );
    }

    #[test]
    fn a_failed_write_leaves_the_old_file_and_no_temporary() {
        let tmp = tempfile::tempdir().unwrap();
        let p = tmp.path().join("f.json");
        atomic_write(&p, b"old", 0o600, Durability::Synced).unwrap();
        // Renaming a file over a directory fails after the temp file is written.
        let d = tmp.path().join("d");
        fs::create_dir(&d).unwrap();
        fs::write(d.join("x"), b"").unwrap();
        assert!(atomic_write(&d, b"new", 0o600, Durability::Synced).is_err());
        assert_eq!(fs::read(&p).unwrap(), b"old");
        let names: Vec<_> = fs::read_dir(tmp.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 2, "{names:?}");
    }

    fn names(dir: &Path) -> Vec<String> {
        let mut v: Vec<_> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn a_pending_write_makes_its_file_first_and_replaces_on_commit() {
        let tmp = tempfile::tempdir().unwrap();
        let p = tmp.path().join("f.json");
        atomic_write(&p, b"old", 0o600, Durability::Unsynced).unwrap();
        let pending = PendingWrite::create(&p, 0o640).unwrap();
        let before = names(tmp.path());
        assert_eq!(before.len(), 2, "{before:?}");
        assert!(before[0].starts_with(".f.json.") && before[0].ends_with(".tmp"));
        assert_eq!(fs::read(&p).unwrap(), b"old", "untouched until commit");
        pending.commit(b"new", Durability::Unsynced).unwrap();
        assert_eq!(
            (fs::read(&p).unwrap(), mode(&p)),
            (b"new".to_vec(), unix(0o640))
        );
        assert_eq!(names(tmp.path()), ["f.json"]);
    }

    #[test]
    fn a_pending_write_dropped_or_failing_leaves_no_temporary() {
        let tmp = tempfile::tempdir().unwrap();
        let p = tmp.path().join("f.json");
        drop(PendingWrite::create(&p, 0o600).unwrap());
        assert!(names(tmp.path()).is_empty());
        // The rename fails: a directory (not empty) stands at the path.
        let d = tmp.path().join("d");
        fs::create_dir(&d).unwrap();
        fs::write(d.join("x"), b"").unwrap();
        let pending = PendingWrite::create(&d, 0o600).unwrap();
        assert!(pending.commit(b"new", Durability::Unsynced).is_err());
        assert_eq!(names(tmp.path()), ["d"]);
    }

    #[test]
    fn stale_temporaries_of_dead_writers_are_removed() {
        let tmp = tempfile::tempdir().unwrap();
        let p = tmp.path().join("k.json");
        // A pid that cannot exist (above the kernel's maximum).
        let dead = tmp.path().join(".k.json.99999999.1.tmp");
        let mine = tmp
            .path()
            .join(format!(".k.json.{}.2.tmp", std::process::id()));
        let other_entry = tmp.path().join(".j.json.99999999.3.tmp");
        for f in [&dead, &mine, &other_entry] {
            fs::write(f, b"x").unwrap();
        }
        remove_stale_temps(&p);
        assert!(!dead.exists());
        assert!(mine.exists(), "a live writer's file stays");
        assert!(
            other_entry.exists(),
            "another entry's file is not ours to judge"
        );
    }

    #[test]
    fn a_private_directory_must_be_rooted_and_a_directory() {
        let tmp = tempfile::tempdir().unwrap();
        for rel in ["c", "./c", "../c", "~/c"] {
            let e = check_private_dir(Path::new(rel)).unwrap_err();
            assert!(e.to_string().contains("not an absolute path"), "{rel}: {e}");
        }
        let dir = tmp.path().join("c");
        assert_eq!(check_private_dir(&dir).unwrap(), DirCheck::Missing);
        assert_eq!(
            check_private_dir(&dir.join("d")).unwrap(),
            DirCheck::Missing
        );
        create_private_dir(&dir).unwrap();
        assert_eq!(check_private_dir(&dir).unwrap(), DirCheck::Trusted);
        let file = tmp.path().join("f");
        fs::write(&file, b"").unwrap();
        assert!(check_private_dir(&file).is_err());
        // Windows answers "path not found" below a file: missing.
        #[cfg(unix)]
        assert!(check_private_dir(&file.join("below")).is_err());
    }

    /// The user's own links are followed, by hand, `..` after a link
    /// included; a loop is refused. (Another user's link: root's black-box
    /// test, `shared_machine::a_link_another_user_made_is_not_followed`.)
    #[cfg(unix)]
    #[test]
    fn own_links_are_followed_and_a_loop_refused() {
        use std::os::unix::fs::{PermissionsExt, symlink};
        let tmp = tempfile::tempdir().unwrap();
        let real = tmp.path().join("real");
        fs::create_dir_all(real.join("cache")).unwrap();
        fs::create_dir(tmp.path().join("other")).unwrap();
        fs::set_permissions(real.join("cache"), fs::Permissions::from_mode(0o700)).unwrap();
        symlink(&real, tmp.path().join("abs")).unwrap();
        symlink("real", tmp.path().join("rel")).unwrap();
        symlink("real/cache", tmp.path().join("deep")).unwrap();
        for via in ["abs/cache", "rel/cache", "deep", "rel/../real/cache"] {
            assert_eq!(
                check_private_dir(&tmp.path().join(via)).unwrap(),
                DirCheck::Trusted,
                "{via}"
            );
        }
        // `..` after a link leaves the link's target, not the link.
        symlink("real/cache", tmp.path().join("real/up")).unwrap();
        assert_eq!(
            check_private_dir(&tmp.path().join("real/up/../other")).unwrap(),
            DirCheck::Missing
        );
        symlink("loop", tmp.path().join("loop")).unwrap();
        let e = check_private_dir(&tmp.path().join("loop/cache")).unwrap_err();
        assert!(e.to_string().contains("links on the way"), "{e}");
    }

    #[test]
    #[cfg_attr(
        windows,
        ignore = "needs a symlink: Windows makes one only in Developer Mode or for an administrator, and wine 8 makes none (its CreateSymbolicLinkW is a stub); run with --ignored where links can be made"
    )]
    fn a_symlink_is_replaced_not_followed() {
        let tmp = tempfile::tempdir().unwrap();
        let victim = tmp.path().join("victim");
        fs::write(&victim, b"keep").unwrap();
        let link = tmp.path().join("link");
        symlink_file(&victim, &link);
        atomic_write(&link, b"new", 0o600, Durability::Synced).unwrap();
        assert_eq!(fs::read(&victim).unwrap(), b"keep");
        assert!(fs::symlink_metadata(&link).unwrap().is_file());
    }
}
