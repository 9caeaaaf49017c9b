//! Packaging: the generated man page and shell completions, and the package
//! definitions kept in step with each other.
//!
//! The man page `docker-credential-ecr-login(1)` and the bash, zsh and fish
//! completions are generated from the clap definition (`ecr_login::commands::cli::Cli`)
//! and checked in under `packaging/`, so that neither the release binary nor
//! the package build needs a generator. When the command line changes, the
//! check below fails; regenerate with
//!
//!     UPDATE_GENERATED=1 cargo test --test it packaging::
//!
//! The other tests hold `packaging/files.txt` (what `scripts/package.sh`
//! installs), `[package.metadata.deb]`, `[package.metadata.generate-rpm]`, the
//! RPM spec, the Homebrew formula, the changelog and the README's variable
//! table to one another.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use clap::{Arg, ArgAction, CommandFactory};
use clap_complete::Shell;
use clap_mangen::Man;
use clap_mangen::roff::{Roff, bold, italic, roman};

const NAME: &str = "docker-credential-ecr-login";
const PROVIDER: &str = "ecr-credential-provider";
const UPDATE: &str = "UPDATE_GENERATED=1 cargo test --test it packaging::";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn read(path: &str) -> String {
    std::fs::read_to_string(root().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The command line as documented: the clap definition, plus the version
/// flags the protocol serves before clap ever runs.
fn command() -> clap::Command {
    let mut cmd = ecr_login::commands::cli::Cli::command()
        .version(env!("CARGO_PKG_VERSION"))
        .arg(
            Arg::new("version")
                .short('v')
                .long("version")
                .action(ArgAction::Version)
                .help("Print the version and the git commit it was built from (version: the bare version)"),
        );
    cmd.build();
    cmd
}

// --- the man page ------------------------------------------------------------------

/// Environment variables: (names, description). Every variable of README's
/// configuration table must be here (checked below).
const ENVIRONMENT: &[(&str, &str)] = &[
    (
        "AWS_ECR_CACHE_DIR",
        "The token cache directory. Default: $XDG_CACHE_HOME/docker-credential-ecr-login, \
         that is ~/.cache/docker-credential-ecr-login. A leading ~/ is expanded.",
    ),
    (
        "AWS_ECR_DISABLE_CACHE",
        "Any value but 0, false, no or off turns the cache off.",
    ),
    (
        "AWS_ECR_IGNORE_CREDS_STORAGE",
        "Exactly true: store and erase succeed and do nothing, so that docker login and \
         docker logout keep working.",
    ),
    (
        "AWS_ECR_LOG",
        "The log level: off (the default), error, warn, info, debug or trace. Logs go to \
         stderr, never to stdout, and never contain a token or a secret key.",
    ),
    (
        "AWS_ECR_LOG_FILE",
        "Log to this file (appended, mode 0600) instead of stderr; set alone, it logs at info.",
    ),
    (
        "AWS_ECR_CONFIG_FILE",
        "The per-registry credentials file: a profile, an assumed role or web identity by \
         account, host or glob and region. Default: \
         ~/.config/docker-credential-ecr-login/config.toml.",
    ),
    (
        "AWS_ECR_KUBELET_ROLE_ARN",
        "kubelet mode: the role assumed for a service-account token when the service account \
         has no eks.amazonaws.com/ecr-role-arn annotation.",
    ),
    (
        "AWS_ECR_TIMEOUT",
        "Seconds each network call may take (default 10; connecting at most 3). The whole \
         fetch, retries included, is bounded by 4 times this.",
    ),
    (
        "AWS_CA_BUNDLE",
        "A PEM bundle trusted instead of the system roots, as the AWS CLI does.",
    ),
    (
        "SSL_CERT_FILE, SSL_CERT_DIR",
        "Where the system roots are, when AWS_CA_BUNDLE is unset.",
    ),
    (
        "HTTPS_PROXY, HTTP_PROXY, NO_PROXY",
        "The proxy for the AWS API calls (the lower-case names too).",
    ),
    (
        "AWS_PROFILE, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, \
         AWS_CONFIG_FILE, AWS_SHARED_CREDENTIALS_FILE, AWS_ROLE_ARN, AWS_WEB_IDENTITY_TOKEN_FILE",
        "The standard AWS credential chain: environment variables, profiles of the shared \
         config files (SSO and credential_process included), web identity (EKS IRSA), ECS \
         container credentials, then EC2 instance metadata. The token cache is keyed by the \
         identity these select.",
    ),
    (
        "AWS_ENDPOINT_URL, AWS_ENDPOINT_URL_ECR, AWS_ENDPOINT_URL_ECR_PUBLIC, AWS_ENDPOINT_URL_STS",
        "Endpoint overrides for the AWS APIs.",
    ),
    (
        "AWS_EC2_METADATA_DISABLED",
        "true skips the EC2 instance metadata service.",
    ),
    (
        "DOCKER_CONFIG",
        "configure and doctor: the directory of the docker config.json \
         (default ~/.docker).",
    ),
    (
        "REGISTRY_AUTH_FILE, XDG_CONFIG_HOME",
        "configure --containers: the containers auth file \
         (default $XDG_CONFIG_HOME/containers/auth.json, i.e. ~/.config/containers/auth.json, \
         which podman, skopeo and buildah read too; not the tmpfs under $XDG_RUNTIME_DIR).",
    ),
];

const FILES: &[(&str, &str)] = &[
    (
        "~/.docker/config.json",
        "The docker config. Its \"credHelpers\" map each registry host to \"ecr-login\", \
         which makes docker run this helper (see configure).",
    ),
    (
        "~/.cache/docker-credential-ecr-login/",
        "The token cache (AWS_ECR_CACHE_DIR): one JSON file per registry and identity, mode \
         0600 in a 0700 directory, written atomically under a lock.",
    ),
    (
        "~/.config/docker-credential-ecr-login/config.toml",
        "The per-registry credentials file (AWS_ECR_CONFIG_FILE); optional.",
    ),
    (
        "/usr/libexec/docker-credential-ecr-login/ecr-credential-provider",
        "The kubelet image credential provider: a link to this program, in a directory to \
         give the kubelet as --image-credential-provider-bin-dir.",
    ),
    (
        "/usr/share/doc/docker-credential-ecr-login/kubernetes/",
        "A sample kubelet CredentialProviderConfig for every ECR host form, and the node \
         installation guide.",
    ),
];

const EXIT_STATUS: &[(&str, &str)] = &[
    ("0", "Success."),
    (
        "1",
        "The action failed: get found no credentials (it prints \"credentials not found in \
         native keychain\", which makes docker pull anonymously), no action or an unknown one, \
         or any other usage error (the usage goes to stderr), store or erase without \
         AWS_ECR_IGNORE_CREDS_STORAGE=true, a failed kubelet request (nothing on stdout, one \
         line on stderr), configure or policy failed, or standard output could not be written \
         (closed or full).",
    ),
    ("2", "doctor: not an ECR image."),
    (
        "3\u{2013}9",
        "doctor: the first broken link between the image and a pull (see doctor above).",
    ),
];

const EXAMPLES: &[(&str, &str)] = &[
    (
        "What docker does on a pull from account 111111111111's registry:",
        "echo 111111111111.dkr.ecr.us-east-1.amazonaws.com | docker-credential-ecr-login get",
    ),
    (
        "Route the registry to this helper in ~/.docker/config.json:",
        "docker-credential-ecr-login configure --registry 111111111111.dkr.ecr.us-east-1.amazonaws.com",
    ),
    (
        "The policies that let account 222222222222 pull team/app:",
        "docker-credential-ecr-login policy \\\n    \
         --registry 111111111111.dkr.ecr.us-east-1.amazonaws.com \\\n    \
         --repository team/app --allow-account 222222222222",
    ),
    (
        "Why an image does not pull:",
        "docker-credential-ecr-login doctor 111111111111.dkr.ecr.us-east-1.amazonaws.com/team/app:1.0",
    ),
    (
        "See the helper's reasons while docker pulls:",
        "AWS_ECR_LOG=info AWS_ECR_LOG_FILE=/tmp/ecr-login.log \\\n    \
         docker pull 111111111111.dkr.ecr.us-east-1.amazonaws.com/team/app:1.0",
    ),
];

/// The `.ie`/`.el` preamble roff puts in front of every rendering.
const ROFF_PREAMBLE: &str = ".ie \\n(.g .ds Aq \\(aq\n.el .ds Aq '\n";

/// Roff source without the preamble and, with `drop_heading`, without its
/// first `.SH` line.
fn body(rendered: &[u8], drop_heading: bool) -> String {
    let text = String::from_utf8(rendered.to_vec()).expect("roff is UTF-8");
    let text = text.strip_prefix(ROFF_PREAMBLE).unwrap_or(&text);
    if drop_heading && text.starts_with(".SH ") {
        text.split_once('\n')
            .map_or("", |(_, rest)| rest)
            .to_owned()
    } else {
        text.to_owned()
    }
}

fn render(part: impl FnOnce(&mut Vec<u8>) -> std::io::Result<()>, drop_heading: bool) -> String {
    let mut buf = Vec::new();
    part(&mut buf).expect("rendering into memory");
    body(&buf, drop_heading)
}

fn roff(build: impl FnOnce(&mut Roff)) -> String {
    let mut r = Roff::new();
    build(&mut r);
    body(r.render().as_bytes(), false)
}

/// Tagged paragraphs: `.TP`, the bold tag, the text.
fn tagged(r: &mut Roff, items: &[(&str, &str)]) {
    for (tag, text) in items {
        r.control("TP", []).text([bold(*tag)]).text([roman(*text)]);
    }
}

fn man_page() -> String {
    let cmd = command();
    let man = Man::new(cmd.clone())
        .title(NAME.to_uppercase())
        .manual("User Commands");
    let subcommands: Vec<clap::Command> = ecr_login::commands::cli::Cli::command()
        .get_subcommands()
        .filter(|s| !s.is_hide_set())
        .map(|s| {
            let mut s = s.clone().bin_name(format!("{NAME} {}", s.get_name()));
            s.build();
            s
        })
        .collect();

    let mut page = String::from(ROFF_PREAMBLE);
    page += &render(|w| man.render_title(w), false);
    page += &render(|w| man.render_name_section(w), false);

    // SYNOPSIS: the top level, each command, and the kubelet's name.
    page += &render(|w| man.render_synopsis_section(w), false);
    for sub in &subcommands {
        page += ".br\n";
        page += &render(|w| Man::new(sub.clone()).render_synopsis_section(w), true);
    }
    page += &roff(|r| {
        r.control("br", []).text([
            bold(PROVIDER),
            roman(" < "),
            italic("CredentialProviderRequest"),
        ]);
    });

    page += &render(|w| man.render_description_section(w), false);
    page += &roff(|r| {
        r.control("PP", []).text([roman(
            "The registries it serves are those that \"credHelpers\" map to \"ecr-login\". \
             get answers {\"ServerURL\",\"Username\",\"Secret\"} on its standard output. The \
             token comes from ECR's GetAuthorizationToken, called with the caller's own AWS \
             credentials for the account in the registry's host, in the host's region, and is \
             cached while at least half its lifetime is left. Hosts that are not ECR are \
             refused with no AWS call and no file touched. On any failure get prints \
             \"credentials not found in native keychain\" and exits 1, so that docker pulls \
             anonymously; AWS_ECR_LOG=info tells why.",
        )]);
        r.control("PP", []).text([
            roman("Invoked as "),
            bold(PROVIDER),
            roman(
                " (a link to or a copy of this program), it serves the kubelet as its image \
                 credential provider whatever its arguments, as the kubelet command does.",
            ),
        ]);
    });
    page += &render(|w| man.render_options_section(w), false);

    // COMMANDS: each with its synopsis, description and options.
    page += ".SH COMMANDS\n";
    for sub in &subcommands {
        let sub_man = Man::new(sub.clone());
        page += &roff(|r| {
            r.control("SS", [sub.get_name()]);
        });
        page += &render(|w| sub_man.render_synopsis_section(w), true);
        page += ".PP\n";
        page += &render(|w| sub_man.render_description_section(w), true);
        if sub
            .get_arguments()
            .any(|a| a.get_id() != "help" && !a.is_hide_set())
        {
            page += &render(|w| sub_man.render_options_section(w), true);
        }
    }

    page += &roff(|r| {
        r.control("SH", ["ENVIRONMENT"]);
        tagged(r, ENVIRONMENT);
        r.control("SH", ["FILES"]);
        tagged(r, FILES);
        r.control("SH", ["EXIT STATUS"]);
        tagged(r, EXIT_STATUS);
        r.control("SH", ["EXAMPLES"]);
        for (text, example) in EXAMPLES {
            r.control("PP", []).text([roman(*text)]);
            r.control("RS", ["4"]).control("nf", []);
            r.text([roman(*example)]);
            r.control("fi", []).control("RE", []);
        }
        r.control("SH", ["SEE ALSO"]).text([
            bold("docker-login"),
            roman("(1), "),
            bold("podman-login"),
            roman("(1), /usr/share/doc/docker-credential-ecr-login/README.md, "),
            roman("/usr/share/doc/docker-credential-ecr-login/kubernetes/README.md"),
        ]);
    });
    page += &render(|w| man.render_version_section(w), false);
    page
}

fn completion(shell: Shell) -> String {
    let mut cmd = command();
    let mut buf = Vec::new();
    clap_complete::generate(shell, &mut cmd, NAME, &mut buf);
    String::from_utf8(buf).expect("completions are UTF-8")
}

/// Every generated file: (path in the repository, contents).
fn generated() -> Vec<(&'static str, String)> {
    vec![
        ("packaging/man/docker-credential-ecr-login.1", man_page()),
        (
            "packaging/completions/docker-credential-ecr-login.bash",
            completion(Shell::Bash),
        ),
        (
            "packaging/completions/_docker-credential-ecr-login",
            completion(Shell::Zsh),
        ),
        (
            "packaging/completions/docker-credential-ecr-login.fish",
            completion(Shell::Fish),
        ),
    ]
}

#[test]
fn generated_man_page_and_completions_are_up_to_date() {
    let update = std::env::var("UPDATE_GENERATED").is_ok_and(|v| v == "1");
    let mut stale = Vec::new();
    for (path, contents) in generated() {
        let full = root().join(path);
        if std::fs::read_to_string(&full).ok().as_deref() == Some(contents.as_str()) {
            continue;
        }
        if update {
            std::fs::create_dir_all(full.parent().unwrap()).unwrap();
            std::fs::write(&full, contents).unwrap_or_else(|e| panic!("{path}: {e}"));
            eprintln!("updated {path}");
        } else {
            stale.push(path);
        }
    }
    assert!(
        stale.is_empty(),
        "generated files are stale (the command line or the version changed): {stale:?}\n\
         run `{UPDATE}` and commit the result"
    );
}

#[test]
fn the_man_page_documents_every_variable_of_the_readme() {
    let readme = read("README.md");
    let documented: BTreeSet<&str> = ENVIRONMENT
        .iter()
        .flat_map(|(names, _)| names.split(", "))
        .collect();
    let mut in_readme = BTreeSet::new();
    // The first column of the README's variable tables.
    for line in readme.lines().filter(|l| l.starts_with("| `")) {
        let first = line.split('|').nth(1).unwrap_or_default();
        for name in first.split('`').skip(1).step_by(2) {
            if name.len() > 3 && name.chars().all(|c| c.is_ascii_uppercase() || c == '_') {
                in_readme.insert(name.to_owned());
            }
        }
    }
    assert!(
        in_readme.contains("AWS_ECR_CACHE_DIR"),
        "README's table not found"
    );
    let missing: Vec<_> = in_readme
        .iter()
        .filter(|n| !documented.contains(n.as_str()))
        .collect();
    assert!(
        missing.is_empty(),
        "README documents {missing:?}, the man page does not: add them to ENVIRONMENT in \
         tests/it/packaging.rs and run `{UPDATE}`"
    );
}

#[test]
fn the_man_page_covers_every_command() {
    let page = man_page();
    for sub in command().get_subcommands() {
        if sub.get_name() != "help" {
            assert!(
                page.contains(&format!(".SS {}\n", sub.get_name())),
                "{}",
                sub.get_name()
            );
        }
    }
    for section in [
        "ENVIRONMENT",
        "FILES",
        "\"EXIT STATUS\"",
        "EXAMPLES",
        "\"SEE ALSO\"",
    ] {
        assert!(page.contains(&format!(".SH {section}\n")), "{section}");
    }
}

// --- the packages ----------------------------------------------------------------------

/// An entry of packaging/files.txt.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Entry {
    link: bool,
    mode: u32,
    dest: String,
    source: String,
}

fn files_txt() -> Vec<Entry> {
    let entries: Vec<Entry> = read("packaging/files.txt")
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            assert_eq!(f.len(), 4, "packaging/files.txt: {line}");
            assert!(
                f[0] == "file" || f[0] == "link",
                "packaging/files.txt: {line}"
            );
            Entry {
                link: f[0] == "link",
                mode: u32::from_str_radix(f[1], 8).expect("octal mode"),
                dest: f[2].to_owned(),
                source: f[3].to_owned(),
            }
        })
        .collect();
    // (While regenerating, the generated sources may not exist yet.)
    let updating = std::env::var("UPDATE_GENERATED").is_ok_and(|v| v == "1");
    for e in entries
        .iter()
        .filter(|e| !e.link && e.source != "@binary" && !updating)
    {
        assert!(
            root().join(&e.source).is_file(),
            "packaging/files.txt: {} does not exist",
            e.source
        );
    }
    entries
}

fn cargo_toml() -> toml::Table {
    read("Cargo.toml").parse().expect("Cargo.toml parses")
}

fn table<'a>(t: &'a toml::Table, path: &[&str]) -> &'a toml::Table {
    path.iter().fold(t, |t, k| {
        t.get(*k)
            .and_then(toml::Value::as_table)
            .unwrap_or_else(|| panic!("Cargo.toml: no [{}]", path.join(".")))
    })
}

fn string<'a>(t: &'a toml::Table, key: &str) -> &'a str {
    t.get(key)
        .and_then(toml::Value::as_str)
        .unwrap_or_else(|| panic!("Cargo.toml: no {key}"))
}

#[test]
fn the_files_list_installs_the_binary_the_provider_link_and_the_docs() {
    let entries = files_txt();
    let dests: BTreeSet<&str> = entries.iter().map(|e| e.dest.as_str()).collect();
    for dest in [
        "/usr/bin/docker-credential-ecr-login",
        "/usr/share/man/man1/docker-credential-ecr-login.1.gz",
        "/usr/share/bash-completion/completions/docker-credential-ecr-login",
        "/usr/share/zsh/vendor-completions/_docker-credential-ecr-login",
        "/usr/share/fish/vendor_completions.d/docker-credential-ecr-login.fish",
        "/usr/share/doc/docker-credential-ecr-login/README.md",
        "/usr/share/doc/docker-credential-ecr-login/changelog.gz",
        "/usr/share/doc/docker-credential-ecr-login/copyright",
        "/usr/share/doc/docker-credential-ecr-login/kubernetes/credential-provider-config.yaml",
    ] {
        assert!(dests.contains(dest), "packaging/files.txt lacks {dest}");
    }
    let provider = entries
        .iter()
        .find(|e| e.dest == format!("/usr/libexec/{NAME}/{PROVIDER}"))
        .expect("the kubelet provider link");
    assert!(provider.link);
    // The link resolves to the binary.
    let target = Path::new(&provider.dest)
        .parent()
        .unwrap()
        .join(&provider.source);
    let normalized: PathBuf = target.components().fold(PathBuf::new(), |mut p, c| {
        match c {
            std::path::Component::ParentDir => {
                p.pop();
            }
            c => p.push(c),
        }
        p
    });
    assert_eq!(normalized, Path::new("/usr/bin").join(NAME));
}

/// Where cargo-deb puts an asset: a `dest` ending in `/` takes the source's
/// file name, and man pages and changelogs are gzipped.
fn cargo_deb_dest(source: &str, dest: &str) -> String {
    let mut dest = format!("/{dest}");
    if dest.ends_with('/') {
        dest += Path::new(source).file_name().unwrap().to_str().unwrap();
    }
    let compressed = dest.starts_with("/usr/share/man/")
        || (dest.starts_with("/usr/share/doc/") && dest.ends_with("/changelog"));
    if compressed && !dest.ends_with(".gz") {
        dest += ".gz";
    }
    dest
}

#[test]
fn cargo_deb_metadata_installs_the_files_list() {
    let cargo = cargo_toml();
    let deb = table(&cargo, &["package", "metadata", "deb"]);
    for (key, value) in [
        ("section", "utils"),
        ("priority", "optional"),
        ("replaces", "amazon-ecr-credential-helper"),
        ("conflicts", "amazon-ecr-credential-helper"),
        ("provides", "amazon-ecr-credential-helper"),
    ] {
        assert_eq!(string(deb, key), value, "[package.metadata.deb] {key}");
    }
    let mut assets = Vec::new();
    for asset in deb["assets"].as_array().expect("assets") {
        if let Some(a) = asset.as_array() {
            let a: Vec<&str> = a.iter().map(|v| v.as_str().unwrap()).collect();
            let source = if a[0] == format!("target/release/{NAME}") {
                "@binary"
            } else {
                a[0]
            };
            assets.push(Entry {
                link: false,
                mode: u32::from_str_radix(a[2], 8).unwrap(),
                dest: cargo_deb_dest(a[0], a[1]),
                source: source.to_owned(),
            });
        } else {
            let t = asset.as_table().expect("an asset is an array or a table");
            assets.push(Entry {
                link: true,
                mode: 0o777,
                dest: format!("/{}", string(t, "dest")),
                source: string(t, "link_name").to_owned(),
            });
        }
    }
    let mut expected = files_txt();
    expected.sort();
    assets.sort();
    assert_eq!(
        assets, expected,
        "[package.metadata.deb] assets differ from packaging/files.txt"
    );
}

#[test]
fn cargo_generate_rpm_metadata_installs_the_files_list() {
    let cargo = cargo_toml();
    let rpm = table(&cargo, &["package", "metadata", "generate-rpm"]);
    for relation in ["provides", "conflicts", "obsoletes"] {
        let t = table(rpm, &[relation]);
        assert_eq!(
            t.get("amazon-ecr-credential-helper")
                .and_then(toml::Value::as_str),
            Some("*"),
            "[package.metadata.generate-rpm.{relation}]"
        );
    }
    let mut assets: Vec<(String, u32, String)> = rpm["assets"]
        .as_array()
        .expect("assets")
        .iter()
        .map(|a| {
            let t = a.as_table().expect("an asset is a table");
            (
                string(t, "dest").to_owned(),
                u32::from_str_radix(string(t, "mode"), 8).unwrap(),
                string(t, "source").to_owned(),
            )
        })
        .collect();
    // From the staged tree; no symlinks in cargo-generate-rpm: the provider
    // is a copy of the binary.
    let stage = "target/package/stage";
    let mut expected: Vec<(String, u32, String)> = files_txt()
        .into_iter()
        .map(|e| {
            if e.link {
                (e.dest, 0o755, format!("{stage}/usr/bin/{NAME}"))
            } else {
                let source = format!("{stage}{}", e.dest);
                (e.dest, e.mode, source)
            }
        })
        .collect();
    expected.sort();
    assets.sort();
    assert_eq!(
        assets, expected,
        "[package.metadata.generate-rpm] assets differ from packaging/files.txt"
    );
}

fn words(text: &str) -> Vec<&str> {
    text.split_whitespace().collect()
}

#[test]
fn the_rpm_spec_says_what_cargo_toml_says() {
    let cargo = cargo_toml();
    let package = table(&cargo, &["package"]);
    let extended = string(
        table(&cargo, &["package", "metadata", "deb"]),
        "extended-description",
    );
    let spec = read("packaging/rpm/docker-credential-ecr-login.spec");
    let summary = spec
        .lines()
        .find_map(|l| l.strip_prefix("Summary:"))
        .expect("Summary");
    assert_eq!(summary.trim(), string(package, "description"));
    assert!(spec.contains(&format!("License:        {}\n", string(package, "license"))));
    let description = spec
        .split_once("%description\n")
        .and_then(|(_, rest)| rest.split_once("\n%"))
        .map(|(d, _)| d)
        .expect("%description");
    assert_eq!(
        words(description),
        words(extended),
        "the spec's %description differs from [package.metadata.deb] extended-description"
    );
    for relation in ["Provides", "Conflicts", "Obsoletes"] {
        assert!(
            spec.lines().any(|l| l.starts_with(&format!("{relation}:"))
                && l.ends_with(" amazon-ecr-credential-helper")),
            "{relation}"
        );
    }
}

#[test]
fn the_homebrew_formula_installs_files_that_exist() {
    let formula = read("packaging/homebrew/docker-credential-ecr-login.rb");
    for placeholder in ["@URL@", "@SHA256@", "@COMMIT@", "@HOMEPAGE@"] {
        assert!(formula.contains(placeholder), "{placeholder}");
    }
    assert!(formula.contains(r#"depends_on "rust" => :build"#));
    assert!(formula.contains(r#"system "cargo", "install", *std_cargo_args"#));
    let installed: Vec<&str> = formula
        .split('"')
        .filter(|s| s.starts_with("packaging/") && !s.contains('*'))
        .collect();
    assert!(installed.len() >= 4, "{installed:?}");
    for path in installed {
        assert!(
            root().join(path).is_file(),
            "the formula installs {path}, which does not exist"
        );
    }
}

#[test]
fn the_changelog_starts_with_this_version_or_unreleased() {
    let changelog = read("CHANGELOG.md");
    let version = env!("CARGO_PKG_VERSION");
    let first = changelog
        .lines()
        .find(|l| l.starts_with("## ["))
        .expect("a `## [...]` heading in CHANGELOG.md");
    assert!(
        first == "## [Unreleased]" || first.starts_with(&format!("## [{version}]")),
        "CHANGELOG.md's first entry is {first:?}: it should be `## [Unreleased]` or \
         `## [{version}] - YYYY-MM-DD` (see RELEASING.md)"
    );
}

#[test]
fn the_license_is_the_apache_license() {
    let cargo = cargo_toml();
    assert_eq!(string(table(&cargo, &["package"]), "license"), "Apache-2.0");
    let license = read("LICENSE");
    assert!(
        license.contains("Apache License\n                           Version 2.0, January 2004")
    );
    assert!(license.contains("END OF TERMS AND CONDITIONS"));
}
