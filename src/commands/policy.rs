//! The two documents a cross-account pull needs: the repository policy in
//! the registry account and the identity policy in the caller's account;
//! and the merge that `policy --apply` does, by `Sid`, never dropping a
//! statement it did not write.

use serde_json::{Value, json};

pub const PULL_ACTIONS: [&str; 3] = [
    "ecr:BatchGetImage",
    "ecr:GetDownloadUrlForLayer",
    "ecr:BatchCheckLayerAvailability",
];
pub const PUSH_ACTIONS: [&str; 4] = [
    "ecr:PutImage",
    "ecr:InitiateLayerUpload",
    "ecr:UploadLayerPart",
    "ecr:CompleteLayerUpload",
];
/// Every statement this tool writes has a Sid with this prefix.
pub const SID_PREFIX: &str = "EcrLogin";
/// The Sids of the statements it writes: in the repository policy, by
/// account, organization and organizational-unit path; in the identity
/// policy, the repositories and the token.
pub const SID_ACCOUNTS: &str = "EcrLoginAccounts";
pub const SID_ORGANIZATION: &str = "EcrLoginOrganization";
pub const SID_ORG_PATHS: &str = "EcrLoginOrgPaths";
pub const SID_REPOSITORIES: &str = "EcrLoginRepositories";
pub const SID_AUTHORIZATION_TOKEN: &str = "EcrLoginAuthorizationToken";

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Access {
    Pull,
    Push,
}

impl Access {
    pub fn actions(self) -> Vec<&'static str> {
        match self {
            Access::Pull => PULL_ACTIONS.to_vec(),
            Access::Push => PULL_ACTIONS
                .iter()
                .chain(PUSH_ACTIONS.iter())
                .copied()
                .collect(),
        }
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PolicyError {
    #[error("{0:?} is not a 12-digit AWS account ID")]
    BadAccount(String),
    #[error("{0:?} is not an AWS Organizations ID (o- and 10 to 32 lower-case letters or digits)")]
    BadOrg(String),
    #[error("{0:?} is not an organization path (o-xxxxxxxxxx/r-xxxx/ou-xxxx-xxxxxxxx/)")]
    BadOrgPath(String),
    #[error("{0:?} is not an ECR repository name")]
    BadRepository(String),
    #[error("say who may pull: --allow-account, --allow-org or --allow-org-path")]
    NoPrincipal,
    #[error("the current repository policy is not a policy document: {0}")]
    BadExisting(String),
}

/// Who the repository policy lets in, and what the caller's policy grants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Spec {
    pub partition: String,
    pub region: String,
    pub registry_account: String,
    pub repositories: Vec<String>,
    pub allow_accounts: Vec<String>,
    pub allow_orgs: Vec<String>,
    pub allow_org_paths: Vec<String>,
    pub access: Access,
}

fn is_org(o: &str) -> bool {
    o.strip_prefix("o-").is_some_and(|rest| {
        (10..=32).contains(&rest.len())
            && rest
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
    })
}

/// `o-…/r-…/ou-…/`, with `/*` or `/` at the end: normalised to end in `/*`
/// so that it covers the accounts below the path.
fn org_path(p: &str) -> Option<String> {
    let trimmed = p.trim_end_matches('*').trim_end_matches('/');
    let mut segments = trimmed.split('/');
    let ok = segments.next().is_some_and(is_org)
        && segments
            .next()
            .is_some_and(|r| r.starts_with("r-") && r.len() > 2)
        && segments.all(|s| {
            (s.starts_with("ou-") || crate::registry::is_account_id(s))
                && s.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        });
    ok.then(|| format!("{trimmed}/*"))
}

/// ECR's rule: lower-case components of letters and digits joined by
/// `.`, `_` or `-`, separated by `/`; 2 to 256 characters.
pub fn is_repository_name(name: &str) -> bool {
    (2..=256).contains(&name.len())
        && name.split('/').all(|component| {
            !component.is_empty()
                && component.split(['.', '_', '-']).all(|w| {
                    !w.is_empty()
                        && w.bytes()
                            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
                })
        })
}

impl Spec {
    pub fn validate(&self) -> Result<(), PolicyError> {
        if let Some(a) = self
            .allow_accounts
            .iter()
            .chain([&self.registry_account])
            .find(|a| !crate::registry::is_account_id(a))
        {
            return Err(PolicyError::BadAccount(a.clone()));
        }
        if let Some(o) = self.allow_orgs.iter().find(|o| !is_org(o)) {
            return Err(PolicyError::BadOrg(o.clone()));
        }
        if let Some(p) = self.allow_org_paths.iter().find(|p| org_path(p).is_none()) {
            return Err(PolicyError::BadOrgPath(p.clone()));
        }
        if let Some(r) = self.repositories.iter().find(|r| !is_repository_name(r)) {
            return Err(PolicyError::BadRepository(r.clone()));
        }
        if self.allow_accounts.is_empty()
            && self.allow_orgs.is_empty()
            && self.allow_org_paths.is_empty()
        {
            return Err(PolicyError::NoPrincipal);
        }
        Ok(())
    }

    pub fn repository_arns(&self) -> Vec<String> {
        let arn = |name: &str| {
            format!(
                "arn:{}:ecr:{}:{}:repository/{name}",
                self.partition, self.region, self.registry_account
            )
        };
        if self.repositories.is_empty() {
            vec![arn("*")]
        } else {
            self.repositories.iter().map(|r| arn(r)).collect()
        }
    }

    /// The statements for the registry account's repository policy.
    pub fn repository_statements(&self) -> Vec<Value> {
        let actions = self.access.actions();
        let mut statements = Vec::new();
        if !self.allow_accounts.is_empty() {
            let principals: Vec<String> = self
                .allow_accounts
                .iter()
                .map(|a| format!("arn:{}:iam::{a}:root", self.partition))
                .collect();
            statements.push(json!({
                "Sid": SID_ACCOUNTS,
                "Effect": "Allow",
                "Principal": {"AWS": principals},
                "Action": actions,
            }));
        }
        if !self.allow_orgs.is_empty() {
            statements.push(json!({
                "Sid": SID_ORGANIZATION,
                "Effect": "Allow",
                "Principal": "*",
                "Action": actions,
                "Condition": {"StringEquals": {"aws:PrincipalOrgID": self.allow_orgs}},
            }));
        }
        if !self.allow_org_paths.is_empty() {
            let paths: Vec<String> = self
                .allow_org_paths
                .iter()
                .filter_map(|p| org_path(p))
                .collect();
            statements.push(json!({
                "Sid": SID_ORG_PATHS,
                "Effect": "Allow",
                "Principal": "*",
                "Action": actions,
                "Condition": {"ForAnyValue:StringLike": {"aws:PrincipalOrgPaths": paths}},
            }));
        }
        statements
    }

    /// The repository policy's statement with this Sid, if it has one.
    pub fn repository_statement(&self, sid: &str) -> Option<Value> {
        by_sid(&self.repository_statements(), sid)
    }

    /// The identity policy's statement with this Sid.
    pub fn identity_statement(&self, sid: &str) -> Option<Value> {
        by_sid(self.identity_policy()["Statement"].as_array()?, sid)
    }

    pub fn repository_policy(&self) -> Value {
        json!({"Version": "2012-10-17", "Statement": self.repository_statements()})
    }

    /// The caller account's identity policy: the same actions on the
    /// repositories, and `GetAuthorizationToken`, which has no resource.
    pub fn identity_policy(&self) -> Value {
        json!({
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": SID_REPOSITORIES,
                    "Effect": "Allow",
                    "Action": self.access.actions(),
                    "Resource": self.repository_arns(),
                },
                {
                    "Sid": SID_AUTHORIZATION_TOKEN,
                    "Effect": "Allow",
                    "Action": "ecr:GetAuthorizationToken",
                    "Resource": "*",
                }
            ]
        })
    }
}

fn by_sid(statements: &[Value], sid: &str) -> Option<Value> {
    statements.iter().find(|s| s["Sid"] == sid).cloned()
}

/// Merges our statements into an existing repository policy: a statement
/// with one of our Sids is replaced in place, the others are kept as they
/// are, and new ones are appended.
pub fn merge(existing: Option<&str>, ours: &[Value]) -> Result<Value, PolicyError> {
    let mut doc = match existing.filter(|t| !t.trim().is_empty()) {
        None => json!({"Version": "2012-10-17", "Statement": []}),
        Some(text) => {
            serde_json::from_str(text).map_err(|e| PolicyError::BadExisting(e.to_string()))?
        }
    };
    let root = doc
        .as_object_mut()
        .ok_or_else(|| PolicyError::BadExisting("not a JSON object".into()))?;
    let statements = match root.remove("Statement") {
        None => Vec::new(),
        Some(Value::Array(list)) => list,
        // A single statement may stand without a list.
        Some(single @ Value::Object(_)) => vec![single],
        Some(_) => {
            return Err(PolicyError::BadExisting(
                "\"Statement\" is neither a list nor an object".into(),
            ));
        }
    };
    let sid = |s: &Value| s.get("Sid").and_then(Value::as_str).map(str::to_owned);
    let mut merged: Vec<Value> = Vec::new();
    for statement in statements {
        match ours
            .iter()
            .find(|o| sid(o).is_some() && sid(o) == sid(&statement))
        {
            Some(replacement) => merged.push(replacement.clone()),
            None => merged.push(statement),
        }
    }
    for o in ours {
        if !merged.iter().any(|m| sid(m) == sid(o)) {
            merged.push(o.clone());
        }
    }
    root.entry("Version").or_insert_with(|| json!("2012-10-17"));
    root.insert("Statement".into(), Value::Array(merged));
    Ok(doc)
}

/// Reads and writes repository policies in the registry account.
pub trait RepositoryPolicies {
    /// `None` when the repository has no policy yet.
    fn get(&self, spec: &Spec, repository: &str) -> Result<Option<String>, String>;
    fn set(&self, spec: &Spec, repository: &str, policy: &str) -> Result<(), String>;
}

pub fn pretty(v: &Value) -> String {
    serde_json::to_string_pretty(v).expect("JSON values serialize")
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Document {
    /// The registry account's repository policy
    Repository,
    /// The caller account's identity (IAM) policy
    Identity,
}

#[derive(Debug, thiserror::Error)]
pub enum PolicyRunError {
    #[error(transparent)]
    Policy(#[from] PolicyError),
    #[error(
        "{0:?} is not a private ECR registry host (expected e.g. 111111111111.dkr.ecr.us-east-1.amazonaws.com)"
    )]
    NotEcr(String),
    #[error("name the registry: --registry HOST, or --registry-account ID with --region")]
    NoRegistry,
    #[error("--apply needs at least one --repository")]
    ApplyWithoutRepository,
    #[error("{repository}: {message}")]
    Api { repository: String, message: String },
    #[error("cannot write the output: {0}")]
    Output(#[from] std::io::Error),
}

/// Builds the spec from the command line: the registry from its host, or
/// from an account and a region.
pub fn spec_from(args: &crate::commands::cli::PolicyArgs) -> Result<Spec, PolicyRunError> {
    let host = match (&args.registry, &args.registry_account, &args.region) {
        (Some(h), _, _) => h.clone(),
        (None, Some(account), Some(region)) => {
            crate::commands::configure::host_for(account, region)
                .map_err(|e| PolicyRunError::NotEcr(e.to_string()))?
        }
        _ => return Err(PolicyRunError::NoRegistry),
    };
    let Ok(crate::registry::Registry::Private(p)) = crate::registry::parse(&host) else {
        return Err(PolicyRunError::NotEcr(host));
    };
    let spec = Spec {
        partition: p.partition.id().to_owned(),
        region: p.region,
        registry_account: p.account,
        repositories: args.repositories.clone(),
        allow_accounts: args.allow_accounts.clone(),
        allow_orgs: args.allow_orgs.clone(),
        allow_org_paths: args.allow_org_paths.clone(),
        access: args.access,
    };
    spec.validate()?;
    Ok(spec)
}

/// `policy`: prints the documents, or with `--apply` merges the repository
/// statements into each repository's policy, showing the change first.
pub fn run(
    args: &crate::commands::cli::PolicyArgs,
    api: &dyn RepositoryPolicies,
    out: &mut dyn std::io::Write,
    err: &mut dyn std::io::Write,
) -> Result<(), PolicyRunError> {
    let spec = spec_from(args)?;
    if !args.apply {
        match args.document {
            Some(Document::Repository) => writeln!(out, "{}", pretty(&spec.repository_policy()))?,
            Some(Document::Identity) => writeln!(out, "{}", pretty(&spec.identity_policy()))?,
            None => {
                writeln!(
                    out,
                    "# Repository policy: in the registry account {}, on each repository\n\
                     # (aws ecr set-repository-policy, or this command with --apply)",
                    spec.registry_account
                )?;
                writeln!(out, "{}\n", pretty(&spec.repository_policy()))?;
                writeln!(
                    out,
                    "# Identity policy: in the caller's account, on the role or user that pulls"
                )?;
                writeln!(out, "{}", pretty(&spec.identity_policy()))?;
            }
        }
        return Ok(());
    }
    if spec.repositories.is_empty() {
        return Err(PolicyRunError::ApplyWithoutRepository);
    }
    let ours = spec.repository_statements();
    for repository in &spec.repositories {
        let api_err = |message: String| PolicyRunError::Api {
            repository: repository.clone(),
            message,
        };
        let current = api.get(&spec, repository).map_err(api_err)?;
        let merged = merge(current.as_deref(), &ours)?;
        let current_doc = current
            .as_deref()
            .and_then(|t| serde_json::from_str::<Value>(t).ok());
        if current_doc.as_ref() == Some(&merged) {
            writeln!(
                err,
                "{repository}: the repository policy already allows it; nothing to change"
            )?;
            continue;
        }
        writeln!(out, "--- {repository}: current repository policy")?;
        match &current_doc {
            Some(doc) => writeln!(out, "{}", pretty(doc))?,
            None => writeln!(out, "(none)")?,
        }
        writeln!(out, "+++ {repository}: new repository policy")?;
        writeln!(out, "{}", pretty(&merged))?;
        if args.dry_run {
            writeln!(err, "{repository}: dry run, nothing written")?;
        } else {
            api.set(&spec, repository, &merged.to_string())
                .map_err(api_err)?;
            writeln!(err, "{repository}: repository policy set")?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_sid_is_ours_and_found_by_name() {
        let spec = Spec {
            partition: "aws".into(),
            region: "us-east-1".into(),
            registry_account: "111111111111".into(),
            repositories: vec!["team/app".into()],
            allow_accounts: vec!["222222222222".into()],
            allow_orgs: vec!["o-a1b2c3d4e5".into()],
            allow_org_paths: vec![],
            access: Access::Pull,
        };
        for sid in [
            SID_ACCOUNTS,
            SID_ORGANIZATION,
            SID_ORG_PATHS,
            SID_REPOSITORIES,
            SID_AUTHORIZATION_TOKEN,
        ] {
            assert!(sid.starts_with(SID_PREFIX), "{sid}");
        }
        let token = spec.identity_statement(SID_AUTHORIZATION_TOKEN).unwrap();
        assert_eq!(token["Action"], "ecr:GetAuthorizationToken");
        let repos = spec.identity_statement(SID_REPOSITORIES).unwrap();
        assert_eq!(
            repos["Resource"][0],
            "arn:aws:ecr:us-east-1:111111111111:repository/team/app"
        );
        let org = spec.repository_statement(SID_ORGANIZATION).unwrap();
        assert_eq!(org["Principal"], "*");
        assert_eq!(spec.repository_statement(SID_ORG_PATHS), None);
    }

    fn spec() -> Spec {
        Spec {
            partition: "aws".into(),
            region: "us-east-1".into(),
            registry_account: "111111111111".into(),
            repositories: vec!["team/app".into()],
            allow_accounts: vec![],
            allow_orgs: vec![],
            allow_org_paths: vec![],
            access: Access::Pull,
        }
    }

    fn strings(v: &Value) -> Vec<String> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_str().unwrap().to_owned())
            .collect()
    }

    #[test]
    fn account_by_account_repository_policy() {
        let s = Spec {
            allow_accounts: vec!["222222222222".into(), "333333333333".into()],
            ..spec()
        };
        s.validate().unwrap();
        // Golden: parsed back and checked statement by statement.
        let doc: Value = serde_json::from_str(&pretty(&s.repository_policy())).unwrap();
        assert_eq!(doc["Version"], "2012-10-17");
        let st = doc["Statement"].as_array().unwrap();
        assert_eq!(st.len(), 1);
        assert_eq!(st[0]["Sid"], "EcrLoginAccounts");
        assert_eq!(st[0]["Effect"], "Allow");
        assert_eq!(
            strings(&st[0]["Principal"]["AWS"]),
            [
                "arn:aws:iam::222222222222:root",
                "arn:aws:iam::333333333333:root"
            ]
        );
        assert_eq!(strings(&st[0]["Action"]), PULL_ACTIONS);
        assert!(st[0].get("Condition").is_none() && st[0].get("Resource").is_none());
    }

    #[test]
    fn organization_and_paths_repository_policy() {
        let s = Spec {
            allow_orgs: vec!["o-a1b2c3d4e5".into()],
            allow_org_paths: vec!["o-a1b2c3d4e5/r-ab12/ou-ab12-11111111/".into()],
            access: Access::Push,
            ..spec()
        };
        s.validate().unwrap();
        let doc = s.repository_policy();
        let st = doc["Statement"].as_array().unwrap();
        assert_eq!(st.len(), 2);
        assert_eq!(
            (&st[0]["Sid"], &st[0]["Principal"]),
            (&json!("EcrLoginOrganization"), &json!("*"))
        );
        assert_eq!(
            strings(&st[0]["Condition"]["StringEquals"]["aws:PrincipalOrgID"]),
            ["o-a1b2c3d4e5"]
        );
        assert_eq!(st[1]["Sid"], "EcrLoginOrgPaths");
        assert_eq!(
            strings(&st[1]["Condition"]["ForAnyValue:StringLike"]["aws:PrincipalOrgPaths"]),
            ["o-a1b2c3d4e5/r-ab12/ou-ab12-11111111/*"]
        );
        let actions = strings(&st[0]["Action"]);
        assert_eq!(actions.len(), 7);
        assert!(
            actions.contains(&"ecr:PutImage".to_owned())
                && actions.contains(&"ecr:BatchGetImage".to_owned())
        );
    }

    #[test]
    fn identity_policy_names_the_repositories_and_the_token() {
        let s = Spec {
            allow_accounts: vec!["222222222222".into()],
            repositories: vec!["team/app".into(), "base".into()],
            ..spec()
        };
        let doc: Value = serde_json::from_str(&pretty(&s.identity_policy())).unwrap();
        let st = doc["Statement"].as_array().unwrap();
        assert_eq!(st.len(), 2);
        assert_eq!(strings(&st[0]["Action"]), PULL_ACTIONS);
        assert_eq!(
            strings(&st[0]["Resource"]),
            [
                "arn:aws:ecr:us-east-1:111111111111:repository/team/app",
                "arn:aws:ecr:us-east-1:111111111111:repository/base"
            ]
        );
        assert_eq!(
            (&st[1]["Action"], &st[1]["Resource"]),
            (&json!("ecr:GetAuthorizationToken"), &json!("*"))
        );
        // No repository named: all of the registry's.
        let all = Spec {
            repositories: vec![],
            ..s.clone()
        };
        assert_eq!(
            all.repository_arns(),
            ["arn:aws:ecr:us-east-1:111111111111:repository/*"]
        );
        let cn = Spec {
            partition: "aws-cn".into(),
            region: "cn-north-1".into(),
            ..s
        };
        assert!(cn.repository_arns()[0].starts_with("arn:aws-cn:ecr:cn-north-1:"));
        assert!(
            cn.repository_statements()[0]["Principal"]["AWS"][0]
                .as_str()
                .unwrap()
                .starts_with("arn:aws-cn:iam::")
        );
    }

    #[test]
    fn validation() {
        let bad = |f: fn(&mut Spec), want: PolicyError| {
            let mut s = Spec {
                allow_accounts: vec!["222222222222".into()],
                ..spec()
            };
            f(&mut s);
            assert_eq!(s.validate(), Err(want));
        };
        bad(
            |s| s.allow_accounts = vec!["2222".into()],
            PolicyError::BadAccount("2222".into()),
        );
        bad(
            |s| s.registry_account = "x".into(),
            PolicyError::BadAccount("x".into()),
        );
        bad(
            |s| s.allow_orgs = vec!["org-1".into()],
            PolicyError::BadOrg("org-1".into()),
        );
        bad(
            |s| s.allow_orgs = vec!["o-short".into()],
            PolicyError::BadOrg("o-short".into()),
        );
        bad(
            |s| s.allow_org_paths = vec!["o-a1b2c3d4e5".into()],
            PolicyError::BadOrgPath("o-a1b2c3d4e5".into()),
        );
        bad(
            |s| s.allow_org_paths = vec!["o-a1b2c3d4e5/x-1/".into()],
            PolicyError::BadOrgPath("o-a1b2c3d4e5/x-1/".into()),
        );
        bad(
            |s| s.repositories = vec!["Team/App".into()],
            PolicyError::BadRepository("Team/App".into()),
        );
        bad(
            |s| s.repositories = vec!["team//app".into()],
            PolicyError::BadRepository("team//app".into()),
        );
        bad(|s| s.allow_accounts.clear(), PolicyError::NoPrincipal);
        for ok in ["team/app", "a.b_c-d/e", "ab", "x/y/z1"] {
            assert!(is_repository_name(ok), "{ok}");
        }
        for bad in ["a", "team/", "/app", "a..b", "a-", "UPPER"] {
            assert!(!is_repository_name(bad), "{bad}");
        }
    }

    #[test]
    fn merge_replaces_ours_by_sid_and_keeps_the_rest() {
        let foreign = json!({"Sid": "CiPush", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::999999999999:role/ci"}, "Action": "ecr:*"});
        let unnamed = json!({"Effect": "Deny", "Principal": "*", "Action": "ecr:DeleteRepository"});
        let old_ours = json!({"Sid": "EcrLoginAccounts", "Effect": "Allow", "Principal": {"AWS": ["arn:aws:iam::222222222222:root"]}, "Action": PULL_ACTIONS});
        let existing =
            json!({"Version": "2008-10-17", "Statement": [foreign, old_ours, unnamed]}).to_string();
        let s = Spec {
            allow_accounts: vec!["222222222222".into(), "333333333333".into()],
            allow_orgs: vec!["o-a1b2c3d4e5".into()],
            ..spec()
        };
        let ours = s.repository_statements();
        let merged = merge(Some(&existing), &ours).unwrap();
        let st = merged["Statement"].as_array().unwrap();
        assert_eq!(merged["Version"], "2008-10-17");
        assert_eq!(st.len(), 4);
        assert_eq!(st[0], foreign);
        assert_eq!(st[1], ours[0], "replaced in place");
        assert_eq!(st[2], unnamed);
        assert_eq!(st[3], ours[1], "new ones appended");
        // Merging again changes nothing.
        assert_eq!(merge(Some(&merged.to_string()), &ours).unwrap(), merged);
        // No policy yet, and a lone statement object.
        assert_eq!(
            merge(None, &ours).unwrap()["Statement"]
                .as_array()
                .unwrap()
                .len(),
            2
        );
        let lone = json!({"Version": "2012-10-17", "Statement": foreign}).to_string();
        assert_eq!(merge(Some(&lone), &ours).unwrap()["Statement"][0], foreign);
        for bad in ["[]", "{", r#"{"Statement": 3}"#] {
            assert!(
                matches!(merge(Some(bad), &ours), Err(PolicyError::BadExisting(_))),
                "{bad}"
            );
        }
    }
}
