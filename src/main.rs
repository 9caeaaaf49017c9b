//! Wires the configuration, cache and AWS adapter to the protocol and the
//! command line. Protocol actions skip argument parsing: they are the hot path.
#![deny(clippy::print_stdout, clippy::print_stderr, clippy::dbg_macro)]

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;
use ecr_login::aws::{AwsTokenSource, NetSettings};
use ecr_login::cache::Cache;
use ecr_login::cli::{self, Cli, Command};
use ecr_login::config::Config;
use ecr_login::helper::{self, Credentials, GetError, Helper};
use ecr_login::registries::Routes;
use ecr_login::{configure, error_chain, logging, policy, protocol};

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
    match action.as_deref() {
        Some(a) if cli::is_cli_command(a) => run_cli(Cli::parse(), &source),
        _ => {
            let routes = Routes::new(config.registry_config.clone());
            let app = App {
                helper: Helper {
                    cache: config.cache_dir.clone().map(Cache::new),
                    identity: config.identity.clone(),
                    source: &source,
                    routes: &|r| routes.route(r),
                    now: helper::unix_now,
                    // Whoever holds the lock is itself bounded by the fetch timeout.
                    lock_wait: config.timeout * 5,
                },
                ignore_creds_storage: config.ignore_creds_storage,
            };
            ExitCode::from(protocol::run(
                action.as_deref(),
                &mut std::io::stdin().lock(),
                &mut std::io::stdout().lock(),
                &mut std::io::stderr().lock(),
                &app,
            ))
        }
    }
}

fn run_cli(cli: Cli, source: &AwsTokenSource) -> ExitCode {
    let mut out = std::io::stdout().lock();
    let mut err = std::io::stderr().lock();
    let result = match cli.command {
        // Reached only through `help`-style parsing; the protocol serves these.
        Command::Get | Command::List | Command::Store | Command::Erase | Command::Version => {
            let _ = writeln!(err, "{}", protocol::USAGE);
            return ExitCode::from(1);
        }
        Command::Configure(args) => configure::run(
            &args,
            &|k| std::env::var(k).ok().filter(|v| !v.is_empty()),
            |region| source.caller_account(region).map_err(|e| error_chain(&e)),
            &mut out,
            &mut err,
        )
        .map_err(|e| error_chain(&e)),
        Command::Policy(args) => {
            policy::run(&args, source, &mut out, &mut err).map_err(|e| error_chain(&e))
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            let _ = writeln!(err, "docker-credential-ecr-login: {message}");
            ExitCode::from(1)
        }
    }
}
