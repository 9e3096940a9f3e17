//! The emulator over the wire: the built binary (URL on stdout, SIGTERM, logs), raw HTTP
//! error shapes, the Rust SDK reading every response, and fault injection.

use std::io::{BufRead, BufReader};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use aws_sdk_xray::Client;
use aws_sdk_xray::config::retry::RetryConfig;
use aws_sdk_xray::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_xray::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_xray::types::{InsightsConfiguration, SamplingRule, SamplingRuleUpdate, Tag};
use cruddur_xray::emulator::{EmulatorOptions, faults, start};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const KEY_ID: &str = "AKIDEMULATORTEST";
const SECRET: &str = "emulator-test-secret-value";

fn client(url: &str, region: &str) -> Client {
    let conf = aws_sdk_xray::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(region.to_owned()))
        .credentials_provider(Credentials::new(KEY_ID, SECRET, None, None, "test"))
        .endpoint_url(url)
        .retry_config(RetryConfig::disabled())
        .build();
    Client::from_conf(conf)
}

/// The emulator binary, stopped when dropped.
struct Binary {
    child: Child,
    _stdout: BufReader<ChildStdout>,
    url: String,
    _dir: tempfile::TempDir,
}

fn spawn_binary(extra: &[&str], env: &[(&str, &str)]) -> Binary {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty");
    std::fs::write(&empty, "").unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_cruddur-xray"))
        .args(["emulator", "--port", "0"])
        .args(extra)
        .env_clear()
        .env("RUST_BACKTRACE", "0")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_CONFIG_FILE", &empty)
        .env("AWS_SHARED_CREDENTIALS_FILE", &empty)
        .envs(env.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut url = String::new();
    stdout.read_line(&mut url).unwrap();
    Binary {
        child,
        _stdout: stdout,
        url: url.trim_end().to_owned(),
        _dir: dir,
    }
}

impl Drop for Binary {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn signal(child: &Child, name: &str) {
    let status = Command::new("kill")
        .args([name, &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_prints_its_url_serves_the_sdk_and_stops_on_sigterm() {
    let mut emu = spawn_binary(&["-vvv"], &[]);
    let port: u16 = emu
        .url
        .strip_prefix("http://127.0.0.1:")
        .unwrap_or_else(|| panic!("first stdout line is the URL, got {:?}", emu.url))
        .parse()
        .unwrap();
    assert_ne!(port, 0);
    let xray = client(&emu.url, "us-east-1");
    let created = xray
        .create_group()
        .group_name("Cruddur")
        .filter_expression("service(\"backend-flask\")")
        .send()
        .await
        .unwrap();
    let group = created.group().unwrap();
    assert_eq!(
        group.filter_expression(),
        Some("service(\"backend-flask\")")
    );
    let err = xray
        .create_group()
        .group_name("Cruddur")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("InvalidRequestException"));
    assert_eq!(err.message(), Some("Group Cruddur already exists"));

    signal(&emu.child, "-TERM");
    let status = emu.child.wait().unwrap();
    assert_eq!(status.code(), Some(0), "SIGTERM stops it cleanly");
    let mut stderr = String::new();
    std::io::Read::read_to_string(emu.child.stderr.as_mut().unwrap(), &mut stderr).unwrap();
    assert!(
        stderr.contains("CreateGroup"),
        "logs name operations: {stderr}"
    );
    for secret in [KEY_ID, SECRET, "Signature=", "Credential="] {
        assert!(!stderr.contains(secret), "{secret} leaked into the logs");
    }
}

#[test]
fn ctrl_c_stops_it_cleanly() {
    let mut emu = spawn_binary(&[], &[]);
    assert!(emu.url.starts_with("http://127.0.0.1:"), "{}", emu.url);
    signal(&emu.child, "-INT");
    assert_eq!(emu.child.wait().unwrap().code(), Some(0));
}

#[test]
fn a_port_in_use_is_reported_in_one_line() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let out = Command::new(env!("CARGO_BIN_EXE_cruddur-xray"))
        .args(["emulator", "--port", &port])
        .env_clear()
        .env("RUST_BACKTRACE", "0")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(255));
    assert!(out.stdout.is_empty());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.starts_with(&format!("error: cannot listen on 127.0.0.1:{port}: ")),
        "{stderr}"
    );
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
}

#[test]
fn a_bad_fault_list_in_the_environment_is_invalid_input() {
    let out = Command::new(env!("CARGO_BIN_EXE_cruddur-xray"))
        .args(["emulator", "--port", "0"])
        .env_clear()
        .env("RUST_BACKTRACE", "0")
        .env("CRUDDUR_XRAY_EMULATOR_FAULTS", "throttle=0.1 slow=1")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(252));
    assert!(out.stdout.is_empty());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.starts_with("error: CRUDDUR_XRAY_EMULATOR_FAULTS: unknown fault kind \"slow\""),
        "{stderr}"
    );
}

struct RawResponse {
    status: u16,
    head: String,
    body: serde_json::Value,
}

async fn raw(
    addr: std::net::SocketAddr,
    method: &str,
    path: &str,
    auth: Option<&str>,
    body: &[u8],
) -> RawResponse {
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n",
        body.len()
    );
    if let Some(a) = auth {
        req.push_str(&format!("Authorization: {a}\r\n"));
    }
    req.push_str("\r\n");
    stream.write_all(req.as_bytes()).await.unwrap();
    // The server may answer (413) before reading everything; a failed write is fine then.
    let _ = stream.write_all(body).await;
    let mut out = Vec::new();
    let _ = stream.read_to_end(&mut out).await;
    let text = String::from_utf8_lossy(&out).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    RawResponse {
        status,
        head: head.to_ascii_lowercase(),
        body: serde_json::from_str(body).unwrap_or(serde_json::Value::Null),
    }
}

const AUTH: &str = "AWS4-HMAC-SHA256 Credential=AKID/20261125/eu-west-1/xray/aws4_request, SignedHeaders=host, Signature=abc";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_errors_have_the_aws_shape_and_the_server_keeps_running() {
    let emu = start(EmulatorOptions::default()).await.unwrap();
    let addr = emu.addr();
    assert_eq!(emu.url(), format!("http://{addr}"));

    let r = raw(addr, "POST", "/Groups", None, b"{}").await;
    assert_eq!(r.status, 403);
    assert!(
        r.head
            .contains("x-amzn-errortype: missingauthenticationtokenexception"),
        "{}",
        r.head
    );
    assert_eq!(r.body["message"], "Missing Authentication Token");

    let r = raw(addr, "GET", "/", Some(AUTH), b"").await;
    assert_eq!(r.status, 404);
    assert_eq!(r.body["__type"], "UnknownOperationException");
    let r = raw(addr, "POST", "/NoSuchThing", Some(AUTH), b"{}").await;
    assert_eq!(r.status, 404);
    assert!(r.head.contains("content-type: application/json"));

    let r = raw(
        addr,
        "POST",
        "/CreateGroup",
        Some(AUTH),
        b"{\"GroupName\": ",
    )
    .await;
    assert_eq!(r.status, 400);
    assert_eq!(r.body["__type"], "SerializationException");

    let big = vec![b' '; 5 * 1024 * 1024 + 1];
    let r = raw(addr, "POST", "/TraceSegments", Some(AUTH), &big).await;
    assert_eq!(r.status, 413);
    assert_eq!(r.body["__type"], "RequestEntityTooLargeException");

    let s3_scope = AUTH.replace("/xray/", "/s3/");
    let r = raw(addr, "POST", "/Groups", Some(&s3_scope), b"{}").await;
    assert_eq!(r.status, 403);
    assert_eq!(r.body["__type"], "InvalidSignatureException");

    let r = raw(
        addr,
        "POST",
        "/CreateGroup",
        Some(AUTH),
        b"{\"GroupName\": \"\"}",
    )
    .await;
    assert_eq!(r.status, 400);
    assert!(r.head.contains("x-amzn-errortype: invalidrequestexception"));
    assert_eq!(
        r.body["Message"],
        "GroupName must be 1..=32 characters long (got 0)"
    );

    let r = raw(
        addr,
        "POST",
        "/InsightSummaries",
        Some(AUTH),
        b"{\"StartTime\": 0, \"EndTime\": 1}",
    )
    .await;
    assert_eq!(r.status, 501);
    assert_eq!(r.body["__type"], "NotImplementedException");

    // Still serving, and the region came from the credential scope.
    let r = raw(addr, "POST", "/Groups", Some(AUTH), b"").await;
    assert_eq!(r.status, 200);
    assert_eq!(
        r.body["Groups"][0]["GroupARN"],
        "arn:aws:xray:eu-west-1:000000000000:group/Default"
    );
    emu.shutdown().await.unwrap();
    assert!(
        tokio::net::TcpStream::connect(addr).await.is_err(),
        "shut down"
    );
}

#[tokio::test]
async fn a_request_in_flight_cannot_hold_up_shutdown_forever() {
    let emu = start(EmulatorOptions {
        faults: vec![faults::parse_rule("latency=60s@GetGroups").unwrap()],
        ..EmulatorOptions::default()
    })
    .await
    .unwrap();
    let addr = emu.addr();
    let slow = tokio::spawn(async move { raw(addr, "POST", "/Groups", Some(AUTH), b"{}").await });
    tokio::time::sleep(Duration::from_millis(200)).await;
    let t0 = Instant::now();
    emu.shutdown().await.unwrap();
    let took = t0.elapsed();
    let grace = cruddur_xray::emulator::SHUTDOWN_GRACE;
    assert!(
        took >= grace - Duration::from_millis(100),
        "waited for the request: {took:?}"
    );
    assert!(took < grace + Duration::from_secs(2), "{took:?}");
    assert!(!slow.is_finished(), "the slow request is still unanswered");
    slow.abort();
}

fn cruddur_rule(name: &str) -> SamplingRule {
    SamplingRule::builder()
        .rule_name(name)
        .resource_arn("*")
        .priority(9000)
        .fixed_rate(0.1)
        .reservoir_size(5)
        .service_name("backend-flask")
        .service_type("*")
        .host("*")
        .http_method("*")
        .url_path("*")
        .version(1)
        .build()
        .unwrap()
}

fn now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as f64
}

#[tokio::test]
async fn the_rust_sdk_reads_every_response() {
    let emu = start(EmulatorOptions::default()).await.unwrap();
    let xray = client(&emu.url(), "us-east-1");

    let rec = xray
        .create_sampling_rule()
        .sampling_rule(cruddur_rule("Cruddur"))
        .tags(Tag::builder().key("app").value("cruddur").build().unwrap())
        .send()
        .await
        .unwrap();
    let rule = rec.sampling_rule_record().unwrap().sampling_rule().unwrap();
    assert_eq!(
        rule.rule_arn(),
        Some("arn:aws:xray:us-east-1:000000000000:sampling-rule/Cruddur")
    );
    assert!(rec.sampling_rule_record().unwrap().created_at().is_some());
    for i in 0..11 {
        xray.create_sampling_rule()
            .sampling_rule(cruddur_rule(&format!("extra{i}")))
            .send()
            .await
            .unwrap();
    }
    let names: Vec<String> = xray
        .get_sampling_rules()
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .unwrap()
        .iter()
        .map(|r| r.sampling_rule().unwrap().rule_name().unwrap().to_owned())
        .collect();
    assert_eq!(names.len(), 13, "{names:?}");
    assert_eq!(names[0], "Default");
    assert_eq!(names[1], "Cruddur");

    let err = xray
        .update_sampling_rule()
        .sampling_rule_update(
            SamplingRuleUpdate::builder()
                .rule_name("Default")
                .service_name("x")
                .build(),
        )
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("InvalidRequestException"));
    let up = xray
        .update_sampling_rule()
        .sampling_rule_update(
            SamplingRuleUpdate::builder()
                .rule_name("Default")
                .fixed_rate(0.2)
                .build(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(
        up.sampling_rule_record()
            .unwrap()
            .sampling_rule()
            .unwrap()
            .fixed_rate(),
        0.2
    );

    let g = xray
        .create_group()
        .group_name("Cruddur")
        .filter_expression("service(\"backend-flask\")")
        .insights_configuration(
            InsightsConfiguration::builder()
                .insights_enabled(true)
                .build(),
        )
        .send()
        .await
        .unwrap();
    let arn = g.group().unwrap().group_arn().unwrap().to_owned();
    xray.tag_resource()
        .resource_arn(&arn)
        .tags(Tag::builder().key("team").value("x").build().unwrap())
        .send()
        .await
        .unwrap();
    let tags = xray
        .list_tags_for_resource()
        .resource_arn(&arn)
        .send()
        .await
        .unwrap();
    assert_eq!(tags.tags().len(), 1);
    assert_eq!(tags.tags()[0].key(), "team");
    let err = xray
        .list_tags_for_resource()
        .resource_arn("arn:nope")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("ResourceNotFoundException"));
    assert!(
        err.as_service_error()
            .unwrap()
            .is_resource_not_found_exception()
    );
    let groups = xray.get_groups().send().await.unwrap();
    assert_eq!(groups.groups().len(), 2);
    assert_eq!(
        groups.groups()[1]
            .insights_configuration()
            .unwrap()
            .insights_enabled(),
        Some(true)
    );

    let at = now() - 30.0;
    let tid = format!("1-{:08x}-{:024x}", at as u64, 42);
    let doc = serde_json::json!({"trace_id": tid, "id": "0123456789abcdef", "name": "backend-flask",
        "start_time": at, "end_time": at + 0.25, "http": {"request": {"method": "GET", "url": "http://x/api"},
        "response": {"status": 200}}, "annotations": {"env": "dev"},
        "subsegments": [{"id": "0123456789abcdee", "name": "db", "namespace": "remote", "start_time": at, "end_time": at + 0.1}]});
    let put = xray
        .put_trace_segments()
        .trace_segment_documents(doc.to_string())
        .trace_segment_documents("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(put.unprocessed_trace_segments().len(), 1);
    assert_eq!(
        put.unprocessed_trace_segments()[0].error_code(),
        Some("MissingId")
    );

    let start = aws_smithy_types::DateTime::from_secs(at as i64 - 60);
    let end = aws_smithy_types::DateTime::from_secs(at as i64 + 60);
    let sums = xray
        .get_trace_summaries()
        .start_time(start)
        .end_time(end)
        .send()
        .await
        .unwrap();
    assert_eq!(sums.traces_processed_count(), Some(1));
    let s = &sums.trace_summaries()[0];
    assert_eq!(s.id(), Some(tid.as_str()));
    assert_eq!(s.http().unwrap().http_status(), Some(200));
    assert_eq!(s.http().unwrap().http_url(), Some("http://x/api"));
    assert_eq!(s.entry_point().unwrap().name(), Some("backend-flask"));
    let env = &s.annotations().unwrap()["env"][0];
    assert_eq!(
        env.annotation_value()
            .unwrap()
            .as_string_value()
            .map(String::as_str),
        Ok("dev")
    );
    assert_eq!(s.has_fault(), Some(false));
    assert_eq!(s.response_time(), Some(0.25));

    let traces = xray
        .batch_get_traces()
        .trace_ids(&tid)
        .trace_ids("1-00000000-000000000000000000000000")
        .send()
        .await
        .unwrap();
    assert_eq!(traces.traces().len(), 1);
    assert_eq!(
        traces.traces()[0].segments()[0].id(),
        Some("0123456789abcdef")
    );
    assert_eq!(
        traces.unprocessed_trace_ids(),
        ["1-00000000-000000000000000000000000"]
    );

    let graph = xray
        .get_service_graph()
        .start_time(start)
        .end_time(end)
        .send()
        .await
        .unwrap();
    let names: Vec<&str> = graph.services().iter().filter_map(|s| s.name()).collect();
    assert_eq!(names, ["backend-flask", "db"]);
    assert_eq!(
        graph.services()[0].edges()[0].reference_id(),
        graph.services()[1].reference_id()
    );

    let dest = xray.get_trace_segment_destination().send().await.unwrap();
    assert_eq!(dest.destination().map(|d| d.as_str()), Some("XRay"));
    assert_eq!(dest.status().map(|d| d.as_str()), Some("ACTIVE"));
    let rules = xray.get_indexing_rules().send().await.unwrap();
    let rule = &rules.indexing_rules()[0];
    assert_eq!(rule.name(), Some("Default"));
    assert_eq!(
        rule.rule()
            .unwrap()
            .as_probabilistic()
            .unwrap()
            .desired_sampling_percentage(),
        1.0
    );

    // Another region sees none of it.
    let other = client(&emu.url(), "eu-central-1");
    assert_eq!(other.get_groups().send().await.unwrap().groups().len(), 1);
    emu.shutdown().await.unwrap();
}

#[tokio::test]
async fn faults_are_injected_per_operation() {
    let specs = [
        "throttle=1.0@GetTraceSegmentDestination",
        "error=1.0@GetIndexingRules",
        "latency=300ms@GetGroups",
        "malformed=1.0@CreateGroup",
        "drop=1.0@CreateSamplingRule",
    ];
    let emu = start(EmulatorOptions {
        faults: specs
            .iter()
            .map(|s| faults::parse_rule(s).unwrap())
            .collect(),
        fault_seed: Some(7),
        ..EmulatorOptions::default()
    })
    .await
    .unwrap();
    let xray = client(&emu.url(), "us-east-1");

    let e = xray
        .get_trace_segment_destination()
        .send()
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some("ThrottledException"));
    assert_eq!(e.raw_response().unwrap().status().as_u16(), 429);
    let e = xray.get_indexing_rules().send().await.unwrap_err();
    assert_eq!(e.code(), Some("ServiceUnavailableException"));
    assert_eq!(e.raw_response().unwrap().status().as_u16(), 503);

    let t0 = Instant::now();
    xray.get_groups().send().await.unwrap();
    assert!(
        t0.elapsed() >= Duration::from_millis(300),
        "{:?}",
        t0.elapsed()
    );

    // The operation happened; only the answer was lost.
    let e = xray
        .create_group()
        .group_name("G")
        .send()
        .await
        .unwrap_err();
    // A 200 whose body does not parse: the SDK reports an unmodeled error with no code.
    assert_eq!(e.raw_response().unwrap().status().as_u16(), 200);
    assert_eq!(e.code(), None, "{e:?}");
    assert!(format!("{e:?}").contains("DeserializeError"), "{e:?}");
    assert!(xray.get_group().group_name("G").send().await.is_ok());
    let e = xray
        .create_sampling_rule()
        .sampling_rule(cruddur_rule("R"))
        .send()
        .await
        .unwrap_err();
    assert!(
        matches!(e, SdkError::DispatchFailure(_) | SdkError::ResponseError(_)),
        "{e:?}"
    );
    let rules = xray.get_sampling_rules().send().await.unwrap();
    assert_eq!(rules.sampling_rule_records().len(), 2);
    emu.shutdown().await.unwrap();
}
