//! Wires the configuration, cache and AWS adapter to the protocol and the
//! command line. Protocol actions skip argument parsing: they are the hot path.
#![deny(clippy::print_stdout, clippy::print_stderr, clippy::dbg_macro)]

use std::ffi::OsString;
use std::io::{self, Write};
use std::sync::atomic::{AtomicBool, Ordering};

use ecr_login::aws::{AwsTokenSource, NetSettings};
use ecr_login::commands::cli::{self, Cli, Command, Route};
use ecr_login::commands::{configure, doctor, policy};
use ecr_login::config::Config;
use ecr_login::helper::cache::Cache;
use ecr_login::helper::routes::RulesFile;
use ecr_login::helper::{self, Credentials, GetError, Helper};
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

/// std's start-up does most of what the protocol needs: SIGPIPE is ignored
/// (a stdout whose reader is gone is an `EPIPE` error, exit 1), fds 0-2 are
/// opened on /dev/null if closed (a log file must never become fd 2), and
/// stdout is flushed at exit; tests/it/faults.rs checks each. What it hides,
/// a stdout that was closed, [`Stdout`] tells.
fn main() -> std::process::ExitCode {
    let code = run();
    let _ = std::io::stdout().flush();
    std::process::ExitCode::from(code)
}

/// Whether fd 1 was closed when the process was started (`cmd >&-`).
/// std's start-up then opens it on /dev/null, where every write succeeds
/// unseen; this constructor runs before that, and only looks.
static STDOUT_CLOSED_AT_START: AtomicBool = AtomicBool::new(false);

#[cfg(unix)]
extern "C" fn note_a_closed_stdout() {
    // SAFETY: F_GETFD reads the descriptor's flags and touches nothing.
    if unsafe { libc::fcntl(libc::STDOUT_FILENO, libc::F_GETFD) } == -1 {
        STDOUT_CLOSED_AT_START.store(true, Ordering::Relaxed);
    }
}

// A constructor, run by the C runtime before Rust's start-up. (Windows
// needs none: std does not replace a missing standard handle there.)
#[cfg(unix)]
#[used]
#[cfg_attr(
    target_vendor = "apple",
    unsafe(link_section = "__DATA,__mod_init_func")
)]
#[cfg_attr(not(target_vendor = "apple"), unsafe(link_section = ".init_array"))]
static NOTE_A_CLOSED_STDOUT: extern "C" fn() = note_a_closed_stdout;

/// The process's stdout, for every command: writing to a stdout that was
/// closed at start is an error, as writing to a full one is.
/// Nothing written, nothing wrong: `store` may succeed with no stdout.
struct Stdout {
    inner: io::StdoutLock<'static>,
    closed: bool,
}

impl Stdout {
    fn new() -> Stdout {
        Stdout {
            inner: io::stdout().lock(),
            closed: STDOUT_CLOSED_AT_START.load(Ordering::Relaxed),
        }
    }
}

impl Write for Stdout {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.closed && !buf.is_empty() {
            return Err(io::Error::other("stdout is closed"));
        }
        self.inner.write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

fn run() -> u8 {
    let args: Vec<OsString> = std::env::args_os().collect();
    // The kubelet's plugin mode first: its arguments are the kubelet's.
    let plugin = kubelet::invoked_as_plugin(args.iter().cloned());
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
    match cli::route(args.get(1..).unwrap_or_default()) {
        Route::Clap => match cli::parse(&args) {
            Ok(cli) => run_cli(cli, &config, &source),
            Err(e) => clap_message(&e),
        },
        Route::Protocol(action) => with_helper(&config, &source, |helper| {
            let app = App {
                helper,
                ignore_creds_storage: config.ignore_creds_storage,
            };
            docker::run(
                action,
                &mut std::io::stdin().lock(),
                &mut Stdout::new(),
                // Not locked for the whole run: the SDK's threads may log.
                &mut std::io::stderr(),
                &app,
            )
        }),
    }
}

/// What clap has to say instead of a command: help asked for (stdout,
/// exit 0, as every command's --help), or a usage error (stderr, exit 1, as
/// the protocol's usage: doctor's exit 2 means "not an ECR image").
fn clap_message(e: &clap::Error) -> u8 {
    let text = e.render().to_string();
    if e.use_stderr() {
        let _ = write!(std::io::stderr(), "{text}");
        return 1;
    }
    let mut out = Stdout::new();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => 0,
        Err(e) => {
            let _ = writeln!(
                std::io::stderr(),
                "docker-credential-ecr-login: cannot write the help: {e}"
            );
            1
        }
    }
}

/// Runs `f` with the helper every entry point shares: the configured
/// cache, identity and per-registry routes.
fn with_helper<T>(config: &Config, source: &AwsTokenSource, f: impl FnOnce(Helper<'_>) -> T) -> T {
    let routes = rules_file(config, source);
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

/// The per-registry rules file: the configured one must exist, and so
/// must the profiles its rules name.
fn rules_file(config: &Config, source: &AwsTokenSource) -> RulesFile {
    let named = ecr_login::config::var(ecr_login::config::CONFIG_FILE_VAR).is_some();
    let source = source.clone();
    RulesFile::new(config.registry_config.clone(), named)
        .with_profile_check(Box::new(move |name| source.profile_exists(name)))
}

/// The kubelet image credential provider (`kubelet`, or the executable
/// named `ecr-credential-provider`).
fn run_kubelet(config: &Config, source: &AwsTokenSource) -> u8 {
    with_helper(config, source, |h| {
        kubelet::run(
            &mut std::io::stdin().lock(),
            &mut Stdout::new(),
            &mut std::io::stderr(),
            &h,
            ecr_login::config::var,
            helper::unix_now(),
        )
    })
}

fn run_cli(cli: Cli, config: &Config, source: &AwsTokenSource) -> u8 {
    let mut out = Stdout::new();
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
            &rules_file(config, source),
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
    // What is still buffered is part of the answer too.
    let result = result.and_then(|()| {
        out.flush()
            .map_err(|e| format!("cannot write the output: {e}"))
    });
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
    let routes = rules_file(config, source);
    let (credentials, alias) = match doctor::routes_for(&args.image, &routes) {
        Err(e) => {
            let _ = writeln!(std::io::stderr(), "docker-credential-ecr-login: {e}");
            return 1;
        }
        Ok(found) => found,
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
        alias.as_ref(),
        source,
    );
    let text = if args.json {
        serde_json::to_string_pretty(&report).expect("the report serializes")
    } else {
        doctor::render(&report).trim_end().to_owned()
    };
    let mut out = Stdout::new();
    match writeln!(out, "{text}").and_then(|()| out.flush()) {
        Ok(()) => report.exit_code,
        Err(e) => {
            let _ = writeln!(
                std::io::stderr(),
                "docker-credential-ecr-login: cannot write the report: {e}"
            );
            1
        }
    }
}
