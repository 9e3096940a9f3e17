//! Issue 3 end to end: create-group, create-sampling-rule, verify and demo through the
//! built binary against the emulator binary, with botocore (the AWS CLI's client) reading
//! back what was written. Every child gets a clean environment; nothing leaves loopback.

mod common;

use common::{Emulator, Run, Sandbox};
use serde_json::{Value, json};

const FILTER: &str = r#"service("backend-flask")"#;
const RULE_FILE: &str = include_str!("../aws/json/xray.json");

fn rule_file() -> String {
    common::repo()
        .join("aws/json/xray.json")
        .display()
        .to_string()
}

fn seed_group(s: &Sandbox, emu: &Emulator) -> Value {
    let run = s.run(
        emu,
        &[
            "create-group",
            "--group-name",
            "Cruddur",
            "--filter-expression",
            FILTER,
            "--output",
            "json",
        ],
    );
    run.ok();
    run.json()
}

/// The custom rules (not Default) botocore sees, by name.
fn rules_by_name(records: &Value) -> Vec<(String, Value)> {
    records["SamplingRuleRecords"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let rule = r["SamplingRule"].clone();
            (rule["RuleName"].as_str().unwrap().to_owned(), rule)
        })
        .filter(|(n, _)| n != "Default")
        .collect()
}

#[test]
fn each_seed_command_reports_created_then_unchanged_and_botocore_reads_back_every_field() {
    let emu = Emulator::start();
    let s = Sandbox::new();
    let file = rule_file();
    let file_url = format!("file://{file}");

    // create-group: text, then JSON.
    let first = s.run(
        &emu,
        &[
            "create-group",
            "--group-name",
            "Cruddur",
            "--filter-expression",
            FILTER,
        ],
    );
    let text = first.ok();
    assert!(
        text.starts_with(
            "created group Cruddur (arn:aws:xray:us-east-1:000000000000:group/Cruddur/"
        ),
        "{text}"
    );
    assert_eq!(first.stderr, "");
    let again_text = s.run(
        &emu,
        &[
            "create-group",
            "--group-name",
            "Cruddur",
            "--filter-expression",
            FILTER,
        ],
    );
    assert_eq!(
        again_text.ok(),
        text.replacen("created", "unchanged", 1),
        "the same group, unchanged"
    );
    let again = seed_group(&s, &emu);
    let arn = again["arn"].as_str().unwrap().to_owned();
    assert!(text.contains(&arn), "the same group: {text} / {arn}");
    assert_eq!(
        again,
        json!({"action": "unchanged", "dry_run": false, "applied": false, "resource": "group",
            "name": "Cruddur", "arn": arn, "changes": []})
    );

    // create-sampling-rule: PATH as JSON, then file://PATH as text, each twice.
    let created = s.run(
        &emu,
        &["create-sampling-rule", "--file", &file, "--output", "json"],
    );
    created.ok();
    let v = created.json();
    let rule_arn = "arn:aws:xray:us-east-1:000000000000:sampling-rule/Cruddur";
    assert_eq!(
        (
            &v["action"],
            &v["dry_run"],
            &v["applied"],
            &v["name"],
            &v["arn"]
        ),
        (
            &json!("create"),
            &json!(false),
            &json!(true),
            &json!("Cruddur"),
            &json!(rule_arn)
        )
    );
    let fields: Vec<&str> = v["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["field"].as_str().unwrap())
        .collect();
    assert!(
        fields.contains(&"FixedRate") && fields.contains(&"ServiceName"),
        "{v}"
    );
    let unchanged = s.run(
        &emu,
        &["create-sampling-rule", "--file", &file, "--output", "json"],
    );
    unchanged.ok();
    assert_eq!(
        unchanged.json(),
        json!({"action": "unchanged", "dry_run": false, "applied": false,
            "resource": "sampling-rule", "name": "Cruddur", "arn": rule_arn, "changes": []})
    );
    for _ in 0..2 {
        let run = s.run(&emu, &["create-sampling-rule", "--file", &file_url]);
        assert_eq!(
            run.ok(),
            format!("unchanged sampling rule Cruddur ({rule_arn})\n")
        );
    }

    // A second group and rule with every optional field, to read back field by field.
    let tagged = s.run(
        &emu,
        &[
            "create-group",
            "--group-name",
            "Tagged",
            "--filter-expression",
            "responsetime > 5",
            "--insights",
            "--notifications",
            "--tag",
            "app=cruddur",
            "--tag",
            "team=obs",
            "--output",
            "json",
        ],
    );
    tagged.ok();
    let tagged = tagged.json();
    assert_eq!(tagged["action"], "create");
    let tagged_arn = tagged["arn"].as_str().unwrap().to_owned();
    let full = s.file(
        "full.json",
        r#"{"SamplingRule": {"RuleName": "Full", "ResourceARN": "*", "Priority": 42,
  "FixedRate": 0.25, "ReservoirSize": 3, "ServiceName": "frontend-react-js",
  "ServiceType": "AWS::ECS::Container", "Host": "cruddur.example.com", "HTTPMethod": "POST",
  "URLPath": "/api/messages/*", "Version": 1, "Attributes": {"tier": "web"}},
 "Tags": [{"Key": "app", "Value": "cruddur"}, {"Key": "owner", "Value": "obs"}]}"#,
    );
    let full_run = s.run(
        &emu,
        &["create-sampling-rule", "--file", full.to_str().unwrap()],
    );
    assert!(
        full_run.ok().starts_with("created sampling rule Full"),
        "{full_run:?}"
    );
    let again = s.run(
        &emu,
        &["create-sampling-rule", "--file", full.to_str().unwrap()],
    );
    assert!(
        again.ok().starts_with("unchanged sampling rule Full"),
        "{again:?}"
    );

    let got = s.botocore(
        &emu,
        &json!([
            ["get_group", {"GroupName": "Cruddur"}],
            ["get_group", {"GroupName": "Tagged"}],
            ["get_sampling_rules", {}],
            ["list_tags_for_resource", {"ResourceARN": tagged_arn}],
            ["list_tags_for_resource", {"ResourceARN": "arn:aws:xray:us-east-1:000000000000:sampling-rule/Full"}],
            ["get_groups", {}],
        ]),
    );
    let g = &got[0]["Group"];
    assert_eq!(g["GroupARN"], json!(arn));
    assert_eq!(g["FilterExpression"], json!(FILTER));
    assert_eq!(
        g["InsightsConfiguration"],
        json!({"InsightsEnabled": false, "NotificationsEnabled": false})
    );
    let t = &got[1]["Group"];
    assert_eq!(t["FilterExpression"], json!("responsetime > 5"));
    assert_eq!(
        t["InsightsConfiguration"],
        json!({"InsightsEnabled": true, "NotificationsEnabled": true})
    );

    let rules = rules_by_name(&got[2]);
    assert_eq!(
        rules.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>(),
        ["Cruddur", "Full"],
        "each rule once"
    );
    // Every field of the file, as botocore reads it.
    let want: Value = serde_json::from_str(RULE_FILE).unwrap();
    for (k, v) in want["SamplingRule"].as_object().unwrap() {
        assert_eq!(&rules[0].1[k], v, "Cruddur.{k}");
    }
    assert_eq!(rules[0].1["RuleARN"], json!(rule_arn));
    let want: Value = serde_json::from_str(&std::fs::read_to_string(&full).unwrap()).unwrap();
    for (k, v) in want["SamplingRule"].as_object().unwrap() {
        assert_eq!(&rules[1].1[k], v, "Full.{k}");
    }
    let tags = |v: &Value| {
        let mut t: Vec<(String, String)> = v["Tags"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| {
                (
                    t["Key"].as_str().unwrap().to_owned(),
                    t["Value"].as_str().unwrap().to_owned(),
                )
            })
            .collect();
        t.sort();
        t
    };
    assert_eq!(
        tags(&got[3]),
        [
            ("app".into(), "cruddur".into()),
            ("team".into(), "obs".into())
        ]
    );
    assert_eq!(
        tags(&got[4]),
        [
            ("app".into(), "cruddur".into()),
            ("owner".into(), "obs".into())
        ]
    );
    let names: Vec<&str> = got[5]["Groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["GroupName"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["Default", "Cruddur", "Tagged"],
        "no duplicate groups"
    );
}

#[test]
fn a_changed_filter_or_fixed_rate_is_updated_old_to_new_and_botocore_sees_the_new_value() {
    let emu = Emulator::start();
    let s = Sandbox::new();
    seed_group(&s, &emu);
    s.run(&emu, &["create-sampling-rule", "--file", &rule_file()])
        .ok();

    let new_filter = r#"service("backend-flask") AND responsetime > 1"#;
    let run = s.run(
        &emu,
        &[
            "create-group",
            "--group-name",
            "Cruddur",
            "--filter-expression",
            new_filter,
        ],
    );
    assert_eq!(
        run.ok(),
        format!(
            "updated group Cruddur: FilterExpression {:?} → {:?}\n",
            FILTER, new_filter
        )
    );

    let changed = s.file(
        "xray.json",
        &RULE_FILE.replacen("\"FixedRate\": 0.1", "\"FixedRate\": 0.2", 1),
    );
    let run = s.run(
        &emu,
        &[
            "create-sampling-rule",
            "--file",
            &format!("file://{}", changed.display()),
            "--output",
            "json",
        ],
    );
    run.ok();
    assert_eq!(
        run.json(),
        json!({"action": "update", "dry_run": false, "applied": true,
            "resource": "sampling-rule", "name": "Cruddur",
            "arn": "arn:aws:xray:us-east-1:000000000000:sampling-rule/Cruddur",
            "changes": [{"field": "FixedRate", "old": 0.1, "new": 0.2}]})
    );

    let got = s.botocore(
        &emu,
        &json!([["get_group", {"GroupName": "Cruddur"}], ["get_sampling_rules", {}]]),
    );
    assert_eq!(got[0]["Group"]["FilterExpression"], json!(new_filter));
    let rules = rules_by_name(&got[1]);
    assert_eq!(rules.len(), 1);
    assert_eq!(rules[0].1["FixedRate"], json!(0.2));
    assert_eq!(rules[0].1["ReservoirSize"], json!(5), "the rest kept");
}

#[test]
fn dry_run_and_no_update_send_no_write() {
    let emu = Emulator::start();
    let s = Sandbox::new();
    seed_group(&s, &emu);
    s.run(&emu, &["create-sampling-rule", "--file", &rule_file()])
        .ok();
    let drifted = s.file(
        "xray.json",
        &RULE_FILE.replacen("\"ReservoirSize\": 5", "\"ReservoirSize\": 9", 1),
    );
    let drifted = drifted.to_str().unwrap();
    let other = r#"service("frontend-react-js")"#;
    let group = [
        "create-group",
        "--group-name",
        "Cruddur",
        "--filter-expression",
        other,
    ];

    let run = s.run(&emu, &[&group[..], &["--dry-run"]].concat());
    assert_eq!(
        run.ok(),
        format!("would update group Cruddur: FilterExpression {FILTER:?} → {other:?}\n")
    );
    let run = s.run(
        &emu,
        &[
            "create-sampling-rule",
            "--file",
            drifted,
            "--dry-run",
            "--output",
            "json",
        ],
    );
    run.ok();
    let v = run.json();
    assert_eq!(
        (&v["action"], &v["dry_run"], &v["applied"]),
        (&json!("update"), &json!(true), &json!(false))
    );
    assert_eq!(
        v["changes"],
        json!([{"field": "ReservoirSize", "old": 5, "new": 9}])
    );

    let run = s.run(&emu, &[&group[..], &["--no-update"]].concat());
    assert_eq!(
        run.code(1),
        format!(
            "group Cruddur differs, not updated (--no-update): FilterExpression {FILTER:?} → {other:?}\n"
        )
    );
    let run = s.run(
        &emu,
        &[
            "create-sampling-rule",
            "--file",
            drifted,
            "--no-update",
            "--output",
            "json",
        ],
    );
    run.code(1);
    let v = run.json();
    assert_eq!(
        (&v["action"], &v["dry_run"], &v["applied"]),
        (&json!("update"), &json!(false), &json!(false))
    );

    // A dry-run create lists what would be set, and creates nothing.
    let run = s.run(
        &emu,
        &["create-group", "--group-name", "Fresh", "--dry-run"],
    );
    assert_eq!(
        run.ok(),
        "would create group Fresh: InsightsEnabled (none) → false, NotificationsEnabled (none) → false\n"
    );
    let fresh = s.file(
        "fresh.json",
        &RULE_FILE.replacen("\"Cruddur\"", "\"Fresh\"", 1),
    );
    let run = s.run(
        &emu,
        &[
            "create-sampling-rule",
            "--file",
            fresh.to_str().unwrap(),
            "--dry-run",
        ],
    );
    assert!(
        run.ok().starts_with("would create sampling rule Fresh: "),
        "{run:?}"
    );

    // Nothing changed on the service.
    let got = s.botocore(
        &emu,
        &json!([["get_group", {"GroupName": "Cruddur"}], ["get_sampling_rules", {}], ["get_groups", {}]]),
    );
    assert_eq!(got[0]["Group"]["FilterExpression"], json!(FILTER));
    let rules = rules_by_name(&got[1]);
    assert_eq!(rules.len(), 1, "{rules:?}");
    assert_eq!(rules[0].1["ReservoirSize"], json!(5));
    assert_eq!(
        got[2]["Groups"].as_array().unwrap().len(),
        2,
        "no Fresh group: {}",
        got[2]
    );
}

/// Only the Default group and the Default rule, as botocore sees them.
fn assert_nothing_created(s: &Sandbox, emu: &Emulator) {
    let got = s.botocore(
        emu,
        &json!([["get_groups", {}], ["get_sampling_rules", {}]]),
    );
    let groups: Vec<&str> = got[0]["Groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["GroupName"].as_str().unwrap())
        .collect();
    assert_eq!(groups, ["Default"], "no group created");
    assert_eq!(rules_by_name(&got[1]), [], "no rule created");
}

#[test]
fn bad_input_is_252_with_its_position_and_nothing_reaches_the_service() {
    let emu = Emulator::start();
    let s = Sandbox::new();
    let bad = s.file(
        "xray.json",
        &RULE_FILE.replacen("\"FixedRate\": 0.1", "\"FixedRate\": 1.5", 1),
    );
    for arg in [
        bad.display().to_string(),
        format!("file://{}", bad.display()),
    ] {
        let run = s.run(&emu, &["create-sampling-rule", "--file", &arg]);
        assert_eq!(run.code(252), "", "stdout is empty");
        assert_eq!(
            run.stderr,
            format!(
                "error: {}:6:18: SamplingRule.FixedRate must be within 0..=1 (got 1.5)\n",
                bad.display()
            )
        );
        assert!(run.stderr.contains("xray.json:6:18"), "{}", run.stderr);
    }

    for (expr, position, message, caret) in [
        (
            r#"service("backend-flask""#,
            "1:8",
            "this `(` is never closed; add `)`",
            "       ^",
        ),
        (
            "resposetime > 5",
            "1:1",
            "unknown keyword `resposetime`; did you mean `responsetime`?",
            "^^^^^^^^^^^",
        ),
    ] {
        let run = s.run(
            &emu,
            &[
                "create-group",
                "--group-name",
                "Cruddur",
                "--filter-expression",
                expr,
            ],
        );
        assert_eq!(run.code(252), "");
        assert_eq!(
            run.stderr,
            format!(
                "error: --filter-expression:{position}: {message}\n  |\n1 | {expr}\n  | {caret}\n"
            )
        );
    }
    assert_nothing_created(&s, &emu);
}

#[test]
fn verify_names_the_failed_check_and_passes_when_the_seeds_exist() {
    let emu = Emulator::start();
    let s = Sandbox::new();
    seed_group(&s, &emu);
    s.run(&emu, &["create-sampling-rule", "--file", &rule_file()])
        .ok();

    let run = s.run(&emu, &["verify", "--expect-group", "Nope"]);
    let text = run.code(1);
    assert!(text.contains("1 of 1 checks failed"), "{text}");
    assert!(
        run.stderr.contains(
            "check failed: expect-group: group \"Nope\" does not exist (there are: \"Default\", \"Cruddur\")\n"
        ),
        "{}",
        run.stderr
    );

    let run = s.run(
        &emu,
        &[
            "verify",
            "--expect-group",
            "Cruddur",
            "--expect-rule",
            "Cruddur",
        ],
    );
    assert!(run.ok().contains("\nall checks passed\n"), "{run:?}");
    assert!(!run.stderr.contains("check failed"), "{}", run.stderr);

    let run = s.run(
        &emu,
        &[
            "verify",
            "--expect-group",
            "Cruddur",
            "--expect-rule",
            "Cruddur",
            "--output",
            "json",
        ],
    );
    run.ok();
    let v = run.json();
    let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    for k in [
        "ok",
        "groups",
        "sampling_rules",
        "traces",
        "checks",
        "diagnostics",
    ] {
        assert!(keys.contains(&k), "{k} in {keys:?}");
    }
    assert_eq!(v["ok"], json!(true));
    assert_eq!(
        v["checks"],
        json!([
            {"name": "expect-group", "ok": true, "message": "group \"Cruddur\" exists"},
            {"name": "expect-rule", "ok": true, "message": "sampling rule \"Cruddur\" exists"}
        ])
    );
    let groups: Vec<&str> = v["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["name"].as_str().unwrap())
        .collect();
    assert_eq!(groups, ["Default", "Cruddur"]);
    assert_eq!(v["groups"][1]["filter_expression"], json!(FILTER));
    assert_eq!(v["sampling_rules"][0]["name"], json!("Cruddur"));
    assert_eq!(v["sampling_rules"][0]["fixed_rate"], json!(0.1));
}

#[test]
fn the_service_refusing_the_26th_rule_is_exit_254_and_an_unknown_flag_is_exit_2() {
    let emu = Emulator::start();
    let s = Sandbox::new();
    // 25 custom rules fill the quota (Default not counted).
    let calls: Vec<Value> = (0..25)
        .map(|i| {
            json!(["create_sampling_rule", {"SamplingRule": {
                "RuleName": format!("filler-{i}"), "ResourceARN": "*", "Priority": 100 + i,
                "FixedRate": 0.1, "ReservoirSize": 1, "ServiceName": "*", "ServiceType": "*",
                "Host": "*", "HTTPMethod": "*", "URLPath": "*", "Version": 1}}])
        })
        .collect();
    let got = s.botocore(&emu, &Value::Array(calls));
    assert!(got.iter().all(|r| r.get("Error").is_none()), "{got:?}");

    let run = s.run(&emu, &["create-sampling-rule", "--file", &rule_file()]);
    assert_eq!(run.code(254), "");
    assert!(
        run.stderr
            .starts_with("error: CreateSamplingRule failed: RuleLimitExceededException: "),
        "{}",
        run.stderr
    );
    assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);

    let run = s.run(
        &emu,
        &["create-group", "--group-name", "Cruddur", "--frobnicate"],
    );
    assert_eq!(run.code(2), "");
    assert!(run.stderr.contains("--frobnicate"), "{}", run.stderr);
}

#[test]
fn demo_refuses_output_json_rather_than_print_text_under_it() {
    let s = Sandbox::new();
    let run = Run::of(
        s.bare()
            .args(["--output", "json", "demo"])
            .output()
            .unwrap(),
    );
    assert_eq!(run.code(252), "");
    assert_eq!(
        run.stderr.trim_end(),
        "error: --output json: demo prints a walkthrough for people, not JSON; run verify --output json for a machine-readable result"
    );
}

#[test]
fn demo_creates_then_finds_everything_unchanged_and_verify_passes() {
    let s = Sandbox::new();
    let run = Run::of(s.bare().args(["demo"]).output().unwrap());
    let out = run.ok();
    let lines: Vec<&str> = out.lines().collect();
    let pos = |prefix: &str| {
        lines
            .iter()
            .position(|l| l.starts_with(prefix))
            .unwrap_or_else(|| panic!("no line starting with {prefix:?}:\n{out}"))
    };
    let created_group = pos("created group Cruddur");
    let created_rule = pos("created sampling rule Cruddur");
    let unchanged: Vec<usize> = lines
        .iter()
        .enumerate()
        .filter(|(_, l)| l.starts_with("unchanged "))
        .map(|(i, _)| i)
        .collect();
    assert_eq!(unchanged.len(), 2, "unchanged twice:\n{out}");
    assert!(
        created_group < created_rule && created_rule < unchanged[0],
        "{out}"
    );
    assert!(
        lines[unchanged[0]].starts_with("unchanged group Cruddur"),
        "{out}"
    );
    assert!(
        lines[unchanged[1]].starts_with("unchanged sampling rule Cruddur"),
        "{out}"
    );
    assert!(pos("all checks passed") > unchanged[1], "{out}");
}

#[test]
fn a_fault_injected_into_one_operation_is_exit_254_after_the_retries_and_nothing_is_written() {
    let emu = Emulator::with_args(&[
        "--fault",
        "error=1.0@CreateGroup",
        "--fault",
        "throttle=1.0@PutTraceSegments",
    ]);
    let s = Sandbox::new();
    let run = s.run(
        &emu,
        &[
            "create-group",
            "--group-name",
            "Cruddur",
            "--filter-expression",
            FILTER,
            "--max-attempts",
            "2",
        ],
    );
    assert_eq!(run.code(254), "");
    assert_eq!(
        run.stderr,
        "error: CreateGroup failed: ServiceUnavailableException: Service unavailable (injected fault) (gave up after 2 attempts)\n"
    );
    let run = s.run(&emu, &["send-test-trace", "--max-attempts", "2"]);
    assert_eq!(run.code(254), "");
    assert_eq!(
        run.stderr,
        "error: PutTraceSegments failed: ThrottledException: Rate exceeded (gave up after 2 attempts)\n"
    );
    // The other operations still work: the rule is created, and no group was.
    s.run(&emu, &["create-sampling-rule", "--file", &rule_file()])
        .ok();
    let got = s.botocore(
        &emu,
        &json!([["get_groups", {}], ["get_sampling_rules", {}]]),
    );
    assert_eq!(got[0]["Groups"].as_array().unwrap().len(), 1, "{got:?}");
    assert_eq!(rules_by_name(&got[1]).len(), 1, "{got:?}");
}
