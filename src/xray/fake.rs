//! An in-memory [`XRay`] that records every call, for command-logic tests (test layer 2).
//! It is deliberately simple: no constraint checks (those are tested in the model and the
//! emulator), just state, call recording and scripted failures.

use std::collections::BTreeMap;
use std::sync::Mutex;

use crate::error::{Error, Result};
use crate::spec::{GroupSpec, SamplingRule, Tags};
use crate::xray::{
    Group, IndexingRule, SamplingRuleRecord, SamplingRuleUpdate, SegmentDestination, SummaryPage,
    SummaryQuery, TraceSummary, UnprocessedSegment, XRay,
};

/// The fake's state. Tests seed it directly and read it back.
#[derive(Debug, Default)]
pub struct FakeState {
    pub groups: BTreeMap<String, Group>,
    pub rules: BTreeMap<String, SamplingRuleRecord>,
    /// Tags by ARN.
    pub tags: BTreeMap<String, Tags>,
    /// Every trace summary; queries return those whose start time is in the window and, when
    /// a filter is given, those listed for that exact filter text in `filtered`.
    pub summaries: Vec<TraceSummary>,
    pub filtered: BTreeMap<String, Vec<TraceSummary>>,
    pub page_size: usize,
    /// GetTraceSummaries hands back the same NextToken on every page (a misbehaving service).
    pub repeat_summary_token: bool,
    pub service_graph: Vec<String>,
    pub destination: Option<SegmentDestination>,
    pub indexing_rules: Vec<IndexingRule>,
    pub segments: Vec<String>,
    /// What PutTraceSegments reports as not processed (empty: everything was taken).
    pub unprocessed: Vec<UnprocessedSegment>,
    /// Operation name → error to return instead of running it.
    pub fail: BTreeMap<&'static str, (String, String)>,
}

#[derive(Debug, Default)]
pub struct FakeXRay {
    pub state: Mutex<FakeState>,
    calls: Mutex<Vec<String>>,
}

impl FakeXRay {
    pub fn new() -> FakeXRay {
        let fake = FakeXRay::default();
        {
            let mut s = fake.state.lock().unwrap();
            s.page_size = 100;
            s.groups.insert(
                "Default".into(),
                Group {
                    name: "Default".into(),
                    arn: "arn:aws:xray:us-east-1:000000000000:group/Default".into(),
                    filter_expression: None,
                    insights_enabled: false,
                    notifications_enabled: false,
                },
            );
            s.rules.insert(
                "Default".into(),
                SamplingRuleRecord {
                    rule: default_rule(),
                    arn: "arn:aws:xray:us-east-1:000000000000:sampling-rule/Default".into(),
                    created_at: Some(0.0),
                    modified_at: Some(0.0),
                },
            );
        }
        fake
    }

    /// The operations called so far, in order, by their AWS names.
    pub fn calls(&self) -> Vec<String> {
        self.calls.lock().unwrap().clone()
    }

    /// Calls that would change something (everything but Get*/List*/BatchGet*).
    pub fn writes(&self) -> Vec<String> {
        self.calls()
            .into_iter()
            .filter(|c| {
                !(c.starts_with("Get") || c.starts_with("List") || c.starts_with("BatchGet"))
            })
            .collect()
    }

    fn record(&self, op: &'static str) -> Result<()> {
        self.calls.lock().unwrap().push(op.to_owned());
        match self.state.lock().unwrap().fail.get(op) {
            Some((code, message)) => Err(Error::Service {
                operation: op,
                code: code.clone(),
                message: message.clone(),
            }),
            None => Ok(()),
        }
    }
}

pub fn default_rule() -> SamplingRule {
    SamplingRule::aws_default()
}

fn invalid(op: &'static str, message: &str) -> Error {
    Error::Service {
        operation: op,
        code: "InvalidRequestException".into(),
        message: message.into(),
    }
}

impl XRay for FakeXRay {
    async fn get_group(&self, name: &str) -> Result<Option<Group>> {
        self.record("GetGroup")?;
        Ok(self.state.lock().unwrap().groups.get(name).cloned())
    }

    async fn get_groups(&self) -> Result<Vec<Group>> {
        self.record("GetGroups")?;
        Ok(self
            .state
            .lock()
            .unwrap()
            .groups
            .values()
            .cloned()
            .collect())
    }

    async fn create_group(&self, spec: &GroupSpec) -> Result<Group> {
        self.record("CreateGroup")?;
        let mut s = self.state.lock().unwrap();
        if s.groups.contains_key(&spec.name) {
            return Err(invalid("CreateGroup", "Group already exists"));
        }
        let group = Group {
            name: spec.name.clone(),
            arn: format!(
                "arn:aws:xray:us-east-1:000000000000:group/{}/FAKE",
                spec.name
            ),
            filter_expression: spec.filter_expression.clone(),
            insights_enabled: spec.insights_enabled,
            notifications_enabled: spec.notifications_enabled,
        };
        s.tags.insert(group.arn.clone(), spec.tags.clone());
        s.groups.insert(spec.name.clone(), group.clone());
        Ok(group)
    }

    async fn update_group(
        &self,
        name: &str,
        filter_expression: Option<&str>,
        insights_enabled: bool,
        notifications_enabled: bool,
    ) -> Result<Group> {
        self.record("UpdateGroup")?;
        let mut s = self.state.lock().unwrap();
        let group = s
            .groups
            .get_mut(name)
            .ok_or_else(|| invalid("UpdateGroup", "Group not found"))?;
        group.filter_expression = filter_expression.map(str::to_owned);
        group.insights_enabled = insights_enabled;
        group.notifications_enabled = notifications_enabled;
        Ok(group.clone())
    }

    async fn list_tags(&self, arn: &str) -> Result<Tags> {
        self.record("ListTagsForResource")?;
        Ok(self
            .state
            .lock()
            .unwrap()
            .tags
            .get(arn)
            .cloned()
            .unwrap_or_default())
    }

    async fn tag_resource(&self, arn: &str, tags: &Tags) -> Result<()> {
        self.record("TagResource")?;
        let mut s = self.state.lock().unwrap();
        s.tags
            .entry(arn.to_owned())
            .or_default()
            .extend(tags.clone());
        Ok(())
    }

    async fn untag_resource(&self, arn: &str, keys: &[String]) -> Result<()> {
        self.record("UntagResource")?;
        let mut s = self.state.lock().unwrap();
        if let Some(tags) = s.tags.get_mut(arn) {
            for k in keys {
                tags.remove(k);
            }
        }
        Ok(())
    }

    async fn get_sampling_rules(&self) -> Result<Vec<SamplingRuleRecord>> {
        self.record("GetSamplingRules")?;
        Ok(self.state.lock().unwrap().rules.values().cloned().collect())
    }

    async fn create_sampling_rule(
        &self,
        rule: &SamplingRule,
        tags: &Tags,
    ) -> Result<SamplingRuleRecord> {
        self.record("CreateSamplingRule")?;
        let mut s = self.state.lock().unwrap();
        let name = rule.rule_name.clone().unwrap_or_default();
        if s.rules.contains_key(&name) {
            return Err(invalid(
                "CreateSamplingRule",
                "Sampling rule already exists",
            ));
        }
        let record = SamplingRuleRecord {
            rule: rule.clone(),
            arn: format!("arn:aws:xray:us-east-1:000000000000:sampling-rule/{name}"),
            created_at: Some(1.0),
            modified_at: Some(1.0),
        };
        s.tags.insert(record.arn.clone(), tags.clone());
        s.rules.insert(name, record.clone());
        Ok(record)
    }

    async fn update_sampling_rule(&self, u: &SamplingRuleUpdate) -> Result<SamplingRuleRecord> {
        self.record("UpdateSamplingRule")?;
        let mut s = self.state.lock().unwrap();
        let record = s
            .rules
            .get_mut(&u.rule_name)
            .ok_or_else(|| invalid("UpdateSamplingRule", "Sampling rule does not exist"))?;
        let r = &mut record.rule;
        macro_rules! set {
            ($($field:ident),*) => { $( if let Some(v) = &u.$field { r.$field = v.clone(); } )* };
        }
        set!(
            resource_arn,
            priority,
            fixed_rate,
            reservoir_size,
            service_name,
            service_type,
            host,
            http_method,
            url_path,
            attributes
        );
        if u.sampling_rate_boost.is_some() {
            r.sampling_rate_boost = u.sampling_rate_boost.clone();
        }
        record.modified_at = Some(2.0);
        Ok(record.clone())
    }

    async fn get_trace_summaries_page(
        &self,
        q: &SummaryQuery,
        next_token: Option<String>,
    ) -> Result<SummaryPage> {
        self.record("GetTraceSummaries")?;
        let s = self.state.lock().unwrap();
        let source = match &q.filter_expression {
            Some(f) => s.filtered.get(f).cloned().unwrap_or_default(),
            None => s.summaries.clone(),
        };
        let in_window: Vec<TraceSummary> = source
            .into_iter()
            .filter(|t| t.start_time.is_none_or(|st| st >= q.start && st < q.end))
            .collect();
        let offset: usize = next_token.as_deref().map_or(0, |t| t.parse().unwrap_or(0));
        let end = (offset + s.page_size.max(1)).min(in_window.len());
        Ok(SummaryPage {
            summaries: in_window.get(offset..end).unwrap_or_default().to_vec(),
            traces_processed: (end - offset.min(end)) as i64,
            next_token: if s.repeat_summary_token {
                Some("0".to_owned())
            } else {
                (end < in_window.len()).then(|| end.to_string())
            },
        })
    }

    async fn service_graph_names(&self, _start: f64, _end: f64) -> Result<Vec<String>> {
        self.record("GetServiceGraph")?;
        Ok(self.state.lock().unwrap().service_graph.clone())
    }

    async fn get_trace_segment_destination(&self) -> Result<SegmentDestination> {
        self.record("GetTraceSegmentDestination")?;
        Ok(self
            .state
            .lock()
            .unwrap()
            .destination
            .clone()
            .unwrap_or(SegmentDestination {
                destination: "XRay".into(),
                status: "ACTIVE".into(),
            }))
    }

    async fn get_indexing_rules(&self) -> Result<Vec<IndexingRule>> {
        self.record("GetIndexingRules")?;
        Ok(self.state.lock().unwrap().indexing_rules.clone())
    }

    async fn put_trace_segments(&self, documents: Vec<String>) -> Result<Vec<UnprocessedSegment>> {
        self.record("PutTraceSegments")?;
        let mut s = self.state.lock().unwrap();
        s.segments.extend(documents);
        Ok(s.unprocessed.clone())
    }

    async fn batch_get_trace_ids(&self, ids: &[String]) -> Result<Vec<String>> {
        self.record("BatchGetTraces")?;
        let s = self.state.lock().unwrap();
        Ok(ids
            .iter()
            .filter(|id| s.summaries.iter().any(|t| &t.id == *id))
            .cloned()
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn records_calls_and_pages_summaries() {
        let fake = FakeXRay::new();
        {
            let mut s = fake.state.lock().unwrap();
            s.page_size = 2;
            s.summaries = (0..5)
                .map(|i| TraceSummary {
                    id: format!("t{i}"),
                    start_time: Some(10.0 + i as f64),
                    ..Default::default()
                })
                .collect();
        }
        let q = SummaryQuery {
            start: 0.0,
            end: 100.0,
            filter_expression: None,
        };
        let mut token = None;
        let mut seen = 0;
        loop {
            let page = fake.get_trace_summaries_page(&q, token).await.unwrap();
            seen += page.summaries.len();
            token = page.next_token;
            if token.is_none() {
                break;
            }
        }
        assert_eq!(seen, 5);
        assert_eq!(fake.calls().len(), 3);
        assert!(fake.writes().is_empty());
    }

    #[tokio::test]
    async fn scripted_failures_surface_as_service_errors() {
        let fake = FakeXRay::new();
        fake.state.lock().unwrap().fail.insert(
            "GetGroups",
            ("ThrottledException".into(), "Rate exceeded".into()),
        );
        let err = fake.get_groups().await.unwrap_err();
        assert_eq!(
            err.to_string(),
            "GetGroups failed: ThrottledException: Rate exceeded"
        );
    }
}
