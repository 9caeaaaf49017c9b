//! The machine's own credential sources, proven hermetically (issue 18 §1):
//! the EC2 instance role (IMDSv2), the ECS task role, EKS Pod Identity, and
//! static keys with and without a session token.
//!
//! Each test runs the built helper in a private network namespace
//! (`support::netns`): only `lo` exists there, IMDS and the container
//! endpoints are fakes at their real link-local addresses, and the ECR API
//! is moto behind a TLS forwarder at `api.ecr.us-east-1.amazonaws.com:443`,
//! reached through a private /etc/hosts and trusted through
//! `AWS_CA_BUNDLE`. No endpoint variable is set: discovery is the SDK's
//! own. IMDS is left enabled where it is tested (nothing can leave the
//! namespace).
//!
//! "Signed by that source's key": moto checks signatures. Each source hands
//! out credentials moto issued: an STS session of a role moto knows (moto
//! refuses a session token it did not issue with its `AKIA…` user keys, and
//! checks an `ASIA…` session's token and secret), or for static keys
//! without a token, an IAM user's key. So moto answers only a request
//! signed with that secret and carrying that token, and its recorder shows
//! which key signed.

#![cfg(target_os = "linux")] // network and mount namespaces: Linux only

use std::time::Duration;

use crate::support::metadata::{Behaviour, FakeContainerCreds, FakeImds, RoleCredentials};
use crate::support::moto::{AccessKey, Moto, SessionKey, moto_password};
use crate::support::netns::{
    self, ECS_ADDR, EKS_POD_IDENTITY_ADDR, HTTPS_ON_LOOPBACK, IMDS_ADDR, Netns,
    assert_one_clear_line,
};
use crate::support::tls::{TestCa, TlsForwarder};
use crate::support::{self, Need, Run, Sandbox};

/// The registry: another account than the caller's (moto's users are in
/// 123456789012), as in the cross-account pulls the helper exists for.
const ACCOUNT: &str = "111111111111";
const HOST: &str = "111111111111.dkr.ecr.us-east-1.amazonaws.com";
/// The ECR API's real name, as the SDK's endpoint rules give it.
const ECR_API: &str = "api.ecr.us-east-1.amazonaws.com";
const IMDS_ROLE: &str = "instance-role-a";

/// The namespace, moto as the ECR API at its real name, and a sandbox that
/// runs the helper inside the namespace, trusting the test CA.
struct World {
    moto: Moto,
    front: TlsForwarder,
    ns: Netns,
    sb: Sandbox,
}

/// `None` when root or moto is missing (the test then returns).
fn world() -> Option<World> {
    if !support::require(Need::Root) || !support::require(Need::Moto) {
        return None;
    }
    let moto = Moto::start_with_live_tokens();
    moto.enable_auth();
    let mut sb = Sandbox::new();
    let ca = TestCa::new("machine sources test CA");
    let ca_pem = ca.write_pem(&sb.path().join("ca.pem"));
    let moto_addr = ([127, 0, 0, 1], moto.port()).into();
    let front = TlsForwarder::start(&ca.server_cert(&[ECR_API]), moto_addr);
    let mut ns = Netns::new();
    ns.forward(HTTPS_ON_LOOPBACK, front.addr());
    sb.set("AWS_CA_BUNDLE", &ca_pem.to_string_lossy())
        .set("AWS_ECR_LOG", "info")
        .resolve_locally(&[ECR_API])
        .in_netns(&ns);
    Some(World {
        moto,
        front,
        ns,
        sb,
    })
}

/// What a metadata fake hands out for a moto role session.
fn role_credentials(session: &SessionKey) -> RoleCredentials {
    RoleCredentials {
        access_key_id: session.key.id.clone(),
        secret_access_key: session.key.secret.clone(),
        token: session.token.clone(),
    }
}

impl World {
    /// The run got moto's token for ACCOUNT; moto has had exactly `calls`
    /// requests in all (so a hit adds none), the last signed by `key` with
    /// `session_token`, for ACCOUNT, at the API's real name.
    fn assert_token(&self, run: &Run, calls: usize, key: &AccessKey, session_token: Option<&str>) {
        assert_eq!(run.code(), Some(0), "get failed; log:\n{}", self.sb.log());
        let creds = run.credentials();
        assert_eq!(creds["ServerURL"], HOST);
        assert_eq!(creds["Username"], "AWS");
        assert_eq!(creds["Secret"], moto_password(ACCOUNT), "not moto's token");
        let requests = self.moto.ecr_token_requests();
        assert_eq!(requests.len(), calls, "GetAuthorizationToken calls");
        let last = requests.last().unwrap();
        assert_eq!(last.access_key_id(), Some(key.id.as_str()));
        assert_eq!(last.registry_ids(), [ACCOUNT]);
        assert_eq!(last.header("x-amz-security-token"), session_token);
        assert_eq!(
            last.header("host"),
            Some(ECR_API),
            "not the API's real name"
        );
        let said = format!("{}{}{}", run.stdout(), run.stderr(), self.sb.log());
        for secret in [Some(key.secret.as_str()), session_token]
            .into_iter()
            .flatten()
        {
            assert!(!said.contains(secret), "a secret of the source was written");
        }
    }
}

// --- EC2 instance role (IMDSv2) ---------------------------------------------

#[test]
fn imds_instance_role_signs_once_then_the_cache_answers() {
    let Some(mut w) = world() else { return };
    let role = w.moto.create_ecr_role_session(IMDS_ROLE);
    let imds = FakeImds::start(IMDS_ROLE, role_credentials(&role), Behaviour::Serve);
    w.ns.forward(IMDS_ADDR, imds.addr());
    // IMDS is the chain's last link: nothing else may answer first.
    w.sb.unset("AWS_EC2_METADATA_DISABLED");

    let cold = w.sb.get(HOST);
    w.assert_token(&cold, 1, &role.key, Some(&role.token));
    assert_eq!(
        imds.requests(),
        [
            "PUT /latest/api/token",
            "GET /latest/meta-data/iam/security-credentials/",
            &format!("GET /latest/meta-data/iam/security-credentials/{IMDS_ROLE}"),
        ],
        "not the IMDSv2 conversation"
    );
    assert_eq!(w.front.handshakes(), 1);

    let hit = w.sb.get(HOST);
    w.assert_token(&hit, 1, &role.key, Some(&role.token));
    assert_eq!(imds.requests().len(), 3, "a hit consulted IMDS");
    assert_eq!(w.ns.connections(IMDS_ADDR), 1, "a hit connected to IMDS");
}

#[test]
fn imds_key_that_moto_does_not_verify_is_refused() {
    // The proof above can fail: the same key id with another secret.
    let Some(mut w) = world() else { return };
    let role = w.moto.create_ecr_role_session(IMDS_ROLE);
    let mut forged = role_credentials(&role);
    forged.secret_access_key.push_str("-not-it");
    let imds = FakeImds::start(IMDS_ROLE, forged, Behaviour::Serve);
    w.ns.forward(IMDS_ADDR, imds.addr());
    w.sb.unset("AWS_EC2_METADATA_DISABLED");
    let run = w.sb.get(HOST);
    run.assert_not_found_cleanly();
    assert_eq!(w.moto.ecr_token_requests().len(), 1, "moto was not asked");
    assert_eq!(imds.credential_fetches(), 1);
}

/// Cache entries (`*.json`) in the sandbox's cache directory.
fn cache_entries(sb: &Sandbox) -> usize {
    std::fs::read_dir(sb.cache_dir())
        .map(|d| {
            d.filter_map(|e| e.ok())
                .filter(|e| e.file_name().to_string_lossy().ends_with(".json"))
                .count()
        })
        .unwrap_or(0)
}

// --- ECS task role and EKS Pod Identity ---------------------------------------

/// ECS's relative URI: a path on 169.254.170.2.
const ECS_PATH: &str = "/v2/credentials/6f1c6a36-9b4e-4d3c-a3a6-0123456789ab";
/// The EKS Pod Identity agent's URL, as EKS sets it in the pod.
const EKS_URI: &str = "http://169.254.170.23/v1/credentials";
const EKS_TOKEN: &str = "eks-pod-identity-service-account-token-a";

#[test]
fn ecs_task_role_signs_once_then_the_cache_answers() {
    let Some(mut w) = world() else { return };
    let role = w.moto.create_ecr_role_session("ecs-task-role");
    let ecs = FakeContainerCreds::start(ECS_PATH, None, role_credentials(&role), Behaviour::Serve);
    w.ns.forward(ECS_ADDR, ecs.addr());
    w.sb.set("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", ECS_PATH);

    let cold = w.sb.get(HOST);
    w.assert_token(&cold, 1, &role.key, Some(&role.token));
    assert_eq!(ecs.requests(), [format!("GET {ECS_PATH}")]);

    let hit = w.sb.get(HOST);
    w.assert_token(&hit, 1, &role.key, Some(&role.token));
    assert_eq!(ecs.requests().len(), 1, "a hit consulted the endpoint");
    assert_eq!(w.ns.connections(ECS_ADDR), 1);
}

/// An EKS Pod Identity agent at its address, serving a role session to
/// the holder of `EKS_TOKEN`, and the sandbox pointed at it with `token`
/// in its token file: the session, the agent and the file.
fn pod_identity(
    w: &mut World,
    token: &str,
) -> (SessionKey, FakeContainerCreds, std::path::PathBuf) {
    let role = w.moto.create_ecr_role_session("eks-pod-role");
    let agent = FakeContainerCreds::start(
        "/v1/credentials",
        Some(EKS_TOKEN),
        role_credentials(&role),
        Behaviour::Serve,
    );
    w.ns.forward(EKS_POD_IDENTITY_ADDR, agent.addr());
    let token_file = w.sb.path().join("eks-pod-identity-token");
    std::fs::write(&token_file, token).unwrap();
    w.sb.set("AWS_CONTAINER_CREDENTIALS_FULL_URI", EKS_URI).set(
        "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
        &token_file.to_string_lossy(),
    );
    (role, agent, token_file)
}

#[test]
fn eks_pod_identity_signs_once_then_the_cache_answers() {
    let Some(mut w) = world() else { return };
    let (role, agent, _) = pod_identity(&mut w, EKS_TOKEN);

    let cold = w.sb.get(HOST);
    w.assert_token(&cold, 1, &role.key, Some(&role.token));
    assert_eq!(agent.requests(), ["GET /v1/credentials"]);
    assert_eq!(agent.authorized(), 1, "the token file's token was not sent");

    let hit = w.sb.get(HOST);
    w.assert_token(&hit, 1, &role.key, Some(&role.token));
    assert_eq!(agent.requests().len(), 1, "a hit consulted the agent");
}

// --- static keys ----------------------------------------------------------------

#[test]
fn static_keys_sign_once_then_the_cache_answers() {
    let Some(mut w) = world() else { return };
    // Key A: an IAM user's, no session token. Key B: a role session's.
    let a = w.moto.create_ecr_user("ci-user");
    let b = w.moto.create_ecr_role_session("ci-role");

    w.sb.with_credentials(&a.id, &a.secret);
    let cold = w.sb.get(HOST);
    w.assert_token(&cold, 1, &a, None);
    let hit = w.sb.get(HOST);
    w.assert_token(&hit, 1, &a, None);

    // B with a session token moto did not issue: refused, so the token is
    // what moto checks, and nothing is cached.
    w.sb.with_credentials(&b.key.id, &b.key.secret)
        .set("AWS_SESSION_TOKEN", &format!("{}-not-it", b.token));
    w.sb.get(HOST).assert_not_found_cleanly();
    assert_eq!(w.moto.ecr_token_requests().len(), 2, "moto was not asked");

    w.sb.set("AWS_SESSION_TOKEN", &b.token);
    let cold = w.sb.get(HOST);
    w.assert_token(&cold, 3, &b.key, Some(&b.token));
    let hit = w.sb.get(HOST);
    w.assert_token(&hit, 3, &b.key, Some(&b.token));

    // Back to A: its own entry, still a hit.
    w.sb.with_credentials(&a.id, &a.secret)
        .unset("AWS_SESSION_TOKEN");
    let hit = w.sb.get(HOST);
    w.assert_token(&hit, 3, &b.key, Some(&b.token));
    assert_eq!(cache_entries(&w.sb), 2, "one entry per key");
}

// --- two sources, one cache --------------------------------------------------------

#[test]
fn an_instance_role_and_a_task_role_never_share_an_entry() {
    let Some(mut w) = world() else { return };
    let a = w.moto.create_ecr_role_session("instance-role-a");
    let b = w.moto.create_ecr_role_session("task-role-b");
    let imds = FakeImds::start("instance-role-a", role_credentials(&a), Behaviour::Serve);
    let ecs = FakeContainerCreds::start(ECS_PATH, None, role_credentials(&b), Behaviour::Serve);
    w.ns.forward(IMDS_ADDR, imds.addr())
        .forward(ECS_ADDR, ecs.addr());
    w.sb.unset("AWS_EC2_METADATA_DISABLED");

    // The instance role.
    w.assert_token(&w.sb.get(HOST), 1, &a.key, Some(&a.token));
    // A container on that instance: its task role, not the instance's entry.
    w.sb.set("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", ECS_PATH);
    w.assert_token(&w.sb.get(HOST), 2, &b.key, Some(&b.token));
    w.assert_token(&w.sb.get(HOST), 2, &b.key, Some(&b.token));
    // And back on the instance: its own entry.
    w.sb.unset("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
    w.assert_token(&w.sb.get(HOST), 2, &b.key, Some(&b.token));
    assert_eq!(imds.credential_fetches(), 1);
    assert_eq!(ecs.requests().len(), 1);
    assert_eq!(cache_entries(&w.sb), 2, "one entry per source");
}

// --- failure modes ----------------------------------------------------------------

/// The stated bound for an instance metadata service that fails: one try
/// of at most 1 s (docs/reliability.md, "Time bounds"), asserted
/// generously, and far below the helper's 4T (40 s at the default T).
const IMDS_BOUND: Duration = Duration::from_secs(5);
/// 4T with `AWS_ECR_TIMEOUT=2`: the whole fetch.
const FETCH_BOUND: Duration = Duration::from_secs(8);

/// Runs `get`, asserting a clean not-found within `bound` and no call to
/// ECR; returns the log's lines at info and above.
fn not_found_within(w: &World, bound: Duration) -> Vec<String> {
    netns::not_found_within(&w.sb, &w.moto, HOST, bound)
}

#[test]
fn an_imds_that_refuses_the_token_is_not_found_at_once() {
    let Some(mut w) = world() else { return };
    let role = w.moto.create_ecr_role_session(IMDS_ROLE);
    let imds = FakeImds::start(IMDS_ROLE, role_credentials(&role), Behaviour::Forbidden);
    w.ns.forward(IMDS_ADDR, imds.addr());
    w.sb.unset("AWS_EC2_METADATA_DISABLED");
    let log = not_found_within(&w, IMDS_BOUND);
    assert_eq!(
        imds.requests(),
        ["PUT /latest/api/token"],
        "retried, or went on"
    );
    assert_one_clear_line(&log, &["no AWS credentials", "IMDS", "forbidden"]);
}

#[test]
fn an_imds_that_never_answers_is_not_found_within_its_bound() {
    let Some(mut w) = world() else { return };
    let role = w.moto.create_ecr_role_session(IMDS_ROLE);
    let imds = FakeImds::start(IMDS_ROLE, role_credentials(&role), Behaviour::Silent);
    w.ns.forward(IMDS_ADDR, imds.addr());
    w.sb.unset("AWS_EC2_METADATA_DISABLED");
    let log = not_found_within(&w, IMDS_BOUND);
    assert_eq!(imds.requests(), ["PUT /latest/api/token"]);
    assert_one_clear_line(&log, &["no AWS credentials", "timed out"]);
}

#[test]
fn a_container_endpoint_that_refuses_the_token_is_not_found() {
    let Some(mut w) = world() else { return };
    let (_, agent, token_file) = pod_identity(&mut w, "a-token-the-agent-does-not-know");
    w.sb.set("AWS_ECR_TIMEOUT", "2");
    let log = not_found_within(&w, FETCH_BOUND);
    assert_eq!(agent.authorized(), 0);
    assert!(!agent.requests().is_empty(), "the agent was never asked");
    // Which endpoint, named by which variable, and where the refused token
    // came from (the SDK alone said only "StatusCode(401)").
    assert_one_clear_line(
        &log,
        &[
            "no AWS credentials",
            "the container credentials endpoint http://169.254.170.23/v1/credentials (AWS_CONTAINER_CREDENTIALS_FULL_URI)",
            &format!(
                "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE {}",
                token_file.display()
            ),
            "401",
        ],
    );
    assert!(
        !log.join("\n").contains("a-token-the-agent-does-not-know"),
        "the token was logged"
    );
}

#[test]
fn an_ecs_endpoint_that_refuses_or_never_answers_is_not_found_within_4t() {
    for behaviour in [Behaviour::Forbidden, Behaviour::Silent] {
        let Some(mut w) = world() else { return };
        let role = w.moto.create_ecr_role_session("ecs-task-role");
        let ecs = FakeContainerCreds::start(ECS_PATH, None, role_credentials(&role), behaviour);
        w.ns.forward(ECS_ADDR, ecs.addr());
        w.sb.set("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", ECS_PATH)
            .set("AWS_ECR_TIMEOUT", "2");
        let log = not_found_within(&w, FETCH_BOUND);
        assert!(!ecs.requests().is_empty(), "{behaviour:?}: never asked");
        let why = match behaviour {
            Behaviour::Forbidden => "403",
            _ => "did not answer within 2s",
        };
        assert_one_clear_line(
            &log,
            &[
                "no AWS credentials",
                &format!(
                    "the container credentials endpoint (ECS: AWS_CONTAINER_CREDENTIALS_RELATIVE_URI={ECS_PATH})"
                ),
                why,
            ],
        );
    }
}
