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

/// A target registry in another region than `A`, and an alias for it.
const TARGET: &str = "111111111111.dkr.ecr.eu-west-1.amazonaws.com";
const ALIAS: &str = "images.corp.example";

fn alias_rule(extra: &str) -> String {
    format!("[[registry]]\nhost = \"{ALIAS}\"\nregistry = \"{TARGET}\"\n{extra}")
}

/// `get` for an alias: the registry's token (asked for the registry's
/// account, in its region), under the name docker asked for; then the
/// registry's own host is a hit on the same entry: one API call for both.
#[test]
fn an_alias_is_served_its_registrys_token_from_the_same_entry() {
    let fake = FakeEcr::start();
    let mut sb = sandbox_with(&fake, &alias_rule(""));
    sb.with_credentials(CALLER_KEY, "caller-secret");
    let asked = format!("https://{ALIAS}");
    let via_alias = sb.get(&asked).credentials();
    assert_eq!(via_alias["ServerURL"], asked.as_str());
    assert_eq!(via_alias["Username"], "AWS");
    assert_eq!(fake.registry_ids(), [vec!["111111111111".to_owned()]]);
    assert_eq!(fake.call_log()[0].region.as_deref(), Some("eu-west-1"));
    // The registry itself, and the alias again (with a port, as docker
    // may send it): hits on the one entry.
    let direct = sb.get(TARGET).credentials();
    assert_eq!(direct["Secret"], via_alias["Secret"]);
    assert_eq!(direct["ServerURL"], TARGET);
    assert_eq!(
        sb.get(&format!("{ALIAS}:443")).secret(),
        via_alias["Secret"]
    );
    assert_eq!(fake.calls(), 1);
    // `list` reads the cache alone: the registry, by its own host.
    let list: serde_json::Value = serde_json::from_str(&sb.run(&["list"], "").stdout()).unwrap();
    assert_eq!(
        list,
        serde_json::json!({ format!("https://{TARGET}"): "AWS" })
    );
    // A host no rule names is still no ECR host: nothing reaches AWS.
    sb.get("other.corp.example").assert_not_found();
    assert_eq!(fake.calls(), 1);
}

/// An alias rule's own profile is used for the alias, in an entry of its
/// own; an alias with none takes the registry's rule, as if its host had
/// been asked for.
#[test]
fn an_alias_uses_its_own_profile_or_else_the_registrys_rule() {
    let fake = FakeEcr::start();
    let config = format!(
        "{}profile = \"alias-profile\"\n\n\
         [[registry]]\nhost = \"plain.corp.example\"\nregistry = \"{B}\"\n\n\
         [[registry]]\naccount = \"222222222222\"\nprofile = \"registry-profile\"\n",
        alias_rule("")
    );
    let mut sb = sandbox_with(&fake, &config);
    let creds = sb.path().join("aws-credentials");
    std::fs::write(
        &creds,
        "[alias-profile]\naws_access_key_id = AKIAALIAS00000000001\naws_secret_access_key = a\n\
         [registry-profile]\naws_access_key_id = AKIAREGISTRY00000001\naws_secret_access_key = r\n",
    )
    .unwrap();
    sb.set("AWS_SHARED_CREDENTIALS_FILE", creds.to_str().unwrap())
        .with_credentials(CALLER_KEY, "caller-secret");
    sb.get(ALIAS).credentials();
    // The registry itself is asked by the caller: another principal,
    // another entry.
    sb.get(TARGET).credentials();
    sb.get("plain.corp.example").credentials();
    // The registry's own host shares the plain alias's entry.
    sb.get(B).credentials();
    sb.get(ALIAS).credentials();
    assert_eq!(
        keys_seen(&fake),
        ["AKIAALIAS00000000001", CALLER_KEY, "AKIAREGISTRY00000001"]
    );
    assert_eq!(
        fake.registry_ids(),
        [
            vec!["111111111111".to_owned()],
            vec!["111111111111".to_owned()],
            vec!["222222222222".to_owned()]
        ]
    );
}

/// Bad alias rules name their line and the fix, for the alias and for
/// every registry; nothing reaches AWS, and `configure` writes nothing.
#[test]
fn bad_alias_rules_are_named_with_their_line_and_lose_nothing() {
    let fake = FakeEcr::start();
    let table = [
        (
            format!("[[registry]]\nhost = \"*.corp.example\"\nregistry = \"{TARGET}\"\n"),
            ":1: ",
            "one exact host",
        ),
        (
            format!("[[registry]]\nhost = \"{A}\"\nregistry = \"{TARGET}\"\n"),
            ":1: ",
            "an Amazon ECR host itself",
        ),
        (
            format!("[[registry]]\nhost = \"{ALIAS}\"\nregistry = \"public.ecr.aws\"\n"),
            ":1: ",
            "pull-through cache",
        ),
        (
            format!("[[registry]]\nhost = \"{ALIAS}\"\nregistry = \"registry.corp.example\"\n"),
            ":1: ",
            "not an Amazon ECR registry host",
        ),
        (
            format!(
                "\n[[registry]]\naccount = \"111111111111\"\nhost = \"{ALIAS}\"\nregistry = \"{TARGET}\"\n"
            ),
            ":2: ",
            "cannot narrow",
        ),
        (
            format!("{}\n{}", alias_rule(""), alias_rule("")),
            ":5: ",
            "already an alias, at line 1",
        ),
    ];
    for (text, line, words) in table {
        let mut sb = sandbox_with(&fake, &text);
        sb.with_credentials(CALLER_KEY, "caller-secret");
        sb.unset("AWS_ECR_LOG").unset("AWS_ECR_LOG_FILE");
        let path = sb.var("AWS_ECR_CONFIG_FILE").unwrap();
        for host in [ALIAS, B] {
            let run = sb.get(host);
            run.assert_not_found();
            let stderr = run.stderr();
            assert!(
                stderr.contains(&format!("{path}{line}")) && stderr.contains(words),
                "{text:?} {host}: {stderr}"
            );
            assert_eq!(stderr.lines().count(), 1, "{stderr}");
        }
        let docker = sb.path().join("docker-config.json");
        let before = "{\n  \"auths\": {}\n}\n";
        std::fs::write(&docker, before).unwrap();
        let run = sb.run(
            &[
                "configure",
                "--registry",
                ALIAS,
                "--docker-config",
                docker.to_str().unwrap(),
            ],
            "",
        );
        assert_eq!(run.code(), Some(1), "{text:?}: {}", run.stderr());
        assert!(
            run.stderr().contains(&format!("{path}{line}")),
            "{}",
            run.stderr()
        );
        assert_eq!(std::fs::read_to_string(&docker).unwrap(), before);
    }
    assert_eq!(fake.calls(), 0);
}

/// `configure` writes the credHelpers entry for an alias a rule names
/// (docker asks the helper by that name), and says for which registry;
/// a non-ECR host no rule names is refused, as before.
#[test]
fn configure_accepts_an_alias_and_refuses_other_hosts() {
    let fake = FakeEcr::start();
    let sb = sandbox_with(&fake, &alias_rule(""));
    let path = sb.var("AWS_ECR_CONFIG_FILE").unwrap();
    let docker = sb.path().join("docker-config.json");
    let configure = |registry: &str| {
        sb.run(
            &[
                "configure",
                "--registry",
                registry,
                "--docker-config",
                docker.to_str().unwrap(),
            ],
            "",
        )
    };
    let run = configure(ALIAS);
    assert_eq!(run.code(), Some(0), "{}", run.stderr());
    assert!(
        run.stderr()
            .contains(&format!("{ALIAS} is an alias ({path} line 1) for {TARGET}")),
        "{}",
        run.stderr()
    );
    let written: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&docker).unwrap()).unwrap();
    assert_eq!(
        written,
        serde_json::json!({"credHelpers": {ALIAS: "ecr-login"}})
    );
    let run = configure("other.corp.example");
    assert_eq!(run.code(), Some(1));
    assert!(
        run.stderr()
            .contains("\"other.corp.example\" is not an Amazon ECR registry host"),
        "{}",
        run.stderr()
    );
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&std::fs::read_to_string(&docker).unwrap())
            .unwrap(),
        written
    );
    assert_eq!(fake.calls(), 0);
}

/// `doctor` on an image named by an alias: it says which rule makes the
/// host an alias, checks docker's entry for that name, then checks the
/// registry's token and image as a pull would.
#[test]
#[cfg_attr(
    windows,
    ignore = "needs moto: the Windows tests run under wine, which cannot start the Linux moto_server"
)]
fn doctor_explains_an_alias_and_checks_its_registry() {
    use crate::support::moto::DEFAULT_ACCOUNT;
    if !support::require(Need::Moto) {
        return;
    }
    let moto = Moto::start_with_live_tokens();
    moto.ecr(
        "CreateRepository",
        &serde_json::json!({"repositoryName": "team/app"}),
    );
    let manifest = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
        "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "size": 2, "digest": "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"},
        "layers": []
    });
    moto.ecr(
        "PutImage",
        &serde_json::json!({"repositoryName": "team/app", "imageManifest": manifest.to_string(), "imageTag": "1.0"}),
    );
    let target = format!("{DEFAULT_ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com");
    let mut sb = Sandbox::new();
    moto.attach(&mut sb);
    let rules = sb.path().join("ecr-login.toml");
    std::fs::write(
        &rules,
        format!("# the registry's stable name\n[[registry]]\nhost = \"{ALIAS}\"\nregistry = \"{target}\"\n"),
    )
    .unwrap();
    let docker = sb.path().join("docker");
    std::fs::create_dir_all(&docker).unwrap();
    let bin = support::binary().parent().unwrap().to_owned();
    let path = std::env::join_paths(
        std::iter::once(bin).chain(std::env::split_paths(&sb.var("PATH").unwrap_or_default())),
    )
    .unwrap();
    sb.with_credentials("AKIAIOSFODNN7EXAMPLE", "secret")
        .set("AWS_ENDPOINT_URL_STS", &moto.endpoint())
        .set("AWS_ECR_CONFIG_FILE", rules.to_str().unwrap())
        .set("DOCKER_CONFIG", docker.to_str().unwrap())
        .set("PATH", path.to_str().unwrap());
    let doctor = |image: &str| {
        let run = sb.run(&["doctor", "--json", image], "");
        let report: serde_json::Value = serde_json::from_str(&run.stdout())
            .unwrap_or_else(|e| panic!("{e}: {} / {}", run.stdout(), run.stderr()));
        (run.code(), report)
    };
    let image = format!("{ALIAS}/team/app:1.0");
    // Not routed yet: the fix is configure for the alias's own name.
    let (code, report) = doctor(&image);
    assert_eq!(code, Some(3), "{report:#}");
    assert!(
        report["steps"][1]["fix"]
            .as_str()
            .unwrap()
            .contains(&format!("configure --registry {ALIAS}")),
        "{report:#}"
    );
    let run = sb.run(&["configure", "--registry", ALIAS], "");
    assert_eq!(run.code(), Some(0), "{}", run.stderr());
    let (code, report) = doctor(&image);
    assert_eq!(code, Some(0), "{report:#}");
    let steps = report["steps"].as_array().unwrap();
    assert_eq!(steps.len(), 5, "{report:#}");
    assert_eq!(
        steps[0]["detail"],
        format!(
            "{ALIAS} is an alias ({} line 2) for {target}: account {DEFAULT_ACCOUNT}, region us-east-1, partition aws",
            rules.display()
        )
        .as_str()
    );
    assert!(
        steps[3]["detail"]
            .as_str()
            .unwrap()
            .contains(&format!("account {DEFAULT_ACCOUNT}")),
        "{report:#}"
    );
    assert!(steps.iter().all(|s| s["ok"] == true), "{report:#}");
}
