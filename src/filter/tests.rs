use super::*;

#[test]
fn guide_examples_parse() {
    for src in GUIDE_EXAMPLES {
        if let Err(errors) = parse(src) {
            panic!("{src:?} failed: {errors:?}");
        }
    }
}

const GUIDE_EXAMPLES: &[&str] = &[
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
];
