//! Hard input through the binary: each case is one clear line and exit 252, with nothing
//! sent (the endpoint is a loopback listener that must see no connection), and quickly.

mod reliability_support;

use std::io::ErrorKind;
use std::net::TcpListener;
use std::time::{Duration, Instant};

use reliability_support::{Env, one_line_error, text};

/// "It did not hang", never a performance check.
const BOUND: Duration = Duration::from_secs(30);

/// A loopback listener nobody may connect to: input errors are found before any request.
struct Untouched {
    listener: TcpListener,
    url: String,
}

impl Untouched {
    fn new() -> Untouched {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        Untouched { listener, url }
    }

    fn assert_untouched(&self) {
        match self.listener.accept() {
            Err(e) if e.kind() == ErrorKind::WouldBlock => {}
            Err(e) => panic!("accept failed: {e}"),
            Ok((_, peer)) => panic!("a request was sent (connection from {peer})"),
        }
    }
}

const RULE: &str = r#"{
  "SamplingRule": {
    "RuleName": "Cruddur",
    "ResourceARN": "*",
    "Priority": 9000,
    "FixedRate": 0.1,
    "ReservoirSize": 5,
    "ServiceName": "backend-flask",
    "ServiceType": "*",
    "Host": "*",
    "HTTPMethod": "*",
    "URLPath": "*",
    "Version": 1
  }
}
"#;

/// Run create-sampling-rule and validate on the file; both exit 252 with the same first
/// problem, create-sampling-rule on one line. Returns create-sampling-rule's line.
fn rule_file_error(name: &str, bytes: &[u8]) -> String {
    let env = Env::new();
    let server = Untouched::new();
    let path = env.write(name, bytes);
    let start = Instant::now();
    let out = env
        .cmd()
        .args([
            "create-sampling-rule",
            "--file",
            &path,
            "--endpoint-url",
            &server.url,
        ])
        .output()
        .unwrap();
    let line = one_line_error(&out, &[252]);
    assert!(line.starts_with(&format!("error: {path}")), "{line}");
    let out = env
        .cmd()
        .args(["validate", "--file", &path])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(252));
    assert!(
        text(&out.stderr).starts_with(&line),
        "validate reports the same problem: {}",
        text(&out.stderr)
    );
    assert!(start.elapsed() < BOUND, "{name}");
    server.assert_untouched();
    line
}

fn with(field: &str, value: &str) -> String {
    let mut out = String::new();
    for l in RULE.lines() {
        if l.trim_start().starts_with(&format!("\"{field}\"")) {
            let comma = if l.ends_with(',') { "," } else { "" };
            out.push_str(&format!("    \"{field}\": {value}{comma}\n"));
        } else {
            out.push_str(l);
            out.push('\n');
        }
    }
    assert_ne!(out, RULE, "{field} is in the rule");
    out
}

#[test]
fn a_rule_file_over_1_mib_is_refused_unread() {
    let mut big = RULE.as_bytes().to_vec();
    big.resize(1024 * 1024 + 1, b' ');
    let line = rule_file_error("big.json", &big);
    assert!(
        line.ends_with(
            "big.json: is 1048577 bytes; rule files are limited to 1048576 bytes (1 MiB)"
        ),
        "{line}"
    );
}

#[test]
fn empty_and_non_utf8_rule_files() {
    assert!(
        rule_file_error("empty.json", b"")
            .ends_with("empty.json:1:1: the file is empty; expected a JSON object")
    );
    let mut latin1 = b"{\"SamplingRule\": {\"RuleName\": \"Caf".to_vec();
    latin1.extend_from_slice(&[0xe9, b'"', b'}', b'}']);
    let line = rule_file_error("latin1.json", &latin1);
    assert!(
        line.ends_with(
            "latin1.json:1:35: not valid UTF-8 (byte offset 34); save the file as UTF-8"
        ),
        "{line}"
    );
}

#[test]
fn deeply_nested_rule_files_stop_at_the_nesting_limit() {
    let deep = format!("{}{}", "[".repeat(200_000), "]".repeat(200_000));
    let line = rule_file_error("deep.json", deep.as_bytes());
    assert!(
        line.ends_with("deep.json:1:65: objects and lists nest deeper than 64 levels"),
        "{line}"
    );
    let objects = format!(
        "{}1{}",
        "{\"SamplingRule\": ".repeat(10_000),
        "}".repeat(10_000)
    );
    let line = rule_file_error("objects.json", objects.as_bytes());
    assert!(line.contains("nest deeper than 64 levels"), "{line}");
}

#[test]
fn duplicate_keys_are_refused_at_the_second() {
    let dup = RULE.replace(
        "\"Priority\": 9000,",
        "\"Priority\": 9000, \"Priority\": 1,",
    );
    let line = rule_file_error("dup.json", dup.as_bytes());
    assert!(
        line.ends_with("dup.json:5:23: duplicate key \"Priority\" (first at line 5, column 5)"),
        "{line}"
    );
}

#[test]
fn numbers_that_overflow_or_are_not_numbers() {
    let cases = [
        ("Priority", "1e400", "5:17: the number 1e400 is too large"),
        ("FixedRate", "1e999", "6:18: the number 1e999 is too large"),
        (
            "FixedRate",
            "NaN",
            "6:18: NaN is not a JSON number; numbers must be finite",
        ),
        ("FixedRate", "Infinity", "6:18: "),
        ("FixedRate", "-Infinity", "6:19: unexpected character 'I'"),
        (
            "Priority",
            "99999999999999999999999999999",
            "5:17: SamplingRule.Priority is out of range for a 32-bit integer",
        ),
        ("ReservoirSize", "-1", "7:22: SamplingRule.ReservoirSize "),
        (
            "ReservoirSize",
            "\"5\"",
            "7:22: SamplingRule.ReservoirSize must be an integer (got \"5\")",
        ),
        ("FixedRate", "\"0.1\"", "6:18: SamplingRule.FixedRate "),
        ("Version", "1.5", "13:16: SamplingRule.Version "),
    ];
    for (field, value, expected) in cases {
        let line = rule_file_error("n.json", with(field, value).as_bytes());
        assert!(
            line.contains(&format!("n.json:{expected}")),
            "{field}: {value}: {line}"
        );
    }
}

/// Linux refuses a single argument over 128 KiB (MAX_ARG_STRLEN), so the longest filter
/// expression a flag can carry is just under that; the 2 MB case runs in process below.
const LONGEST_ARG: usize = 120 * 1024;

#[test]
fn a_filter_expression_as_long_as_an_argument_can_be_is_checked_quickly() {
    let env = Env::new();
    let server = Untouched::new();
    let unit = "service(\"a\") AND ";
    let mut valid = unit.repeat(LONGEST_ARG / unit.len());
    valid.push_str("service(\"b\")");
    let broken = format!("{valid} AND (");
    for expr in [&broken, &"x".repeat(LONGEST_ARG)] {
        let start = Instant::now();
        let out = env
            .cmd()
            .args([
                "create-group",
                "--group-name",
                "G",
                "--filter-expression",
                expr,
            ])
            .args(["--endpoint-url", &server.url])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(252), "{}", text(&out.stderr));
        assert_eq!(text(&out.stdout), "");
        let stderr = text(&out.stderr);
        assert!(
            stderr.starts_with("error: --filter-expression:1:"),
            "{stderr}"
        );
        assert!(
            stderr.len() < 1000,
            "the caret rendering is windowed, not the whole expression: {} bytes",
            stderr.len()
        );
        let out = env
            .cmd()
            .args(["validate", "--filter-expression", expr])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(252));
        assert!(text(&out.stderr).len() < 1000);
        assert!(start.elapsed() < BOUND);
    }
    // A valid one is accepted by validate (and echoed as its result).
    let out = env
        .cmd()
        .args(["validate", "--filter-expression", &valid])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    server.assert_untouched();
}

#[test]
fn a_2_mb_filter_expression_is_checked_quickly_with_a_windowed_rendering() {
    use cruddur_xray::commands::{create_group, validate};
    let unit = "service(\"a\") AND ";
    let mut valid = unit.repeat(2 * 1024 * 1024 / unit.len());
    valid.push_str("service(\"b\")");
    let start = Instant::now();
    assert!(create_group::check_filter_expression(&valid).is_ok());
    for bad in [
        format!("{valid} AND ("),
        "x".repeat(2 * 1024 * 1024),
        format!("service(\"{}", "y".repeat(2 * 1024 * 1024)),
    ] {
        let e = create_group::check_filter_expression(&bad).unwrap_err();
        assert_eq!(e.exit().code(), 252);
        let shown = e.to_string();
        assert!(shown.starts_with("--filter-expression:1:"), "{shown}");
        assert!(shown.len() < 2000, "windowed: {} bytes", shown.len());
        let checked = validate::check_filter(&bad, false);
        assert!(!checked.ok && !checked.rendered.is_empty());
        for r in checked
            .rendered
            .iter()
            .chain(checked.problems.iter().map(|p| &p.message))
        {
            assert!(
                r.len() < 2000,
                "validate's text is windowed: {} bytes",
                r.len()
            );
        }
    }
    assert!(start.elapsed() < Duration::from_secs(60));
}

#[test]
fn control_characters_in_flags_are_refused_naming_the_flag() {
    let env = Env::new();
    let server = Untouched::new();
    let cases: [(&[&str], &str); 7] = [
        (
            &["create-group", "--group-name", "G\u{7}"],
            "error: --group-name must not contain control characters (found U+0007)",
        ),
        (
            &["create-group", "--group-name", "G", "--tag", "team=a\nb"],
            "error: --tag must not contain control characters (found U+000A in \"team=a\\nb\")",
        ),
        (
            &["create-group", "--group-name", "G", "--tag", "te\u{1b}am=a"],
            "error: --tag must not contain control characters (found U+001B in \"te\\u{1b}am=a\")",
        ),
        (
            &[
                "create-group",
                "--group-name",
                "G",
                "--region",
                "us-east-1\u{7}",
            ],
            "error: --region must be a region name such as us-east-1: lowercase letters, digits and '-' (got \"us-east-1\\u{7}\")",
        ),
        (
            &["verify", "--region", "us-east-1\n"],
            "error: --region must be a region name such as us-east-1: lowercase letters, digits and '-' (got \"us-east-1\\n\")",
        ),
        (
            &["create-group", "--group-name", "G", "--profile", "p\u{7}"],
            "error: --profile must not contain control characters (found U+0007)",
        ),
        (
            &[
                "send-test-trace",
                "--endpoint-url",
                "http://127.0.0.1:1/\u{7}",
            ],
            "error: --endpoint-url must be an http:// or https:// URL with a host (got \"http://127.0.0.1:1/\\u{7}\")",
        ),
    ];
    for (args, expected) in cases {
        let mut cmd = env.cmd();
        cmd.args(args);
        if !args.contains(&"--endpoint-url") {
            cmd.args(["--endpoint-url", &server.url]);
        }
        let out = cmd.output().unwrap();
        assert_eq!(one_line_error(&out, &[252]), expected, "{args:?}");
    }
    // An escape sequence in a filter expression is refused, and never echoed raw.
    let out = env
        .cmd()
        .args(["create-group", "--group-name", "G", "--filter-expression"])
        .arg("service(\"a\") \u{1b}[31m")
        .args(["--endpoint-url", &server.url])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(252));
    let stderr = text(&out.stderr);
    assert!(
        stderr.starts_with("error: --filter-expression:1:"),
        "{stderr}"
    );
    assert!(!stderr.contains('\u{1b}'), "no raw escape: {stderr:?}");
    server.assert_untouched();
}
