//! The laptop's and CI's credential sources, through the built helper: SSO
//! (an `sso-session` profile, its token refreshed through SSO OIDC, and a
//! legacy profile), `credential_process`,
//! `role_arn` + `source_profile`, and IRSA (issue 18, section 1), and the
//! cache identity each one gets.
//!
//! moto checks every signature (`Moto::enable_auth`), so a token moto
//! hands out proves which key signed `GetAuthorizationToken`; the keys each
//! source hands out are moto's own.
//!
//! The sources' tests run the helper in a private network namespace
//! (`support::netns`): the ECR API and STS are moto behind a TLS forwarder
//! at their real names, the SSO portal and SSO OIDC are `support::sso_portal`
//! at their real names, all through a private /etc/hosts and trusted through
//! `AWS_CA_BUNDLE`. No endpoint variable is set: discovery is the SDK's.

#![cfg(unix)] // the credential_process programs are shell scripts

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
        Process::after(dir, name, "", output, code)
    }

    /// As [`Process::new`], running the shell commands `first` before it
    /// prints.
    fn after(dir: &Path, name: &str, first: &str, output: &str, code: i32) -> Process {
        use std::os::unix::fs::PermissionsExt;
        let path = dir.join(name);
        let runs = dir.join(format!("{name}.runs"));
        let script = format!(
            "#!/bin/sh\necho run >> '{}'\n{first}cat <<'EOF'\n{output}\nEOF\nexit {code}\n",
            runs.display()
        );
        std::fs::write(&path, script).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        Process { path, runs }
    }

    /// A program that never answers (it sleeps past every bound). For the
    /// namespace tests, which are Linux's.
    #[cfg(target_os = "linux")]
    fn hanging(dir: &Path, name: &str) -> Process {
        Process::after(dir, name, "sleep 120\n", "", 0)
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

/// The issue's stale principal: the user edits their profile in
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

// --- in a network namespace ---------------------------------------------------

#[cfg(target_os = "linux")]
mod netns {
    use super::*;
    use crate::support::moto::{DEFAULT_ACCOUNT, SessionKey};
    use crate::support::netns::{HTTPS_ON_LOOPBACK, Netns};
    use crate::support::sso_portal::{Registration, RoleKey, SsoPortal, write_cached_token};
    use crate::support::tls::{TestCa, TlsForwarder};
    use std::net::{Ipv4Addr, SocketAddr};
    use std::time::Duration;

    const ECR_API: &str = "api.ecr.us-east-1.amazonaws.com";
    const STS: &[&str] = &["sts.us-east-1.amazonaws.com", "sts.amazonaws.com"];
    const PORTAL: &str = "portal.sso.us-east-1.amazonaws.com";
    /// SSO OIDC, where the SDK refreshes an `sso-session` token near its
    /// expiry: the portal's fake serves it too, at an address of its own.
    const OIDC: &str = "oidc.us-east-1.amazonaws.com";
    /// The portal's own address inside, so that its name reaches its fake.
    const PORTAL_IP: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 2);
    const OIDC_IP: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 3);
    /// The SSO account the profiles name (moto's roles live in its own).
    const SSO_ACCOUNT: &str = "222222222222";
    const START_URL: &str = "https://corp.awsapps.com/start";
    const ACCESS_TOKEN: &str = "sso-access-token-of-the-signed-in-user-0123456789";

    pub(super) struct World {
        pub moto: Moto,
        pub portal: SsoPortal,
        _front: TlsForwarder,
        _portal_front: TlsForwarder,
        _oidc_front: TlsForwarder,
        _ns: Netns,
        pub sb: Sandbox,
    }

    /// `None` when root or moto is missing (the test then returns).
    pub(super) fn world() -> Option<World> {
        if !support::require(Need::Root) || !support::require(Need::Moto) {
            return None;
        }
        let moto = Moto::start_with_live_tokens();
        moto.enable_auth();
        let portal = SsoPortal::start();
        let mut sb = Sandbox::new();
        let ca = TestCa::new("laptop sources test CA");
        let ca_pem = ca.write_pem(&sb.path().join("ca.pem"));
        let moto_addr: SocketAddr = ([127, 0, 0, 1], moto.port()).into();
        let aws_names: Vec<&str> = [ECR_API].iter().chain(STS).copied().collect();
        let front = TlsForwarder::start(&ca.server_cert(&aws_names), moto_addr);
        let portal_front = TlsForwarder::start(&ca.server_cert(&[PORTAL]), portal.addr());
        let oidc_front = TlsForwarder::start(&ca.server_cert(&[OIDC]), portal.addr());
        let mut ns = Netns::new();
        ns.forward(HTTPS_ON_LOOPBACK, front.addr());
        ns.forward(SocketAddr::from((PORTAL_IP, 443)), portal_front.addr());
        ns.forward(SocketAddr::from((OIDC_IP, 443)), oidc_front.addr());
        sb.set("AWS_CA_BUNDLE", &ca_pem.to_string_lossy())
            .set("AWS_ECR_LOG", "info")
            .set("AWS_ECR_TIMEOUT", "2")
            .resolve_locally(&aws_names)
            .in_netns(&ns);
        // The sandbox's private /etc/hosts, with the portal and OIDC at
        // addresses of their own.
        let hosts = sb.path().join("hosts");
        let mut text = std::fs::read_to_string(&hosts).expect("the sandbox's hosts file");
        text.push_str(&format!("{PORTAL_IP} {PORTAL}\n{OIDC_IP} {OIDC}\n"));
        std::fs::write(&hosts, text).unwrap();
        Some(World {
            moto,
            portal,
            _front: front,
            _portal_front: portal_front,
            _oidc_front: oidc_front,
            _ns: ns,
            sb,
        })
    }

    impl World {
        /// The run got moto's token for ACCOUNT, from exactly `calls`
        /// requests in all, the last signed by `key` with `session_token`.
        pub fn assert_token(
            &self,
            run: &Run,
            calls: usize,
            key: &str,
            session_token: Option<&str>,
        ) {
            assert_eq!(run.code(), Some(0), "get failed; log:\n{}", self.sb.log());
            assert_token(run);
            let requests = self.moto.ecr_token_requests();
            assert_eq!(requests.len(), calls, "GetAuthorizationToken calls");
            let last = requests.last().unwrap();
            assert_eq!(last.access_key_id(), Some(key));
            assert_eq!(last.registry_ids(), [ACCOUNT]);
            assert_eq!(last.header("x-amz-security-token"), session_token);
            assert_eq!(
                last.header("host"),
                Some(ECR_API),
                "not the API's real name"
            );
        }

        fn home(&self) -> PathBuf {
            PathBuf::from(self.sb.var("HOME").unwrap())
        }

        /// A signed-in `aws sso login` for `identifier`, its token
        /// expiring `expires_in` seconds from now.
        fn sso_login(&self, identifier: &str, expires_in: i64) {
            write_cached_token(
                &self.home(),
                identifier,
                ACCESS_TOKEN,
                START_URL,
                "us-east-1",
                expires_in,
                None,
            );
        }

        /// A moto role session the portal hands out for (SSO_ACCOUNT, `role`).
        fn grant(&self, role: &str) -> SessionKey {
            let session = self.moto.create_ecr_role_session(role);
            self.portal.grant(
                SSO_ACCOUNT,
                role,
                RoleKey {
                    key: session.key.clone(),
                    session_token: Some(session.token.clone()),
                },
            );
            session
        }

        fn cache_entries(&self) -> usize {
            std::fs::read_dir(self.sb.cache_dir())
                .map(|d| {
                    d.filter_map(Result::ok)
                        .filter(|e| e.file_name().to_string_lossy().ends_with(".json"))
                        .count()
                })
                .unwrap_or(0)
        }

        /// Runs `get`, asserting a clean not-found within `bound` and no
        /// call to ECR; returns the log's lines.
        fn not_found_within(&self, bound: Duration) -> Vec<String> {
            crate::support::netns::not_found_within(&self.sb, &self.moto, REGISTRY, bound)
        }
    }

    /// 4T with `AWS_ECR_TIMEOUT=2`: the whole fetch, credentials included
    /// (docs/reliability.md, "Time bounds"), asserted as it stands.
    const FETCH_BOUND: Duration = Duration::from_secs(8);

    /// Exactly one ERROR line, and it contains each of `words`; never the
    /// SSO token.
    fn assert_one_clear_line(log: &[String], words: &[&str]) {
        crate::support::netns::assert_one_clear_line(log, words);
        assert!(
            !log.join("\n").contains(ACCESS_TOKEN),
            "the SSO token was logged"
        );
    }

    fn sso_session_profile(role: &str) -> String {
        format!(
            "[profile dev]\nsso_session = corp\nsso_account_id = {SSO_ACCOUNT}\nsso_role_name = {role}\n\n\
             [sso-session corp]\nsso_start_url = {START_URL}\nsso_region = us-east-1\nsso_registration_scopes = sso:account:access\n"
        )
    }

    fn legacy_sso_profile(role: &str) -> String {
        format!(
            "[profile dev]\nsso_start_url = {START_URL}\nsso_region = us-east-1\nsso_account_id = {SSO_ACCOUNT}\nsso_role_name = {role}\n"
        )
    }

    // --- SSO (IAM Identity Center) -------------------------------------------

    /// An `sso-session` profile: the cached token (by the session's name)
    /// goes to the portal's GetRoleCredentials for the profile's account
    /// and role; the role's key signs; a hit asks nobody. Then the profile
    /// is edited to another role: a miss, signed by that role's key, never
    /// the first role's entry. A proof of the SDK's provider, and of the
    /// identity fix (the edit was a hit on the first role before fa847d2).
    #[test]
    fn sso_session_profile_signs_once_then_the_cache_answers() {
        let Some(mut w) = world() else { return };
        let a = w.grant("EcrPullA");
        let b = w.grant("EcrPullB");
        w.portal.accept_token(ACCESS_TOKEN);
        w.sso_login("corp", 8 * 3600);
        write_config(&w.sb, &sso_session_profile("EcrPullA"));
        w.sb.set("AWS_PROFILE", "dev");

        let cold = w.sb.get(REGISTRY);
        w.assert_token(&cold, 1, &a.key.id, Some(&a.token));
        let calls = w.portal.calls();
        assert_eq!(calls.len(), 1, "one GetRoleCredentials");
        assert_eq!(
            (
                calls[0].account_id.as_str(),
                calls[0].role_name.as_str(),
                calls[0].token_known
            ),
            (SSO_ACCOUNT, "EcrPullA", true)
        );
        let hit = w.sb.get(REGISTRY);
        w.assert_token(&hit, 1, &a.key.id, Some(&a.token));
        assert_eq!(w.portal.calls().len(), 1, "a hit asked the portal");
        // A new sign-in (another token in ~/.aws/sso/cache) is the same
        // principal: still a hit.
        w.portal.accept_token("a-later-sign-in");
        write_cached_token(
            &w.home(),
            "corp",
            "a-later-sign-in",
            START_URL,
            "us-east-1",
            8 * 3600,
            None,
        );
        let hit = w.sb.get(REGISTRY);
        w.assert_token(&hit, 1, &a.key.id, Some(&a.token));
        assert_eq!(w.portal.calls().len(), 1, "a new sign-in was a miss");

        write_config(&w.sb, &sso_session_profile("EcrPullB"));
        let other = w.sb.get(REGISTRY);
        w.assert_token(&other, 2, &b.key.id, Some(&b.token));
        assert_eq!(w.portal.calls().last().unwrap().role_name, "EcrPullB");
        assert_eq!(w.cache_entries(), 2, "one entry per role");
        assert!(
            !w.sb.log().contains(ACCESS_TOKEN),
            "the SSO token was logged"
        );
    }

    /// The proof can fail: a portal that hands out a key moto does not
    /// verify (the right key id, another secret) gets not found.
    #[test]
    fn sso_key_that_moto_does_not_verify_is_refused() {
        let Some(mut w) = world() else { return };
        let a = w.moto.create_ecr_role_session("EcrPullA");
        let mut forged = a.key.clone();
        forged.secret.push_str("-not-it");
        w.portal.grant(
            SSO_ACCOUNT,
            "EcrPullA",
            RoleKey {
                key: forged,
                session_token: Some(a.token.clone()),
            },
        );
        w.portal.accept_token(ACCESS_TOKEN);
        w.sso_login("corp", 8 * 3600);
        write_config(&w.sb, &sso_session_profile("EcrPullA"));
        w.sb.set("AWS_PROFILE", "dev");
        w.sb.get(REGISTRY).assert_not_found_cleanly();
        assert_eq!(w.moto.ecr_token_requests().len(), 1, "moto was not asked");
        assert_eq!(w.portal.calls().len(), 1);
    }

    /// The expired `sso-session` token (no refresh token: `aws sso login`
    /// is due): not found at once, the portal never asked, and one line
    /// that says what to do.
    #[test]
    fn an_expired_sso_session_token_says_run_aws_sso_login() {
        let Some(mut w) = world() else { return };
        w.grant("EcrPullA");
        w.portal.accept_token(ACCESS_TOKEN);
        w.sso_login("corp", -3600);
        write_config(&w.sb, &sso_session_profile("EcrPullA"));
        w.sb.set("AWS_PROFILE", "dev");
        let log = w.not_found_within(FETCH_BOUND);
        assert_eq!(w.portal.calls().len(), 0, "the portal was asked");
        assert_one_clear_line(&log, &["SSO", "expired", "aws sso login"]);
    }

    /// What `aws sso login` registered and keeps beside the token.
    const REGISTRATION: Registration<'static> = Registration {
        client_id: "sso-oidc-client-id-of-the-cli",
        client_secret: "sso-oidc-client-secret-0123456789",
        refresh_token: "sso-refresh-token-of-the-session-0123456789",
    };
    const REFRESHED_TOKEN: &str = "sso-access-token-refreshed-0123456789";

    /// Every secret of an SSO sign-in, none of which may be logged.
    fn assert_no_sso_secret_logged(log: &str) {
        for secret in [
            ACCESS_TOKEN,
            REFRESHED_TOKEN,
            REGISTRATION.client_secret,
            REGISTRATION.refresh_token,
            "a-rotated-refresh-token",
        ] {
            assert!(!log.contains(secret), "an SSO secret was logged: {secret}");
        }
    }

    /// An `sso-session` token that expired an hour ago, with the refresh
    /// token `aws sso login` keeps: the SDK trades it at SSO OIDC for a new
    /// access token, saves that in ~/.aws/sso/cache, and the portal
    /// accepts it. No sign-in is asked for. A later miss reads the saved
    /// token and asks OIDC nothing.
    #[test]
    fn an_expired_sso_session_token_is_refreshed_through_oidc() {
        let Some(mut w) = world() else { return };
        let a = w.grant("EcrPullA");
        // The portal knows only the refreshed token.
        w.portal.accept_refresh(&REGISTRATION, REFRESHED_TOKEN);
        let token_file = write_cached_token(
            &w.home(),
            "corp",
            ACCESS_TOKEN,
            START_URL,
            "us-east-1",
            -3600,
            Some(&REGISTRATION),
        );
        write_config(&w.sb, &sso_session_profile("EcrPullA"));
        w.sb.set("AWS_PROFILE", "dev");

        let cold = w.sb.get(REGISTRY);
        w.assert_token(&cold, 1, &a.key.id, Some(&a.token));
        let oidc = w.portal.oidc_calls();
        assert_eq!(oidc.len(), 1, "one CreateToken");
        assert_eq!(
            (
                oidc[0].grant_type.as_str(),
                oidc[0].client_id.as_str(),
                oidc[0].refresh_known
            ),
            ("refresh_token", REGISTRATION.client_id, true)
        );
        let calls = w.portal.calls();
        assert_eq!(calls.len(), 1, "one GetRoleCredentials");
        assert!(calls[0].token_known, "the portal got the old token");
        let saved = std::fs::read_to_string(&token_file).unwrap();
        assert!(
            saved.contains(REFRESHED_TOKEN),
            "the refreshed token was not saved"
        );

        // Our cache emptied: a miss, which reads the saved token.
        std::fs::remove_dir_all(w.sb.cache_dir()).unwrap();
        let again = w.sb.get(REGISTRY);
        w.assert_token(&again, 2, &a.key.id, Some(&a.token));
        assert_eq!(
            w.portal.oidc_calls().len(),
            1,
            "a fresh token was refreshed"
        );
        assert_eq!(w.portal.calls().len(), 2);
        assert!(w.portal.calls()[1].token_known);
        assert_no_sso_secret_logged(&w.sb.log());
    }

    /// A refresh SSO OIDC refuses (the session was revoked, or its refresh
    /// token expired): the SDK goes on with the expired token, the portal
    /// refuses it, and the one line says to sign in again. Bounded, and no
    /// secret in it.
    #[test]
    fn a_refused_sso_refresh_says_run_aws_sso_login() {
        let Some(mut w) = world() else { return };
        w.grant("EcrPullA");
        // OIDC was given no refresh: it refuses this one.
        write_cached_token(
            &w.home(),
            "corp",
            "an-access-token-long-expired",
            START_URL,
            "us-east-1",
            -3600,
            Some(&REGISTRATION),
        );
        write_config(&w.sb, &sso_session_profile("EcrPullA"));
        w.sb.set("AWS_PROFILE", "dev");
        let log = w.not_found_within(FETCH_BOUND);
        let oidc = w.portal.oidc_calls();
        assert_eq!(oidc.len(), 1, "one CreateToken");
        assert!(!oidc[0].refresh_known);
        assert!(w.portal.calls().iter().all(|c| !c.token_known));
        assert_eq!(w.cache_entries(), 0, "a failure was cached as a token");
        assert_one_clear_line(&log, &["SSO", "aws sso login"]);
        assert_no_sso_secret_logged(&log.join("\n"));
    }

    /// SSO OIDC that takes the refresh and never answers, while the token
    /// is still valid for two minutes (inside the SDK's five-minute refresh
    /// window): bounded, not found, ECR and the portal not asked, and the
    /// line says the credentials' source did not answer, not ECR. The SDK's
    /// refresh (its client built from our configuration, so our timeouts and
    /// retries) spends the operation's bound before the valid token could
    /// be used: a limitation of the SDK's provider that this test pins, not
    /// a behaviour we chose (docs/reliability.md).
    #[test]
    fn a_stalled_sso_refresh_is_bounded() {
        let Some(mut w) = world() else { return };
        w.grant("EcrPullA");
        w.portal.accept_token(ACCESS_TOKEN);
        w.portal.stall_oidc();
        write_cached_token(
            &w.home(),
            "corp",
            ACCESS_TOKEN,
            START_URL,
            "us-east-1",
            120,
            Some(&REGISTRATION),
        );
        write_config(&w.sb, &sso_session_profile("EcrPullA"));
        w.sb.set("AWS_PROFILE", "dev");
        let log = w.not_found_within(FETCH_BOUND);
        let oidc = w.portal.oidc_calls();
        assert!((1..=3).contains(&oidc.len()), "{} refreshes", oidc.len());
        assert!(oidc.iter().all(|c| c.grant_type == "refresh_token"));
        assert_eq!(w.portal.calls().len(), 0, "the portal was asked");
        assert_eq!(w.cache_entries(), 0, "a failure was cached as a token");
        assert_one_clear_line(
            &log,
            &[
                "no AWS credentials",
                "did not answer within 6s",
                "was never sent",
            ],
        );
        assert_no_sso_secret_logged(&log.join("\n"));
    }

    /// A legacy SSO profile (`sso_start_url` in the profile, the token
    /// cached by the start URL): as the `sso-session` one.
    #[test]
    fn legacy_sso_profile_signs_once_then_the_cache_answers() {
        let Some(mut w) = world() else { return };
        let a = w.grant("EcrPullA");
        w.portal.accept_token(ACCESS_TOKEN);
        w.sso_login(START_URL, 8 * 3600);
        write_config(&w.sb, &legacy_sso_profile("EcrPullA"));
        w.sb.set("AWS_PROFILE", "dev");
        let cold = w.sb.get(REGISTRY);
        w.assert_token(&cold, 1, &a.key.id, Some(&a.token));
        assert_eq!(w.portal.calls().len(), 1);
        let hit = w.sb.get(REGISTRY);
        w.assert_token(&hit, 1, &a.key.id, Some(&a.token));
        assert_eq!(w.portal.calls().len(), 1, "a hit asked the portal");
    }

    /// A legacy profile's token the portal no longer knows (expired or
    /// signed out): the SDK sends it, the portal answers 401, and the line
    /// says to sign in again.
    #[test]
    fn a_legacy_sso_token_the_portal_refuses_says_run_aws_sso_login() {
        let Some(mut w) = world() else { return };
        w.grant("EcrPullA");
        // Signed in once; the portal has since forgotten the session.
        w.sso_login(START_URL, -60);
        write_config(&w.sb, &legacy_sso_profile("EcrPullA"));
        w.sb.set("AWS_PROFILE", "dev");
        let log = w.not_found_within(FETCH_BOUND);
        assert_eq!(w.portal.calls().len(), 1);
        assert!(!w.portal.calls()[0].token_known);
        assert_one_clear_line(&log, &["SSO", "aws sso login"]);
    }

    // --- credential_process ---------------------------------------------------

    /// A profile's `credential_process` runs once: its key signs, and a hit
    /// runs nothing. A second profile with its own process, one after the
    /// other, gets its own entry and its own key (the AWS_PROFILE differs).
    #[test]
    fn credential_process_runs_once_then_the_cache_answers() {
        let Some(mut w) = world() else { return };
        let a = w.moto.create_ecr_user("process-a");
        let b = w.moto.create_ecr_user("process-b");
        let proc_a = Process::printing(w.sb.path(), "proc-a", &a);
        let proc_b = Process::printing(w.sb.path(), "proc-b", &b);
        write_config(
            &w.sb,
            &format!("{}\n{}", proc_a.profile("a"), proc_b.profile("b")),
        );
        w.sb.set("AWS_PROFILE", "a");
        let cold = w.sb.get(REGISTRY);
        w.assert_token(&cold, 1, &a.id, None);
        assert_eq!(proc_a.runs(), 1);
        let hit = w.sb.get(REGISTRY);
        w.assert_token(&hit, 1, &a.id, None);
        assert_eq!(proc_a.runs(), 1, "a hit ran the process");

        w.sb.set("AWS_PROFILE", "b");
        let other = w.sb.get(REGISTRY);
        w.assert_token(&other, 2, &b.id, None);
        assert_eq!((proc_a.runs(), proc_b.runs()), (1, 1));
        let hit = w.sb.get(REGISTRY);
        w.assert_token(&hit, 2, &b.id, None);
        assert_eq!(proc_b.runs(), 1);
        assert_eq!(w.cache_entries(), 2, "one entry per profile");
    }

    /// A process that exits non-zero: not found within the bound, one
    /// line naming the failure; nothing cached, and no call.
    #[test]
    fn a_credential_process_that_fails_is_not_found() {
        let Some(mut w) = world() else { return };
        let failing = Process::new(w.sb.path(), "proc-fail", "sso session expired", 3);
        write_config(&w.sb, &failing.profile("dev"));
        w.sb.set("AWS_PROFILE", "dev");
        let log = w.not_found_within(FETCH_BOUND);
        assert_eq!(failing.runs(), 1);
        assert_one_clear_line(
            &log,
            &[
                "no AWS credentials",
                "credential_process failed",
                "exit status: 3",
            ],
        );
        assert_eq!(w.cache_entries(), 0);
    }

    /// A `credential_process` that never answers: not found within the
    /// operation's bound (3T), ECR not asked, and the line says the
    /// credentials' source did not answer, not that ECR timed out.
    #[test]
    fn a_credential_process_that_never_answers_is_not_found_within_its_bound() {
        let Some(mut w) = world() else { return };
        let hanging = Process::hanging(w.sb.path(), "proc-hang");
        write_config(&w.sb, &hanging.profile("dev"));
        w.sb.set("AWS_PROFILE", "dev");
        let log = w.not_found_within(FETCH_BOUND);
        // Credentials are resolved inside each attempt: the process is
        // cut at T and started again by the next one, three at most.
        let runs = hanging.runs();
        assert!((1..=3).contains(&runs), "ran {runs} times");
        assert_one_clear_line(
            &log,
            &[
                "no AWS credentials",
                "did not answer within 6s",
                "was never sent",
            ],
        );
        assert_eq!(w.cache_entries(), 0);
    }

    /// A process that prints garbage (not the JSON the process credential
    /// format says): not found within the bound, one line saying so, and
    /// the garbage is not echoed (it could be a secret).
    #[test]
    fn a_credential_process_that_prints_garbage_is_not_found() {
        let Some(mut w) = world() else { return };
        let garbage = Process::new(
            w.sb.path(),
            "proc-garbage",
            "AKIA-garbage-9f8e7d not json",
            0,
        );
        write_config(&w.sb, &garbage.profile("dev"));
        w.sb.set("AWS_PROFILE", "dev");
        let log = w.not_found_within(FETCH_BOUND);
        assert_eq!(garbage.runs(), 1);
        assert_one_clear_line(
            &log,
            &[
                "no AWS credentials",
                "credential_process failed",
                "invalid JSON",
            ],
        );
        assert!(
            !log.join("\n").contains("garbage-9f8e7d"),
            "the output was logged"
        );
    }

    // --- role_arn + source_profile ------------------------------------------

    /// The AssumeRole requests moto received so far.
    fn assume_role_calls(moto: &Moto, action: &str) -> usize {
        let needle = format!("Action={action}&");
        moto.recorded()
            .iter()
            .filter(|r| {
                let body = String::from_utf8_lossy(&r.body);
                body.contains(&needle) || body.ends_with(&format!("Action={action}"))
            })
            .count()
    }

    /// The next `n` actions moto receives pass unchecked; every later one
    /// is checked again (moto's `reset-auth`).
    fn let_actions_through_unchecked(moto: &Moto, n: u32) {
        let (status, body) = moto.request(
            "POST",
            "/moto-api/reset-auth",
            &[("Content-Type", "text/plain")],
            n.to_string().as_bytes(),
        );
        assert_eq!(status, 200, "moto reset-auth: {body}");
    }

    /// Lets IAM user `name` call `sts:AssumeRole` (moto checks the caller's
    /// policies; `create_ecr_user` grants `ecr:*` only).
    fn allow_assume_role(moto: &Moto, name: &str) {
        const POLICY: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Resource":"*"}]}"#;
        let encode = |v: &str| -> String {
            v.bytes()
                .map(|b| match b {
                    b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                        (b as char).to_string()
                    }
                    _ => format!("%{b:02X}"),
                })
                .collect()
        };
        let body = format!(
            "Action=PutUserPolicy&UserName={}&PolicyName=assume&PolicyDocument={}&Version=2010-05-08",
            encode(name),
            encode(POLICY)
        );
        let_actions_through_unchecked(moto, 1);
        let (status, text) = moto.request(
            "POST",
            "/",
            &[
                (
                    "Authorization",
                    "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20150101/us-east-1/iam/aws4_request, \
                     SignedHeaders=host, Signature=0000",
                ),
                ("Content-Type", "application/x-www-form-urlencoded; charset=utf-8"),
            ],
            body.as_bytes(),
        );
        assert_eq!(status, 200, "PutUserPolicy: {text}");
    }

    /// A profile's `role_arn` with a `source_profile` of static keys: STS
    /// (found by name, sts.us-east-1.amazonaws.com) is asked once, with the
    /// source's key; the role session's key signs; a hit asks neither.
    #[test]
    fn a_role_with_a_source_profile_assumes_once_then_the_cache_answers() {
        let Some(mut w) = world() else { return };
        let base = w.moto.create_ecr_user("base-user");
        allow_assume_role(&w.moto, "base-user");
        w.moto.create_ecr_role_session("ecr-pull");
        let before = assume_role_calls(&w.moto, "AssumeRole");
        std::fs::write(
            w.sb.var("AWS_SHARED_CREDENTIALS_FILE").unwrap(),
            format!(
                "[base]\naws_access_key_id = {}\naws_secret_access_key = {}\n",
                base.id, base.secret
            ),
        )
        .unwrap();
        write_config(
            &w.sb,
            &format!(
                "[profile ci]\nrole_arn = arn:aws:iam::{DEFAULT_ACCOUNT}:role/ecr-pull\nsource_profile = base\n"
            ),
        );
        w.sb.set("AWS_PROFILE", "ci");
        let cold = w.sb.get(REGISTRY);
        assert_eq!(cold.code(), Some(0), "get failed; log:\n{}", w.sb.log());
        assert_token(&cold);
        assert_eq!(
            assume_role_calls(&w.moto, "AssumeRole"),
            before + 1,
            "one AssumeRole"
        );
        let sts = w.moto.recorded();
        let assume = sts
            .iter()
            .rev()
            .find(|r| String::from_utf8_lossy(&r.body).contains("Action=AssumeRole"))
            .unwrap();
        assert_eq!(
            assume.access_key_id(),
            Some(base.id.as_str()),
            "AssumeRole not signed by the source"
        );
        assert_eq!(
            assume.header("host"),
            Some(STS[0]),
            "not STS's regional name"
        );
        let ecr = w.moto.ecr_token_requests();
        assert_eq!(ecr.len(), 1);
        let signer = ecr[0].access_key_id().unwrap().to_owned();
        assert!(
            signer.starts_with("ASIA") && signer != base.id,
            "not the role session's key: {signer}"
        );
        assert!(ecr[0].header("x-amz-security-token").is_some());
        assert_eq!(ecr[0].registry_ids(), [ACCOUNT]);

        let hit = w.sb.get(REGISTRY);
        assert_token(&hit);
        assert_eq!(w.moto.ecr_token_requests().len(), 1, "a hit called ECR");
        assert_eq!(
            assume_role_calls(&w.moto, "AssumeRole"),
            before + 1,
            "a hit called STS"
        );
    }

    // --- IRSA (AWS_ROLE_ARN + AWS_WEB_IDENTITY_TOKEN_FILE) --------------------

    /// The web identity link of the chain, as on an EKS pod with IRSA: STS's
    /// AssumeRoleWithWebIdentity at its real name (moto.rs's web identity
    /// tests name the endpoint instead), once; the session's key signs;
    /// a hit asks neither.
    #[test]
    fn irsa_assumes_once_then_the_cache_answers() {
        let Some(mut w) = world() else { return };
        w.moto.create_ecr_role_session("irsa-pull");
        let before = assume_role_calls(&w.moto, "AssumeRoleWithWebIdentity");
        let token = w.sb.path().join("irsa-token");
        std::fs::write(
            &token,
            "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzeXN0ZW06c2EifQ.c2ln",
        )
        .unwrap();
        w.sb.set(
            "AWS_ROLE_ARN",
            &format!("arn:aws:iam::{DEFAULT_ACCOUNT}:role/irsa-pull"),
        )
        .set("AWS_WEB_IDENTITY_TOKEN_FILE", &token.to_string_lossy());
        // moto checks a signature on every action, but STS takes
        // AssumeRoleWithWebIdentity unsigned: that one passes unchecked,
        // and checking resumes for GetAuthorizationToken.
        let_actions_through_unchecked(&w.moto, 1);
        let cold = w.sb.get(REGISTRY);
        assert_eq!(cold.code(), Some(0), "get failed; log:\n{}", w.sb.log());
        assert_token(&cold);
        assert_eq!(
            assume_role_calls(&w.moto, "AssumeRoleWithWebIdentity"),
            before + 1
        );
        let ecr = w.moto.ecr_token_requests();
        assert_eq!(ecr.len(), 1);
        let signer = ecr[0].access_key_id().unwrap();
        assert!(signer.starts_with("ASIA"), "not a session key: {signer}");
        assert!(ecr[0].header("x-amz-security-token").is_some());
        assert_eq!(ecr[0].registry_ids(), [ACCOUNT]);
        let hit = w.sb.get(REGISTRY);
        assert_token(&hit);
        assert_eq!(w.moto.ecr_token_requests().len(), 1, "a hit called ECR");
        assert_eq!(
            assume_role_calls(&w.moto, "AssumeRoleWithWebIdentity"),
            before + 1,
            "a hit called STS"
        );
    }
}
