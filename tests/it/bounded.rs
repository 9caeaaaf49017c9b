//! Every file the helper reads is bounded and never blocks, every answer
//! body is bounded, and the mistakes of its configuration are named (issue
//! 17, groups 4, 6 and 8), through the built binary.
//!
//! Each child runs under a kill deadline and an address-space limit, so
//! that a helper that blocks or reads without end fails its test instead
//! of hanging the suite or filling the machine's memory; its peak resident
//! size comes from `wait4`. Unix only: FIFOs, devices, descriptors and
//! rlimits are what these tests are about.
#![cfg(unix)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use crate::support::Sandbox;
use crate::support::fake_ecr::FakeEcr;
use crate::support::loopback::LoopbackServer;

const HOST: &str = "111111111111.dkr.ecr.us-east-1.amazonaws.com";
const KEY_ID: &str = "AKIABOUNDED000000001";
const SECRET_KEY: &str = "sk-BOUNDED-SENTINEL-5e1f0c7a93d24b68";
const NOT_FOUND: &str = "credentials not found in native keychain";
/// A child still running after this is killed and fails its test. The
/// issue's bound for a refused file is "promptly": a fetch's own bound with
/// `AWS_ECR_TIMEOUT=2` is 8 s, and a file is refused before any fetch.
const DEADLINE: Duration = Duration::from_secs(30);
/// The child's address space: a helper reading `/dev/zero` or an endless
/// answer dies here instead of taking the machine's memory.
const ADDRESS_SPACE: u64 = 2 << 30;
/// The peak resident size a refused answer may cost: the helper's own
/// bound on a body is 16 MiB; this is generous above it and far below the
/// 300 MiB the test server sends.
const MAX_RSS_KIB: i64 = 160 * 1024;
/// How much an oversized answer sends before giving up.
const HUGE_ANSWER: usize = 300 << 20;

struct Done {
    code: Option<i32>,
    stdout: String,
    stderr: String,
    /// Peak resident set size, KiB (`ru_maxrss`).
    max_rss_kib: i64,
    killed: bool,
}

impl Done {
    fn assert_finished(&self, what: &str) {
        assert!(
            !self.killed,
            "{what}: still running after {DEADLINE:?}; killed. stderr: {}",
            self.stderr
        );
    }

    fn assert_not_found(&self, what: &str) {
        self.assert_finished(what);
        assert_eq!(
            (self.code, self.stdout.trim_end()),
            (Some(1), NOT_FOUND),
            "{what}: stderr: {}",
            self.stderr
        );
    }

    fn assert_answered(&self, what: &str) -> serde_json::Value {
        self.assert_finished(what);
        assert_eq!(self.code, Some(0), "{what}: stderr: {}", self.stderr);
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "{what}: stdout is not one JSON answer ({e}): {:?}",
                self.stdout
            )
        })
    }
}

/// Runs `cmd` in its own process group with `stdin`, under `DEADLINE` and
/// `ADDRESS_SPACE`; `stdout` replaces the piped stdout.
fn run(mut cmd: Command, stdin: &str, stdout: Option<Stdio>) -> Done {
    cmd.stdin(Stdio::piped())
        .stdout(stdout.unwrap_or_else(Stdio::piped))
        .stderr(Stdio::piped())
        .process_group(0);
    // SAFETY: setrlimit is async-signal-safe; nothing else runs here.
    unsafe {
        cmd.pre_exec(|| {
            let limit = libc::rlimit {
                rlim_cur: ADDRESS_SPACE as libc::rlim_t,
                rlim_max: ADDRESS_SPACE as libc::rlim_t,
            };
            if libc::setrlimit(libc::RLIMIT_AS, &limit) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut child = cmd.spawn().expect("spawn the helper");
    let pid = child.id() as libc::pid_t;
    let input = child.stdin.take().unwrap();
    let stdin = stdin.to_owned();
    thread::spawn(move || {
        let mut input = input;
        let _ = input.write_all(stdin.as_bytes());
    });
    let drain = |r: Option<Box<dyn Read + Send>>| {
        thread::spawn(move || {
            let mut bytes = Vec::new();
            if let Some(mut r) = r {
                let _ = r.read_to_end(&mut bytes);
            }
            String::from_utf8_lossy(&bytes).into_owned()
        })
    };
    let out = drain(child.stdout.take().map(|s| Box::new(s) as _));
    let err = drain(child.stderr.take().map(|s| Box::new(s) as _));
    let (done_tx, done_rx) = mpsc::channel::<()>();
    let killed = Arc::new(AtomicBool::new(false));
    let watcher = {
        let killed = Arc::clone(&killed);
        thread::spawn(move || {
            if done_rx.recv_timeout(DEADLINE).is_err() {
                killed.store(true, Ordering::SeqCst);
                // SAFETY: signals the child's own process group, not yet
                // reaped (only the wait4 below reaps it).
                unsafe { libc::kill(-pid, libc::SIGKILL) };
            }
        })
    };
    let mut status = 0;
    // SAFETY: rusage is a plain struct that wait4 fills in.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        // SAFETY: waits for our own child, by its pid.
        let r = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
        if r == pid {
            break;
        }
        let e = std::io::Error::last_os_error();
        assert_eq!(e.kind(), std::io::ErrorKind::Interrupted, "wait4: {e}");
    }
    let _ = done_tx.send(());
    watcher.join().unwrap();
    // Whatever the helper left running in its group must not hold the pipes.
    // SAFETY: the group is the child's own.
    unsafe { libc::kill(-pid, libc::SIGKILL) };
    std::mem::forget(child);
    Done {
        code: libc::WIFEXITED(status).then(|| libc::WEXITSTATUS(status)),
        stdout: out.join().unwrap(),
        stderr: err.join().unwrap(),
        max_rss_kib: usage.ru_maxrss,
        killed: killed.load(Ordering::SeqCst),
    }
}

fn get(sb: &Sandbox) -> Done {
    run(sb.command(&["get"]), HOST, None)
}

/// A sandbox whose ECR is the fake, with static keys.
fn sandbox(fake: &FakeEcr) -> Sandbox {
    let mut sb = Sandbox::new();
    fake.attach(&mut sb);
    sb.with_credentials(KEY_ID, SECRET_KEY)
        .set("AWS_ECR_TIMEOUT", "2");
    sb
}

fn fifo(dir: &Path, name: &str) -> String {
    let path = dir.join(name);
    let c = std::ffi::CString::new(path.to_str().unwrap()).unwrap();
    // SAFETY: a valid C string; mkfifo only creates the node.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0, "mkfifo");
    path.to_str().unwrap().to_owned()
}

/// What the helper said, on stderr and in its log.
fn said(sb: &Sandbox, done: &Done) -> String {
    format!("{}\n{}", done.stderr, sb.log())
}

/// A FIFO (no writer: opening it for reading blocks) or `/dev/zero` (no
/// end) named by any variable the helper, or the SDK for it, reads a file
/// from is refused at once, naming the variable or the file; nothing is
/// fetched.
#[test]
fn a_fifo_or_a_device_as_any_named_file_is_refused_promptly() {
    let vars = [
        "AWS_ECR_CONFIG_FILE",
        "AWS_CONFIG_FILE",
        "AWS_SHARED_CREDENTIALS_FILE",
        "AWS_CA_BUNDLE",
        "SSL_CERT_FILE",
    ];
    let mut failures = Vec::new();
    for var in vars {
        for kind in ["fifo", "/dev/zero"] {
            let fake = FakeEcr::start();
            let mut sb = sandbox(&fake);
            // The rules file is read on a miss only for a chain route; the
            // others are read for every miss.
            let path = match kind {
                "fifo" => fifo(sb.path(), "named"),
                dev => dev.to_owned(),
            };
            sb.set(var, &path);
            let done = get(&sb);
            let what = format!("{var}={kind}");
            if done.killed {
                failures.push(format!("{what}: hung (killed after {DEADLINE:?})"));
                continue;
            }
            if (done.code, done.stdout.trim_end()) != (Some(1), NOT_FOUND) {
                failures.push(format!(
                    "{what}: exit {:?}, stdout {:?}, stderr {}",
                    done.code, done.stdout, done.stderr
                ));
                continue;
            }
            let text = said(&sb, &done);
            if !text.contains(&path) || !text.contains("not a regular file") {
                failures.push(format!(
                    "{what}: the refusal does not name {path} as not a regular file: {text}"
                ));
            }
            if fake.calls() != 0 {
                failures.push(format!("{what}: {} call(s) made", fake.calls()));
            }
        }
    }
    // The token files the credential chain's providers read: without
    // static keys, with what makes each provider look at its file.
    for (var, also) in [
        (
            "AWS_WEB_IDENTITY_TOKEN_FILE",
            ("AWS_ROLE_ARN", "arn:aws:iam::111111111111:role/web"),
        ),
        (
            "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
            (
                "AWS_CONTAINER_CREDENTIALS_FULL_URI",
                "http://127.0.0.1:9/credentials",
            ),
        ),
    ] {
        for kind in ["fifo", "/dev/zero"] {
            let fake = FakeEcr::start();
            let mut sb = Sandbox::new();
            fake.attach(&mut sb);
            let path = match kind {
                "fifo" => fifo(sb.path(), "token"),
                dev => dev.to_owned(),
            };
            sb.set("AWS_ECR_TIMEOUT", "2")
                .set(var, &path)
                .set(also.0, also.1);
            let done = get(&sb);
            let what = format!("{var}={kind}");
            if done.killed {
                failures.push(format!("{what}: hung (killed after {DEADLINE:?})"));
                continue;
            }
            let text = said(&sb, &done);
            if (done.code, done.stdout.trim_end()) != (Some(1), NOT_FOUND)
                || !text.contains(&format!("{var} {path}: not a regular file"))
            {
                failures.push(format!(
                    "{what}: exit {:?}, stdout {:?}, not refused by name: {text}",
                    done.code, done.stdout
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The log file may not be the helper's stdout, however it is named: the
/// answer stays the only thing there, and logging goes to stderr with a
/// reason. A FIFO with no reader does not block the open.
#[test]
fn the_log_file_is_never_stdout_and_never_blocks() {
    let fake = FakeEcr::start();
    let mut sb = sandbox(&fake);
    for (what, log) in [
        ("/dev/stdout", "/dev/stdout".to_owned()),
        ("/proc/self/fd/1", "/proc/self/fd/1".to_owned()),
    ] {
        sb.set("AWS_ECR_LOG_FILE", &log);
        let done = get(&sb);
        done.assert_answered(what);
        assert!(
            done.stderr.contains("cannot log to") && done.stderr.contains("stdout"),
            "{what}: no reason given: {}",
            done.stderr
        );
    }

    // stdout redirected to a regular file, and that file named as the log.
    let out = sb.path().join("answer.json");
    let file = std::fs::File::create(&out).unwrap();
    sb.set("AWS_ECR_LOG_FILE", out.to_str().unwrap());
    let done = run(sb.command(&["get"]), HOST, Some(Stdio::from(file)));
    done.assert_finished("redirected");
    assert_eq!(done.code, Some(0), "redirected: {}", done.stderr);
    let written = std::fs::read_to_string(&out).unwrap();
    let answer: serde_json::Value = serde_json::from_str(&written)
        .unwrap_or_else(|e| panic!("redirected: not one JSON answer ({e}): {written:?}"));
    assert_eq!(answer["Username"], "AWS");
    assert!(done.stderr.contains("cannot log to"), "{}", done.stderr);

    // A FIFO nobody reads: opening it for writing would block for ever.
    let pipe = fifo(sb.path(), "log.fifo");
    sb.set("AWS_ECR_LOG_FILE", &pipe);
    let done = get(&sb);
    done.assert_answered("a FIFO with no reader");
    assert!(
        done.stderr.contains("cannot log to") && done.stderr.contains("no reader"),
        "{}",
        done.stderr
    );
}

/// A server that answers every request with a 200 whose body never ends
/// (chunked, or a `Content-Length` of `HUGE_ANSWER`), up to `HUGE_ANSWER`
/// bytes; it counts the requests.
fn huge_answers(chunked: bool) -> (LoopbackServer, Arc<AtomicUsize>) {
    let requests = Arc::new(AtomicUsize::new(0));
    let seen = Arc::clone(&requests);
    let server = LoopbackServer::start("huge", move |stream, stop| {
        let _ = serve_huge(stream, stop, chunked, &seen);
    });
    (server, requests)
}

fn serve_huge(
    stream: TcpStream,
    stop: &AtomicBool,
    chunked: bool,
    requests: &AtomicUsize,
) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut length = 0usize;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            return Ok(());
        }
        let lower = line.to_ascii_lowercase();
        if let Some(v) = lower.strip_prefix("content-length:") {
            length = v.trim().parse().unwrap_or(0);
        }
        if line == "\r\n" {
            break;
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body)?;
    requests.fetch_add(1, Ordering::SeqCst);
    let mut w = stream;
    let framing = if chunked {
        "Transfer-Encoding: chunked".to_owned()
    } else {
        format!("Content-Length: {HUGE_ANSWER}")
    };
    write!(
        w,
        "HTTP/1.1 200 OK\r\nContent-Type: application/x-amz-json-1.1\r\n{framing}\r\n\r\n"
    )?;
    let block = vec![b' '; 64 << 10];
    let mut sent = 0;
    while sent < HUGE_ANSWER && !stop.load(Ordering::SeqCst) {
        if chunked {
            write!(w, "{:x}\r\n", block.len())?;
        }
        w.write_all(&block)?;
        if chunked {
            w.write_all(b"\r\n")?;
        }
        sent += block.len();
    }
    Ok(())
}

/// An answer far larger than any AWS answer, from ECR or from the
/// container credentials endpoint, is refused once it passes the bound: not
/// found, the reason logged, memory bounded, no retry of the same answer.
#[test]
fn an_oversized_answer_is_refused_in_bounded_memory() {
    for chunked in [true, false] {
        // ECR itself.
        let (server, requests) = huge_answers(chunked);
        let mut sb = Sandbox::new();
        let url = format!("http://{}", server.addr());
        sb.with_credentials(KEY_ID, SECRET_KEY)
            .set("AWS_ECR_TIMEOUT", "5")
            .set("AWS_ENDPOINT_URL_ECR", &url);
        let done = get(&sb);
        let what = format!("ECR, chunked={chunked}");
        done.assert_not_found(&what);
        assert!(
            said(&sb, &done).contains("larger than 16 MiB"),
            "{what}: {}",
            said(&sb, &done)
        );
        assert!(
            done.max_rss_kib < MAX_RSS_KIB,
            "{what}: peak RSS {} KiB",
            done.max_rss_kib
        );
        assert_eq!(requests.load(Ordering::SeqCst), 1, "{what}: retried");

        // The credentials endpoint of a container (ECS, EKS Pod Identity).
        let (server, requests) = huge_answers(chunked);
        let fake = FakeEcr::start();
        let mut sb = Sandbox::new();
        fake.attach(&mut sb);
        sb.set("AWS_ECR_TIMEOUT", "5").set(
            "AWS_CONTAINER_CREDENTIALS_FULL_URI",
            &format!("http://{}/credentials", server.addr()),
        );
        let done = get(&sb);
        let what = format!("container credentials, chunked={chunked}");
        done.assert_not_found(&what);
        assert!(
            said(&sb, &done).contains("larger than 16 MiB"),
            "{what}: {}",
            said(&sb, &done)
        );
        assert!(
            done.max_rss_kib < MAX_RSS_KIB,
            "{what}: peak RSS {} KiB",
            done.max_rss_kib
        );
        assert!(requests.load(Ordering::SeqCst) >= 1, "{what}: never asked");
        assert_eq!(fake.calls(), 0, "{what}: ECR called without credentials");
    }
}

/// A rules file whose profile (or source_profile) is in neither AWS file
/// fails loudly: `get` and `doctor` name the rule's line and the profile.
#[test]
fn a_rules_file_profile_that_does_not_exist_names_its_line() {
    let fake = FakeEcr::start();
    for (rule, key) in [
        ("profile = \"shared-imagez\"\n", "profile"),
        (
            "role_arn = \"arn:aws:iam::111111111111:role/pull\"\nsource_profile = \"shared-imagez\"\n",
            "source_profile",
        ),
    ] {
        let mut sb = Sandbox::new();
        fake.attach(&mut sb);
        sb.set("AWS_ECR_TIMEOUT", "2");
        std::fs::write(
            sb.path().join("aws-credentials"),
            "[default]\naws_access_key_id = AKIADEFAULT000000001\naws_secret_access_key = d\n\
             [shared-images]\naws_access_key_id = AKIASHARED0000000001\naws_secret_access_key = s\n",
        )
        .unwrap();
        let rules = sb.path().join("ecr-login.toml");
        std::fs::write(
            &rules,
            format!("# registries\n\n[[registry]]\naccount = \"111111111111\"\n{rule}"),
        )
        .unwrap();
        sb.set("AWS_ECR_CONFIG_FILE", rules.to_str().unwrap());
        let where_ = format!("{}:3", rules.display());

        let done = get(&sb);
        done.assert_not_found(key);
        let text = said(&sb, &done);
        assert!(
            text.contains(&where_)
                && text.contains(&format!("{key} \"shared-imagez\""))
                && text.contains("does not exist"),
            "{key}: get does not name {where_} and the profile: {text}"
        );

        let done = run(
            sb.command(&["doctor", "--no-docker-config", &format!("{HOST}/app:1")]),
            "",
            None,
        );
        done.assert_finished("doctor");
        assert_ne!(done.code, Some(0), "doctor: {}", done.stdout);
        let text = format!("{}{}", done.stdout, done.stderr);
        assert!(
            text.contains(&where_) && text.contains("shared-imagez"),
            "{key}: doctor does not name {where_} and the profile: {text}"
        );
    }
    assert_eq!(fake.calls(), 0);
}

/// `AWS_PROFILE` naming a profile that does not exist is refused, saying
/// so, as the AWS CLI does; the chain does not fall through to whatever
/// else would answer.
#[test]
fn aws_profile_naming_a_missing_profile_says_so() {
    let fake = FakeEcr::start();
    let mut sb = Sandbox::new();
    fake.attach(&mut sb);
    sb.set("AWS_ECR_TIMEOUT", "2")
        .set("AWS_PROFILE", "prodd")
        // The environment's keys end the chain before any profile: only
        // the key ID is here, so the chain goes on to the profile.
        .set("AWS_ACCESS_KEY_ID", KEY_ID);
    std::fs::write(
        sb.path().join("aws-credentials"),
        "[default]\naws_access_key_id = AKIADEFAULT000000001\naws_secret_access_key = d\n\
         [prod]\naws_access_key_id = AKIAPROD000000000001\naws_secret_access_key = p\n",
    )
    .unwrap();
    let done = get(&sb);
    done.assert_not_found("AWS_PROFILE=prodd");
    let text = said(&sb, &done);
    assert!(
        text.contains("profile \"prodd\" (AWS_PROFILE) does not exist"),
        "{text}"
    );
    assert_eq!(fake.calls(), 0);
}

/// An STS that refuses `AssumeRole` (awsQuery's XML error).
fn sts_refusing() -> LoopbackServer {
    LoopbackServer::start("sts", |stream, _| {
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        let mut length = 0usize;
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                return;
            }
            if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                length = v.trim().parse().unwrap_or(0);
            }
            if line == "\r\n" {
                break;
            }
        }
        let mut body = vec![0; length];
        let _ = reader.read_exact(&mut body);
        let xml = "<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">\
                   <Error><Type>Sender</Type><Code>AccessDenied</Code>\
                   <Message>User: arn:aws:iam::999999999999:user/ci is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::111111111111:role/ecr-pull</Message>\
                   </Error><RequestId>c0ffee00-0000-4000-8000-000000000000</RequestId></ErrorResponse>";
        let mut w = stream;
        let _ = write!(
            w,
            "HTTP/1.1 403 Forbidden\r\nContent-Type: text/xml\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{xml}",
            xml.len()
        );
    })
}

/// A role the rules file names, refused by STS: the message names STS's
/// AssumeRole, the role and STS's own code and words, never
/// `GetAuthorizationToken` (which was never sent) nor a `Debug` dump.
#[test]
fn a_refused_assume_role_names_sts_in_plain_words() {
    let fake = FakeEcr::start();
    let sts = sts_refusing();
    let mut sb = sandbox(&fake);
    sb.set("AWS_ENDPOINT_URL_STS", &format!("http://{}", sts.addr()));
    let rules = sb.path().join("ecr-login.toml");
    std::fs::write(
        &rules,
        "[[registry]]\naccount = \"111111111111\"\nrole_arn = \"arn:aws:iam::111111111111:role/ecr-pull\"\n",
    )
    .unwrap();
    sb.set("AWS_ECR_CONFIG_FILE", rules.to_str().unwrap());
    let done = get(&sb);
    done.assert_not_found("AssumeRole refused");
    let text = said(&sb, &done);
    let failure = text
        .lines()
        .find(|l| l.contains("ERROR"))
        .unwrap_or_else(|| panic!("no error logged: {text}"));
    assert!(
        failure.contains("sts:AssumeRole arn:aws:iam::111111111111:role/ecr-pull failed")
            && failure.contains("AccessDenied")
            && failure.contains("is not authorized to perform: sts:AssumeRole"),
        "{failure}"
    );
    for dump in [
        "GetAuthorizationToken",
        "ServiceError {",
        "SdkBody",
        "ErrorMetadata",
        "raw:",
    ] {
        assert!(!failure.contains(dump), "{dump:?} in: {failure}");
    }
    assert_eq!(fake.calls(), 0);
}

/// A role of the AWS config file (`role_arn` with `source_profile`, picked
/// by `AWS_PROFILE`) that STS refuses: STS's refusal in its own words too,
/// not the SDK's `Debug` text of it.
#[test]
fn a_refused_profile_role_names_sts_in_plain_words() {
    let fake = FakeEcr::start();
    let sts = sts_refusing();
    let mut sb = Sandbox::new();
    fake.attach(&mut sb);
    sb.set("AWS_ECR_TIMEOUT", "2")
        .set("AWS_ENDPOINT_URL_STS", &format!("http://{}", sts.addr()))
        .set("AWS_PROFILE", "ci");
    std::fs::write(
        sb.path().join("aws-config"),
        "[profile ci]\nrole_arn = arn:aws:iam::111111111111:role/ecr-pull\nsource_profile = base\nregion = us-east-1\n",
    )
    .unwrap();
    std::fs::write(
        sb.path().join("aws-credentials"),
        format!("[base]\naws_access_key_id = {KEY_ID}\naws_secret_access_key = {SECRET_KEY}\n"),
    )
    .unwrap();
    let done = get(&sb);
    done.assert_not_found("profile role refused");
    let text = said(&sb, &done);
    let failure = text
        .lines()
        .find(|l| l.contains("ERROR"))
        .unwrap_or_else(|| panic!("no error logged: {text}"));
    assert!(
        failure.contains("sts:AssumeRole failed: HTTP 403 AccessDenied: User: arn:aws:iam::999999999999:user/ci is not authorized"),
        "{failure}"
    );
    for dump in [
        "Error {",
        "ServiceError {",
        "SdkBody",
        "ErrorMetadata",
        "raw:",
    ] {
        assert!(!failure.contains(dump), "{dump:?} in: {failure}");
    }
    assert!(!text.contains(SECRET_KEY));
    assert_eq!(fake.calls(), 0);
}
