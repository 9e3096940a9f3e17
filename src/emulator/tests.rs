//! The emulator's semantics, driven through `Store::call` without HTTP.

use serde_json::{Value, json};

use super::error::ApiError;
use super::state::Store;

const R: &str = "us-east-1";

fn ok(s: &Store, op: &str, body: Value) -> Value {
    match s.call(R, op, &body) {
        Ok(v) => v,
        Err(e) => panic!("{op} failed: {e:?}"),
    }
}

fn err(s: &Store, op: &str, body: Value) -> ApiError {
    match s.call(R, op, &body) {
        Ok(v) => panic!("{op} succeeded: {v}"),
        Err(e) => e,
    }
}

fn cruddur_rule() -> Value {
    json!({"SamplingRule": {"RuleName": "Cruddur", "ResourceARN": "*", "Priority": 9000,
        "FixedRate": 0.1, "ReservoirSize": 5, "ServiceName": "backend-flask", "ServiceType": "*",
        "Host": "*", "HTTPMethod": "*", "URLPath": "*", "Version": 1}})
}

fn rule_named(name: &str) -> Value {
    let mut r = cruddur_rule();
    r["SamplingRule"]["RuleName"] = json!(name);
    r
}

fn names(list: &Value, key: &str) -> Vec<String> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|g| g[key].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn the_default_group_and_rule_always_exist() {
    let s = Store::new();
    let groups = ok(&s, "GetGroups", json!({}));
    assert_eq!(names(&groups["Groups"], "GroupName"), vec!["Default"]);
    assert!(groups["Groups"][0].get("FilterExpression").is_none());
    let rules = ok(&s, "GetSamplingRules", json!({}));
    let d = &rules["SamplingRuleRecords"][0]["SamplingRule"];
    assert_eq!(d["RuleName"], "Default");
    assert_eq!(d["Priority"], 10000);
    assert_eq!(d["ReservoirSize"], 1);
    assert_eq!(d["FixedRate"], 0.05);
    assert_eq!(d["Version"], 1);
    for k in [
        "ResourceARN",
        "ServiceName",
        "ServiceType",
        "Host",
        "HTTPMethod",
        "URLPath",
    ] {
        assert_eq!(d[k], "*", "{k}");
    }
    assert_eq!(
        d["RuleARN"],
        "arn:aws:xray:us-east-1:000000000000:sampling-rule/Default"
    );
    assert!(rules["SamplingRuleRecords"][0]["CreatedAt"].is_f64());
    assert!(rules.get("NextToken").is_none());
}

#[test]
fn groups_are_created_read_updated_and_deleted() {
    let s = Store::new();
    let created = ok(
        &s,
        "CreateGroup",
        json!({"GroupName": "Cruddur", "FilterExpression": "service(\"backend-flask\")",
               "Tags": [{"Key": "app", "Value": "cruddur"}]}),
    );
    let arn = created["Group"]["GroupARN"].as_str().unwrap().to_owned();
    let prefix = "arn:aws:xray:us-east-1:000000000000:group/Cruddur/";
    assert!(arn.starts_with(prefix), "{arn}");
    assert_eq!(arn.len(), prefix.len() + 32);
    let got = ok(&s, "GetGroup", json!({"GroupName": "Cruddur"}));
    assert_eq!(got["Group"], created["Group"]);
    assert_eq!(
        ok(&s, "GetGroup", json!({"GroupARN": arn}))["Group"]["GroupName"],
        "Cruddur"
    );
    let tags = ok(&s, "ListTagsForResource", json!({"ResourceARN": arn}));
    assert_eq!(tags["Tags"], json!([{"Key": "app", "Value": "cruddur"}]));

    let updated = ok(
        &s,
        "UpdateGroup",
        json!({"GroupName": "Cruddur", "FilterExpression": "service(\"api\")",
               "InsightsConfiguration": {"InsightsEnabled": true}}),
    );
    assert_eq!(updated["Group"]["FilterExpression"], "service(\"api\")");
    assert_eq!(
        updated["Group"]["InsightsConfiguration"],
        json!({"InsightsEnabled": true, "NotificationsEnabled": false})
    );
    assert_eq!(updated["Group"]["GroupARN"], arn.as_str());

    assert_eq!(
        ok(&s, "DeleteGroup", json!({"GroupName": "Cruddur"})),
        json!({})
    );
    let e = err(&s, "GetGroup", json!({"GroupName": "Cruddur"}));
    assert_eq!(
        (e.status, e.code.as_str()),
        (400, "InvalidRequestException")
    );
    assert_eq!(e.message, "Group not found");
    let e = err(&s, "ListTagsForResource", json!({"ResourceARN": arn}));
    assert_eq!(
        (e.status, e.code.as_str()),
        (404, "ResourceNotFoundException")
    );
}

#[test]
fn group_errors_are_the_services() {
    let s = Store::new();
    ok(&s, "CreateGroup", json!({"GroupName": "Cruddur"}));
    let dup = err(&s, "CreateGroup", json!({"GroupName": "Cruddur"}));
    assert_eq!(dup.code, "InvalidRequestException");
    assert!(dup.message.contains("already exists"), "{}", dup.message);
    let dup = err(&s, "CreateGroup", json!({"GroupName": "Default"}));
    assert_eq!(dup.code, "InvalidRequestException");

    let e = err(&s, "DeleteGroup", json!({"GroupName": "Default"}));
    assert_eq!(e.code, "InvalidRequestException");
    assert!(e.message.contains("Default"), "{}", e.message);
    let e = err(
        &s,
        "UpdateGroup",
        json!({"GroupName": "Default", "FilterExpression": "ok"}),
    );
    assert_eq!(e.code, "InvalidRequestException");
    ok(
        &s,
        "UpdateGroup",
        json!({"GroupName": "Default", "InsightsConfiguration": {"InsightsEnabled": true}}),
    );

    let e = err(&s, "CreateGroup", json!({"GroupName": "x".repeat(33)}));
    assert_eq!(
        e.message,
        "GroupName must be 1..=32 characters long (got 33)"
    );
    let e = err(&s, "CreateGroup", json!({}));
    assert_eq!(e.message, "missing required parameter GroupName");
    let e = err(
        &s,
        "CreateGroup",
        json!({"GroupName": "N", "InsightsConfiguration": {"NotificationsEnabled": true}}),
    );
    assert!(
        e.message.contains("NotificationsEnabled requires"),
        "{}",
        e.message
    );
    let e = err(
        &s,
        "CreateGroup",
        json!({"GroupName": "T", "Tags": [{"Key": "aws:owner", "Value": "me"}]}),
    );
    assert!(
        e.message
            .contains("Tags[0].Key must not start with \"aws:\""),
        "{}",
        e.message
    );
    let e = err(&s, "GetGroup", json!({}));
    assert!(e.message.contains("GroupName or GroupARN"), "{}", e.message);
    // Unknown members are ignored, as the service does.
    ok(
        &s,
        "CreateGroup",
        json!({"GroupName": "Extra", "Colour": "blue"}),
    );
}

#[test]
fn the_26th_group_is_refused_and_groups_page() {
    let s = Store::new();
    for i in 0..25 {
        ok(&s, "CreateGroup", json!({"GroupName": format!("g{i:02}")}));
    }
    let e = err(&s, "CreateGroup", json!({"GroupName": "g25"}));
    assert_eq!(
        (e.status, e.code.as_str()),
        (400, "InvalidRequestException")
    );
    assert!(e.message.contains("limit"), "{}", e.message);

    let mut all = Vec::new();
    let mut token: Option<String> = None;
    let mut pages = 0;
    loop {
        let body = match &token {
            Some(t) => json!({"NextToken": t}),
            None => json!({}),
        };
        let page = ok(&s, "GetGroups", body);
        pages += 1;
        all.extend(names(&page["Groups"], "GroupName"));
        match page.get("NextToken").and_then(Value::as_str) {
            Some(t) => token = Some(t.to_owned()),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(all.len(), 26);
    assert_eq!(all[0], "Default");
    assert_eq!(all[25], "g24");
    let e = err(&s, "GetGroups", json!({"NextToken": "nonsense"}));
    assert_eq!(e.code, "InvalidRequestException");
}

#[test]
fn sampling_rules_follow_the_service() {
    let s = Store::new();
    let created = ok(
        &s,
        "CreateSamplingRule",
        json!({"SamplingRule": cruddur_rule()["SamplingRule"], "Tags": [{"Key": "app", "Value": "c"}]}),
    );
    let rec = &created["SamplingRuleRecord"];
    assert_eq!(rec["SamplingRule"]["RuleName"], "Cruddur");
    assert_eq!(
        rec["SamplingRule"]["RuleARN"],
        "arn:aws:xray:us-east-1:000000000000:sampling-rule/Cruddur"
    );
    assert_eq!(rec["SamplingRule"]["FixedRate"], 0.1);
    assert!(rec["CreatedAt"].as_f64().unwrap() > 1.7e9);

    let e = err(&s, "CreateSamplingRule", cruddur_rule());
    assert_eq!(e.code, "InvalidRequestException");
    assert_eq!(e.message, "Sampling rule already exists");

    let mut bad = rule_named("Bad");
    bad["SamplingRule"]["Version"] = json!(2);
    assert_eq!(
        err(&s, "CreateSamplingRule", bad).message,
        "SamplingRule.Version must be 1 (got 2)"
    );
    let mut bad = rule_named("Bad");
    bad["SamplingRule"]["FixedRate"] = json!(1.5);
    bad["SamplingRule"]["Priority"] = json!(0);
    assert_eq!(
        err(&s, "CreateSamplingRule", bad).message,
        "SamplingRule.Priority must be within 1..=9999 (got 0); SamplingRule.FixedRate must be within 0..=1 (got 1.5)"
    );
    let mut bad = rule_named("Bad");
    bad["SamplingRule"]
        .as_object_mut()
        .unwrap()
        .remove("RuleName");
    assert_eq!(
        err(&s, "CreateSamplingRule", bad).message,
        "SamplingRule.RuleName is required"
    );

    let upd = ok(
        &s,
        "UpdateSamplingRule",
        json!({"SamplingRuleUpdate": {"RuleName": "Cruddur", "FixedRate": 0.2, "ServiceName": "api"}}),
    );
    let r = &upd["SamplingRuleRecord"]["SamplingRule"];
    assert_eq!(
        (r["FixedRate"].clone(), r["ServiceName"].clone()),
        (json!(0.2), json!("api"))
    );
    assert_eq!(r["Priority"], 9000);
    let e = err(
        &s,
        "UpdateSamplingRule",
        json!({"SamplingRuleUpdate": {"RuleName": "Nope", "FixedRate": 0.2}}),
    );
    assert_eq!(e.code, "InvalidRequestException");

    let del = ok(&s, "DeleteSamplingRule", json!({"RuleName": "Cruddur"}));
    assert_eq!(
        del["SamplingRuleRecord"]["SamplingRule"]["RuleName"],
        "Cruddur"
    );
    let e = err(&s, "DeleteSamplingRule", json!({"RuleName": "Cruddur"}));
    assert_eq!(e.code, "InvalidRequestException");
}

#[test]
fn the_default_rule_changes_only_its_rate() {
    let s = Store::new();
    let upd = ok(
        &s,
        "UpdateSamplingRule",
        json!({"SamplingRuleUpdate": {"RuleName": "Default", "FixedRate": 0.5, "ReservoirSize": 3, "Host": "*"}}),
    );
    let r = &upd["SamplingRuleRecord"]["SamplingRule"];
    assert_eq!(
        (r["FixedRate"].clone(), r["ReservoirSize"].clone()),
        (json!(0.5), json!(3))
    );
    let e = err(
        &s,
        "UpdateSamplingRule",
        json!({"SamplingRuleUpdate": {"RuleName": "Default", "ServiceName": "api"}}),
    );
    assert_eq!(e.code, "InvalidRequestException");
    assert!(
        e.message.contains("SamplingRuleUpdate.ServiceName"),
        "{}",
        e.message
    );
    let e = err(&s, "DeleteSamplingRule", json!({"RuleName": "Default"}));
    assert_eq!(e.code, "InvalidRequestException");
    let rules = ok(&s, "GetSamplingRules", json!({}));
    assert_eq!(
        rules["SamplingRuleRecords"][0]["SamplingRule"]["ServiceName"],
        "*"
    );
}

#[test]
fn the_26th_rule_exceeds_the_limit_and_rules_page() {
    let s = Store::new();
    for i in 0..25 {
        ok(&s, "CreateSamplingRule", rule_named(&format!("r{i:02}")));
    }
    let e = err(&s, "CreateSamplingRule", rule_named("r25"));
    assert_eq!(
        (e.status, e.code.as_str()),
        (400, "RuleLimitExceededException")
    );
    let first = ok(&s, "GetSamplingRules", json!({}));
    assert_eq!(first["SamplingRuleRecords"].as_array().unwrap().len(), 10);
    let token = first["NextToken"].as_str().unwrap();
    let second = ok(&s, "GetSamplingRules", json!({"NextToken": token}));
    assert_eq!(
        second["SamplingRuleRecords"][0]["SamplingRule"]["RuleName"],
        "r09"
    );
    ok(&s, "DeleteSamplingRule", json!({"RuleName": "r00"}));
    ok(&s, "CreateSamplingRule", rule_named("r25"));
}

#[test]
fn tags_are_checked_and_counted() {
    let s = Store::new();
    let arn = ok(&s, "CreateSamplingRule", cruddur_rule())["SamplingRuleRecord"]["SamplingRule"]
        ["RuleARN"]
        .as_str()
        .unwrap()
        .to_owned();
    let tags: Vec<Value> = (0..50)
        .map(|i| json!({"Key": format!("k{i}"), "Value": "v"}))
        .collect();
    ok(&s, "TagResource", json!({"ResourceARN": arn, "Tags": tags}));
    let e = err(
        &s,
        "TagResource",
        json!({"ResourceARN": arn, "Tags": [{"Key": "one-more", "Value": ""}]}),
    );
    assert_eq!((e.status, e.code.as_str()), (400, "TooManyTagsException"));
    ok(
        &s,
        "UntagResource",
        json!({"ResourceARN": arn, "TagKeys": ["k0", "k1"]}),
    );
    let listed = ok(&s, "ListTagsForResource", json!({"ResourceARN": arn}));
    assert_eq!(listed["Tags"].as_array().unwrap().len(), 48);
    let e = err(
        &s,
        "TagResource",
        json!({"ResourceARN": arn, "Tags": [{"Key": "AWS:x", "Value": ""}]}),
    );
    assert_eq!(e.code, "InvalidRequestException");
    let e = err(
        &s,
        "TagResource",
        json!({"ResourceARN": "arn:aws:xray:us-east-1:000000000000:group/Nope/X", "Tags": []}),
    );
    assert_eq!(e.code, "ResourceNotFoundException");
    assert_eq!(
        e.resource_name.as_deref(),
        Some("arn:aws:xray:us-east-1:000000000000:group/Nope/X")
    );
}

#[test]
fn regions_are_separate() {
    let s = Store::new();
    ok(&s, "CreateGroup", json!({"GroupName": "Cruddur"}));
    let other = s.call("eu-west-1", "GetGroups", &json!({})).unwrap();
    assert_eq!(names(&other["Groups"], "GroupName"), vec!["Default"]);
    let arn = s
        .call("eu-west-1", "GetGroup", &json!({"GroupName": "Default"}))
        .unwrap();
    assert_eq!(
        arn["Group"]["GroupARN"],
        "arn:aws:xray:eu-west-1:000000000000:group/Default"
    );
}

#[test]
fn unknown_and_unimplemented_operations_are_json_errors() {
    let s = Store::new();
    let e = err(&s, "MakeCoffee", json!({}));
    assert_eq!(
        (e.status, e.code.as_str()),
        (404, "UnknownOperationException")
    );
    let e = err(
        &s,
        "GetInsightSummaries",
        json!({"StartTime": 0, "EndTime": 1}),
    );
    assert_eq!(
        (e.status, e.code.as_str()),
        (501, "NotImplementedException")
    );
    assert!(e.message.contains("GetInsightSummaries"), "{}", e.message);
}

// ---- traces ----

fn now() -> f64 {
    super::state::now().floor()
}

fn trace_id(at: f64, n: u32) -> String {
    format!("1-{:08x}-{:024x}", at as u32, n)
}

fn segment(trace: &str, id: &str, name: &str, start: f64, end: f64, extra: Value) -> String {
    let mut v =
        json!({"trace_id": trace, "id": id, "name": name, "start_time": start, "end_time": end});
    for (k, x) in extra.as_object().unwrap() {
        v[k] = x.clone();
    }
    v.to_string()
}

fn put(s: &Store, docs: Vec<String>) -> Value {
    ok(
        s,
        "PutTraceSegments",
        json!({"TraceSegmentDocuments": docs}),
    )["UnprocessedTraceSegments"]
        .clone()
}

#[test]
fn bad_segments_are_reported_one_by_one() {
    let s = Store::new();
    let t = now();
    let tid = trace_id(t, 1);
    let unprocessed = put(
        &s,
        vec![
            segment(&tid, "a000000000000001", "ok", t, t + 1.0, json!({})),
            "{not json".into(),
            segment(&tid, "short", "bad-id", t, t + 1.0, json!({})),
            segment("1-xyz", "a000000000000002", "bad-trace", t, t + 1.0, json!({})),
            json!({"trace_id": tid, "id": "a000000000000003", "name": "open", "start_time": t}).to_string(),
            json!({"trace_id": tid, "id": "a000000000000004", "name": "sub", "start_time": t, "end_time": t, "type": "subsegment"}).to_string(),
            json!({"trace_id": tid, "id": "a000000000000005", "name": "", "start_time": t, "end_time": t}).to_string(),
            json!({"trace_id": tid, "id": "a000000000000006", "name": "p", "start_time": t, "in_progress": true}).to_string(),
        ],
    );
    let list = unprocessed.as_array().unwrap();
    assert_eq!(list.len(), 6, "{unprocessed}");
    let codes: Vec<&str> = list
        .iter()
        .map(|u| u["ErrorCode"].as_str().unwrap())
        .collect();
    assert_eq!(
        codes,
        vec![
            "InvalidJson",
            "InvalidId",
            "InvalidTraceId",
            "MissingEndTime",
            "MissingParentId",
            "InvalidName"
        ]
    );
    assert_eq!(
        list[0]["Message"].as_str().unwrap().split(':').next(),
        Some("Invalid segment. ErrorCode")
    );
    let ids: Vec<Option<&str>> = list
        .iter()
        .map(|u| u.get("Id").and_then(Value::as_str))
        .collect();
    assert_eq!(
        ids,
        vec![
            None,
            Some("short"),
            Some("a000000000000002"),
            Some("a000000000000003"),
            Some("a000000000000004"),
            Some("a000000000000005")
        ]
    );
    assert!(list[2]["Message"].as_str().unwrap().contains("trace_id"));
    assert!(list[3]["Message"].as_str().unwrap().contains("end_time"));
    assert!(list[4]["Message"].as_str().unwrap().contains("parent_id"));
    let got = ok(
        &s,
        "BatchGetTraces",
        json!({"TraceIds": [tid, trace_id(t, 2)]}),
    );
    assert_eq!(got["Traces"][0]["Segments"].as_array().unwrap().len(), 2);
    assert_eq!(got["UnprocessedTraceIds"], json!([trace_id(t, 2)]));
}

fn flask_trace(s: &Store, at: f64, n: u32) -> String {
    let tid = trace_id(at, n);
    let front = segment(
        &tid,
        "f000000000000001",
        "backend-flask",
        at,
        at + 0.5,
        json!({
            "origin": "AWS::ECS::Container",
            "user": "andrew",
            "http": {"request": {"method": "GET", "url": "http://localhost:4567/api/activities/home",
                                 "user_agent": "curl/8", "client_ip": "10.0.0.1"},
                     "response": {"status": 500}},
            "fault": true,
            "annotations": {"env": "dev", "n": 3},
            "resource_arn": "arn:aws:ecs:us-east-1:000000000000:task/x",
            "subsegments": [{"id": "f000000000000002", "name": "DynamoDB", "namespace": "aws",
                             "start_time": at + 0.1, "end_time": at + 0.2, "throttle": true},
                            {"id": "f000000000000003", "name": "api.momento", "namespace": "remote",
                             "start_time": at + 0.2, "end_time": at + 0.3}]
        }),
    );
    let child = segment(
        &tid,
        "f000000000000004",
        "worker",
        at + 0.25,
        at + 0.9,
        json!({"parent_id": "f000000000000003", "error": true, "annotations": {"env": "dev"}}),
    );
    assert_eq!(put(s, vec![front, child]), json!([]));
    tid
}

#[test]
fn summaries_are_built_from_the_segments() {
    let s = Store::new();
    let at = now() - 60.0;
    let tid = flask_trace(&s, at, 7);
    let out = ok(
        &s,
        "GetTraceSummaries",
        json!({"StartTime": at - 10.0, "EndTime": at + 10.0}),
    );
    assert_eq!(out["TracesProcessedCount"], 1);
    let sum = &out["TraceSummaries"][0];
    assert_eq!(sum["Id"], tid.as_str());
    assert_eq!(sum["StartTime"], at);
    assert!((sum["Duration"].as_f64().unwrap() - 0.9).abs() < 1e-6);
    assert!((sum["ResponseTime"].as_f64().unwrap() - 0.5).abs() < 1e-6);
    assert_eq!(
        (
            sum["HasFault"].clone(),
            sum["HasError"].clone(),
            sum["HasThrottle"].clone(),
            sum["IsPartial"].clone()
        ),
        (json!(true), json!(true), json!(true), json!(false))
    );
    assert_eq!(
        sum["Http"],
        json!({"HttpURL": "http://localhost:4567/api/activities/home", "HttpMethod": "GET",
               "UserAgent": "curl/8", "ClientIp": "10.0.0.1", "HttpStatus": 500})
    );
    assert_eq!(
        sum["EntryPoint"],
        json!({"Name": "backend-flask", "Names": ["backend-flask"], "Type": "AWS::ECS::Container"})
    );
    assert_eq!(
        names(&sum["ServiceIds"], "Name"),
        vec!["backend-flask", "DynamoDB", "api.momento", "worker"]
    );
    assert_eq!(sum["ServiceIds"][1]["Type"], "AWS::DynamoDB");
    let env = &sum["Annotations"]["env"];
    assert_eq!(env.as_array().unwrap().len(), 1);
    assert_eq!(env[0]["AnnotationValue"], json!({"StringValue": "dev"}));
    assert_eq!(
        names(&env[0]["ServiceIds"], "Name"),
        vec!["backend-flask", "worker"]
    );
    assert_eq!(
        sum["Annotations"]["n"][0]["AnnotationValue"],
        json!({"NumberValue": 3.0})
    );
    assert_eq!(sum["Users"][0]["UserName"], "andrew");
    assert_eq!(
        sum["ResourceARNs"][0]["ARN"],
        "arn:aws:ecs:us-east-1:000000000000:task/x"
    );

    // Outside the window: nothing, and nothing processed.
    let out = ok(
        &s,
        "GetTraceSummaries",
        json!({"StartTime": at + 100.0, "EndTime": at + 200.0}),
    );
    assert_eq!(out["TraceSummaries"], json!([]));
    assert_eq!(out["TracesProcessedCount"], 0);
    let e = err(&s, "GetTraceSummaries", json!({"StartTime": at}));
    assert_eq!(e.message, "missing required parameter EndTime");
    let e = err(
        &s,
        "GetTraceSummaries",
        json!({"StartTime": at, "EndTime": at - 1.0}),
    );
    assert_eq!(e.code, "InvalidRequestException");
}

#[test]
fn an_in_progress_segment_makes_a_partial_trace_until_it_ends() {
    let s = Store::new();
    let t = now() - 5.0;
    let tid = trace_id(t, 3);
    let open = json!({"trace_id": tid, "id": "b000000000000001", "name": "svc", "start_time": t, "in_progress": true});
    assert_eq!(put(&s, vec![open.to_string()]), json!([]));
    let window = json!({"StartTime": t - 1.0, "EndTime": t + 1.0});
    let sum = ok(&s, "GetTraceSummaries", window.clone());
    assert_eq!(sum["TraceSummaries"][0]["IsPartial"], true);
    assert!(sum["TraceSummaries"][0].get("Duration").is_none());
    put(
        &s,
        vec![segment(
            &tid,
            "b000000000000001",
            "svc",
            t,
            t + 2.0,
            json!({}),
        )],
    );
    let sum = ok(&s, "GetTraceSummaries", window);
    assert_eq!(sum["TraceSummaries"][0]["IsPartial"], false);
    assert_eq!(sum["TraceSummaries"][0]["Duration"], 2.0);
    let got = ok(&s, "BatchGetTraces", json!({"TraceIds": [tid]}));
    assert_eq!(got["Traces"][0]["Segments"].as_array().unwrap().len(), 1);
}

#[test]
fn summaries_page_newest_first_and_counts_add_up() {
    let s = Store::new();
    let base = now() - 1000.0;
    let docs: Vec<String> = (0..250u32)
        .map(|i| {
            let at = base + f64::from(i);
            segment(
                &trace_id(at, i),
                "c000000000000001",
                "svc",
                at,
                at + 0.1,
                json!({}),
            )
        })
        .collect();
    assert_eq!(put(&s, docs), json!([]));
    let mut token: Option<String> = None;
    let mut seen: Vec<String> = Vec::new();
    let mut processed = 0;
    let mut sizes = Vec::new();
    loop {
        let mut body = json!({"StartTime": base, "EndTime": base + 249.0});
        if let Some(t) = &token {
            body["NextToken"] = json!(t);
        }
        let page = ok(&s, "GetTraceSummaries", body);
        sizes.push(page["TraceSummaries"].as_array().unwrap().len());
        processed += page["TracesProcessedCount"].as_u64().unwrap();
        seen.extend(names(&page["TraceSummaries"], "Id"));
        match page.get("NextToken").and_then(Value::as_str) {
            Some(t) => token = Some(t.to_owned()),
            None => break,
        }
    }
    assert_eq!(sizes, vec![100, 100, 50]);
    assert_eq!(processed, 250);
    assert_eq!(seen[0], trace_id(base + 249.0, 249));
    assert_eq!(seen[249], trace_id(base, 0));
    let mut unique = seen.clone();
    unique.dedup();
    assert_eq!(unique.len(), 250);
}

#[test]
fn time_range_type_picks_the_trace_time() {
    let s = Store::new();
    let id_time = now() - 3600.0;
    let event_time = id_time + 1800.0;
    // The ID says an hour ago, the segment says half an hour ago.
    let tid = trace_id(id_time, 9);
    put(
        &s,
        vec![segment(
            &tid,
            "d000000000000001",
            "svc",
            event_time,
            event_time + 1.0,
            json!({}),
        )],
    );
    let window = |t: f64| json!({"StartTime": t - 10.0, "EndTime": t + 10.0});
    let count = |body: Value| {
        ok(&s, "GetTraceSummaries", body)["TraceSummaries"]
            .as_array()
            .unwrap()
            .len()
    };
    assert_eq!(count(window(id_time)), 1);
    assert_eq!(count(window(event_time)), 0);
    let mut by_event = window(event_time);
    by_event["TimeRangeType"] = json!("Event");
    assert_eq!(count(by_event), 1);
    let mut bad = window(event_time);
    bad["TimeRangeType"] = json!("Later");
    assert_eq!(
        err(&s, "GetTraceSummaries", bad).code,
        "InvalidRequestException"
    );
}

#[test]
fn the_service_graph_has_nodes_and_edges() {
    let s = Store::new();
    let at = now() - 60.0;
    flask_trace(&s, at, 1);
    let g = ok(
        &s,
        "GetServiceGraph",
        json!({"StartTime": at - 10.0, "EndTime": at + 10.0}),
    );
    let services = g["Services"].as_array().unwrap();
    let by_name = |n: &str| services.iter().find(|x| x["Name"] == n).unwrap().clone();
    let flask = by_name("backend-flask");
    assert_eq!(flask["Root"], true);
    assert_eq!(flask["Type"], "AWS::ECS::Container");
    let targets: Vec<Value> = flask["Edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["ReferenceId"].clone())
        .collect();
    let refs = |n: &str| by_name(n)["ReferenceId"].clone();
    assert_eq!(
        targets,
        vec![refs("DynamoDB"), refs("api.momento"), refs("worker")]
    );
    assert_eq!(by_name("worker")["Root"], false);
    let empty = ok(
        &s,
        "GetServiceGraph",
        json!({"StartTime": at + 100.0, "EndTime": at + 200.0}),
    );
    assert_eq!(empty["Services"], json!([]));
    let e = err(
        &s,
        "GetServiceGraph",
        json!({"StartTime": at, "EndTime": at + 1.0, "GroupName": "Nope"}),
    );
    assert_eq!(e.message, "Group not found");
}

#[test]
fn destination_and_indexing_gate_summaries() {
    let s = Store::new();
    assert_eq!(
        ok(&s, "GetTraceSegmentDestination", json!({})),
        json!({"Destination": "XRay", "Status": "ACTIVE"})
    );
    let rules = ok(&s, "GetIndexingRules", json!({}));
    assert_eq!(rules["IndexingRules"][0]["Name"], "Default");
    assert_eq!(
        rules["IndexingRules"][0]["Rule"]["Probabilistic"]["DesiredSamplingPercentage"],
        1.0
    );
    let at = now() - 60.0;
    let docs: Vec<String> = (0..200u32)
        .map(|i| {
            segment(
                &trace_id(at, i),
                "e000000000000001",
                "svc",
                at,
                at + 0.1,
                json!({}),
            )
        })
        .collect();
    put(&s, docs);
    let window = json!({"StartTime": at - 1.0, "EndTime": at + 1.0});
    let count = || {
        ok(&s, "GetTraceSummaries", window.clone())["TraceSummaries"]
            .as_array()
            .unwrap()
            .len()
    };
    assert_eq!(count(), 100, "a full first page under XRay");
    ok(
        &s,
        "UpdateTraceSegmentDestination",
        json!({"Destination": "CloudWatchLogs"}),
    );
    assert_eq!(
        ok(&s, "GetTraceSegmentDestination", json!({}))["Destination"],
        "CloudWatchLogs"
    );
    let indexed = count();
    assert!(indexed < 20, "about 1% of 200 are indexed, got {indexed}");
    ok(
        &s,
        "UpdateIndexingRule",
        json!({"Name": "Default", "Rule": {"Probabilistic": {"DesiredSamplingPercentage": 100.0}}}),
    );
    assert_eq!(count(), 100);
    let e = err(
        &s,
        "UpdateIndexingRule",
        json!({"Name": "Other", "Rule": {"Probabilistic": {"DesiredSamplingPercentage": 5.0}}}),
    );
    assert_eq!(e.code, "ResourceNotFoundException");
}

#[test]
fn an_unparsable_filter_is_an_invalid_request() {
    let s = Store::new();
    let e = err(
        &s,
        "GetTraceSummaries",
        json!({"StartTime": 0, "EndTime": 1, "FilterExpression": "service(\"unclosed"}),
    );
    assert_eq!(e.code, "InvalidRequestException");
    assert!(
        e.message.starts_with("Invalid filter expression: column "),
        "{}",
        e.message
    );
}

#[test]
fn sampling_targets_hand_out_each_rules_rate_and_reservoir() {
    let s = Store::new();
    ok(&s, "CreateSamplingRule", cruddur_rule());
    let stats = |name: &str| {
        json!({"RuleName": name, "ClientID": "0123456789abcdef01234567",
               "Timestamp": now(), "RequestCount": 10, "SampledCount": 1})
    };
    let out = ok(
        &s,
        "GetSamplingTargets",
        json!({"SamplingStatisticsDocuments": [stats("Cruddur"), stats("Default"), stats("Gone")]}),
    );
    let targets = out["SamplingTargetDocuments"].as_array().unwrap();
    assert_eq!(targets.len(), 2);
    assert_eq!(
        (
            targets[0]["RuleName"].clone(),
            targets[0]["FixedRate"].clone(),
            targets[0]["ReservoirQuota"].clone()
        ),
        (json!("Cruddur"), json!(0.1), json!(5))
    );
    assert_eq!(targets[1]["FixedRate"], 0.05);
    assert_eq!(out["UnprocessedStatistics"][0]["RuleName"], "Gone");
    assert!(out["LastRuleModification"].as_f64().unwrap() > 1.7e9);
}

// ---- no input can panic the store ----

mod arbitrary {
    use proptest::prelude::*;
    use serde_json::{Map, Value};

    use super::super::state::{IMPLEMENTED, Store};

    /// Member names the model uses, so generated bodies reach past the first checks.
    const KEYS: &[&str] = &[
        "GroupName",
        "GroupARN",
        "FilterExpression",
        "InsightsConfiguration",
        "InsightsEnabled",
        "NotificationsEnabled",
        "Tags",
        "Key",
        "Value",
        "NextToken",
        "SamplingRule",
        "SamplingRuleUpdate",
        "RuleName",
        "RuleARN",
        "ResourceARN",
        "Priority",
        "FixedRate",
        "ReservoirSize",
        "ServiceName",
        "ServiceType",
        "Host",
        "HTTPMethod",
        "URLPath",
        "Version",
        "Attributes",
        "SamplingRateBoost",
        "MaxRate",
        "CooldownWindowMinutes",
        "TagKeys",
        "TraceSegmentDocuments",
        "StartTime",
        "EndTime",
        "TimeRangeType",
        "TraceIds",
        "Destination",
        "Name",
        "Rule",
        "Probabilistic",
        "DesiredSamplingPercentage",
        "SamplingStatisticsDocuments",
        "x",
    ];

    fn value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            any::<f64>().prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
            "[ -~]{0,40}".prop_map(Value::String),
            prop_oneof![
                Just("Default"), Just("Cruddur"), Just("*"), Just("1-5f84c7a1-6b8e0e7d3c1e4f2a9b0c1d2e"),
                Just("{\"id\":\"0123456789abcdef\",\"trace_id\":\"1-5f84c7a1-6b8e0e7d3c1e4f2a9b0c1d2e\",\"name\":\"a\",\"start_time\":1,\"end_time\":2,\"subsegments\":[{}]}"),
            ]
            .prop_map(|s| Value::String(s.to_owned())),
        ];
        leaf.prop_recursive(4, 40, 6, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                proptest::collection::vec((proptest::sample::select(KEYS), inner), 0..6).prop_map(
                    |pairs| Value::Object(
                        pairs
                            .into_iter()
                            .map(|(k, v)| (k.to_owned(), v))
                            .collect::<Map<_, _>>()
                    )
                ),
            ]
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]
        #[test]
        fn any_body_gets_an_answer_not_a_panic(
            calls in proptest::collection::vec((proptest::sample::select(IMPLEMENTED), value()), 1..8)
        ) {
            let s = Store::new();
            for (op, body) in calls {
                let _ = s.call("us-east-1", op, &body);
            }
            // The store still works afterwards.
            let groups = s.call("us-east-1", "GetGroups", &serde_json::json!({})).unwrap();
            prop_assert_eq!(&groups["Groups"][0]["GroupName"], "Default");
        }
    }
}

/// Every summary of a window, following NextToken: (IDs in order, TracesProcessedCount sum).
fn all_pages(s: &Store, window: Value) -> (Vec<String>, u64) {
    let mut token: Option<String> = None;
    let (mut seen, mut processed) = (Vec::new(), 0);
    loop {
        let mut body = window.clone();
        if let Some(t) = &token {
            body["NextToken"] = json!(t);
        }
        let page = ok(s, "GetTraceSummaries", body);
        processed += page["TracesProcessedCount"].as_u64().unwrap();
        seen.extend(names(&page["TraceSummaries"], "Id"));
        match page.get("NextToken").and_then(Value::as_str) {
            Some(t) => token = Some(t.to_owned()),
            None => return (seen, processed),
        }
    }
}

#[test]
fn pages_cut_through_traces_that_share_a_second_and_respect_the_window() {
    let s = Store::new();
    let base = (now() - 1000.0).floor();
    // 5 seconds with 70 traces each; IDs within a second are not in insertion order.
    let docs: Vec<String> = (0..350u32)
        .map(|i| {
            let at = base + f64::from(i % 5);
            let n = (i * 7919) % 1000;
            segment(
                &trace_id(at, n),
                "e000000000000001",
                "svc",
                at + 0.5,
                at + 0.6,
                json!({}),
            )
        })
        .collect();
    assert_eq!(put(&s, docs), json!([]));
    // Newest second first, IDs ascending within a second, no trace twice or missed.
    let (ids, processed) = all_pages(&s, json!({"StartTime": base, "EndTime": base + 4.0}));
    let mut want = ids.clone();
    want.sort_by(|a, b| b[2..10].cmp(&a[2..10]).then_with(|| a.cmp(b)));
    assert_eq!(ids, want);
    assert_eq!(ids.len(), 350);
    assert_eq!(processed, 350);
    // Fractional bounds keep the seconds inside them only: base+1 ..= base+3.
    let (ids, _) = all_pages(&s, json!({"StartTime": base + 0.5, "EndTime": base + 3.9}));
    assert_eq!(ids.len(), 210);
    assert!(ids.iter().all(|id| {
        let secs = u32::from_str_radix(&id[2..10], 16).unwrap();
        (base as u32 + 1..=base as u32 + 3).contains(&secs)
    }));
    // Event time (the segment start) gives the same traces in the same order here.
    let (by_event, _) = all_pages(
        &s,
        json!({"StartTime": base, "EndTime": base + 5.0, "TimeRangeType": "Event"}),
    );
    assert_eq!(by_event, want);
    // A filter scans every trace of the window once, across pages.
    let (none, processed) = all_pages(
        &s,
        json!({"StartTime": base, "EndTime": base + 4.0, "FilterExpression": "service(\"other\")"}),
    );
    assert!(none.is_empty());
    assert_eq!(processed, 350);
}
