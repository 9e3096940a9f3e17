//! Loading a sampling-rule file in the AWS CLI's `--cli-input-json` shape:
//! `{"SamplingRule": {...}, "Tags": [{"Key": "...", "Value": "..."}]}`.
//!
//! Every problem is reported as `PATH:LINE:COL: message`, at the offending value or key
//! (at the enclosing object for a missing member), and all of them are collected: the
//! validate command prints them all, the create command the first. Model constraints come
//! from the service model ([`crate::model::validate`]); unknown keys are rejected by name,
//! as the AWS CLI does.

use std::fmt;

use serde::Serialize;
use serde_json::Value;

use crate::model::{JsonPath, ViolationKind, validate};
use crate::spec::json::{self, Pos, Positioned};
use crate::spec::{DEFAULT_NAME, SamplingRule, Tags};

/// Rule files larger than this are refused unread.
pub const MAX_FILE_BYTES: u64 = 1024 * 1024;

/// A loaded, checked rule file.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleFile {
    /// The path as the user gave it (without `file://`).
    pub path: String,
    pub rule: SamplingRule,
    pub tags: Tags,
}

/// One problem in a rule file. `line` and `column` are 1-based; both are 0 for a problem
/// with the whole file (it cannot be read, it is too large).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Located {
    pub path: String,
    pub line: usize,
    pub column: usize,
    pub message: String,
}

impl fmt::Display for Located {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "{}: {}", self.path, self.message)
        } else {
            write!(
                f,
                "{}:{}:{}: {}",
                self.path, self.line, self.column, self.message
            )
        }
    }
}

/// `--file PATH` and `file://PATH` name the same file.
pub fn file_path(arg: &str) -> &str {
    arg.strip_prefix("file://").unwrap_or(arg)
}

/// Read and check the rule file named by `arg` (`PATH` or `file://PATH`).
pub fn load_rule_file(arg: &str) -> Result<RuleFile, Vec<Located>> {
    let path = file_path(arg);
    let whole = |message: String| {
        vec![Located {
            path: path.to_owned(),
            line: 0,
            column: 0,
            message,
        }]
    };
    if path.is_empty() {
        return Err(whole("no file name given".into()));
    }
    let meta = std::fs::metadata(path).map_err(|e| whole(format!("cannot read: {e}")))?;
    if meta.is_dir() {
        return Err(whole("is a directory, not a rule file".into()));
    }
    if meta.len() > MAX_FILE_BYTES {
        return Err(whole(format!(
            "is {} bytes; rule files are limited to {} bytes (1 MiB)",
            meta.len(),
            MAX_FILE_BYTES
        )));
    }
    let bytes = std::fs::read(path).map_err(|e| whole(format!("cannot read: {e}")))?;
    load_rule_bytes(path, &bytes)
}

/// Check the contents of a rule file; `display_path` is used in every message.
pub fn load_rule_bytes(display_path: &str, bytes: &[u8]) -> Result<RuleFile, Vec<Located>> {
    let at = |pos: Pos, message: String| Located {
        path: display_path.to_owned(),
        line: pos.line,
        column: pos.column,
        message: crate::error::escape_controls(&message),
    };
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(vec![Located {
            path: display_path.to_owned(),
            line: 0,
            column: 0,
            message: format!(
                "is {} bytes; rule files are limited to {} bytes (1 MiB)",
                bytes.len(),
                MAX_FILE_BYTES
            ),
        }]);
    }
    let text = match std::str::from_utf8(bytes) {
        Ok(t) => t,
        Err(e) => {
            let good = e.valid_up_to();
            // Everything before `good` is valid UTF-8, so the position is exact.
            let before = std::str::from_utf8(&bytes[..good]).unwrap_or_default();
            return Err(vec![at(
                end_pos(before),
                format!("not valid UTF-8 (byte offset {good}); save the file as UTF-8"),
            )]);
        }
    };
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let doc = json::parse(text).map_err(|problems| {
        let mut out: Vec<Located> = problems.into_iter().map(|p| at(p.pos, p.message)).collect();
        out.sort_by_key(|l| (l.line, l.column));
        out
    })?;
    let value = doc.to_value();
    let mut problems: Vec<(Pos, String)> = Vec::new();
    if !value.is_object() {
        return Err(vec![at(
            doc.pos,
            "expected a JSON object like {\"SamplingRule\": {...}, \"Tags\": [...]}".into(),
        )]);
    }
    // X-Ray's own Default rule has priority 10000, outside the model's 1..=9999, and its
    // priority cannot change: a file that manages the Default rule states it as it is.
    let rule = &value["SamplingRule"];
    let default_priority =
        rule["RuleName"] == DEFAULT_NAME && rule["Priority"].as_i64() == Some(10000);
    let priority_path = JsonPath::default().key("SamplingRule").key("Priority");
    for v in validate("CreateSamplingRuleRequest", &value, &JsonPath::default()) {
        if default_priority && v.kind == ViolationKind::Range && v.path == priority_path {
            continue;
        }
        let pos = match v.kind {
            ViolationKind::UnknownMember => doc.key_pos(&v.path).unwrap_or(doc.pos_of(&v.path)),
            _ => doc.pos_of(&v.path),
        };
        problems.push((pos, v.message));
    }
    extra_checks(&doc, &value, &mut problems);
    if !problems.is_empty() {
        problems.sort_by_key(|(pos, _)| *pos);
        return Err(problems.into_iter().map(|(p, m)| at(p, m)).collect());
    }
    let rule: SamplingRule = serde_json::from_value(value["SamplingRule"].clone())
        .map_err(|e| vec![at(doc.pos, format!("SamplingRule: {e}"))])?;
    let mut tags = Tags::new();
    if let Some(Value::Array(items)) = value.get("Tags") {
        for t in items {
            if let (Some(k), Some(v)) = (t["Key"].as_str(), t["Value"].as_str()) {
                tags.insert(k.to_owned(), v.to_owned());
            }
        }
    }
    Ok(RuleFile {
        path: display_path.to_owned(),
        rule,
        tags,
    })
}

/// What the model cannot say: Version must be 1, a new rule needs a name, tag keys are
/// unique and not in the `aws:` namespace.
fn extra_checks(doc: &Positioned, value: &Value, problems: &mut Vec<(Pos, String)>) {
    let rule_path = JsonPath::default().key("SamplingRule");
    if let Some(rule) = value.get("SamplingRule").and_then(Value::as_object) {
        let version = rule.get("Version");
        if let Some(v) = version.filter(|v| v.is_i64() || v.is_u64())
            && v.as_i64() != Some(1)
        {
            problems.push((
                doc.pos_of(&rule_path.key("Version")),
                format!("SamplingRule.Version must be 1 (got {v})"),
            ));
        }
        if rule.get("RuleName").is_none_or(Value::is_null) {
            problems.push((
                doc.pos_of(&rule_path),
                "missing required parameter SamplingRule.RuleName (a new rule needs a name)".into(),
            ));
        }
    }
    if let Some(Value::Array(tags)) = value.get("Tags") {
        let mut seen: Vec<(&str, usize)> = Vec::new();
        for (i, t) in tags.iter().enumerate() {
            let Some(key) = t.get("Key").and_then(Value::as_str) else {
                continue;
            };
            let key_path = JsonPath::default().key("Tags").index(i).key("Key");
            if crate::spec::is_aws_tag_key(key) {
                problems.push((
                    doc.pos_of(&key_path),
                    format!(
                        "Tags[{i}].Key must not start with \"aws:\" (reserved for AWS; got {key:?})"
                    ),
                ));
            }
            if let Some((_, first)) = seen.iter().find(|(k, _)| *k == key) {
                problems.push((
                    doc.pos_of(&key_path),
                    format!("Tags[{i}].Key {key:?} is given twice (first in Tags[{first}])"),
                ));
            } else {
                seen.push((key, i));
            }
        }
    }
}

/// The position just after `text`.
fn end_pos(text: &str) -> Pos {
    let line = 1 + text.matches('\n').count();
    let last = text.rsplit('\n').next().unwrap_or("");
    Pos {
        line,
        column: last.chars().count() + 1,
    }
}

#[cfg(test)]
mod tests;
