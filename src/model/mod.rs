//! The X-Ray service model (botocore's `service-2.json`, documentation stripped) and a
//! validator that checks a JSON value against any of its shapes.
//!
//! Both sides use it: the CLI checks a rule file before sending anything, and the emulator
//! checks every request body the way the service does. Keeping the constraints in the model,
//! not in hand-written tables, means they cannot drift from what AWS enforces.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::LazyLock;

use serde::Deserialize;
use serde_json::Value;

static MODEL_JSON: &str = include_str!("service-2.json");

static MODEL: LazyLock<Model> =
    LazyLock::new(|| serde_json::from_str(MODEL_JSON).expect("embedded service model is valid"));

/// The parts of the botocore model that validation and routing need.
#[derive(Debug, Deserialize)]
pub struct Model {
    pub operations: BTreeMap<String, Operation>,
    pub shapes: BTreeMap<String, Shape>,
}

#[derive(Debug, Deserialize)]
pub struct Operation {
    pub name: String,
    pub http: Http,
    pub input: Option<ShapeRef>,
    pub output: Option<ShapeRef>,
}

#[derive(Debug, Deserialize)]
pub struct Http {
    pub method: String,
    #[serde(rename = "requestUri")]
    pub request_uri: String,
}

#[derive(Debug, Deserialize)]
pub struct ShapeRef {
    pub shape: String,
}

#[derive(Debug, Deserialize)]
pub struct Shape {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub required: Vec<String>,
    #[serde(default)]
    pub members: BTreeMap<String, ShapeRef>,
    pub member: Option<ShapeRef>,
    pub key: Option<ShapeRef>,
    pub value: Option<ShapeRef>,
    pub min: Option<f64>,
    pub max: Option<f64>,
    #[serde(rename = "enum")]
    pub enumeration: Option<Vec<String>>,
    pub error: Option<ErrorTrait>,
    #[serde(default)]
    pub exception: bool,
}

#[derive(Debug, Deserialize)]
pub struct ErrorTrait {
    #[serde(rename = "httpStatusCode")]
    pub http_status_code: Option<u16>,
}

/// The loaded model. Parsed on first use (about a millisecond), never at start-up.
pub fn model() -> &'static Model {
    &MODEL
}

impl Model {
    /// The operation served at a request path such as `/TraceSummaries`.
    pub fn operation_for_path(&self, path: &str) -> Option<&Operation> {
        self.operations
            .values()
            .find(|op| op.http.request_uri == path)
    }

    pub fn shape(&self, name: &str) -> Option<&Shape> {
        self.shapes.get(name)
    }
}

/// One step of the path to a value inside a JSON document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathSeg {
    Key(String),
    Index(usize),
}

/// A JSON path such as `SamplingRule.Attributes.env` or `Tags[2].Key`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JsonPath(pub Vec<PathSeg>);

impl JsonPath {
    pub fn key(&self, key: &str) -> JsonPath {
        let mut segs = self.0.clone();
        segs.push(PathSeg::Key(key.to_owned()));
        JsonPath(segs)
    }

    pub fn index(&self, index: usize) -> JsonPath {
        let mut segs = self.0.clone();
        segs.push(PathSeg::Index(index));
        JsonPath(segs)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Display for JsonPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, seg) in self.0.iter().enumerate() {
            match seg {
                PathSeg::Key(k) if i == 0 => write!(f, "{k}")?,
                PathSeg::Key(k) => write!(f, ".{k}")?,
                PathSeg::Index(n) => write!(f, "[{n}]")?,
            }
        }
        Ok(())
    }
}

/// What kind of rule a value broke. The emulator ignores unknown members, as the service
/// does; the CLI rejects them, as the AWS CLI does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ViolationKind {
    UnknownMember,
    Missing,
    Type,
    Range,
    Length,
    Enum,
}

/// One broken constraint, with the path of the value that broke it.
#[derive(Debug, Clone, PartialEq)]
pub struct Violation {
    pub path: JsonPath,
    /// Where a `Missing` violation is reported: the object that lacks the member.
    pub kind: ViolationKind,
    pub message: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// Check `value` against the model shape `shape`. `base` is the path of `value` inside the
/// document, so messages and positions name the full path. Every violation is returned, in
/// document order.
pub fn validate(shape: &str, value: &Value, base: &JsonPath) -> Vec<Violation> {
    let mut out = Vec::new();
    check(model(), shape, value, base, &mut out);
    out
}

fn push(out: &mut Vec<Violation>, path: &JsonPath, kind: ViolationKind, message: String) {
    out.push(Violation {
        path: path.clone(),
        kind,
        message,
    });
}

/// `NAME must be WHAT (got DESCRIPTION)`: a value of the wrong JSON type.
fn wrong_type(out: &mut Vec<Violation>, path: &JsonPath, name: &str, what: &str, value: &Value) {
    push(
        out,
        path,
        ViolationKind::Type,
        format!("{name} must be {what} (got {})", describe(value)),
    );
}

fn name_of(path: &JsonPath) -> String {
    if path.is_empty() {
        "the input".to_owned()
    } else {
        path.to_string()
    }
}

fn describe(value: &Value) -> String {
    match value {
        Value::Null => "null".to_owned(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) if s.chars().count() > 40 => {
            format!("a string of {} characters", s.chars().count())
        }
        Value::String(s) => format!("{s:?}"),
        Value::Array(_) => "a list".to_owned(),
        Value::Object(_) => "an object".to_owned(),
    }
}

fn fmt_bound(b: f64) -> String {
    if b.fract() == 0.0 && b.abs() < 1e15 {
        format!("{}", b as i64)
    } else {
        format!("{b}")
    }
}

fn check(
    model: &Model,
    shape_name: &str,
    value: &Value,
    path: &JsonPath,
    out: &mut Vec<Violation>,
) {
    let Some(shape) = model.shape(shape_name) else {
        return;
    };
    let name = name_of(path);
    match shape.kind.as_str() {
        "structure" => {
            let Value::Object(map) = value else {
                wrong_type(out, path, &name, "an object", value);
                return;
            };
            for (key, member) in map {
                match shape.members.get(key) {
                    Some(r) => check(model, &r.shape, member, &path.key(key), out),
                    None => {
                        let expected: Vec<&str> =
                            shape.members.keys().map(String::as_str).collect();
                        push(
                            out,
                            &path.key(key),
                            ViolationKind::UnknownMember,
                            format!(
                                "unknown parameter {}, must be one of: {}",
                                path.key(key),
                                expected.join(", ")
                            ),
                        );
                    }
                }
            }
            for required in &shape.required {
                if map.get(required).is_none_or(Value::is_null) {
                    push(
                        out,
                        path,
                        ViolationKind::Missing,
                        format!("missing required parameter {}", path.key(required)),
                    );
                }
            }
        }
        "list" => {
            let Value::Array(items) = value else {
                wrong_type(out, path, &name, "a list", value);
                return;
            };
            check_count(shape, items.len(), &name, path, out);
            if let Some(member) = &shape.member {
                for (i, item) in items.iter().enumerate() {
                    check(model, &member.shape, item, &path.index(i), out);
                }
            }
        }
        "map" => {
            let Value::Object(map) = value else {
                wrong_type(out, path, &name, "an object", value);
                return;
            };
            check_count(shape, map.len(), &name, path, out);
            for (k, v) in map {
                if let Some(key_shape) = &shape.key {
                    check(
                        model,
                        &key_shape.shape,
                        &Value::String(k.clone()),
                        &path.key(k),
                        out,
                    );
                }
                if let Some(value_shape) = &shape.value {
                    check(model, &value_shape.shape, v, &path.key(k), out);
                }
            }
        }
        "string" => {
            let Value::String(s) = value else {
                wrong_type(out, path, &name, "a string", value);
                return;
            };
            let len = s.chars().count() as f64;
            match (shape.min, shape.max) {
                (Some(min), Some(max)) if len < min || len > max => push(
                    out,
                    path,
                    ViolationKind::Length,
                    format!(
                        "{name} must be {}..={} characters long (got {})",
                        fmt_bound(min),
                        fmt_bound(max),
                        len
                    ),
                ),
                (Some(min), None) if len < min => push(
                    out,
                    path,
                    ViolationKind::Length,
                    format!(
                        "{name} must be at least {} characters long (got {})",
                        fmt_bound(min),
                        len
                    ),
                ),
                (None, Some(max)) if len > max => push(
                    out,
                    path,
                    ViolationKind::Length,
                    format!(
                        "{name} must be at most {} characters long (got {})",
                        fmt_bound(max),
                        len
                    ),
                ),
                _ => {}
            }
            if let Some(allowed) = &shape.enumeration
                && !allowed.iter().any(|a| a == s)
            {
                push(
                    out,
                    path,
                    ViolationKind::Enum,
                    format!("{name} must be one of {} (got {s:?})", allowed.join(", ")),
                );
            }
        }
        "integer" | "long" => {
            // An integer too large for u64 arrives as a float: out of range, not a fraction.
            let huge = |f: f64| f.is_finite() && f.fract() == 0.0 && f.abs() >= 9.0e18;
            let as_int = value
                .as_i64()
                .or_else(|| value.as_u64().map(|_| i64::MAX))
                .or_else(|| value.as_f64().filter(|f| huge(*f)).map(|_| i64::MAX));
            let Some(n) = as_int else {
                wrong_type(out, path, &name, "an integer", value);
                return;
            };
            let fits = if shape.kind == "integer" {
                i32::try_from(n).is_ok()
            } else {
                value.as_i64().is_some()
            };
            if !fits {
                push(
                    out,
                    path,
                    ViolationKind::Range,
                    format!(
                        "{name} is out of range for a {}-bit integer (got {})",
                        if shape.kind == "integer" { 32 } else { 64 },
                        describe(value)
                    ),
                );
                return;
            }
            check_range(shape, n as f64, value, &name, path, out);
        }
        "double" | "float" => {
            let Some(x) = value.as_f64().filter(|x| x.is_finite()) else {
                wrong_type(out, path, &name, "a number", value);
                return;
            };
            check_range(shape, x, value, &name, path, out);
        }
        "boolean" if !value.is_boolean() => wrong_type(out, path, &name, "true or false", value),
        "timestamp" if !(value.is_number() || value.is_string()) => {
            wrong_type(out, path, &name, "a timestamp", value)
        }
        _ => {}
    }
}

fn check_count(shape: &Shape, len: usize, name: &str, path: &JsonPath, out: &mut Vec<Violation>) {
    let len = len as f64;
    if let Some(max) = shape.max
        && len > max
    {
        push(
            out,
            path,
            ViolationKind::Length,
            format!(
                "{name} must have at most {} entries (got {})",
                fmt_bound(max),
                len
            ),
        );
    }
    if let Some(min) = shape.min
        && len < min
    {
        push(
            out,
            path,
            ViolationKind::Length,
            format!(
                "{name} must have at least {} entries (got {})",
                fmt_bound(min),
                len
            ),
        );
    }
}

fn check_range(
    shape: &Shape,
    x: f64,
    value: &Value,
    name: &str,
    path: &JsonPath,
    out: &mut Vec<Violation>,
) {
    let got = describe(value);
    match (shape.min, shape.max) {
        (Some(min), Some(max)) if x < min || x > max => push(
            out,
            path,
            ViolationKind::Range,
            format!(
                "{name} must be within {}..={} (got {got})",
                fmt_bound(min),
                fmt_bound(max)
            ),
        ),
        (Some(min), None) if x < min => push(
            out,
            path,
            ViolationKind::Range,
            format!("{name} must be at least {} (got {got})", fmt_bound(min)),
        ),
        (None, Some(max)) if x > max => push(
            out,
            path,
            ViolationKind::Range,
            format!("{name} must be at most {} (got {got})", fmt_bound(max)),
        ),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn messages(shape: &str, v: Value) -> Vec<String> {
        validate(shape, &v, &JsonPath::default())
            .into_iter()
            .map(|v| v.message)
            .collect()
    }

    fn cruddur_rule() -> Value {
        json!({"SamplingRule": {"RuleName": "Cruddur", "ResourceARN": "*", "Priority": 9000,
            "FixedRate": 0.1, "ReservoirSize": 5, "ServiceName": "backend-flask", "ServiceType": "*",
            "Host": "*", "HTTPMethod": "*", "URLPath": "*", "Version": 1}})
    }

    #[test]
    fn every_operation_path_resolves() {
        for op in model().operations.values() {
            assert_eq!(
                model()
                    .operation_for_path(&op.http.request_uri)
                    .unwrap()
                    .name,
                op.name
            );
            assert_eq!(op.http.method, "POST");
        }
        assert_eq!(
            model().operation_for_path("/Groups").unwrap().name,
            "GetGroups"
        );
        assert_eq!(
            model().operation_for_path("/TraceSummaries").unwrap().name,
            "GetTraceSummaries"
        );
    }

    #[test]
    fn the_cruddur_rule_is_valid() {
        assert_eq!(
            messages("CreateSamplingRuleRequest", cruddur_rule()),
            Vec::<String>::new()
        );
    }

    #[test]
    fn each_constraint_is_reported_with_its_path() {
        let mut v = cruddur_rule();
        let r = &mut v["SamplingRule"];
        r["FixedRate"] = json!(1.5);
        r["Priority"] = json!(0);
        r["RuleName"] = json!("x".repeat(33));
        r["ReservoirSize"] = json!(-1);
        r["HTTPMethod"] = json!(7);
        r.as_object_mut().unwrap().remove("URLPath");
        r["Colour"] = json!("blue");
        let got = messages("CreateSamplingRuleRequest", v);
        assert_eq!(
            got,
            vec![
                "SamplingRule.RuleName must be 1..=32 characters long (got 33)",
                "SamplingRule.Priority must be within 1..=9999 (got 0)",
                "SamplingRule.FixedRate must be within 0..=1 (got 1.5)",
                "SamplingRule.ReservoirSize must be at least 0 (got -1)",
                "SamplingRule.HTTPMethod must be a string (got 7)",
                "unknown parameter SamplingRule.Colour, must be one of: Attributes, FixedRate, HTTPMethod, Host, Priority, ReservoirSize, ResourceARN, RuleARN, RuleName, SamplingRateBoost, ServiceName, ServiceType, URLPath, Version",
                "missing required parameter SamplingRule.URLPath",
            ]
        );
    }

    #[test]
    fn integers_reject_fractions_and_overflow() {
        let mut v = cruddur_rule();
        v["SamplingRule"]["Priority"] = json!(1.5);
        assert_eq!(
            messages("CreateSamplingRuleRequest", v.clone()),
            vec!["SamplingRule.Priority must be an integer (got 1.5)"]
        );
        v["SamplingRule"]["Priority"] = json!(4_294_967_296u64);
        assert_eq!(
            messages("CreateSamplingRuleRequest", v.clone()),
            vec!["SamplingRule.Priority is out of range for a 32-bit integer (got 4294967296)"]
        );
        let huge: Value = serde_json::from_str("99999999999999999999999999999").unwrap();
        v["SamplingRule"]["Priority"] = huge;
        assert_eq!(
            messages("CreateSamplingRuleRequest", v),
            vec!["SamplingRule.Priority is out of range for a 32-bit integer (got 1e+29)"]
        );
    }

    #[test]
    fn lists_and_maps_are_counted() {
        let attrs: serde_json::Map<String, Value> =
            (0..6).map(|i| (format!("k{i}"), json!("v"))).collect();
        let mut v = cruddur_rule();
        v["SamplingRule"]["Attributes"] = Value::Object(attrs);
        v["Tags"] = json!([{"Key": "", "Value": "x"}]);
        assert_eq!(
            messages("CreateSamplingRuleRequest", v),
            vec![
                "SamplingRule.Attributes must have at most 5 entries (got 6)",
                "Tags[0].Key must be 1..=128 characters long (got 0)",
            ]
        );
    }

    #[test]
    fn enums_are_checked() {
        let got = messages(
            "GetTraceSummariesRequest",
            json!({"StartTime": 1, "EndTime": 2, "TimeRangeType": "Later"}),
        );
        assert_eq!(got.len(), 1);
        assert!(
            got[0].starts_with("TimeRangeType must be one of "),
            "{got:?}"
        );
    }
}
