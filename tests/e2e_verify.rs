//! Issue 5 end to end: verify for CI through the built binary against the emulator binary,
//! one emulator per test. Segments are sent with send-test-trace or, where their times and
//! outcomes must be exact, as raw PutTraceSegments through botocore.

mod common;

use std::process::Stdio;
use std::time::{Duration, Instant};

use common::{Emulator, Run, Sandbox, Seg, now, put_calls};
use serde_json::{Value, json};

fn codes(report: &Value) -> Vec<String> {
    report["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["code"].as_str().unwrap().to_owned())
        .collect()
}

fn diagnostic<'a>(report: &'a Value, code: &str) -> Vec<&'a str> {
    report["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["code"] == code)
        .map(|d| d["message"].as_str().unwrap())
        .collect()
}

fn verify_json(s: &Sandbox, emu: &Emulator, args: &[&str]) -> (i32, Value) {
    let run = s.run(emu, &[&["verify", "--output", "json"], args].concat());
    let v = run.json();
    (run.code, v)
}

fn rule(name: &str, priority: u32, service: &str, extra: &str) -> String {
    format!(
        r#"{{"SamplingRule": {{"RuleName": "{name}", "ResourceARN": "*", "Priority": {priority},
  "FixedRate": 0.1, "ReservoirSize": 1, "ServiceName": "{service}", "ServiceType": "*",
  "Host": "*", "HTTPMethod": "*", "URLPath": "*", "Version": 1{extra}}}}}"#
    )
}

fn create_rule(s: &Sandbox, emu: &Emulator, json: &str) {
    let name: Value = serde_json::from_str(json).unwrap();
    let name = name["SamplingRule"]["RuleName"].as_str().unwrap();
    let path = s.file(&format!("{name}.json"), json);
    s.run(
        emu,
        &["create-sampling-rule", "--file", path.to_str().unwrap()],
    )
    .ok();
}

fn create_group(s: &Sandbox, emu: &Emulator, name: &str, filter: &str) {
    s.run(
        emu,
        &[
            "create-group",
            "--group-name",
            name,
            "--filter-expression",
            filter,
        ],
    )
    .ok();
}

#[test]
fn a_misspelt_service_is_named_with_a_suggestion_and_a_group_matching_nothing_is_flagged() {
    let emu = Emulator::start();
    let s = Sandbox::new();
    create_group(&s, &emu, "Cruddur", r#"service("backend-flash")"#);
    create_group(&s, &emu, "Payments", r#"service("payments")"#);
    create_rule(&s, &emu, &rule("Flash", 100, "backend-flash", ""));
    s.run(&emu, &["send-test-trace", "--service", "backend-flask"])
        .ok();

    let run = s.run(&emu, &["verify"]);
    run.ok();
    for line in [
        r#"warning: group Cruddur filters on service "backend-flash", which sent no traces; did you mean "backend-flask"?"#,
        r#"warning: sampling rule "Flash" is for service "backend-flash", which sent no traces; did you mean "backend-flask"?"#,
        "warning: group Payments matched none of the 1 traces in the last 15m (filter: service(\"payments\"))",
    ] {
        assert!(run.stderr.contains(line), "{line}\nin:\n{}", run.stderr);
    }
    assert!(!run.stdout.contains("warning"), "warnings stay off stdout");

    let (code, v) = verify_json(&s, &emu, &[]);
    assert_eq!(code, 0);
    let typos = diagnostic(&v, "service-name-typo");
    assert_eq!(typos.len(), 2, "{v}");
    assert!(
        typos
            .iter()
            .all(|m| m.contains("did you mean \"backend-flask\"?"))
    );
    let empty = diagnostic(&v, "group-empty");
    assert_eq!(empty.len(), 2, "both groups match nothing: {empty:?}");
    assert!(empty.iter().any(|m| m.starts_with("group Payments ")));
    assert!(empty.iter().any(|m| m.starts_with("group Cruddur ")));
    assert!(!codes(&v).contains(&"no-traces".to_owned()));
}

#[test]
fn no_traces_lists_the_causes_transaction_search_first_and_unusable_rules_are_named() {
    let emu = Emulator::start();
    let s = Sandbox::new();
    create_rule(
        &s,
        &emu,
        &rule("Attrs", 50, "*", r#", "Attributes": {"tier": "web"}"#),
    );
    let arn_rule = rule("Arn", 60, "*", "").replace(
        r#""ResourceARN": "*""#,
        r#""ResourceARN": "arn:aws:ecs:us-east-1:000000000000:service/cruddur""#,
    );
    create_rule(&s, &emu, &arn_rule);
    create_rule(&s, &emu, &rule("Broad", 70, "backend-*", ""));
    create_rule(&s, &emu, &rule("Narrow", 80, "backend-flask", ""));

    let run = s.run(&emu, &["verify", "--min-traces", "1"]);
    run.code(1);
    assert!(
        run.stderr.contains(
            "warning: no traces in the last 15m in us-east-1; likely causes, most likely first:\n  1. region mismatch: verify reads us-east-1"
        ),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("\n  2. credentials: "),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("check failed: min-traces: 0 traces in the last 15m, expected at least 1"),
        "{}",
        run.stderr
    );

    let (code, v) = verify_json(&s, &emu, &[]);
    assert_eq!(code, 0);
    assert_eq!(
        codes(&v),
        [
            "no-traces",
            "region",
            "credentials",
            "rule-has-attributes",
            "rule-resource-arn",
            "rule-shadowed"
        ]
    );
    assert!(
        diagnostic(&v, "rule-has-attributes")[0]
            .starts_with("sampling rule \"Attrs\" can never match")
    );
    assert!(
        diagnostic(&v, "rule-resource-arn")[0].starts_with("sampling rule \"Arn\" can never match")
    );
    assert!(
        diagnostic(&v, "rule-shadowed")[0].starts_with(
            "sampling rule \"Narrow\" (priority 80) can never match: rule \"Broad\" (priority 70)"
        ),
        "{v}"
    );

    // Spans to CloudWatch Logs (Transaction Search): the most likely cause, named first.
    let got = s.botocore1(
        &emu,
        "update_trace_segment_destination",
        json!({"Destination": "CloudWatchLogs"}),
    );
    assert_eq!(got["Destination"], "CloudWatchLogs", "{got}");
    let (_, v) = verify_json(&s, &emu, &[]);
    assert_eq!(
        codes(&v)[..4],
        ["no-traces", "transaction-search", "region", "credentials"]
    );
    let ts = diagnostic(&v, "transaction-search")[0];
    assert!(ts.contains("CloudWatchLogs"), "{ts}");
    assert!(ts.contains("rule \"Default\" indexes 1%"), "{ts}");

    // A Default rule that samples nothing: no request is traced unless a rule before it
    // matches. create-sampling-rule may change the Default rule's rate and reservoir.
    let off = rule("Default", 10000, "*", "")
        .replace(r#""FixedRate": 0.1"#, r#""FixedRate": 0"#)
        .replace(r#""ReservoirSize": 1"#, r#""ReservoirSize": 0"#);
    create_rule(&s, &emu, &off);
    let (_, v) = verify_json(&s, &emu, &[]);
    let gap = diagnostic(&v, "no-matching-rule");
    assert_eq!(gap.len(), 1, "{v}");
    assert!(
        gap[0].starts_with(
            "sampling rule \"Default\" (priority 10000) matches every request and samples none"
        ),
        "{}",
        gap[0]
    );
}

#[test]
fn wait_returns_as_soon_as_a_trace_arrives() {
    let emu = Emulator::start();
    let s = Sandbox::new();
    let started = Instant::now();
    let child = s
        .cli(&emu)
        .args(["verify", "--wait", "30s", "--min-traces", "1"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    s.run(&emu, &["send-test-trace"]).ok();
    let run = Run::of(child.wait_with_output().unwrap());
    assert!(run.ok().contains("all checks passed"), "{run:?}");
    // Generous: the deadline is 30 s; polls come after 1 s, 3 s, 7 s.
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "verify returned only after {:?}",
        started.elapsed()
    );
}

#[test]
fn wait_gives_up_at_the_deadline_and_names_what_was_missing() {
    let emu = Emulator::start();
    let s = Sandbox::new();
    let run = s.run(&emu, &["verify", "--wait", "2s", "--min-traces", "1"]);
    run.code(1);
    assert!(
        run.stderr
            .contains("timed out after 2s waiting for: min-traces\n"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("check failed: min-traces: 0 traces in the last 15m, expected at least 1"),
        "{}",
        run.stderr
    );
}

#[test]
fn github_actions_gets_error_commands_and_a_markdown_step_summary() {
    let emu = Emulator::start();
    let s = Sandbox::new();
    create_group(&s, &emu, "Cruddur", r#"service("backend-flask")"#);
    let summary = s.file("summary.md", "# earlier step\n");
    let run = Run::of(
        s.cli(&emu)
            .env("GITHUB_ACTIONS", "true")
            .env("GITHUB_STEP_SUMMARY", &summary)
            .args(["verify", "--expect-group", "Nope", "--output", "json"])
            .output()
            .unwrap(),
    );
    run.code(1);
    assert_eq!(run.json()["ok"], false, "stdout stays one JSON document");
    assert!(
        run.stderr.contains(
            "::error title=verify check failed%3A expect-group::expect-group: group \"Nope\" does not exist"
        ),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("::warning title=verify%3A no-traces::"),
        "{}",
        run.stderr
    );
    let md = std::fs::read_to_string(&summary).unwrap();
    assert!(md.starts_with("# earlier step\n"), "appended, not replaced");
    for needle in [
        "## cruddur-xray verify: ❌ 1 of 1 checks failed\n",
        "| Traces | Fault | Fault rate | Error | Throttle | p50 | p95 | p99 | Max |\n|---:|",
        "| Group | Filter | Traces | Fault | p95 |\n|---|---|---:|---:|---:|\n",
        "| Cruddur | `service(\"backend-flask\")` | 0 | 0 | - |\n",
        "| Rule | Priority | Rate | Reservoir | Service | Host | Method | Path |\n",
        "| Default | 10000 | 5% | 1 | `*` |",
        "| expect-group | ❌ | group \"Nope\" does not exist",
    ] {
        assert!(md.contains(needle), "{needle}\nin:\n{md}");
    }
    // Without GITHUB_ACTIONS, no workflow commands.
    let run = s.run(&emu, &["verify", "--expect-group", "Nope"]);
    run.code(1);
    assert!(!run.stderr.contains("::error"), "{}", run.stderr);
}

#[test]
fn a_day_long_window_is_read_in_chunks_and_counts_every_trace_once() {
    let emu = Emulator::start();
    let s = Sandbox::new();
    let hour = 3600.0;
    let start = (now() / hour).floor() * hour - 25.0 * hour;
    let end = start + 24.0 * hour;
    // Inside, including every 6 h chunk boundary and both ends; then two outside.
    let inside = [
        start,
        start + 1.0,
        start + 6.0 * hour,
        start + 6.0 * hour + 1.0,
        start + 12.0 * hour - 1.0,
        start + 12.0 * hour,
        start + 18.0 * hour,
        start + 23.0 * hour,
        end - 1.0,
        end,
    ];
    let outside = [start - 60.0, end + 60.0];
    let segs: Vec<Seg> = inside
        .iter()
        .chain(&outside)
        .map(|at| Seg::new("backend-flask", *at, 0.1))
        .collect();
    let (calls, _) = put_calls(&segs);
    let got = s.botocore(&emu, &calls);
    assert_eq!(got[0]["UnprocessedTraceSegments"], json!([]), "{got:?}");

    let (code, v) = verify_json(
        &s,
        &emu,
        &[
            "--start",
            &format!("{start}"),
            "--end",
            &format!("{}", end - 0.5),
            "--min-traces",
            "9",
        ],
    );
    assert_eq!(code, 0, "{v}");
    assert_eq!(
        v["traces"]["count"],
        json!(inside.len() - 1),
        "all but the one at the end: {v}"
    );

    let (_, v) = verify_json(
        &s,
        &emu,
        &["--start", &format!("{start}"), "--end", &format!("{end}")],
    );
    assert_eq!(v["traces"]["count"], json!(inside.len()), "{v}");
    assert_eq!(
        v["traces"]["services"],
        json!([{"name": "backend-flask", "count": inside.len()}])
    );
    // --since 2d sees every one of them, the two outside the day too.
    let (_, v) = verify_json(&s, &emu, &["--since", "2d"]);
    assert_eq!(v["traces"]["count"], json!(inside.len() + 2), "{v}");
}

#[test]
fn a_sent_test_trace_is_found_by_id_and_an_unknown_id_fails() {
    let emu = Emulator::start();
    let s = Sandbox::new();
    let sent = s.run(&emu, &["send-test-trace", "--output", "json"]);
    sent.ok();
    let id = sent.json()["trace_id"].as_str().unwrap().to_owned();
    let run = s.run(&emu, &["verify", "--trace-id", &id, "--wait", "10s"]);
    assert!(run.ok().contains("all checks passed"), "{run:?}");
    let (_, v) = verify_json(&s, &emu, &["--trace-id", &id]);
    assert_eq!(
        v["checks"],
        json!([{"name": "trace-id", "ok": true, "message": format!("trace {id} exists")}])
    );

    let unknown = "1-5f84c7a1-000000000000000000000000";
    let run = s.run(&emu, &["verify", "--trace-id", unknown]);
    run.code(1);
    assert!(
        run.stderr.contains(&format!(
            "check failed: trace-id: trace {unknown} was not found"
        )),
        "{}",
        run.stderr
    );
}

fn close(got: &Value, want: f64) {
    let g = got
        .as_f64()
        .unwrap_or_else(|| panic!("not a number: {got}"));
    assert!(
        (g - want).abs() <= want * 0.01,
        "got {g}, want {want} (within 1%)"
    );
}

#[test]
fn the_json_report_carries_the_statistics_of_the_segments_sent() {
    let emu = Emulator::start();
    let s = Sandbox::new();
    create_group(&s, &emu, "Backend", r#"service("backend-flask")"#);
    let t0 = now() - 120.0;
    let mut segs = Vec::new();
    for (i, rt) in [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 2.0]
        .into_iter()
        .enumerate()
    {
        let mut seg = Seg::new("backend-flask", t0 + i as f64, rt);
        seg.fault = rt == 2.0;
        seg.error = rt == 0.3 || rt == 0.4;
        seg.throttle = rt == 0.5;
        segs.push(seg);
    }
    let mut slow_front = Seg::new("frontend-react-js", t0 + 20.0, 0.15);
    slow_front.fault = true;
    segs.push(slow_front);
    segs.push(Seg::new("frontend-react-js", t0 + 21.0, 0.05));
    let (calls, _) = put_calls(&segs);
    s.botocore(&emu, &calls);

    let (code, v) = verify_json(
        &s,
        &emu,
        &[
            "--group",
            "Backend",
            "--min-traces",
            "10",
            "--max-fault-rate",
            "0.1",
        ],
    );
    assert_eq!(code, 0, "{v}");
    // The whole window: 12 traces; sorted response times
    // 0.05 0.1 0.15 0.2 0.3 0.4 0.5 0.6 0.7 0.8 0.9 2.0 (nearest rank).
    let all = &v["traces"];
    assert_eq!(
        (
            &all["count"],
            &all["fault"],
            &all["error"],
            &all["throttle"]
        ),
        (&json!(12), &json!(2), &json!(2), &json!(1))
    );
    close(&all["response_time"]["p50"], 0.4);
    close(&all["response_time"]["p95"], 2.0);
    close(&all["response_time"]["p99"], 2.0);
    close(&all["response_time"]["max"], 2.0);
    assert_eq!(
        all["services"],
        json!([{"name": "backend-flask", "count": 10}, {"name": "frontend-react-js", "count": 2}])
    );
    // The group: 10 traces, 0.1 .. 0.9 and 2.0.
    let g = v["groups"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["name"] == "Backend")
        .unwrap();
    let t = &g["traces"];
    assert_eq!(
        (&t["count"], &t["fault"], &t["error"], &t["throttle"]),
        (&json!(10), &json!(1), &json!(2), &json!(1))
    );
    close(&t["response_time"]["p50"], 0.5);
    close(&t["response_time"]["p95"], 2.0);
    close(&t["response_time"]["p99"], 2.0);
    close(&t["response_time"]["max"], 2.0);
    assert_eq!(
        t["services"],
        json!([{"name": "backend-flask", "count": 10}])
    );
    let checks: Vec<(&str, bool)> = v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["name"].as_str().unwrap(), c["ok"].as_bool().unwrap()))
        .collect();
    assert_eq!(
        checks,
        [
            ("group", true),
            ("min-traces", true),
            ("max-fault-rate", true)
        ]
    );

    // A p95 limit under 2 s fails, naming the group's p95.
    let run = s.run(&emu, &["verify", "--group", "Backend", "--max-p95", "1.5"]);
    run.code(1);
    assert!(
        run.stderr.contains(
            "check failed: max-p95: p95 response time 2s in group Backend in the last 15m, expected at most 1.500s"
        ),
        "{}",
        run.stderr
    );
}
