//! `doctor` through the built binary against moto: each link of the chain,
//! and the exit code of each verdict moto can produce (the denials, which
//! moto cannot, are the unit tests' fake's).

use crate::support::moto::{DEFAULT_ACCOUNT, Moto};
use crate::support::{self, Need, Sandbox};
use serde_json::{Value, json};

fn host() -> String {
    format!("{DEFAULT_ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com")
}

fn setup(moto: &Moto) -> Sandbox {
    let mut sb = Sandbox::new();
    moto.attach(&mut sb);
    sb.with_credentials("AKIAIOSFODNN7EXAMPLE", "secret");
    sb.set("AWS_ENDPOINT_URL_STS", &moto.endpoint());
    let docker = sb.path().join("docker");
    std::fs::create_dir_all(&docker).unwrap();
    sb.set("DOCKER_CONFIG", docker.to_str().unwrap());
    // docker runs the helper it finds on PATH: this build comes first.
    let bin = support::binary().parent().unwrap().to_owned();
    let path = std::env::join_paths(
        std::iter::once(bin).chain(std::env::split_paths(&sb.var("PATH").unwrap_or_default())),
    )
    .unwrap();
    sb.set("PATH", path.to_str().unwrap());
    sb
}

fn routed(sb: &Sandbox) {
    let run = sb.run(&["configure", "--registry", &host()], "");
    assert_eq!(run.code(), Some(0), "{}", run.stderr());
}

fn doctor(sb: &Sandbox, image: &str) -> (Option<i32>, Value) {
    let run = sb.run(&["doctor", "--json", image], "");
    let report: Value = serde_json::from_str(&run.stdout())
        .unwrap_or_else(|e| panic!("{e}: {} / {}", run.stdout(), run.stderr()));
    assert_eq!(
        Some(report["exit_code"].as_i64().unwrap() as i32),
        run.code()
    );
    (run.code(), report)
}

fn push_image(moto: &Moto) {
    moto.ecr("CreateRepository", &json!({"repositoryName": "team/app"}));
    let manifest = json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
        "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "size": 2, "digest": "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"},
        "layers": []
    });
    moto.ecr(
        "PutImage",
        &json!({"repositoryName": "team/app", "imageManifest": manifest.to_string(), "imageTag": "1.0"}),
    );
}

#[test]
#[cfg_attr(
    windows,
    ignore = "needs moto: the Windows tests run under wine, which cannot start the Linux moto_server"
)]
fn a_pullable_image_passes_every_step() {
    if !support::require(Need::Moto) {
        return;
    }
    let moto = Moto::start_with_live_tokens();
    push_image(&moto);
    let sb = setup(&moto);
    routed(&sb);
    let (code, report) = doctor(&sb, &format!("{}/team/app:1.0", host()));
    assert_eq!(code, Some(0), "{report:#}");
    let steps = report["steps"].as_array().unwrap();
    assert_eq!(steps.len(), 5);
    assert!(steps.iter().all(|s| s["ok"] == true), "{report:#}");
    assert!(
        steps[2]["detail"]
            .as_str()
            .unwrap()
            .contains(DEFAULT_ACCOUNT)
    );
    // The human form says the same.
    let run = sb.run(&["doctor", &format!("{}/team/app:1.0", host())], "");
    assert_eq!(run.code(), Some(0));
    assert!(
        run.stdout().contains("verdict: the image can be pulled"),
        "{}",
        run.stdout()
    );
}

#[test]
#[cfg_attr(
    windows,
    ignore = "needs moto: the Windows tests run under wine, which cannot start the Linux moto_server"
)]
fn each_broken_link_has_its_exit_code() {
    if !support::require(Need::Moto) {
        return;
    }
    let moto = Moto::start_with_live_tokens();
    push_image(&moto);
    let sb = setup(&moto);

    let (code, report) = doctor(&sb, "registry.example.com/team/app:1.0");
    assert_eq!(
        (code, report["verdict"].as_str()),
        (Some(2), Some("not-ecr"))
    );

    // The docker config does not route it yet.
    let (code, report) = doctor(&sb, &format!("{}/team/app:1.0", host()));
    assert_eq!(
        (code, report["verdict"].as_str()),
        (Some(3), Some("not-routed"))
    );
    assert!(
        report["steps"][1]["fix"]
            .as_str()
            .unwrap()
            .contains("configure --registry")
    );
    routed(&sb);

    // No such tag, then no such repository.
    let (code, report) = doctor(&sb, &format!("{}/team/app:2.0", host()));
    assert_eq!(
        (code, report["verdict"].as_str()),
        (Some(8), Some("not-found")),
        "{report:#}"
    );
    let (code, _) = doctor(&sb, &format!("{}/team/none:1.0", host()));
    assert_eq!(code, Some(8));

    // No credentials at all.
    let mut bare = setup(&moto);
    bare.unset("AWS_ACCESS_KEY_ID")
        .unset("AWS_SECRET_ACCESS_KEY");
    routed(&bare);
    let (code, report) = doctor(&bare, &format!("{}/team/app:1.0", host()));
    assert_eq!(
        (code, report["verdict"].as_str()),
        (Some(4), Some("no-credentials")),
        "{report:#}"
    );

    // Bad credentials, refused by moto once it checks signatures.
    moto.enable_auth();
    let (code, report) = doctor(&sb, &format!("{}/team/app:1.0", host()));
    assert_eq!(code, Some(4), "{report:#}");
    let secret_shown = report.to_string().contains("\"secret\"");
    assert!(!secret_shown);
}

/// Issue 17's cases, through the binary: the Go helper's `credsStore`
/// setup routes every registry here; a bare registry host has no
/// repository; a name docker refuses is refused; docker must find the
/// helper on PATH.
#[test]
#[cfg_attr(
    windows,
    ignore = "needs moto: the Windows tests run under wine, which cannot start the Linux moto_server"
)]
fn doctor_tells_the_truth() {
    if !support::require(Need::Moto) {
        return;
    }
    let moto = Moto::start_with_live_tokens();
    push_image(&moto);
    let mut sb = setup(&moto);
    let docker = std::path::PathBuf::from(sb.var("DOCKER_CONFIG").unwrap());
    std::fs::write(docker.join("config.json"), r#"{"credsStore": "ecr-login"}"#).unwrap();
    let image = format!("{}/team/app:1.0", host());
    let (code, report) = doctor(&sb, &image);
    assert_eq!(code, Some(0), "{report:#}");
    assert!(
        report["steps"][1]["detail"]
            .as_str()
            .unwrap()
            .contains("credsStore")
    );

    let (code, report) = doctor(&sb, &host());
    assert_eq!(code, Some(2), "{report:#}");
    assert!(
        report["steps"][0]["detail"]
            .as_str()
            .unwrap()
            .contains("no repository")
    );

    let (code, report) = doctor(&sb, &format!("{}/Team/App:1.0", host()));
    assert_eq!(code, Some(2), "{report:#}");
    assert!(
        report["steps"][0]["detail"]
            .as_str()
            .unwrap()
            .contains("docker accepts")
    );

    let empty = sb.path().join("empty-bin");
    std::fs::create_dir_all(&empty).unwrap();
    sb.set("PATH", empty.to_str().unwrap());
    let (code, report) = doctor(&sb, &image);
    assert_eq!(code, Some(3), "{report:#}");
    assert!(
        report["steps"][1]["detail"]
            .as_str()
            .unwrap()
            .contains("not on PATH")
    );
}
