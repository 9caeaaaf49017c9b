//! Levelled logs, off unless asked for: docker shows the helper's stderr
//! to the user. Only this crate logs: the SDK's own events print errors by
//! `Debug`, with raw response bodies that can hold tokens or credentials,
//! so they are never let through. Our errors carry their causes instead.

use std::fs::{File, OpenOptions};
use std::io;
use std::path::Path;
use std::sync::Mutex;

use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::prelude::*;

use crate::config::LogConfig;

pub fn init(config: Option<&LogConfig>) {
    let Some(config) = config else { return };
    let level = LevelFilter::from_level(config.level);
    let filter = Targets::new()
        .with_default(LevelFilter::OFF)
        .with_target("ecr_login", level)
        .with_target("docker_credential_ecr_login", level);
    let file = config.file.as_ref().and_then(|path| {
        open_log(path)
            .inspect_err(|e| {
                // Logging was asked for; say once why it goes to stderr.
                #[allow(clippy::print_stderr)]
                {
                    eprintln!(
                        "docker-credential-ecr-login: cannot log to {}: {e}; logging to stderr",
                        path.display()
                    );
                }
            })
            .ok()
    });
    let layer = tracing_subscriber::fmt::layer()
        .with_ansi(false)
        .with_target(true);
    let registry = tracing_subscriber::registry().with(filter);
    let _ = match file {
        Some(f) => registry.with(layer.with_writer(Mutex::new(f))).try_init(),
        None => registry.with(layer.with_writer(std::io::stderr)).try_init(),
    };
}

/// Opens the log file for appending. On Unix, a FIFO never blocks the
/// open (`O_NONBLOCK`: one with no reader fails at once, and a slow reader
/// drops lines rather than stalling the helper), and the helper's own
/// stdout is refused: the protocol's answer goes there, nothing else may.
fn open_log(path: &Path) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.create(true).append(true);
    // A new log is the user's alone: 0600 on Unix; on Windows it takes
    // its directory's access control list.
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600).custom_flags(libc::O_NONBLOCK);
    }
    let file = options.open(path).map_err(|e| {
        #[cfg(unix)]
        if e.raw_os_error() == Some(libc::ENXIO) {
            return io::Error::other("a FIFO with no reader");
        }
        e
    })?;
    #[cfg(unix)]
    if is_stdout(&file)? {
        return Err(io::Error::other(
            "it is the helper's stdout, which carries the protocol's answer",
        ));
    }
    Ok(file)
}

/// Whether `file` is the same file as descriptor 1 (`/dev/stdout`,
/// `/proc/self/fd/1`, or the file stdout is redirected to).
#[cfg(unix)]
fn is_stdout(file: &File) -> io::Result<bool> {
    use std::os::unix::fs::MetadataExt;
    let log = file.metadata()?;
    // SAFETY: fstat writes into the zeroed struct we own; fd 1 is open
    // (std's start-up opens it on /dev/null if it was closed).
    let mut out: libc::stat = unsafe { std::mem::zeroed() };
    if unsafe { libc::fstat(1, &mut out) } != 0 {
        return Ok(false);
    }
    let same = log.dev() == out.st_dev as u64 && log.ino() == out.st_ino as u64;
    // /dev/null as both corrupts nothing: what is written there is gone.
    let null =
        std::fs::metadata("/dev/null").is_ok_and(|n| n.dev() == log.dev() && n.ino() == log.ino());
    Ok(same && !null)
}
