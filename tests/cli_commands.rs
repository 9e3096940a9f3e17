//! The create commands and send-test-trace through the built binary, against a scripted
//! X-Ray stand-in on 127.0.0.1 (the full emulator is tested in its own suite). Each test
//! checks the exit code, stdout, and exactly which requests were sent.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use assert_cmd::Command;
use common::Sandbox;
use serde_json::{Value, json};

type Handler = dyn Fn(&str, &Value) -> (u16, Value) + Send + Sync;

/// A loopback HTTP/1.1 server that answers each X-Ray path from a script and records
/// every request (path, JSON body).
struct Stub {
    url: String,
    requests: Arc<Mutex<Vec<(String, Value)>>>,
}

impl Stub {
    fn start(handler: impl Fn(&str, &Value) -> (u16, Value) + Send + Sync + 'static) -> Stub {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let requests = Arc::new(Mutex::new(Vec::new()));
        let handler: Arc<Handler> = Arc::new(handler);
        let recorded = requests.clone();
        thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { return };
                let handler = handler.clone();
                let recorded = recorded.clone();
                thread::spawn(move || serve(stream, &*handler, &recorded));
            }
        });
        Stub { url, requests }
    }

    fn paths(&self) -> Vec<String> {
        self.requests
            .lock()
            .unwrap()
            .iter()
            .map(|(p, _)| p.clone())
            .collect()
    }

    fn body(&self, path: &str) -> Value {
        self.requests
            .lock()
            .unwrap()
            .iter()
            .find(|(p, _)| p == path)
            .map(|(_, b)| b.clone())
            .unwrap_or_else(|| panic!("no request to {path}"))
    }
}

fn serve(stream: TcpStream, handler: &Handler, recorded: &Mutex<Vec<(String, Value)>>) {
    stream.set_read_timeout(Some(Duration::from_secs(10))).ok();
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut out = stream;
    loop {
        let mut request_line = String::new();
        if reader.read_line(&mut request_line).unwrap_or(0) == 0 {
            return;
        }
        let path = request_line
            .split_whitespace()
            .nth(1)
            .unwrap_or("")
            .to_owned();
        let mut length = 0usize;
        loop {
            let mut header = String::new();
            if reader.read_line(&mut header).unwrap_or(0) == 0 {
                return;
            }
            let header = header.trim_end();
            if header.is_empty() {
                break;
            }
            if let Some((name, value)) = header.split_once(':')
                && name.eq_ignore_ascii_case("content-length")
            {
                length = value.trim().parse().unwrap_or(0);
            }
        }
        let mut body = vec![0; length];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        let (status, reply) = handler(&path, &body);
        recorded.lock().unwrap().push((path, body));
        let text = reply.to_string();
        let error_type = reply
            .get("__type")
            .and_then(Value::as_str)
            .map(|t| format!("x-amzn-errortype: {t}\r\n"))
            .unwrap_or_default();
        let response = format!(
            "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\n{error_type}content-length: {}\r\n\r\n{text}",
            text.len()
        );
        if out.write_all(response.as_bytes()).is_err() {
            return;
        }
    }
}

fn not_found(what: &str) -> (u16, Value) {
    (
        400,
        json!({"__type": "InvalidRequestException", "message": what}),
    )
}

const ARN: &str = "arn:aws:xray:us-east-1:000000000000:group/Cruddur/ABC";
const RULE_ARN: &str = "arn:aws:xray:us-east-1:000000000000:sampling-rule/Cruddur";

fn group_json(insights: bool) -> Value {
    json!({"GroupName": "Cruddur", "GroupARN": ARN,
        "FilterExpression": "responsetime > 5",
        "InsightsConfiguration": {"InsightsEnabled": insights, "NotificationsEnabled": false}})
}

fn rule_json(fixed_rate: f64) -> Value {
    json!({"RuleName": "Cruddur", "RuleARN": RULE_ARN, "ResourceARN": "*", "Priority": 9000,
        "FixedRate": fixed_rate, "ReservoirSize": 5, "ServiceName": "backend-flask",
        "ServiceType": "*", "Host": "*", "HTTPMethod": "*", "URLPath": "*", "Version": 1,
        "Attributes": {}})
}

fn cli(stub: &Stub, dir: &Sandbox) -> Command {
    let mut c = Command::from_std(std_cli(stub, dir));
    c.timeout(Duration::from_secs(60));
    c
}

fn std_cli(stub: &Stub, dir: &Sandbox) -> std::process::Command {
    let mut c = dir.bare();
    c.env("AWS_ACCESS_KEY_ID", "AKIDTEST")
        .env("AWS_SECRET_ACCESS_KEY", "test-secret")
        .env("AWS_REGION", "us-east-1")
        .args(["--endpoint-url", &stub.url, "--max-attempts", "1"]);
    c
}

fn stdout(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn create_group_creates_a_missing_group() {
    let stub = Stub::start(|path, _| match path {
        "/GetGroup" => not_found("Group not found"),
        "/CreateGroup" => (200, json!({"Group": group_json(true)})),
        _ => (404, json!({})),
    });
    let dir = Sandbox::new();
    let out = cli(&stub, &dir)
        .args([
            "create-group",
            "--group-name",
            "Cruddur",
            "--insights",
            "--tag",
            "team=obs",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stdout(&out), format!("created group Cruddur ({ARN})\n"));
    assert_eq!(stub.paths(), ["/GetGroup", "/CreateGroup"]);
    let body = stub.body("/CreateGroup");
    assert_eq!(body["GroupName"], "Cruddur");
    assert_eq!(body["InsightsConfiguration"]["InsightsEnabled"], true);
    assert_eq!(body["Tags"], json!([{"Key": "team", "Value": "obs"}]));
}

#[test]
fn create_group_with_no_update_reports_drift_as_json_and_exits_1() {
    let stub = Stub::start(|path, _| match path {
        "/GetGroup" => (200, json!({"Group": group_json(false)})),
        _ => (
            500,
            json!({"__type": "InternalFailure", "message": "unexpected"}),
        ),
    });
    let dir = Sandbox::new();
    let out = cli(&stub, &dir)
        .args([
            "create-group",
            "--group-name",
            "Cruddur",
            "--insights",
            "--no-update",
            "--output",
            "json",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let text = stdout(&out);
    assert_eq!(text.lines().count(), 1, "{text}");
    let v: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        v,
        json!({"action": "update", "dry_run": false, "applied": false, "resource": "group",
            "name": "Cruddur", "arn": ARN,
            "changes": [{"field": "InsightsEnabled", "old": false, "new": true}]})
    );
    assert_eq!(stub.paths(), ["/GetGroup"], "nothing written");
}

#[test]
fn create_group_surfaces_a_service_refusal_as_254() {
    let stub = Stub::start(|path, _| match path {
        "/GetGroup" => not_found("Group not found"),
        _ => (
            400,
            json!({"__type": "InvalidRequestException", "message": "Group already exists"}),
        ),
    });
    let dir = Sandbox::new();
    let out = cli(&stub, &dir)
        .args(["create-group", "--group-name", "Cruddur"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(254));
    assert_eq!(stdout(&out), "");
    assert_eq!(
        stderr(&out),
        "error: CreateGroup failed: InvalidRequestException: Group already exists\n"
    );
}

fn rule_file(dir: &Sandbox) -> String {
    let path = dir.path("xray.json");
    std::fs::write(&path, include_str!("../aws/json/xray.json")).unwrap();
    format!("file://{}", path.display())
}

#[test]
fn create_sampling_rule_dry_run_prints_the_plan_and_writes_nothing() {
    let stub = Stub::start(|path, _| match path {
        "/GetSamplingRules" => (
            200,
            json!({"SamplingRuleRecords": [{"SamplingRule": rule_json(0.05),
                "CreatedAt": 1.7e9, "ModifiedAt": 1.7e9}]}),
        ),
        _ => (
            500,
            json!({"__type": "InternalFailure", "message": "unexpected"}),
        ),
    });
    let dir = Sandbox::new();
    let file = rule_file(&dir);
    let out = cli(&stub, &dir)
        .args(["create-sampling-rule", "--file", &file, "--dry-run"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        stdout(&out),
        "would update sampling rule Cruddur: FixedRate 0.05 → 0.1\n"
    );
    assert_eq!(stub.paths(), ["/GetSamplingRules"]);
}

#[test]
fn create_sampling_rule_updates_with_every_field_but_version() {
    let stub = Stub::start(|path, body| match path {
        "/GetSamplingRules" if body.get("NextToken").is_none() => (
            200,
            json!({"SamplingRuleRecords": [], "NextToken": "page-2"}),
        ),
        "/GetSamplingRules" => (
            200,
            json!({"SamplingRuleRecords": [{"SamplingRule": rule_json(0.05)}]}),
        ),
        "/UpdateSamplingRule" => (
            200,
            json!({"SamplingRuleRecord": {"SamplingRule": rule_json(0.1)}}),
        ),
        _ => (
            500,
            json!({"__type": "InternalFailure", "message": "unexpected"}),
        ),
    });
    let dir = Sandbox::new();
    let file = rule_file(&dir);
    let out = cli(&stub, &dir)
        .args(["create-sampling-rule", "--file", &file])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        stdout(&out),
        "updated sampling rule Cruddur: FixedRate 0.05 → 0.1\n"
    );
    assert_eq!(
        stub.paths(),
        [
            "/GetSamplingRules",
            "/GetSamplingRules",
            "/UpdateSamplingRule"
        ],
        "both pages read, then one update"
    );
    let update = &stub.body("/UpdateSamplingRule")["SamplingRuleUpdate"];
    assert_eq!(update["RuleName"], "Cruddur");
    assert_eq!(update["FixedRate"], 0.1);
    for field in [
        "ResourceARN",
        "Priority",
        "ReservoirSize",
        "ServiceName",
        "ServiceType",
        "Host",
        "HTTPMethod",
        "URLPath",
    ] {
        assert!(update.get(field).is_some(), "{field} is sent: {update}");
    }
    assert!(update.get("Version").is_none());
}

#[test]
fn create_sampling_rule_creates_a_missing_rule() {
    let stub = Stub::start(|path, _| match path {
        "/GetSamplingRules" => (200, json!({"SamplingRuleRecords": []})),
        "/CreateSamplingRule" => (
            200,
            json!({"SamplingRuleRecord": {"SamplingRule": rule_json(0.1)}}),
        ),
        _ => (
            500,
            json!({"__type": "InternalFailure", "message": "unexpected"}),
        ),
    });
    let dir = Sandbox::new();
    let file = rule_file(&dir);
    let out = cli(&stub, &dir)
        .args(["create-sampling-rule", "--file", &file, "--output", "json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let v: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(v["action"], "create");
    assert_eq!(v["applied"], true);
    assert_eq!(v["resource"], "sampling-rule");
    assert_eq!(v["arn"], RULE_ARN);
    let sent = &stub.body("/CreateSamplingRule")["SamplingRule"];
    assert_eq!(sent["RuleName"], "Cruddur");
    assert_eq!(sent["Version"], 1);
    assert_eq!(sent["FixedRate"], 0.1);
}

#[test]
fn send_test_trace_sends_one_segment_and_prints_its_trace_id() {
    let stub = Stub::start(|path, _| match path {
        "/TraceSegments" => (200, json!({"UnprocessedTraceSegments": []})),
        _ => (
            500,
            json!({"__type": "InternalFailure", "message": "unexpected"}),
        ),
    });
    let dir = Sandbox::new();
    let out = cli(&stub, &dir)
        .args([
            "send-test-trace",
            "--annotation",
            "run=ci",
            "--output",
            "json",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let v: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(v["service"], "backend-flask");
    let trace_id = v["trace_id"].as_str().unwrap().to_owned();
    assert_eq!(trace_id.len(), 35, "{trace_id}");
    let docs = stub.body("/TraceSegments")["TraceSegmentDocuments"].clone();
    let docs = docs.as_array().unwrap();
    assert_eq!(docs.len(), 1);
    let segment: Value = serde_json::from_str(docs[0].as_str().unwrap()).unwrap();
    assert_eq!(segment["trace_id"], trace_id.as_str());
    assert_eq!(segment["name"], "backend-flask");
    assert_eq!(segment["annotations"]["run"], "ci");
}

#[test]
fn send_test_trace_reports_an_unprocessed_segment_as_254() {
    let stub = Stub::start(|_, _| {
        (
            200,
            json!({"UnprocessedTraceSegments": [{"Id": "abc", "ErrorCode": "InvalidSegment",
                "Message": "bad document"}]}),
        )
    });
    let dir = Sandbox::new();
    let out = cli(&stub, &dir).args(["send-test-trace"]).output().unwrap();
    assert_eq!(out.status.code(), Some(254));
    assert_eq!(stdout(&out), "");
    assert_eq!(
        stderr(&out),
        "error: PutTraceSegments failed: InvalidSegment: segment abc was not processed: bad document\n"
    );
}

#[test]
fn a_closed_stdout_is_not_an_error() {
    let stub = Stub::start(|path, _| match path {
        "/TraceSegments" => (200, json!({"UnprocessedTraceSegments": []})),
        _ => (
            500,
            json!({"__type": "InternalFailure", "message": "unexpected"}),
        ),
    });
    let dir = Sandbox::new();
    let mut std_cmd = std_cli(&stub, &dir);
    std_cmd.arg("send-test-trace");
    std_cmd
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = std_cmd.spawn().unwrap();
    // Close the reading end before the result is written (the request takes a round trip).
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stderr(&out), "");
}
