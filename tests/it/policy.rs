//! `policy` through the built binary: the documents parse as JSON, and
//! `--apply` round-trips through moto's GetRepositoryPolicy and
//! SetRepositoryPolicy, keeping statements it did not write.

use crate::support::moto::{DEFAULT_ACCOUNT, Moto};
use crate::support::{self, Need, Sandbox};
use serde_json::{Value, json};

fn registry() -> String {
    format!("{DEFAULT_ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com")
}

fn sids(policy: &Value) -> Vec<String> {
    policy["Statement"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["Sid"].as_str().unwrap_or("").to_owned())
        .collect()
}

fn current_policy(moto: &Moto) -> Value {
    let out = moto.ecr(
        "GetRepositoryPolicy",
        &json!({"registryId": DEFAULT_ACCOUNT, "repositoryName": "team/app"}),
    );
    serde_json::from_str(out["policyText"].as_str().unwrap()).unwrap()
}

#[test]
fn documents_are_json_ready_to_paste() {
    let sb = Sandbox::new();
    for (doc, first_sid) in [
        ("repository", "EcrLoginAccounts"),
        ("identity", "EcrLoginRepositories"),
    ] {
        let run = sb.run(
            &[
                "policy",
                "--registry",
                "111111111111.dkr.ecr.us-east-1.amazonaws.com",
                "--repository",
                "team/app",
                "--allow-account",
                "222222222222",
                "--document",
                doc,
            ],
            "",
        );
        assert_eq!(run.code(), Some(0), "{}", run.stderr());
        let v: Value = serde_json::from_str(&run.stdout()).expect("one JSON document");
        assert_eq!(sids(&v)[0], first_sid);
    }
}

#[test]
fn bad_arguments_are_refused_with_the_reason() {
    let sb = Sandbox::new();
    for (args, want) in [
        (
            vec![
                "--registry",
                "registry.example.com",
                "--allow-account",
                "222222222222",
            ],
            "not a private ECR registry host",
        ),
        (
            vec![
                "--registry-account",
                "111111111111",
                "--region",
                "us-east-1",
                "--allow-org",
                "org1",
            ],
            "not an AWS Organizations ID",
        ),
        (
            vec!["--registry", "111111111111.dkr.ecr.us-east-1.amazonaws.com"],
            "--allow-account",
        ),
        (
            vec![
                "--registry",
                "111111111111.dkr.ecr.us-east-1.amazonaws.com",
                "--allow-account",
                "222222222222",
                "--apply",
            ],
            "--repository",
        ),
    ] {
        let mut full = vec!["policy"];
        full.extend(args.iter().copied());
        let run = sb.run(&full, "");
        assert_eq!(run.code(), Some(1), "{full:?}");
        assert_eq!(run.stdout(), "", "{full:?}");
        assert!(run.stderr().contains(want), "{full:?}: {}", run.stderr());
    }
}

#[test]
fn apply_merges_by_sid_and_keeps_foreign_statements() {
    if !support::require(Need::Moto) {
        return;
    }
    let moto = Moto::start();
    let mut sb = Sandbox::new();
    moto.attach(&mut sb);
    sb.with_credentials("AKIAIOSFODNN7EXAMPLE", "secret");
    moto.ecr("CreateRepository", &json!({"repositoryName": "team/app"}));
    let foreign = json!({
        "Sid": "CiPush",
        "Effect": "Allow",
        "Principal": {"AWS": "arn:aws:iam::999999999999:root"},
        "Action": ["ecr:PutImage"]
    });
    moto.ecr(
        "SetRepositoryPolicy",
        &json!({
            "repositoryName": "team/app",
            "policyText": json!({"Version": "2012-10-17", "Statement": [foreign]}).to_string()
        }),
    );
    let registry = registry();
    let args = |extra: &[&'static str]| {
        let mut a = vec![
            "policy",
            "--registry",
            registry.as_str(),
            "--repository",
            "team/app",
            "--allow-account",
            "222222222222",
            "--allow-org",
            "o-a1b2c3d4e5",
            "--apply",
        ];
        a.extend_from_slice(extra);
        a
    };

    // Dry run: the change is shown, nothing written.
    let run = sb.run(&args(&["--dry-run"]), "");
    assert_eq!(run.code(), Some(0), "{}", run.stderr());
    assert!(run.stdout().contains("+++ team/app") && run.stdout().contains("EcrLoginOrganization"));
    assert_eq!(sids(&current_policy(&moto)), ["CiPush"]);

    let run = sb.run(&args(&[]), "");
    assert_eq!(run.code(), Some(0), "{}", run.stderr());
    let policy = current_policy(&moto);
    assert_eq!(
        sids(&policy),
        ["CiPush", "EcrLoginAccounts", "EcrLoginOrganization"]
    );
    assert_eq!(policy["Statement"][0], foreign);
    assert_eq!(
        policy["Statement"][2]["Condition"]["StringEquals"]["aws:PrincipalOrgID"],
        json!(["o-a1b2c3d4e5"])
    );

    // Again: nothing to change.
    let run = sb.run(&args(&[]), "");
    assert_eq!(run.code(), Some(0), "{}", run.stderr());
    assert!(
        run.stderr().contains("nothing to change"),
        "{}",
        run.stderr()
    );
    assert_eq!(run.stdout(), "");

    // Narrower: only the account statement is replaced; the others stay.
    let mut narrower = args(&[]);
    narrower.retain(|a| *a != "--allow-org" && *a != "o-a1b2c3d4e5");
    narrower.extend(["--access", "push"]);
    let run = sb.run(&narrower, "");
    assert_eq!(run.code(), Some(0), "{}", run.stderr());
    let policy = current_policy(&moto);
    assert_eq!(
        sids(&policy),
        ["CiPush", "EcrLoginAccounts", "EcrLoginOrganization"]
    );
    assert_eq!(
        policy["Statement"][1]["Action"].as_array().unwrap().len(),
        7
    );
}

#[test]
fn apply_to_a_missing_repository_fails_cleanly() {
    if !support::require(Need::Moto) {
        return;
    }
    let moto = Moto::start();
    let mut sb = Sandbox::new();
    moto.attach(&mut sb);
    sb.with_credentials("AKIAIOSFODNN7EXAMPLE", "secret");
    let registry = registry();
    let run = sb.run(
        &[
            "policy",
            "--registry",
            &registry,
            "--repository",
            "nope/none",
            "--allow-account",
            "222222222222",
            "--apply",
        ],
        "",
    );
    assert_eq!(run.code(), Some(1));
    assert!(
        run.stderr().contains("nope/none") && run.stderr().contains("RepositoryNotFound"),
        "{}",
        run.stderr()
    );
}
