//! The kubelet image credential provider through the built binary: against
//! moto (ECR and STS) and the project's fake ECR, on loopback only.

use std::path::Path;
use std::process::Command;

use base64::Engine as _;

use crate::support::fake_ecr::{FakeEcr, Fault};
use crate::support::moto::{Moto, moto_password};
use crate::support::{self, Need, Run, Sandbox, binary, run_command};

const ACCOUNT: &str = "111111111111";
const REGISTRY: &str = "111111111111.dkr.ecr.us-east-1.amazonaws.com";
const IMAGE: &str = "111111111111.dkr.ecr.us-east-1.amazonaws.com/audit/sa/cicd-runner:latest";
const V1: &str = "credentialprovider.kubelet.k8s.io/v1";
const API_VERSIONS: [&str; 3] = [
    "credentialprovider.kubelet.k8s.io/v1",
    "credentialprovider.kubelet.k8s.io/v1beta1",
    "credentialprovider.kubelet.k8s.io/v1alpha1",
];
/// The node's own static key.
const KEY_ID: &str = "AKIAIOSFODNN7EXAMPLE";
/// Distinctive, so that finding it anywhere is unambiguous.
const SECRET: &str = "kUbElEt/TeSt+SeCrEt-never-logged-0123456789";
const ROLE: &str = "arn:aws:iam::222222222222:role/ci-cicd-runner-pull";
const ROLE_ANNOTATION: &str = "eks.amazonaws.com/ecr-role-arn";

fn request(api_version: &str, image: &str) -> String {
    serde_json::json!({
        "apiVersion": api_version,
        "kind": "CredentialProviderRequest",
        "image": image,
    })
    .to_string()
}

/// A JWT-shaped service-account token, distinct per `n`.
fn sa_token(n: u32) -> String {
    let b64 = |v: serde_json::Value| {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
    };
    format!(
        "{}.{}.{}",
        b64(serde_json::json!({"alg": "RS256", "kid": "test"})),
        b64(serde_json::json!({
            "iss": "https://oidc.eks.us-east-1.amazonaws.com/id/TEST",
            "sub": "system:serviceaccount:ci:cicd-runner",
            "aud": ["sts.amazonaws.com"],
            "jti": format!("sekrit-service-account-token-{n}"),
        })),
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("signature-{n}")),
    )
}

fn sa_request(token: &str, annotations: serde_json::Value) -> String {
    serde_json::json!({
        "apiVersion": V1,
        "kind": "CredentialProviderRequest",
        "image": IMAGE,
        "serviceAccountToken": token,
        "serviceAccountAnnotations": annotations,
    })
    .to_string()
}

fn kubelet(sb: &Sandbox, input: &str) -> Run {
    sb.run(&["kubelet"], input)
}

/// A successful answer: exit 0, one JSON document on stdout, nothing on stderr.
fn response(run: &Run) -> serde_json::Value {
    assert_eq!(
        run.code(),
        Some(0),
        "stdout={:?} stderr={:?}",
        run.stdout(),
        run.stderr()
    );
    assert_eq!(run.stderr(), "", "nothing on stderr on success");
    let out = run.stdout();
    assert_eq!(out.trim_end().lines().count(), 1, "one line: {out:?}");
    serde_json::from_str(&out).expect("stdout is one JSON document")
}

/// The fields every response has, checked one by one.
fn assert_response(v: &serde_json::Value, api_version: &str, host: &str, password: &str) {
    assert_eq!(v["kind"], "CredentialProviderResponse");
    assert_eq!(v["apiVersion"], api_version);
    assert_eq!(v["cacheKeyType"], "Registry");
    assert!(v["cacheDuration"].is_string(), "{v}");
    let auth = v["auth"].as_object().expect("auth is an object");
    assert_eq!(auth.len(), 1, "{v}");
    assert_eq!(auth[host]["username"], "AWS");
    assert_eq!(auth[host]["password"].as_str(), Some(password));
    assert_eq!(auth[host].as_object().unwrap().len(), 2);
}

/// A refusal: exit 1, nothing on stdout, one line on stderr.
fn assert_refused(run: &Run, needle: &str) {
    assert_eq!(run.code(), Some(1), "stderr={:?}", run.stderr());
    assert_eq!(run.stdout(), "", "nothing on stdout on failure");
    let err = run.stderr();
    assert!(
        err.ends_with('\n') && err.matches('\n').count() == 1,
        "exactly one line on stderr: {err:?}"
    );
    assert!(err.starts_with("ecr-credential-provider: "), "{err:?}");
    assert!(err.contains(needle), "{err:?} lacks {needle:?}");
}

/// Seconds in a Go `time.Duration` string made of h, m and s parts.
fn parse_go_duration(s: &str) -> u64 {
    assert!(!s.is_empty());
    let (mut total, mut number) = (0u64, String::new());
    for c in s.chars() {
        if c.is_ascii_digit() {
            number.push(c);
            continue;
        }
        let n: u64 = number
            .parse()
            .unwrap_or_else(|_| panic!("bad duration {s:?}"));
        number.clear();
        total += n * match c {
            'h' => 3600,
            'm' => 60,
            's' => 1,
            _ => panic!("unit {c:?} in {s:?}"),
        };
    }
    assert!(number.is_empty(), "trailing number in {s:?}");
    total
}

fn assert_no_leak(sb: &Sandbox, runs: &[&Run], secrets: &[&str]) {
    let log = sb.log();
    for s in secrets {
        for run in runs {
            assert!(!run.stderr().contains(s), "a secret appears on stderr");
        }
        assert!(!log.contains(s), "a secret appears in the log file");
    }
}

#[test]
fn go_durations_parse() {
    assert_eq!(parse_go_duration("0s"), 0);
    assert_eq!(parse_go_duration("45s"), 45);
    assert_eq!(parse_go_duration("1m0s"), 60);
    assert_eq!(parse_go_duration("5h59m30s"), 21570);
}

#[test]
#[cfg_attr(
    windows,
    ignore = "needs moto: the Windows tests run under wine, which cannot start the Linux moto_server"
)]
fn moto_token_for_every_api_version() {
    if !support::require(Need::Moto) {
        return;
    }
    let moto = Moto::start();
    let mut sb = Sandbox::new();
    moto.attach(&mut sb);
    sb.with_credentials(KEY_ID, SECRET);
    let password = moto_password(ACCOUNT);
    let mut runs = Vec::new();
    for version in API_VERSIONS {
        let run = kubelet(&sb, &request(version, IMAGE));
        let v = response(&run);
        assert_response(&v, version, REGISTRY, &password);
        // moto's tokens expired in 2015: the kubelet must not keep them.
        assert_eq!(v["cacheDuration"], "0s");
        assert!(v.get("serviceAccountTokenCacheType").is_none());
        runs.push(run);
    }
    let calls = moto.ecr_token_requests();
    assert_eq!(calls.len(), 3, "an expired token is never cached");
    for call in &calls {
        assert_eq!(call.registry_ids(), [ACCOUNT], "the registry's account");
        assert_eq!(call.access_key_id(), Some(KEY_ID), "the node's own key");
        assert_eq!(call.signing_region(), Some("us-east-1"));
    }
    let runs: Vec<&Run> = runs.iter().collect();
    assert_no_leak(&sb, &runs, &[SECRET, &password]);
}

#[test]
fn fake_ecr_lifetime_sets_the_cache_duration_and_the_cache_is_shared() {
    let fake = FakeEcr::start();
    fake.set_lifetime(7200.0);
    let mut sb = Sandbox::new();
    fake.attach(&mut sb);
    sb.with_credentials(KEY_ID, SECRET);

    let first = response(&kubelet(&sb, &request(V1, IMAGE)));
    let password = FakeEcr::default_password(ACCOUNT, 1);
    assert_response(&first, V1, REGISTRY, &password);
    let secs = parse_go_duration(first["cacheDuration"].as_str().unwrap());
    assert!(
        (3598..=3602).contains(&secs),
        "half of a 2 h token is about 1 h: {}",
        first["cacheDuration"]
    );

    // A second plugin run (another process) is served from the disk cache.
    let second = response(&kubelet(&sb, &request(API_VERSIONS[1], IMAGE)));
    assert_response(&second, API_VERSIONS[1], REGISTRY, &password);
    let again = parse_go_duration(second["cacheDuration"].as_str().unwrap());
    assert!(again <= secs && again > 0, "{again} after {secs}");
    assert_eq!(fake.calls(), 1, "the second run made no API call");
    assert_eq!(fake.registry_ids(), [vec![ACCOUNT.to_owned()]]);
}

#[test]
fn ecr_public_and_other_host_forms() {
    let fake = FakeEcr::start();
    let mut sb = Sandbox::new();
    fake.attach(&mut sb);
    sb.with_credentials(KEY_ID, SECRET);
    let v = response(&kubelet(
        &sb,
        &request(V1, "public.ecr.aws/docker/library/nginx:1.27"),
    ));
    assert_response(
        &v,
        V1,
        "public.ecr.aws",
        &FakeEcr::default_password("public", 1),
    );
    let v = response(&kubelet(
        &sb,
        &request(
            V1,
            "333333333333.dkr.ecr.eu-west-1.amazonaws.com:443/team/app@sha256:0123",
        ),
    ));
    assert_response(
        &v,
        V1,
        "333333333333.dkr.ecr.eu-west-1.amazonaws.com:443",
        &FakeEcr::default_password("333333333333", 2),
    );
    let log = fake.call_log();
    assert_eq!(log[1].region.as_deref(), Some("eu-west-1"));
    assert_eq!(fake.registry_ids()[1], ["333333333333"]);
}

#[test]
fn runs_as_ecr_credential_provider_with_the_kubelets_arguments() {
    let fake = FakeEcr::start();
    let mut sb = Sandbox::new();
    fake.attach(&mut sb);
    sb.with_credentials(KEY_ID, SECRET);
    let bin_dir = tempfile::tempdir().unwrap();
    // The name the kubelet runs: on Unix a symlink, as the packages
    // install it; on Windows a copy named .exe, as it is installed there.
    #[cfg(unix)]
    let link = {
        let link = bin_dir.path().join("ecr-credential-provider");
        std::os::unix::fs::symlink(binary(), &link).unwrap();
        link
    };
    #[cfg(windows)]
    let link = {
        let link = bin_dir.path().join("ecr-credential-provider.exe");
        std::fs::copy(binary(), &link).unwrap();
        link
    };

    let command = |args: &[&str]| {
        let mut cmd = Command::new(&link);
        cmd.args(args).env_clear();
        for (k, v) in &sb.env {
            cmd.env(k, v);
        }
        cmd
    };
    let password = FakeEcr::default_password(ACCOUNT, 1);
    for args in [
        &[][..],
        &["--v=2"],
        &[
            "get",
            "--image-credential-provider-config=/etc/x.yaml",
            "-h",
        ],
    ] {
        let run = run_command(command(args), &request(V1, IMAGE));
        assert_response(&response(&run), V1, REGISTRY, &password);
    }
    // `kubelet` tolerates extra arguments too.
    let run = sb.run(&["kubelet", "--v=2"], &request(V1, IMAGE));
    assert_response(&response(&run), V1, REGISTRY, &password);
    assert_eq!(fake.calls(), 1);
    // Failures keep the same shape under that name.
    assert_refused(
        &run_command(command(&["--v=2"]), "{"),
        "malformed CredentialProviderRequest",
    );
}

#[test]
fn kubelet_help_is_documented() {
    let sb = Sandbox::new();
    let run = sb.run(&["kubelet", "--help"], "");
    assert_eq!(run.code(), Some(0), "{}", run.stderr());
    let out = run.stdout();
    for needle in [
        "ecr-credential-provider",
        "AWS_ECR_KUBELET_ROLE_ARN",
        "eks.amazonaws.com/ecr-role-arn",
    ] {
        assert!(out.contains(needle), "{needle} missing from:\n{out}");
    }
    let run = sb.run(&["--help"], "");
    assert!(run.stdout().contains("kubelet"), "{}", run.stdout());
}

/// Service-account mode: STS on moto, ECR on the fake, which records the
/// access key each call was signed with.
struct SaSetup {
    moto: Moto,
    fake: FakeEcr,
    sb: Sandbox,
}

fn sa_setup() -> SaSetup {
    let moto = Moto::start();
    let fake = FakeEcr::start();
    let mut sb = Sandbox::new();
    fake.attach(&mut sb);
    sb.set("AWS_ENDPOINT_URL_STS", &moto.endpoint());
    sb.with_credentials(KEY_ID, SECRET);
    SaSetup { moto, fake, sb }
}

/// The AssumeRoleWithWebIdentity requests moto received, as form bodies.
fn web_identity_calls(moto: &Moto) -> Vec<String> {
    moto.recorded()
        .into_iter()
        .map(|r| String::from_utf8_lossy(&r.body).into_owned())
        .filter(|b| b.contains("Action=AssumeRoleWithWebIdentity"))
        .collect()
}

fn form_encoded(s: &str) -> String {
    s.replace(':', "%3A").replace('/', "%2F")
}

#[test]
#[cfg_attr(
    windows,
    ignore = "needs moto: the Windows tests run under wine, which cannot start the Linux moto_server"
)]
fn service_account_token_assumes_the_annotated_role_and_shares_its_cache() {
    if !support::require(Need::Moto) {
        return;
    }
    let SaSetup { moto, fake, sb } = sa_setup();
    let (token1, token2) = (sa_token(1), sa_token(2));

    let first = kubelet(
        &sb,
        &sa_request(&token1, serde_json::json!({ ROLE_ANNOTATION: ROLE })),
    );
    let v = response(&first);
    let password = FakeEcr::default_password(ACCOUNT, 1);
    assert_response(&v, V1, REGISTRY, &password);
    assert_eq!(v["serviceAccountTokenCacheType"], "ServiceAccount");

    // STS saw the role, the session name and the pod's token...
    let sts = web_identity_calls(&moto);
    assert_eq!(sts.len(), 1, "one AssumeRoleWithWebIdentity");
    assert!(
        sts[0].contains(&format!("RoleArn={}", form_encoded(ROLE))),
        "{}",
        sts[0]
    );
    assert!(sts[0].contains("RoleSessionName=ecr-credential-provider"));
    assert!(sts[0].contains(&format!("WebIdentityToken={token1}")));
    // ...and ECR was called with the assumed role's keys, not the node's.
    let calls = fake.call_log();
    assert_eq!(calls.len(), 1);
    let key = calls[0].access_key_id.clone().expect("signed");
    assert!(
        key.starts_with("ASIA"),
        "assumed-role key expected, got {key}"
    );
    assert_ne!(key, KEY_ID);
    assert_eq!(
        calls[0].registry_ids.as_deref(),
        Some(&[ACCOUNT.to_owned()][..])
    );

    // Another pod of the same role, with its own token: served from the cache.
    let second = kubelet(
        &sb,
        &sa_request(&token2, serde_json::json!({ ROLE_ANNOTATION: ROLE })),
    );
    assert_response(&response(&second), V1, REGISTRY, &password);
    assert_eq!(fake.calls(), 1, "same role: no ECR call");
    assert_eq!(web_identity_calls(&moto).len(), 1, "same role: no STS call");

    // The node's own credentials never share the role's entry.
    let node = kubelet(&sb, &request(V1, IMAGE));
    assert_response(
        &response(&node),
        V1,
        REGISTRY,
        &FakeEcr::default_password(ACCOUNT, 2),
    );
    assert_eq!(fake.call_log()[1].access_key_id.as_deref(), Some(KEY_ID));

    // A second role: its own STS and ECR calls.
    let other = "arn:aws:iam::222222222222:role/other-pull";
    let third = kubelet(
        &sb,
        &sa_request(&token1, serde_json::json!({ ROLE_ANNOTATION: other })),
    );
    response(&third);
    assert_eq!(fake.calls(), 3);
    let sts = web_identity_calls(&moto);
    assert_eq!(sts.len(), 2);
    assert!(sts[1].contains(&format!("RoleArn={}", form_encoded(other))));

    // The service-account tokens appear nowhere but on the wire to STS:
    // not in any output, the log, or the cache (file names and contents).
    let runs = [&first, &second, &node, &third];
    for run in runs {
        assert!(!run.stdout().contains(&token1) && !run.stdout().contains(&token2));
    }
    assert_no_leak(&sb, &runs, &[&token1, &token2, SECRET, &password]);
    for entry in std::fs::read_dir(sb.cache_dir()).unwrap() {
        let path = entry.unwrap().path();
        let text = String::from_utf8_lossy(&std::fs::read(&path).unwrap_or_default()).into_owned();
        for token in [&token1, &token2] {
            assert!(
                !path.to_string_lossy().contains(token.as_str()) && !text.contains(token.as_str()),
                "a service-account token in the cache: {}",
                path.display()
            );
        }
    }
}

#[test]
#[cfg_attr(
    windows,
    ignore = "needs moto: the Windows tests run under wine, which cannot start the Linux moto_server"
)]
fn service_account_role_from_the_environment() {
    if !support::require(Need::Moto) {
        return;
    }
    let SaSetup { moto, fake, mut sb } = sa_setup();
    sb.set("AWS_ECR_KUBELET_ROLE_ARN", ROLE);
    let run = kubelet(&sb, &sa_request(&sa_token(1), serde_json::json!({})));
    assert_response(
        &response(&run),
        V1,
        REGISTRY,
        &FakeEcr::default_password(ACCOUNT, 1),
    );
    let sts = web_identity_calls(&moto);
    assert_eq!(sts.len(), 1);
    assert!(sts[0].contains(&format!("RoleArn={}", form_encoded(ROLE))));
    assert!(
        fake.call_log()[0]
            .access_key_id
            .as_deref()
            .unwrap()
            .starts_with("ASIA")
    );
}

// --- one test per class of bad request: exit 1, empty stdout, one line ---

/// A sandbox whose ECR is the fake, to show no call is made.
fn fake_sandbox() -> (FakeEcr, Sandbox) {
    let fake = FakeEcr::start();
    let mut sb = Sandbox::new();
    fake.attach(&mut sb);
    sb.with_credentials(KEY_ID, SECRET);
    (fake, sb)
}

#[test]
fn refuses_malformed_json() {
    let (fake, sb) = fake_sandbox();
    for input in ["", "{", "not json", "[]", r#"{"apiVersion":1}"#] {
        assert_refused(&kubelet(&sb, input), "malformed CredentialProviderRequest");
    }
    assert_eq!(fake.calls(), 0);
}

#[test]
fn refuses_a_wrong_api_version() {
    let (fake, sb) = fake_sandbox();
    for version in [
        "credentialprovider.kubelet.k8s.io/v2",
        "kubelet.config.k8s.io/v1",
        "",
    ] {
        assert_refused(
            &kubelet(&sb, &request(version, IMAGE)),
            "unsupported apiVersion",
        );
    }
    assert_eq!(fake.calls(), 0);
}

#[test]
fn refuses_a_wrong_kind() {
    let (fake, sb) = fake_sandbox();
    let input = serde_json::json!({
        "apiVersion": V1, "kind": "CredentialProviderResponse", "image": IMAGE,
    });
    assert_refused(
        &kubelet(&sb, &input.to_string()),
        "unexpected kind \"CredentialProviderResponse\"",
    );
    assert_eq!(fake.calls(), 0);
}

#[test]
fn refuses_a_missing_or_empty_image() {
    let (fake, sb) = fake_sandbox();
    let missing = serde_json::json!({"apiVersion": V1, "kind": "CredentialProviderRequest"});
    assert_refused(&kubelet(&sb, &missing.to_string()), "names no image");
    assert_refused(&kubelet(&sb, &request(V1, "")), "names no image");
    assert_eq!(fake.calls(), 0);
}

#[test]
fn refuses_a_non_ecr_image() {
    let (fake, sb) = fake_sandbox();
    for image in [
        "docker.io/library/nginx:latest",
        "nginx",
        "registry.example.com/team/app:1.0",
        "111111111111.dkr.ecr.us-east-1.amazonaws.com.evil.example/app",
    ] {
        assert_refused(&kubelet(&sb, &request(V1, image)), image);
    }
    assert_eq!(fake.calls(), 0);
    assert!(
        !Path::new(&sb.cache_dir()).exists(),
        "no cache file for a non-ECR image"
    );
}

#[test]
fn refuses_when_the_token_fetch_fails() {
    let (fake, sb) = fake_sandbox();
    fake.fail_always(Some(Fault::AccessDenied));
    let run = kubelet(&sb, &request(V1, IMAGE));
    assert_refused(&run, "AccessDeniedException");
    assert!(run.stderr().contains(REGISTRY));
    assert!(fake.calls() >= 1);
    assert_no_leak(&sb, &[&run], &[SECRET]);
}

#[test]
fn refuses_a_service_account_token_without_a_role() {
    let (fake, sb) = fake_sandbox();
    let token = sa_token(1);
    let run = kubelet(&sb, &sa_request(&token, serde_json::json!({"other": "x"})));
    assert_refused(&run, "no role to assume");
    assert!(run.stderr().contains("AWS_ECR_KUBELET_ROLE_ARN"));
    assert_eq!(fake.calls(), 0, "never the node's credentials instead");
    assert_no_leak(&sb, &[&run], &[&token]);
}

/// A service-account token that is present but empty is a broken request:
/// refused, and never answered with the node's own credentials instead
/// (it used to count as absent, and the node's token was served).
#[test]
fn refuses_an_empty_service_account_token() {
    let (fake, mut sb) = fake_sandbox();
    sb.set("AWS_ENDPOINT_URL_STS", &fake.url());
    for token in ["", " ", "\n"] {
        let run = kubelet(
            &sb,
            &sa_request(token, serde_json::json!({ ROLE_ANNOTATION: ROLE })),
        );
        assert_refused(&run, "serviceAccountToken is empty");
    }
    assert_eq!(fake.calls(), 0, "never the node's credentials instead");
    assert!(!Path::new(&sb.cache_dir()).exists());
}

/// A role of another partition than the registry's (`arn:aws-cn:` for a
/// `.amazonaws.com` registry, `arn:aws:` for a `.amazonaws.com.cn` one),
/// from the annotation or from AWS_ECR_KUBELET_ROLE_ARN, is refused before
/// any call: neither STS (which the fake stands in for here) nor ECR is
/// asked, and the node's credentials are not used instead.
#[test]
fn refuses_a_role_of_another_partition() {
    let (fake, mut sb) = fake_sandbox();
    sb.set("AWS_ENDPOINT_URL_STS", &fake.url());
    let cn_image = "111111111111.dkr.ecr.cn-north-1.amazonaws.com.cn/team/app:1.0";
    let cn_role = "arn:aws-cn:iam::222222222222:role/ecr-pull";
    let gov_role = "arn:aws-us-gov:iam::222222222222:role/ecr-pull";
    let token = sa_token(1);
    for (image, role) in [
        (IMAGE, cn_role),
        (IMAGE, gov_role),
        (cn_image, ROLE),
        ("public.ecr.aws/team/app:1.0", cn_role),
    ] {
        let input = serde_json::json!({
            "apiVersion": V1,
            "kind": "CredentialProviderRequest",
            "image": image,
            "serviceAccountToken": token,
            "serviceAccountAnnotations": { ROLE_ANNOTATION: role },
        })
        .to_string();
        let run = kubelet(&sb, &input);
        assert_refused(&run, "partition");
        assert!(run.stderr().contains(role), "{}", run.stderr());
        assert_no_leak(&sb, &[&run], &[&token, SECRET]);
    }
    sb.set("AWS_ECR_KUBELET_ROLE_ARN", cn_role);
    let run = kubelet(&sb, &sa_request(&token, serde_json::json!({})));
    assert_refused(&run, "AWS_ECR_KUBELET_ROLE_ARN");
    assert!(run.stderr().contains("partition"), "{}", run.stderr());
    assert_eq!(fake.calls(), 0, "no STS call, no ECR call");
}
