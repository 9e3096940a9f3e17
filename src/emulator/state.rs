//! The emulator's state and every operation's semantics, without HTTP: `Store::call` takes
//! a region, an operation name and the request body, and returns the response body or an
//! [`ApiError`]. Tests drive it directly; the server is a thin layer over it.
//!
//! Semantic choices (AWS behaviour where it is documented, else the stricter reading):
//! - The Default group (no filter) and the Default rule (priority 10000, reservoir 1, rate
//!   0.05, every matcher `*`, Version 1) exist in every region, are listed first and cannot
//!   be deleted. The Default group's filter cannot be set; its insights can.
//! - Quotas: 25 groups and 25 sampling rules per region, the Defaults not counted. The 26th
//!   rule gives RuleLimitExceededException; the 26th group gives InvalidRequestException,
//!   the only client error the model declares for CreateGroup.
//! - A Default-rule update may carry other fields only when they keep their current
//!   value; a change to anything but FixedRate and ReservoirSize is refused.
//! - Tags: at most 50 user tags per resource (AWS's documented quota; the model's list
//!   allows 200). More at create time is InvalidRequestException, more after TagResource is
//!   TooManyTagsException. Keys starting with `aws:` (any case) are refused.
//! - A group's filter expression is stored as given, not parsed: like X-Ray, a group whose
//!   expression does not parse simply matches no trace.
//! - GetGroups and GetSamplingRules return pages of [`PAGE_SIZE`] with an opaque NextToken.

use std::collections::HashMap;
use std::sync::Mutex;

use serde_json::{Map, Value, json};

use super::error::ApiError;
use super::traces::TraceStore;
use crate::model::{JsonPath, ViolationKind, model, validate};
use crate::spec::{DEFAULT_NAME, SamplingRule, Tags};

/// The fake account every ARN carries.
pub const ACCOUNT_ID: &str = "000000000000";
/// Groups and rules per page.
pub const PAGE_SIZE: usize = 10;
/// Custom groups and custom rules per region.
pub const QUOTA: usize = 25;
/// User tags per resource.
pub const MAX_TAGS: usize = 50;

/// The operations the emulator serves. Other model operations get a clear JSON error.
pub const IMPLEMENTED: &[&str] = &[
    "CreateGroup",
    "GetGroup",
    "GetGroups",
    "UpdateGroup",
    "DeleteGroup",
    "CreateSamplingRule",
    "GetSamplingRules",
    "UpdateSamplingRule",
    "DeleteSamplingRule",
    "TagResource",
    "UntagResource",
    "ListTagsForResource",
    "PutTraceSegments",
    "GetTraceSummaries",
    "BatchGetTraces",
    "GetServiceGraph",
    "GetTraceSegmentDestination",
    "UpdateTraceSegmentDestination",
    "GetIndexingRules",
    "UpdateIndexingRule",
    "GetSamplingTargets",
];

pub use crate::trace::now;

#[derive(Debug, Clone)]
pub(crate) struct GroupRec {
    pub name: String,
    pub arn: String,
    pub filter: Option<String>,
    pub insights: bool,
    pub notifications: bool,
}

#[derive(Debug, Clone)]
struct RuleRec {
    rule: SamplingRule,
    created_at: f64,
    modified_at: f64,
}

/// One region's state.
#[derive(Debug)]
pub(crate) struct Region {
    name: String,
    pub groups: Vec<GroupRec>,
    rules: Vec<RuleRec>,
    tags: HashMap<String, Tags>,
    pub traces: TraceStore,
    pub destination: String,
    pub indexing_percentage: f64,
    indexing_modified_at: f64,
}

impl Region {
    fn new(name: &str) -> Region {
        let t = now().floor();
        let default_rule = SamplingRule {
            rule_arn: Some(rule_arn(name, DEFAULT_NAME)),
            ..SamplingRule::aws_default()
        };
        Region {
            name: name.to_owned(),
            groups: vec![GroupRec {
                name: DEFAULT_NAME.into(),
                arn: format!("arn:aws:xray:{name}:{ACCOUNT_ID}:group/{DEFAULT_NAME}"),
                filter: None,
                insights: false,
                notifications: false,
            }],
            rules: vec![RuleRec {
                rule: default_rule,
                created_at: t,
                modified_at: t,
            }],
            tags: HashMap::new(),
            traces: TraceStore::default(),
            destination: "XRay".into(),
            indexing_percentage: 1.0,
            indexing_modified_at: t,
        }
    }
}

fn rule_arn(region: &str, name: &str) -> String {
    format!("arn:aws:xray:{region}:{ACCOUNT_ID}:sampling-rule/{name}")
}

/// Every region's state, created on first use.
#[derive(Debug)]
pub struct Store {
    regions: Mutex<HashMap<String, Region>>,
    rng: Mutex<fastrand::Rng>,
}

impl Default for Store {
    fn default() -> Self {
        Store::new()
    }
}

impl Store {
    pub fn new() -> Store {
        Store {
            regions: Mutex::new(HashMap::new()),
            rng: Mutex::new(fastrand::Rng::new()),
        }
    }

    /// Run one operation. The body is checked against the operation's input shape first
    /// (unknown members ignored, as the service does).
    pub fn call(&self, region: &str, operation: &str, body: &Value) -> Result<Value, ApiError> {
        let Some(op) = model().operations.get(operation) else {
            return Err(ApiError::new(
                404,
                "UnknownOperationException",
                format!("Unknown operation {operation}"),
            ));
        };
        if !IMPLEMENTED.contains(&operation) {
            return Err(ApiError::new(
                501,
                "NotImplementedException",
                format!("The cruddur-xray emulator does not implement {operation}"),
            ));
        }
        if let Some(input) = &op.input {
            check_input(&input.shape, body)?;
        }
        let id = self.random_id();
        let mut regions = self
            .regions
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let r = regions
            .entry(region.to_owned())
            .or_insert_with(|| Region::new(region));
        match operation {
            "CreateGroup" => create_group(r, body, &id),
            "GetGroup" => {
                let g = find_group(r, body)?;
                Ok(json!({ "Group": group_json(&r.groups[g]) }))
            }
            "GetGroups" => get_groups(r, body),
            "UpdateGroup" => update_group(r, body),
            "DeleteGroup" => delete_group(r, body),
            "CreateSamplingRule" => create_rule(r, body),
            "GetSamplingRules" => get_rules(r, body),
            "UpdateSamplingRule" => update_rule(r, body),
            "DeleteSamplingRule" => delete_rule(r, body),
            "TagResource" => tag_resource(r, body),
            "UntagResource" => untag_resource(r, body),
            "ListTagsForResource" => list_tags(r, body),
            "GetTraceSegmentDestination" => Ok(json!({
                "Destination": r.destination, "Status": "ACTIVE"
            })),
            "UpdateTraceSegmentDestination" => {
                if let Some(d) = body.get("Destination").and_then(Value::as_str) {
                    r.destination = d.to_owned();
                }
                Ok(json!({ "Destination": r.destination, "Status": "ACTIVE" }))
            }
            "GetIndexingRules" => Ok(json!({ "IndexingRules": [indexing_rule_json(r)] })),
            "UpdateIndexingRule" => update_indexing_rule(r, body),
            "GetSamplingTargets" => Ok(sampling_targets(r, body)),
            _ => super::traces::call(r, operation, body),
        }
    }

    fn random_id(&self) -> String {
        const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
        let mut rng = self.rng.lock().unwrap_or_else(|p| p.into_inner());
        (0..32)
            .map(|_| ALPHABET[rng.usize(..ALPHABET.len())] as char)
            .collect()
    }
}

/// Every model constraint, reported in one InvalidRequestException naming each field.
fn check_input(shape: &str, body: &Value) -> Result<(), ApiError> {
    let problems: Vec<String> = validate(shape, body, &JsonPath::default())
        .into_iter()
        .filter(|v| v.kind != ViolationKind::UnknownMember)
        .map(|v| v.message)
        .collect();
    if problems.is_empty() {
        Ok(())
    } else {
        Err(ApiError::invalid(problems.join("; ")))
    }
}

/// A member that is present and not null.
fn member<'a>(body: &'a Value, key: &str) -> Option<&'a Value> {
    body.get(key).filter(|v| !v.is_null())
}

fn str_member<'a>(body: &'a Value, key: &str) -> Option<&'a str> {
    member(body, key).and_then(Value::as_str)
}

/// An opaque paging token: `kind:cursor`, hex-encoded.
pub(crate) fn encode_token(kind: &str, cursor: &str) -> String {
    let plain = format!("{kind}:{cursor}");
    plain.bytes().map(|b| format!("{b:02x}")).collect()
}

pub(crate) fn decode_token(kind: &str, token: &str) -> Result<String, ApiError> {
    let bad = || ApiError::invalid("NextToken is not valid for this request");
    if !token.len().is_multiple_of(2) || !token.is_ascii() {
        return Err(bad());
    }
    let bytes: Result<Vec<u8>, _> = (0..token.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&token[i..i + 2], 16))
        .collect();
    let plain = String::from_utf8(bytes.map_err(|_| bad())?).map_err(|_| bad())?;
    plain
        .strip_prefix(kind)
        .and_then(|rest| rest.strip_prefix(':'))
        .map(str::to_owned)
        .ok_or_else(bad)
}

fn page<T>(
    items: &[T],
    kind: &str,
    body: &Value,
    to_json: impl Fn(&T) -> Value,
) -> Result<(Vec<Value>, Option<String>), ApiError> {
    let start = match str_member(body, "NextToken") {
        None => 0,
        Some(t) => decode_token(kind, t)?
            .parse::<usize>()
            .ok()
            .filter(|&n| n <= items.len())
            .ok_or_else(|| ApiError::invalid("NextToken is not valid for this request"))?,
    };
    let end = (start + PAGE_SIZE).min(items.len());
    let next = (end < items.len()).then(|| encode_token(kind, &end.to_string()));
    Ok((items[start..end].iter().map(to_json).collect(), next))
}

fn with_token(mut v: Value, next: Option<String>) -> Value {
    if let Some(t) = next {
        v["NextToken"] = Value::String(t);
    }
    v
}

// ---- groups ----

fn group_json(g: &GroupRec) -> Value {
    let mut v = json!({
        "GroupName": g.name,
        "GroupARN": g.arn,
    });
    if let Some(f) = &g.filter {
        v["FilterExpression"] = Value::String(f.clone());
    }
    v["InsightsConfiguration"] = json!({
        "InsightsEnabled": g.insights,
        "NotificationsEnabled": g.notifications,
    });
    v
}

/// The group a request names by GroupARN (preferred) or GroupName.
fn find_group(r: &Region, body: &Value) -> Result<usize, ApiError> {
    let found = if let Some(arn) = str_member(body, "GroupARN") {
        r.groups.iter().position(|g| g.arn == arn)
    } else if let Some(name) = str_member(body, "GroupName") {
        r.groups.iter().position(|g| g.name == name)
    } else {
        return Err(ApiError::invalid(
            "Either GroupName or GroupARN is required",
        ));
    };
    found.ok_or_else(|| ApiError::invalid("Group not found"))
}

fn insights(body: &Value, current: (bool, bool)) -> Result<(bool, bool), ApiError> {
    let Some(cfg) = member(body, "InsightsConfiguration") else {
        return Ok(current);
    };
    let get = |k: &str, old: bool| cfg.get(k).and_then(Value::as_bool).unwrap_or(old);
    let (i, n) = (
        get("InsightsEnabled", current.0),
        get("NotificationsEnabled", current.1),
    );
    if n && !i {
        return Err(ApiError::invalid(
            "InsightsConfiguration.NotificationsEnabled requires InsightsConfiguration.InsightsEnabled",
        ));
    }
    Ok((i, n))
}

/// Tags from a `[{Key, Value}]` list, with the checks the model cannot express.
fn tags_of(list: Option<&Value>) -> Result<Tags, ApiError> {
    let mut tags = Tags::new();
    for (i, t) in list
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
    {
        let key = t.get("Key").and_then(Value::as_str).unwrap_or_default();
        let value = t.get("Value").and_then(Value::as_str).unwrap_or_default();
        check_tag_key(key, &format!("Tags[{i}].Key"))?;
        tags.insert(key.to_owned(), value.to_owned());
    }
    Ok(tags)
}

fn check_tag_key(key: &str, field: &str) -> Result<(), ApiError> {
    if crate::spec::is_aws_tag_key(key) {
        return Err(ApiError::invalid(format!(
            "{field} must not start with \"aws:\", a prefix reserved for AWS (got {key:?})"
        )));
    }
    Ok(())
}

fn tags_json(tags: &Tags) -> Value {
    Value::Array(
        tags.iter()
            .map(|(k, v)| json!({ "Key": k, "Value": v }))
            .collect(),
    )
}

fn create_group(r: &mut Region, body: &Value, id: &str) -> Result<Value, ApiError> {
    let name = str_member(body, "GroupName").unwrap_or_default();
    if r.groups.iter().any(|g| g.name == name) {
        return Err(ApiError::invalid(format!("Group {name} already exists")));
    }
    if r.groups.len() > QUOTA {
        return Err(ApiError::invalid(format!(
            "Group limit exceeded: a region holds at most {QUOTA} groups besides Default"
        )));
    }
    let (insights, notifications) = insights(body, (false, false))?;
    let tags = tags_of(member(body, "Tags"))?;
    if tags.len() > MAX_TAGS {
        return Err(ApiError::invalid(format!(
            "Tags must have at most {MAX_TAGS} entries (got {})",
            tags.len()
        )));
    }
    let g = GroupRec {
        name: name.to_owned(),
        arn: format!("arn:aws:xray:{}:{ACCOUNT_ID}:group/{name}/{id}", r.name),
        filter: str_member(body, "FilterExpression")
            .filter(|f| !f.is_empty())
            .map(str::to_owned),
        insights,
        notifications,
    };
    if !tags.is_empty() {
        r.tags.insert(g.arn.clone(), tags);
    }
    let out = json!({ "Group": group_json(&g) });
    r.groups.push(g);
    Ok(out)
}

fn get_groups(r: &Region, body: &Value) -> Result<Value, ApiError> {
    let (groups, next) = page(&r.groups, "groups", body, group_json)?;
    Ok(with_token(json!({ "Groups": groups }), next))
}

fn update_group(r: &mut Region, body: &Value) -> Result<Value, ApiError> {
    let i = find_group(r, body)?;
    let g = &r.groups[i];
    let filter = member(body, "FilterExpression").and_then(Value::as_str);
    if g.name == DEFAULT_NAME && filter.is_some_and(|f| !f.is_empty()) {
        return Err(ApiError::invalid(
            "The Default group has no filter expression and cannot be given one",
        ));
    }
    let (insights, notifications) = insights(body, (g.insights, g.notifications))?;
    let g = &mut r.groups[i];
    if let Some(f) = filter {
        g.filter = (!f.is_empty()).then(|| f.to_owned());
    }
    g.insights = insights;
    g.notifications = notifications;
    Ok(json!({ "Group": group_json(g) }))
}

fn delete_group(r: &mut Region, body: &Value) -> Result<Value, ApiError> {
    let i = find_group(r, body)?;
    if r.groups[i].name == DEFAULT_NAME {
        return Err(ApiError::invalid("The Default group cannot be deleted"));
    }
    let g = r.groups.remove(i);
    r.tags.remove(&g.arn);
    Ok(json!({}))
}

// ---- sampling rules ----

fn record_json(rec: &RuleRec) -> Value {
    let mut rule = serde_json::to_value(&rec.rule).unwrap_or_else(|_| json!({}));
    if rule.get("Attributes").is_none() {
        rule["Attributes"] = json!({});
    }
    json!({
        "SamplingRule": rule,
        "CreatedAt": rec.created_at,
        "ModifiedAt": rec.modified_at,
    })
}

/// Only the members the model knows, so the typed rule accepts what the service accepts.
fn known_members(shape: &str, v: &Value) -> Value {
    let Some(s) = model().shape(shape) else {
        return v.clone();
    };
    let map: Map<String, Value> = v
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(k, v)| s.members.contains_key(*k) && !v.is_null())
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    Value::Object(map)
}

fn create_rule(r: &mut Region, body: &Value) -> Result<Value, ApiError> {
    let raw = member(body, "SamplingRule").cloned().unwrap_or_default();
    let mut rule: SamplingRule = serde_json::from_value(known_members("SamplingRule", &raw))
        .map_err(|e| ApiError::invalid(format!("SamplingRule is not valid: {e}")))?;
    let Some(name) = rule.rule_name.clone() else {
        return Err(ApiError::invalid("SamplingRule.RuleName is required"));
    };
    if rule.version != 1 {
        return Err(ApiError::invalid(format!(
            "SamplingRule.Version must be 1 (got {})",
            rule.version
        )));
    }
    if r.rules
        .iter()
        .any(|x| x.rule.rule_name.as_deref() == Some(&name))
    {
        return Err(ApiError::invalid("Sampling rule already exists"));
    }
    if r.rules.len() > QUOTA {
        return Err(ApiError::modeled(
            "RuleLimitExceededException",
            format!("Sampling rule limit exceeded: at most {QUOTA} rules besides Default"),
        ));
    }
    let tags = tags_of(member(body, "Tags"))?;
    if tags.len() > MAX_TAGS {
        return Err(ApiError::invalid(format!(
            "Tags must have at most {MAX_TAGS} entries (got {})",
            tags.len()
        )));
    }
    let arn = rule_arn(&r.name, &name);
    rule.rule_arn = Some(arn.clone());
    let t = now().floor();
    let rec = RuleRec {
        rule,
        created_at: t,
        modified_at: t,
    };
    if !tags.is_empty() {
        r.tags.insert(arn, tags);
    }
    let out = json!({ "SamplingRuleRecord": record_json(&rec) });
    r.rules.push(rec);
    Ok(out)
}

fn get_rules(r: &Region, body: &Value) -> Result<Value, ApiError> {
    let (records, next) = page(&r.rules, "rules", body, record_json)?;
    Ok(with_token(json!({ "SamplingRuleRecords": records }), next))
}

/// The rule named by RuleARN (preferred) or RuleName.
fn find_rule(r: &Region, v: &Value) -> Result<usize, ApiError> {
    let found = if let Some(arn) = str_member(v, "RuleARN") {
        r.rules
            .iter()
            .position(|x| x.rule.rule_arn.as_deref() == Some(arn))
    } else if let Some(name) = str_member(v, "RuleName") {
        r.rules
            .iter()
            .position(|x| x.rule.rule_name.as_deref() == Some(name))
    } else {
        return Err(ApiError::invalid("Either RuleName or RuleARN is required"));
    };
    found.ok_or_else(|| ApiError::invalid("Sampling rule does not exist"))
}

fn update_rule(r: &mut Region, body: &Value) -> Result<Value, ApiError> {
    let update = member(body, "SamplingRuleUpdate")
        .cloned()
        .unwrap_or_default();
    let i = find_rule(r, &update)?;
    let mut current = serde_json::to_value(&r.rules[i].rule).unwrap_or_default();
    if current.get("Attributes").is_none() {
        current["Attributes"] = json!({});
    }
    let is_default = r.rules[i].rule.rule_name.as_deref() == Some(DEFAULT_NAME);
    const FIELDS: &[&str] = &[
        "ResourceARN",
        "Priority",
        "FixedRate",
        "ReservoirSize",
        "Host",
        "ServiceName",
        "ServiceType",
        "HTTPMethod",
        "URLPath",
        "Attributes",
        "SamplingRateBoost",
    ];
    let mut next = current.clone();
    for field in FIELDS {
        let Some(v) = member(&update, field) else {
            continue;
        };
        if is_default
            && !matches!(*field, "FixedRate" | "ReservoirSize")
            && current.get(*field) != Some(v)
        {
            return Err(ApiError::invalid(format!(
                "Only FixedRate and ReservoirSize of the Default rule can be changed (got SamplingRuleUpdate.{field})"
            )));
        }
        next[*field] = v.clone();
    }
    let rule: SamplingRule = serde_json::from_value(known_members("SamplingRule", &next))
        .map_err(|e| ApiError::invalid(format!("SamplingRuleUpdate is not valid: {e}")))?;
    let rec = &mut r.rules[i];
    rec.rule = rule;
    rec.modified_at = now().floor();
    Ok(json!({ "SamplingRuleRecord": record_json(rec) }))
}

fn delete_rule(r: &mut Region, body: &Value) -> Result<Value, ApiError> {
    let i = find_rule(r, body)?;
    if r.rules[i].rule.rule_name.as_deref() == Some(DEFAULT_NAME) {
        return Err(ApiError::invalid(
            "The Default sampling rule cannot be deleted",
        ));
    }
    let rec = r.rules.remove(i);
    if let Some(arn) = &rec.rule.rule_arn {
        r.tags.remove(arn);
    }
    Ok(json!({ "SamplingRuleRecord": record_json(&rec) }))
}

/// What the X-Ray daemon polls every 10 s: each reported rule's rate and its whole
/// reservoir as this client's quota (one client per rule, no sharing between clients).
fn sampling_targets(r: &Region, body: &Value) -> Value {
    let t = now().floor();
    let mut targets = Vec::new();
    let mut unprocessed = Vec::new();
    for doc in member(body, "SamplingStatisticsDocuments")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let name = doc
            .get("RuleName")
            .and_then(Value::as_str)
            .unwrap_or_default();
        match r
            .rules
            .iter()
            .find(|x| x.rule.rule_name.as_deref() == Some(name))
        {
            Some(rec) => targets.push(json!({
                "RuleName": name,
                "FixedRate": rec.rule.fixed_rate,
                "ReservoirQuota": rec.rule.reservoir_size,
                "ReservoirQuotaTTL": t + 10.0,
                "Interval": 10,
            })),
            None => unprocessed.push(json!({
                "RuleName": name,
                "ErrorCode": "400",
                "Message": "Sampling rule does not exist",
            })),
        }
    }
    let last = r.rules.iter().map(|x| x.modified_at).fold(0.0, f64::max);
    json!({
        "SamplingTargetDocuments": targets,
        "LastRuleModification": last,
        "UnprocessedStatistics": unprocessed,
    })
}

// ---- tags ----

fn resource_exists(r: &Region, arn: &str) -> bool {
    r.groups.iter().any(|g| g.arn == arn)
        || r.rules
            .iter()
            .any(|x| x.rule.rule_arn.as_deref() == Some(arn))
}

fn resource_arn(r: &Region, body: &Value) -> Result<String, ApiError> {
    let arn = str_member(body, "ResourceARN").unwrap_or_default();
    if !resource_exists(r, arn) {
        return Err(ApiError::not_found(arn));
    }
    Ok(arn.to_owned())
}

fn tag_resource(r: &mut Region, body: &Value) -> Result<Value, ApiError> {
    let arn = resource_arn(r, body)?;
    let new = tags_of(member(body, "Tags"))?;
    let mut merged = r.tags.get(&arn).cloned().unwrap_or_default();
    merged.extend(new);
    if merged.len() > MAX_TAGS {
        let mut e = ApiError::modeled(
            "TooManyTagsException",
            format!(
                "A resource can have at most {MAX_TAGS} tags (this request would make {})",
                merged.len()
            ),
        );
        e.resource_name = Some(arn);
        return Err(e);
    }
    r.tags.insert(arn, merged);
    Ok(json!({}))
}

fn untag_resource(r: &mut Region, body: &Value) -> Result<Value, ApiError> {
    let arn = resource_arn(r, body)?;
    let keys: Vec<&str> = member(body, "TagKeys")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    for (i, k) in keys.iter().enumerate() {
        check_tag_key(k, &format!("TagKeys[{i}]"))?;
    }
    if let Some(tags) = r.tags.get_mut(&arn) {
        for k in keys {
            tags.remove(k);
        }
    }
    Ok(json!({}))
}

fn list_tags(r: &Region, body: &Value) -> Result<Value, ApiError> {
    let arn = resource_arn(r, body)?;
    let tags = r.tags.get(&arn).cloned().unwrap_or_default();
    Ok(json!({ "Tags": tags_json(&tags) }))
}

// ---- indexing ----

fn indexing_rule_json(r: &Region) -> Value {
    json!({
        "Name": DEFAULT_NAME,
        "ModifiedAt": r.indexing_modified_at,
        "Rule": { "Probabilistic": {
            "DesiredSamplingPercentage": r.indexing_percentage,
            "ActualSamplingPercentage": r.indexing_percentage,
        }},
    })
}

fn update_indexing_rule(r: &mut Region, body: &Value) -> Result<Value, ApiError> {
    let name = str_member(body, "Name").unwrap_or_default();
    if name != DEFAULT_NAME {
        return Err(ApiError::not_found(name));
    }
    let pct = member(body, "Rule")
        .and_then(|rule| rule.get("Probabilistic"))
        .and_then(|p| p.get("DesiredSamplingPercentage"))
        .and_then(Value::as_f64)
        .ok_or_else(|| {
            ApiError::invalid("Rule.Probabilistic.DesiredSamplingPercentage is required")
        })?;
    if !(0.0..=100.0).contains(&pct) {
        return Err(ApiError::invalid(format!(
            "Rule.Probabilistic.DesiredSamplingPercentage must be within 0..=100 (got {pct})"
        )));
    }
    r.indexing_percentage = pct;
    r.indexing_modified_at = now().floor();
    Ok(json!({ "IndexingRule": indexing_rule_json(r) }))
}
