//! verify against the recording fake: statistics, checks, diagnostics, chunking, --wait,
//! output shapes, GitHub integration.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use clap::Parser;
use serde_json::Value;

use super::*;
use crate::spec::{GroupSpec, SamplingRule, Tags};
use crate::xray::fake::{FakeXRay, default_rule};
use crate::xray::{
    Group, IndexingRule, SamplingRuleRecord, SamplingRuleUpdate, SegmentDestination, SummaryPage,
    SummaryQuery, TraceSummary, UnprocessedSegment,
};

#[derive(Parser)]
struct Cmd {
    #[command(flatten)]
    args: Args,
}

fn args(argv: &[&str]) -> Args {
    Cmd::try_parse_from(std::iter::once("verify").chain(argv.iter().copied()))
        .unwrap()
        .args
}

fn plan(argv: &[&str]) -> Plan {
    Plan::from_args(&args(argv)).unwrap()
}

fn tid(i: u32) -> String {
    format!("1-5f84c7a1-{i:024x}")
}

/// A summary that started `ago` seconds before now.
fn trace(i: u32, ago: f64, rt: f64, services: &[&str], url: &str) -> TraceSummary {
    TraceSummary {
        id: tid(i),
        start_time: Some(now() - ago),
        response_time: Some(rt),
        duration: Some(rt),
        services: services.iter().map(|s| s.to_string()).collect(),
        http_url: Some(url.into()),
        ..Default::default()
    }
}

fn add_group(fake: &FakeXRay, name: &str, filter: Option<&str>, traces: Vec<TraceSummary>) {
    let mut s = fake.state.lock().unwrap();
    s.groups.insert(
        name.into(),
        Group {
            name: name.into(),
            arn: format!("arn:aws:xray:us-east-1:000000000000:group/{name}/X"),
            filter_expression: filter.map(str::to_owned),
            insights_enabled: false,
            notifications_enabled: false,
        },
    );
    s.filtered.insert(fetch::group_filter(name), traces);
}

fn add_rule(fake: &FakeXRay, rule: SamplingRule) {
    let name = rule.rule_name.clone().unwrap();
    fake.state.lock().unwrap().rules.insert(
        name.clone(),
        SamplingRuleRecord {
            rule,
            arn: format!("arn:aws:xray:us-east-1:000000000000:sampling-rule/{name}"),
            created_at: None,
            modified_at: None,
        },
    );
}

fn rule(name: &str, priority: i32, service: &str) -> SamplingRule {
    SamplingRule {
        rule_name: Some(name.into()),
        priority,
        service_name: service.into(),
        ..default_rule()
    }
}

struct Run {
    outcome: Outcome,
    stdout: String,
    stderr: String,
}

async fn run_env(plan: &Plan, fake: &FakeXRay, env: &Env) -> Run {
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let outcome = tokio::time::timeout(
        Duration::from_secs(30),
        run_with(plan, fake, env, &mut out, &mut err),
    )
    .await
    .expect("verify finishes")
    .unwrap();
    Run {
        outcome,
        stdout: String::from_utf8(out).unwrap(),
        stderr: String::from_utf8(err).unwrap(),
    }
}

async fn run(plan: &Plan, fake: &FakeXRay) -> Run {
    run_env(plan, fake, &Env::plain(OutputFormat::Text)).await
}

async fn run_json(plan: &Plan, fake: &FakeXRay) -> (Run, Value) {
    let r = run_env(plan, fake, &Env::plain(OutputFormat::Json)).await;
    let docs: Vec<Value> = serde_json::Deserializer::from_str(&r.stdout)
        .into_iter::<Value>()
        .collect::<std::result::Result<_, _>>()
        .unwrap();
    assert_eq!(docs.len(), 1, "exactly one JSON document: {}", r.stdout);
    let v = docs.into_iter().next().unwrap();
    (r, v)
}

/// Six traces: four for backend-flask (one fault, one error, one throttle), two for the
/// frontend. Response times 0.1 .. 0.6 s.
fn seeded() -> FakeXRay {
    let fake = FakeXRay::new();
    let mut ts = vec![
        trace(1, 60.0, 0.1, &["backend-flask"], "http://api/a?x=1"),
        trace(2, 70.0, 0.2, &["backend-flask"], "http://api/a?x=2"),
        trace(3, 80.0, 0.3, &["backend-flask", "db"], "http://api/b"),
        trace(4, 90.0, 0.4, &["backend-flask"], "http://api/c"),
        trace(5, 100.0, 0.5, &["frontend-react-js"], "http://web/"),
        trace(6, 110.0, 0.6, &["frontend-react-js"], "http://web/slow"),
    ];
    ts[0].has_fault = true;
    ts[1].has_error = true;
    ts[2].has_throttle = true;
    let backend: Vec<TraceSummary> = ts[..4].to_vec();
    {
        let mut s = fake.state.lock().unwrap();
        s.summaries = ts;
        s.page_size = 2;
    }
    add_group(
        &fake,
        "Cruddur",
        Some(r#"service("backend-flask")"#),
        backend,
    );
    fake
}

#[test]
fn flags_are_checked_before_anything_is_sent() {
    let p = plan(&[]);
    assert_eq!(p.window, WindowSpec::Since(Duration::from_secs(900)));
    assert_eq!(p.wait, None);
    let p = plan(&["--start", "2025-11-25T00:00:00Z", "--end", "1764050400"]);
    assert_eq!(
        p.window,
        WindowSpec::Range {
            start: 1764028800.0,
            end: 1764050400.0
        }
    );
    for (argv, starts) in [
        (&["--since", "31d"][..], "--since must be at most 30d"),
        (
            &["--max-fault-rate", "1.5"],
            "--max-fault-rate must be within 0..=1",
        ),
        (&["--max-p95=-1"], "--max-p95"),
        (
            &["--wait", "2days"],
            "--wait must be more than 0 and at most 24h",
        ),
        (&["--wait", "later"], "--wait:"),
        (&["--trace-id", "abc"], "--trace-id must look like"),
        (&["--start", "yesterday", "--end", "1"], "--start:"),
        (&["--expect-group", ""], "--expect-group must be 1 to 32"),
    ] {
        let err = Plan::from_args(&args(argv)).unwrap_err();
        assert_eq!(err.exit().code(), 252, "{argv:?}");
        assert!(err.to_string().starts_with(starts), "{argv:?}: {err}");
    }
    // --since with --start, or --start alone, is a usage error from clap.
    assert!(
        Cmd::try_parse_from(["verify", "--since", "1h", "--start", "1", "--end", "2"]).is_err()
    );
    assert!(Cmd::try_parse_from(["verify", "--start", "1"]).is_err());
}

#[tokio::test]
async fn whole_window_and_group_statistics_match_the_seeded_traces() {
    let fake = seeded();
    let (r, v) = run_json(&plan(&[]), &fake).await;
    assert_eq!(r.outcome, Outcome::Ok);
    let t = &v["traces"];
    assert_eq!(t["count"], 6);
    assert_eq!(
        (
            t["fault"].as_u64(),
            t["error"].as_u64(),
            t["throttle"].as_u64()
        ),
        (Some(1), Some(1), Some(1))
    );
    // Nearest rank over 6 values: p50 = 3rd (0.3), p95 = p99 = 6th (0.6).
    let rt = &t["response_time"];
    assert!((rt["p50"].as_f64().unwrap() - 0.3).abs() <= 0.3 * stats::RELATIVE_ERROR);
    assert_eq!(rt["p95"], 0.6);
    assert_eq!(rt["p99"], 0.6);
    assert_eq!(rt["max"], 0.6);
    assert_eq!(
        t["services"],
        serde_json::json!([
            {"name": "backend-flask", "count": 4},
            {"name": "frontend-react-js", "count": 2},
            {"name": "db", "count": 1},
        ])
    );
    assert_eq!(
        t["slowest_urls"][0],
        serde_json::json!({"url": "http://web/slow", "max_response_time": 0.6})
    );
    assert_eq!(t["slowest_urls"].as_array().unwrap().len(), 5);
    // http://api/a?x=1 and ?x=2 count as one URL, at its larger response time.
    assert!(
        t["slowest_urls"]
            .as_array()
            .unwrap()
            .iter()
            .any(|u| u["url"] == "http://api/a" && u["max_response_time"] == 0.2)
    );

    let groups = v["groups"].as_array().unwrap();
    let cruddur = groups.iter().find(|g| g["name"] == "Cruddur").unwrap();
    assert_eq!(cruddur["filter_expression"], r#"service("backend-flask")"#);
    assert_eq!(cruddur["traces"]["count"], 4);
    assert_eq!(cruddur["traces"]["response_time"]["max"], 0.4);
    let default = groups.iter().find(|g| g["name"] == "Default").unwrap();
    assert_eq!(default["traces"]["count"], 6);
    assert_eq!(v["ok"], true);
    assert_eq!(v["checks"], serde_json::json!([]));
}

#[tokio::test]
async fn the_json_report_has_the_documented_shape() {
    let fake = seeded();
    let (_, v) = run_json(
        &plan(&["--min-traces", "1", "--expect-rule", "Default"]),
        &fake,
    )
    .await;
    let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        [
            "ok",
            "window",
            "groups",
            "sampling_rules",
            "traces",
            "checks",
            "diagnostics"
        ]
    );
    for k in ["start", "end"] {
        let s = v["window"][k].as_str().unwrap();
        assert!(humantime::parse_rfc3339(s).is_ok(), "{s}");
    }
    let g = &v["groups"][0];
    for k in ["name", "filter_expression", "traces"] {
        assert!(g.get(k).is_some(), "group has {k}");
    }
    let r = &v["sampling_rules"][0];
    assert_eq!(r["name"], "Default");
    assert_eq!(r["priority"], 10000);
    assert_eq!(r["fixed_rate"], 0.05);
    assert_eq!(r["reservoir_size"], 1);
    assert_eq!(r["service_name"], "*");
    let t = &v["traces"];
    for k in [
        "count",
        "fault",
        "error",
        "throttle",
        "response_time",
        "services",
        "slowest_urls",
    ] {
        assert!(t.get(k).is_some(), "traces has {k}");
    }
    for k in ["p50", "p95", "p99", "max"] {
        assert!(t["response_time"][k].is_number(), "{k}");
    }
    let c = &v["checks"][0];
    assert_eq!(
        c.as_object().unwrap().keys().collect::<Vec<_>>(),
        ["name", "ok", "message"]
    );
}

#[tokio::test]
async fn every_page_of_every_six_hour_chunk_is_read_once() {
    let fake = FakeXRay::new();
    let start = 1_764_000_000.0;
    {
        let mut s = fake.state.lock().unwrap();
        // One trace every 30 minutes for 24h: 48 traces, 12 per chunk, 5 per page.
        s.summaries = (0..48)
            .map(|i| TraceSummary {
                id: tid(i),
                start_time: Some(start + f64::from(i) * 1800.0),
                response_time: Some(0.1),
                ..Default::default()
            })
            .collect();
        s.page_size = 5;
    }
    let p = plan(&[
        "--start",
        "1764000000",
        "--end",
        "1764086400",
        "--min-traces",
        "48",
    ]);
    let (r, v) = run_json(&p, &fake).await;
    assert_eq!(v["traces"]["count"], 48);
    assert_eq!(r.outcome, Outcome::Ok);
    let summary_calls = fake
        .calls()
        .iter()
        .filter(|c| *c == "GetTraceSummaries")
        .count();
    // 4 chunks × 3 pages (5 + 5 + 2).
    assert_eq!(summary_calls, 12);
}

#[tokio::test]
async fn a_repeated_next_token_stops_verify_instead_of_paging_forever() {
    let fake = seeded();
    fake.state.lock().unwrap().repeat_summary_token = true;
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let result = tokio::time::timeout(
        Duration::from_secs(30),
        run_with(
            &plan(&[]),
            &fake,
            &Env::plain(OutputFormat::Text),
            &mut out,
            &mut err,
        ),
    )
    .await
    .expect("verify finishes");
    let e = result.unwrap_err();
    assert_eq!(e.exit().code(), 255);
    assert!(
        e.to_string()
            .starts_with("GetTraceSummaries returned a NextToken it had already returned"),
        "{e}"
    );
    let pages = fake
        .calls()
        .iter()
        .filter(|c| *c == "GetTraceSummaries")
        .count();
    assert!(pages <= 10, "{pages} pages");
}

/// Delegates to the fake, but yields inside GetTraceSummaries and records how many calls
/// were in flight at once.
struct Slow {
    inner: FakeXRay,
    in_flight: AtomicUsize,
    peak: AtomicUsize,
}

impl XRay for Slow {
    async fn get_group(&self, name: &str) -> Result<Option<Group>> {
        self.inner.get_group(name).await
    }
    async fn get_groups(&self) -> Result<Vec<Group>> {
        self.inner.get_groups().await
    }
    async fn create_group(&self, spec: &GroupSpec) -> Result<Group> {
        self.inner.create_group(spec).await
    }
    async fn update_group(&self, n: &str, f: Option<&str>, i: bool, no: bool) -> Result<Group> {
        self.inner.update_group(n, f, i, no).await
    }
    async fn list_tags(&self, arn: &str) -> Result<Tags> {
        self.inner.list_tags(arn).await
    }
    async fn tag_resource(&self, arn: &str, tags: &Tags) -> Result<()> {
        self.inner.tag_resource(arn, tags).await
    }
    async fn untag_resource(&self, arn: &str, keys: &[String]) -> Result<()> {
        self.inner.untag_resource(arn, keys).await
    }
    async fn get_sampling_rules(&self) -> Result<Vec<SamplingRuleRecord>> {
        self.inner.get_sampling_rules().await
    }
    async fn create_sampling_rule(&self, r: &SamplingRule, t: &Tags) -> Result<SamplingRuleRecord> {
        self.inner.create_sampling_rule(r, t).await
    }
    async fn update_sampling_rule(&self, u: &SamplingRuleUpdate) -> Result<SamplingRuleRecord> {
        self.inner.update_sampling_rule(u).await
    }
    async fn get_trace_summaries_page(
        &self,
        q: &SummaryQuery,
        t: Option<String>,
    ) -> Result<SummaryPage> {
        let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        self.peak.fetch_max(now, Ordering::SeqCst);
        for _ in 0..3 {
            tokio::task::yield_now().await;
        }
        let page = self.inner.get_trace_summaries_page(q, t).await;
        self.in_flight.fetch_sub(1, Ordering::SeqCst);
        page
    }
    async fn service_graph_names(&self, s: f64, e: f64) -> Result<Vec<String>> {
        self.inner.service_graph_names(s, e).await
    }
    async fn get_trace_segment_destination(&self) -> Result<SegmentDestination> {
        self.inner.get_trace_segment_destination().await
    }
    async fn get_indexing_rules(&self) -> Result<Vec<IndexingRule>> {
        self.inner.get_indexing_rules().await
    }
    async fn put_trace_segments(&self, d: Vec<String>) -> Result<Vec<UnprocessedSegment>> {
        self.inner.put_trace_segments(d).await
    }
    async fn batch_get_trace_ids(&self, ids: &[String]) -> Result<Vec<String>> {
        self.inner.batch_get_trace_ids(ids).await
    }
}

#[tokio::test]
async fn chunks_are_fetched_concurrently_but_at_most_four_at_once() {
    let inner = FakeXRay::new();
    let start = 1_764_000_000.0;
    inner.state.lock().unwrap().summaries = (0..60)
        .map(|i| TraceSummary {
            id: tid(i),
            start_time: Some(start + f64::from(i) * 3600.0),
            ..Default::default()
        })
        .collect();
    add_group(&inner, "Cruddur", None, Vec::new());
    let slow = Slow {
        inner,
        in_flight: AtomicUsize::new(0),
        peak: AtomicUsize::new(0),
    };
    // 60h: 10 chunks, for the whole window and for Cruddur.
    let p = plan(&["--start", "1764000000", "--end", "1764216000"]);
    let mut progress = Progress::Lines;
    let mut err = Vec::new();
    let verdict = evaluate(&p, &slow, None, &mut progress, &mut err)
        .await
        .unwrap();
    assert_eq!(verdict.report.traces.count, 60);
    assert_eq!(slow.peak.load(Ordering::SeqCst), CONCURRENCY);
    let calls = slow
        .inner
        .calls()
        .iter()
        .filter(|c| *c == "GetTraceSummaries")
        .count();
    assert_eq!(calls, 20);
}

#[tokio::test]
async fn checks_pass_and_fail_with_named_messages() {
    let fake = seeded();
    add_rule(&fake, rule("Cruddur", 9000, "backend-flask"));
    let p = plan(&[
        "--expect-group",
        "Cruddur",
        "--expect-group",
        "Cruddr",
        "--expect-rule",
        "Cruddur",
        "--expect-rule",
        "Nope-Rule-Far-Away",
        "--min-traces",
        "6",
        "--max-fault-rate",
        "0.1",
        "--max-p95",
        "1",
    ]);
    let r = run(&p, &fake).await;
    assert_eq!(r.outcome, Outcome::CheckFailed);
    let failed: Vec<&str> = r
        .stderr
        .lines()
        .filter(|l| l.starts_with("check failed:"))
        .collect();
    assert_eq!(
        failed,
        vec![
            r#"check failed: expect-group: group "Cruddr" does not exist; did you mean "Cruddur"?"#,
            r#"check failed: expect-rule: sampling rule "Nope-Rule-Far-Away" does not exist (there are: "Cruddur", "Default")"#,
            "check failed: max-fault-rate: fault rate 16.7% (1 of 6 traces) in the last 15m, expected at most 10%",
        ]
    );
    assert!(r.stdout.contains("3 of 7 checks failed"), "{}", r.stdout);

    let ok = plan(&[
        "--expect-group",
        "Cruddur",
        "--min-traces",
        "6",
        "--max-fault-rate",
        "0.2",
        "--max-p95",
        "0.6",
    ]);
    let r = run(&ok, &fake).await;
    assert_eq!(r.outcome, Outcome::Ok, "{}", r.stderr);
    assert!(!r.stderr.contains("check failed"));
    assert!(r.stdout.contains("all checks passed"));
}

#[tokio::test]
async fn trace_checks_apply_to_the_groups_own_traces() {
    let fake = seeded();
    add_group(&fake, "Empty", Some(r#"service("payments")"#), Vec::new());
    let p = plan(&[
        "--group",
        "Cruddur",
        "--group",
        "Empty",
        "--min-traces",
        "1",
        "--max-p95",
        "0.35",
    ]);
    let r = run(&p, &fake).await;
    assert_eq!(r.outcome, Outcome::CheckFailed);
    let failed: Vec<&str> = r
        .stderr
        .lines()
        .filter(|l| l.starts_with("check failed:"))
        .collect();
    // Cruddur's own p95 is its 4th of 4 values (0.4); Empty has none.
    assert_eq!(
        failed,
        vec![
            "check failed: max-p95: p95 response time 0.400s in group Cruddur in the last 15m, expected at most 0.350s",
            "check failed: min-traces: 0 traces in group Empty in the last 15m, expected at least 1",
        ]
    );
    // A --group that does not exist fails by name.
    let r = run(&plan(&["--group", "Missing"]), &fake).await;
    assert_eq!(r.outcome, Outcome::CheckFailed);
    assert!(
        r.stderr
            .contains(r#"check failed: group: group "Missing" does not exist"#),
        "{}",
        r.stderr
    );
}

#[tokio::test]
async fn min_traces_with_no_traces_says_what_was_expected() {
    let fake = FakeXRay::new();
    let r = run(&plan(&["--min-traces", "1"]), &fake).await;
    assert_eq!(r.outcome, Outcome::CheckFailed);
    assert!(
        r.stderr.lines().any(|l| l == "check failed: min-traces: 0 traces in the last 15m, expected at least 1"),
        "{}",
        r.stderr
    );
}

#[tokio::test]
async fn trace_ids_are_found_and_matched_against_groups() {
    let fake = seeded();
    let (present_in_group, present_elsewhere, missing) = (tid(2), tid(5), tid(99));
    let p = plan(&[
        "--group",
        "Cruddur",
        "--trace-id",
        &present_in_group,
        "--trace-id",
        &present_elsewhere,
        "--trace-id",
        &missing,
    ]);
    let (r, v) = run_json(&p, &fake).await;
    assert_eq!(r.outcome, Outcome::CheckFailed);
    let checks: Vec<(&str, bool, &str)> = v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["name"] == "trace-id")
        .map(|c| {
            (
                c["name"].as_str().unwrap(),
                c["ok"].as_bool().unwrap(),
                c["message"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        checks[0],
        (
            "trace-id",
            true,
            &*format!("trace {present_in_group} exists; it matched group Cruddur")
        )
    );
    assert_eq!(
        checks[1],
        (
            "trace-id",
            true,
            &*format!(
                "trace {present_elsewhere} exists; it is not among the traces of group Cruddur in the last 15m"
            )
        )
    );
    assert!(!checks[2].1);
    assert!(checks[2].2.contains("was not found"));
    let diags = v["diagnostics"].as_array().unwrap();
    assert!(diags.iter().any(|d| d["code"] == "trace-not-in-group"
        && d["message"].as_str().unwrap().contains(&present_elsewhere)));
    assert!(fake.calls().contains(&"BatchGetTraces".to_string()));
}

fn codes(v: &Value) -> Vec<String> {
    v["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["code"].as_str().unwrap().to_owned())
        .collect()
}

fn message<'a>(v: &'a Value, code: &str) -> &'a str {
    v["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["code"] == code)
        .and_then(|d| d["message"].as_str())
        .unwrap_or_else(|| panic!("no {code} in {v}"))
}

#[tokio::test]
async fn a_misspelt_service_in_a_group_filter_or_rule_gets_a_did_you_mean() {
    let fake = seeded();
    add_group(
        &fake,
        "Typo",
        Some(r#"service("backend-flash") { fault }"#),
        Vec::new(),
    );
    add_rule(&fake, rule("flash", 100, "backend-flash"));
    let r = run(&plan(&[]), &fake).await;
    assert!(
        r.stderr.lines().any(|l| l == r#"warning: group Typo filters on service "backend-flash", which sent no traces; did you mean "backend-flask"?"#),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.lines().any(|l| l == r#"warning: sampling rule "flash" is for service "backend-flash", which sent no traces; did you mean "backend-flask"?"#),
        "{}",
        r.stderr
    );
    // Warnings alone do not fail verify.
    assert_eq!(r.outcome, Outcome::Ok);
}

#[tokio::test]
async fn service_graph_names_count_as_services_that_sent_traces() {
    let fake = seeded();
    fake.state.lock().unwrap().service_graph = vec!["payments-api".into()];
    add_group(&fake, "Pay", Some(r#"service("payments-apl")"#), Vec::new());
    add_group(
        &fake,
        "PayOk",
        Some(r#"service("payments-api")"#),
        Vec::new(),
    );
    let (_, v) = run_json(&plan(&[]), &fake).await;
    let typos: Vec<&str> = v["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["code"] == "service-name-typo")
        .map(|d| d["message"].as_str().unwrap())
        .collect();
    assert_eq!(
        typos,
        vec![
            r#"group Pay filters on service "payments-apl", which sent no traces; did you mean "payments-api"?"#
        ]
    );
}

#[tokio::test]
async fn a_group_that_matches_nothing_while_traces_arrive_is_reported() {
    let fake = seeded();
    add_group(
        &fake,
        "Quiet",
        Some("http.url CONTAINS \"/nothing\""),
        Vec::new(),
    );
    let (_, v) = run_json(&plan(&[]), &fake).await;
    assert_eq!(
        message(&v, "group-empty"),
        "group Quiet matched none of the 6 traces in the last 15m (filter: http.url CONTAINS \"/nothing\")"
    );
    // Cruddur matches 4 traces: no warning for it.
    assert_eq!(codes(&v).iter().filter(|c| *c == "group-empty").count(), 1);
}

#[tokio::test]
async fn no_traces_lists_the_likely_causes_in_order() {
    let fake = FakeXRay::new();
    {
        let mut s = fake.state.lock().unwrap();
        s.destination = Some(SegmentDestination {
            destination: "CloudWatchLogs".into(),
            status: "ACTIVE".into(),
        });
        s.indexing_rules = vec![IndexingRule {
            name: "Default".into(),
            desired_sampling_percentage: Some(1.0),
        }];
        let default = s.rules.get_mut("Default").unwrap();
        default.rule.fixed_rate = 0.0;
        default.rule.reservoir_size = 0;
    }
    add_rule(&fake, rule("flask", 100, "backend-flask"));
    let mut env = Env::plain(OutputFormat::Json);
    env.region = Some("eu-west-1".into());
    let r = run_env(&plan(&[]), &fake, &env).await;
    let v: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(
        codes(&v),
        [
            "no-traces",
            "transaction-search",
            "region",
            "credentials",
            "no-matching-rule"
        ]
    );
    assert_eq!(
        message(&v, "no-traces"),
        "no traces in the last 15m in eu-west-1; likely causes, most likely first:"
    );
    assert!(message(&v, "transaction-search").contains(r#"rule "Default" indexes 1%"#));
    assert!(message(&v, "region").contains("verify reads eu-west-1"));
    assert!(message(&v, "region").contains("AWS_REGION"));
    assert!(message(&v, "no-matching-rule").contains(r#"ServiceName "backend-flask""#));
    assert!(fake.calls().contains(&"GetIndexingRules".to_string()));
    assert!(
        r.stderr
            .contains("warning: no traces in the last 15m in eu-west-1")
    );
}

#[tokio::test]
async fn with_traces_and_the_default_rule_there_is_no_no_traces_warning() {
    let fake = seeded();
    let (_, v) = run_json(&plan(&[]), &fake).await;
    assert_eq!(codes(&v), Vec::<String>::new());
    // X-Ray destination: the indexing rules are not read.
    assert!(!fake.calls().contains(&"GetIndexingRules".to_string()));
}

#[tokio::test]
async fn unreadable_destination_is_a_note_not_a_failure() {
    let fake = seeded();
    fake.state.lock().unwrap().fail.insert(
        "GetTraceSegmentDestination",
        ("AccessDeniedException".into(), "not allowed".into()),
    );
    let (r, v) = run_json(&plan(&["--min-traces", "1"]), &fake).await;
    assert_eq!(r.outcome, Outcome::Ok);
    assert_eq!(v["diagnostics"][0]["level"], "info");
    assert_eq!(
        message(&v, "destination-unknown"),
        "could not read the trace segment destination (GetTraceSegmentDestination failed: AccessDeniedException: not allowed)"
    );
}

#[tokio::test]
async fn rules_that_can_never_match_are_reported() {
    let fake = seeded();
    let mut attrs = rule("attrs", 10, "*");
    attrs.attributes = BTreeMap::from([("env".to_string(), "prod".to_string())]);
    add_rule(&fake, attrs);
    let mut arn = rule("arn", 11, "*");
    arn.resource_arn = "arn:aws:ecs:us-east-1:0:service/x".into();
    add_rule(&fake, arn);
    let mut broad = rule("broad", 20, "backend-*");
    broad.url_path = "/api/*".into();
    add_rule(&fake, broad);
    let mut narrow = rule("narrow", 30, "backend-flask");
    narrow.url_path = "/api/activities/*".into();
    add_rule(&fake, narrow);
    let (_, v) = run_json(&plan(&[]), &fake).await;
    assert_eq!(
        codes(&v),
        ["rule-has-attributes", "rule-resource-arn", "rule-shadowed"]
    );
    assert_eq!(
        message(&v, "rule-shadowed"),
        r#"sampling rule "narrow" (priority 30) can never match: rule "broad" (priority 20) is evaluated first and matches every request it matches"#
    );
    // Rules are reported in evaluation order.
    let names: Vec<&str> = v["sampling_rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["attrs", "arn", "broad", "narrow", "Default"]);
}

#[tokio::test]
async fn service_errors_stop_verify_with_their_exit_code() {
    let fake = seeded();
    fake.state.lock().unwrap().fail.insert(
        "GetTraceSummaries",
        ("ThrottledException".into(), "Rate exceeded".into()),
    );
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let e = run_with(
        &plan(&[]),
        &fake,
        &Env::plain(OutputFormat::Json),
        &mut out,
        &mut err,
    )
    .await
    .unwrap_err();
    assert_eq!(e.exit().code(), 254);
    assert_eq!(
        e.to_string(),
        "GetTraceSummaries failed: ThrottledException: Rate exceeded"
    );
    assert!(out.is_empty(), "stdout stays empty on an error");
}

fn waiting_plan(argv: &[&str]) -> Plan {
    let mut p = plan(argv);
    p.backoff = Backoff {
        initial: Duration::from_millis(10),
        max: Duration::from_millis(40),
    };
    p
}

#[tokio::test]
async fn wait_polls_until_traces_arrive() {
    let fake = Arc::new(FakeXRay::new());
    let feeder = {
        let fake = Arc::clone(&fake);
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(100)).await;
            fake.state
                .lock()
                .unwrap()
                .summaries
                .push(trace(1, 1.0, 0.2, &["backend-flask"], "/"));
        })
    };
    let p = waiting_plan(&["--wait", "20s", "--min-traces", "1"]);
    let mut progress = Progress::Lines;
    let mut err = Vec::new();
    let verdict = tokio::time::timeout(
        Duration::from_secs(30),
        evaluate(&p, &*fake, None, &mut progress, &mut err),
    )
    .await
    .expect("the wait ends once the trace is there")
    .unwrap();
    feeder.await.unwrap();
    assert!(verdict.report.ok, "{:?}", verdict.report.checks);
    assert_eq!(verdict.timed_out, None);
    assert!(verdict.polls > 1, "it polled more than once");
    let err = String::from_utf8(err).unwrap();
    assert!(
        err.lines().any(
            |l| l.starts_with("waiting: ") && l.contains("0 traces; still failing: min-traces")
        ),
        "{err}"
    );
}

#[tokio::test]
async fn wait_polls_through_a_passing_service_failure() {
    let fake = Arc::new(FakeXRay::new());
    fake.state.lock().unwrap().fail.insert(
        "GetGroups",
        ("ThrottledException".into(), "Rate exceeded".into()),
    );
    let healer = {
        let fake = Arc::clone(&fake);
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(100)).await;
            let mut s = fake.state.lock().unwrap();
            s.fail.clear();
            s.summaries
                .push(trace(1, 1.0, 0.2, &["backend-flask"], "/"));
        })
    };
    let p = waiting_plan(&["--wait", "20s", "--min-traces", "1"]);
    let mut progress = Progress::Lines;
    let mut err = Vec::new();
    let verdict = tokio::time::timeout(
        Duration::from_secs(30),
        evaluate(&p, &*fake, None, &mut progress, &mut err),
    )
    .await
    .expect("the wait ends once the service answers")
    .unwrap();
    healer.await.unwrap();
    assert!(verdict.report.ok, "{:?}", verdict.report.checks);
    let err = String::from_utf8(err).unwrap();
    assert!(
        err.lines()
            .any(|l| l.starts_with("warning: poll failed, trying again in ")
                && l.ends_with("GetGroups failed: ThrottledException: Rate exceeded")),
        "{err}"
    );
}

#[tokio::test]
async fn without_wait_a_service_failure_ends_verify() {
    let fake = FakeXRay::new();
    fake.state.lock().unwrap().fail.insert(
        "GetGroups",
        ("ThrottledException".into(), "Rate exceeded".into()),
    );
    let mut progress = Progress::Lines;
    let mut err = Vec::new();
    let e = evaluate(
        &plan(&["--min-traces", "1"]),
        &fake,
        None,
        &mut progress,
        &mut err,
    )
    .await
    .unwrap_err();
    assert_eq!(e.exit().code(), 254);
    assert_eq!(fake.calls().iter().filter(|c| *c == "GetGroups").count(), 1);
}

#[tokio::test]
async fn wait_gives_up_at_the_deadline_and_names_what_is_missing() {
    let fake = FakeXRay::new();
    let p = waiting_plan(&[
        "--wait",
        "300ms",
        "--min-traces",
        "1",
        "--expect-group",
        "Default",
    ]);
    let r = run(&p, &fake).await;
    assert_eq!(r.outcome, Outcome::CheckFailed);
    assert!(
        r.stderr
            .contains("check failed: min-traces: 0 traces in the last 15m, expected at least 1"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr
            .lines()
            .any(|l| l == "timed out after 300ms waiting for: min-traces"),
        "{}",
        r.stderr
    );
    assert!(fake.calls().iter().filter(|c| *c == "GetGroups").count() > 1);
}

#[tokio::test]
async fn without_wait_there_is_one_poll_and_no_progress() {
    let fake = FakeXRay::new();
    let r = run(&plan(&["--min-traces", "1"]), &fake).await;
    assert_eq!(fake.calls().iter().filter(|c| *c == "GetGroups").count(), 1);
    assert!(!r.stderr.contains("waiting:"));
    assert!(!r.stderr.contains("timed out"));
}

#[tokio::test]
async fn github_actions_get_error_commands_on_stderr_and_a_step_summary() {
    let fake = seeded();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("summary.md");
    let mut env = Env::plain(OutputFormat::Json);
    env.github_actions = true;
    env.step_summary = Some(path.clone());
    let p = plan(&["--min-traces", "100", "--expect-group", "Cruddur"]);
    let r = run_env(&p, &fake, &env).await;
    assert_eq!(r.outcome, Outcome::CheckFailed);
    assert!(
        r.stderr.lines().any(|l| l == "::error title=verify check failed%3A min-traces::min-traces: 6 traces in the last 15m, expected at least 100"),
        "{}",
        r.stderr
    );
    assert!(
        !r.stdout.contains("::error"),
        "stdout carries only the JSON"
    );
    let md = std::fs::read_to_string(&path).unwrap();
    assert!(
        md.starts_with("## cruddur-xray verify: ❌ 1 of 2 checks failed"),
        "{md}"
    );
    assert!(
        md.contains("| Cruddur | `service(\"backend-flask\")` | 4 | 1 | 0.400s |"),
        "{md}"
    );
    assert!(
        md.contains("| Default | 10000 | 5% | 1 | `*` | `*` | `*` | `*` |"),
        "{md}"
    );
    assert!(
        md.contains("- **min-traces**: 6 traces in the last 15m, expected at least 100"),
        "{md}"
    );
    assert!(md.contains("| 6 | 1 | 16.7% | 1 | 1 |"), "{md}");

    // A second run appends.
    run_env(&p, &fake, &env).await;
    let md = std::fs::read_to_string(&path).unwrap();
    assert_eq!(md.matches("## cruddur-xray verify").count(), 2);
}

#[tokio::test]
async fn without_github_there_are_no_workflow_commands() {
    let fake = seeded();
    let r = run(&plan(&["--min-traces", "100"]), &fake).await;
    assert!(!r.stderr.contains("::error"));
}

#[tokio::test]
async fn the_text_report_fits_a_hundred_columns_without_colour() {
    let fake = seeded();
    let long = format!(
        r#"service("backend-flask") AND http.url CONTAINS "/api/{}""#,
        "x".repeat(150)
    );
    add_group(&fake, "Long", Some(&long), Vec::new());
    fake.state.lock().unwrap().summaries.push(trace(
        50,
        5.0,
        9.5,
        &["a"],
        &format!("http://very/{}", "long-".repeat(40)),
    ));
    add_rule(&fake, rule("Cruddur", 9000, "backend-flask"));
    let r = run(
        &plan(&["--min-traces", "1", "--expect-rule", "Cruddur"]),
        &fake,
    )
    .await;
    for line in r.stdout.lines() {
        assert!(
            line.chars().count() <= 100,
            "too wide ({}): {line}",
            line.chars().count()
        );
    }
    assert!(!r.stdout.contains('\u{1b}'), "no escape codes");
    for needle in [
        "Groups",
        "Long",
        "Sampling rules",
        "Cruddur",
        "Services",
        "backend-flask",
        "Slowest URL",
        "Checks",
        "min-traces",
        "all checks passed",
        "Traces    7 (fault 1, 14.3%; error 1; throttle 1)",
    ] {
        assert!(r.stdout.contains(needle), "{needle} in\n{}", r.stdout);
    }
}

#[tokio::test]
async fn on_a_terminal_the_report_draws_boxes_and_a_sparkline() {
    let fake = seeded();
    let mut env = Env::plain(OutputFormat::Text);
    env.stdout_is_terminal = true;
    let r = run_env(&plan(&[]), &fake, &env).await;
    assert!(r.stdout.contains("(min .. max, log scale)"), "{}", r.stdout);
    assert!(r.stdout.contains('│'));
    for line in r.stdout.lines() {
        assert!(line.chars().count() <= 100, "{line}");
    }
}

#[tokio::test]
async fn colour_marks_check_results_only_when_allowed() {
    let fake = seeded();
    let p = plan(&["--min-traces", "100"]);
    let mut env = Env::plain(OutputFormat::Text);
    env.color = true;
    env.stdout_is_terminal = true;
    let r = run_env(&p, &fake, &env).await;
    assert!(r.stdout.contains('\u{1b}'), "colour codes with colour on");
    env.color = false;
    let r = run_env(&p, &fake, &env).await;
    assert!(
        !r.stdout.contains('\u{1b}'),
        "none with --no-color/NO_COLOR"
    );
}

/// A stdout whose reader went away.
struct ClosedPipe;

impl std::io::Write for ClosedPipe {
    fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
        Err(std::io::ErrorKind::BrokenPipe.into())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Err(std::io::ErrorKind::BrokenPipe.into())
    }
}

#[tokio::test]
async fn a_closed_stdout_is_not_an_error() {
    let fake = seeded();
    let mut err = Vec::new();
    let outcome = run_with(
        &plan(&["--min-traces", "100"]),
        &fake,
        &Env::plain(OutputFormat::Text),
        &mut ClosedPipe,
        &mut err,
    )
    .await
    .unwrap();
    // The checks still decide the exit code, and stderr still names the failure.
    assert_eq!(outcome, Outcome::CheckFailed);
    assert!(
        String::from_utf8(err)
            .unwrap()
            .contains("check failed: min-traces")
    );
}

#[tokio::test]
async fn with_no_traces_at_all_the_groups_are_not_queried() {
    let fake = FakeXRay::new();
    add_group(
        &fake,
        "Cruddur",
        Some(r#"service("backend-flask")"#),
        Vec::new(),
    );
    add_group(&fake, "Other", None, Vec::new());
    let (_, v) = run_json(&plan(&["--group", "Cruddur", "--min-traces", "1"]), &fake).await;
    let summary_calls = fake
        .calls()
        .iter()
        .filter(|c| *c == "GetTraceSummaries")
        .count();
    assert_eq!(summary_calls, 1, "only the whole window was read");
    assert_eq!(v["groups"][0]["name"], "Cruddur");
    assert_eq!(v["groups"][0]["traces"]["count"], 0);
    assert_eq!(v["checks"][1]["ok"], false);
}

#[tokio::test]
async fn an_unreadable_service_graph_is_noted_last() {
    let fake = FakeXRay::new();
    fake.state.lock().unwrap().fail.insert(
        "GetServiceGraph",
        ("ThrottledException".into(), "slow down".into()),
    );
    let (r, v) = run_json(&plan(&[]), &fake).await;
    assert_eq!(r.outcome, Outcome::Ok);
    let codes = codes(&v);
    assert_eq!(codes.first().map(String::as_str), Some("no-traces"));
    assert_eq!(
        codes.last().map(String::as_str),
        Some("service-graph-unavailable")
    );
    assert!(r.stderr.lines().last().unwrap().starts_with("note: could not read the service graph (GetServiceGraph failed: ThrottledException: slow down)"));
}
