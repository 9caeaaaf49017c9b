//! The two documents a cross-account pull needs: the repository policy in
//! the registry account and the identity policy in the caller's account;
//! and what `policy --apply` does to the repository policy: it adds to the
//! statements this tool wrote (found by `Sid` and shape) and takes nothing
//! away; `--revoke` and `--replace` take away, saying what first. A
//! statement it did not write is never changed, even under one of its Sids.

use std::collections::BTreeSet;

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
    #[error("refusing to set the repository policy: {0} (a bug: please report it)")]
    Internal(String),
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

pub use crate::registry::image::is_repository_name;

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

    /// Who this spec names for one kind of statement, without duplicates:
    /// account IDs, organization IDs, or organization paths ending in `/*`.
    pub fn wanted(&self, kind: Kind) -> Vec<String> {
        let named: Vec<String> = match kind {
            Kind::Accounts => self.allow_accounts.clone(),
            Kind::Organization => self.allow_orgs.clone(),
            Kind::OrgPaths => self
                .allow_org_paths
                .iter()
                .filter_map(|p| org_path(p))
                .collect(),
        };
        dedup(named)
    }

    /// The statements for the registry account's repository policy.
    pub fn repository_statements(&self) -> Vec<Value> {
        let actions: Vec<String> = self
            .access
            .actions()
            .iter()
            .map(|a| a.to_string())
            .collect();
        Kind::ALL
            .into_iter()
            .filter_map(|kind| {
                let who = self.wanted(kind);
                (!who.is_empty()).then(|| {
                    let grant = Grant {
                        who,
                        actions: actions.clone(),
                    };
                    render(kind, kind.sid(), &grant, &self.partition)
                })
            })
            .collect()
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

/// The three statements of the repository policy this tool writes, each
/// found by its Sid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    /// `Principal: {"AWS": [account roots]}`
    Accounts,
    /// `Principal: "*"`, `StringEquals aws:PrincipalOrgID`
    Organization,
    /// `Principal: "*"`, `ForAnyValue:StringLike aws:PrincipalOrgPaths`
    OrgPaths,
}

impl Kind {
    pub const ALL: [Kind; 3] = [Kind::Accounts, Kind::Organization, Kind::OrgPaths];

    pub fn sid(self) -> &'static str {
        match self {
            Kind::Accounts => SID_ACCOUNTS,
            Kind::Organization => SID_ORGANIZATION,
            Kind::OrgPaths => SID_ORG_PATHS,
        }
    }

    /// What one entry of it is, in messages.
    fn noun(self) -> &'static str {
        match self {
            Kind::Accounts => "account",
            Kind::Organization => "organization",
            Kind::OrgPaths => "organization path",
        }
    }

    /// The condition operator and key of the organization kinds.
    fn condition(self) -> Option<(&'static str, &'static str)> {
        match self {
            Kind::Accounts => None,
            Kind::Organization => Some(("StringEquals", "aws:PrincipalOrgID")),
            Kind::OrgPaths => Some(("ForAnyValue:StringLike", "aws:PrincipalOrgPaths")),
        }
    }

    /// Whether `sid` is one this kind may be written under: its own Sid, or
    /// the Sid followed by a number from 2 on, the free Sid this tool takes
    /// when a statement it did not write holds its own (`EcrLoginAccounts2`).
    pub fn owns_sid(self, sid: &str) -> bool {
        sid.strip_prefix(self.sid()).is_some_and(|n| {
            n.is_empty()
                || (n.bytes().all(|b| b.is_ascii_digit())
                    && !n.starts_with('0')
                    && n.parse::<u32>().is_ok_and(|n| n >= 2))
        })
    }
}

/// What one statement of this tool grants: to whom (account IDs,
/// organization IDs, or organization paths ending in `/*`) and which
/// actions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    pub who: Vec<String>,
    pub actions: Vec<String>,
}

fn dedup(items: Vec<String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(items.len());
    for item in items {
        if !out.contains(&item) {
            out.push(item);
        }
    }
    out
}

/// The actions this tool writes, pull's then push's: their order in what it
/// writes.
fn action_rank(action: &str) -> Option<usize> {
    PULL_ACTIONS
        .iter()
        .chain(PUSH_ACTIONS.iter())
        .position(|a| *a == action)
}

/// A string, or a non-empty list of strings (IAM accepts both).
fn strings_of(v: &Value) -> Option<Vec<String>> {
    match v {
        Value::String(s) => Some(vec![s.clone()]),
        Value::Array(items) if !items.is_empty() => items
            .iter()
            .map(|i| i.as_str().map(str::to_owned))
            .collect(),
        _ => None,
    }
}

/// The account of `arn:<partition>:iam::<account>:root`, or of a bare
/// account ID (IAM reads both as the account).
fn account_of(principal: &str, partition: &str) -> Option<String> {
    let id = match principal.strip_prefix("arn:") {
        None => principal,
        Some(rest) => rest
            .strip_prefix(partition)?
            .strip_prefix(":iam::")?
            .strip_suffix(":root")?,
    };
    crate::registry::is_account_id(id).then(|| id.to_owned())
}

fn sid_of(statement: &Value) -> Option<&str> {
    statement.get("Sid").and_then(Value::as_str)
}

/// The grant of `statement` when it is exactly what this tool writes for
/// `kind`: `Allow`, the principal form of the kind (account roots of the
/// partition, or `"*"` with the kind's one condition), actions among
/// [`PULL_ACTIONS`] and [`PUSH_ACTIONS`], and no other key (no `Resource`,
/// `NotAction`, `NotPrincipal`, other condition). Otherwise why it is not,
/// for the message: such a statement is never changed.
pub fn read_ours(statement: &Value, kind: Kind, partition: &str) -> Result<Grant, String> {
    let Some(map) = statement.as_object() else {
        return Err("it is not a JSON object".into());
    };
    let known = |k: &str| {
        matches!(k, "Sid" | "Effect" | "Principal" | "Action")
            || (k == "Condition" && kind.condition().is_some())
    };
    if let Some(key) = map.keys().find(|k| !known(k)) {
        return Err(format!("it has {key:?}"));
    }
    match map.get("Effect") {
        Some(e) if e == "Allow" => {}
        Some(e) => return Err(format!("its Effect is {e}")),
        None => return Err("it has no Effect".into()),
    }
    let actions = map
        .get("Action")
        .and_then(strings_of)
        .ok_or("its Action is not a list of actions")?;
    if let Some(a) = actions.iter().find(|a| action_rank(a).is_none()) {
        return Err(format!("it grants {a:?}, an action this tool never writes"));
    }
    let who: Vec<String> = match kind.condition() {
        None => {
            let principals = map
                .get("Principal")
                .and_then(Value::as_object)
                .filter(|p| p.len() == 1)
                .and_then(|p| p.get("AWS"))
                .and_then(strings_of)
                .ok_or("its Principal is not {\"AWS\": account roots}")?;
            principals
                .iter()
                .map(|p| {
                    account_of(p, partition).ok_or_else(|| {
                        format!(
                            "its principal {p:?} is not an account root of partition {partition}"
                        )
                    })
                })
                .collect::<Result<_, _>>()?
        }
        Some((operator, key)) => {
            let principal = map.get("Principal");
            if principal != Some(&json!("*")) && principal != Some(&json!({"AWS": "*"})) {
                return Err("its Principal is not \"*\"".into());
            }
            let values = map
                .get("Condition")
                .and_then(Value::as_object)
                .filter(|c| c.len() == 1)
                .and_then(|c| c.get(operator))
                .and_then(Value::as_object)
                .filter(|o| o.len() == 1)
                .and_then(|o| o.get(key))
                .and_then(strings_of)
                .ok_or_else(|| format!("its Condition is not {operator} {key} alone"))?;
            values
                .iter()
                .map(|v| {
                    let ours = match kind {
                        Kind::Organization => is_org(v),
                        _ => org_path(v).as_deref() == Some(v.as_str()),
                    };
                    ours.then(|| v.clone())
                        .ok_or_else(|| format!("its {key} {v:?} is not one this tool writes"))
                })
                .collect::<Result<_, _>>()?
        }
    };
    Ok(Grant { who, actions })
}

/// The statement this tool writes for `kind`, duplicates dropped, the
/// actions in their usual order.
pub fn render(kind: Kind, sid: &str, grant: &Grant, partition: &str) -> Value {
    let who = dedup(grant.who.clone());
    let mut actions = dedup(grant.actions.clone());
    actions.sort_by_key(|a| action_rank(a));
    match kind.condition() {
        None => {
            let principals: Vec<String> = who
                .iter()
                .map(|a| format!("arn:{partition}:iam::{a}:root"))
                .collect();
            json!({
                "Sid": sid,
                "Effect": "Allow",
                "Principal": {"AWS": principals},
                "Action": actions,
            })
        }
        Some((operator, key)) => json!({
            "Sid": sid,
            "Effect": "Allow",
            "Principal": "*",
            "Action": actions,
            "Condition": {operator: {key: who}},
        }),
    }
}

/// What `policy --apply` does to this tool's statements.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Adds the named principals and the access's actions; takes nothing away.
    Merge,
    /// Takes the named principals out of this tool's statements.
    Revoke,
    /// Makes this tool's statements exactly what is named.
    Replace,
}

/// A repository policy after [`change`], and what to say about it.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    pub policy: Value,
    /// Whether any statement differs from the current policy's.
    pub changed: bool,
    /// Statements left alone, Sids taken, names not found: said on stderr.
    pub notes: Vec<String>,
    /// Every grant taken away, one line per principal: said on stderr
    /// before the policy is set. Always empty for [`Mode::Merge`].
    pub lost: Vec<String>,
}

/// Who this tool's statements let in, action by action: what is compared to
/// find what a change takes away.
fn grants(statements: &[Value], partition: &str) -> BTreeSet<(Kind, String, String)> {
    let mut all = BTreeSet::new();
    for kind in Kind::ALL {
        for s in statements {
            if !sid_of(s).is_some_and(|sid| kind.owns_sid(sid)) {
                continue;
            }
            if let Ok(g) = read_ours(s, kind, partition) {
                for w in &g.who {
                    for a in &g.actions {
                        all.insert((kind, w.clone(), a.clone()));
                    }
                }
            }
        }
    }
    all
}

/// Whether no kind claims `statement` as this tool's.
fn is_foreign(statement: &Value, partition: &str) -> bool {
    !Kind::ALL.into_iter().any(|kind| {
        sid_of(statement).is_some_and(|sid| kind.owns_sid(sid))
            && read_ours(statement, kind, partition).is_ok()
    })
}

/// The first Sid of `kind` no statement holds.
fn free_sid(kind: Kind, statements: &[Value]) -> String {
    let taken = |sid: &str| statements.iter().any(|s| sid_of(s) == Some(sid));
    if !taken(kind.sid()) {
        return kind.sid().to_owned();
    }
    (2..)
        .map(|n| format!("{}{n}", kind.sid()))
        .find(|sid| !taken(sid))
        .expect("a free Sid")
}

/// Parses a repository policy: the document, and its statements taken out.
fn parse_policy(existing: Option<&str>) -> Result<(Value, Vec<Value>), PolicyError> {
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
    Ok((doc, statements))
}

/// The repository policy `existing` after `mode` with `spec`'s principals
/// and access. Statements this tool did not write are never changed, even
/// under one of its Sids: [`Mode::Merge`] then writes its own under the next
/// free Sid (`EcrLoginAccounts2`) and says so. [`Mode::Merge`] only adds:
/// principals, organization IDs and paths, and actions join those of the
/// first statement of this tool of their kind, duplicates dropped.
pub fn change(existing: Option<&str>, spec: &Spec, mode: Mode) -> Result<Change, PolicyError> {
    let (mut doc, before) = parse_policy(existing)?;
    let partition = spec.partition.as_str();
    let actions: Vec<String> = spec
        .access
        .actions()
        .iter()
        .map(|a| a.to_string())
        .collect();
    let mut statements = before.clone();
    let mut notes = Vec::new();
    for kind in Kind::ALL {
        let wanted = spec.wanted(kind);
        if wanted.is_empty() && mode != Mode::Replace {
            continue;
        }
        let mut ours: Vec<(usize, Grant)> = Vec::new();
        for (i, s) in statements.iter().enumerate() {
            let Some(sid) = sid_of(s).filter(|sid| kind.owns_sid(sid)) else {
                continue;
            };
            match read_ours(s, kind, partition) {
                Ok(g) => ours.push((i, g)),
                Err(why) => notes.push(format!(
                    "statement {sid:?} is not one this tool writes ({why}): left as it is"
                )),
            }
        }
        match mode {
            Mode::Merge => match ours.first() {
                Some((i, g)) => {
                    let merged = Grant {
                        who: dedup(g.who.iter().chain(&wanted).cloned().collect()),
                        actions: dedup(g.actions.iter().chain(&actions).cloned().collect()),
                    };
                    // Equal lengths: nothing added and no duplicate dropped.
                    if (merged.who.len(), merged.actions.len()) != (g.who.len(), g.actions.len()) {
                        let sid = sid_of(&statements[*i]).unwrap_or(kind.sid()).to_owned();
                        statements[*i] = render(kind, &sid, &merged, partition);
                    }
                }
                None => {
                    let sid = free_sid(kind, &statements);
                    if sid != kind.sid() {
                        notes.push(format!(
                            "this tool's {} statement goes under Sid {sid:?}",
                            kind.noun()
                        ));
                    }
                    let grant = Grant {
                        who: wanted,
                        actions: actions.clone(),
                    };
                    statements.push(render(kind, &sid, &grant, partition));
                }
            },
            Mode::Revoke => {
                for w in &wanted {
                    if !ours.iter().any(|(_, g)| g.who.contains(w)) {
                        notes.push(format!(
                            "{} {w} is in none of this tool's statements: nothing to revoke",
                            kind.noun()
                        ));
                    }
                }
                for (i, g) in ours.iter().rev() {
                    let kept = Grant {
                        who: dedup(
                            g.who
                                .iter()
                                .filter(|w| !wanted.contains(w))
                                .cloned()
                                .collect(),
                        ),
                        actions: g.actions.clone(),
                    };
                    if kept.who.is_empty() {
                        statements.remove(*i);
                    } else if kept.who.len() != g.who.len() {
                        let sid = sid_of(&statements[*i]).unwrap_or(kind.sid()).to_owned();
                        statements[*i] = render(kind, &sid, &kept, partition);
                    }
                }
            }
            Mode::Replace => {
                let first = ours
                    .first()
                    .map(|(i, _)| (*i, sid_of(&statements[*i]).unwrap_or(kind.sid()).to_owned()));
                for (i, _) in ours.iter().rev() {
                    statements.remove(*i);
                }
                if !wanted.is_empty() {
                    let grant = Grant {
                        who: wanted,
                        actions: actions.clone(),
                    };
                    match first {
                        Some((at, sid)) => {
                            statements.insert(at, render(kind, &sid, &grant, partition));
                        }
                        None => {
                            let sid = free_sid(kind, &statements);
                            statements.push(render(kind, &sid, &grant, partition));
                        }
                    }
                }
            }
        }
    }

    // What is taken away, found by comparing grants, whatever the mode did.
    let after = grants(&statements, partition);
    let mut lost_by_who: Vec<((Kind, String), Vec<String>)> = Vec::new();
    for (kind, who, action) in grants(&before, partition).difference(&after) {
        match lost_by_who
            .iter_mut()
            .find(|(k, _)| *k == (*kind, who.clone()))
        {
            Some((_, list)) => list.push(action.clone()),
            None => lost_by_who.push(((*kind, who.clone()), vec![action.clone()])),
        }
    }
    let lost: Vec<String> = lost_by_who
        .into_iter()
        .map(|((kind, who), mut list)| {
            list.sort_by_key(|a| action_rank(a));
            format!("{} {who} loses {}", kind.noun(), list.join(", "))
        })
        .collect();
    // The rules above, checked on their result: a statement this tool did not
    // write is still there, unchanged; a merge takes nothing away.
    if let Some(gone) = before
        .iter()
        .filter(|s| is_foreign(s, partition))
        .find(|s| !statements.contains(s))
    {
        return Err(PolicyError::Internal(format!(
            "the new policy would change a statement this tool did not write: {gone}"
        )));
    }
    if mode == Mode::Merge && !lost.is_empty() {
        return Err(PolicyError::Internal(format!(
            "a merge would take access away ({})",
            lost.join("; ")
        )));
    }
    let changed = statements != before;
    let root = doc.as_object_mut().expect("checked by parse_policy");
    root.entry("Version").or_insert_with(|| json!("2012-10-17"));
    root.insert("Statement".into(), Value::Array(statements));
    Ok(Change {
        policy: doc,
        changed,
        notes,
        lost,
    })
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
    #[error(
        "{0}: nothing would be left of the repository policy; to remove it: aws ecr delete-repository-policy --repository-name {0}"
    )]
    NothingLeft(String),
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
        repositories: dedup(args.repositories.clone()),
        allow_accounts: dedup(args.allow_accounts.clone()),
        allow_orgs: dedup(args.allow_orgs.clone()),
        allow_org_paths: dedup(args.allow_org_paths.clone()),
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
    if spec.allow_accounts.contains(&spec.registry_account) {
        writeln!(
            err,
            "note: {} is the registry's own account: its principals need no repository policy, \
             their IAM policy alone lets them pull",
            spec.registry_account
        )?;
    }
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
    let mode = mode_of(args);
    for repository in &spec.repositories {
        let api_err = |message: String| PolicyRunError::Api {
            repository: repository.clone(),
            message,
        };
        let current = api.get(&spec, repository).map_err(api_err)?;
        let change = change(current.as_deref(), &spec, mode)?;
        for note in &change.notes {
            writeln!(err, "{repository}: {note}")?;
        }
        if !change.changed {
            let why = match mode {
                Mode::Merge => "the repository policy already allows it",
                Mode::Revoke | Mode::Replace => "the repository policy is already so",
            };
            writeln!(err, "{repository}: {why}; nothing to change")?;
            continue;
        }
        if change.policy["Statement"]
            .as_array()
            .is_some_and(|s| s.is_empty())
        {
            return Err(PolicyRunError::NothingLeft(repository.clone()));
        }
        if mode != Mode::Merge {
            for line in &change.lost {
                writeln!(err, "{repository}: takes away: {line}")?;
            }
            if change.lost.is_empty() {
                writeln!(err, "{repository}: takes nothing away")?;
            }
        }
        let current_doc = current
            .as_deref()
            .and_then(|t| serde_json::from_str::<Value>(t).ok());
        writeln!(out, "--- {repository}: current repository policy")?;
        match &current_doc {
            Some(doc) => writeln!(out, "{}", pretty(doc))?,
            None => writeln!(out, "(none)")?,
        }
        writeln!(out, "+++ {repository}: new repository policy")?;
        writeln!(out, "{}", pretty(&change.policy))?;
        if args.dry_run {
            writeln!(err, "{repository}: dry run, nothing written")?;
        } else {
            api.set(&spec, repository, &change.policy.to_string())
                .map_err(api_err)?;
            writeln!(err, "{repository}: repository policy set")?;
        }
    }
    Ok(())
}

fn mode_of(args: &crate::commands::cli::PolicyArgs) -> Mode {
    if args.revoke {
        Mode::Revoke
    } else if args.replace {
        Mode::Replace
    } else {
        Mode::Merge
    }
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

    fn with(accounts: &[&str], orgs: &[&str], paths: &[&str], access: Access) -> Spec {
        let v = |l: &[&str]| l.iter().map(|s| s.to_string()).collect();
        Spec {
            allow_accounts: v(accounts),
            allow_orgs: v(orgs),
            allow_org_paths: v(paths),
            access,
            ..spec()
        }
    }

    fn policy(statements: Value) -> String {
        json!({"Version": "2012-10-17", "Statement": statements}).to_string()
    }

    /// The statement with this Sid in a changed policy.
    fn statement(c: &Change, sid: &str) -> Value {
        by_sid(c.policy["Statement"].as_array().unwrap(), sid)
            .unwrap_or_else(|| panic!("no {sid} in {}", pretty(&c.policy)))
    }

    fn root(a: &str) -> String {
        format!("arn:aws:iam::{a}:root")
    }

    #[test]
    fn merge_adds_accounts_and_keeps_the_others() {
        let first = change(
            None,
            &with(&["333333333333"], &[], &[], Access::Pull),
            Mode::Merge,
        )
        .unwrap();
        let text = first.policy.to_string();
        let second = change(
            Some(&text),
            &with(&["222222222222"], &[], &[], Access::Pull),
            Mode::Merge,
        )
        .unwrap();
        assert!(second.changed && second.lost.is_empty());
        let st = statement(&second, SID_ACCOUNTS);
        assert_eq!(
            strings(&st["Principal"]["AWS"]),
            [root("333333333333"), root("222222222222")]
        );
        assert_eq!(second.policy["Statement"].as_array().unwrap().len(), 1);
        // Again: nothing to change, the statement untouched.
        let again = change(
            Some(&second.policy.to_string()),
            &with(&["222222222222"], &[], &[], Access::Pull),
            Mode::Merge,
        )
        .unwrap();
        assert!(!again.changed);
        assert_eq!(again.policy, second.policy);
    }

    #[test]
    fn merge_keeps_organizations_paths_and_push_actions() {
        let push = with(
            &["222222222222"],
            &["o-a1b2c3d4e5"],
            &["o-a1b2c3d4e5/r-ab12/ou-ab12-11111111/"],
            Access::Push,
        );
        let text = change(None, &push, Mode::Merge).unwrap().policy.to_string();
        // Pull for another account and another organization: push stays.
        let pull = with(&["333333333333"], &["o-zzzzzzzzzz"], &[], Access::Pull);
        let c = change(Some(&text), &pull, Mode::Merge).unwrap();
        assert!(c.lost.is_empty());
        let accounts = statement(&c, SID_ACCOUNTS);
        assert_eq!(strings(&accounts["Action"]).len(), 7, "push's actions kept");
        assert_eq!(
            strings(&accounts["Principal"]["AWS"]),
            [root("222222222222"), root("333333333333")]
        );
        let org = statement(&c, SID_ORGANIZATION);
        assert_eq!(
            strings(&org["Condition"]["StringEquals"]["aws:PrincipalOrgID"]),
            ["o-a1b2c3d4e5", "o-zzzzzzzzzz"]
        );
        // Not named this time: untouched.
        assert_eq!(
            statement(&c, SID_ORG_PATHS),
            by_sid(&push.repository_statements(), SID_ORG_PATHS).unwrap()
        );
    }

    #[test]
    fn merge_drops_duplicates_and_keeps_what_is_already_there() {
        // Duplicates on the command line (a path with and without `*`) and
        // in the current statement; AWS's single-string forms read as lists.
        let existing = policy(json!([{
            "Sid": SID_ACCOUNTS, "Effect": "Allow",
            "Principal": {"AWS": [root("222222222222"), "222222222222"]},
            "Action": "ecr:BatchGetImage"
        }]));
        let s = with(
            &["222222222222", "222222222222", "444444444444"],
            &["o-a1b2c3d4e5", "o-a1b2c3d4e5"],
            &[
                "o-a1b2c3d4e5/r-ab12/ou-ab12-11111111/",
                "o-a1b2c3d4e5/r-ab12/ou-ab12-11111111/*",
            ],
            Access::Pull,
        );
        let c = change(Some(&existing), &s, Mode::Merge).unwrap();
        let accounts = statement(&c, SID_ACCOUNTS);
        assert_eq!(
            strings(&accounts["Principal"]["AWS"]),
            [root("222222222222"), root("444444444444")]
        );
        assert_eq!(strings(&accounts["Action"]), PULL_ACTIONS);
        assert_eq!(
            statement(&c, SID_ORGANIZATION)["Condition"]["StringEquals"]["aws:PrincipalOrgID"],
            json!(["o-a1b2c3d4e5"])
        );
        assert_eq!(
            statement(&c, SID_ORG_PATHS)["Condition"]["ForAnyValue:StringLike"]["aws:PrincipalOrgPaths"],
            json!(["o-a1b2c3d4e5/r-ab12/ou-ab12-11111111/*"])
        );
        // A statement of ours already holding it all, in AWS's string forms:
        // nothing to change, kept as written.
        let compact = policy(json!([{
            "Sid": SID_ACCOUNTS, "Effect": "Allow",
            "Principal": {"AWS": root("222222222222")},
            "Action": PULL_ACTIONS
        }]));
        let c = change(
            Some(&compact),
            &with(&["222222222222"], &[], &[], Access::Pull),
            Mode::Merge,
        )
        .unwrap();
        assert!(!c.changed);
    }

    #[test]
    fn statements_that_are_not_ours_are_never_changed() {
        let s = with(&["222222222222"], &["o-a1b2c3d4e5"], &[], Access::Pull);
        let ours = s.repository_statements();
        let account = |extra: Value| {
            let mut st = ours[0].clone();
            for (k, v) in extra.as_object().unwrap() {
                st[k] = v.clone();
            }
            st
        };
        let mut not_ours = vec![
            account(json!({"Effect": "Deny"})),
            account(json!({"Principal": "*"})),
            account(json!({"Principal": {"AWS": "arn:aws:iam::222222222222:role/ci"}})),
            account(json!({"Principal": {"Service": "codebuild.amazonaws.com"}})),
            account(json!({"Principal": {"AWS": "arn:aws-cn:iam::222222222222:root"}})),
            account(json!({"Condition": {"Bool": {"aws:SecureTransport": "true"}}})),
            account(json!({"Action": "ecr:*"})),
            account(json!({"Resource": "*"})),
        ];
        let mut na = ours[0].clone();
        let actions = na.as_object_mut().unwrap().remove("Action").unwrap();
        na["NotAction"] = actions;
        not_ours.push(na);
        let mut org_extra = ours[1].clone();
        org_extra["Condition"]["StringEquals"]["aws:PrincipalAccount"] = json!("333333333333");
        not_ours.push(org_extra);
        let mut org_other = ours[1].clone();
        org_other["Condition"] = json!({"StringLike": {"aws:PrincipalOrgID": "o-*"}});
        not_ours.push(org_other);
        for foreign in not_ours {
            let sid = foreign["Sid"].as_str().unwrap().to_owned();
            let existing = policy(json!([foreign.clone()]));
            let c = change(Some(&existing), &s, Mode::Merge).unwrap();
            let st = c.policy["Statement"].as_array().unwrap();
            assert_eq!(st[0], foreign, "left as it was");
            let theirs = st.iter().filter(|x| x["Sid"] == sid.as_str()).count();
            assert_eq!(theirs, 1, "{foreign}");
            let moved = format!("{sid}2");
            assert!(
                by_sid(st, &moved).is_some(),
                "ours under {moved}: {}",
                pretty(&c.policy)
            );
            assert!(
                c.notes.iter().any(
                    |n| n.contains(&format!("{sid:?} is not one this tool writes"))
                        && n.contains("left as it is")
                ),
                "{:?}",
                c.notes
            );
            assert!(
                c.notes.iter().any(|n| n.contains(&format!("{moved:?}"))),
                "{:?}",
                c.notes
            );
            // Applied again: ours is found under its new Sid, nothing added.
            let again = change(Some(&c.policy.to_string()), &s, Mode::Merge).unwrap();
            assert!(!again.changed, "{}", pretty(&again.policy));
            // Revoke and replace leave it too.
            for mode in [Mode::Revoke, Mode::Replace] {
                let r = change(Some(&c.policy.to_string()), &s, mode).unwrap();
                assert!(
                    r.policy["Statement"].as_array().unwrap().contains(&foreign),
                    "{mode:?}"
                );
            }
        }
        // Other Sids are never looked at, ours-looking or not.
        let other = json!({"Sid": "EcrLoginAccountsX", "Effect": "Allow", "Principal": {"AWS": root("333333333333")}, "Action": PULL_ACTIONS});
        let c = change(Some(&policy(json!([other.clone()]))), &s, Mode::Replace).unwrap();
        assert_eq!(c.policy["Statement"][0], other);
        assert!(c.lost.is_empty());
    }

    #[test]
    fn revoke_takes_out_only_what_is_named_and_says_so() {
        let all = with(
            &["222222222222", "333333333333"],
            &["o-a1b2c3d4e5", "o-zzzzzzzzzz"],
            &[],
            Access::Push,
        );
        let foreign = json!({"Sid": "CiPush", "Effect": "Allow", "Principal": {"AWS": root("333333333333")}, "Action": "ecr:*"});
        let mut statements = vec![foreign.clone()];
        statements.extend(all.repository_statements());
        let existing = policy(Value::Array(statements));
        let c = change(
            Some(&existing),
            &with(
                &["333333333333", "555555555555"],
                &["o-zzzzzzzzzz"],
                &[],
                Access::Pull,
            ),
            Mode::Revoke,
        )
        .unwrap();
        assert_eq!(c.policy["Statement"][0], foreign, "not ours: kept");
        assert_eq!(
            strings(&statement(&c, SID_ACCOUNTS)["Principal"]["AWS"]),
            [root("222222222222")]
        );
        assert_eq!(strings(&statement(&c, SID_ACCOUNTS)["Action"]).len(), 7);
        assert_eq!(
            statement(&c, SID_ORGANIZATION)["Condition"]["StringEquals"]["aws:PrincipalOrgID"],
            json!(["o-a1b2c3d4e5"])
        );
        assert_eq!(c.lost.len(), 2, "{:?}", c.lost);
        assert!(c.lost[0].starts_with("account 333333333333 loses ecr:BatchGetImage,"));
        assert!(c.lost[0].ends_with("ecr:CompleteLayerUpload"));
        assert!(c.lost[1].starts_with("organization o-zzzzzzzzzz loses "));
        assert!(
            c.notes
                .iter()
                .any(|n| n.contains("account 555555555555 is in none"))
        );
        // The last principal of a statement takes the statement with it.
        let c = change(
            Some(&c.policy.to_string()),
            &with(&["222222222222"], &[], &[], Access::Pull),
            Mode::Revoke,
        )
        .unwrap();
        assert!(by_sid(c.policy["Statement"].as_array().unwrap(), SID_ACCOUNTS).is_none());
        // Nothing named is there: nothing changes.
        let c = change(
            Some(&existing),
            &with(&["444444444444"], &[], &[], Access::Pull),
            Mode::Revoke,
        )
        .unwrap();
        assert!(!c.changed && c.lost.is_empty());
    }

    #[test]
    fn replace_writes_exactly_what_is_named_and_says_what_is_lost() {
        let before = with(
            &["222222222222", "333333333333"],
            &["o-a1b2c3d4e5"],
            &[],
            Access::Push,
        );
        let foreign = json!({"Sid": "CiPush", "Effect": "Deny", "Principal": "*", "Action": "ecr:DeleteRepository"});
        let mut statements = before.repository_statements();
        statements.push(foreign.clone());
        let existing = policy(Value::Array(statements));
        let c = change(
            Some(&existing),
            &with(&["222222222222"], &[], &[], Access::Pull),
            Mode::Replace,
        )
        .unwrap();
        let st = c.policy["Statement"].as_array().unwrap();
        assert_eq!(st.len(), 2);
        assert_eq!(st[0]["Sid"], SID_ACCOUNTS);
        assert_eq!(strings(&st[0]["Principal"]["AWS"]), [root("222222222222")]);
        assert_eq!(strings(&st[0]["Action"]), PULL_ACTIONS);
        assert_eq!(st[1], foreign);
        assert_eq!(
            c.lost,
            [
                format!("account 222222222222 loses {}", PUSH_ACTIONS.join(", ")),
                format!(
                    "account 333333333333 loses {}, {}",
                    PULL_ACTIONS.join(", "),
                    PUSH_ACTIONS.join(", ")
                ),
                format!(
                    "organization o-a1b2c3d4e5 loses {}, {}",
                    PULL_ACTIONS.join(", "),
                    PUSH_ACTIONS.join(", ")
                ),
            ]
        );
    }

    #[test]
    fn sids_of_ours() {
        assert!(Kind::Accounts.owns_sid("EcrLoginAccounts"));
        assert!(Kind::Accounts.owns_sid("EcrLoginAccounts2"));
        assert!(Kind::Accounts.owns_sid("EcrLoginAccounts17"));
        for not in [
            "EcrLoginAccounts1",
            "EcrLoginAccounts02",
            "EcrLoginAccounts+2",
            "EcrLoginAccountsX",
            "EcrLogin",
            "ecrloginaccounts",
        ] {
            assert!(!Kind::Accounts.owns_sid(not), "{not}");
        }
        assert!(!Kind::Organization.owns_sid(SID_ORG_PATHS));
        assert!(!Kind::OrgPaths.owns_sid(SID_ORGANIZATION));
    }

    #[test]
    fn current_policies_that_are_not_policies_are_refused() {
        let s = with(&["222222222222"], &[], &[], Access::Pull);
        // No policy yet, and a lone statement object.
        assert_eq!(
            change(None, &s, Mode::Merge).unwrap().policy,
            s.repository_policy()
        );
        let foreign = json!({"Sid": "CiPush", "Effect": "Allow", "Principal": {"AWS": root("999999999999")}, "Action": "ecr:*"});
        let lone = json!({"Version": "2008-10-17", "Statement": foreign}).to_string();
        let c = change(Some(&lone), &s, Mode::Merge).unwrap();
        assert_eq!(c.policy["Statement"][0], foreign);
        assert_eq!(c.policy["Version"], "2008-10-17");
        for bad in ["[]", "{", r#"{"Statement": 3}"#] {
            assert!(
                matches!(
                    change(Some(bad), &s, Mode::Merge),
                    Err(PolicyError::BadExisting(_))
                ),
                "{bad}"
            );
        }
    }
}
