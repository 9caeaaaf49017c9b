//! Levelled logs, off unless asked for: docker shows the helper's stderr
//! to the user. Only this crate logs: the SDK's own events print errors by
//! `Debug`, with raw response bodies that can hold tokens or credentials,
//! so they are never let through. Our errors carry their causes instead.

use std::fs::OpenOptions;
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
        let mut options = OpenOptions::new();
        options.create(true).append(true);
        // A new log is the user's alone: 0600 on Unix; on Windows it takes
        // its directory's access control list.
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        options
            .open(path)
            .inspect_err(|e| {
                // Logging was asked for; say once why it goes to stderr.
                #[allow(clippy::print_stderr)]
                {
                    eprintln!("docker-credential-ecr-login: cannot open log file {}: {e}; logging to stderr", path.display());
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
