//! Wires the configuration, cache and AWS adapter to the protocol and the
//! command line. Protocol actions skip argument parsing: they are the hot path.
#![deny(clippy::print_stdout, clippy::print_stderr, clippy::dbg_macro)]

use std::io::Write;

use clap::Parser;
use ecr_login::aws::{AwsTokenSource, NetSettings};
use ecr_login::commands::cli::{self, Cli, Command};
use ecr_login::commands::{configure, doctor, policy};
use ecr_login::config::Config;
use ecr_login::helper::cache::Cache;
use ecr_login::helper::routes::RulesFile;
use ecr_login::helper::{self, Credentials, GetError, Helper, RouteTable};
use ecr_login::serve::{docker, kubelet};
use ecr_login::{error_chain, logging};

struct App<'a> {
    helper: Helper<'a>,
    ignore_creds_storage: bool,
}

impl docker::Backend for App<'_> {
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

/// std's start-up already does what the protocol needs: SIGPIPE is ignored
/// (a closed stdout is an `EPIPE` error, exit 1), fds 0-2 are opened on
/// /dev/null if closed (a log file must never become fd 2), and stdout is
/// flushed at exit; tests/it/faults.rs checks each.
fn main() -> std::process::ExitCode {
    let code = run();
    let _ = std::io::stdout().flush();
    std::process::ExitCode::from(code)
}

fn run() -> u8 {
    // The kubelet's plugin mode first: its arguments are the kubelet's.
    let plugin = kubelet::invoked_as_plugin(std::env::args_os());
    let action = if plugin {
        None
    } else {
        std::env::args().nth(1)
    };
    let config = Config::from_env();
    logging::init(config.log.as_ref());
    for warning in &config.warnings {
        tracing::warn!("{warning}");
    }
    let source = AwsTokenSource::new(NetSettings {
        timeout: config.timeout,
        ca_bundle: config.ca_bundle.clone(),
        static_keys: config.static_keys,
    });
    if plugin {
        return run_kubelet(&config, &source);
    }
    match action.as_deref() {
        Some(a) if cli::is_cli_command(a) => run_cli(Cli::parse(), &config, &source),
        _ => with_helper(&config, &source, |helper| {
            let app = App {
                helper,
                ignore_creds_storage: config.ignore_creds_storage,
            };
            docker::run(
                action.as_deref(),
                &mut std::io::stdin().lock(),
                &mut std::io::stdout().lock(),
                // Not locked for the whole run: the SDK's threads may log.
                &mut std::io::stderr(),
                &app,
            )
        }),
    }
}

/// Runs `f` with the helper every entry point shares: the configured
/// cache, identity and per-registry routes.
fn with_helper<T>(config: &Config, source: &AwsTokenSource, f: impl FnOnce(Helper<'_>) -> T) -> T {
    let routes = rules_file(config);
    f(Helper {
        cache: config.cache_dir.clone().map(Cache::new),
        identity: config.identity.clone(),
        source,
        routes: &routes,
        now: helper::unix_now,
        // Whoever holds the lock is itself bounded by the fetch timeout.
        lock_wait: config.timeout * 5,
    })
}

/// The per-registry rules file: the configured one must exist.
fn rules_file(config: &Config) -> RulesFile {
    let named = ecr_login::config::var(ecr_login::config::CONFIG_FILE_VAR).is_some();
    RulesFile::new(config.registry_config.clone(), named)
}

/// The kubelet image credential provider (`kubelet`, or the executable
/// named `ecr-credential-provider`).
fn run_kubelet(config: &Config, source: &AwsTokenSource) -> u8 {
    with_helper(config, source, |h| {
        kubelet::run(
            &mut std::io::stdin().lock(),
            &mut std::io::stdout().lock(),
            &mut std::io::stderr(),
            &h,
            ecr_login::config::var,
            helper::unix_now(),
        )
    })
}

fn run_cli(cli: Cli, config: &Config, source: &AwsTokenSource) -> u8 {
    let mut out = std::io::stdout().lock();
    let mut err = std::io::stderr();
    let result = match cli.command {
        // Reached only through `help`-style parsing; the protocol serves these.
        Command::Get | Command::List | Command::Store | Command::Erase | Command::Version => {
            let _ = writeln!(err, "{}", docker::USAGE);
            return 1;
        }
        Command::Configure(args) => configure::run(
            &args,
            &ecr_login::config::var,
            |region| source.caller_account(region).map_err(|e| error_chain(&e)),
            &mut out,
            &mut err,
        )
        .map_err(|e| error_chain(&e)),
        Command::Policy(args) => {
            policy::run(&args, source, &mut out, &mut err).map_err(|e| error_chain(&e))
        }
        // `kubelet` is served before argument parsing; this is for completeness.
        Command::Kubelet => return run_kubelet(config, source),
        Command::Doctor(args) => return run_doctor(&args, config, source),
    };
    match result {
        Ok(()) => 0,
        Err(message) => {
            let _ = writeln!(err, "docker-credential-ecr-login: {message}");
            1
        }
    }
}

/// `doctor IMAGE`: the image's registry gets the credentials `get` would use.
fn run_doctor(args: &cli::DoctorArgs, config: &Config, source: &AwsTokenSource) -> u8 {
    let var = ecr_login::config::var;
    let docker_config = if args.no_docker_config {
        doctor::DockerConfig::Skipped
    } else {
        match configure::docker_config_path(args.docker_config.clone(), &var) {
            Err(e) => doctor::DockerConfig::Invalid {
                path: "docker config".into(),
                error: e.to_string(),
            },
            Ok(path) => {
                let shown = path.display().to_string();
                match configure::read_text(&path) {
                    Ok(text) => doctor::DockerConfig::Text { path: shown, text },
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                        doctor::DockerConfig::Missing { path: shown }
                    }
                    Err(e) => doctor::DockerConfig::Invalid {
                        path: shown,
                        error: e.to_string(),
                    },
                }
            }
        }
    };
    let routes = rules_file(config);
    let credentials = doctor::parse_image(&args.image)
        .and_then(|i| ecr_login::registry::parse(&i.host).ok())
        .map(|r| routes.route(&r));
    let credentials = match credentials {
        Some(Err(e)) => {
            let _ = writeln!(std::io::stderr(), "docker-credential-ecr-login: {e}");
            return 1;
        }
        Some(Ok(c)) => c,
        None => ecr_login::registry::CredentialSource::Chain,
    };
    let this = std::env::current_exe().ok();
    let path_warning = configure::path_warning(
        var("PATH").as_deref(),
        var("PATHEXT").as_deref(),
        this.as_deref(),
    );
    let report = doctor::diagnose(
        &args.image,
        &docker_config,
        path_warning.as_deref(),
        &credentials,
        source,
    );
    let text = if args.json {
        serde_json::to_string_pretty(&report).expect("the report serializes")
    } else {
        doctor::render(&report).trim_end().to_owned()
    };
    let _ = writeln!(std::io::stdout(), "{text}");
    report.exit_code
}
