use super::*;

const CRUDDUR: &str = include_str!("../../../aws/json/xray.json");

fn problems(src: &str) -> Vec<String> {
    match load_rule_bytes("xray.json", src.as_bytes()) {
        Ok(r) => panic!("expected problems, loaded {r:?}"),
        Err(v) => v.iter().map(ToString::to_string).collect(),
    }
}

fn with(from: &str, to: &str) -> String {
    assert!(CRUDDUR.contains(from), "{from} is in the sample");
    CRUDDUR.replacen(from, to, 1)
}

#[test]
fn the_cruddur_rule_loads() {
    let f = load_rule_bytes("aws/json/xray.json", CRUDDUR.as_bytes()).unwrap();
    assert_eq!(f.path, "aws/json/xray.json");
    assert_eq!(f.rule.rule_name.as_deref(), Some("Cruddur"));
    assert_eq!(f.rule.priority, 9000);
    assert_eq!(f.rule.fixed_rate, 0.1);
    assert_eq!(f.rule.service_name, "backend-flask");
    assert!(f.tags.is_empty());
}

#[test]
fn the_default_rule_keeps_its_priority_10000_and_only_it_may() {
    let default = with("\"Cruddur\"", "\"Default\"").replacen("9000", "10000", 1);
    let f = load_rule_bytes("default.json", default.as_bytes()).unwrap();
    assert_eq!(f.rule.priority, 10000);
    assert_eq!(
        problems(&with("9000", "10000")),
        ["xray.json:5:17: SamplingRule.Priority must be within 1..=9999 (got 10000)"]
    );
    assert_eq!(
        problems(&default.replacen("10000", "10001", 1)),
        ["xray.json:5:17: SamplingRule.Priority must be within 1..=9999 (got 10001)"]
    );
}

#[test]
fn tags_are_loaded_as_a_map() {
    let src = with(
        "\n}",
        ",\n  \"Tags\": [{\"Key\": \"team\", \"Value\": \"obs\"}, {\"Key\": \"env\", \"Value\": \"\"}]\n}",
    );
    let f = load_rule_bytes("xray.json", src.as_bytes()).unwrap();
    assert_eq!(f.tags.get("team").map(String::as_str), Some("obs"));
    assert_eq!(f.tags.get("env").map(String::as_str), Some(""));
}

#[test]
fn each_problem_is_located_at_its_value() {
    let table: &[(&str, &str, &str)] = &[
        (
            "\"FixedRate\": 0.1",
            "\"FixedRate\": 1.5",
            "xray.json:6:18: SamplingRule.FixedRate must be within 0..=1 (got 1.5)",
        ),
        (
            "\"Priority\": 9000",
            "\"Priority\": \"9000\"",
            "xray.json:5:17: SamplingRule.Priority must be an integer (got \"9000\")",
        ),
        (
            "\"FixedRate\": 0.1",
            "\"FixedRate\": \"0.1\"",
            "xray.json:6:18: SamplingRule.FixedRate must be a number (got \"0.1\")",
        ),
        (
            "\"Priority\": 9000",
            "\"Priority\": 0",
            "xray.json:5:17: SamplingRule.Priority must be within 1..=9999 (got 0)",
        ),
        (
            "\"Priority\": 9000",
            "\"Priority\": 4294967296",
            "xray.json:5:17: SamplingRule.Priority is out of range for a 32-bit integer (got 4294967296)",
        ),
        (
            "\"Version\": 1",
            "\"Version\": 2",
            "xray.json:13:16: SamplingRule.Version must be 1 (got 2)",
        ),
        (
            "\"RuleName\": \"Cruddur\"",
            "\"RuleName\": \"\"",
            "xray.json:3:17: SamplingRule.RuleName must be 1..=32 characters long (got 0)",
        ),
        (
            "    \"URLPath\": \"*\",\n",
            "",
            "xray.json:2:19: missing required parameter SamplingRule.URLPath",
        ),
        (
            "    \"RuleName\": \"Cruddur\",\n",
            "",
            "xray.json:2:19: missing required parameter SamplingRule.RuleName (a new rule needs a name)",
        ),
        (
            "\"Host\": \"*\",",
            "\"Host\": \"*\", \"Colour\": \"blue\",",
            "xray.json:10:18: unknown parameter SamplingRule.Colour, must be one of: Attributes, FixedRate, HTTPMethod, Host, Priority, ReservoirSize, ResourceARN, RuleARN, RuleName, SamplingRateBoost, ServiceName, ServiceType, URLPath, Version",
        ),
        (
            "\n}",
            ",\n  \"Tags\": [{\"Key\": \"aws:team\", \"Value\": \"x\"}]\n}",
            "xray.json:15:20: Tags[0].Key must not start with \"aws:\" (reserved for AWS; got \"aws:team\")",
        ),
        (
            "\n}",
            ",\n  \"Tags\": [{\"Key\": \"AWS:team\", \"Value\": \"x\"}]\n}",
            "xray.json:15:20: Tags[0].Key must not start with \"aws:\" (reserved for AWS; got \"AWS:team\")",
        ),
        (
            "\n}",
            ",\n  \"Tags\": [{\"Key\": \"a\", \"Value\": \"x\"},\n    {\"Key\": \"a\", \"Value\": \"y\"}]\n}",
            "xray.json:16:13: Tags[1].Key \"a\" is given twice (first in Tags[0])",
        ),
        (
            "\n}",
            ",\n  \"Tagz\": []\n}",
            "xray.json:15:3: unknown parameter Tagz, must be one of: SamplingRule, Tags",
        ),
        (
            "\n}",
            ",\n  \"Tags\": [{\"Key\": \"a\"}]\n}",
            "xray.json:15:12: missing required parameter Tags[0].Value",
        ),
        (
            "\n}",
            ",\n  \"Tags\": {\"team\": \"x\"}\n}",
            "xray.json:15:11: Tags must be a list (got an object)",
        ),
        (
            "\"ReservoirSize\": 5",
            "\"ReservoirSize\": 5,\n    \"SamplingRateBoost\": {\"MaxRate\": 2, \"CooldownWindowMinutes\": 1}",
            "xray.json:8:38: SamplingRule.SamplingRateBoost.MaxRate must be within 0..=1 (got 2)",
        ),
        (
            "\"ReservoirSize\": 5",
            "\"ReservoirSize\": 5,\n    \"SamplingRateBoost\": {\"MaxRate\": 0.5}",
            "xray.json:8:26: missing required parameter SamplingRule.SamplingRateBoost.CooldownWindowMinutes",
        ),
    ];
    for (from, to, want) in table {
        let got = problems(&with(from, to));
        assert_eq!(
            got.first().map(String::as_str),
            Some(*want),
            "{to}: {got:?}"
        );
    }
}

#[test]
fn every_problem_is_collected_in_document_order() {
    let src = with("\"FixedRate\": 0.1", "\"FixedRate\": 1.5")
        .replacen("\"Priority\": 9000", "\"Priority\": 0", 1)
        .replacen("\"Version\": 1", "\"Version\": 3", 1);
    assert_eq!(
        problems(&src),
        [
            "xray.json:5:17: SamplingRule.Priority must be within 1..=9999 (got 0)",
            "xray.json:6:18: SamplingRule.FixedRate must be within 0..=1 (got 1.5)",
            "xray.json:13:16: SamplingRule.Version must be 1 (got 3)",
        ]
    );
}

#[test]
fn hard_inputs_each_give_one_clear_line() {
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (
            b"".to_vec(),
            "xray.json:1:1: the file is empty; expected a JSON object",
        ),
        (
            b" \n\n".to_vec(),
            "xray.json:3:1: the file is empty; expected a JSON object",
        ),
        (
            b"{\"SamplingRule\": \"caf\xe9\"}".to_vec(),
            "xray.json:1:22: not valid UTF-8 (byte offset 21); save the file as UTF-8",
        ),
        (
            b"{\"a\": 1,\n \"a\": 2}".to_vec(),
            "xray.json:2:2: duplicate key \"a\" (first at line 1, column 2)",
        ),
        (
            b"{\"SamplingRule\": {\"FixedRate\": 1e999}}".to_vec(),
            "xray.json:1:32: the number 1e999 is too large",
        ),
        (
            b"{\"SamplingRule\": {\"FixedRate\": NaN}}".to_vec(),
            "xray.json:1:32: NaN is not a JSON number; numbers must be finite",
        ),
        (
            b"[]".to_vec(),
            "xray.json:1:1: expected a JSON object like {\"SamplingRule\": {...}, \"Tags\": [...]}",
        ),
        (
            b"{\"SamplingRule\": {,}}".to_vec(),
            "xray.json:1:19: unexpected character ','; expected a key in double quotes",
        ),
    ];
    for (bytes, want) in cases {
        let got: Vec<String> = load_rule_bytes("xray.json", &bytes)
            .unwrap_err()
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(got, [want], "{}", String::from_utf8_lossy(&bytes));
    }
    let deep = format!("{{\"SamplingRule\": {}{}}}", "[".repeat(80), "]".repeat(80));
    assert_eq!(
        problems(&deep),
        ["xray.json:1:81: objects and lists nest deeper than 64 levels"]
    );
    let big = vec![b' '; (MAX_FILE_BYTES + 1) as usize];
    assert_eq!(
        load_rule_bytes("xray.json", &big).unwrap_err()[0].to_string(),
        "xray.json: is 1048577 bytes; rule files are limited to 1048576 bytes (1 MiB)"
    );
}

#[test]
fn a_byte_order_mark_is_allowed() {
    let src = format!("\u{feff}{CRUDDUR}");
    assert!(load_rule_bytes("xray.json", src.as_bytes()).is_ok());
}

#[test]
fn files_are_read_by_path_or_file_url() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("xray.json");
    std::fs::write(&path, CRUDDUR).unwrap();
    let p = path.to_str().unwrap();
    assert_eq!(load_rule_file(p).unwrap().path, p);
    let url = format!("file://{p}");
    assert_eq!(load_rule_file(&url).unwrap().path, p);

    let missing = dir.path().join("nope.json");
    let err = load_rule_file(missing.to_str().unwrap()).unwrap_err();
    assert_eq!(err.len(), 1);
    let line = err[0].to_string();
    assert!(
        line.starts_with(&format!("{}: cannot read: ", missing.display())),
        "{line}"
    );
    let err = load_rule_file(dir.path().to_str().unwrap()).unwrap_err();
    assert!(
        err[0]
            .to_string()
            .ends_with(": is a directory, not a rule file")
    );

    let big = dir.path().join("big.json");
    std::fs::write(&big, vec![b' '; (MAX_FILE_BYTES + 10) as usize]).unwrap();
    let err = load_rule_file(big.to_str().unwrap()).unwrap_err();
    assert!(
        err[0].to_string().contains("limited to 1048576 bytes"),
        "{}",
        err[0]
    );
}

#[test]
fn control_characters_from_the_file_are_escaped_in_messages() {
    // Found by the rule_file fuzz target: an escaped newline in a key made a two-line error.
    let bytes = b"{\n  \"SamplingRule\": {\n  \"Pri(.\\n\": 1\n  }\n}\n";
    let err = load_rule_bytes("f.json", bytes).unwrap_err();
    for problem in &err {
        assert!(!problem.to_string().contains('\n'), "{problem:?}");
    }
    assert!(
        err.iter().any(|p| p
            .to_string()
            .starts_with("f.json:3:3: unknown parameter SamplingRule.Pri(.\\n,")),
        "{err:?}"
    );
}
