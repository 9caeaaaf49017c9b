//! `policy` through the built binary: the documents parse as JSON, and
//! `--apply` round-trips through moto's GetRepositoryPolicy and
//! SetRepositoryPolicy, keeping statements it did not write, adding to its
//! own and never taking access away; `--revoke` and `--replace` take away
//! and say what first.

use crate::support::moto::{DEFAULT_ACCOUNT, Moto};
use crate::support::{self, Need, Run, Sandbox};
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
#[cfg_attr(
    windows,
    ignore = "needs moto: the Windows tests run under wine, which cannot start the Linux moto_server"
)]
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

    // Narrower, with push: push's actions join the account statement; the
    // organization's statement, not named, stays as it was.
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
#[cfg_attr(
    windows,
    ignore = "needs moto: the Windows tests run under wine, which cannot start the Linux moto_server"
)]
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

/// A moto with repository `team/app`, and a sandbox whose helper calls it.
struct Repo {
    moto: Moto,
    sb: Sandbox,
}

const PULL: [&str; 3] = [
    "ecr:BatchGetImage",
    "ecr:GetDownloadUrlForLayer",
    "ecr:BatchCheckLayerAvailability",
];
const PUSH_TOO: [&str; 7] = [
    "ecr:BatchGetImage",
    "ecr:GetDownloadUrlForLayer",
    "ecr:BatchCheckLayerAvailability",
    "ecr:PutImage",
    "ecr:InitiateLayerUpload",
    "ecr:UploadLayerPart",
    "ecr:CompleteLayerUpload",
];

impl Repo {
    fn start() -> Repo {
        let moto = Moto::start();
        let mut sb = Sandbox::new();
        moto.attach(&mut sb);
        sb.with_credentials("AKIAIOSFODNN7EXAMPLE", "secret");
        moto.ecr("CreateRepository", &json!({"repositoryName": "team/app"}));
        Repo { moto, sb }
    }

    /// `policy --registry … --repository team/app ARGS --apply`.
    fn apply(&self, args: &[&str]) -> Run {
        let registry = registry();
        let mut full = vec![
            "policy",
            "--registry",
            registry.as_str(),
            "--repository",
            "team/app",
        ];
        full.extend_from_slice(args);
        full.push("--apply");
        self.sb.run(&full, "")
    }

    /// As `apply`, which must succeed.
    fn applied(&self, args: &[&str]) -> Run {
        let run = self.apply(args);
        assert_eq!(
            run.code(),
            Some(0),
            "{args:?}: stdout={} stderr={}",
            run.stdout(),
            run.stderr()
        );
        run
    }

    fn policy(&self) -> Value {
        current_policy(&self.moto)
    }

    fn set_policy(&self, statements: Value) {
        self.moto.ecr(
            "SetRepositoryPolicy",
            &json!({
                "repositoryName": "team/app",
                "policyText": json!({"Version": "2012-10-17", "Statement": statements}).to_string()
            }),
        );
    }
}

fn root(account: &str) -> String {
    format!("arn:aws:iam::{account}:root")
}

/// The statement with this Sid (exactly one).
fn statement(policy: &Value, sid: &str) -> Value {
    let found: Vec<&Value> = policy["Statement"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["Sid"] == sid)
        .collect();
    assert_eq!(found.len(), 1, "one {sid} in {policy:#}");
    found[0].clone()
}

fn strings(v: &Value) -> Vec<String> {
    match v {
        Value::String(s) => vec![s.clone()],
        Value::Array(a) => a.iter().map(|s| s.as_str().unwrap().to_owned()).collect(),
        other => panic!("not strings: {other}"),
    }
}

fn accounts(policy: &Value) -> Vec<String> {
    strings(&statement(policy, "EcrLoginAccounts")["Principal"]["AWS"])
}

fn orgs(policy: &Value) -> Vec<String> {
    strings(
        &statement(policy, "EcrLoginOrganization")["Condition"]["StringEquals"]["aws:PrincipalOrgID"],
    )
}

fn actions(policy: &Value, sid: &str) -> Vec<String> {
    strings(&statement(policy, sid)["Action"])
}

#[test]
#[cfg_attr(
    windows,
    ignore = "needs moto: the Windows tests run under wine, which cannot start the Linux moto_server"
)]
fn two_consumer_accounts_applied_in_turn_keep_both() {
    if !support::require(Need::Moto) {
        return;
    }
    let r = Repo::start();
    // The README's walkthrough, once per consumer account.
    r.applied(&["--allow-account", "333333333333"]);
    r.applied(&["--allow-account", "222222222222"]);
    let policy = r.policy();
    assert_eq!(
        accounts(&policy),
        [root("333333333333"), root("222222222222")]
    );
    assert_eq!(actions(&policy, "EcrLoginAccounts"), PULL);
    assert_eq!(sids(&policy), ["EcrLoginAccounts"]);
    // Either one again: already allowed, nothing sent.
    let run = r.applied(&["--allow-account", "333333333333"]);
    assert!(
        run.stderr().contains("nothing to change"),
        "{}",
        run.stderr()
    );
    assert_eq!(r.policy(), policy);
}

#[test]
#[cfg_attr(
    windows,
    ignore = "needs moto: the Windows tests run under wine, which cannot start the Linux moto_server"
)]
fn organizations_and_accounts_applied_in_turn_keep_every_one() {
    if !support::require(Need::Moto) {
        return;
    }
    let r = Repo::start();
    r.applied(&["--allow-org", "o-a1b2c3d4e5"]);
    r.applied(&["--allow-account", "222222222222"]);
    r.applied(&["--allow-org", "o-zzzzzzzzzz"]);
    r.applied(&["--allow-org-path", "o-a1b2c3d4e5/r-ab12/ou-ab12-11111111/"]);
    r.applied(&["--allow-org-path", "o-a1b2c3d4e5/r-ab12/ou-ab12-22222222/"]);
    let policy = r.policy();
    assert_eq!(
        sids(&policy),
        [
            "EcrLoginOrganization",
            "EcrLoginAccounts",
            "EcrLoginOrgPaths"
        ]
    );
    assert_eq!(orgs(&policy), ["o-a1b2c3d4e5", "o-zzzzzzzzzz"]);
    assert_eq!(accounts(&policy), [root("222222222222")]);
    assert_eq!(
        strings(
            &statement(&policy, "EcrLoginOrgPaths")["Condition"]["ForAnyValue:StringLike"]["aws:PrincipalOrgPaths"]
        ),
        [
            "o-a1b2c3d4e5/r-ab12/ou-ab12-11111111/*",
            "o-a1b2c3d4e5/r-ab12/ou-ab12-22222222/*"
        ]
    );
}

#[test]
#[cfg_attr(
    windows,
    ignore = "needs moto: the Windows tests run under wine, which cannot start the Linux moto_server"
)]
fn pull_after_push_keeps_the_push_actions() {
    if !support::require(Need::Moto) {
        return;
    }
    let r = Repo::start();
    r.applied(&[
        "--allow-account",
        "222222222222",
        "--allow-org",
        "o-a1b2c3d4e5",
        "--access",
        "push",
    ]);
    let run = r.applied(&[
        "--allow-account",
        "222222222222",
        "--allow-org",
        "o-a1b2c3d4e5",
    ]);
    assert!(
        run.stderr().contains("nothing to change"),
        "{}",
        run.stderr()
    );
    // A new account with pull joins the statement that grants push.
    r.applied(&["--allow-account", "333333333333", "--access", "pull"]);
    let policy = r.policy();
    assert_eq!(actions(&policy, "EcrLoginAccounts"), PUSH_TOO);
    assert_eq!(actions(&policy, "EcrLoginOrganization"), PUSH_TOO);
    assert_eq!(
        accounts(&policy),
        [root("222222222222"), root("333333333333")]
    );
    // Taking push away is --replace, and it says so.
    let run = r.applied(&[
        "--allow-account",
        "222222222222",
        "--allow-account",
        "333333333333",
        "--allow-org",
        "o-a1b2c3d4e5",
        "--replace",
    ]);
    for who in [
        "account 222222222222",
        "account 333333333333",
        "organization o-a1b2c3d4e5",
    ] {
        assert!(
            run.stderr().contains(&format!(
                "team/app: takes away: {who} loses ecr:PutImage, ecr:InitiateLayerUpload, ecr:UploadLayerPart, ecr:CompleteLayerUpload"
            )),
            "{}",
            run.stderr()
        );
    }
    let policy = r.policy();
    assert_eq!(actions(&policy, "EcrLoginAccounts"), PULL);
    assert_eq!(actions(&policy, "EcrLoginOrganization"), PULL);
}

#[test]
#[cfg_attr(
    windows,
    ignore = "needs moto: the Windows tests run under wine, which cannot start the Linux moto_server"
)]
fn a_statement_under_our_sid_that_is_not_ours_is_left_untouched() {
    if !support::require(Need::Moto) {
        return;
    }
    let r = Repo::start();
    let deny = json!({
        "Sid": "EcrLoginAccounts",
        "Effect": "Deny",
        "Principal": {"AWS": root("444444444444")},
        "Action": PULL
    });
    let role = json!({
        "Sid": "EcrLoginOrganization",
        "Effect": "Allow",
        "Principal": "*",
        "Action": PULL,
        "Condition": {
            "StringEquals": {"aws:PrincipalOrgID": "o-a1b2c3d4e5"},
            "ArnLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/ci"}
        }
    });
    r.set_policy(json!([deny, role]));
    let run = r.applied(&[
        "--allow-account",
        "222222222222",
        "--allow-org",
        "o-zzzzzzzzzz",
    ]);
    let stderr = run.stderr();
    for (sid, why) in [
        ("EcrLoginAccounts", "its Effect is \"Deny\""),
        (
            "EcrLoginOrganization",
            "its Condition is not StringEquals aws:PrincipalOrgID alone",
        ),
    ] {
        assert!(
            stderr.contains(&format!(
                "team/app: statement {sid:?} is not one this tool writes ({why}): left as it is"
            )),
            "{stderr}"
        );
        assert!(
            stderr.contains(&format!("goes under Sid \"{sid}2\"")),
            "{stderr}"
        );
    }
    let policy = r.policy();
    assert_eq!(policy["Statement"][0], deny);
    assert_eq!(policy["Statement"][1], role);
    assert_eq!(
        sids(&policy),
        [
            "EcrLoginAccounts",
            "EcrLoginOrganization",
            "EcrLoginAccounts2",
            "EcrLoginOrganization2"
        ]
    );
    assert_eq!(
        strings(&statement(&policy, "EcrLoginAccounts2")["Principal"]["AWS"]),
        [root("222222222222")]
    );
    // The next account joins ours under its new Sid; theirs stays.
    r.applied(&["--allow-account", "333333333333"]);
    let policy = r.policy();
    assert_eq!(policy["Statement"][0], deny);
    assert_eq!(
        strings(&statement(&policy, "EcrLoginAccounts2")["Principal"]["AWS"]),
        [root("222222222222"), root("333333333333")]
    );
    // Revoking what theirs names changes nothing of theirs.
    let run = r.applied(&["--allow-account", "444444444444", "--revoke"]);
    assert!(
        run.stderr()
            .contains("account 444444444444 is in none of this tool's statements"),
        "{}",
        run.stderr()
    );
    assert_eq!(r.policy(), policy);
}

#[test]
#[cfg_attr(
    windows,
    ignore = "needs moto: the Windows tests run under wine, which cannot start the Linux moto_server"
)]
fn revoke_takes_out_only_what_is_named_and_says_what_first() {
    if !support::require(Need::Moto) {
        return;
    }
    let r = Repo::start();
    let foreign = json!({
        "Sid": "CiPush",
        "Effect": "Allow",
        "Principal": {"AWS": root("333333333333")},
        "Action": ["ecr:PutImage"]
    });
    r.set_policy(json!([foreign]));
    r.applied(&[
        "--allow-account",
        "222222222222",
        "--allow-account",
        "333333333333",
        "--allow-org",
        "o-a1b2c3d4e5",
        "--allow-org",
        "o-zzzzzzzzzz",
    ]);

    // Dry run: what would go is said, nothing written.
    let before = r.policy();
    let run = r.applied(&["--allow-account", "333333333333", "--revoke", "--dry-run"]);
    assert!(
        run.stderr()
            .contains("takes away: account 333333333333 loses"),
        "{}",
        run.stderr()
    );
    assert_eq!(r.policy(), before);

    let run = r.applied(&[
        "--allow-account",
        "333333333333",
        "--allow-org",
        "o-zzzzzzzzzz",
        "--revoke",
    ]);
    let stderr = run.stderr();
    let lost = [
        format!(
            "team/app: takes away: account 333333333333 loses {}",
            PULL.join(", ")
        ),
        format!(
            "team/app: takes away: organization o-zzzzzzzzzz loses {}",
            PULL.join(", ")
        ),
    ];
    let set = stderr.find("repository policy set").expect("set");
    for line in &lost {
        let at = stderr
            .find(line.as_str())
            .unwrap_or_else(|| panic!("{line:?} in {stderr}"));
        assert!(at < set, "said before it is set: {stderr}");
    }
    assert_eq!(stderr.matches("takes away").count(), 2, "{stderr}");
    let policy = r.policy();
    assert_eq!(policy["Statement"][0], foreign, "not ours: kept");
    assert_eq!(accounts(&policy), [root("222222222222")]);
    assert_eq!(orgs(&policy), ["o-a1b2c3d4e5"]);

    // The last one named takes its statement along; nothing else moves.
    r.applied(&["--allow-org", "o-a1b2c3d4e5", "--revoke"]);
    let policy = r.policy();
    assert_eq!(sids(&policy), ["CiPush", "EcrLoginAccounts"]);

    // --revoke with --access is refused: it takes principals out whole.
    let run = r.apply(&[
        "--allow-account",
        "222222222222",
        "--revoke",
        "--access",
        "push",
    ]);
    // A usage error: exit 1, as every one (doctor's 2 is "not an ECR image").
    assert_eq!(run.code(), Some(1), "{}", run.stderr());
    // Nothing left at all: refused, with how to delete the policy.
    r.set_policy(json!([statement(&policy, "EcrLoginAccounts")]));
    let run = r.apply(&["--allow-account", "222222222222", "--revoke"]);
    assert_eq!(run.code(), Some(1));
    assert!(
        run.stderr()
            .contains("aws ecr delete-repository-policy --repository-name team/app"),
        "{}",
        run.stderr()
    );
    assert_eq!(accounts(&r.policy()), [root("222222222222")]);
}

#[test]
#[cfg_attr(
    windows,
    ignore = "needs moto: the Windows tests run under wine, which cannot start the Linux moto_server"
)]
fn duplicates_are_dropped_and_the_registrys_own_account_gets_a_note() {
    if !support::require(Need::Moto) {
        return;
    }
    let r = Repo::start();
    let run = r.applied(&[
        "--allow-account",
        "222222222222",
        "--allow-account",
        "222222222222",
        "--allow-account",
        DEFAULT_ACCOUNT,
        "--allow-org",
        "o-a1b2c3d4e5",
        "--allow-org",
        "o-a1b2c3d4e5",
        "--allow-org-path",
        "o-a1b2c3d4e5/r-ab12/ou-ab12-11111111/",
        "--allow-org-path",
        "o-a1b2c3d4e5/r-ab12/ou-ab12-11111111/*",
    ]);
    assert!(
        run.stderr().contains(&format!("note: {DEFAULT_ACCOUNT} is the registry's own account: its principals need no repository policy")),
        "{}",
        run.stderr()
    );
    let policy = r.policy();
    assert_eq!(
        accounts(&policy),
        [root("222222222222"), root(DEFAULT_ACCOUNT)]
    );
    assert_eq!(orgs(&policy), ["o-a1b2c3d4e5"]);
    assert_eq!(
        strings(
            &statement(&policy, "EcrLoginOrgPaths")["Condition"]["ForAnyValue:StringLike"]["aws:PrincipalOrgPaths"]
        ),
        ["o-a1b2c3d4e5/r-ab12/ou-ab12-11111111/*"]
    );
    // A statement of ours holding duplicates (written by hand, or by an
    // older version) loses them when it is next added to; no access goes.
    let mut st = statement(&policy, "EcrLoginAccounts");
    st["Principal"]["AWS"] = json!([root("222222222222"), "222222222222", root("222222222222")]);
    st["Action"] = json!([
        "ecr:BatchGetImage",
        "ecr:BatchGetImage",
        "ecr:GetDownloadUrlForLayer",
        "ecr:BatchCheckLayerAvailability"
    ]);
    r.set_policy(json!([st]));
    let run = r.applied(&["--allow-account", "333333333333"]);
    assert!(!run.stderr().contains("takes away"), "{}", run.stderr());
    let policy = r.policy();
    assert_eq!(
        accounts(&policy),
        [root("222222222222"), root("333333333333")]
    );
    assert_eq!(actions(&policy, "EcrLoginAccounts"), PULL);
}
