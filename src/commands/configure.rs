//! `configure`: adds (or removes) `credHelpers` entries for ECR hosts in the
//! docker config and the containers `auth.json`, keeping everything else.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::{Map, Value};

mod splice;

use crate::config::{HOME_VARS, home_dir};
use crate::helper::RouteTable;
use crate::helper::fsutil::{
    Durability, LockError, atomic_write, create_private_dir, link_error, lock_file, open_no_follow,
    read_bounded, refuse_non_file, remove_stale_temps, unix_mode,
};
use crate::helper::routes::RulesFile;
use crate::registry::{self, Registry};

/// The `credHelpers` value that makes docker run `docker-credential-ecr-login`.
pub const HELPER: &str = "ecr-login";
pub const BINARY: &str = "docker-credential-ecr-login";

#[derive(Debug, thiserror::Error)]
pub enum ConfigureError {
    #[error(
        "{0:?} is not an Amazon ECR registry host (expected e.g. 111111111111.dkr.ecr.us-east-1.amazonaws.com), nor an alias the per-registry config file names"
    )]
    NotEcr(String),
    /// The per-registry config file, read for aliases, is unusable.
    #[error("{0}")]
    Rules(String),
    #[error("{0:?} is not a 12-digit AWS account ID")]
    BadAccount(String),
    #[error("{0:?} is not an AWS region (expected e.g. us-east-1)")]
    BadRegion(String),
    #[error("--account needs --region")]
    AccountWithoutRegion,
    #[error(
        "{path}: invalid JSON at line {line}, column {column}: {message}; fix or move the file, it was left untouched"
    )]
    InvalidJson {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("{path}: {what} must be a JSON object; fix the file, it was left untouched")]
    NotObject { path: PathBuf, what: &'static str },
    #[error("cannot read {path}: {source}")]
    Read { path: PathBuf, source: io::Error },
    #[error("cannot write {path}: {source}")]
    Write { path: PathBuf, source: io::Error },
    #[error("no place for the {what} file: {why}")]
    NoPath { what: &'static str, why: String },
    #[error("cannot find the default registry: {0}")]
    DefaultRegistry(String),
    #[error("{path}: {why}; it was left untouched")]
    Link { path: PathBuf, why: String },
    #[error("cannot lock {path}: {source}")]
    Lock { path: PathBuf, source: io::Error },
    #[error(
        "timed out after {wait:?} waiting for {path} (another configure holds it); nothing was written"
    )]
    LockTimeout { path: PathBuf, wait: Duration },
    #[error(
        "--no-docker without --containers or --containers-auth leaves nothing to configure; nothing was written"
    )]
    NothingToDo,
}

/// The largest config file read: far above any real one, and a bound on
/// what `/dev/zero` or a runaway file can make us hold.
pub const MAX_CONFIG_BYTES: u64 = 16 << 20;

/// How long a run waits for another one editing the same file.
pub const LOCK_WAIT: Duration = Duration::from_secs(10);

/// How many symlinks are followed to the file itself (as Linux's
/// `MAXSYMLINKS`).
const MAX_LINKS: usize = 40;

/// The normalised ECR host for a registry given by the user.
pub fn registry_host(input: &str) -> Result<String, ConfigureError> {
    registry::parse(input)
        .map(|r| r.host().to_owned())
        .map_err(|_| ConfigureError::NotEcr(input.trim().to_owned()))
}

/// The host for a registry given by the user: an ECR host, normalised, or
/// an alias that the rules file names for one, said on `err`.
pub fn registry_or_alias(
    input: &str,
    rules: &RulesFile,
    err: &mut dyn Write,
) -> Result<String, ConfigureError> {
    let not_ecr = match registry_host(input) {
        Ok(host) => return Ok(host),
        Err(e) => e,
    };
    let Ok(host) = registry::server_host(input) else {
        return Err(not_ecr);
    };
    match rules.alias(&host) {
        Ok(Some(a)) => {
            let file = rules.path().map(|p| p.display().to_string());
            let _ = writeln!(
                err,
                "note: {host} is an alias ({} line {}) for {}",
                file.as_deref().unwrap_or("config"),
                a.line,
                a.registry
            );
            Ok(host)
        }
        Ok(None) => Err(not_ecr),
        Err(e) => Err(ConfigureError::Rules(e.to_string())),
    }
}

/// The private registry host of an account in a region, in the region's
/// partition.
pub fn host_for(account: &str, region: &str) -> Result<String, ConfigureError> {
    if !registry::is_account_id(account) {
        return Err(ConfigureError::BadAccount(account.to_owned()));
    }
    let host = registry::private_host(account, region);
    match registry::parse(&host) {
        Ok(Registry::Private(_)) => Ok(host),
        _ => Err(ConfigureError::BadRegion(region.to_owned())),
    }
}

/// The outcome of editing one file's text.
#[derive(Debug, PartialEq, Eq)]
pub struct Edited {
    pub text: String,
    pub changed: bool,
    pub warnings: Vec<String>,
}

/// Adds or removes `credHelpers` entries in a config file's text (`None`:
/// the file does not exist). The text is checked to be JSON first; then
/// only the bytes that must change are changed (see `splice`), so every
/// other key, number, duplicate, line ending and indentation stays as the
/// user wrote it, and a file that already says what was asked is returned
/// unchanged.
pub fn edit(
    path: &Path,
    existing: Option<&str>,
    hosts: &[String],
    remove: bool,
) -> Result<Edited, ConfigureError> {
    let existing = existing.filter(|t| !t.trim().is_empty());
    let doc: Value = match existing {
        None => Value::Object(Map::new()),
        Some(text) => serde_json::from_str(text).map_err(|e| ConfigureError::InvalidJson {
            path: path.to_owned(),
            line: e.line(),
            column: e.column(),
            message: e.to_string(),
        })?,
    };
    let not_object = |what| ConfigureError::NotObject {
        path: path.to_owned(),
        what,
    };
    let root = doc.as_object().ok_or_else(|| not_object("the file"))?;
    if root.get("credHelpers").is_some_and(|h| !h.is_object()) {
        return Err(not_object("\"credHelpers\""));
    }
    let mut warnings = Vec::new();
    if let Some(store) = root.get("credsStore").and_then(Value::as_str) {
        warnings.push(format!(
            "{}: \"credsStore\": {store:?} handles every registry not listed in credHelpers; the ECR entries listed here take precedence",
            path.display()
        ));
    }
    let original = existing.unwrap_or("");
    let text = if root.is_empty() && !remove {
        // Nothing worth keeping (no file, or `{}`): docker's own layout.
        let helpers = hosts
            .iter()
            .map(|h| (h.clone(), Value::String(HELPER.to_owned())))
            .collect();
        let fresh = Map::from_iter([("credHelpers".to_owned(), Value::Object(helpers))]);
        to_pretty(&Value::Object(fresh)).replace('\n', splice::newline(original))
    } else if root.is_empty() {
        original.to_owned()
    } else if remove {
        remove_hosts(path, original, hosts, &mut warnings)
    } else {
        add_hosts(path, original, hosts, &mut warnings)
    };
    Ok(Edited {
        changed: text != original,
        text,
        warnings,
    })
}

/// The `credHelpers` object that counts (the last of that name), if any.
fn helpers_of(text: &str) -> (splice::Object, Option<(usize, splice::Object)>) {
    let top = splice::top(text).expect("checked: the file is an object");
    let helpers = top
        .last("credHelpers")
        .map(|(i, m)| (i, splice::object_at(text, m.value_start)));
    (top, helpers)
}

/// The value of `member` read as a string, if it is one.
fn string_value(text: &str, member: &splice::Member) -> Option<String> {
    serde_json::from_str::<String>(&text[member.value_start..member.value_end]).ok()
}

fn add_hosts(path: &Path, original: &str, hosts: &[String], warnings: &mut Vec<String>) -> String {
    let mut text = original.to_owned();
    let mut missing = Vec::new();
    let ours = format!("\"{HELPER}\"");
    for host in hosts {
        let (_, helpers) = helpers_of(&text);
        let current = helpers.as_ref().and_then(|(_, h)| {
            h.last(host)
                .map(|(_, m)| (m.clone(), string_value(&text, m)))
        });
        match current {
            Some((_, Some(helper))) if helper == HELPER => {}
            Some((member, helper)) => {
                if let Some(other) = helper {
                    warnings.push(format!(
                        "{}: {host} used helper {other:?}; now {HELPER:?}",
                        path.display()
                    ));
                }
                text = splice::replace_value(&text, &member, &ours);
            }
            None if missing.contains(host) => {}
            None => missing.push(host.clone()),
        }
    }
    if missing.is_empty() {
        return text;
    }
    let entries: Vec<(String, String)> = missing.into_iter().map(|h| (h, ours.clone())).collect();
    let (top, helpers) = helpers_of(&text);
    match helpers {
        Some((_, helpers)) => splice::append_members(&text, &helpers, &entries),
        None => {
            let value = splice::new_object(&text, &entries);
            splice::append_members(&text, &top, &[("credHelpers".to_owned(), value)])
        }
    }
}

fn remove_hosts(
    path: &Path,
    original: &str,
    hosts: &[String],
    warnings: &mut Vec<String>,
) -> String {
    let mut text = original.to_owned();
    for host in hosts {
        let (_, helpers) = helpers_of(&text);
        let counts = helpers
            .as_ref()
            .and_then(|(_, h)| h.last(host).map(|(_, m)| string_value(&text, m)));
        match counts {
            Some(Some(other)) if other != HELPER => {
                warnings.push(format!(
                    "{}: {host} uses helper {other:?}, not {HELPER:?}; left as it is",
                    path.display()
                ));
                continue;
            }
            // Not a string: no helper of ours.
            Some(None) => continue,
            _ => {}
        }
        // Every entry of ours for the host goes, from every credHelpers
        // (an earlier one would count once the last went), one at a time,
        // the text rescanned; a map emptied by it goes with its last entry.
        while let Some((top, at, object, i)) = entry_of_ours(&text, host) {
            text = if object.members.len() == 1 {
                splice::remove_member(&text, &top, at)
            } else {
                splice::remove_member(&text, &object, i)
            };
        }
    }
    text
}

/// The first `"host": "ecr-login"` in any top-level `credHelpers` object:
/// the top-level object, the map's index in it, the map, and the entry's
/// index in the map.
fn entry_of_ours(text: &str, host: &str) -> Option<(splice::Object, usize, splice::Object, usize)> {
    let top = splice::top(text)?;
    let found = top.members.iter().enumerate().find_map(|(at, m)| {
        if m.key != "credHelpers" || !text[m.value_start..].starts_with('{') {
            return None;
        }
        let object = splice::object_at(text, m.value_start);
        let i = object
            .members
            .iter()
            .position(|e| e.key == host && string_value(text, e).as_deref() == Some(HELPER))?;
        Some((at, object, i))
    });
    found.map(|(at, object, i)| (top, at, object, i))
}

/// Tab-indented, as docker writes its own config.
fn to_pretty(doc: &Value) -> String {
    let mut out = Vec::new();
    let formatter = serde_json::ser::PrettyFormatter::with_indent(b"\t");
    let mut ser = serde_json::Serializer::with_formatter(&mut out, formatter);
    serde::Serialize::serialize(doc, &mut ser).expect("a JSON value serializes");
    out.push(b'\n');
    String::from_utf8(out).expect("JSON is UTF-8")
}

/// Where the docker config lives: `--docker-config`, else
/// `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json` (the home
/// directory found as `config::home_dir` finds it).
pub fn docker_config_path(
    flag: Option<PathBuf>,
    var: &impl Fn(&str) -> Option<String>,
) -> Result<PathBuf, ConfigureError> {
    if let Some(p) = flag {
        return Ok(p);
    }
    if let Some(dir) = var("DOCKER_CONFIG") {
        return Ok(PathBuf::from(dir).join("config.json"));
    }
    home_dir(var)
        .map(|h| h.join(".docker").join("config.json"))
        .ok_or_else(|| ConfigureError::NoPath {
            what: "docker config",
            why: format!("{HOME_VARS} and DOCKER_CONFIG are unset; pass --docker-config"),
        })
}

/// Where podman, skopeo and buildah read credentials: `--containers-auth`,
/// else `$REGISTRY_AUTH_FILE`, else the persistent
/// `$XDG_CONFIG_HOME/containers/auth.json` (`~/.config/containers/auth.json`
/// without it), which they all read (containers-auth.json(5)). Not their
/// primary `$XDG_RUNTIME_DIR/containers/auth.json`: that is a tmpfs,
/// emptied at logout and reboot, and an entry there would vanish with it.
pub fn containers_auth_path(
    flag: Option<PathBuf>,
    var: &impl Fn(&str) -> Option<String>,
) -> Result<PathBuf, ConfigureError> {
    if let Some(p) = flag {
        return Ok(p);
    }
    if let Some(p) = var("REGISTRY_AUTH_FILE").filter(|p| !p.is_empty()) {
        return Ok(PathBuf::from(p));
    }
    // The XDG rule: a relative XDG_CONFIG_HOME is ignored.
    let config_home = var("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .filter(|d| d.is_absolute())
        .or_else(|| home_dir(var).map(|h| h.join(".config")));
    config_home
        .map(|d| d.join("containers").join("auth.json"))
        .ok_or_else(|| ConfigureError::NoPath {
            what: "containers auth",
            why: format!(
                "REGISTRY_AUTH_FILE, XDG_CONFIG_HOME and {HOME_VARS} are unset; pass --containers-auth"
            ),
        })
}

/// Whether `docker-credential-ecr-login` is found on `PATH` as docker looks
/// (`pathext`: the `PATHEXT` variable, read on Windows only).
pub fn on_path(path_var: Option<&str>, pathext: Option<&str>) -> bool {
    find_on_path(path_var, pathext).is_some()
}

/// The `docker-credential-ecr-login` docker runs: the first on `PATH`.
pub fn find_on_path(path_var: Option<&str>, pathext: Option<&str>) -> Option<PathBuf> {
    find_on_path_as(path_var, &helper_file_names(cfg!(windows), pathext))
}

/// What is wrong with `PATH` for docker to run this binary (`this`): it
/// finds none, or another one first. `None` when it finds this one.
pub fn path_warning(
    path_var: Option<&str>,
    pathext: Option<&str>,
    this: Option<&Path>,
) -> Option<String> {
    let Some(found) = find_on_path(path_var, pathext) else {
        return Some(format!(
            "{BINARY} is not on PATH; docker will not find it until it is"
        ));
    };
    let same = |a: &Path, b: &Path| {
        fs::canonicalize(a)
            .ok()
            .zip(fs::canonicalize(b).ok())
            .is_some_and(|(a, b)| a == b)
    };
    match this {
        Some(this) if !same(&found, this) => Some(format!(
            "PATH finds {} first, not this {BINARY} ({}): docker runs that one",
            found.display(),
            this.display()
        )),
        _ => None,
    }
}

/// The names docker runs the helper by, as Go's `exec.LookPath` finds a
/// command: on Windows (`windows`) the name with each extension of
/// `PATHEXT` (by default `.com;.exe;.bat;.cmd`), so the binary is
/// `docker-credential-ecr-login.exe`; elsewhere the name alone.
fn helper_file_names(windows: bool, pathext: Option<&str>) -> Vec<String> {
    if !windows {
        return vec![BINARY.to_owned()];
    }
    pathext
        .filter(|p| !p.trim().is_empty())
        .unwrap_or(".com;.exe;.bat;.cmd")
        .split(';')
        .map(str::trim)
        .filter(|e| e.starts_with('.') && e.len() > 1)
        .map(|e| format!("{BINARY}{}", e.to_ascii_lowercase()))
        .collect()
}

/// The first of `names` that a directory of `path_var` holds as an
/// executable file (on Unix, one with an execute bit; Windows has none).
fn find_on_path_as(path_var: Option<&str>, names: &[String]) -> Option<PathBuf> {
    let executable =
        |m: &fs::Metadata| m.is_file() && (!cfg!(unix) || unix_mode(m, 0) & 0o111 != 0);
    std::env::split_paths(path_var?).find_map(|dir| {
        names
            .iter()
            .map(|name| dir.join(name))
            .find(|p| fs::metadata(p).is_ok_and(|m| executable(&m)))
    })
}

/// Runs `configure`: resolves the hosts (asking `default_registry` for the
/// caller's account and region only when none is named), then edits each
/// file. `var` reads the environment.
pub fn run(
    args: &crate::commands::cli::ConfigureArgs,
    var: &impl Fn(&str) -> Option<String>,
    default_registry: impl FnOnce(Option<&str>) -> Result<(String, String), String>,
    rules: &RulesFile,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<(), ConfigureError> {
    let mut hosts = Vec::new();
    for r in &args.registries {
        hosts.push(registry_or_alias(r, rules, err)?);
    }
    if !args.accounts.is_empty() {
        let region = args
            .region
            .as_deref()
            .ok_or(ConfigureError::AccountWithoutRegion)?;
        for account in &args.accounts {
            hosts.push(host_for(account, region)?);
        }
    }
    if hosts.is_empty() {
        let (account, region) =
            default_registry(args.region.as_deref()).map_err(ConfigureError::DefaultRegistry)?;
        hosts.push(host_for(&account, &region)?);
    }
    hosts.dedup();

    let containers = args.containers || args.containers_auth.is_some();
    if args.no_docker && !containers {
        return Err(ConfigureError::NothingToDo);
    }
    let mut files = Vec::new();
    if !args.no_docker {
        files.push(docker_config_path(args.docker_config.clone(), var)?);
    }
    if containers {
        files.push(containers_auth_path(args.containers_auth.clone(), var)?);
    }
    if !args.remove {
        let this = std::env::current_exe().ok();
        if let Some(warning) = path_warning(
            var("PATH").as_deref(),
            var("PATHEXT").as_deref(),
            this.as_deref(),
        ) {
            let _ = writeln!(err, "warning: {warning}");
        }
    }
    for file in &files {
        apply(file, &hosts, args.remove, args.dry_run, out, err)?;
    }
    Ok(())
}

/// Reads a config file the user names, as text: never blocking on a FIFO
/// nor reading more than [`MAX_CONFIG_BYTES`] (see `fsutil::read_bounded`).
/// `doctor` reads the docker config with it too.
pub fn read_text(path: &Path) -> io::Result<String> {
    let bytes = read_bounded(path, MAX_CONFIG_BYTES)?;
    String::from_utf8(bytes)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "not UTF-8 text"))
}

/// The file a config path names: a symlink is followed, link by link, to
/// what it points at, even when that does not exist yet (a dangling link,
/// as a dotfile manager leaves before the file's first write): the target
/// is written, the link stays.
fn resolve_links(path: &Path) -> Result<PathBuf, ConfigureError> {
    let mut current = path.to_owned();
    for _ in 0..MAX_LINKS {
        match fs::symlink_metadata(&current) {
            Ok(m) if m.file_type().is_symlink() => {
                let to = fs::read_link(&current).map_err(|source| ConfigureError::Read {
                    path: current.clone(),
                    source,
                })?;
                current = match current.parent() {
                    Some(dir) if to.is_relative() => dir.join(to),
                    _ => to,
                };
            }
            _ => return Ok(current),
        }
    }
    Err(ConfigureError::Link {
        path: path.to_owned(),
        why: format!("more than {MAX_LINKS} symlinks (a loop?)"),
    })
}

/// The file's text (`None`: it does not exist) and the mode it keeps.
fn read_config(path: &Path, target: &Path) -> Result<(Option<String>, u32), ConfigureError> {
    let read_err = |source| ConfigureError::Read {
        path: path.to_owned(),
        source,
    };
    match read_text(target) {
        Ok(text) => {
            let mode = unix_mode(&fs::metadata(target).map_err(read_err)?, 0o600);
            Ok((Some(text), mode))
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok((None, 0o600)),
        Err(e) => Err(read_err(e)),
    }
}

/// Holds `<file>.lock` locked: runs editing the same file take turns, so
/// that none loses another's entries.
struct FileLock {
    _file: fs::File,
}

/// Locks `target`'s sidecar lock file (made 0600, never through a link),
/// waiting at most [`LOCK_WAIT`].
fn lock(target: &Path) -> Result<FileLock, ConfigureError> {
    let mut name = target.file_name().unwrap_or_default().to_owned();
    name.push(".lock");
    let path = target.with_file_name(name);
    match lock_file(&path, LOCK_WAIT, |_| Ok(())) {
        Ok(file) => Ok(FileLock { _file: file }),
        Err(LockError::Timeout(wait)) => Err(ConfigureError::LockTimeout { path, wait }),
        Err(LockError::Open(source)) => Err(ConfigureError::Lock { path, source }),
    }
}

/// Writes `bytes` over `target` atomically; where a rename cannot replace
/// it because it is a mount point (a bind-mounted file, as a Kubernetes
/// `subPath` makes: `EBUSY`), writes it in place instead and says so.
fn write_config(
    path: &Path,
    target: &Path,
    bytes: &[u8],
    mode: u32,
    err: &mut dyn Write,
) -> Result<(), ConfigureError> {
    let write_err = |source| ConfigureError::Write {
        path: path.to_owned(),
        source,
    };
    match atomic_write(target, bytes, mode, Durability::Synced) {
        Err(e) if e.kind() == io::ErrorKind::ResourceBusy => {
            let _ = writeln!(
                err,
                "note: {} is a mount point (a bind-mounted file, such as a Kubernetes subPath), which a rename cannot replace; writing it in place instead (not atomic: a crash mid-write could leave it incomplete)",
                path.display()
            );
            let mut file = open_no_follow(0o600)
                .write(true)
                .open(target)
                .map_err(link_error)
                .and_then(|f| refuse_non_file(&f.metadata()?).map(|()| f))
                .map_err(write_err)?;
            // The whole text was checked and made before the file is cut.
            file.set_len(0).map_err(write_err)?;
            file.write_all(bytes).map_err(write_err)?;
            file.sync_all().map_err(write_err)
        }
        other => other.map_err(write_err),
    }
}

/// Edits one file on disk (or prints it, with `dry_run`). A symlinked
/// config is written through to its target, as users of dotfile managers
/// expect (see [`resolve_links`]); on Unix the file keeps its mode, and a
/// new one is 0600 (on Windows the file replaced takes its directory's
/// access control list). A file that already says what was asked is not
/// written at all; otherwise the read, edit and write happen under the
/// file's lock.
pub fn apply(
    path: &Path,
    hosts: &[String],
    remove: bool,
    dry_run: bool,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<(), ConfigureError> {
    let target = resolve_links(path)?;
    let (existing, _) = read_config(path, &target)?;
    let mut edited = edit(path, existing.as_deref(), hosts, remove)?;
    let write_err = |source| ConfigureError::Write {
        path: path.to_owned(),
        source,
    };
    let mut held = None;
    let mut mode = 0o600;
    if edited.changed && !dry_run {
        if let Some(dir) = target.parent().filter(|d| !d.as_os_str().is_empty()) {
            create_private_dir(dir).map_err(write_err)?;
        }
        held = Some(lock(&target)?);
        remove_stale_temps(&target);
        // Read again under the lock: another run may have written since.
        let (existing, kept) = read_config(path, &target)?;
        mode = kept;
        edited = edit(path, existing.as_deref(), hosts, remove)?;
    }
    for w in &edited.warnings {
        let _ = writeln!(err, "warning: {w}");
    }
    if dry_run {
        writeln!(out, "# {}", path.display()).map_err(write_err)?;
        out.write_all(edited.text.as_bytes()).map_err(write_err)?;
        return Ok(());
    }
    if !edited.changed {
        let _ = writeln!(err, "{}: already up to date", path.display());
        return Ok(());
    }
    write_config(path, &target, edited.text.as_bytes(), mode, err)?;
    drop(held);
    let verb = if remove { "removed" } else { "configured" };
    let _ = writeln!(err, "{}: {verb} {}", path.display(), hosts.join(", "));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "111111111111.dkr.ecr.us-east-1.amazonaws.com";
    const B: &str = "333333333333.dkr.ecr.eu-west-1.amazonaws.com";

    fn hosts(h: &[&str]) -> Vec<String> {
        h.iter().map(|s| s.to_string()).collect()
    }

    fn run(existing: Option<&str>, h: &[&str], remove: bool) -> Edited {
        edit(Path::new("/c.json"), existing, &hosts(h), remove).unwrap()
    }

    fn json(text: &str) -> Value {
        serde_json::from_str(text).unwrap()
    }

    #[test]
    fn adds_to_a_missing_or_empty_file() {
        for existing in [None, Some(""), Some("  \n"), Some("{}")] {
            let e = run(existing, &[A, B], false);
            assert!(e.changed);
            assert_eq!(
                json(&e.text),
                json(&format!(
                    r#"{{"credHelpers":{{"{A}":"ecr-login","{B}":"ecr-login"}}}}"#
                ))
            );
            assert!(e.text.ends_with("}\n") && e.text.contains("\n\t\""));
        }
    }

    #[test]
    fn keeps_everything_else_in_order() {
        let existing = r#"{
  "auths": {"https://index.docker.io/v1/": {"auth": "dXNlcjpwYXNz"}},
  "credsStore": "desktop",
  "proxies": {"default": {"httpProxy": "http://proxy:3128"}},
  "someUnknownField": [1, {"x": null}],
  "credHelpers": {"gcr.io": "gcloud", "zzz.example": "other"}
}"#;
        let e = run(Some(existing), &[A], false);
        let got = json(&e.text);
        let mut want = json(existing);
        want["credHelpers"][A] = Value::String("ecr-login".into());
        assert_eq!(got, want);
        let keys: Vec<&String> = got.as_object().unwrap().keys().collect();
        assert_eq!(
            keys,
            [
                "auths",
                "credsStore",
                "proxies",
                "someUnknownField",
                "credHelpers"
            ]
        );
        let helpers: Vec<&String> = got["credHelpers"].as_object().unwrap().keys().collect();
        assert_eq!(helpers, ["gcr.io", "zzz.example", A]);
        assert!(
            e.warnings
                .iter()
                .any(|w| w.contains("credsStore") && w.contains("desktop"))
        );
    }

    #[test]
    fn only_the_entrys_bytes_change() {
        let existing = "\r\n {\"n\": 12345678901234567890123, \"d\": 1, \"d\": 2,\r\n  \"auths\": {\"credHelpers\": {\"x\": \"}\"}},\r\n  \"cred\\u0048elpers\": {\r\n    \"gcr.io\": \"gcloud\"\r\n  }\r\n} \r\n";
        let e = run(Some(existing), &[A, B], false);
        assert!(e.changed);
        assert_eq!(
            e.text,
            existing.replace(
                "\"gcloud\"\r\n",
                &format!(
                    "\"gcloud\",\r\n    \"{A}\": \"ecr-login\",\r\n    \"{B}\": \"ecr-login\"\r\n"
                )
            )
        );
        let again = run(Some(&e.text), &[A, B], false);
        assert!(!again.changed);
        assert_eq!(again.text, e.text);
        assert_eq!(run(Some(&e.text), &[A, B], true).text, existing);
    }

    #[test]
    fn the_credhelpers_that_counts_is_the_last() {
        let existing = format!(
            r#"{{"credHelpers": {{"{A}": "ecr-login"}}, "credHelpers": {{"{A}": "ecr-login", "{A}": "other"}}}}"#
        );
        let e = run(Some(&existing), &[A], false);
        assert_eq!(
            e.text,
            format!(
                r#"{{"credHelpers": {{"{A}": "ecr-login"}}, "credHelpers": {{"{A}": "ecr-login", "{A}": "ecr-login"}}}}"#
            )
        );
        assert_eq!(json(&e.text)["credHelpers"][A], "ecr-login");
        // --remove takes every entry of ours for the host out of it (a
        // duplicate would count once the last went), and the map with them.
        let r = run(Some(&e.text), &[A], true);
        assert_eq!(r.text, "{}");
    }

    #[cfg(unix)]
    #[test]
    fn links_are_followed_to_their_target_even_dangling() {
        let tmp = tempfile::tempdir().unwrap();
        let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
        std::os::unix::fs::symlink("b", &a).unwrap();
        std::os::unix::fs::symlink(tmp.path().join("c"), &b).unwrap();
        assert_eq!(resolve_links(&a).unwrap(), tmp.path().join("c"));
        let plain = tmp.path().join("plain");
        assert_eq!(resolve_links(&plain).unwrap(), plain);
        let l = tmp.path().join("loop");
        std::os::unix::fs::symlink("loop", &l).unwrap();
        let err = resolve_links(&l).unwrap_err().to_string();
        assert!(
            err.contains("symlinks") && err.contains("untouched"),
            "{err}"
        );
    }

    /// Whatever the layout, the result reads as the input plus the entry,
    /// and `--remove` gives the input back.
    #[test]
    fn every_layout_reads_as_the_input_plus_the_entry() {
        let shapes = [
            "{\"a\":1}",
            " { \"a\" : [ ] , \"b\" : { } } ",
            "{\n\"a\": \"x\\\"}{\"\n}",
            "{\"credHelpers\":{}}",
            "{\"credHelpers\" : { \"gcr.io\" : \"gcloud\" } }\n",
            "{\r\n\t\"credHelpers\": {\r\n\t},\r\n\t\"z\": null\r\n}",
            "{\n    \"auths\": {\n        \"credHelpers\": {}\n    }\n}",
            "{\"a\":{\"b\":{\"c\":[1,{\"d\":\"]\"}]}},\"credHelpers\":{\"x\":\"y\",\"x\":\"z\"}}",
        ];
        for shape in shapes {
            let e = run(Some(shape), &[A, B], false);
            let mut want = json(shape);
            let root = want.as_object_mut().unwrap();
            let helpers = root
                .entry("credHelpers")
                .or_insert_with(|| Value::Object(Map::new()));
            for h in [A, B] {
                helpers[h] = Value::String(HELPER.into());
            }
            assert_eq!(json(&e.text), want, "{shape:?} -> {:?}", e.text);
            // The last entry out takes the map with it, even one that was
            // empty before.
            let mut before = json(shape);
            if before["credHelpers"] == Value::Object(Map::new()) {
                before.as_object_mut().unwrap().shift_remove("credHelpers");
            }
            let back = run(Some(&e.text), &[A, B], true);
            assert_eq!(json(&back.text), before, "{shape:?} -> {:?}", back.text);
        }
    }

    #[test]
    fn twice_changes_nothing() {
        let first = run(Some(r#"{"auths":{}}"#), &[A], false);
        let second = run(Some(&first.text), &[A], false);
        assert!(!second.changed);
        assert_eq!(second.text, first.text);
    }

    #[test]
    fn removes_only_its_own_entries() {
        let existing = format!(
            r#"{{"auths":{{}},"credHelpers":{{"{A}":"ecr-login","{B}":"someone-else","gcr.io":"gcloud"}}}}"#
        );
        let e = run(Some(&existing), &[A, B], true);
        assert!(e.changed);
        assert_eq!(
            json(&e.text),
            json(&format!(
                r#"{{"auths":{{}},"credHelpers":{{"{B}":"someone-else","gcr.io":"gcloud"}}}}"#
            ))
        );
        assert!(
            e.warnings
                .iter()
                .any(|w| w.contains(B) && w.contains("someone-else"))
        );
        // The last entry out takes the empty map with it; again is a no-op.
        let only = format!(r#"{{"auths":{{}},"credHelpers":{{"{A}":"ecr-login"}}}}"#);
        let e = run(Some(&only), &[A], true);
        assert_eq!(json(&e.text), json(r#"{"auths":{}}"#));
        assert!(!run(Some(&e.text), &[A], true).changed);
        assert!(!run(None, &[A], true).changed);
    }

    #[test]
    fn refuses_bad_files_with_their_place() {
        let table: &[(&str, &str)] = &[
            ("{\"auths\": {}", "line 1"),
            ("{\n  \"auths\": {},\n  oops\n}", "line 3"),
            ("[]", "the file must be a JSON object"),
            ("\"text\"", "must be a JSON object"),
            (
                r#"{"credHelpers": []}"#,
                "\"credHelpers\" must be a JSON object",
            ),
            (
                r#"{"credHelpers": "ecr-login"}"#,
                "\"credHelpers\" must be a JSON object",
            ),
        ];
        for (text, want) in table {
            let err = edit(
                Path::new("/home/u/.docker/config.json"),
                Some(text),
                &hosts(&[A]),
                false,
            )
            .unwrap_err()
            .to_string();
            assert!(
                err.contains("/home/u/.docker/config.json") && err.contains(want),
                "{text:?}: {err}"
            );
            assert!(err.contains("untouched"), "{err}");
        }
    }

    #[test]
    fn builds_hosts_in_every_partition() {
        let table = [
            ("us-east-1", "111111111111.dkr.ecr.us-east-1.amazonaws.com"),
            (
                "us-gov-west-1",
                "111111111111.dkr.ecr.us-gov-west-1.amazonaws.com",
            ),
            (
                "cn-north-1",
                "111111111111.dkr.ecr.cn-north-1.amazonaws.com.cn",
            ),
            (
                "eusc-de-east-1",
                "111111111111.dkr.ecr.eusc-de-east-1.amazonaws.eu",
            ),
            (
                "us-iso-east-1",
                "111111111111.dkr.ecr.us-iso-east-1.c2s.ic.gov",
            ),
            (
                "us-isob-east-1",
                "111111111111.dkr.ecr.us-isob-east-1.sc2s.sgov.gov",
            ),
            (
                "eu-isoe-west-1",
                "111111111111.dkr.ecr.eu-isoe-west-1.cloud.adc-e.uk",
            ),
            (
                "us-isof-south-1",
                "111111111111.dkr.ecr.us-isof-south-1.csp.hci.ic.gov",
            ),
        ];
        for (region, want) in table {
            assert_eq!(host_for("111111111111", region).unwrap(), want);
        }
        assert!(matches!(
            host_for("1111", "us-east-1"),
            Err(ConfigureError::BadAccount(_))
        ));
        assert!(matches!(
            host_for("111111111111", "useast1"),
            Err(ConfigureError::BadRegion(_))
        ));
        assert!(matches!(
            host_for("111111111111", "us-east-1.evil.example"),
            Err(ConfigureError::BadRegion(_))
        ));
    }

    #[test]
    fn registry_hosts_are_checked_and_normalised() {
        assert_eq!(
            registry_host("https://111111111111.DKR.ecr.us-east-1.amazonaws.com/").unwrap(),
            A
        );
        for bad in [
            "registry.example.com",
            "111111111111.dkr.ecr.us-east-1.amazonaws.com.evil.example",
            "",
        ] {
            assert!(
                matches!(registry_host(bad), Err(ConfigureError::NotEcr(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn config_paths() {
        let vars = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| {
                pairs
                    .iter()
                    .find(|(n, _)| *n == k)
                    .map(|(_, v)| v.to_string())
            }
        };
        // Compared as paths: on Windows, join puts backslashes in.
        let p = |r: Result<PathBuf, ConfigureError>| r.unwrap();
        assert_eq!(
            p(docker_config_path(None, &vars(&[("HOME", "/h")]))),
            Path::new("/h/.docker/config.json")
        );
        assert_eq!(
            p(docker_config_path(
                None,
                &vars(&[("HOME", "/h"), ("DOCKER_CONFIG", "/d")])
            )),
            Path::new("/d/config.json")
        );
        assert_eq!(
            p(docker_config_path(
                Some("/x.json".into()),
                &vars(&[("DOCKER_CONFIG", "/d")])
            )),
            Path::new("/x.json")
        );
        assert!(docker_config_path(None, &vars(&[])).is_err());
        // Without HOME, Windows has the SDK's fallbacks (config::home_dir).
        let profile = docker_config_path(None, &vars(&[("USERPROFILE", "/u")]));
        if cfg!(windows) {
            assert_eq!(p(profile), Path::new("/u/.docker/config.json"));
        } else {
            let err = profile.unwrap_err().to_string();
            assert!(err.contains("HOME and DOCKER_CONFIG are unset"), "{err}");
        }
        // Not the tmpfs under XDG_RUNTIME_DIR: the persistent file.
        assert_eq!(
            p(containers_auth_path(
                None,
                &vars(&[("XDG_RUNTIME_DIR", "/run/user/1"), ("HOME", "/h")])
            )),
            Path::new("/h/.config/containers/auth.json")
        );
        // "/x" has no drive, so it is relative on Windows.
        let (xdg, xdg_vars): (&str, &'static [_]) = if cfg!(windows) {
            (r"C:\x", &[("XDG_CONFIG_HOME", r"C:\x"), ("HOME", "/h")])
        } else {
            ("/x", &[("XDG_CONFIG_HOME", "/x"), ("HOME", "/h")])
        };
        assert_eq!(
            p(containers_auth_path(None, &vars(xdg_vars))),
            Path::new(xdg).join("containers").join("auth.json")
        );
        assert_eq!(
            p(containers_auth_path(
                None,
                &vars(&[("XDG_CONFIG_HOME", "relative"), ("HOME", "/h")])
            )),
            Path::new("/h/.config/containers/auth.json")
        );
        assert_eq!(
            p(containers_auth_path(
                None,
                &vars(&[("XDG_RUNTIME_DIR", "/r"), ("REGISTRY_AUTH_FILE", "/a.json")])
            )),
            Path::new("/a.json")
        );
        assert!(containers_auth_path(None, &vars(&[("XDG_RUNTIME_DIR", "/r")])).is_err());
    }

    #[test]
    fn the_helper_is_looked_for_as_docker_runs_it() {
        let names = |windows, pathext: Option<&str>| helper_file_names(windows, pathext);
        assert_eq!(names(false, None), ["docker-credential-ecr-login"]);
        assert_eq!(names(false, Some(".EXE")), ["docker-credential-ecr-login"]);
        let default = [
            "docker-credential-ecr-login.com",
            "docker-credential-ecr-login.exe",
            "docker-credential-ecr-login.bat",
            "docker-credential-ecr-login.cmd",
        ];
        assert_eq!(names(true, None), default);
        assert_eq!(names(true, Some(" ")), default);
        assert_eq!(
            names(true, Some(".EXE;.CMD;;junk")),
            [
                "docker-credential-ecr-login.exe",
                "docker-credential-ecr-login.cmd"
            ]
        );

        let tmp = tempfile::tempdir().unwrap();
        let (empty, bin) = (tmp.path().join("empty"), tmp.path().join("bin"));
        fs::create_dir(&empty).unwrap();
        fs::create_dir(&bin).unwrap();
        let exe = bin.join("docker-credential-ecr-login.exe");
        fs::write(&exe, b"MZ").unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            fs::set_permissions(&exe, fs::Permissions::from_mode(0o755)).unwrap();
        }
        let path = std::env::join_paths([&empty, &bin]).unwrap();
        let path = path.to_str();
        assert!(find_on_path_as(path, &names(true, None)).is_some());
        assert!(
            find_on_path_as(path, &names(false, None)).is_none(),
            "not without .exe"
        );
        assert!(find_on_path_as(None, &names(true, None)).is_none());
        let only_empty = empty.to_str();
        assert!(find_on_path_as(only_empty, &names(true, None)).is_none());
        // On Unix a file without an execute bit is not run.
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            fs::set_permissions(&exe, fs::Permissions::from_mode(0o644)).unwrap();
            assert!(find_on_path_as(path, &names(true, None)).is_none());
        }
    }

    /// Unix only: the helpers made here are found by their execute bit.
    #[cfg(unix)]
    #[test]
    fn path_warnings_name_the_binary_docker_would_run() {
        use std::os::unix::fs::PermissionsExt;
        let tmp = tempfile::tempdir().unwrap();
        let helper_in = |dir: &str| {
            let d = tmp.path().join(dir);
            fs::create_dir_all(&d).unwrap();
            let f = d.join(BINARY);
            fs::write(&f, b"#!/bin/sh\n").unwrap();
            fs::set_permissions(&f, fs::Permissions::from_mode(0o755)).unwrap();
            f
        };
        let (other, this) = (helper_in("other"), helper_in("this"));
        let path = |dirs: &[&Path]| std::env::join_paths(dirs).unwrap().into_string().unwrap();
        let (o, t) = (other.parent().unwrap(), this.parent().unwrap());
        assert_eq!(path_warning(Some(&path(&[t, o])), None, Some(&this)), None);
        let first = path_warning(Some(&path(&[o, t])), None, Some(&this)).unwrap();
        assert!(
            first.contains(&*other.to_string_lossy()) && first.contains("first"),
            "{first}"
        );
        let none = path_warning(Some(&path(&[tmp.path()])), None, Some(&this)).unwrap();
        assert!(none.contains("not on PATH"), "{none}");
        assert_eq!(path_warning(Some(&path(&[o])), None, None), None);
    }

    #[test]
    fn apply_keeps_mode_and_writes_nothing_on_error_or_dry_run() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("config.json");
        let (mut out, mut err) = (Vec::new(), Vec::new());
        // A new file is created 0600, with its directory.
        let nested = tmp.path().join("new/dir/config.json");
        apply(&nested, &hosts(&[A]), false, false, &mut out, &mut err).unwrap();
        // Modes are Unix's: Windows files have an access control list.
        #[cfg(unix)]
        let mode = |p: &Path| unix_mode(&fs::metadata(p).unwrap(), 0) & 0o777;
        #[cfg(unix)]
        assert_eq!(mode(&nested), 0o600);
        // An existing file keeps its mode.
        fs::write(&path, "{\"auths\":{}}").unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            fs::set_permissions(&path, fs::Permissions::from_mode(0o640)).unwrap();
        }
        apply(&path, &hosts(&[A]), false, false, &mut out, &mut err).unwrap();
        #[cfg(unix)]
        assert_eq!(mode(&path), 0o640);
        assert_eq!(
            json(&fs::read_to_string(&path).unwrap())["credHelpers"][A],
            "ecr-login"
        );
        // Dry run prints and writes nothing.
        let before = fs::read_to_string(&path).unwrap();
        let mut printed = Vec::new();
        apply(&path, &hosts(&[B]), false, true, &mut printed, &mut err).unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), before);
        assert!(String::from_utf8(printed).unwrap().contains(B));
        // Invalid JSON is refused and left byte for byte.
        fs::write(&path, "{ not json").unwrap();
        assert!(apply(&path, &hosts(&[A]), false, false, &mut out, &mut err).is_err());
        assert_eq!(fs::read_to_string(&path).unwrap(), "{ not json");
        // The lock file stays beside the config (removing it would race).
        let names: Vec<_> = fs::read_dir(tmp.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 3, "no temporary file left: {names:?}");
        assert!(tmp.path().join("config.json.lock").is_file());
    }

    #[test]
    #[cfg_attr(
        windows,
        ignore = "needs a symlink: Windows makes one only in Developer Mode or for an administrator, and wine 8 makes none (its CreateSymbolicLinkW is a stub); run with --ignored where links can be made"
    )]
    fn a_symlinked_config_is_written_through() {
        let tmp = tempfile::tempdir().unwrap();
        let real = tmp.path().join("dotfiles-config.json");
        fs::write(&real, "{}").unwrap();
        let link = tmp.path().join("config.json");
        crate::helper::fsutil::symlink_file(&real, &link);
        apply(
            &link,
            &hosts(&[A]),
            false,
            false,
            &mut Vec::new(),
            &mut Vec::new(),
        )
        .unwrap();
        assert!(
            fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(
            json(&fs::read_to_string(&real).unwrap())["credHelpers"][A],
            "ecr-login"
        );
    }
}
