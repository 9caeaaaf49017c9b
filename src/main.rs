//! Wires the configuration, cache and AWS adapter to the protocol.
#![deny(clippy::print_stdout, clippy::print_stderr, clippy::dbg_macro)]

use std::process::ExitCode;

use ecr_login::aws::{AwsTokenSource, NetSettings};
use ecr_login::cache::Cache;
use ecr_login::config::Config;
use ecr_login::helper::{self, Credentials, GetError, Helper};
use ecr_login::{logging, protocol};

struct App<'a> {
    helper: Helper<'a>,
    ignore_creds_storage: bool,
}

impl protocol::Backend for App<'_> {
    fn get(&self, server_url: &str) -> Result<Credentials, GetError> {
        self.helper.get(server_url)
    }
    fn list(&self) -> std::collections::BTreeMap<String, String> {
        self.helper.list()
    }
    fn ignore_creds_storage(&self) -> bool {
        self.ignore_creds_storage
    }
}

fn main() -> ExitCode {
    let action = std::env::args().nth(1);
    let config = Config::from_env();
    logging::init(config.log.as_ref());
    for warning in &config.warnings {
        tracing::warn!("{warning}");
    }
    let source = AwsTokenSource::new(NetSettings {
        timeout: config.timeout,
        ca_bundle: config.ca_bundle.clone(),
    });
    let app = App {
        helper: Helper {
            cache: config.cache_dir.clone().map(Cache::new),
            identity: config.identity.clone(),
            source: &source,
            now: helper::unix_now,
            // Whoever holds the lock is itself bounded by the fetch timeout.
            lock_wait: config.timeout * 5,
        },
        ignore_creds_storage: config.ignore_creds_storage,
    };
    let code = protocol::run(
        action.as_deref(),
        &mut std::io::stdin().lock(),
        &mut std::io::stdout().lock(),
        &app,
    );
    ExitCode::from(code)
}
