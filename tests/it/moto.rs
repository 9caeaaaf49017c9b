//! The built helper against a real moto server (see `support::moto`): the
//! whole AWS SDK path, SigV4 signing included, with no traffic past loopback.

use crate::support::moto::{AccessKey, Moto, moto_password};
use crate::support::{self, NOT_FOUND, Need, Run, Sandbox};

use base64::Engine as _;

const ACCOUNT: &str = "111111111111";
const REGISTRY: &str = "111111111111.dkr.ecr.us-east-1.amazonaws.com";
/// Any key id will do while moto checks no signatures.
const KEY_ID: &str = "AKIAIOSFODNN7EXAMPLE";
/// Distinctive, so that finding it anywhere is unambiguous.
const SECRET: &str = "mOtO/TeSt+SeCrEt-never-logged-0123456789";

/// A sandbox whose helper talks to `moto` with static credentials.
fn sandbox(moto: &Moto, key_id: &str, secret: &str) -> Sandbox {
    let mut sb = Sandbox::new();
    moto.attach(&mut sb);
    sb.with_credentials(key_id, secret);
    sb
}

/// The one line a successful `get` prints.
fn expected_line(server_url: &str, password: &str) -> String {
    format!(
        r#"{{"ServerURL":{},"Username":"AWS","Secret":{}}}"#,
        serde_json::to_string(server_url).unwrap(),
        serde_json::to_string(password).unwrap()
    )
}

/// Asserts `run` is a successful `get` answering exactly `server_url` / `password`.
fn assert_get(run: &Run, server_url: &str, password: &str) {
    let creds = run.credentials();
    assert_eq!(creds["ServerURL"], server_url, "stdout={:?}", run.stdout());
    assert_eq!(creds["Username"], "AWS");
    assert_eq!(
        creds["Secret"].as_str(),
        Some(password),
        "wrong password (moto answers <registryId>-auth-token for the registry id sent)"
    );
    assert_eq!(
        run.stdout().trim_end_matches('\n'),
        expected_line(server_url, password),
        "stdout must be exactly one JSON line"
    );
}

/// Asserts `run` is the credential-helper protocol's "not found" answer.
fn assert_not_found_exactly(run: &Run) {
    run.assert_not_found();
    let out = run.stdout();
    assert!(
        out == NOT_FOUND || out == format!("{NOT_FOUND}\n"),
        "stdout must be exactly {NOT_FOUND:?}, got {out:?}"
    );
}

/// The strings that prove a password leaked: plain and as in the API answer.
fn token_forms(password: &str) -> [String; 2] {
    [
        password.to_owned(),
        base64::engine::general_purpose::STANDARD.encode(format!("AWS:{password}")),
    ]
}

/// None of `secrets` appears in any run's stderr nor in the helper's log file.
fn assert_no_leak(sb: &Sandbox, runs: &[&Run], secrets: &[&str]) {
    let log = sb.log();
    for s in secrets {
        assert!(!s.is_empty());
        for (i, run) in runs.iter().enumerate() {
            assert!(
                !run.stderr().contains(s),
                "a secret ({} chars) appears in the stderr of run {i}",
                s.len()
            );
        }
        assert!(
            !log.contains(s),
            "a secret ({} chars) appears in the log file",
            s.len()
        );
    }
}

#[test]
#[cfg_attr(
    windows,
    ignore = "needs moto: the Windows tests run under wine, which cannot start the Linux moto_server"
)]
fn get_returns_moto_token_for_the_registry_id_in_the_host() {
    if !support::require(Need::Moto) {
        return;
    }
    let moto = Moto::start();
    let sb = sandbox(&moto, KEY_ID, SECRET);
    let password = moto_password(ACCOUNT);

    let run = sb.get(REGISTRY);
    assert_get(&run, REGISTRY, &password);

    let calls = moto.ecr_token_requests();
    assert_eq!(calls.len(), 1, "one GetAuthorizationToken call per get");
    assert_eq!(calls[0].registry_ids(), [ACCOUNT], "registryIds sent");
    assert_eq!(calls[0].signing_region(), Some("us-east-1"));
    assert_eq!(calls[0].signing_service(), Some("ecr"));
    assert_eq!(calls[0].access_key_id(), Some(KEY_ID));

    // AWS_ECR_LOG=trace is set: an empty log would make the leak check moot.
    assert!(
        !sb.log().trim().is_empty(),
        "AWS_ECR_LOG=trace wrote nothing to AWS_ECR_LOG_FILE"
    );
    let [plain, b64] = token_forms(&password);
    assert_no_leak(&sb, &[&run], &[SECRET, &plain, &b64]);
}

#[test]
#[cfg_attr(
    windows,
    ignore = "needs moto: the Windows tests run under wine, which cannot start the Linux moto_server"
)]
fn server_url_forms_are_echoed_trimmed() {
    if !support::require(Need::Moto) {
        return;
    }
    let moto = Moto::start();
    let sb = sandbox(&moto, KEY_ID, SECRET);
    let password = moto_password(ACCOUNT);
    let forms = [
        ("https://111111111111.dkr.ecr.us-east-1.amazonaws.com", None),
        (
            "111111111111.dkr.ecr.us-east-1.amazonaws.com/team/app",
            None,
        ),
        ("111111111111.dkr.ecr.us-east-1.amazonaws.com:443", None),
        (
            "https://111111111111.dkr.ecr.us-east-1.amazonaws.com:443/v2/",
            None,
        ),
        (
            "  111111111111.dkr.ecr.us-east-1.amazonaws.com\n",
            Some("111111111111.dkr.ecr.us-east-1.amazonaws.com"),
        ),
        (
            "\t https://111111111111.dkr.ecr.us-east-1.amazonaws.com/ \r\n",
            Some("https://111111111111.dkr.ecr.us-east-1.amazonaws.com/"),
        ),
    ];
    let mut runs = Vec::new();
    for (input, trimmed) in forms {
        let run = sb.get(input);
        assert_get(&run, trimmed.unwrap_or(input), &password);
        runs.push(run);
    }
    for call in moto.ecr_token_requests() {
        assert_eq!(call.registry_ids(), [ACCOUNT]);
        assert_eq!(call.signing_region(), Some("us-east-1"));
    }
    let [plain, b64] = token_forms(&password);
    assert_no_leak(
        &sb,
        &runs.iter().collect::<Vec<_>>(),
        &[SECRET, &plain, &b64],
    );
}

#[test]
#[cfg_attr(
    windows,
    ignore = "needs moto: the Windows tests run under wine, which cannot start the Linux moto_server"
)]
fn other_region_and_account_come_from_the_host() {
    if !support::require(Need::Moto) {
        return;
    }
    let moto = Moto::start();
    let mut sb = sandbox(&moto, KEY_ID, SECRET);
    // The registry's region must win over the caller's default region.
    sb.set("AWS_REGION", "us-west-2")
        .set("AWS_DEFAULT_REGION", "us-west-2");
    let server = "333333333333.dkr.ecr.eu-west-1.amazonaws.com";
    let password = moto_password("333333333333");

    let run = sb.get(server);
    assert_get(&run, server, &password);

    let calls = moto.ecr_token_requests();
    assert_eq!(calls.len(), 1, "one GetAuthorizationToken call per get");
    assert_eq!(calls[0].registry_ids(), ["333333333333"]);
    assert_eq!(calls[0].signing_region(), Some("eu-west-1"));
    let [plain, b64] = token_forms(&password);
    assert_no_leak(&sb, &[&run], &[SECRET, &plain, &b64]);
}

#[test]
#[cfg_attr(
    windows,
    ignore = "needs moto: the Windows tests run under wine, which cannot start the Linux moto_server"
)]
fn signatures_are_checked_when_moto_checks_them() {
    if !support::require(Need::Moto) {
        return;
    }
    let moto = Moto::start();
    moto.enable_auth();
    let user: AccessKey = moto.create_ecr_user("ecr-puller");
    let password = moto_password(ACCOUNT);

    // A key id moto does not know.
    let sb = sandbox(&moto, KEY_ID, SECRET);
    let unknown = sb.get(REGISTRY);
    assert_not_found_exactly(&unknown);
    assert!(
        !moto.ecr_token_requests().is_empty(),
        "the helper never asked moto"
    );
    assert_no_leak(&sb, &[&unknown], &[SECRET]);

    // The user's key id with a wrong secret, then the right one, in one sandbox.
    let wrong_secret = format!("{}-WRONG", user.secret);
    let mut sb = sandbox(&moto, &user.id, &wrong_secret);
    let wrong = sb.get(REGISTRY);
    assert_not_found_exactly(&wrong);
    let last = moto.ecr_token_requests().pop().unwrap();
    assert_eq!(last.access_key_id(), Some(user.id.as_str()));

    sb.with_credentials(&user.id, &user.secret);
    let right = sb.get(REGISTRY);
    assert_get(&right, REGISTRY, &password);
    let last = moto.ecr_token_requests().pop().unwrap();
    assert_eq!(last.access_key_id(), Some(user.id.as_str()));
    assert_eq!(last.registry_ids(), [ACCOUNT]);

    let [plain, b64] = token_forms(&password);
    assert_no_leak(
        &sb,
        &[&wrong, &right],
        &[&user.secret, &wrong_secret, &plain, &b64],
    );
}

#[test]
#[cfg_attr(
    windows,
    ignore = "needs moto: the Windows tests run under wine, which cannot start the Linux moto_server"
)]
fn expired_tokens_are_returned_but_never_served_from_cache() {
    if !support::require(Need::Moto) {
        return;
    }
    // moto's tokens say they expired on 2015-01-01.
    let moto = Moto::start();
    let sb = sandbox(&moto, KEY_ID, SECRET);
    let password = moto_password(ACCOUNT);

    let first = sb.get(REGISTRY);
    assert_get(&first, REGISTRY, &password);
    assert_eq!(moto.ecr_token_requests().len(), 1);

    let second = sb.get(REGISTRY);
    assert_get(&second, REGISTRY, &password);
    assert_eq!(
        moto.ecr_token_requests().len(),
        2,
        "the second get must ask moto again: an expired token is not served from cache"
    );

    let [plain, b64] = token_forms(&password);
    assert_no_leak(&sb, &[&first, &second], &[SECRET, &plain, &b64]);
}

#[test]
#[cfg_attr(
    windows,
    ignore = "needs moto: the Windows tests run under wine, which cannot start the Linux moto_server"
)]
fn list_is_a_json_object() {
    if !support::require(Need::Moto) {
        return;
    }
    let moto = Moto::start();
    let sb = sandbox(&moto, KEY_ID, SECRET);
    let password = moto_password(ACCOUNT);

    let empty = sb.run(&["list"], "");
    assert_eq!(empty.code(), Some(0), "stderr={:?}", empty.stderr());
    let v: serde_json::Value = serde_json::from_str(&empty.stdout()).expect("list prints JSON");
    assert_eq!(v, serde_json::json!({}), "nothing fetched yet");

    let get = sb.get(REGISTRY);
    assert_get(&get, REGISTRY, &password);

    let list = sb.run(&["list"], "");
    assert_eq!(list.code(), Some(0), "stderr={:?}", list.stderr());
    let v: serde_json::Value = serde_json::from_str(&list.stdout()).expect("list prints JSON");
    let map = v.as_object().expect("list prints a JSON object");
    // Only expired tokens were fetched, so there may be nothing to list; any
    // entry maps a server URL to the user name, never to a password.
    for (url, user) in map {
        assert_eq!(user, "AWS", "entry {url:?}");
    }
    assert!(
        !list.stdout().contains(&password),
        "list must not print passwords"
    );

    let [plain, b64] = token_forms(&password);
    assert_no_leak(&sb, &[&empty, &get, &list], &[SECRET, &plain, &b64]);
}

/// The harness's own footing: moto's auth switch really rejects requests it
/// cannot verify, and `create_ecr_user` still works once checking is on.
#[test]
#[cfg_attr(
    windows,
    ignore = "needs moto: the Windows tests run under wine, which cannot start the Linux moto_server"
)]
fn harness_moto_auth_switch() {
    if !support::require(Need::Moto) {
        return;
    }
    let moto = Moto::start();
    let unsigned_ecr = |moto: &Moto| {
        moto.request(
            "POST",
            "/",
            &[
                (
                    "Authorization",
                    "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20150101/us-east-1/ecr/aws4_request, \
                     SignedHeaders=host, Signature=0000",
                ),
                ("X-Amz-Target", support::moto::ECR_TOKEN_TARGET),
                ("Content-Type", "application/x-amz-json-1.1"),
            ],
            br#"{"registryIds":["444444444444"]}"#,
        )
    };
    let (status, body) = unsigned_ecr(&moto);
    assert_eq!(status, 200, "moto checks nothing before reset-auth: {body}");
    let answer: serde_json::Value = serde_json::from_str(&body).expect("JSON answer");
    let data = &answer["authorizationData"][0];
    let token = base64::engine::general_purpose::STANDARD
        .decode(data["authorizationToken"].as_str().unwrap())
        .unwrap();
    assert_eq!(token, b"AWS:444444444444-auth-token");
    assert_eq!(
        data["expiresAt"].as_f64(),
        Some(1_420_070_400.0),
        "2015-01-01 UTC"
    );

    moto.enable_auth();
    let (status, _) = unsigned_ecr(&moto);
    assert_eq!(
        status, 403,
        "a bogus signature must be refused after reset-auth 0"
    );

    let key = moto.create_ecr_user("harness");
    assert!(key.id.starts_with("AKIA"), "key id {:?}", key.id);
    let (status, _) = unsigned_ecr(&moto);
    assert_eq!(status, 403, "checking resumes after create_ecr_user");
}
