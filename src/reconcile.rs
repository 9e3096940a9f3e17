//! Desired state + what the service has → a plan ([`GroupPlan`], [`RulePlan`]) → the writes
//! that close the gap.
//!
//! Both create commands use this, so a re-run is safe: read first, then create, update in
//! place, or leave alone. A dry run is the same plan with no writes.
//!
//! Tags: tags given by the user (`--tag` flags, the rule file's `Tags`) are the desired
//! **full set** when at least one is given: missing keys are added, changed values are
//! overwritten (TagResource) and keys not in the set are removed (UntagResource; `aws:`
//! keys, which belong to AWS, are never touched). When no tags are given, the resource's
//! tags are left alone and not even read.
//!
//! Filter expressions work the same way: without one, an existing group's filter is left
//! alone. Insights and notifications are plain switches and always compared.

use std::fmt;

use serde::Serialize;
use serde_json::{Value, json};

use crate::error::{Error, Result};
use crate::spec::{DEFAULT_NAME, GroupSpec, SamplingRule, Tags};
use crate::xray::{Group, SamplingRuleRecord, SamplingRuleUpdate, XRay};

/// What the plan does to the resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    Create,
    Update,
    Unchanged,
}

/// One field that differs. `old` is null for a resource that does not exist yet, `new` is
/// null for a tag that goes away.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Change {
    pub field: String,
    pub old: Value,
    pub new: Value,
}

impl Change {
    fn new(field: impl Into<String>, old: Value, new: Value) -> Change {
        Change {
            field: field.into(),
            old,
            new,
        }
    }
}

/// A value as plans print it: JSON, with `(none)` for absent.
pub fn show(v: &Value) -> String {
    match v {
        Value::Null => "(none)".to_owned(),
        other => other.to_string(),
    }
}

impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} → {}",
            self.field,
            show(&self.old),
            show(&self.new)
        )
    }
}

/// Tag writes: keys to set (added or changed) and keys to remove.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TagDiff {
    pub set: Tags,
    pub remove: Vec<String>,
}

impl TagDiff {
    pub fn is_empty(&self) -> bool {
        self.set.is_empty() && self.remove.is_empty()
    }
}

/// What to do with a group.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupPlan {
    pub action: Action,
    pub changes: Vec<Change>,
    pub desired: GroupSpec,
    pub current: Option<Group>,
    /// Whether filter or insights differ (UpdateGroup is needed).
    pub update_group: bool,
    pub tags: TagDiff,
}

/// What to do with a sampling rule.
#[derive(Debug, Clone, PartialEq)]
pub struct RulePlan {
    pub action: Action,
    pub changes: Vec<Change>,
    pub name: String,
    pub desired: SamplingRule,
    pub desired_tags: Tags,
    pub current: Option<SamplingRuleRecord>,
    pub update: Option<SamplingRuleUpdate>,
    pub tags: TagDiff,
}

/// The desired tags against the current ones, when tags are managed (non-empty desired set).
pub fn diff_tags(current: &Tags, desired: &Tags) -> (TagDiff, Vec<Change>) {
    let mut diff = TagDiff::default();
    let mut changes = Vec::new();
    for (k, v) in desired {
        match current.get(k) {
            Some(old) if old == v => {}
            old => {
                diff.set.insert(k.clone(), v.clone());
                changes.push(Change::new(
                    format!("Tags.{k}"),
                    old.map_or(Value::Null, |o| json!(o)),
                    json!(v),
                ));
            }
        }
    }
    for (k, v) in current {
        if !desired.contains_key(k) && !crate::spec::is_aws_tag_key(k) {
            diff.remove.push(k.clone());
            changes.push(Change::new(format!("Tags.{k}"), json!(v), Value::Null));
        }
    }
    (diff, changes)
}

fn opt_str(s: &Option<String>) -> Value {
    s.as_ref().map_or(Value::Null, |s| json!(s))
}

/// Read the group (and its tags when tags are managed) and compare.
pub async fn plan_group(xray: &impl XRay, desired: &GroupSpec) -> Result<GroupPlan> {
    let current = xray.get_group(&desired.name).await?;
    let Some(cur) = current else {
        let mut changes = vec![
            Change::new(
                "FilterExpression",
                Value::Null,
                opt_str(&desired.filter_expression),
            ),
            Change::new(
                "InsightsEnabled",
                Value::Null,
                json!(desired.insights_enabled),
            ),
            Change::new(
                "NotificationsEnabled",
                Value::Null,
                json!(desired.notifications_enabled),
            ),
        ];
        // A group created without a filter has none: not a change worth listing.
        changes.retain(|c| !c.new.is_null());
        changes.extend(
            desired
                .tags
                .iter()
                .map(|(k, v)| Change::new(format!("Tags.{k}"), Value::Null, json!(v))),
        );
        return Ok(GroupPlan {
            action: Action::Create,
            changes,
            desired: desired.clone(),
            current: None,
            update_group: false,
            tags: TagDiff::default(),
        });
    };
    let mut changes = Vec::new();
    // Without a desired filter, the group's filter is left alone (as with tags).
    if desired.filter_expression.is_some() && cur.filter_expression != desired.filter_expression {
        changes.push(Change::new(
            "FilterExpression",
            opt_str(&cur.filter_expression),
            opt_str(&desired.filter_expression),
        ));
    }
    if cur.insights_enabled != desired.insights_enabled {
        changes.push(Change::new(
            "InsightsEnabled",
            json!(cur.insights_enabled),
            json!(desired.insights_enabled),
        ));
    }
    if cur.notifications_enabled != desired.notifications_enabled {
        changes.push(Change::new(
            "NotificationsEnabled",
            json!(cur.notifications_enabled),
            json!(desired.notifications_enabled),
        ));
    }
    let update_group = !changes.is_empty();
    if update_group && cur.name == DEFAULT_NAME {
        return Err(Error::invalid(format!(
            "the Default group belongs to X-Ray and cannot be changed ({}); use another --group-name",
            join(&changes)
        )));
    }
    let mut tags = TagDiff::default();
    if !desired.tags.is_empty() {
        let current_tags = xray.list_tags(&cur.arn).await?;
        let (diff, tag_changes) = diff_tags(&current_tags, &desired.tags);
        tags = diff;
        changes.extend(tag_changes);
    }
    Ok(GroupPlan {
        action: if changes.is_empty() {
            Action::Unchanged
        } else {
            Action::Update
        },
        changes,
        desired: desired.clone(),
        current: Some(cur),
        update_group,
        tags,
    })
}

/// Run the plan's writes. Returns the group as it is afterwards.
pub async fn apply_group(xray: &impl XRay, plan: &GroupPlan) -> Result<Group> {
    match (&plan.action, &plan.current) {
        (Action::Create, _) => {
            tracing::info!(group = %plan.desired.name, "creating group");
            xray.create_group(&plan.desired).await
        }
        (_, Some(cur)) => {
            let mut group = cur.clone();
            if plan.update_group {
                let d = &plan.desired;
                tracing::info!(group = %d.name, "updating group");
                let filter = d
                    .filter_expression
                    .as_deref()
                    .or(cur.filter_expression.as_deref());
                group = xray
                    .update_group(&d.name, filter, d.insights_enabled, d.notifications_enabled)
                    .await?;
            }
            apply_tags(xray, &group.arn, &plan.tags).await?;
            Ok(group)
        }
        (_, None) => Err(Error::Other(format!(
            "internal: a plan to update group {} has no current state",
            plan.desired.name
        ))),
    }
}

async fn apply_tags(xray: &impl XRay, arn: &str, tags: &TagDiff) -> Result<()> {
    if !tags.set.is_empty() {
        tracing::info!(%arn, count = tags.set.len(), "setting tags");
        xray.tag_resource(arn, &tags.set).await?;
    }
    if !tags.remove.is_empty() {
        tracing::info!(%arn, keys = ?tags.remove, "removing tags");
        xray.untag_resource(arn, &tags.remove).await?;
    }
    Ok(())
}

/// Changes as plans print them: `Field old → new, ...`.
pub fn join(changes: &[Change]) -> String {
    changes
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// Every field of a rule that UpdateSamplingRule can change, as (name, value) pairs.
fn rule_fields(r: &SamplingRule) -> Vec<(&'static str, Value)> {
    vec![
        ("ResourceARN", json!(r.resource_arn)),
        ("Priority", json!(r.priority)),
        ("FixedRate", json!(r.fixed_rate)),
        ("ReservoirSize", json!(r.reservoir_size)),
        ("ServiceName", json!(r.service_name)),
        ("ServiceType", json!(r.service_type)),
        ("Host", json!(r.host)),
        ("HTTPMethod", json!(r.http_method)),
        ("URLPath", json!(r.url_path)),
        (
            "Attributes",
            if r.attributes.is_empty() {
                Value::Null
            } else {
                json!(r.attributes)
            },
        ),
        (
            "SamplingRateBoost",
            r.sampling_rate_boost
                .as_ref()
                .map_or(Value::Null, |b| json!(b)),
        ),
    ]
}

/// The fields the Default rule lets you change.
const DEFAULT_RULE_MUTABLE: [&str; 2] = ["FixedRate", "ReservoirSize"];

/// Read the rules (and the rule's tags when tags are managed) and compare.
pub async fn plan_sampling_rule(
    xray: &impl XRay,
    desired: &SamplingRule,
    desired_tags: &Tags,
) -> Result<RulePlan> {
    let name = desired
        .rule_name
        .clone()
        .filter(|n| !n.is_empty())
        .ok_or_else(|| Error::invalid("SamplingRule.RuleName is required to create a rule"))?;
    let rules = xray.get_sampling_rules().await?;
    let current = rules
        .into_iter()
        .find(|r| r.rule.rule_name.as_deref() == Some(name.as_str()));
    let Some(cur) = current else {
        let mut changes: Vec<Change> = rule_fields(desired)
            .into_iter()
            .filter(|(_, v)| !v.is_null())
            .map(|(f, v)| Change::new(f, Value::Null, v))
            .collect();
        changes.push(Change::new("Version", Value::Null, json!(desired.version)));
        changes.extend(
            desired_tags
                .iter()
                .map(|(k, v)| Change::new(format!("Tags.{k}"), Value::Null, json!(v))),
        );
        return Ok(RulePlan {
            action: Action::Create,
            changes,
            name,
            desired: desired.clone(),
            desired_tags: desired_tags.clone(),
            current: None,
            update: None,
            tags: TagDiff::default(),
        });
    };
    if cur.rule.version != desired.version {
        return Err(Error::invalid(format!(
            "sampling rule {name}: Version cannot be changed ({} → {}); delete the rule and create it again",
            cur.rule.version, desired.version
        )));
    }
    let mut changes = Vec::new();
    for ((field, old), (_, new)) in rule_fields(&cur.rule).into_iter().zip(rule_fields(desired)) {
        if old != new {
            changes.push(Change::new(field, old, new));
        }
    }
    if name == DEFAULT_NAME
        && let Some(c) = changes
            .iter()
            .find(|c| !DEFAULT_RULE_MUTABLE.contains(&c.field.as_str()))
    {
        return Err(Error::invalid(format!(
            "the Default sampling rule: only FixedRate and ReservoirSize can be changed, not {} ({} → {})",
            c.field,
            show(&c.old),
            show(&c.new)
        )));
    }
    if desired.sampling_rate_boost.is_none() && cur.rule.sampling_rate_boost.is_some() {
        return Err(Error::invalid(format!(
            "sampling rule {name}: SamplingRateBoost cannot be removed by an update; delete the rule and create it again"
        )));
    }
    let update = (!changes.is_empty()).then(|| {
        if name == DEFAULT_NAME {
            default_rule_update(desired)
        } else {
            full_update(&name, desired)
        }
    });
    let mut tags = TagDiff::default();
    if !desired_tags.is_empty() {
        let current_tags = xray.list_tags(&cur.arn).await?;
        let (diff, tag_changes) = diff_tags(&current_tags, desired_tags);
        tags = diff;
        changes.extend(tag_changes);
    }
    Ok(RulePlan {
        action: if changes.is_empty() {
            Action::Unchanged
        } else {
            Action::Update
        },
        changes,
        name,
        desired: desired.clone(),
        desired_tags: desired_tags.clone(),
        current: Some(cur),
        update,
        tags,
    })
}

/// UpdateSamplingRule carrying every field but Version (the service's SamplingRuleUpdate).
pub fn full_update(name: &str, r: &SamplingRule) -> SamplingRuleUpdate {
    SamplingRuleUpdate {
        rule_name: name.to_owned(),
        resource_arn: Some(r.resource_arn.clone()),
        priority: Some(r.priority),
        fixed_rate: Some(r.fixed_rate),
        reservoir_size: Some(r.reservoir_size),
        service_name: Some(r.service_name.clone()),
        service_type: Some(r.service_type.clone()),
        host: Some(r.host.clone()),
        http_method: Some(r.http_method.clone()),
        url_path: Some(r.url_path.clone()),
        attributes: Some(r.attributes.clone()),
        sampling_rate_boost: r.sampling_rate_boost.clone(),
    }
}

/// UpdateSamplingRule for the Default rule: only the two fields X-Ray lets you change, so
/// the request never touches (or depends on the service accepting) the fixed ones.
fn default_rule_update(r: &SamplingRule) -> SamplingRuleUpdate {
    SamplingRuleUpdate {
        rule_name: DEFAULT_NAME.to_owned(),
        fixed_rate: Some(r.fixed_rate),
        reservoir_size: Some(r.reservoir_size),
        ..SamplingRuleUpdate::default()
    }
}

/// Run the plan's writes. Returns the rule as it is afterwards.
pub async fn apply_sampling_rule(xray: &impl XRay, plan: &RulePlan) -> Result<SamplingRuleRecord> {
    match (&plan.action, &plan.current) {
        (Action::Create, _) => {
            let mut rule = plan.desired.clone();
            // The name identifies the new rule; an ARN in the file is not sent.
            rule.rule_arn = None;
            tracing::info!(rule = %plan.name, "creating sampling rule");
            xray.create_sampling_rule(&rule, &plan.desired_tags).await
        }
        (_, Some(cur)) => {
            let record = match &plan.update {
                Some(u) => {
                    tracing::info!(rule = %plan.name, "updating sampling rule");
                    xray.update_sampling_rule(u).await?
                }
                None => cur.clone(),
            };
            apply_tags(xray, &record.arn, &plan.tags).await?;
            Ok(record)
        }
        (_, None) => Err(Error::Other(format!(
            "internal: a plan to update sampling rule {} has no current state",
            plan.name
        ))),
    }
}

#[cfg(test)]
#[path = "reconcile_tests.rs"]
mod tests;
