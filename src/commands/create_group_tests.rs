//! create-group: flag checks, and the command logic against the recording fake.

use clap::Parser;

use super::*;
use crate::cli::{Cli, Command};
use crate::reconcile::Action;
use crate::xray::fake::FakeXRay;

fn args(argv: &[&str]) -> Args {
    let mut full = vec!["cruddur-xray", "create-group"];
    full.extend_from_slice(argv);
    match Cli::try_parse_from(full).unwrap().command {
        Command::CreateGroup(a) => a,
        other => panic!("parsed as {other:?}"),
    }
}

fn spec_err(argv: &[&str]) -> String {
    let e = spec_from_args(&args(argv)).unwrap_err();
    assert_eq!(e.exit().code(), 252, "{e}");
    e.to_string()
}

/// A group as desired, with no filter (the filter module is tested on its own).
fn group(name: &str) -> GroupSpec {
    GroupSpec {
        name: name.into(),
        ..Default::default()
    }
}

fn tags(pairs: &[(&str, &str)]) -> Tags {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

const RUN: ApplyOptions = ApplyOptions {
    dry_run: false,
    no_update: false,
};
const DRY: ApplyOptions = ApplyOptions {
    dry_run: true,
    no_update: false,
};
const NO_UPDATE: ApplyOptions = ApplyOptions {
    dry_run: false,
    no_update: true,
};

#[test]
fn flags_parse_into_a_spec() {
    let spec = spec_from_args(&args(&[
        "--group-name",
        "Cruddur",
        "--insights",
        "--notifications",
        "--tag",
        "team=obs",
        "--tag",
        "env=",
    ]))
    .unwrap();
    assert_eq!(spec.name, "Cruddur");
    assert!(spec.insights_enabled && spec.notifications_enabled);
    assert_eq!(spec.filter_expression, None);
    assert_eq!(spec.tags, tags(&[("env", ""), ("team", "obs")]));
    let a = args(&["--group-name", "G", "--dry-run", "--no-update"]);
    assert!(a.dry_run && a.no_update);
}

#[test]
fn a_missing_group_name_is_a_usage_error() {
    let e = Cli::try_parse_from(["cruddur-xray", "create-group"]).unwrap_err();
    assert!(e.use_stderr());
    assert!(e.to_string().contains("--group-name"), "{e}");
}

#[test]
fn bad_flags_are_refused_before_any_request() {
    assert_eq!(
        spec_err(&["--group-name", ""]),
        "--group-name must be 1..=32 characters long (got 0)"
    );
    assert_eq!(
        spec_err(&["--group-name", &"g".repeat(33)]),
        "--group-name must be 1..=32 characters long (got 33)"
    );
    assert_eq!(
        spec_err(&["--group-name", "a\tb"]),
        "--group-name must not contain control characters (found U+0009)"
    );
    assert_eq!(
        spec_err(&["--group-name", "G", "--notifications"]),
        "--notifications requires --insights"
    );
    assert_eq!(
        spec_err(&["--group-name", "G", "--tag", "team"]),
        "--tag must be KEY=VALUE (got \"team\")"
    );
    assert_eq!(
        spec_err(&["--group-name", "G", "--tag", "=x"]),
        "--tag key must be 1..=128 characters long (got 0 in \"=x\")"
    );
    assert_eq!(
        spec_err(&["--group-name", "G", "--tag", "aws:team=x"]),
        "--tag key must not start with \"aws:\" (reserved for AWS; got \"aws:team\")"
    );
    // AWS reserves the prefix in any case; sending it would only get a 254.
    assert_eq!(
        spec_err(&["--group-name", "G", "--tag", "Aws:team=x"]),
        "--tag key must not start with \"aws:\" (reserved for AWS; got \"Aws:team\")"
    );
    assert_eq!(
        spec_err(&["--group-name", "G", "--tag", "a=1", "--tag", "a=2"]),
        "--tag a is given twice"
    );
    let long_value = format!("k={}", "v".repeat(257));
    assert_eq!(
        spec_err(&["--group-name", "G", "--tag", &long_value]),
        "--tag k: value must be at most 256 characters long (got 257)"
    );
    assert_eq!(
        spec_err(&["--group-name", "G", "--filter-expression", "  "]),
        "--filter-expression must not be empty (leave the flag out for a group without a filter)"
    );
    // 32 characters, and a name with '=' in the tag value, are fine.
    assert!(
        spec_from_args(&args(&[
            "--group-name",
            &"g".repeat(32),
            "--tag",
            "url=a=b"
        ]))
        .is_ok()
    );
}

#[tokio::test]
async fn a_missing_group_is_created() {
    let fake = FakeXRay::new();
    let mut desired = group("Cruddur");
    desired.filter_expression = Some("service(\"backend-flask\")".into());
    desired.tags = tags(&[("team", "obs")]);
    let (report, outcome) = execute(&fake, &desired, RUN).await.unwrap();
    assert_eq!(outcome, Outcome::Ok);
    assert_eq!(report.action, Action::Create);
    assert!(report.applied);
    assert_eq!(fake.writes(), ["CreateGroup"]);
    let s = fake.state.lock().unwrap();
    let g = &s.groups["Cruddur"];
    assert_eq!(report.arn.as_deref(), Some(g.arn.as_str()));
    assert_eq!(g.filter_expression, desired.filter_expression);
    assert_eq!(s.tags[&g.arn], desired.tags);
    assert_eq!(
        report.to_string(),
        format!("created group Cruddur ({})", g.arn)
    );
}

#[tokio::test]
async fn a_second_run_changes_nothing() {
    let fake = FakeXRay::new();
    let mut desired = group("Cruddur");
    desired.insights_enabled = true;
    desired.tags = tags(&[("team", "obs")]);
    execute(&fake, &desired, RUN).await.unwrap();
    let writes_before = fake.writes().len();
    let (report, outcome) = execute(&fake, &desired, NO_UPDATE).await.unwrap();
    assert_eq!(outcome, Outcome::Ok);
    assert_eq!(report.action, Action::Unchanged);
    assert!(report.changes.is_empty());
    assert_eq!(fake.writes().len(), writes_before, "no write on the re-run");
    assert!(
        report
            .to_string()
            .starts_with("unchanged group Cruddur (arn:")
    );
}

#[tokio::test]
async fn a_different_group_is_updated_in_place() {
    let fake = FakeXRay::new();
    execute(&fake, &group("Cruddur"), RUN).await.unwrap();
    let mut desired = group("Cruddur");
    desired.filter_expression = Some("service(\"backend-flask\")".into());
    desired.insights_enabled = true;
    let (report, outcome) = execute(&fake, &desired, RUN).await.unwrap();
    assert_eq!(outcome, Outcome::Ok);
    assert_eq!(report.action, Action::Update);
    assert!(report.applied);
    assert_eq!(fake.writes(), ["CreateGroup", "UpdateGroup"]);
    assert_eq!(
        report.to_string(),
        "updated group Cruddur: FilterExpression (none) → \"service(\\\"backend-flask\\\")\", InsightsEnabled false → true"
    );
    let s = fake.state.lock().unwrap();
    assert!(s.groups["Cruddur"].insights_enabled);
}

#[tokio::test]
async fn dry_run_plans_but_sends_no_write() {
    let fake = FakeXRay::new();
    let (report, outcome) = execute(&fake, &group("Cruddur"), DRY).await.unwrap();
    assert_eq!(outcome, Outcome::Ok);
    assert_eq!((report.action, report.applied), (Action::Create, false));
    assert_eq!(report.arn, None);
    assert!(fake.writes().is_empty(), "{:?}", fake.writes());
    assert!(
        report
            .to_string()
            .starts_with("would create group Cruddur: ")
    );

    execute(&fake, &group("Cruddur"), RUN).await.unwrap();
    let mut desired = group("Cruddur");
    desired.insights_enabled = true;
    let (report, _) = execute(&fake, &desired, DRY).await.unwrap();
    assert_eq!(report.action, Action::Update);
    assert_eq!(
        fake.writes(),
        ["CreateGroup"],
        "the dry update wrote nothing"
    );
    assert_eq!(
        report.to_string(),
        "would update group Cruddur: InsightsEnabled false → true"
    );
}

#[tokio::test]
async fn no_update_reports_drift_and_fails_the_check_without_writing() {
    let fake = FakeXRay::new();
    execute(&fake, &group("Cruddur"), RUN).await.unwrap();
    let mut desired = group("Cruddur");
    desired.insights_enabled = true;
    desired.notifications_enabled = true;
    let (report, outcome) = execute(&fake, &desired, NO_UPDATE).await.unwrap();
    assert_eq!(outcome, Outcome::CheckFailed);
    assert!(report.is_drift());
    assert_eq!(fake.writes(), ["CreateGroup"]);
    assert_eq!(
        report.to_string(),
        "group Cruddur differs, not updated (--no-update): InsightsEnabled false → true, NotificationsEnabled false → true"
    );
    // --no-update still creates a group that is missing.
    let (report, outcome) = execute(&fake, &group("Other"), NO_UPDATE).await.unwrap();
    assert_eq!((report.action, outcome), (Action::Create, Outcome::Ok));
    assert!(report.applied);
}

#[tokio::test]
async fn tags_given_are_the_full_set_and_no_tags_leave_them_alone() {
    let fake = FakeXRay::new();
    let mut desired = group("Cruddur");
    desired.tags = tags(&[("team", "obs"), ("env", "dev")]);
    execute(&fake, &desired, RUN).await.unwrap();
    let arn = fake.state.lock().unwrap().groups["Cruddur"].arn.clone();
    fake.state
        .lock()
        .unwrap()
        .tags
        .get_mut(&arn)
        .unwrap()
        .insert("aws:cloudformation:stack-name".into(), "s".into());

    // Without tags: not read, not written.
    let calls_before = fake.calls().len();
    let (report, _) = execute(&fake, &group("Cruddur"), RUN).await.unwrap();
    assert_eq!(report.action, Action::Unchanged);
    assert_eq!(&fake.calls()[calls_before..], ["GetGroup"]);

    // With tags: the full set. env changes, team goes, owner comes, aws: stays.
    desired.tags = tags(&[("env", "prod"), ("owner", "me")]);
    let (report, _) = execute(&fake, &desired, RUN).await.unwrap();
    assert_eq!(report.action, Action::Update);
    assert_eq!(
        report.to_string(),
        "updated group Cruddur: Tags.env \"dev\" → \"prod\", Tags.owner (none) → \"me\", Tags.team \"obs\" → (none)"
    );
    assert_eq!(
        &fake.writes()[1..],
        ["TagResource", "UntagResource"],
        "no UpdateGroup when only tags differ"
    );
    let s = fake.state.lock().unwrap();
    assert_eq!(
        s.tags[&arn],
        tags(&[
            ("aws:cloudformation:stack-name", "s"),
            ("env", "prod"),
            ("owner", "me")
        ])
    );
}

#[tokio::test]
async fn the_default_group_cannot_be_changed() {
    let fake = FakeXRay::new();
    let (report, _) = execute(&fake, &group("Default"), RUN).await.unwrap();
    assert_eq!(report.action, Action::Unchanged);
    let mut desired = group("Default");
    desired.insights_enabled = true;
    let e = execute(&fake, &desired, RUN).await.unwrap_err();
    assert_eq!(e.exit().code(), 252);
    assert_eq!(
        e.to_string(),
        "the Default group belongs to X-Ray and cannot be changed (InsightsEnabled false → true); use another --group-name"
    );
    assert!(fake.writes().is_empty());
}

#[tokio::test]
async fn service_errors_pass_through() {
    let fake = FakeXRay::new();
    fake.state.lock().unwrap().fail.insert(
        "CreateGroup",
        (
            "InvalidRequestException".into(),
            "You have reached the maximum number of groups".into(),
        ),
    );
    let e = execute(&fake, &group("Cruddur"), RUN).await.unwrap_err();
    assert_eq!(e.exit().code(), 254);
    assert_eq!(
        e.to_string(),
        "CreateGroup failed: InvalidRequestException: You have reached the maximum number of groups"
    );
}

#[tokio::test]
async fn without_a_filter_flag_the_groups_filter_is_kept() {
    let fake = FakeXRay::new();
    let mut with_filter = group("Cruddur");
    with_filter.filter_expression = Some("service(\"backend-flask\")".into());
    execute(&fake, &with_filter, RUN).await.unwrap();

    let (report, _) = execute(&fake, &group("Cruddur"), RUN).await.unwrap();
    assert_eq!(report.action, Action::Unchanged);

    let mut insights = group("Cruddur");
    insights.insights_enabled = true;
    let (report, _) = execute(&fake, &insights, RUN).await.unwrap();
    assert_eq!(
        report.to_string(),
        "updated group Cruddur: InsightsEnabled false → true"
    );
    let s = fake.state.lock().unwrap();
    assert_eq!(
        s.groups["Cruddur"].filter_expression, with_filter.filter_expression,
        "the update kept the filter"
    );
}

#[test]
fn a_valid_filter_expression_passes_the_local_check() {
    check_filter_expression("service(\"backend-flask\") { fault }").unwrap();
}

#[test]
fn every_filter_problem_is_shown_with_flag_position_and_caret() {
    let expr = "resposetime > 5 AND service(\"backend-flask\"";
    let err = check_filter_expression(expr).unwrap_err();
    assert_eq!(err.exit().code(), 252);
    assert_eq!(
        err.to_string(),
        "--filter-expression:1:1: unknown keyword `resposetime`; did you mean `responsetime`?\n  \
         |\n1 | resposetime > 5 AND service(\"backend-flask\"\n  | ^^^^^^^^^^^\n\
         error: --filter-expression:1:28: this `(` is never closed; add `)`\n  \
         |\n1 | resposetime > 5 AND service(\"backend-flask\"\n  |                            ^"
    );
}
