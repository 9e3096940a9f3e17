//! create-sampling-rule: the command logic against the recording fake.

use clap::Parser;

use super::*;
use crate::cli::{Cli, Command};
use crate::reconcile::Action;
use crate::spec::load_rule_bytes;
use crate::xray::fake::{FakeXRay, default_rule};

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

fn cruddur() -> SamplingRule {
    load_rule_bytes("xray.json", include_bytes!("../../aws/json/xray.json"))
        .unwrap()
        .rule
}

fn tags(pairs: &[(&str, &str)]) -> Tags {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

#[test]
fn the_file_flag_parses() {
    let cli = Cli::try_parse_from([
        "cruddur-xray",
        "create-sampling-rule",
        "--file",
        "file://aws/json/xray.json",
        "--dry-run",
    ])
    .unwrap();
    let Command::CreateSamplingRule(a) = cli.command else {
        panic!("parsed as another command");
    };
    assert_eq!(a.file, "file://aws/json/xray.json");
    assert!(a.dry_run && !a.no_update);
    assert!(Cli::try_parse_from(["cruddur-xray", "create-sampling-rule"]).is_err());
}

#[test]
fn a_bad_file_is_its_first_problem_on_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("xray.json");
    let src = include_str!("../../aws/json/xray.json")
        .replacen("\"FixedRate\": 0.1", "\"FixedRate\": 1.5", 1)
        .replacen("\"Version\": 1", "\"Version\": 2", 1);
    std::fs::write(&path, src).unwrap();
    let e = load(path.to_str().unwrap()).unwrap_err();
    assert_eq!(e.exit().code(), 252);
    assert_eq!(
        e.to_string(),
        format!(
            "{}:6:18: SamplingRule.FixedRate must be within 0..=1 (got 1.5) (and 1 more; `cruddur-xray validate` lists them all)",
            path.display()
        )
    );
}

#[tokio::test]
async fn a_missing_rule_is_created_with_its_tags() {
    let fake = FakeXRay::new();
    let t = tags(&[("team", "obs")]);
    let (report, outcome) = execute(&fake, &cruddur(), &t, RUN).await.unwrap();
    assert_eq!((report.action, outcome), (Action::Create, Outcome::Ok));
    assert_eq!(fake.writes(), ["CreateSamplingRule"]);
    let s = fake.state.lock().unwrap();
    let rec = &s.rules["Cruddur"];
    assert_eq!(rec.rule, cruddur());
    assert_eq!(s.tags[&rec.arn], t);
    assert_eq!(
        report.to_string(),
        "created sampling rule Cruddur (arn:aws:xray:us-east-1:000000000000:sampling-rule/Cruddur)"
    );
}

#[tokio::test]
async fn the_same_rule_again_is_unchanged() {
    let fake = FakeXRay::new();
    execute(&fake, &cruddur(), &Tags::new(), RUN).await.unwrap();
    let (report, outcome) = execute(&fake, &cruddur(), &Tags::new(), NO_UPDATE)
        .await
        .unwrap();
    assert_eq!((report.action, outcome), (Action::Unchanged, Outcome::Ok));
    assert_eq!(fake.writes(), ["CreateSamplingRule"]);
    assert_eq!(
        fake.calls().last().map(String::as_str),
        Some("GetSamplingRules")
    );
}

#[tokio::test]
async fn a_changed_rule_is_updated_with_every_field_but_version() {
    let fake = FakeXRay::new();
    execute(&fake, &cruddur(), &Tags::new(), RUN).await.unwrap();
    let mut desired = cruddur();
    desired.fixed_rate = 0.2;
    desired.url_path = "/api/*".into();
    let (report, outcome) = execute(&fake, &desired, &Tags::new(), RUN).await.unwrap();
    assert_eq!((report.action, outcome), (Action::Update, Outcome::Ok));
    assert!(report.applied);
    assert_eq!(
        report.to_string(),
        "updated sampling rule Cruddur: FixedRate 0.1 → 0.2, URLPath \"*\" → \"/api/*\""
    );
    assert_eq!(fake.writes(), ["CreateSamplingRule", "UpdateSamplingRule"]);
    let s = fake.state.lock().unwrap();
    assert_eq!(s.rules["Cruddur"].rule, desired);
    // The update carries every field, so nothing the file says is left to chance.
    let u = reconcile::full_update("Cruddur", &desired);
    assert_eq!(u.priority, Some(9000));
    assert_eq!(u.service_name.as_deref(), Some("backend-flask"));
    assert_eq!(u.attributes, Some(Default::default()));
}

#[tokio::test]
async fn dry_run_and_no_update_send_no_write() {
    let fake = FakeXRay::new();
    let (report, _) = execute(&fake, &cruddur(), &Tags::new(), DRY).await.unwrap();
    assert_eq!((report.action, report.applied), (Action::Create, false));
    assert!(fake.writes().is_empty());
    assert!(
        report.to_string().starts_with(
            "would create sampling rule Cruddur: ResourceARN (none) → \"*\", Priority (none) → 9000"
        ),
        "{report}"
    );

    execute(&fake, &cruddur(), &Tags::new(), RUN).await.unwrap();
    let mut desired = cruddur();
    desired.reservoir_size = 10;
    let (report, outcome) = execute(&fake, &desired, &Tags::new(), DRY).await.unwrap();
    assert_eq!((report.action, outcome), (Action::Update, Outcome::Ok));
    let (report, outcome) = execute(&fake, &desired, &Tags::new(), NO_UPDATE)
        .await
        .unwrap();
    assert_eq!(
        (report.action, outcome),
        (Action::Update, Outcome::CheckFailed)
    );
    assert_eq!(
        report.to_string(),
        "sampling rule Cruddur differs, not updated (--no-update): ReservoirSize 5 → 10"
    );
    assert_eq!(fake.writes(), ["CreateSamplingRule"]);
    assert_eq!(
        fake.state.lock().unwrap().rules["Cruddur"]
            .rule
            .reservoir_size,
        5
    );
}

#[tokio::test]
async fn a_version_change_must_be_a_delete_and_create() {
    let fake = FakeXRay::new();
    execute(&fake, &cruddur(), &Tags::new(), RUN).await.unwrap();
    let mut desired = cruddur();
    desired.version = 2;
    let e = execute(&fake, &desired, &Tags::new(), RUN)
        .await
        .unwrap_err();
    assert_eq!(e.exit().code(), 252);
    assert_eq!(
        e.to_string(),
        "sampling rule Cruddur: Version cannot be changed (1 → 2); delete the rule and create it again"
    );
    assert_eq!(fake.writes(), ["CreateSamplingRule"]);
}

#[tokio::test]
async fn the_default_rule_allows_only_rate_and_reservoir() {
    let fake = FakeXRay::new();
    let mut desired = default_rule();
    desired.fixed_rate = 0.1;
    desired.reservoir_size = 2;
    let (report, _) = execute(&fake, &desired, &Tags::new(), RUN).await.unwrap();
    assert_eq!(
        report.to_string(),
        "updated sampling rule Default: FixedRate 0.05 → 0.1, ReservoirSize 1 → 2"
    );
    assert_eq!(fake.writes(), ["UpdateSamplingRule"]);

    let mut bad = desired.clone();
    bad.priority = 5;
    let e = execute(&fake, &bad, &Tags::new(), RUN).await.unwrap_err();
    assert_eq!(e.exit().code(), 252);
    assert_eq!(
        e.to_string(),
        "the Default sampling rule: only FixedRate and ReservoirSize can be changed, not Priority (10000 → 5)"
    );
    assert_eq!(
        fake.writes(),
        ["UpdateSamplingRule"],
        "nothing more was sent"
    );
}

#[tokio::test]
async fn rule_tags_are_the_full_set_when_given() {
    let fake = FakeXRay::new();
    execute(&fake, &cruddur(), &tags(&[("a", "1"), ("b", "2")]), RUN)
        .await
        .unwrap();
    let (report, _) = execute(&fake, &cruddur(), &Tags::new(), RUN).await.unwrap();
    assert_eq!(report.action, Action::Unchanged, "no tags: left alone");
    let (report, _) = execute(&fake, &cruddur(), &tags(&[("a", "1")]), RUN)
        .await
        .unwrap();
    assert_eq!(
        report.to_string(),
        "updated sampling rule Cruddur: Tags.b \"2\" → (none)"
    );
    assert_eq!(fake.writes(), ["CreateSamplingRule", "UntagResource"]);
}

#[tokio::test]
async fn a_boost_cannot_be_removed_by_an_update() {
    let fake = FakeXRay::new();
    let mut with_boost = cruddur();
    with_boost.sampling_rate_boost = Some(crate::spec::SamplingRateBoost {
        max_rate: 0.5,
        cooldown_window_minutes: 1,
    });
    execute(&fake, &with_boost, &Tags::new(), RUN)
        .await
        .unwrap();
    let e = execute(&fake, &cruddur(), &Tags::new(), RUN)
        .await
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "sampling rule Cruddur: SamplingRateBoost cannot be removed by an update; delete the rule and create it again"
    );
}
