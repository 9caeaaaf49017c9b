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

use crate::support::metadata::{Behaviour, FakeImds, RoleCredentials};
use crate::support::moto::{AccessKey, Moto, SessionKey, moto_password};
use crate::support::netns::{HTTPS_ON_LOOPBACK, IMDS_ADDR, Netns};
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
    /// The run got moto's token for ACCOUNT, from exactly `calls` requests
    /// in all, the last signed by `key` and carrying `session_token`.
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
