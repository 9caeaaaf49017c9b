//! `configure` through the built binary, on the user's own files: the text
//! kept byte for byte outside the entries it adds, links, bind mounts,
//! where podman's file is, parallel runs, and files that are not files.
//!
//! Every child runs under a kill deadline (`DEADLINE`): a hang (a FIFO read
//! without a bound) fails the test instead of hanging the suite.

use std::fs;
#[cfg(unix)]
use std::path::Path;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[cfg(unix)]
use crate::support::Need;
use crate::support::{self, Run, Sandbox};

const A: &str = "111111111111.dkr.ecr.us-east-1.amazonaws.com";
const B: &str = "222222222222.dkr.ecr.eu-west-1.amazonaws.com";
/// Generous: each run here is a file edit, well under a second.
const DEADLINE: Duration = Duration::from_secs(30);

/// A sandbox whose docker config is `$DOCKER_CONFIG/config.json`, with the
/// binary's directory on PATH (so no PATH warning mixes into stderr).
fn sandbox() -> (Sandbox, PathBuf) {
    let mut sb = Sandbox::new();
    let docker = sb.path().join("docker");
    fs::create_dir_all(&docker).unwrap();
    sb.set("DOCKER_CONFIG", docker.to_str().unwrap());
    let bin = support::binary().parent().unwrap().to_owned();
    let path = std::env::join_paths(
        std::iter::once(bin).chain(std::env::split_paths(&sb.var("PATH").unwrap_or_default())),
    )
    .unwrap();
    sb.set("PATH", path.to_str().unwrap());
    (sb, docker.join("config.json"))
}

/// Runs `cmd` with stdin closed, killing it and failing the test when it
/// has not ended after `DEADLINE`. On Unix a memory bound (`ulimit -v`,
/// 2 GiB) keeps an unbounded read of `/dev/zero` (an older build's) from
/// taking the machine down.
fn bounded(cmd: Command, what: &str) -> Run {
    let mut sh = if cfg!(unix) {
        let mut sh = Command::new("/bin/sh");
        sh.args(["-c", "ulimit -v 2097152; exec \"$0\" \"$@\""])
            .arg(cmd.get_program());
        sh
    } else {
        Command::new(cmd.get_program())
    };
    sh.args(cmd.get_args())
        .env_clear()
        .envs(
            cmd.get_envs()
                .filter_map(|(k, v)| v.map(|v| (k.to_owned(), v.to_owned()))),
        )
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = sh.spawn().expect("spawn");
    let start = Instant::now();
    loop {
        if child.try_wait().unwrap().is_some() {
            return Run(child.wait_with_output().unwrap());
        }
        if start.elapsed() > DEADLINE {
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            panic!(
                "{what}: still running after {DEADLINE:?}; stderr: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn configure(sb: &Sandbox, args: &[&str]) -> Run {
    let mut all = vec!["configure"];
    all.extend_from_slice(args);
    bounded(sb.command(&all), &format!("{all:?}"))
}

fn ok(run: &Run) {
    assert_eq!(
        run.code(),
        Some(0),
        "stdout: {} stderr: {}",
        run.stdout(),
        run.stderr()
    );
}

#[cfg(unix)]
fn inode(p: &Path) -> u64 {
    std::os::unix::fs::MetadataExt::ino(&fs::metadata(p).unwrap())
}

/// Each file is edited where the entry goes, and nowhere else: numbers
/// beyond f64, duplicate keys, CRLF, the file's own indentation, a compact
/// one-line file. A second run finds the file routed and does not write it
/// (same bytes, same inode).
#[test]
fn the_users_bytes_are_kept_and_only_the_entry_is_added() {
    let table: &[(&str, &str, String)] = &[
        (
            "CRLF, three spaces, a big number, duplicate keys, an existing credHelpers",
            "{\r\n   \"auths\": {},\r\n   \"n\": 12345678901234567890123,\r\n   \"f\": 1.50,\r\n   \"dup\": 1,\r\n   \"dup\": 2,\r\n   \"credHelpers\": {\r\n      \"gcr.io\": \"gcloud\"\r\n   }\r\n}\r\n",
            format!(
                "{{\r\n   \"auths\": {{}},\r\n   \"n\": 12345678901234567890123,\r\n   \"f\": 1.50,\r\n   \"dup\": 1,\r\n   \"dup\": 2,\r\n   \"credHelpers\": {{\r\n      \"gcr.io\": \"gcloud\",\r\n      \"{A}\": \"ecr-login\"\r\n   }}\r\n}}\r\n"
            ),
        ),
        (
            "two spaces, no credHelpers yet",
            "{\n  \"auths\": {\n    \"x.example\": {\"auth\": \"dTpw\"}\n  },\n  \"e\": 1.0E+2\n}\n",
            format!(
                "{{\n  \"auths\": {{\n    \"x.example\": {{\"auth\": \"dTpw\"}}\n  }},\n  \"e\": 1.0E+2,\n  \"credHelpers\": {{\n    \"{A}\": \"ecr-login\"\n  }}\n}}\n"
            ),
        ),
        (
            "compact, one line, no final newline",
            r#"{"auths":{},"n":12345678901234567890123,"credHelpers":{"gcr.io":"gcloud"}}"#,
            format!(
                r#"{{"auths":{{}},"n":12345678901234567890123,"credHelpers":{{"gcr.io":"gcloud","{A}":"ecr-login"}}}}"#
            ),
        ),
        (
            "tabs, an empty credHelpers",
            "{\n\t\"credHelpers\": {},\n\t\"n\": 0.1000000000000000055511151231257827\n}",
            format!(
                "{{\n\t\"credHelpers\": {{\n\t\t\"{A}\": \"ecr-login\"\n\t}},\n\t\"n\": 0.1000000000000000055511151231257827\n}}"
            ),
        ),
    ];
    for (what, before, after) in table {
        let (sb, config) = sandbox();
        fs::write(&config, before).unwrap();
        ok(&configure(&sb, &["--registry", A]));
        assert_eq!(&fs::read_to_string(&config).unwrap(), after, "{what}");
        #[cfg(unix)]
        let ino = inode(&config);
        let again = configure(&sb, &["--registry", A]);
        ok(&again);
        assert!(again.stderr().contains("already up to date"), "{what}");
        assert_eq!(&fs::read_to_string(&config).unwrap(), after, "{what}");
        #[cfg(unix)]
        assert_eq!(inode(&config), ino, "{what}: rewritten");
        // --remove takes out exactly what was added.
        ok(&configure(&sb, &["--registry", A, "--remove"]));
        let removed = fs::read_to_string(&config).unwrap();
        if what.contains("empty credHelpers") {
            // The last entry out takes the (now empty) map with it.
            assert_eq!(
                removed, "{\n\t\"n\": 0.1000000000000000055511151231257827\n}",
                "{what}"
            );
        } else {
            assert_eq!(&removed, before, "{what}");
        }
    }
}

/// A helper of another tool for the same host: its value is replaced in
/// place, with a warning; a duplicate key's earlier value is left (the last
/// counts, for docker as for us).
#[test]
fn another_helper_for_the_host_is_replaced_in_place() {
    let (sb, config) = sandbox();
    let before = format!(
        "{{\n    \"credHelpers\": {{\n        \"{A}\": \"old\",\n        \"{B}\": \"x\",\n        \"{A}\": \"desktop\"\n    }},\n    \"big\": 99999999999999999999\n}}\n"
    );
    fs::write(&config, &before).unwrap();
    let run = configure(&sb, &["--registry", A]);
    ok(&run);
    assert!(
        run.stderr().contains("used helper \"desktop\""),
        "{}",
        run.stderr()
    );
    assert_eq!(
        fs::read_to_string(&config).unwrap(),
        before.replace("\"desktop\"", "\"ecr-login\"")
    );
}

/// A symlink to a file stays a symlink, its target written. A dangling
/// symlink (a dotfile manager's link before the file exists) is followed:
/// its target is created, 0600, and the link stays.
#[test]
#[cfg(unix)]
fn symlinks_are_written_through_even_dangling_ones() {
    use std::os::unix::fs::PermissionsExt;
    let (sb, config) = sandbox();
    let dotfiles = sb.path().join("dotfiles");
    fs::create_dir_all(&dotfiles).unwrap();
    let real = dotfiles.join("docker-config.json");
    fs::write(&real, "{\n  \"auths\": {}\n}\n").unwrap();
    support::symlink_file(&real, &config);
    ok(&configure(&sb, &["--registry", A]));
    assert!(
        fs::symlink_metadata(&config)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    let written: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(&real).unwrap()).unwrap();
    assert_eq!(written["credHelpers"][A], "ecr-login");

    // Dangling, through a relative link and a second link.
    fs::remove_file(&config).unwrap();
    let missing = dotfiles.join("not-yet.json");
    std::os::unix::fs::symlink("../dotfiles/middle.json", &config).unwrap();
    std::os::unix::fs::symlink("not-yet.json", dotfiles.join("middle.json")).unwrap();
    let run = configure(&sb, &["--registry", A]);
    ok(&run);
    assert!(
        fs::symlink_metadata(&config)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert!(
        fs::symlink_metadata(dotfiles.join("middle.json"))
            .unwrap()
            .file_type()
            .is_symlink()
    );
    let written: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(&missing).unwrap()).unwrap();
    assert_eq!(written["credHelpers"][A], "ecr-login");
    assert_eq!(
        fs::metadata(&missing).unwrap().permissions().mode() & 0o777,
        0o600
    );

    // A loop is refused, clearly, and nothing is written.
    fs::remove_file(&config).unwrap();
    std::os::unix::fs::symlink("config.json", &config).unwrap();
    let run = configure(&sb, &["--registry", A]);
    assert_eq!(run.code(), Some(1), "{}", run.stderr());
    assert!(run.stderr().contains("symlinks"), "{}", run.stderr());
    assert!(
        fs::symlink_metadata(&config)
            .unwrap()
            .file_type()
            .is_symlink()
    );
}

/// A bind-mounted config file (a Kubernetes `subPath`): a rename onto a
/// mount point fails with EBUSY, so the file is written in place, with a
/// note on stderr; the bind mount's source holds the edit, its other bytes
/// kept.
#[cfg(unix)] // Need::Root: Windows has no root
#[test]
#[cfg_attr(
    not(target_os = "linux"),
    ignore = "needs Linux: a private mount namespace (unshare --mount)"
)]
fn a_bind_mounted_file_is_written_in_place() {
    if !support::require(Need::Root) {
        return;
    }
    let (sb, config) = sandbox();
    let source = sb.path().join("configmap-config.json");
    let before = "{\n\t\"auths\": {},\n\t\"n\": 12345678901234567890123\n}\n";
    fs::write(&source, before).unwrap();
    fs::write(&config, "{}").unwrap();
    let mut cmd = Command::new("unshare");
    cmd.args([
        "--mount",
        "sh",
        "-c",
        "mount --bind \"$1\" \"$2\" || exit 111; shift 2; exec \"$@\"",
        "sh",
    ])
    .arg(&source)
    .arg(&config)
    .arg(support::binary())
    .args(["configure", "--registry", A])
    .env_clear()
    .envs(sb.env.iter().map(|(k, v)| (k, v)));
    let run = bounded(cmd, "configure on a bind mount");
    ok(&run);
    assert!(
        run.stderr().contains("mount point") && run.stderr().contains("in place"),
        "{}",
        run.stderr()
    );
    assert_eq!(
        fs::read_to_string(&source).unwrap(),
        format!(
            "{{\n\t\"auths\": {{}},\n\t\"n\": 12345678901234567890123,\n\t\"credHelpers\": {{\n\t\t\"{A}\": \"ecr-login\"\n\t}}\n}}\n"
        )
    );
    assert_eq!(
        fs::read_to_string(&config).unwrap(),
        "{}",
        "the mount point's own file"
    );
    let temps: Vec<_> = fs::read_dir(config.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".tmp"))
        .collect();
    assert!(temps.is_empty(), "{temps:?}");
}

/// `--containers` writes the persistent auth.json podman and skopeo read
/// after their tmpfs one: `$XDG_CONFIG_HOME/containers/auth.json`, else
/// `~/.config/containers/auth.json`; never `$XDG_RUNTIME_DIR`'s, which a
/// logout or reboot empties. `REGISTRY_AUTH_FILE` still comes first.
#[test]
fn containers_goes_to_the_persistent_auth_json() {
    let (mut sb, _) = sandbox();
    let run_dir = sb.path().join("run-user");
    fs::create_dir_all(&run_dir).unwrap();
    sb.set("XDG_RUNTIME_DIR", run_dir.to_str().unwrap());
    let home = PathBuf::from(sb.var("HOME").unwrap());

    ok(&configure(
        &sb,
        &["--registry", A, "--containers", "--no-docker"],
    ));
    let default = home.join(".config/containers/auth.json");
    let written: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(&default).unwrap()).unwrap();
    assert_eq!(written["credHelpers"][A], "ecr-login");
    assert!(
        !run_dir.join("containers").exists(),
        "the tmpfs was written"
    );

    let xdg = sb.path().join("xdg-config");
    sb.set("XDG_CONFIG_HOME", xdg.to_str().unwrap());
    ok(&configure(
        &sb,
        &["--registry", B, "--containers", "--no-docker"],
    ));
    assert!(xdg.join("containers/auth.json").is_file());

    let named = sb.path().join("named-auth.json");
    sb.set("REGISTRY_AUTH_FILE", named.to_str().unwrap());
    ok(&configure(
        &sb,
        &["--registry", B, "--containers", "--no-docker"],
    ));
    assert!(named.is_file());
    assert!(!run_dir.join("containers").exists());
}

/// `--no-docker` alone leaves nothing to configure: an error, exit 1,
/// nothing written anywhere.
#[test]
fn no_docker_without_containers_is_an_error() {
    let (sb, config) = sandbox();
    let run = configure(&sb, &["--registry", A, "--no-docker"]);
    assert_eq!(run.code(), Some(1), "{}", run.stderr());
    assert!(
        run.stderr().contains("--no-docker") && run.stderr().contains("nothing"),
        "{}",
        run.stderr()
    );
    assert_eq!(run.stdout(), "");
    assert!(!config.exists());
}

/// 20 runs at once on one config file, each adding its own registry: the
/// read-modify-write is under the file's lock, so all 20 entries are there
/// at the end, and the file's other bytes are kept.
#[test]
fn parallel_runs_keep_every_entry() {
    let (sb, config) = sandbox();
    let before = "{\n  \"auths\": {},\n  \"n\": 12345678901234567890123\n}\n";
    fs::write(&config, before).unwrap();
    let accounts: Vec<String> = (0..20)
        .map(|i| format!("{:012}", 100_000_000_000u64 + i))
        .collect();
    std::thread::scope(|s| {
        let runs: Vec<_> = accounts
            .iter()
            .map(|account| {
                let sb = &sb;
                s.spawn(move || configure(sb, &["--account", account, "--region", "us-east-1"]))
            })
            .collect();
        for r in runs {
            ok(&r.join().unwrap());
        }
    });
    let text = fs::read_to_string(&config).unwrap();
    let doc: serde_json::Value = serde_json::from_str(&text).unwrap();
    let helpers = doc["credHelpers"].as_object().unwrap();
    let missing: Vec<&String> = accounts
        .iter()
        .filter(|a| !helpers.contains_key(&format!("{a}.dkr.ecr.us-east-1.amazonaws.com")))
        .collect();
    assert!(missing.is_empty(), "lost: {missing:?}\n{text}");
    assert_eq!(helpers.len(), 20);
    assert!(
        text.starts_with("{\n  \"auths\": {},\n  \"n\": 12345678901234567890123,\n"),
        "{text}"
    );
}

/// A run that cannot get the file's lock (another holds it) gives up after
/// its bound (10 s) with a clear error and writes nothing. The bound is
/// asserted generously: under 30 s.
#[test]
fn a_held_lock_is_waited_for_within_a_bound_then_refused() {
    let (sb, config) = sandbox();
    let before = "{\"auths\": {}}";
    fs::write(&config, before).unwrap();
    let lock = fs::File::create(config.with_file_name("config.json.lock")).unwrap();
    lock.lock().unwrap();
    let start = Instant::now();
    let run = configure(&sb, &["--registry", A]);
    let took = start.elapsed();
    drop(lock);
    assert_eq!(run.code(), Some(1), "{}", run.stderr());
    assert!(
        run.stderr().contains("timed out") && run.stderr().contains("nothing was written"),
        "{}",
        run.stderr()
    );
    assert!(took < Duration::from_secs(30), "{took:?}");
    assert_eq!(fs::read_to_string(&config).unwrap(), before);
    // Once it is free, the same run goes through.
    ok(&configure(&sb, &["--registry", A]));
}

/// A FIFO or a character device given as `--docker-config` (or as the
/// containers auth file) is refused at once with a clear error, by
/// `configure` and by `doctor`: never read without a bound, never waited
/// on. A file that is not JSON, or whose top level or credHelpers is not
/// an object, is refused and left byte for byte.
#[test]
#[cfg(unix)]
fn files_that_cannot_be_edited_are_refused_and_left_alone() {
    let (sb, _) = sandbox();
    let fifo = sb.path().join("fifo.json");
    let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    for file in [fifo.as_path(), Path::new("/dev/zero")] {
        let f = file.to_str().unwrap();
        for args in [
            vec!["--registry", A, "--docker-config", f],
            vec!["--registry", A, "--no-docker", "--containers-auth", f],
        ] {
            let run = configure(&sb, &args);
            assert_eq!(run.code(), Some(1), "{args:?}: {}", run.stderr());
            assert!(
                run.stderr().contains(f) && run.stderr().contains("not a regular file"),
                "{args:?}: {}",
                run.stderr()
            );
        }
        let doctor = bounded(
            sb.command(&["doctor", "--docker-config", f, &format!("{A}/app:1")]),
            "doctor",
        );
        assert_eq!(doctor.code(), Some(3), "{}", doctor.stderr());
        assert!(
            doctor.stdout().contains("not a regular file"),
            "{}",
            doctor.stdout()
        );
    }
    assert!(std::os::unix::fs::FileTypeExt::is_fifo(
        &fs::metadata(&fifo).unwrap().file_type()
    ));

    let config = sb.path().join("bad.json");
    for bad in [
        "{ \"auths\": {}, oops }",
        "[]",
        "{\"credHelpers\": [\"ecr-login\"]}",
        "\u{feff}{}",
    ] {
        fs::write(&config, bad).unwrap();
        let run = configure(
            &sb,
            &["--registry", A, "--docker-config", config.to_str().unwrap()],
        );
        assert_eq!(run.code(), Some(1), "{bad:?}: {}", run.stderr());
        assert!(
            run.stderr().contains("untouched"),
            "{bad:?}: {}",
            run.stderr()
        );
        assert_eq!(fs::read_to_string(&config).unwrap(), bad);
    }
}
