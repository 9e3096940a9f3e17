//! [`XRay`] over aws-sdk-xray: the only code that calls the SDK.
//!
//! Errors become the crate's [`Error`]: a service error keeps its code and message
//! (exit 254), a credentials failure is [`Error::Config`] (253), and anything else (an
//! unreachable endpoint, a timeout, an unreadable response) is one line naming the
//! operation, the attempts made, the cause and the endpoint (255).

use std::collections::{BTreeMap, HashMap};
use std::error::Error as StdError;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

use aws_config::SdkConfig;
use aws_credential_types::provider::error::CredentialsError;
use aws_sdk_xray::Client;
use aws_sdk_xray::config::interceptors::BeforeTransmitInterceptorContextRef;
use aws_sdk_xray::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_xray::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_xray::types as sdk;
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_types::DateTime;

use crate::cli::GlobalArgs;
use crate::error::{Error, Result};
use crate::interrupt::{self, WriteState};
use crate::spec::{GroupSpec, SamplingRateBoost, SamplingRule, Tags};
use crate::xray::{
    Group, IndexingRule, Pager, SamplingRuleRecord, SamplingRuleUpdate, SegmentDestination,
    SummaryPage, SummaryQuery, TraceSummary, UnprocessedSegment, XRay,
};

/// BatchGetTraces takes at most this many IDs per request.
const BATCH_GET_TRACES_MAX: usize = 5;

/// X-Ray through the AWS SDK.
#[derive(Debug, Clone)]
pub struct SdkXRay {
    client: Client,
}

impl SdkXRay {
    pub fn new(config: &SdkConfig) -> SdkXRay {
        SdkXRay {
            client: Client::new(config),
        }
    }

    /// The region the client sends to, as resolved from flags, environment or profile.
    pub fn region(&self) -> Option<String> {
        self.client.config().region().map(|r| r.to_string())
    }

    /// Wrap a client built elsewhere (tests build one with aws-smithy-mocks).
    pub fn from_client(client: Client) -> SdkXRay {
        SdkXRay { client }
    }

    /// Load the configuration from the global flags (region and credentials checked), then
    /// build the client.
    pub async fn connect(global: &GlobalArgs) -> Result<SdkXRay> {
        let config = crate::aws::load(global).await?;
        Ok(SdkXRay::new(&config))
    }
}

/// Counts the attempts of one operation and remembers where they went, for the error line.
#[derive(Debug, Clone, Default)]
struct Attempts {
    /// The operation; a write is recorded in the interrupt journal when it goes out.
    operation: &'static str,
    count: Arc<AtomicU32>,
    endpoint: Arc<Mutex<Option<String>>>,
}

impl Attempts {
    fn count(&self) -> u32 {
        self.count.load(Ordering::Relaxed)
    }

    fn endpoint(&self) -> Option<String> {
        self.endpoint.lock().ok().and_then(|e| e.clone())
    }
}

impl Intercept for Attempts {
    fn name(&self) -> &'static str {
        "cruddur-xray attempt counter"
    }

    fn read_before_attempt(
        &self,
        _context: &BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        self.count.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let endpoint = endpoint_of(context.request().uri());
        if let Ok(mut slot) = self.endpoint.lock() {
            *slot = Some(endpoint);
        }
        if interrupt::is_write(self.operation) {
            interrupt::journal().record(self.operation, WriteState::Sent);
        }
        Ok(())
    }
}

/// `scheme://host[:port]` of a request URI: where it went, without path, query or any
/// `user:password@` (an endpoint URL may carry one, and the error line must not print it).
fn endpoint_of(uri: &str) -> String {
    match uri.split_once("://") {
        Some((scheme, rest)) => {
            let authority = rest.split(['/', '?', '#']).next().unwrap_or(rest);
            let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
            format!("{scheme}://{host}")
        }
        None => uri.to_owned(),
    }
}

/// Send one operation with an attempt counter and map its error.
macro_rules! send {
    ($op:literal, $builder:expr) => {{
        let attempts = Attempts {
            operation: $op,
            ..Attempts::default()
        };
        let result = $builder
            .customize()
            .interceptor(attempts.clone())
            .send()
            .await;
        if interrupt::is_write($op) {
            let state = if result.is_ok() {
                WriteState::Confirmed
            } else {
                WriteState::Failed
            };
            interrupt::journal().record($op, state);
        }
        result.map_err(|e| map_sdk_error($op, &attempts, e))
    }};
}

/// Turn an SDK error into the crate's error. Never formats the SDK error with `{}` alone.
fn map_sdk_error<E>(
    operation: &'static str,
    attempts: &Attempts,
    err: SdkError<E, HttpResponse>,
) -> Error
where
    E: ProvideErrorMetadata + StdError + Send + Sync + 'static,
{
    if let SdkError::ServiceError(ctx) = &err {
        let e = ctx.err();
        let status = ctx.raw().status().as_u16();
        if (200..300).contains(&status) {
            // A success status whose body could not be read is not the service refusing.
            let n = attempts.count().max(1);
            let plural = if n == 1 { "attempt" } else { "attempts" };
            let endpoint = attempts
                .endpoint()
                .map(|e| format!(" ({e})"))
                .unwrap_or_default();
            return Error::Other(format!(
                "{operation} failed after {n} {plural}: unreadable response: HTTP {status} with a body that is not the expected JSON: {}{endpoint}",
                crate::aws::error_chain(e)
            ));
        }
        let mut message = e
            .message()
            .map(crate::aws::one_line)
            .unwrap_or_else(|| "(no message)".to_owned());
        // A retryable answer (throttling, a server error) was retried: say how often.
        let n = attempts.count().max(1);
        if n > 1 || status == 429 || status >= 500 {
            let plural = if n == 1 { "attempt" } else { "attempts" };
            message.push_str(&format!(" (gave up after {n} {plural})"));
        }
        return Error::Service {
            operation,
            code: e
                .code()
                .map(str::to_owned)
                .unwrap_or_else(|| format!("HTTP {status}")),
            message,
        };
    }
    if let Some(c) = find_source::<CredentialsError>(&err) {
        return Error::Config(crate::aws::credentials_message(c));
    }
    let n = attempts.count().max(1);
    let plural = if n == 1 { "attempt" } else { "attempts" };
    let what = match &err {
        SdkError::TimeoutError(_) => "timed out",
        _ => "failed",
    };
    let endpoint = attempts
        .endpoint()
        .map(|e| format!(" ({e})"))
        .unwrap_or_default();
    Error::Other(format!(
        "{operation} {what} after {n} {plural}: {}{endpoint}",
        cause_of(&err)
    ))
}

/// The first error of type `T` in the source chain, the error itself included.
fn find_source<'a, T: StdError + 'static>(err: &'a (dyn StdError + 'static)) -> Option<&'a T> {
    let mut cur = Some(err);
    while let Some(e) = cur {
        if let Some(t) = e.downcast_ref::<T>() {
            return Some(t);
        }
        cur = e.source();
    }
    None
}

/// The causes of an SDK error on one line: its sources, without the SDK's own
/// "dispatch failure" / "timeout" label (the line already says failed or timed out).
fn cause_of(err: &(dyn StdError + 'static)) -> String {
    match err.source() {
        Some(source) => crate::aws::error_chain(source),
        None => crate::aws::one_line(&err.to_string()),
    }
}

/// The not-found answer of GetGroup. X-Ray says "Group not found"; other wordings are
/// confirmed against GetGroups before being believed.
fn is_group_not_found(e: &Error) -> Option<bool> {
    match e {
        Error::Service { code, message, .. } if code == "InvalidRequestException" => {
            let m = message.to_ascii_lowercase();
            Some(m.contains("not found") || m.contains("does not exist"))
        }
        _ => None,
    }
}

fn group_from(
    name: Option<String>,
    arn: Option<String>,
    filter_expression: Option<String>,
    insights: Option<&sdk::InsightsConfiguration>,
) -> Group {
    Group {
        name: name.unwrap_or_default(),
        arn: arn.unwrap_or_default(),
        filter_expression: filter_expression.filter(|f| !f.is_empty()),
        insights_enabled: insights.and_then(|i| i.insights_enabled).unwrap_or(false),
        notifications_enabled: insights
            .and_then(|i| i.notifications_enabled)
            .unwrap_or(false),
    }
}

fn from_group(g: sdk::Group) -> Group {
    group_from(
        g.group_name,
        g.group_arn,
        g.filter_expression,
        g.insights_configuration.as_ref(),
    )
}

fn from_group_summary(g: sdk::GroupSummary) -> Group {
    group_from(
        g.group_name,
        g.group_arn,
        g.filter_expression,
        g.insights_configuration.as_ref(),
    )
}

fn insights(enabled: bool, notifications: bool) -> sdk::InsightsConfiguration {
    sdk::InsightsConfiguration::builder()
        .insights_enabled(enabled)
        .notifications_enabled(notifications)
        .build()
}

fn built<T>(what: &str, r: Result<T, aws_sdk_xray::error::BuildError>) -> Result<T> {
    r.map_err(|e| Error::Other(format!("cannot build the {what} request: {e}")))
}

fn sdk_tags(tags: &Tags) -> Result<Option<Vec<sdk::Tag>>> {
    if tags.is_empty() {
        return Ok(None);
    }
    tags.iter()
        .map(|(k, v)| built("tag", sdk::Tag::builder().key(k).value(v).build()))
        .collect::<Result<Vec<_>>>()
        .map(Some)
}

fn sdk_boost(b: &SamplingRateBoost) -> sdk::SamplingRateBoost {
    sdk::SamplingRateBoost::builder()
        .max_rate(b.max_rate)
        .cooldown_window_minutes(b.cooldown_window_minutes)
        .build()
}

fn sdk_attributes(a: &BTreeMap<String, String>) -> Option<HashMap<String, String>> {
    (!a.is_empty()).then(|| a.clone().into_iter().collect())
}

fn sdk_rule(r: &SamplingRule) -> Result<sdk::SamplingRule> {
    built(
        "sampling rule",
        sdk::SamplingRule::builder()
            .set_rule_name(r.rule_name.clone())
            .set_rule_arn(r.rule_arn.clone())
            .resource_arn(&r.resource_arn)
            .priority(r.priority)
            .fixed_rate(r.fixed_rate)
            .reservoir_size(r.reservoir_size)
            .service_name(&r.service_name)
            .service_type(&r.service_type)
            .host(&r.host)
            .http_method(&r.http_method)
            .url_path(&r.url_path)
            .version(r.version)
            .set_attributes(sdk_attributes(&r.attributes))
            .set_sampling_rate_boost(r.sampling_rate_boost.as_ref().map(sdk_boost))
            .build(),
    )
}

fn from_rule(r: sdk::SamplingRule) -> SamplingRule {
    SamplingRule {
        rule_name: r.rule_name,
        rule_arn: r.rule_arn,
        resource_arn: r.resource_arn,
        priority: r.priority,
        fixed_rate: r.fixed_rate,
        reservoir_size: r.reservoir_size,
        service_name: r.service_name,
        service_type: r.service_type,
        host: r.host,
        http_method: r.http_method,
        url_path: r.url_path,
        version: r.version,
        attributes: r.attributes.unwrap_or_default().into_iter().collect(),
        sampling_rate_boost: r.sampling_rate_boost.map(|b| SamplingRateBoost {
            max_rate: b.max_rate,
            cooldown_window_minutes: b.cooldown_window_minutes,
        }),
    }
}

fn from_record(op: &'static str, r: Option<sdk::SamplingRuleRecord>) -> Result<SamplingRuleRecord> {
    let r = r.ok_or_else(|| Error::Other(format!("{op} returned no sampling rule record")))?;
    let rule = r
        .sampling_rule
        .ok_or_else(|| Error::Other(format!("{op} returned a record without a sampling rule")))?;
    let rule = from_rule(rule);
    Ok(SamplingRuleRecord {
        arn: rule.rule_arn.clone().unwrap_or_default(),
        rule,
        created_at: r.created_at.map(|t| t.as_secs_f64()),
        modified_at: r.modified_at.map(|t| t.as_secs_f64()),
    })
}

fn from_summary(t: sdk::TraceSummary) -> TraceSummary {
    let http = t.http.unwrap_or_else(|| sdk::Http::builder().build());
    TraceSummary {
        id: t.id.unwrap_or_default(),
        start_time: t.start_time.map(|s| s.as_secs_f64()),
        duration: t.duration,
        response_time: t.response_time,
        has_fault: t.has_fault.unwrap_or(false),
        has_error: t.has_error.unwrap_or(false),
        has_throttle: t.has_throttle.unwrap_or(false),
        http_url: http.http_url,
        http_method: http.http_method,
        http_status: http.http_status,
        services: t
            .service_ids
            .unwrap_or_default()
            .into_iter()
            .filter_map(|s| s.name)
            .collect(),
    }
}

fn timestamp(what: &str, secs: f64) -> Result<DateTime> {
    if secs.is_finite() && secs >= 0.0 {
        Ok(DateTime::from_secs_f64(secs))
    } else {
        Err(Error::invalid(format!(
            "{what} must be a time after 1970 (got {secs})"
        )))
    }
}

impl XRay for SdkXRay {
    async fn get_group(&self, name: &str) -> Result<Option<Group>> {
        let result = send!("GetGroup", self.client.get_group().group_name(name));
        match result {
            Ok(out) => Ok(out.group.map(from_group)),
            Err(e) => match is_group_not_found(&e) {
                Some(true) => Ok(None),
                // An InvalidRequestException in other words: believe it only if GetGroups
                // does not list the group either.
                Some(false) => {
                    let groups = self.get_groups().await?;
                    match groups.into_iter().find(|g| g.name == name) {
                        Some(_) => Err(e),
                        None => Ok(None),
                    }
                }
                None => Err(e),
            },
        }
    }

    async fn get_groups(&self) -> Result<Vec<Group>> {
        let mut groups = Vec::new();
        let mut pager = Pager::new("GetGroups");
        let mut token: Option<String> = None;
        loop {
            let out = send!(
                "GetGroups",
                self.client.get_groups().set_next_token(token.take())
            )?;
            groups.extend(
                out.groups
                    .unwrap_or_default()
                    .into_iter()
                    .map(from_group_summary),
            );
            token = pager.next(out.next_token)?;
            if token.is_none() {
                return Ok(groups);
            }
        }
    }

    async fn create_group(&self, spec: &GroupSpec) -> Result<Group> {
        let out = send!(
            "CreateGroup",
            self.client
                .create_group()
                .group_name(&spec.name)
                .set_filter_expression(spec.filter_expression.clone())
                .insights_configuration(insights(spec.insights_enabled, spec.notifications_enabled))
                .set_tags(sdk_tags(&spec.tags)?)
        )?;
        out.group
            .map(from_group)
            .ok_or_else(|| Error::Other("CreateGroup returned no group".into()))
    }

    async fn update_group(
        &self,
        name: &str,
        filter_expression: Option<&str>,
        insights_enabled: bool,
        notifications_enabled: bool,
    ) -> Result<Group> {
        let out = send!(
            "UpdateGroup",
            self.client
                .update_group()
                .group_name(name)
                // Absent: X-Ray keeps the group's filter.
                .set_filter_expression(filter_expression.map(str::to_owned))
                .insights_configuration(insights(insights_enabled, notifications_enabled))
        )?;
        out.group
            .map(from_group)
            .ok_or_else(|| Error::Other("UpdateGroup returned no group".into()))
    }

    async fn list_tags(&self, arn: &str) -> Result<Tags> {
        let mut tags = Tags::new();
        let mut pager = Pager::new("ListTagsForResource");
        let mut token: Option<String> = None;
        loop {
            let out = send!(
                "ListTagsForResource",
                self.client
                    .list_tags_for_resource()
                    .resource_arn(arn)
                    .set_next_token(token.take())
            )?;
            tags.extend(
                out.tags
                    .unwrap_or_default()
                    .into_iter()
                    .map(|t| (t.key, t.value)),
            );
            token = pager.next(out.next_token)?;
            if token.is_none() {
                return Ok(tags);
            }
        }
    }

    async fn tag_resource(&self, arn: &str, tags: &Tags) -> Result<()> {
        send!(
            "TagResource",
            self.client
                .tag_resource()
                .resource_arn(arn)
                .set_tags(Some(sdk_tags(tags)?.unwrap_or_default()))
        )?;
        Ok(())
    }

    async fn untag_resource(&self, arn: &str, keys: &[String]) -> Result<()> {
        send!(
            "UntagResource",
            self.client
                .untag_resource()
                .resource_arn(arn)
                .set_tag_keys(Some(keys.to_vec()))
        )?;
        Ok(())
    }

    async fn get_sampling_rules(&self) -> Result<Vec<SamplingRuleRecord>> {
        let mut rules = Vec::new();
        let mut pager = Pager::new("GetSamplingRules");
        let mut token: Option<String> = None;
        loop {
            let out = send!(
                "GetSamplingRules",
                self.client
                    .get_sampling_rules()
                    .set_next_token(token.take())
            )?;
            for r in out.sampling_rule_records.unwrap_or_default() {
                rules.push(from_record("GetSamplingRules", Some(r))?);
            }
            token = pager.next(out.next_token)?;
            if token.is_none() {
                return Ok(rules);
            }
        }
    }

    async fn create_sampling_rule(
        &self,
        rule: &SamplingRule,
        tags: &Tags,
    ) -> Result<SamplingRuleRecord> {
        let out = send!(
            "CreateSamplingRule",
            self.client
                .create_sampling_rule()
                .sampling_rule(sdk_rule(rule)?)
                .set_tags(sdk_tags(tags)?)
        )?;
        from_record("CreateSamplingRule", out.sampling_rule_record)
    }

    async fn update_sampling_rule(&self, u: &SamplingRuleUpdate) -> Result<SamplingRuleRecord> {
        let update = sdk::SamplingRuleUpdate::builder()
            .rule_name(&u.rule_name)
            .set_resource_arn(u.resource_arn.clone())
            .set_priority(u.priority)
            .set_fixed_rate(u.fixed_rate)
            .set_reservoir_size(u.reservoir_size)
            .set_service_name(u.service_name.clone())
            .set_service_type(u.service_type.clone())
            .set_host(u.host.clone())
            .set_http_method(u.http_method.clone())
            .set_url_path(u.url_path.clone())
            .set_attributes(
                u.attributes
                    .as_ref()
                    .map(|a| a.clone().into_iter().collect()),
            )
            .set_sampling_rate_boost(u.sampling_rate_boost.as_ref().map(sdk_boost))
            .build();
        let out = send!(
            "UpdateSamplingRule",
            self.client
                .update_sampling_rule()
                .sampling_rule_update(update)
        )?;
        from_record("UpdateSamplingRule", out.sampling_rule_record)
    }

    async fn get_trace_summaries_page(
        &self,
        query: &SummaryQuery,
        next_token: Option<String>,
    ) -> Result<SummaryPage> {
        let out = send!(
            "GetTraceSummaries",
            self.client
                .get_trace_summaries()
                .start_time(timestamp("the window start", query.start)?)
                .end_time(timestamp("the window end", query.end)?)
                .set_filter_expression(query.filter_expression.clone())
                .set_next_token(next_token)
        )?;
        Ok(SummaryPage {
            summaries: out
                .trace_summaries
                .unwrap_or_default()
                .into_iter()
                .map(from_summary)
                .collect(),
            traces_processed: out.traces_processed_count.unwrap_or(0),
            next_token: out.next_token.filter(|t| !t.is_empty()),
        })
    }

    async fn service_graph_names(&self, start: f64, end: f64) -> Result<Vec<String>> {
        let start = timestamp("the window start", start)?;
        let end = timestamp("the window end", end)?;
        let mut names: Vec<String> = Vec::new();
        let mut pager = Pager::new("GetServiceGraph");
        let mut token: Option<String> = None;
        loop {
            let out = send!(
                "GetServiceGraph",
                self.client
                    .get_service_graph()
                    .start_time(start)
                    .end_time(end)
                    .set_next_token(token.take())
            )?;
            for s in out.services.unwrap_or_default() {
                let all = s.name.into_iter().chain(s.names.unwrap_or_default());
                for n in all {
                    if !names.contains(&n) {
                        names.push(n);
                    }
                }
            }
            token = pager.next(out.next_token)?;
            if token.is_none() {
                return Ok(names);
            }
        }
    }

    async fn get_trace_segment_destination(&self) -> Result<SegmentDestination> {
        let out = send!(
            "GetTraceSegmentDestination",
            self.client.get_trace_segment_destination()
        )?;
        Ok(SegmentDestination {
            destination: out
                .destination
                .map(|d| d.as_str().to_owned())
                .unwrap_or_else(|| "XRay".to_owned()),
            status: out
                .status
                .map(|s| s.as_str().to_owned())
                .unwrap_or_default(),
        })
    }

    async fn get_indexing_rules(&self) -> Result<Vec<IndexingRule>> {
        let mut rules = Vec::new();
        let mut pager = Pager::new("GetIndexingRules");
        let mut token: Option<String> = None;
        loop {
            let out = send!(
                "GetIndexingRules",
                self.client
                    .get_indexing_rules()
                    .set_next_token(token.take())
            )?;
            for r in out.indexing_rules.unwrap_or_default() {
                rules.push(IndexingRule {
                    name: r.name.unwrap_or_default(),
                    desired_sampling_percentage: r
                        .rule
                        .as_ref()
                        .and_then(|v| v.as_probabilistic().ok())
                        .map(|p| p.desired_sampling_percentage),
                });
            }
            token = pager.next(out.next_token)?;
            if token.is_none() {
                return Ok(rules);
            }
        }
    }

    async fn put_trace_segments(&self, documents: Vec<String>) -> Result<Vec<UnprocessedSegment>> {
        let out = send!(
            "PutTraceSegments",
            self.client
                .put_trace_segments()
                .set_trace_segment_documents(Some(documents))
        )?;
        Ok(out
            .unprocessed_trace_segments
            .unwrap_or_default()
            .into_iter()
            .map(|u| UnprocessedSegment {
                id: u.id,
                error_code: u.error_code,
                message: u.message,
            })
            .collect())
    }

    async fn batch_get_trace_ids(&self, ids: &[String]) -> Result<Vec<String>> {
        let mut found = Vec::new();
        for chunk in ids.chunks(BATCH_GET_TRACES_MAX) {
            let mut pager = Pager::new("BatchGetTraces");
            let mut token: Option<String> = None;
            loop {
                let out = send!(
                    "BatchGetTraces",
                    self.client
                        .batch_get_traces()
                        .set_trace_ids(Some(chunk.to_vec()))
                        .set_next_token(token.take())
                )?;
                found.extend(
                    out.traces
                        .unwrap_or_default()
                        .into_iter()
                        .filter_map(|t| t.id),
                );
                token = pager.next(out.next_token)?;
                if token.is_none() {
                    break;
                }
            }
        }
        Ok(found)
    }
}

#[cfg(test)]
#[path = "sdk_tests.rs"]
mod tests;
