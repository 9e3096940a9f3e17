use std::collections::{BTreeMap, HashMap};

use proptest::prelude::*;

use super::*;
use crate::trace::{AnnotationValue, Http, HttpRequest, HttpResponse, Segment, Trace};

// ---------------------------------------------------------------------------------------------
// Parsing valid expressions

/// Every example from the X-Ray developer guide (as listed in NOTES.md) and the guide's
/// keyword tables, plus the Cruddur ones.
const VALID: &[&str] = &[
    r#"service("api.example.com") { fault }"#,
    "service() { fault }",
    r#"edge("api.example.com", "backend.example.com") { error }"#,
    r#"http.url BEGINSWITH "http://api.example.com/" AND http.url CONTAINS "/v2/" AND !service("api.example.com")"#,
    "http.url AND responseTime > 2",
    r#"annotation.gameid = "817DL6VO""#,
    "!annotation.age",
    r#"group.name = "high_response_time" AND user = "alice""#,
    r#"service(id(name: "random-name", type: "AWS::Lambda::Function")) { error }"#,
    "ok !partial duration <3",
    r#"service("backend-flask")"#,
    "responseTime > 2",
    "responsetime > 5",
    "duration >= 5 AND duration <= 8",
    "http.status = 500",
    "annotation.age > 29",
    "annotation.enabled = true",
    "fault = false",
    "error != true",
    "throttle OR fault",
    r#"service("api.example.com") { fault OR error }"#,
    r#"service(id(name: "api.example.com", type: "AWS::EC2::Instance", account.id: "123456789012")) { fault }"#,
    r#"edge(id(name: "a", type: "AWS::EC2::Instance"), "b") { responsetime > 2 }"#,
    r#"rootcause.fault.service { name = "Auth" AND type = "AWS::ECS::Container" AND index = 1 }"#,
    r#"rootcause.responsetime.entity { remote AND name = "Auth" AND coverage > 0.5 }"#,
    r#"rootcause.error.exception { message CONTAINS "timed out" }"#,
    "rootcause.fault.entity { first OR last }",
    "rootcause.fault.service",
    r#"rootcause.json = #[{ "Services": [ { "Name": "GetWeatherData", "EntityPath": [{ "Name": "GetWeatherData" }, { "Name": "get_temperature" } ] }, { "Name": "GetTemperature", "EntityPath": [ { "Name": "GetTemperature" } ] } ] }]"#,
    r#"group.arn = "arn:aws:xray:us-east-1:123456789012:group/Cruddur/ABC""#,
    r#"http.method = "POST" and http.useragent contains "curl" or http.clientip = "10.0.0.1""#,
    r#"availabilityzone = "us-east-1a" instance.id BEGINSWITH "i-" resource.arn ENDSWITH ":function:x""#,
    "!(ok OR error) AND (fault OR throttle)",
    "inferred AND root",
    "ok = TRUE AND Fault = False",
    "http.status >= 500 AND http.status < 600",
    "annotation.temperature <= -5.5",
    "\n  ok\n  AND\terror\n",
    r#"user = "with \"quotes\" and \\ backslash \u00e9""#,
];

#[test]
fn valid_expressions_parse() {
    for src in VALID {
        if let Err(errors) = parse(src) {
            panic!("{src:?} should parse, got {errors:?}");
        }
    }
}

#[test]
fn valid_expressions_print_canonically_and_reparse() {
    for src in VALID {
        let expr = parse(src).unwrap_or_else(|e| panic!("{src:?}: {e:?}"));
        let printed = expr.to_string();
        let again = parse(&printed).unwrap_or_else(|e| panic!("{printed:?}: {e:?}"));
        assert_eq!(expr, again, "{src:?} printed as {printed:?}");
    }
}

#[test]
fn parse_builds_the_expected_tree() {
    assert_eq!(
        parse("ok !partial duration <3").unwrap(),
        Expr::And(vec![
            Expr::Flag {
                keyword: FlagKeyword::Ok,
                test: None
            },
            Expr::Not(Box::new(Expr::Flag {
                keyword: FlagKeyword::Partial,
                test: None
            })),
            Expr::Number {
                keyword: NumberKeyword::Duration,
                op: NumOp::Lt,
                value: 3.0
            },
        ])
    );
    assert_eq!(
        parse("responseTime > 2").unwrap().to_string(),
        "responsetime > 2"
    );
    // OR binds looser than AND, implicit or explicit.
    assert_eq!(
        parse("ok error OR fault").unwrap().to_string(),
        "ok AND error OR fault"
    );
    assert_eq!(
        parse("ok (error OR fault)").unwrap().to_string(),
        "ok AND (error OR fault)"
    );
    assert_eq!(
        parse(r#"SERVICE(ID(NAME: "x")) { FAULT }"#)
            .unwrap()
            .to_string(),
        r#"service(id(name: "x")) { fault }"#
    );
    assert_eq!(
        parse(r#"user = "a\"b\\c\n""#).unwrap(),
        Expr::Text {
            keyword: TextKeyword::User,
            test: Some((StrOp::Eq, "a\"b\\c\n".into()))
        }
    );
}

// ---------------------------------------------------------------------------------------------
// Invalid expressions: (source, column of the first problem, part of its message)

const INVALID: &[(&str, usize, &str)] = &[
    ("resposetime > 5", 1, "did you mean `responsetime`?"),
    ("http.stauts = 500", 1, "did you mean `http.status`?"),
    ("annotations.age > 5", 1, "did you mean `annotation.age`?"),
    ("servce(\"a\")", 1, "did you mean `service`?"),
    ("frobnicate", 1, "unknown keyword `frobnicate`"),
    ("responsetime > \"fast\"", 16, "is a number"),
    (
        "http.url > 5",
        10,
        "does not apply to string keyword `http.url`",
    ),
    ("http.url = 5", 12, "put the value in double quotes"),
    (
        "http.status CONTAINS \"5\"",
        13,
        "does not apply to number keyword",
    ),
    ("ok < 3", 4, "does not apply to `ok`"),
    ("fault = 1", 9, "compare it with `true` or `false`"),
    ("duration", 1, "needs a comparison"),
    ("responsetime >", 15, "expected a number after `>`"),
    ("user = alice", 8, "put strings in double quotes"),
    ("annotation.x > \"a\"", 16, "compares numbers"),
    ("annotation.x CONTAINS 5", 23, "compares strings"),
    ("annotation.x < true", 16, "compares numbers"),
    ("annotation. = 1", 1, "needs a key"),
    ("annotation.a-b", 13, "unexpected character `-`"),
    ("annotation", 1, "needs a key"),
    (
        "annotation.x = 1 AND service(\"a\")",
        22,
        "cannot be combined with annotation",
    ),
    (
        "edge(\"a\", \"b\") OR annotation.x",
        19,
        "cannot be combined with service() or edge()",
    ),
    ("first", 1, "only applies inside a root-cause block"),
    ("name = \"x\"", 1, "only applies inside a root-cause block"),
    (
        "ok AND index = 1",
        8,
        "only applies inside a root-cause block",
    ),
    (
        "service(\"a\") { remote }",
        16,
        "only applies inside a root-cause block",
    ),
    (
        "rootcause.fault.service { coverage > 0.5 }",
        27,
        "only applies inside a `rootcause.responsetime.* { }` block",
    ),
    ("rootcause.fault", 1, "is incomplete or unknown"),
    (
        "rootcause.fault.servce",
        1,
        "did you mean `rootcause.fault.service`?",
    ),
    ("rootcause.json = #[{\"a\": }]", 18, "invalid JSON"),
    ("rootcause.json = #[1", 18, "unterminated `#[`"),
    ("rootcause.json", 15, "needs a value"),
    ("http.url = \"abc", 12, "unterminated string"),
    ("user = \"a\\qb\"", 10, "unknown escape `\\q`"),
    ("user = \"\\u12\"", 9, "4 hex digits"),
    ("(ok AND error", 1, "this `(` is never closed"),
    ("service(\"a\") { fault", 14, "this `{` is never closed"),
    ("service(\"a\"", 8, "this `(` is never closed"),
    ("(ok}", 4, "expected `)`, found `}`"),
    ("ok )", 4, "unmatched `)`"),
    ("ok }", 4, "unmatched `}`"),
    ("ok \"x\"", 4, "stray value"),
    ("ok error 5", 10, "stray value"),
    ("", 1, "empty filter expression"),
    ("  \n ", 1, "empty filter expression"),
    ("()", 1, "empty parentheses"),
    ("service() {}", 11, "empty `{}`"),
    ("ok AND", 7, "expected a filter term after `AND`"),
    ("ok OR", 6, "expected a filter term after `OR`"),
    ("!", 2, "expected a filter term after `!`"),
    ("AND ok", 1, "expected a filter term"),
    ("ok $ error", 4, "unexpected character `$`"),
    ("ok && error", 4, "write AND / OR"),
    ("user = 'alice'", 8, "strings go in double quotes"),
    ("true", 1, "is not a filter on its own"),
    ("CONTAINS \"x\"", 1, "needs a keyword before it"),
    ("id(name: \"x\")", 1, "names a service inside"),
    ("group.name != \"x\"", 12, "only supports `=`"),
    ("group.name", 11, "needs a value"),
    ("group = \"x\"", 1, "`group.name` or `group.arn`"),
    ("service", 8, "needs parentheses"),
    ("service(backend)", 9, "expected a quoted service name"),
    ("edge(\"a\")", 9, "edge() takes two services"),
    (
        "service(id())",
        11,
        "at least one of name, type or account.id",
    ),
    ("service(id(foo: \"x\"))", 12, "unknown id() field `foo`"),
    ("service(id(name: \"x\", name: \"y\"))", 23, "given twice"),
    ("service(id(name \"x\"))", 17, "expected `:`"),
    ("responsetime > 1e999", 16, "out of range"),
    ("résumé = 1", 1, "unknown keyword `résumé`"),
];

#[test]
fn invalid_expressions_report_column_and_message() {
    for (src, column, needle) in INVALID {
        let errors = match parse(src) {
            Ok(e) => panic!("{src:?} should fail, parsed as {e:?}"),
            Err(errors) => errors,
        };
        let first = &errors[0];
        assert_eq!(
            (first.line, first.column),
            (1, *column),
            "{src:?}: {errors:?}"
        );
        assert!(
            first.message.contains(needle),
            "{src:?}: expected {needle:?} in {:?}",
            first.message
        );
    }
}

#[test]
fn every_problem_is_reported_in_source_order() {
    let src = "resposetime > 5 AND http.url > 5\n  AND first AND user = \"open";
    let errors = parse(src).unwrap_err();
    let found: Vec<(usize, usize)> = errors.iter().map(|e| (e.line, e.column)).collect();
    assert_eq!(found, vec![(1, 1), (1, 30), (2, 7), (2, 24)], "{errors:?}");
    assert!(errors[0].message.contains("responsetime"));
    assert!(errors[1].message.contains("string keyword"));
    assert!(errors[2].message.contains("root-cause block"));
    assert!(errors[3].message.contains("unterminated string"));
}

#[test]
fn recovery_keeps_checking_after_a_bad_block_or_argument() {
    let errors = parse("service(backend) { fault } AND (ok \"x\") AND duration").unwrap_err();
    let columns: Vec<usize> = errors.iter().map(|e| e.column).collect();
    assert_eq!(columns, vec![9, 36, 45], "{errors:?}");
}

#[test]
fn columns_count_characters_and_lines_start_at_one() {
    let src = "user = \"é☃\"\nAND   frob";
    let errors = parse(src).unwrap_err();
    assert_eq!(errors.len(), 1);
    assert_eq!((errors[0].line, errors[0].column), (2, 7));
    assert_eq!(
        &src[errors[0].offset..errors[0].offset + errors[0].len],
        "frob"
    );
    let src = "user = \"é☃\" frob";
    let e = &parse(src).unwrap_err()[0];
    assert_eq!((e.line, e.column), (1, 13));
}

#[test]
fn too_many_problems_are_capped() {
    let src = "$ ok ".repeat(500);
    let errors = parse(&src).unwrap_err();
    assert_eq!(errors.len(), MAX_ERRORS + 1);
    assert!(errors[MAX_ERRORS].message.contains("too many problems"));
}

// ---------------------------------------------------------------------------------------------
// Bounded parsing

#[test]
fn deep_nesting_is_an_error_not_a_stack_overflow() {
    // The problem points at the opener one past the limit.
    for (src, column) in [
        (
            format!("{}ok{}", "(".repeat(100_000), ")".repeat(100_000)),
            MAX_DEPTH + 1,
        ),
        (format!("{}ok", "!".repeat(1_000_000)), MAX_DEPTH + 1),
        (
            format!("{}ok{}", "service() { ".repeat(10_000), " }".repeat(10_000)),
            MAX_DEPTH * 12 + 11,
        ),
        ("(".repeat(1_000_000), MAX_DEPTH + 1),
    ] {
        let errors = parse(&src).unwrap_err();
        assert_eq!(errors.len(), 1, "{:?}", &errors[..errors.len().min(3)]);
        assert!(errors[0].message.contains("nests more than 64 levels"));
        assert_eq!(errors[0].column, column);
    }
    let ok = format!("{}ok{}", "(".repeat(MAX_DEPTH), ")".repeat(MAX_DEPTH));
    assert!(parse(&ok).is_ok());
}

#[test]
fn megabyte_inputs_parse_in_one_pass() {
    let long_and = format!("{}ok", "ok AND ".repeat(200_000));
    match parse(&long_and).unwrap() {
        Expr::And(items) => assert_eq!(items.len(), 200_001),
        other => panic!("expected And, got {other:?}"),
    }
    let long_or = format!("{}fault", "error OR ".repeat(150_000));
    assert!(matches!(parse(&long_or).unwrap(), Expr::Or(v) if v.len() == 150_001));
    let long_string = format!("user = \"{}\"", "x".repeat(2_000_000));
    assert!(parse(&long_string).is_ok());
    let long_word = "y".repeat(1_000_000);
    let errors = parse(&long_word).unwrap_err();
    assert_eq!(errors.len(), 1);
    assert!(errors[0].message.len() < 200, "message is shortened");
    for garbage in [
        ")".repeat(1_000_000),
        "\"".repeat(1_000_001),
        "x ".repeat(500_000),
    ] {
        let errors = parse(&garbage).unwrap_err();
        assert!(!errors.is_empty() && errors.len() <= MAX_ERRORS + 1);
    }
}

// ---------------------------------------------------------------------------------------------
// Rendering and serialisation

#[test]
fn render_plain_matches_rustc_style() {
    let src = "resposetime > 5";
    let e = &parse(src).unwrap_err()[0];
    assert_eq!(
        e.render(src, false),
        "error: unknown keyword `resposetime`; did you mean `responsetime`?\n  |\n1 | resposetime > 5\n  | ^^^^^^^^^^^\n"
    );
    assert_eq!(
        e.to_string(),
        "1:1: unknown keyword `resposetime`; did you mean `responsetime`?"
    );
}

#[test]
fn render_points_at_the_right_line_and_widens_the_gutter() {
    let src = format!("{}frob", "ok\n".repeat(11));
    let e = &parse(&src).unwrap_err()[0];
    assert_eq!(e.line, 12);
    assert_eq!(
        e.render(&src, false),
        "error: unknown keyword `frob`\n   |\n12 | frob\n   | ^^^^\n"
    );
    // Tabs are drawn as four spaces and the caret follows them.
    let src = "ok\tfrob";
    let e = &parse(src).unwrap_err()[0];
    assert!(
        e.render(src, false)
            .ends_with("1 | ok    frob\n  |       ^^^^\n")
    );
    // The end of input gets a caret after the last character.
    let src = "ok AND";
    let e = &parse(src).unwrap_err()[0];
    assert!(e.render(src, false).ends_with("1 | ok AND\n  |       ^\n"));
}

#[test]
fn render_cuts_long_lines_to_a_window() {
    let src = format!("{}frob", "ok ".repeat(1000));
    let e = &parse(&src).unwrap_err()[0];
    let out = e.render(&src, false);
    let lines: Vec<&str> = out.lines().collect();
    assert!(lines[2].starts_with("1 | ...ok "), "{out}");
    assert!(lines[2].len() < 120, "{out}");
    let caret_at = lines[3].find('^').unwrap();
    assert_eq!(&lines[2][caret_at..caret_at + 4], "frob");
}

#[test]
fn render_uses_ansi_only_with_color() {
    let src = "frob";
    let e = &parse(src).unwrap_err()[0];
    assert!(!e.render(src, false).contains('\x1b'));
    let colored = e.render(src, true);
    assert!(colored.starts_with("\x1b[1;31merror\x1b[0m"));
    assert!(colored.contains("\x1b[1;31m^^^^\x1b[0m"));
}

#[test]
fn render_errors_joins_every_problem_and_from_str_parses() {
    let src = "frob AND http.url > 5";
    let errors = parse(src).unwrap_err();
    assert_eq!(
        render_errors(&errors, src, false),
        "error: unknown keyword `frob`\n  |\n1 | frob AND http.url > 5\n  | ^^^^\n\n\
         error: operator `>` does not apply to string keyword `http.url`; use =, !=, CONTAINS, BEGINSWITH or ENDSWITH\n  |\n1 | frob AND http.url > 5\n  |                   ^\n"
    );
    let expr: Expr = "fault OR error".parse().unwrap();
    assert_eq!(expr.to_string(), "fault OR error");
    assert!("fault OR".parse::<Expr>().is_err());
}

#[test]
fn errors_serialize_to_line_column_message() {
    let e = &parse("ok\n  frob").unwrap_err()[0];
    assert_eq!(
        serde_json::to_value(e).unwrap(),
        serde_json::json!({"line": 2, "column": 3, "message": "unknown keyword `frob`"})
    );
}

#[test]
fn referenced_services_lists_names_in_source_order() {
    let e = parse(
        r#"service("backend-flash") { fault } OR edge("frontend", id(name: "db", type: "x")) OR service(id(type: "AWS::Lambda")) OR service("frontend")"#,
    )
    .unwrap();
    assert_eq!(
        referenced_services(&e),
        vec!["backend-flash", "frontend", "db"]
    );
    assert!(referenced_services(&parse("ok").unwrap()).is_empty());
}

// ---------------------------------------------------------------------------------------------
// Property tests

fn text() -> impl Strategy<Value = String> {
    prop_oneof![any::<String>(), "[a-z.\\-/ \"\\\\]{0,12}"]
}

fn number() -> impl Strategy<Value = f64> {
    prop_oneof![
        any::<i32>().prop_map(f64::from),
        prop::num::f64::POSITIVE
            | prop::num::f64::NEGATIVE
            | prop::num::f64::NORMAL
            | prop::num::f64::SUBNORMAL
            | prop::num::f64::ZERO,
    ]
}

fn num_op() -> impl Strategy<Value = NumOp> {
    prop::sample::select(vec![
        NumOp::Eq,
        NumOp::Ne,
        NumOp::Lt,
        NumOp::Le,
        NumOp::Gt,
        NumOp::Ge,
    ])
}

fn str_op() -> impl Strategy<Value = StrOp> {
    prop::sample::select(vec![
        StrOp::Eq,
        StrOp::Ne,
        StrOp::Contains,
        StrOp::BeginsWith,
        StrOp::EndsWith,
    ])
}

fn eq_op() -> impl Strategy<Value = EqOp> {
    prop::sample::select(vec![EqOp::Eq, EqOp::Ne])
}

const ROOTCAUSE_ONLY: &[&str] = &[
    "first", "last", "remote", "index", "coverage", "name", "type", "message",
];

/// Keyword leaves. `coverage` only when `coverage`, root-cause keywords only when `rootcause`.
fn keyword_leaf(rootcause: bool, coverage: bool) -> BoxedStrategy<Expr> {
    let allowed = move |k: &str| {
        if k == "coverage" {
            coverage
        } else {
            rootcause || !ROOTCAUSE_ONLY.contains(&k)
        }
    };
    let flags: Vec<FlagKeyword> = FlagKeyword::ALL
        .iter()
        .copied()
        .filter(|k| allowed(k.as_str()))
        .collect();
    let numbers: Vec<NumberKeyword> = NumberKeyword::ALL
        .iter()
        .copied()
        .filter(|k| allowed(k.as_str()))
        .collect();
    let texts: Vec<TextKeyword> = TextKeyword::ALL
        .iter()
        .copied()
        .filter(|k| allowed(k.as_str()))
        .collect();
    prop_oneof![
        (
            prop::sample::select(flags),
            prop::option::of((eq_op(), any::<bool>()))
        )
            .prop_map(|(keyword, test)| Expr::Flag { keyword, test }),
        (prop::sample::select(numbers), num_op(), number())
            .prop_map(|(keyword, op, value)| Expr::Number { keyword, op, value }),
        (
            prop::sample::select(texts),
            prop::option::of((str_op(), text()))
        )
            .prop_map(|(keyword, test)| Expr::Text { keyword, test }),
        "[a-z][a-z0-9.]{0,8}".prop_map(|v| Expr::Group {
            by: GroupKey::Name,
            value: v
        }),
        text().prop_map(|v| Expr::Group {
            by: GroupKey::Arn,
            value: v
        }),
    ]
    .boxed()
}

fn annotation_leaf() -> BoxedStrategy<Expr> {
    let test = prop_oneof![
        (num_op(), number()).prop_map(|(o, v)| AnnotationTest::Number(o, v)),
        (str_op(), text()).prop_map(|(o, v)| AnnotationTest::Text(o, v)),
        (eq_op(), any::<bool>()).prop_map(|(o, v)| AnnotationTest::Bool(o, v)),
    ];
    ("[A-Za-z0-9_]{1,10}", prop::option::of(test))
        .prop_map(|(key, test)| Expr::Annotation { key, test })
        .boxed()
}

fn service_ref() -> impl Strategy<Value = ServiceRef> {
    prop_oneof![
        text().prop_map(ServiceRef::Name),
        (
            prop::option::of(text()),
            prop::option::of(text()),
            prop::option::of("[0-9]{12}")
        )
            .prop_filter("id() needs a field", |(a, b, c)| a.is_some()
                || b.is_some()
                || c.is_some())
            .prop_map(|(name, kind, account_id)| ServiceRef::Id {
                name,
                kind,
                account_id
            }),
    ]
}

fn json_value() -> impl Strategy<Value = serde_json::Value> {
    let leaf = prop_oneof![
        any::<bool>().prop_map(serde_json::Value::from),
        any::<i64>().prop_map(serde_json::Value::from),
        text().prop_map(serde_json::Value::from),
        Just(serde_json::Value::Null),
    ];
    let tree = leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::from),
            prop::collection::btree_map(text(), inner, 0..4)
                .prop_map(|m| { serde_json::Value::Object(m.into_iter().collect()) }),
        ]
    });
    prop::collection::vec(tree, 0..3).prop_map(serde_json::Value::from)
}

fn combine(inner: BoxedStrategy<Expr>) -> BoxedStrategy<Expr> {
    prop_oneof![
        prop::collection::vec(inner.clone(), 2..4).prop_map(Expr::And),
        prop::collection::vec(inner.clone(), 2..4).prop_map(Expr::Or),
        inner.prop_map(|e| Expr::Not(Box::new(e))),
    ]
    .boxed()
}

/// Expressions inside a `rootcause.<kind>.* { }` block.
fn rootcause_block(kind: RootCauseKind) -> BoxedStrategy<Expr> {
    keyword_leaf(true, kind == RootCauseKind::ResponseTime)
        .prop_recursive(2, 8, 3, |inner| combine(inner.boxed()))
        .boxed()
}

fn rootcause() -> BoxedStrategy<Expr> {
    let kinds = prop::sample::select(RootCauseKind::ALL.to_vec());
    let targets = prop::sample::select(RootCauseTarget::ALL.to_vec());
    prop_oneof![
        (kinds, targets).prop_flat_map(|(kind, target)| {
            prop::option::of(rootcause_block(kind)).prop_map(move |f| Expr::RootCause {
                kind,
                target,
                filter: f.map(Box::new),
            })
        }),
        json_value().prop_map(Expr::RootCauseJson),
    ]
    .boxed()
}

/// A whole valid expression: annotation.KEY and service()/edge() never meet.
fn valid_expr() -> BoxedStrategy<Expr> {
    let with_annotations = prop_oneof![
        3 => keyword_leaf(false, false),
        2 => annotation_leaf(),
        1 => rootcause(),
    ]
    .prop_recursive(4, 24, 4, |inner| combine(inner.boxed()));
    let with_services = prop_oneof![
        3 => keyword_leaf(false, false),
        1 => rootcause(),
    ]
    .prop_recursive(4, 24, 4, |inner| {
        let inner = inner.boxed();
        prop_oneof![
            3 => combine(inner.clone()),
            1 => (prop::option::of(service_ref()), prop::option::of(inner.clone()))
                .prop_map(|(service, f)| Expr::Service { service, filter: f.map(Box::new) }),
            1 => (service_ref(), service_ref(), prop::option::of(inner))
                .prop_map(|(from, to, f)| Expr::Edge { from, to, filter: f.map(Box::new) }),
        ]
    });
    prop_oneof![with_annotations, with_services].boxed()
}

/// Token soup: plausible pieces in random order, to reach deep parser paths.
fn soup() -> impl Strategy<Value = String> {
    let pieces = prop::sample::select(vec![
        "ok",
        "!",
        "(",
        ")",
        "{",
        "}",
        ",",
        ":",
        "=",
        "!=",
        "<",
        ">=",
        "AND",
        "or",
        "service",
        "edge",
        "id",
        "name",
        "type",
        "account.id",
        "annotation.x",
        "annotation.",
        "\"s\"",
        "\"",
        "5",
        "-3.5",
        "1e400",
        "true",
        "CONTAINS",
        "rootcause.fault.service",
        "rootcause.json",
        "#[",
        "]",
        "#[{\"a\":1}]",
        "group.name",
        "coverage",
        "first",
        "\\",
        "é",
        "\n",
        "\t",
        "$",
        "responsetime",
        "http.url",
        "user",
        "rootcause.responsetime.entity",
    ]);
    prop::collection::vec(pieces, 0..40).prop_map(|v| v.join(" "))
}

fn check_errors_are_well_formed(src: &str, errors: &[FilterError]) {
    assert!(!errors.is_empty());
    assert!(errors.len() <= MAX_ERRORS + 1);
    for pair in errors.windows(2) {
        assert!(pair[0].offset < pair[1].offset, "{errors:?}");
    }
    for e in errors {
        assert!(e.offset <= src.len() && e.len >= 1 && e.line >= 1 && e.column >= 1);
        assert!(!e.message.is_empty());
        let drawn = e.render(src, false);
        assert!(drawn.contains('^'));
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn printing_then_parsing_gives_the_same_tree(expr in valid_expr()) {
        let printed = expr.to_string();
        match parse(&printed) {
            Ok(back) => prop_assert_eq!(back, expr, "printed as {}", printed),
            Err(errors) => prop_assert!(false, "{} failed: {:?}", printed, errors),
        }
    }

    #[test]
    fn arbitrary_strings_never_panic(src in any::<String>()) {
        if let Err(errors) = parse(&src) {
            check_errors_are_well_formed(&src, &errors);
        }
    }

    #[test]
    fn token_soup_never_panics(src in soup()) {
        match parse(&src) {
            Ok(expr) => {
                // Whatever parses prints to something that parses to the same tree.
                let printed = expr.to_string();
                prop_assert_eq!(parse(&printed).ok(), Some(expr));
            }
            Err(errors) => check_errors_are_well_formed(&src, &errors),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Evaluation

fn seg(id: &str, name: &str, start: f64, end: f64) -> Segment {
    Segment {
        id: id.into(),
        name: name.into(),
        trace_id: Some("1-5f84c7a1-a6a2c7e3b9f2b8f1a4c3d2e1".into()),
        start_time: start,
        end_time: Some(end),
        in_progress: false,
        parent_id: None,
        kind: None,
        origin: None,
        user: None,
        namespace: None,
        http: None,
        error: false,
        fault: false,
        throttle: false,
        annotations: BTreeMap::new(),
        aws: None,
        cause: None,
        subsegments: Vec::new(),
    }
}

fn sub(id: &str, name: &str, start: f64, end: f64, namespace: Option<&str>) -> Segment {
    Segment {
        trace_id: None,
        namespace: namespace.map(str::to_string),
        ..seg(id, name, start, end)
    }
}

/// frontend (root, GET /api/activities/home -> 500, user alice, annotations)
///   └ remote call "backend-flask" (fault)
///       └ segment backend-flask (fault, ECS, account, ec2)
///           ├ aws call "DynamoDB" (fault, exception; no segment of its own: inferred)
///           └ remote call "postgres" (error)
///               └ local subsegment "query" (annotation query_ok = false)
fn cruddur_trace() -> Trace {
    let mut root = seg("r", "frontend", 0.0, 3.0);
    root.user = Some("alice".into());
    root.http = Some(Http {
        request: Some(HttpRequest {
            method: Some("GET".into()),
            url: Some("https://cruddur.com/api/activities/home".into()),
            user_agent: Some("curl/8.5".into()),
            client_ip: Some("10.0.0.7".into()),
        }),
        response: Some(HttpResponse {
            status: Some(500),
            content_length: None,
        }),
    });
    root.annotations
        .insert("gameid".into(), AnnotationValue::String("817DL6VO".into()));
    root.annotations
        .insert("age".into(), AnnotationValue::Number(30.0));
    let mut call = sub("r1", "backend-flask", 0.1, 2.9, Some("remote"));
    call.fault = true;
    root.subsegments.push(call);

    let mut backend = seg("b", "backend-flask", 0.2, 2.8);
    backend.parent_id = Some("r1".into());
    backend.fault = true;
    backend.origin = Some("AWS::ECS::Container".into());
    backend.aws = Some(serde_json::json!({
        "account_id": "123456789012",
        "ec2": {"availability_zone": "us-east-1a", "instance_id": "i-0abc"}
    }));
    let mut dynamo = sub("b1", "DynamoDB", 0.3, 2.7, Some("aws"));
    dynamo.fault = true;
    dynamo.cause = Some(serde_json::json!({"exceptions": [
        {"id": "e1", "type": "ProvisionedThroughputExceededException", "message": "Rate exceeded", "remote": true}
    ]}));
    let mut pg = sub("b2", "postgres", 0.3, 0.4, Some("remote"));
    pg.error = true;
    let mut query = sub("b3", "query", 0.31, 0.39, None);
    query
        .annotations
        .insert("query_ok".into(), AnnotationValue::Bool(false));
    pg.subsegments.push(query);
    backend.subsegments.push(dynamo);
    backend.subsegments.push(pg);
    Trace {
        id: "1-5f84c7a1-a6a2c7e3b9f2b8f1a4c3d2e1".into(),
        // Documents arrive in any order.
        segments: vec![backend, root],
    }
}

fn healthy_trace() -> Trace {
    let mut root = seg("h", "frontend", 10.0, 10.5);
    root.http = Some(Http {
        request: Some(HttpRequest {
            method: Some("POST".into()),
            url: Some("https://cruddur.com/api/messages".into()),
            ..HttpRequest::default()
        }),
        response: Some(HttpResponse {
            status: Some(200),
            content_length: Some(12),
        }),
    });
    Trace {
        id: "1-healthy".into(),
        segments: vec![root],
    }
}

struct Groups(HashMap<&'static str, Option<&'static str>>);

impl GroupLookup for Groups {
    fn group_filter(&self, name_or_arn: &str) -> Option<Option<Expr>> {
        let filter = self.0.get(name_or_arn)?;
        Some(filter.map(|f| parse(f).expect("group filter parses")))
    }
}

fn groups() -> Groups {
    Groups(HashMap::from([
        ("slow", Some("responsetime > 2")),
        ("Default", None),
        (
            "arn:aws:xray:us-east-1:123456789012:group/slow/X",
            Some("responsetime > 2"),
        ),
        ("loop", Some(r#"group.name = "loop""#)),
        ("ping", Some(r#"group.name = "pong" OR fault"#)),
        ("pong", Some(r#"group.name = "ping""#)),
    ]))
}

fn check(trace: &Trace, cases: &[(&str, bool)]) {
    let groups = groups();
    for (src, want) in cases {
        let expr = parse(src).unwrap_or_else(|e| panic!("{src:?}: {e:?}"));
        assert_eq!(matches(&expr, trace, &groups), *want, "{src}");
    }
}

#[test]
fn eval_flags_numbers_and_http() {
    check(
        &cruddur_trace(),
        &[
            ("fault", true),
            ("fault = true", true),
            ("fault != true", false),
            ("ok", false),
            ("error", false), // only a subsegment errs
            ("throttle", false),
            ("partial", false),
            ("root", true),
            ("inferred", true),
            ("responsetime > 2", true),
            ("responsetime >= 3", true),
            ("responsetime < 3", false),
            ("duration = 3", true),
            ("http.status = 500", true),
            ("http.status >= 500 AND http.status < 600", true),
            ("http.status != 500", false),
            (r#"http.url CONTAINS "/api/""#, true),
            (r#"http.url BEGINSWITH "https://cruddur.com/""#, true),
            (r#"http.url ENDSWITH "/home""#, true),
            (r#"http.url CONTAINS "/API/""#, false),
            (
                r#"http.method = "GET" AND http.useragent BEGINSWITH "curl""#,
                true,
            ),
            (r#"http.clientip = "10.0.0.7""#, true),
            ("http.url AND responseTime > 2", true),
            (r#"user = "alice""#, true),
            (r#"user != "alice""#, false),
            (r#"user != "bob""#, true),
            // The root segment carries no EC2 metadata; the backend does.
            (r#"availabilityzone = "us-east-1a""#, false),
            (
                r#"service("backend-flask") { availabilityzone = "us-east-1a" }"#,
                true,
            ),
            (
                r#"service("backend-flask") { instance.id = "i-0abc" }"#,
                true,
            ),
            ("resource.arn", false),
            ("!resource.arn", true),
            ("ok OR fault AND !throttle", true),
            ("!(fault OR error)", false),
        ],
    );
    check(
        &healthy_trace(),
        &[
            ("ok", true),
            ("ok = false", false),
            ("fault = false", true),
            ("inferred", false),
            ("http.status = 200", true),
            ("responsetime < 1 AND duration = 0.5", true),
            ("user", false),
            ("!user", true),
            (r#"user != "alice""#, false),
            ("http.url AND responseTime > 2", false),
        ],
    );
}

#[test]
fn eval_annotations_from_any_segment() {
    check(
        &cruddur_trace(),
        &[
            (r#"annotation.gameid = "817DL6VO""#, true),
            (r#"annotation.gameid CONTAINS "DL6""#, true),
            (r#"annotation.gameid != "817DL6VO""#, false),
            ("annotation.age > 29", true),
            ("annotation.age = 30 AND annotation.age != 31", true),
            // A string comparison never matches a number annotation.
            (r#"annotation.age = "30""#, false),
            ("annotation.age", true),
            ("!annotation.age", false),
            ("!annotation.missing", true),
            // On a subsegment two levels down.
            ("annotation.query_ok = false", true),
            ("annotation.query_ok = true", false),
            ("annotation.query_ok != true", true),
        ],
    );
    check(&healthy_trace(), &[("!annotation.age", true)]);
}

#[test]
fn eval_services_and_service_blocks() {
    check(
        &cruddur_trace(),
        &[
            (r#"service("backend-flask")"#, true),
            (r#"service("backend-flash")"#, false),
            (r#"service("DynamoDB")"#, true), // inferred from an aws subsegment
            (r#"service("query")"#, false),   // a local subsegment is no service
            ("service()", true),
            (r#"service("backend-flask") { fault }"#, true),
            (r#"service("frontend") { fault }"#, false),
            (r#"service("frontend") { http.status = 500 }"#, true),
            (r#"service("backend-flask") { http.status = 500 }"#, false),
            (
                r#"service("backend-flask") { responsetime > 2.5 AND responsetime < 2.7 }"#,
                true,
            ),
            (r#"service("DynamoDB") { fault }"#, true),
            ("service() { fault }", true),
            ("service() { throttle }", false),
            (
                r#"service(id(name: "backend-flask", type: "AWS::ECS::Container")) { fault }"#,
                true,
            ),
            (
                r#"service(id(name: "backend-flask", type: "AWS::Lambda::Function"))"#,
                false,
            ),
            (r#"service(id(account.id: "123456789012"))"#, true),
            (r#"service(id(account.id: "000000000000"))"#, false),
            (r#"!service("backend-flash")"#, true),
        ],
    );
}

#[test]
fn eval_edges() {
    check(
        &cruddur_trace(),
        &[
            (r#"edge("frontend", "backend-flask")"#, true),
            (r#"edge("frontend", "backend-flask") { fault }"#, true),
            (
                r#"edge("frontend", "backend-flask") { responsetime > 2.7 }"#,
                true,
            ),
            (r#"edge("backend-flask", "DynamoDB") { fault }"#, true),
            (r#"edge("backend-flask", "postgres") { error }"#, true),
            (r#"edge("backend-flask", "postgres") { fault }"#, false),
            (r#"edge("backend-flask", "frontend")"#, false),
            (r#"edge("frontend", "DynamoDB")"#, false),
            (
                r#"edge("frontend", id(name: "backend-flask", type: "AWS::ECS::Container"))"#,
                true,
            ),
        ],
    );
}

#[test]
fn eval_groups_resolve_and_stop_at_cycles() {
    let trace = cruddur_trace();
    check(
        &trace,
        &[
            (r#"group.name = "slow""#, true),
            (r#"group.name = "slow" AND user = "alice""#, true),
            (
                r#"group.arn = "arn:aws:xray:us-east-1:123456789012:group/slow/X""#,
                true,
            ),
            (r#"group.name = "Default""#, true),
            (r#"group.name = "missing""#, false),
            (r#"group.name = "loop""#, false),
            (r#"!group.name = "loop""#, true),
            // ping -> pong -> ping is cut, then ping's `OR fault` decides.
            (r#"group.name = "ping""#, true),
            (r#"group.name = "pong""#, true),
        ],
    );
    check(
        &healthy_trace(),
        &[
            (r#"group.name = "slow""#, false),
            (r#"group.name = "ping""#, false),
        ],
    );
    let expr = parse(r#"group.name = "slow""#).unwrap();
    assert!(!matches(&expr, &trace, &NoGroups));
}

#[test]
fn eval_root_causes() {
    check(
        &cruddur_trace(),
        &[
            ("rootcause.fault.service", true),
            (
                r#"rootcause.fault.service { name = "DynamoDB" AND last AND inferred }"#,
                true,
            ),
            (
                r#"rootcause.fault.service { name = "frontend" AND first AND root }"#,
                true,
            ),
            (
                r#"rootcause.fault.service { name = "backend-flask" AND index = 1 }"#,
                true,
            ),
            (
                r#"rootcause.fault.service { name = "backend-flask" AND type = "AWS::ECS::Container" }"#,
                true,
            ),
            (r#"rootcause.fault.service { name = "postgres" }"#, false),
            (
                r#"rootcause.fault.entity { name = "DynamoDB" AND remote AND last }"#,
                true,
            ),
            (
                r#"rootcause.fault.exception { name = "ProvisionedThroughputExceededException" AND message CONTAINS "Rate" }"#,
                true,
            ),
            (
                r#"rootcause.error.entity { name = "postgres" AND remote }"#,
                true,
            ),
            (r#"rootcause.error.exception"#, false),
            (
                r#"rootcause.responsetime.entity { name = "DynamoDB" AND last }"#,
                true,
            ),
            (
                r#"rootcause.responsetime.entity { name = "DynamoDB" AND coverage > 0.79 AND coverage < 0.81 }"#,
                true,
            ),
            (
                r#"rootcause.json = #[{"Services": [{"Name": "frontend"}, {"Name": "backend-flask", "Type": "AWS::ECS::Container"}, {"Name": "DynamoDB", "Inferred": true, "EntityPath": [{"Name": "DynamoDB"}]}]}]"#,
                true,
            ),
            (
                r#"rootcause.json = #[{"Services": [{"Name": "frontend"}, {"Name": "backend-flask"}]}]"#,
                false,
            ),
        ],
    );
    check(
        &healthy_trace(),
        &[
            ("rootcause.fault.service", false),
            ("rootcause.responsetime.service", true),
        ],
    );
}

#[test]
fn eval_partial_and_in_progress_traces() {
    let mut trace = cruddur_trace();
    trace.segments[0].in_progress = true;
    trace.segments[0].end_time = None;
    let mut throttled = seg("t", "notifications", 1.0, 1.2);
    throttled.throttle = true;
    throttled.kind = None;
    trace.segments.push(throttled);
    check(
        &trace,
        &[
            ("partial", true),
            ("throttle", true),
            (r#"service("notifications") { throttle }"#, true),
            (r#"service("backend-flask") { responsetime > 0 }"#, false),
            ("responsetime > 2", true), // the root segment is complete
        ],
    );
}

#[test]
fn eval_survives_parent_cycles() {
    let mut a = seg("a", "svc-a", 0.0, 1.0);
    a.parent_id = Some("b1".into());
    a.fault = true;
    a.subsegments
        .push(sub("a1", "svc-b", 0.1, 0.9, Some("remote")));
    let mut b = seg("b", "svc-b", 0.2, 0.8);
    b.parent_id = Some("a1".into());
    b.fault = true;
    b.subsegments
        .push(sub("b1", "svc-a", 0.3, 0.7, Some("remote")));
    let trace = Trace {
        id: "cycle".into(),
        segments: vec![a, b],
    };
    check(
        &trace,
        &[
            ("fault", true),
            ("root", false),
            (r#"edge("svc-a", "svc-b")"#, true),
            ("rootcause.fault.entity", true),
            ("rootcause.responsetime.service", false),
        ],
    );
}

#[test]
fn eval_independent_subsegment_documents_join_their_parent() {
    let mut trace = cruddur_trace();
    let mut cache = sub("c1", "redis", 2.0, 3.5, Some("remote"));
    cache.kind = Some("subsegment".into());
    cache.trace_id = Some(trace.id.clone());
    cache.parent_id = Some("b".into());
    cache
        .annotations
        .insert("cache_hit".into(), AnnotationValue::Bool(true));
    trace.segments.push(cache);
    check(
        &trace,
        &[
            ("annotation.cache_hit = true", true),
            (r#"service("redis")"#, true),
            (r#"edge("backend-flask", "redis")"#, true),
            (r#"edge("frontend", "redis")"#, false),
            // The document ends last, so it stretches the trace's duration but not the
            // root segment's response time.
            ("duration = 3.5", true),
            ("responsetime = 3", true),
        ],
    );
}

#[test]
fn eval_walks_deep_subsegment_trees_without_recursion() {
    let mut root = seg("root", "deep", 0.0, 100.0);
    let mut leaf = sub("n1999", "leaf-call", 1.0, 99.0, Some("remote"));
    leaf.fault = true;
    leaf.annotations
        .insert("depth".into(), AnnotationValue::Number(2000.0));
    let mut current = leaf;
    for i in (0..1999).rev() {
        let mut parent = sub(&format!("n{i}"), &format!("step{i}"), 0.5, 99.5, None);
        parent.subsegments.push(current);
        current = parent;
    }
    root.subsegments.push(current);
    let trace = Trace {
        id: "deep".into(),
        segments: vec![root],
    };
    check(
        &trace,
        &[
            ("annotation.depth = 2000", true),
            (r#"service("leaf-call")"#, true),
            (
                r#"rootcause.fault.entity { name = "leaf-call" AND index = 2000 AND last }"#,
                true,
            ),
            (
                r#"rootcause.responsetime.entity { name = "leaf-call" AND last }"#,
                true,
            ),
        ],
    );
}
