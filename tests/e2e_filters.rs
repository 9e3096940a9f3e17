//! Issue 4 end to end: `validate` through the built binary, create-group refusing a broken
//! filter before anything is sent, and the emulator's filtered trace summaries agreeing
//! with what each expression means (read by verify and by botocore).

mod common;

use std::collections::BTreeSet;
use std::io::ErrorKind;
use std::net::TcpListener;

use common::{Emulator, Run, Sandbox, Seg, now, put_calls};
use serde_json::{Value, json};

/// Filter expressions in the forms the X-Ray developer guide documents.
const GOOD: &[&str] = &[
    r#"service("backend-flask")"#,
    "responsetime > 5",
    r#"service("api.example.com") { fault }"#,
    r#"http.url CONTAINS "/api/activities""#,
    r#"annotation.account = "12345""#,
    r#"edge("frontend-react-js", "backend-flask")"#,
    "duration >= 1 AND duration < 3",
    "error = true OR throttle",
    r#"!ok AND service("backend-flask")"#,
    r#"group.name = "Cruddur""#,
];

fn validate(s: &Sandbox, args: &[&str]) -> Run {
    Run::of(s.bare().arg("validate").args(args).output().unwrap())
}

#[test]
fn validate_accepts_documented_examples_and_positions_every_problem() {
    let s = Sandbox::new();
    let mut args: Vec<&str> = GOOD
        .iter()
        .flat_map(|e| ["--filter-expression", e])
        .collect();
    args.extend([
        "--file",
        "aws/json/xray.json",
        "--file",
        "file://aws/json/xray.json",
    ]);
    let run = validate(&s, &args);
    let out = run.ok();
    assert_eq!(out.lines().count(), GOOD.len() + 2, "{out}");
    for e in GOOD {
        assert!(
            out.contains(&format!("ok  filter expression {e}\n")),
            "{e}: {out}"
        );
    }
    assert!(
        out.ends_with("ok  aws/json/xray.json\nok  aws/json/xray.json\n"),
        "{out}"
    );
    assert_eq!(run.stderr, "");

    let bad_rule = s.file(
        "bad.json",
        "{\"SamplingRule\": {\"RuleName\": \"Cruddur\", \"ResourceARN\": \"*\", \"Priority\": 0,\n \"FixedRate\": 1.5, \"ReservoirSize\": 5, \"ServiceName\": \"backend-flask\", \"ServiceType\": \"*\",\n \"Host\": \"*\", \"HTTPMethod\": \"*\", \"URLPath\": \"*\", \"Version\": 1}}",
    );
    let broken = s.file(
        "broken.json",
        "{\"SamplingRule\": {\n  \"RuleName\": \"X\"\n  \"Priority\": 1}}\n",
    );
    let (bad_rule, broken) = (bad_rule.to_str().unwrap(), broken.to_str().unwrap());
    let bad_args = [
        "--filter-expression",
        r#"service("backend-flask""#,
        "--filter-expression",
        "resposetime > 5",
        "--filter-expression",
        "responsetime >",
        "--file",
        bad_rule,
        "--file",
        broken,
        "--filter-expression",
        GOOD[0],
    ];
    let run = validate(&s, &[&bad_args[..], &["--output", "json"]].concat());
    run.code(252);
    let v = run.json();
    assert_eq!(v["ok"], false);
    let inputs = v["inputs"].as_array().unwrap();
    assert_eq!(inputs.len(), 6);
    let first = |i: usize| {
        let p = &inputs[i]["problems"][0];
        (
            p["line"].as_u64().unwrap(),
            p["column"].as_u64().unwrap(),
            p["message"].as_str().unwrap().to_owned(),
        )
    };
    assert_eq!(
        first(0),
        (1, 8, "this `(` is never closed; add `)`".to_owned())
    );
    assert_eq!(
        first(1),
        (
            1,
            1,
            "unknown keyword `resposetime`; did you mean `responsetime`?".to_owned()
        )
    );
    assert_eq!(first(2).0, 1);
    assert!(first(2).1 >= 13, "at or after the operator: {:?}", first(2));
    // Filter expressions come first, then files, each in the order given.
    assert_eq!(inputs[3]["ok"], true);
    assert_eq!(
        inputs[4]["problems"],
        json!([
            {"line": 1, "column": 74, "message": "SamplingRule.Priority must be within 1..=9999 (got 0)"},
            {"line": 2, "column": 15, "message": "SamplingRule.FixedRate must be within 0..=1 (got 1.5)"}
        ])
    );
    assert_eq!(
        first(5),
        (
            3,
            3,
            "unexpected character '\"'; expected ',' or '}'".to_owned()
        )
    );
    for p in inputs
        .iter()
        .flat_map(|i| i["problems"].as_array().unwrap())
    {
        let keys: BTreeSet<&str> = p.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(keys, BTreeSet::from(["column", "line", "message"]));
    }

    // Text: the valid input on stdout, every problem on stderr with its position.
    let run = validate(&s, &bad_args);
    assert_eq!(
        run.code(252),
        format!("ok  filter expression {}\n", GOOD[0])
    );
    assert!(
        run.stderr
            .contains(&format!("error: {bad_rule}:2:15: SamplingRule.FixedRate")),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains(&format!("error: {broken}:3:3: ")),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("1 | resposetime > 5\n  | ^^^^^^^^^^^\n"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.ends_with("in 5 of 6 inputs\n"), "{}", run.stderr);
}

#[test]
fn create_group_refuses_a_broken_filter_before_sending_anything() {
    let s = Sandbox::new();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    for expr in [r#"service("backend-flask""#, "resposetime > 5", "   "] {
        let run = Run::of(
            s.bare()
                .env("AWS_ACCESS_KEY_ID", common::KEY_ID)
                .env("AWS_SECRET_ACCESS_KEY", common::SECRET)
                .env("AWS_REGION", common::REGION)
                .args([
                    "create-group",
                    "--group-name",
                    "Cruddur",
                    "--filter-expression",
                    expr,
                    "--endpoint-url",
                    &url,
                ])
                .output()
                .unwrap(),
        );
        assert_eq!(run.code(252), "");
        assert!(
            run.stderr.starts_with("error: --filter-expression"),
            "{expr}: {}",
            run.stderr
        );
    }
    match listener.accept() {
        Err(e) if e.kind() == ErrorKind::WouldBlock => {}
        Err(e) => panic!("accept failed: {e}"),
        Ok((_, peer)) => panic!("a request was sent (connection from {peer})"),
    }
}

#[test]
fn the_emulators_filtered_summaries_match_what_each_expression_means() {
    let emu = Emulator::start();
    let s = Sandbox::new();
    let sent = |args: &[&str]| -> String {
        let run = s.run(
            &emu,
            &[&["send-test-trace", "--output", "json"], args].concat(),
        );
        run.ok();
        run.json()["trace_id"].as_str().unwrap().to_owned()
    };
    // a: backend-flask, 50 ms, 200, annotated; b: frontend-react-js, 50 ms, 200.
    let a = sent(&["--service", "backend-flask", "--annotation", "run=ci"]);
    let b = sent(&["--service", "frontend-react-js"]);
    let t0 = now() - 30.0;
    let mut c = Seg::new("backend-flask", t0, 3.0);
    c.fault = true;
    c.url = "http://localhost:4567/api/users/7";
    let mut d = Seg::new("backend-flask", t0 + 1.0, 0.2);
    d.error = true;
    d.url = "http://localhost:4567/api/messages";
    let mut e = Seg::new("payments", t0 + 2.0, 6.0);
    e.throttle = true;
    let (calls, ids) = put_calls(&[c, d, e]);
    let (c, d, e) = (ids[0].clone(), ids[1].clone(), ids[2].clone());

    let cases: Vec<(&str, &str, Vec<&String>)> = vec![
        ("Flask", r#"service("backend-flask")"#, vec![&a, &c, &d]),
        ("Slow", "responsetime > 2", vec![&c, &e]),
        ("Faulty", "fault", vec![&c]),
        ("Ci", r#"annotation.run = "ci""#, vec![&a]),
        ("Users", r#"http.url CONTAINS "/api/users""#, vec![&c]),
        (
            "FastFlask",
            r#"service("backend-flask") AND responsetime < 1"#,
            vec![&a, &d],
        ),
        ("Trouble", "error OR throttle", vec![&d, &e]),
        ("Front", r#"service("frontend-react-js")"#, vec![&b]),
        ("Nothing", r#"service("nobody")"#, vec![]),
    ];
    let mut batch = calls.as_array().unwrap().clone();
    let (start, end) = (now() - 600.0, now() + 60.0);
    for (_, filter, _) in &cases {
        batch.push(json!(["get_trace_summaries",
            {"StartTime": start, "EndTime": end, "FilterExpression": filter}]));
    }
    for (name, filter, _) in &cases {
        s.run(
            &emu,
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
    let got = s.botocore(&emu, &Value::Array(batch));
    assert_eq!(got[0]["UnprocessedTraceSegments"], json!([]));
    for ((name, filter, want), page) in cases.iter().zip(&got[1..]) {
        let ids: BTreeSet<&str> = page["TraceSummaries"]
            .as_array()
            .unwrap_or_else(|| panic!("{filter}: {page}"))
            .iter()
            .map(|t| t["Id"].as_str().unwrap())
            .collect();
        let want: BTreeSet<&str> = want.iter().map(|s| s.as_str()).collect();
        assert_eq!(ids, want, "{name}: {filter}");
    }

    let mut args = vec!["verify", "--output", "json"];
    for (name, _, _) in &cases {
        args.extend(["--group", name]);
    }
    let run = s.run(&emu, &args);
    run.ok();
    let v = run.json();
    assert_eq!(v["traces"]["count"], json!(5));
    for (name, filter, want) in &cases {
        let g = v["groups"]
            .as_array()
            .unwrap()
            .iter()
            .find(|g| g["name"] == *name)
            .unwrap();
        assert_eq!(g["traces"]["count"], json!(want.len()), "{name}: {filter}");
    }
}
