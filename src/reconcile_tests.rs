//! The diff core on its own; the commands' tests cover plan + apply end to end.

use super::*;

fn tags(pairs: &[(&str, &str)]) -> Tags {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

#[test]
fn tag_diff_adds_changes_and_removes_but_never_aws_keys() {
    let current = tags(&[
        ("keep", "1"),
        ("change", "old"),
        ("drop", "x"),
        ("aws:sys", "y"),
        ("AWS:Sys", "z"),
    ]);
    let desired = tags(&[("keep", "1"), ("change", "new"), ("add", "z")]);
    let (diff, changes) = diff_tags(&current, &desired);
    assert_eq!(diff.set, tags(&[("add", "z"), ("change", "new")]));
    assert_eq!(diff.remove, ["drop"]);
    let text: Vec<String> = changes.iter().map(ToString::to_string).collect();
    assert_eq!(
        text,
        [
            "Tags.add (none) → \"z\"",
            "Tags.change \"old\" → \"new\"",
            "Tags.drop \"x\" → (none)"
        ]
    );
    let (same, none) = diff_tags(&desired, &desired);
    assert!(same.is_empty() && none.is_empty());
}

#[test]
fn every_updatable_field_is_compared() {
    let base = crate::xray::fake::default_rule();
    let names: Vec<&str> = rule_fields(&base).iter().map(|(n, _)| *n).collect();
    assert_eq!(
        names,
        [
            "ResourceARN",
            "Priority",
            "FixedRate",
            "ReservoirSize",
            "ServiceName",
            "ServiceType",
            "Host",
            "HTTPMethod",
            "URLPath",
            "Attributes",
            "SamplingRateBoost"
        ]
    );
    let mut other = base.clone();
    other.host = "example.com".into();
    other.attributes.insert("k".into(), "v".into());
    let differing: Vec<&str> = rule_fields(&base)
        .into_iter()
        .zip(rule_fields(&other))
        .filter(|(a, b)| a.1 != b.1)
        .map(|(a, _)| a.0)
        .collect();
    assert_eq!(differing, ["Host", "Attributes"]);
}

#[tokio::test]
async fn the_default_rule_is_updated_with_only_rate_and_reservoir() {
    let fake = crate::xray::fake::FakeXRay::new();
    let mut desired = crate::xray::fake::default_rule();
    desired.fixed_rate = 0.2;
    let plan = plan_sampling_rule(&fake, &desired, &Tags::new())
        .await
        .unwrap();
    assert_eq!(plan.action, Action::Update);
    assert_eq!(
        plan.update,
        Some(SamplingRuleUpdate {
            rule_name: "Default".into(),
            fixed_rate: Some(0.2),
            reservoir_size: Some(1),
            ..SamplingRuleUpdate::default()
        })
    );
    let after = apply_sampling_rule(&fake, &plan).await.unwrap();
    assert_eq!(after.rule, desired);
}
