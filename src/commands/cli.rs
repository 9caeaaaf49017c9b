//! The command line beyond the docker protocol. Protocol actions (`get`,
//! `list`, ...) never go through here: they take the fast path in `main`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "docker-credential-ecr-login",
    about = "Docker credential helper for Amazon ECR, built for cross-account pulls",
    long_about = "Docker credential helper for Amazon ECR, built for cross-account pulls.\n\n\
        docker runs it through \"credHelpers\" in ~/.docker/config.json: it reads the registry \
        host on stdin and prints a token fetched with your own AWS credentials for the \
        registry's account.",
    disable_version_flag = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Read a registry URL on stdin and print its credentials as JSON (docker protocol)
    Get,
    /// Print the registries that have a cached token (docker protocol; no network)
    List,
    /// Not supported; a no-op with AWS_ECR_IGNORE_CREDS_STORAGE=true (docker protocol)
    Store,
    /// Not supported; a no-op with AWS_ECR_IGNORE_CREDS_STORAGE=true (docker protocol)
    Erase,
    /// Print the bare version, as scripts parse it (--version, -v: with the git commit)
    Version,
    /// Add credHelpers entries for ECR registries to the docker config (and containers auth.json)
    Configure(ConfigureArgs),
    /// Print (or apply) the repository policy and the identity policy a cross-account pull needs
    Policy(PolicyArgs),
    /// Serve the kubelet as its image credential provider (KEP-2133)
    ///
    /// Reads a CredentialProviderRequest (credentialprovider.kubelet.k8s.io/v1, v1beta1 or
    /// v1alpha1) on stdin and prints a CredentialProviderResponse with the registry's token,
    /// cached for half its remaining lifetime. The executable named ecr-credential-provider
    /// (a symlink or a copy) does the same whatever its arguments: point the kubelet's
    /// --image-credential-provider-bin-dir at it. On failure: nothing on stdout, one line on
    /// stderr, exit code 1.
    ///
    /// When the request carries a serviceAccountToken (Kubernetes 1.33+), the token is exchanged
    /// through STS AssumeRoleWithWebIdentity for the role named by the service account's
    /// eks.amazonaws.com/ecr-role-arn annotation, else by AWS_ECR_KUBELET_ROLE_ARN; with neither,
    /// with an empty token, or with a role of another partition than the registry's, the request
    /// fails: never the node's credentials instead. See packaging/kubernetes/README.md.
    Kubelet,
    /// Explain why an image cannot be pulled: walks host, docker config, credentials, token, repository
    ///
    /// Stops at the first broken link and prints the fix, with the policy statement to add when
    /// one is missing. Exit codes: 0 the image can be pulled, 2 not an ECR image, 3 the docker
    /// config does not route the registry here, 4 no credentials, 5 the token is denied (the
    /// caller's IAM policy), 6 the repository policy denies, 7 the caller's IAM policy denies,
    /// 8 no such repository or image, 9 another AWS error.
    Doctor(DoctorArgs),
}

#[derive(Debug, Args)]
pub struct DoctorArgs {
    /// The image, e.g. 111111111111.dkr.ecr.ap-southeast-1.amazonaws.com/audit/sa/cicd-runner:latest
    pub image: String,
    /// Print the report as JSON
    #[arg(long)]
    pub json: bool,
    /// The docker config to check [default: $DOCKER_CONFIG/config.json or ~/.docker/config.json]
    #[arg(long, value_name = "PATH")]
    pub docker_config: Option<PathBuf>,
    /// Skip the docker config check (kubelet nodes, podman with auth.json)
    #[arg(long, conflicts_with = "docker_config")]
    pub no_docker_config: bool,
}

#[derive(Debug, Args)]
pub struct PolicyArgs {
    /// The registry, as its host: gives the account, region and partition
    #[arg(long, value_name = "HOST", conflicts_with = "registry_account")]
    pub registry: Option<String>,
    /// The registry's account ID, with --region
    #[arg(long, value_name = "ID", requires = "region")]
    pub registry_account: Option<String>,
    /// The registry's region, with --registry-account
    #[arg(long, value_name = "REGION")]
    pub region: Option<String>,
    /// A repository (repeatable); without one the identity policy covers them all
    #[arg(long = "repository", value_name = "NAME")]
    pub repositories: Vec<String>,
    /// Let this account's principals pull (repeatable)
    #[arg(long = "allow-account", value_name = "ID")]
    pub allow_accounts: Vec<String>,
    /// Let every account of this AWS Organization pull (aws:PrincipalOrgID)
    #[arg(long = "allow-org", value_name = "o-xxxxxxxxxx")]
    pub allow_orgs: Vec<String>,
    /// Let the accounts below this organization path pull (aws:PrincipalOrgPaths; repeatable)
    #[arg(long = "allow-org-path", value_name = "o-xxx/r-xxx/ou-xxx/")]
    pub allow_org_paths: Vec<String>,
    /// pull, or push (which adds the push actions)
    #[arg(long, value_enum, default_value = "pull")]
    pub access: crate::commands::policy::Access,
    /// Print only this document, as plain JSON
    #[arg(long, value_enum, conflicts_with = "apply")]
    pub document: Option<crate::commands::policy::Document>,
    /// Set the repository policy on each --repository (SetRepositoryPolicy): adds the named principals and actions to this tool's statements, takes nothing away
    #[arg(long)]
    pub apply: bool,
    /// With --apply: show the change, write nothing
    #[arg(long, requires = "apply")]
    pub dry_run: bool,
    /// With --apply: take the named accounts, organizations and paths out of this tool's statements, saying what is lost
    #[arg(long, requires = "apply", conflicts_with_all = ["replace", "access"])]
    pub revoke: bool,
    /// With --apply: make this tool's statements exactly what is named, --access included, saying what is lost
    #[arg(long, requires = "apply")]
    pub replace: bool,
}

#[derive(Debug, Args)]
pub struct ConfigureArgs {
    /// An ECR registry host, or an alias the rules file names, to route to this helper (repeatable)
    #[arg(long = "registry", value_name = "HOST")]
    pub registries: Vec<String>,
    /// A registry account ID, with --region (repeatable)
    #[arg(long = "account", value_name = "ID")]
    pub accounts: Vec<String>,
    /// The region of the --account registries, or of the default registry
    #[arg(long, value_name = "REGION")]
    pub region: Option<String>,
    /// The docker config file [default: $DOCKER_CONFIG/config.json or ~/.docker/config.json]
    #[arg(long, value_name = "PATH")]
    pub docker_config: Option<PathBuf>,
    /// Also configure the containers auth.json read by podman, skopeo and buildah
    #[arg(long)]
    pub containers: bool,
    /// The containers auth file, implies --containers [default: $REGISTRY_AUTH_FILE or $XDG_CONFIG_HOME/containers/auth.json]
    #[arg(long, value_name = "PATH")]
    pub containers_auth: Option<PathBuf>,
    /// Leave the docker config alone (with --containers: configure only auth.json)
    #[arg(long)]
    pub no_docker: bool,
    /// Print the resulting files instead of writing them
    #[arg(long)]
    pub dry_run: bool,
    /// Take the entries out again
    #[arg(long)]
    pub remove: bool,
}

/// Whether `arg` names a command for clap rather than the protocol.
pub fn is_cli_command(arg: &str) -> bool {
    matches!(
        arg,
        "configure" | "policy" | "doctor" | "kubelet" | "help" | "--help" | "-h"
    )
}

/// The docker protocol's actions: served without clap when they come alone.
const PROTOCOL_ACTIONS: [&str; 5] = ["get", "list", "store", "erase", "version"];

/// Where the arguments (without the program name) go.
#[derive(Debug, PartialEq, Eq)]
pub enum Route<'a> {
    /// The docker protocol: an action alone (docker never adds more), no
    /// action (usage), `--version`, or an unknown first argument (usage).
    Protocol(Option<&'a str>),
    /// clap: the other commands, and a protocol action with more
    /// arguments (`get --help` is help, `get --bogus` a usage error; neither
    /// may read stdin as a request).
    Clap,
}

/// Routes without parsing: the protocol's hot path looks at two arguments.
pub fn route(args: &[std::ffi::OsString]) -> Route<'_> {
    let Some(first) = args.first() else {
        return Route::Protocol(None);
    };
    // A first argument that is not UTF-8 is no action: usage.
    let Some(first) = first.to_str() else {
        return Route::Protocol(Some(""));
    };
    if is_cli_command(first) || (args.len() > 1 && PROTOCOL_ACTIONS.contains(&first)) {
        Route::Clap
    } else {
        Route::Protocol(Some(first))
    }
}

/// Parses the arguments for clap (`args` with the program name first).
/// `help --help` asks for the top-level help, as `--help` does.
pub fn parse(args: &[std::ffi::OsString]) -> Result<Cli, clap::Error> {
    match args {
        [name, help, flag] if help == "help" && (flag == "--help" || flag == "-h") => {
            Cli::try_parse_from([name.as_os_str(), std::ffi::OsStr::new("--help")])
        }
        _ => Cli::try_parse_from(args),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn configure_flags_parse() {
        let cli = Cli::try_parse_from([
            "x",
            "configure",
            "--registry",
            "a",
            "--registry",
            "b",
            "--account",
            "111111111111",
            "--region",
            "us-east-1",
            "--containers-auth",
            "/a.json",
            "--dry-run",
        ])
        .unwrap();
        let Command::Configure(a) = cli.command else {
            panic!()
        };
        assert_eq!(a.registries, ["a", "b"]);
        assert_eq!(a.accounts, ["111111111111"]);
        assert_eq!(a.region.as_deref(), Some("us-east-1"));
        assert!(a.dry_run && !a.remove && !a.containers);
    }

    #[test]
    fn taking_access_away_is_explicit_and_needs_apply() {
        let parse = |extra: &[&str]| {
            let mut args = vec!["x", "policy", "--registry", "h", "--allow-account", "2"];
            args.extend_from_slice(extra);
            Cli::try_parse_from(args)
        };
        let policy = |extra: &[&str]| match parse(extra).unwrap().command {
            Command::Policy(a) => a,
            other => panic!("{other:?}"),
        };
        let merge = policy(&["--apply"]);
        assert!(merge.apply && !merge.revoke && !merge.replace);
        assert!(policy(&["--apply", "--revoke"]).revoke);
        assert!(policy(&["--apply", "--replace", "--access", "push"]).replace);
        for refused in [
            &["--revoke"][..],
            &["--replace"],
            &["--apply", "--revoke", "--replace"],
            // --revoke takes principals out whole, whatever their access.
            &["--apply", "--revoke", "--access", "pull"],
        ] {
            assert!(parse(refused).is_err(), "{refused:?}");
        }
    }

    #[test]
    fn protocol_actions_alone_skip_clap() {
        let os = |a: &[&str]| a.iter().map(std::ffi::OsString::from).collect::<Vec<_>>();
        for action in PROTOCOL_ACTIONS.iter().chain(&["--version", "-v", "bogus"]) {
            assert_eq!(route(&os(&[action])), Route::Protocol(Some(action)));
        }
        assert_eq!(route(&[]), Route::Protocol(None));
        for args in [
            &["get", "--help"][..],
            &["list", "-h"],
            &["store", "--bogus"],
            &["version", "--help"],
            &["help", "--help"],
            &["configure"],
            &["--help"],
        ] {
            assert_eq!(route(&os(args)), Route::Clap, "{args:?}");
        }
    }

    #[test]
    fn help_for_every_action_and_for_help() {
        for action in PROTOCOL_ACTIONS.iter().chain(&["help", "configure"]) {
            for flag in ["--help", "-h"] {
                let err = parse(&["x", action, flag].map(std::ffi::OsString::from)).unwrap_err();
                assert_eq!(
                    err.kind(),
                    clap::error::ErrorKind::DisplayHelp,
                    "{action} {flag}"
                );
            }
        }
        let err = parse(&["x", "get", "--bogus"].map(std::ffi::OsString::from)).unwrap_err();
        assert!(err.use_stderr());
    }

    #[test]
    fn kubelet_is_a_command() {
        assert!(is_cli_command("kubelet"));
        let cli = Cli::try_parse_from(["x", "kubelet"]).unwrap();
        assert!(matches!(cli.command, Command::Kubelet));
    }
}
