//! X-Ray segment documents, as PutTraceSegments receives them and BatchGetTraces returns
//! them. The emulator stores these; the filter evaluator reads them.
//!
//! Only the fields that summaries and filters use are typed; everything else in a document
//! is kept verbatim by the emulator (it stores the original text).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The wall clock as epoch seconds, the unit of segment times and X-Ray timestamps.
pub fn now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// Whether `id` is an X-Ray trace ID: `1-`, 8 hex digits (the epoch seconds it started),
/// `-`, 24 hex digits.
pub fn is_trace_id(id: &str) -> bool {
    let hex = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_hexdigit());
    let mut parts = id.split('-');
    matches!(
        (parts.next(), parts.next(), parts.next(), parts.next()),
        (Some("1"), Some(time), Some(random), None) if hex(time, 8) && hex(random, 24)
    )
}

/// The epoch seconds a trace ID carries in its second part, if it has 8 hex digits there.
/// This is where GetTraceSummaries places a trace in time (TimeRangeType TraceId).
pub fn trace_id_time(id: &str) -> Option<f64> {
    let time = id.split('-').nth(1)?;
    if time.len() != 8 || !time.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    u32::from_str_radix(time, 16).ok().map(f64::from)
}

/// A segment or subsegment. Subsegments carry no `trace_id` of their own.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Segment {
    pub id: String,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trace_id: Option<String>,
    pub start_time: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_time: Option<f64>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub in_progress: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_id: Option<String>,
    /// `"subsegment"` for an independent subsegment document.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// The service type, e.g. `AWS::EC2::Instance`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// `aws` or `remote` on subsegments that call another service.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http: Option<Http>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub error: bool,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub fault: bool,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub throttle: bool,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, AnnotationValue>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aws: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cause: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub subsegments: Vec<Segment>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Http {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request: Option<HttpRequest>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response: Option<HttpResponse>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct HttpRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_agent: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_ip: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct HttpResponse {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_length: Option<u64>,
}

/// Annotation values are strings, numbers or booleans.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum AnnotationValue {
    Bool(bool),
    Number(f64),
    String(String),
}

/// Every segment of one trace, as stored. Segments arrive in any order and may be
/// updated (an in-progress segment sent again when it ends).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Trace {
    pub id: String,
    pub segments: Vec<Segment>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trace_ids_are_one_dash_eight_hex_dash_twenty_four_hex() {
        assert!(is_trace_id("1-5f84c7a1-4c1e4f8b3b1c2a9d8e7f6a5b"));
        for bad in [
            "",
            "2-5f84c7a1-4c1e4f8b3b1c2a9d8e7f6a5b",
            "1-5f84c7a-4c1e4f8b3b1c2a9d8e7f6a5b",
            "1-5f84c7aZ-4c1e4f8b3b1c2a9d8e7f6a5b",
            "1-5f84c7a1-4c1e4f8b3b1c2a9d8e7f6a5",
            "1-5f84c7a1-4c1e4f8b3b1c2a9d8e7f6a5b-0",
            "1-+f84c7a1-4c1e4f8b3b1c2a9d8e7f6a5b",
        ] {
            assert!(!is_trace_id(bad), "{bad}");
        }
    }

    #[test]
    fn trace_ids_carry_their_start_time() {
        assert_eq!(
            trace_id_time("1-5f84c7a1-4c1e4f8b3b1c2a9d8e7f6a5b"),
            Some(f64::from(0x5f84_c7a1u32))
        );
        assert_eq!(trace_id_time("not-an-id"), None);
        assert_eq!(trace_id_time("1-+f84c7a1-x"), None);
        assert_eq!(trace_id_time(""), None);
    }
}
