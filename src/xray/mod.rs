//! The only door to X-Ray. Commands talk to the [`XRay`] trait in domain types; the SDK
//! implementation lives in `sdk.rs`, so command logic is tested against a fake.

use std::future::Future;

use serde::Serialize;

use crate::error::Result;
use crate::spec::{GroupSpec, SamplingRule, Tags};

/// A group as the service reports it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Group {
    pub name: String,
    pub arn: String,
    pub filter_expression: Option<String>,
    pub insights_enabled: bool,
    pub notifications_enabled: bool,
}

/// A sampling rule as the service reports it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SamplingRuleRecord {
    pub rule: SamplingRule,
    pub arn: String,
    /// Epoch seconds.
    pub created_at: Option<f64>,
    pub modified_at: Option<f64>,
}

/// UpdateSamplingRule's input: every field but Version, each optional.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct SamplingRuleUpdate {
    pub rule_name: String,
    pub resource_arn: Option<String>,
    pub priority: Option<i32>,
    pub fixed_rate: Option<f64>,
    pub reservoir_size: Option<i32>,
    pub service_name: Option<String>,
    pub service_type: Option<String>,
    pub host: Option<String>,
    pub http_method: Option<String>,
    pub url_path: Option<String>,
    pub attributes: Option<std::collections::BTreeMap<String, String>>,
    pub sampling_rate_boost: Option<crate::spec::SamplingRateBoost>,
}

/// One GetTraceSummaries request, without the paging token.
#[derive(Debug, Clone, PartialEq)]
pub struct SummaryQuery {
    /// Epoch seconds.
    pub start: f64,
    pub end: f64,
    pub filter_expression: Option<String>,
}

/// The parts of a trace summary that verify reads.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct TraceSummary {
    pub id: String,
    pub start_time: Option<f64>,
    pub duration: Option<f64>,
    pub response_time: Option<f64>,
    pub has_fault: bool,
    pub has_error: bool,
    pub has_throttle: bool,
    pub http_url: Option<String>,
    pub http_method: Option<String>,
    pub http_status: Option<i32>,
    /// Names from ServiceIds.
    pub services: Vec<String>,
}

/// One page of GetTraceSummaries.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SummaryPage {
    pub summaries: Vec<TraceSummary>,
    pub traces_processed: i64,
    pub next_token: Option<String>,
}

/// GetTraceSegmentDestination.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SegmentDestination {
    /// `XRay` or `CloudWatchLogs`.
    pub destination: String,
    pub status: String,
}

impl SegmentDestination {
    /// Transaction Search: spans go to CloudWatch Logs and only an indexed share of them
    /// becomes trace summaries.
    pub fn is_cloudwatch_logs(&self) -> bool {
        self.destination == "CloudWatchLogs"
    }
}

/// One rule from GetIndexingRules: the share of spans indexed into trace summaries.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IndexingRule {
    pub name: String,
    /// Percent, 0..=100, for probabilistic rules.
    pub desired_sampling_percentage: Option<f64>,
}

/// A segment PutTraceSegments refused.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UnprocessedSegment {
    pub id: Option<String>,
    pub error_code: Option<String>,
    pub message: Option<String>,
}

/// Follows NextToken across the pages of one listing, and stops a service that hands back a
/// token it already gave: without this, a repeated token would page forever.
#[derive(Debug)]
pub struct Pager {
    operation: &'static str,
    seen: std::collections::HashSet<String>,
}

impl Pager {
    pub fn new(operation: &'static str) -> Pager {
        Pager {
            operation,
            seen: std::collections::HashSet::new(),
        }
    }

    /// The token for the next request: `Ok(None)` at the end (no token, or an empty one), an
    /// error when the token was seen before.
    pub fn next(&mut self, token: Option<String>) -> Result<Option<String>> {
        match token {
            Some(t) if !t.is_empty() => {
                if self.seen.insert(t.clone()) {
                    Ok(Some(t))
                } else {
                    Err(crate::error::Error::Other(format!(
                        "{} returned a NextToken it had already returned (after {} pages); stopped paging instead of looping forever",
                        self.operation,
                        self.seen.len() + 1
                    )))
                }
            }
            _ => Ok(None),
        }
    }
}

/// The X-Ray operations cruddur-xray uses. Read-before-write lives in the commands; this
/// trait is a thin, faithful mapping. Listing methods follow every page.
pub trait XRay: Send + Sync {
    /// `Ok(None)` when the group does not exist.
    fn get_group(&self, name: &str) -> impl Future<Output = Result<Option<Group>>> + Send;
    fn get_groups(&self) -> impl Future<Output = Result<Vec<Group>>> + Send;
    fn create_group(&self, spec: &GroupSpec) -> impl Future<Output = Result<Group>> + Send;
    fn update_group(
        &self,
        name: &str,
        filter_expression: Option<&str>,
        insights_enabled: bool,
        notifications_enabled: bool,
    ) -> impl Future<Output = Result<Group>> + Send;
    fn list_tags(&self, arn: &str) -> impl Future<Output = Result<Tags>> + Send;
    fn tag_resource(&self, arn: &str, tags: &Tags) -> impl Future<Output = Result<()>> + Send;
    fn untag_resource(&self, arn: &str, keys: &[String])
    -> impl Future<Output = Result<()>> + Send;

    fn get_sampling_rules(&self) -> impl Future<Output = Result<Vec<SamplingRuleRecord>>> + Send;
    fn create_sampling_rule(
        &self,
        rule: &SamplingRule,
        tags: &Tags,
    ) -> impl Future<Output = Result<SamplingRuleRecord>> + Send;
    fn update_sampling_rule(
        &self,
        update: &SamplingRuleUpdate,
    ) -> impl Future<Output = Result<SamplingRuleRecord>> + Send;

    fn get_trace_summaries_page(
        &self,
        query: &SummaryQuery,
        next_token: Option<String>,
    ) -> impl Future<Output = Result<SummaryPage>> + Send;
    /// Service names in GetServiceGraph for the window.
    fn service_graph_names(
        &self,
        start: f64,
        end: f64,
    ) -> impl Future<Output = Result<Vec<String>>> + Send;
    fn get_trace_segment_destination(
        &self,
    ) -> impl Future<Output = Result<SegmentDestination>> + Send;
    fn get_indexing_rules(&self) -> impl Future<Output = Result<Vec<IndexingRule>>> + Send;
    fn put_trace_segments(
        &self,
        documents: Vec<String>,
    ) -> impl Future<Output = Result<Vec<UnprocessedSegment>>> + Send;
    /// Trace IDs that BatchGetTraces found, of those asked for.
    fn batch_get_trace_ids(
        &self,
        ids: &[String],
    ) -> impl Future<Output = Result<Vec<String>>> + Send;
}

#[doc(hidden)]
pub mod fake;
pub mod sdk;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pager_follows_new_tokens_and_ends_on_none_or_empty() {
        let mut p = Pager::new("GetGroups");
        assert_eq!(p.next(Some("a".into())).unwrap(), Some("a".into()));
        assert_eq!(p.next(Some("b".into())).unwrap(), Some("b".into()));
        assert_eq!(p.next(Some(String::new())).unwrap(), None);
        assert_eq!(p.next(None).unwrap(), None);
    }

    #[test]
    fn pager_refuses_a_repeated_token() {
        let mut p = Pager::new("GetGroups");
        p.next(Some("a".into())).unwrap();
        p.next(Some("b".into())).unwrap();
        let err = p.next(Some("a".into())).unwrap_err();
        assert_eq!(err.exit().code(), 255);
        let msg = err.to_string();
        assert!(
            msg.contains("GetGroups returned a NextToken it had already returned"),
            "{msg}"
        );
        assert!(!msg.contains('\n'), "{msg}");
    }
}
