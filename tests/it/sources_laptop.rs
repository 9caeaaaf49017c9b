//! The laptop's and CI's credential sources, through the built helper: SSO
//! (an `sso-session` and a legacy profile), `credential_process`,
//! `role_arn` + `source_profile`, and IRSA (issue 18, section 1), and the
//! cache identity each one gets.
//!
//! moto checks every signature (`Moto::enable_auth`), so a token moto
//! hands out proves which key signed `GetAuthorizationToken`; the keys each
//! source hands out are moto's own.

use std::path::{Path, PathBuf};

use crate::support::moto::{AccessKey, Moto, moto_password};
use crate::support::{self, Need, Run, Sandbox};

const ACCOUNT: &str = "111111111111";
const REGISTRY: &str = "111111111111.dkr.ecr.us-east-1.amazonaws.com";

/// A `credential_process` program: a shell script that appends a line to
/// `<name>.runs` each time it runs, then prints `output` and exits with
/// `code`.
struct Process {
    path: PathBuf,
    runs: PathBuf,
}

impl Process {
    fn new(dir: &Path, name: &str, output: &str, code: i32) -> Process {
        use std::os::unix::fs::PermissionsExt;
        let path = dir.join(name);
        let runs = dir.join(format!("{name}.runs"));
        let script = format!(
            "#!/bin/sh\necho run >> '{}'\ncat <<'EOF'\n{output}\nEOF\nexit {code}\n",
            runs.display()
        );
        std::fs::write(&path, script).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        Process { path, runs }
    }

    /// A program that prints `key` as the process credential format says.
    fn printing(dir: &Path, name: &str, key: &AccessKey) -> Process {
        let output = serde_json::json!({
            "Version": 1,
            "AccessKeyId": key.id,
            "SecretAccessKey": key.secret,
        });
        Process::new(dir, name, &output.to_string(), 0)
    }

    /// How many times it ran.
    fn runs(&self) -> usize {
        std::fs::read_to_string(&self.runs)
            .map(|s| s.lines().count())
            .unwrap_or(0)
    }

    /// A profile that runs it.
    fn profile(&self, name: &str) -> String {
        format!(
            "[profile {name}]\ncredential_process = {}\n",
            self.path.display()
        )
    }
}

/// The AWS config file the sandbox's helper reads.
fn write_config(sb: &Sandbox, text: &str) {
    std::fs::write(
        sb.var("AWS_CONFIG_FILE").expect("AWS_CONFIG_FILE set"),
        text,
    )
    .unwrap();
}

/// The access key ids that signed each `GetAuthorizationToken` so far, and
/// that each asked for the registry's account.
fn ecr_signers(moto: &Moto) -> Vec<String> {
    moto.ecr_token_requests()
        .iter()
        .map(|r| {
            assert_eq!(r.registry_ids(), [ACCOUNT], "registryIds sent");
            r.access_key_id().unwrap_or("").to_owned()
        })
        .collect()
}

fn assert_token(run: &Run) {
    assert_eq!(run.secret(), moto_password(ACCOUNT), "{}", run.stderr());
}

/// The stale principal: the user edits their profile in
/// `~/.aws/config` (another SSO account or role, another role_arn, another
/// credential_process), with the same AWS_PROFILE and the same file. The
/// next `get` must be the new principal's, not a hit on the old one's
/// token. Here the edit swaps one `credential_process` for another (the
/// same length, so that the file's size does not tell them apart), and
/// moto checks which key signed.
///
/// Fails on the old build: its identity is the variables and the home
/// directory only, so the second `get` was a hit on user A's token, with
/// no call at all.
#[test]
#[cfg_attr(
    windows,
    ignore = "needs moto: the Windows tests run under wine, which cannot start the Linux moto_server"
)]
fn an_edited_profile_is_another_principal() {
    if !support::require(Need::Moto) {
        return;
    }
    let moto = Moto::start_with_live_tokens();
    moto.enable_auth();
    let a = moto.create_ecr_user("laptop-a");
    let b = moto.create_ecr_user("laptop-b");
    let mut sb = Sandbox::new();
    moto.attach(&mut sb);
    sb.set("AWS_PROFILE", "dev");
    let proc_a = Process::printing(sb.path(), "proc-a", &a);
    let proc_b = Process::printing(sb.path(), "proc-b", &b);
    write_config(&sb, &proc_a.profile("dev"));

    assert_token(&sb.get(REGISTRY));
    assert_eq!(ecr_signers(&moto), [a.id.as_str()]);
    // A hit: neither moto nor the process is asked again.
    assert_token(&sb.get(REGISTRY));
    assert_eq!(
        ecr_signers(&moto).len(),
        1,
        "the second get was not a hit: {}",
        sb.log()
    );
    assert_eq!(proc_a.runs(), 1);

    write_config(&sb, &proc_b.profile("dev"));
    assert_token(&sb.get(REGISTRY));
    assert_eq!(
        ecr_signers(&moto),
        [a.id.as_str(), b.id.as_str()],
        "after the edit, user A's cached token was served (or B's key did not sign)"
    );
    assert_eq!((proc_a.runs(), proc_b.runs()), (1, 1));
    // The new principal's entry is a hit in turn.
    assert_token(&sb.get(REGISTRY));
    assert_eq!(ecr_signers(&moto).len(), 2);
    assert_eq!(proc_b.runs(), 1);
    // Two entries: the two principals never shared one.
    let entries = std::fs::read_dir(sb.cache_dir())
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().ends_with(".json"))
        .count();
    assert_eq!(entries, 2, "one cache entry per principal");
}
