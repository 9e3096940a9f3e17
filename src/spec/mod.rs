//! What the user asks for: a group or a sampling rule, as desired state.
//!
//! `SamplingRule` is the AWS shape (PascalCase, as in `aws/json/xray.json` and on the wire),
//! so one type serves the rule file, the SDK calls and the emulator.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Tags as key → value. Ordered, so plans and output are stable.
pub type Tags = BTreeMap<String, String>;

/// A sampling rule, field for field as in the service model's `SamplingRule` shape.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SamplingRule {
    #[serde(rename = "RuleName", default, skip_serializing_if = "Option::is_none")]
    pub rule_name: Option<String>,
    #[serde(rename = "RuleARN", default, skip_serializing_if = "Option::is_none")]
    pub rule_arn: Option<String>,
    #[serde(rename = "ResourceARN")]
    pub resource_arn: String,
    #[serde(rename = "Priority")]
    pub priority: i32,
    #[serde(rename = "FixedRate")]
    pub fixed_rate: f64,
    #[serde(rename = "ReservoirSize")]
    pub reservoir_size: i32,
    #[serde(rename = "ServiceName")]
    pub service_name: String,
    #[serde(rename = "ServiceType")]
    pub service_type: String,
    #[serde(rename = "Host")]
    pub host: String,
    #[serde(rename = "HTTPMethod")]
    pub http_method: String,
    #[serde(rename = "URLPath")]
    pub url_path: String,
    #[serde(rename = "Version")]
    pub version: i32,
    #[serde(
        rename = "Attributes",
        default,
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub attributes: BTreeMap<String, String>,
    #[serde(
        rename = "SamplingRateBoost",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub sampling_rate_boost: Option<SamplingRateBoost>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SamplingRateBoost {
    #[serde(rename = "MaxRate")]
    pub max_rate: f64,
    #[serde(rename = "CooldownWindowMinutes")]
    pub cooldown_window_minutes: i32,
}

/// A group as desired state (create-group's flags).
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct GroupSpec {
    pub name: String,
    pub filter_expression: Option<String>,
    pub insights_enabled: bool,
    pub notifications_enabled: bool,
    pub tags: Tags,
}

/// The Default group and rule always exist and cannot be deleted.
pub const DEFAULT_NAME: &str = "Default";

/// Whether a tag key is AWS's own: `aws:` in any mix of case, which AWS reserves and
/// refuses from users (and which a full set of user tags must never remove).
pub fn is_aws_tag_key(key: &str) -> bool {
    key.get(..4)
        .is_some_and(|prefix| prefix.eq_ignore_ascii_case("aws:"))
}

impl SamplingRule {
    /// The Default rule as X-Ray creates it in every region: priority 10000, 1 trace a
    /// second and 5% beyond, every matcher `*`. Without an ARN (it names the region).
    pub fn aws_default() -> SamplingRule {
        SamplingRule {
            rule_name: Some(DEFAULT_NAME.to_owned()),
            rule_arn: None,
            resource_arn: "*".into(),
            priority: 10000,
            fixed_rate: 0.05,
            reservoir_size: 1,
            service_name: "*".into(),
            service_type: "*".into(),
            host: "*".into(),
            http_method: "*".into(),
            url_path: "*".into(),
            version: 1,
            attributes: BTreeMap::new(),
            sampling_rate_boost: None,
        }
    }
}

pub mod json;
pub mod load;

pub use load::{Located, RuleFile, load_rule_bytes, load_rule_file};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_aws_prefix_is_reserved_in_any_case() {
        for key in ["aws:x", "AWS:x", "Aws:", "aWs:cloudformation:stack-name"] {
            assert!(is_aws_tag_key(key), "{key}");
        }
        for key in ["", "aws", "awsx:y", "my-aws:x", "é:aws:", "ä", "aw"] {
            assert!(!is_aws_tag_key(key), "{key}");
        }
    }
}
