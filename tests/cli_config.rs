//! The built binary's configuration and input errors, each with its exit code and one-line
//! message. Every child gets a clean environment; nothing leaves loopback.

mod common;

use std::io::ErrorKind;
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::Output;
use std::time::{Duration, Instant};

use assert_cmd::Command;

const SECRET: &str = "cruddurTESTsecretKEY0123456789abcdefSECRET";

/// A clean sandbox (tests/common), with assert_cmd's timeout so nothing can hang.
struct Env {
    sandbox: common::Sandbox,
}

impl Env {
    fn new() -> Env {
        Env {
            sandbox: common::Sandbox::new(),
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.sandbox.path(name)
    }

    /// The binary with nothing from this machine: empty AWS files, no metadata service.
    fn bare(&self) -> Command {
        let mut c = Command::from_std(self.sandbox.bare());
        c.timeout(Duration::from_secs(60));
        c
    }

    fn with_credentials(&self) -> Command {
        let mut c = self.bare();
        c.env("AWS_ACCESS_KEY_ID", "AKIDCRUDDURTEST")
            .env("AWS_SECRET_ACCESS_KEY", SECRET);
        c
    }

    fn full(&self) -> Command {
        let mut c = self.with_credentials();
        c.env("AWS_REGION", "us-east-1");
        c
    }
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn check(out: &Output, code: i32) -> String {
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(code), "stderr: {stderr}");
    assert_eq!(text(&out.stdout), "", "stdout is empty on an error");
    assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
    stderr.trim_end().to_owned()
}

/// A loopback listener nobody should connect to.
fn untouched_listener() -> (TcpListener, String) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    l.set_nonblocking(true).unwrap();
    let url = format!("http://{}", l.local_addr().unwrap());
    (l, url)
}

fn assert_no_connection(l: &TcpListener) {
    match l.accept() {
        Err(e) if e.kind() == ErrorKind::WouldBlock => {}
        Err(e) => panic!("accept failed: {e}"),
        Ok((_, peer)) => panic!("a request was sent (connection from {peer})"),
    }
}

#[test]
fn no_region_is_exit_253_naming_the_ways_to_set_one() {
    let env = Env::new();
    let (listener, url) = untouched_listener();
    let out = env
        .with_credentials()
        .args([
            "create-group",
            "--group-name",
            "Cruddur",
            "--endpoint-url",
            &url,
        ])
        .output()
        .unwrap();
    let line = check(&out, 253);
    assert_eq!(
        line,
        "error: no AWS region: pass --region, set AWS_REGION (or AWS_DEFAULT_REGION), or set `region` in the profile (~/.aws/config)"
    );
    assert_no_connection(&listener);
}

#[test]
fn the_region_comes_from_aws_default_region_or_the_profile_too() {
    let env = Env::new();
    std::fs::write(
        env.path("config"),
        "[profile cruddur]\nregion = eu-west-2\n",
    )
    .unwrap();
    // Only a region from the profile: the failure is now about the endpoint, not the region.
    for (var, val) in [
        ("AWS_DEFAULT_REGION", "eu-west-1"),
        ("AWS_PROFILE", "cruddur"),
    ] {
        let out = env
            .with_credentials()
            .env(var, val)
            .args([
                "create-group",
                "--group-name",
                "Cruddur",
                "--endpoint-url",
                "http://127.0.0.1:1",
                "--connect-timeout",
                "1",
                "--max-attempts",
                "1",
            ])
            .output()
            .unwrap();
        let line = check(&out, 255);
        assert!(
            line.starts_with("error: GetGroup failed after 1 attempt: "),
            "{var}: {line}"
        );
    }
}

#[test]
fn no_credentials_is_exit_253_naming_the_sources_before_any_request() {
    let env = Env::new();
    let (listener, url) = untouched_listener();
    let start = Instant::now();
    let out = env
        .bare()
        .args([
            "create-group",
            "--group-name",
            "Cruddur",
            "--region",
            "us-east-1",
            "--endpoint-url",
            &url,
        ])
        .output()
        .unwrap();
    let line = check(&out, 253);
    assert!(
        line.starts_with("error: no AWS credentials found; tried environment variables (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY)"),
        "{line}"
    );
    for source in [
        "SSO",
        "credential_process",
        "container credentials",
        "instance metadata",
        "--profile",
    ] {
        assert!(line.contains(source), "names {source}: {line}");
    }
    assert_no_connection(&listener);
    assert!(start.elapsed() < Duration::from_secs(20), "no long wait");
}

#[test]
fn an_unknown_profile_is_exit_253() {
    let env = Env::new();
    let (listener, url) = untouched_listener();
    let out = env
        .bare()
        .args([
            "create-group",
            "--group-name",
            "Cruddur",
            "--region",
            "us-east-1",
            "--profile",
            "nope",
            "--endpoint-url",
            &url,
        ])
        .output()
        .unwrap();
    let line = check(&out, 253);
    assert!(
        line.starts_with(
            "error: profile `nope` (--profile) is not defined in the AWS config files"
        ),
        "{line}"
    );
    assert_no_connection(&listener);
    // From AWS_PROFILE, and without a region: the profile is the reason named.
    let out = env
        .bare()
        .env("AWS_PROFILE", "nope")
        .args([
            "create-group",
            "--group-name",
            "Cruddur",
            "--endpoint-url",
            &url,
        ])
        .output()
        .unwrap();
    let line = check(&out, 253);
    assert!(
        line.starts_with("error: profile `nope` (AWS_PROFILE) is not defined"),
        "{line}"
    );
    assert_no_connection(&listener);
}

#[test]
fn a_bad_rule_file_is_exit_252_with_its_position_and_nothing_sent() {
    let env = Env::new();
    let (listener, url) = untouched_listener();
    let file = env.path("xray.json");
    let src = include_str!("../aws/json/xray.json").replacen(
        "\"FixedRate\": 0.1",
        "\"FixedRate\": 1.5",
        1,
    );
    std::fs::write(&file, src).unwrap();
    let want = format!(
        "error: {}:6:18: SamplingRule.FixedRate must be within 0..=1 (got 1.5)",
        file.display()
    );
    // With a full configuration, and with none at all: the file is checked first.
    for mut cmd in [env.full(), env.bare()] {
        let out = cmd
            .args(["create-sampling-rule", "--file"])
            .arg(format!("file://{}", file.display()))
            .args(["--endpoint-url", &url])
            .output()
            .unwrap();
        assert_eq!(check(&out, 252), want);
    }
    assert_no_connection(&listener);

    let missing = env.path("missing.json");
    let out = env
        .full()
        .args(["create-sampling-rule", "--file"])
        .arg(&missing)
        .output()
        .unwrap();
    let line = check(&out, 252);
    assert!(
        line.starts_with(&format!("error: {}: cannot read: ", missing.display())),
        "{line}"
    );
}

#[test]
fn bad_flags_are_exit_252_before_configuration() {
    let env = Env::new();
    let out = env
        .bare()
        .args(["create-group", "--group-name", "Cruddur", "--notifications"])
        .output()
        .unwrap();
    assert_eq!(
        check(&out, 252),
        "error: --notifications requires --insights"
    );
    let out = env
        .bare()
        .args(["send-test-trace", "--annotation", "bad"])
        .output()
        .unwrap();
    assert_eq!(
        check(&out, 252),
        "error: --annotation must be KEY=VALUE (got \"bad\")"
    );
    let out = env
        .full()
        .args([
            "create-group",
            "--group-name",
            "G",
            "--endpoint-url",
            "127.0.0.1:1",
        ])
        .output()
        .unwrap();
    assert!(
        check(&out, 252).starts_with("error: --endpoint-url must be an http:// or https:// URL")
    );
}

#[test]
fn an_unreachable_endpoint_is_exit_255_on_one_line_without_hanging() {
    let env = Env::new();
    let start = Instant::now();
    let out = env
        .full()
        .args([
            "send-test-trace",
            "--endpoint-url",
            "http://127.0.0.1:1",
            "--connect-timeout",
            "1",
            "--max-attempts",
            "2",
        ])
        .output()
        .unwrap();
    let line = check(&out, 255);
    assert!(
        line.starts_with("error: PutTraceSegments failed after 2 attempts: "),
        "{line}"
    );
    assert!(line.ends_with(" (http://127.0.0.1:1)"), "{line}");
    assert!(
        start.elapsed() < Duration::from_secs(15),
        "took {:?}",
        start.elapsed()
    );
}

#[test]
fn the_endpoint_can_come_from_the_environment() {
    let env = Env::new();
    for var in ["AWS_ENDPOINT_URL_XRAY", "AWS_ENDPOINT_URL"] {
        let out = env
            .full()
            .env(var, "http://127.0.0.1:1")
            .args([
                "create-group",
                "--group-name",
                "G",
                "--max-attempts",
                "1",
                "--connect-timeout",
                "1",
            ])
            .output()
            .unwrap();
        let line = check(&out, 255);
        assert!(line.ends_with(" (http://127.0.0.1:1)"), "{var}: {line}");
    }
}

// Credentials at full verbosity, for every command and the emulator: tests/reliability_secrets.rs.
