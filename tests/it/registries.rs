//! Per-registry credentials through the built binary: a profile or an
//! assumed role per registry (STS from moto, ECR from the project's fake),
//! cached as tokens, and bad configuration files.

use crate::support::fake_ecr::FakeEcr;
use crate::support::moto::Moto;
use crate::support::{self, Need, Sandbox};

const CALLER_KEY: &str = "AKIACALLER0000000001";
const A: &str = "111111111111.dkr.ecr.us-east-1.amazonaws.com";
const B: &str = "222222222222.dkr.ecr.us-east-1.amazonaws.com";

fn sandbox_with(fake: &FakeEcr, config: &str) -> Sandbox {
    let mut sb = Sandbox::new();
    fake.attach(&mut sb);
    let path = sb.path().join("ecr-login.toml");
    std::fs::write(&path, config).unwrap();
    sb.set("AWS_ECR_CONFIG_FILE", path.to_str().unwrap());
    sb
}

fn keys_seen(fake: &FakeEcr) -> Vec<String> {
    fake.call_log()
        .into_iter()
        .map(|c| c.access_key_id.unwrap_or_default())
        .collect()
}

#[test]
fn a_profile_per_registry() {
    let fake = FakeEcr::start();
    let mut sb = sandbox_with(
        &fake,
        "[[registry]]\naccount = \"111111111111\"\nprofile = \"shared-images\"\n",
    );
    let creds = sb.path().join("aws-credentials");
    std::fs::write(
        &creds,
        "[default]\naws_access_key_id = AKIADEFAULT000000001\naws_secret_access_key = d\n\
         [shared-images]\naws_access_key_id = AKIASHARED0000000001\naws_secret_access_key = s\n",
    )
    .unwrap();
    sb.set("AWS_SHARED_CREDENTIALS_FILE", creds.to_str().unwrap());
    sb.get(A).credentials();
    // Not mentioned: the standard chain, exactly as without the file.
    sb.get(B).credentials();
    assert_eq!(
        keys_seen(&fake),
        ["AKIASHARED0000000001", "AKIADEFAULT000000001"]
    );
    // Even with environment keys set, the mapped registry uses its profile.
    sb.with_credentials(CALLER_KEY, "caller-secret");
    sb.get("111111111111.dkr.ecr.eu-west-1.amazonaws.com")
        .credentials();
    assert_eq!(keys_seen(&fake)[2], "AKIASHARED0000000001");
}

#[test]
#[cfg_attr(
    windows,
    ignore = "needs moto: the Windows tests run under wine, which cannot start the Linux moto_server"
)]
fn an_assumed_role_per_registry_is_cached_as_its_token() {
    if !support::require(Need::Moto) {
        return;
    }
    let moto = Moto::start();
    let fake = FakeEcr::start();
    let mut sb = sandbox_with(
        &fake,
        "[[registry]]\nhost = \"*.dkr.ecr.*.amazonaws.com\"\nregion = \"us-east-1\"\n\
         role_arn = \"arn:aws:iam::111111111111:role/ecr-pull\"\nexternal_id = \"farm-7\"\n\
         session_name = \"ci-runner\"\nduration_seconds = 3600\n",
    );
    sb.with_credentials(CALLER_KEY, "caller-secret")
        .set("AWS_ENDPOINT_URL_STS", &moto.endpoint());

    let first = sb.get(A).secret();
    let keys = keys_seen(&fake);
    assert_eq!(keys.len(), 1);
    assert!(
        keys[0].starts_with("ASIA") && keys[0] != CALLER_KEY,
        "ECR was not called with the role's session credentials: {keys:?}"
    );
    let assume_requests = || {
        moto.recorded()
            .into_iter()
            .filter(|r| String::from_utf8_lossy(&r.body).contains("Action=AssumeRole"))
            .collect::<Vec<_>>()
    };
    let recorded = assume_requests();
    let assume: Vec<String> = recorded
        .iter()
        .map(|r| String::from_utf8_lossy(&r.body).into_owned())
        .collect();
    assert_eq!(assume.len(), 1, "{assume:?}");
    for part in [
        "RoleArn=arn%3Aaws%3Aiam%3A%3A111111111111%3Arole%2Fecr-pull",
        "ExternalId=farm-7",
        "RoleSessionName=ci-runner",
        "DurationSeconds=3600",
    ] {
        assert!(assume[0].contains(part), "{part} missing in {}", assume[0]);
    }
    assert_eq!(
        recorded[0].access_key_id(),
        Some(CALLER_KEY),
        "STS is called with the caller's own keys"
    );

    // The hit path asks neither STS nor ECR.
    assert_eq!(sb.get(A).secret(), first);
    assert_eq!(assume_requests().len(), 1);
    assert_eq!(fake.calls(), 1);

    // The region narrows the rule: eu-west-1 uses the caller directly.
    sb.get("111111111111.dkr.ecr.eu-west-1.amazonaws.com")
        .credentials();
    assert_eq!(keys_seen(&fake)[1], CALLER_KEY);
    assert_eq!(assume_requests().len(), 1);
}

#[test]
#[cfg_attr(
    windows,
    ignore = "needs moto: the Windows tests run under wine, which cannot start the Linux moto_server"
)]
fn the_same_registry_as_a_role_and_as_the_caller_never_share_a_token() {
    if !support::require(Need::Moto) {
        return;
    }
    let moto = Moto::start();
    let fake = FakeEcr::start();
    let mut sb = sandbox_with(&fake, "");
    sb.with_credentials(CALLER_KEY, "caller-secret")
        .set("AWS_ENDPOINT_URL_STS", &moto.endpoint());
    let as_caller = sb.get(A).secret();
    let config = sb.path().join("ecr-login.toml");
    std::fs::write(
        &config,
        "[[registry]]\naccount = \"111111111111\"\nrole_arn = \"arn:aws:iam::111111111111:role/r\"\n",
    )
    .unwrap();
    let as_role = sb.get(A).secret();
    assert_ne!(as_caller, as_role);
    assert_eq!(fake.calls(), 2);
}

#[test]
fn a_bad_config_file_is_named_with_its_line_and_fix() {
    let fake = FakeEcr::start();
    let table = [
        (
            "[[registry]]\naccount = \"111111111111\"\nrol_arn = \"x\"\n",
            ":3: ",
            "spelling",
        ),
        (
            "[[registry]]\naccount = 111111111111\nprofile = \"p\"\n",
            ":2: ",
            "quote",
        ),
        (
            "[[registry]]\naccount = \"111111111111\"\n",
            ":1: ",
            "role_arn",
        ),
        ("[[registry]\n", ":1: ", "README"),
        (
            "[registry]\naccount = \"111111111111\"\nprofile = \"p\"\n",
            ":1: ",
            "two brackets",
        ),
        (
            "[[registry]]\nhost = \"**.dkr.ecr.*.amazonaws.com\"\nprofile = \"p\"\n",
            ":1: ",
            "one label",
        ),
        (
            "[[registry]]\nhost = \"*.dkr.ecr.*.amazonaws.com.\"\nprofile = \"p\"\n",
            ":1: ",
            "one label",
        ),
    ];
    for (text, line, fix) in table {
        let mut sb = sandbox_with(&fake, text);
        sb.with_credentials(CALLER_KEY, "caller-secret");
        // Logs off: the user still sees what to fix.
        sb.unset("AWS_ECR_LOG").unset("AWS_ECR_LOG_FILE");
        let run = sb.get(B);
        run.assert_not_found();
        let path = sb.var("AWS_ECR_CONFIG_FILE").unwrap();
        let stderr = run.stderr();
        assert!(
            stderr.contains(&format!("{path}{line}")) && stderr.contains(fix),
            "{text:?}: {stderr}"
        );
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
    }
    assert_eq!(fake.calls(), 0);
}

/// A rules file named by AWS_ECR_CONFIG_FILE that does not exist is a
/// mistake, said on stderr; the default path may be absent.
#[test]
fn a_named_rules_file_that_does_not_exist_is_refused() {
    let fake = FakeEcr::start();
    let mut sb = sandbox_with(&fake, "");
    sb.with_credentials(CALLER_KEY, "caller-secret");
    sb.unset("AWS_ECR_LOG").unset("AWS_ECR_LOG_FILE");
    let missing = sb.path().join("no-such-rules.toml");
    sb.set("AWS_ECR_CONFIG_FILE", &missing.to_string_lossy());
    let run = sb.get(B);
    run.assert_not_found();
    let stderr = run.stderr();
    assert!(
        stderr.contains(&*missing.to_string_lossy()) && stderr.contains("does not exist"),
        "{stderr}"
    );
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert_eq!(fake.calls(), 0);
}

#[test]
fn without_the_file_nothing_changes() {
    let fake = FakeEcr::start();
    let mut sb = Sandbox::new();
    fake.attach(&mut sb);
    // The default path (below the sandbox's empty home), absent.
    sb.with_credentials(CALLER_KEY, "caller-secret")
        .unset("AWS_ECR_CONFIG_FILE");
    let run = sb.get(A);
    run.credentials();
    assert_eq!(run.stderr(), "");
    assert_eq!(keys_seen(&fake), [CALLER_KEY]);
}
