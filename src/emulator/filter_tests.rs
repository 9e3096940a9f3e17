//! GetTraceSummaries and GetServiceGraph with filter expressions, through the real
//! filter-language parser and evaluator.

use serde_json::{Value, json};

use super::state::{Store, now};

const R: &str = "us-east-1";

fn call(s: &Store, op: &str, body: Value) -> Value {
    s.call(R, op, &body)
        .unwrap_or_else(|e| panic!("{op} failed: {e:?}"))
}

/// Three traces: backend-flask with a fault (env=prod), backend-flask ok (env=dev), and a
/// frontend-only trace. Returns their IDs and the window around them.
fn seed(s: &Store) -> (Vec<String>, Value) {
    let at = now().floor() - 120.0;
    let mut ids = Vec::new();
    let specs = [
        ("backend-flask", true, 500, "prod"),
        ("backend-flask", false, 200, "dev"),
        ("frontend-react-js", false, 200, "dev"),
    ];
    let mut docs = Vec::new();
    for (i, (name, fault, status, env)) in specs.iter().enumerate() {
        let t = at + i as f64;
        let id = format!("1-{:08x}-{:024x}", t as u64, i + 1);
        docs.push(
            json!({"trace_id": id, "id": format!("{:016x}", i + 1), "name": name,
                   "start_time": t, "end_time": t + 0.5, "fault": fault,
                   "http": {"request": {"method": "GET", "url": format!("http://x/{i}")},
                            "response": {"status": status}},
                   "annotations": {"env": env}})
            .to_string(),
        );
        ids.push(id);
    }
    let put = call(
        s,
        "PutTraceSegments",
        json!({"TraceSegmentDocuments": docs}),
    );
    assert_eq!(put["UnprocessedTraceSegments"], json!([]));
    (ids, json!({"StartTime": at - 10.0, "EndTime": at + 10.0}))
}

fn matching(s: &Store, window: &Value, filter: &str) -> (Vec<String>, u64) {
    let mut body = window.clone();
    body["FilterExpression"] = json!(filter);
    let out = call(s, "GetTraceSummaries", body);
    let ids = out["TraceSummaries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["Id"].as_str().unwrap().to_owned())
        .collect();
    (ids, out["TracesProcessedCount"].as_u64().unwrap())
}

#[test]
fn filters_select_traces_and_every_trace_in_the_window_is_processed() {
    let s = Store::new();
    let (ids, window) = seed(&s);
    assert_eq!(
        matching(&s, &window, "service(\"backend-flask\")"),
        (vec![ids[1].clone(), ids[0].clone()], 3)
    );
    assert_eq!(
        matching(&s, &window, "service(\"backend-flask\") { fault }"),
        (vec![ids[0].clone()], 3)
    );
    assert_eq!(
        matching(&s, &window, "http.status = 500").0,
        vec![ids[0].clone()]
    );
    assert_eq!(
        matching(&s, &window, "annotation.env = \"dev\"").0,
        vec![ids[2].clone(), ids[1].clone()]
    );
    assert_eq!(
        matching(&s, &window, "service(\"backend-flash\")"),
        (vec![], 3),
        "the Cruddur journal's typo matches nothing"
    );
}

#[test]
fn group_name_in_a_filter_uses_the_groups_own_expression() {
    let s = Store::new();
    let (ids, window) = seed(&s);
    call(
        &s,
        "CreateGroup",
        json!({"GroupName": "Cruddur", "FilterExpression": "service(\"backend-flask\")"}),
    );
    call(
        &s,
        "CreateGroup",
        json!({"GroupName": "Broken", "FilterExpression": "service(\"unclosed"}),
    );
    assert_eq!(
        matching(&s, &window, "group.name = \"Cruddur\"").0,
        vec![ids[1].clone(), ids[0].clone()]
    );
    assert_eq!(
        matching(&s, &window, "group.name = \"Cruddur\" AND fault").0,
        vec![ids[0].clone()]
    );
    assert_eq!(matching(&s, &window, "group.name = \"Default\"").0.len(), 3);
    assert_eq!(
        matching(&s, &window, "group.name = \"Broken\"").0,
        Vec::<String>::new()
    );
    assert_eq!(
        matching(&s, &window, "group.name = \"Nope\"").0,
        Vec::<String>::new()
    );

    let mut graph = window.clone();
    graph["GroupName"] = json!("Cruddur");
    let g = call(&s, "GetServiceGraph", graph);
    let names: Vec<&str> = g["Services"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["Name"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["backend-flask"]);
}

#[test]
fn an_invalid_filter_names_the_column() {
    let s = Store::new();
    let (_, window) = seed(&s);
    let mut body = window;
    body["FilterExpression"] = json!("service(\"backend-flask\") AND");
    let e = s.call(R, "GetTraceSummaries", &body).unwrap_err();
    assert_eq!(e.code, "InvalidRequestException");
    assert!(
        e.message.starts_with("Invalid filter expression: column "),
        "{}",
        e.message
    );
}
