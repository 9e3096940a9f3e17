//! Trace storage and the read side: PutTraceSegments, GetTraceSummaries, BatchGetTraces,
//! GetServiceGraph.
//!
//! Semantic choices:
//! - A document is refused (reported in UnprocessedTraceSegments with an ErrorCode in the
//!   service's style, `MissingId`, `InvalidTraceId`, `MissingEndTime`, ..., and the message
//!   `Invalid segment. ErrorCode: CODE: detail`) unless it is a JSON object with a
//!   16-hex-digit `id`, a
//!   `1-XXXXXXXX-XXXXXXXXXXXXXXXXXXXXXXXX` `trace_id`, a 1..=200 character `name`, a numeric
//!   `start_time`, and an `end_time` or `"in_progress": true`; an independent subsegment
//!   (`"type": "subsegment"`) also needs a `parent_id`. A document is at most 64 KiB.
//!   Sending a segment id again replaces the stored one (an in-progress segment completed).
//! - TimeRangeType TraceId (the default) places a trace at the time in its ID; Event and
//!   Service place it at its earliest segment start.
//! - Summaries come newest first, [`SUMMARY_PAGE`] per page. TracesProcessedCount counts
//!   the traces scanned for the page, matched or not, so the pages add up to the window.
//! - When the segment destination is CloudWatchLogs, only the indexed share of traces
//!   (the Default indexing rule's percentage, chosen by a hash of the trace ID) has a
//!   summary, as with Transaction Search.
//! - At most [`MAX_TRACES`] traces per region are kept; past that the oldest tenth is
//!   dropped (a warning is logged).
//! - `group.name = "G"` in a filter uses G's own expression; a group whose expression does
//!   not parse matches nothing.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::ops::Bound;

use serde_json::{Value, json};

use super::error::ApiError;
use super::state::{Region, decode_token, encode_token, now};
use crate::filter::{self, Expr, GroupLookup};
use crate::trace::{AnnotationValue, Segment, Trace};

/// Trace summaries per page.
pub const SUMMARY_PAGE: usize = 100;
/// Traces kept per region; past this the oldest are dropped.
pub const MAX_TRACES: usize = 100_000;
/// The largest segment document accepted.
pub const MAX_DOCUMENT: usize = 64 * 1024;

#[derive(Debug, Clone)]
pub(crate) struct StoredSegment {
    id: String,
    document: String,
    raw: Value,
    segment: Segment,
}

#[derive(Debug, Clone, Default)]
pub(crate) struct StoredTrace {
    id: String,
    segments: Vec<StoredSegment>,
    revision: i64,
}

/// Where a trace sits in the TraceId-time order summaries are served in: newest first,
/// ties by ID.
type OrderKey = (Reverse<u32>, String);

#[derive(Debug, Default)]
pub(crate) struct TraceStore {
    traces: HashMap<String, StoredTrace>,
    /// Every trace ID in summary order, so a page of GetTraceSummaries (TimeRangeType
    /// TraceId) starts at its cursor in O(log n) instead of sorting the whole store for
    /// each of a large window's pages.
    order: BTreeSet<OrderKey>,
}

pub(crate) fn call(r: &mut Region, operation: &str, body: &Value) -> Result<Value, ApiError> {
    match operation {
        "PutTraceSegments" => Ok(put_segments(r, body)),
        "GetTraceSummaries" => summaries(r, body),
        "BatchGetTraces" => Ok(batch_get(r, body)),
        "GetServiceGraph" => service_graph(r, body),
        _ => Err(ApiError::invalid(format!("Unknown operation {operation}"))),
    }
}

fn is_hex(s: &str, len: usize) -> bool {
    s.len() == len && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// The epoch seconds a trace ID carries (stored IDs are checked, so they all have one).
fn trace_id_time(id: &str) -> f64 {
    f64::from(trace_id_secs(id))
}

fn trace_id_secs(id: &str) -> u32 {
    crate::trace::trace_id_time(id).map_or(0, |t| t as u32)
}

fn order_key(id: &str) -> OrderKey {
    (Reverse(trace_id_secs(id)), id.to_owned())
}

struct Rejected {
    id: Option<String>,
    /// In the service's style: `MissingId`, `InvalidTraceId`, ...
    code: &'static str,
    message: String,
}

fn check_document(doc: &str) -> Result<(String, StoredSegment), Rejected> {
    let reject = |id: Option<&str>, code: &'static str, detail: &str| Rejected {
        id: id.map(str::to_owned),
        code,
        message: format!("Invalid segment. ErrorCode: {code}: {detail}"),
    };
    if doc.len() > MAX_DOCUMENT {
        return Err(reject(
            None,
            "SegmentTooLarge",
            &format!("the document is larger than {MAX_DOCUMENT} bytes"),
        ));
    }
    let raw: Value = serde_json::from_str(doc)
        .map_err(|e| reject(None, "InvalidJson", &format!("not valid JSON: {e}")))?;
    if !raw.is_object() {
        return Err(reject(
            None,
            "InvalidJson",
            "the document must be a JSON object",
        ));
    }
    let field = |k: &str| raw.get(k).filter(|v| !v.is_null());
    let id = field("id").and_then(Value::as_str);
    let Some(id_str) = id.filter(|i| is_hex(i, 16)) else {
        let code = if field("id").is_none() {
            "MissingId"
        } else {
            "InvalidId"
        };
        return Err(reject(id, code, "id must be 16 hexadecimal digits"));
    };
    let Some(trace_id) = field("trace_id").and_then(Value::as_str) else {
        return Err(reject(id, "MissingTraceId", "trace_id is required"));
    };
    if !crate::trace::is_trace_id(trace_id) {
        return Err(reject(
            id,
            "InvalidTraceId",
            &format!(
                "trace_id must look like 1-5f84c7a1-6b8e0e7d3c1e4f2a9b0c1d2e (got {trace_id:?})"
            ),
        ));
    }
    match field("name")
        .and_then(Value::as_str)
        .map(|n| n.chars().count())
    {
        None => return Err(reject(id, "MissingName", "name is required")),
        Some(n) if !(1..=200).contains(&n) => {
            return Err(reject(id, "InvalidName", "name must be 1..=200 characters"));
        }
        Some(_) => {}
    }
    if !field("start_time").is_some_and(Value::is_number) {
        return Err(reject(
            id,
            "MissingStartTime",
            "start_time must be a number (epoch seconds)",
        ));
    }
    let in_progress = field("in_progress").and_then(Value::as_bool) == Some(true);
    if !in_progress && !field("end_time").is_some_and(Value::is_number) {
        return Err(reject(
            id,
            "MissingEndTime",
            "end_time must be a number unless in_progress is true",
        ));
    }
    let parent = field("parent_id").and_then(Value::as_str);
    if field("type").and_then(Value::as_str) == Some("subsegment") && parent.is_none() {
        return Err(reject(
            id,
            "MissingParentId",
            "an independent subsegment needs a parent_id",
        ));
    }
    if parent.is_some_and(|p| !is_hex(p, 16)) {
        return Err(reject(
            id,
            "InvalidParentId",
            "parent_id must be 16 hexadecimal digits",
        ));
    }
    let segment: Segment = serde_json::from_value(raw.clone())
        .map_err(|e| reject(id, "InvalidSegment", &format!("{e}")))?;
    if let (Some(end), false) = (segment.end_time, in_progress)
        && end < segment.start_time
    {
        return Err(reject(
            id,
            "InvalidEndTime",
            "end_time must not be before start_time",
        ));
    }
    Ok((
        trace_id.to_owned(),
        StoredSegment {
            id: id_str.to_owned(),
            document: doc.to_owned(),
            raw,
            segment,
        },
    ))
}

fn put_segments(r: &mut Region, body: &Value) -> Value {
    let mut unprocessed = Vec::new();
    let docs = body
        .get("TraceSegmentDocuments")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    for doc in docs {
        let doc = doc.as_str().unwrap_or_default();
        match check_document(doc) {
            Ok((trace_id, seg)) => {
                let store = &mut r.traces;
                let t = store.traces.entry(trace_id.clone()).or_insert_with(|| {
                    store.order.insert(order_key(&trace_id));
                    StoredTrace {
                        id: trace_id,
                        ..StoredTrace::default()
                    }
                });
                t.revision += 1;
                match t.segments.iter_mut().find(|s| s.id == seg.id) {
                    Some(old) => *old = seg,
                    None => t.segments.push(seg),
                }
            }
            Err(rej) => {
                let mut u = json!({ "ErrorCode": rej.code, "Message": rej.message });
                if let Some(id) = rej.id {
                    u["Id"] = Value::String(id);
                }
                unprocessed.push(u);
            }
        }
    }
    r.traces.evict_beyond(MAX_TRACES);
    json!({ "UnprocessedTraceSegments": unprocessed })
}

impl TraceStore {
    /// Keep memory bounded: past `cap` traces, drop the oldest tenth (by trace-ID time).
    fn evict_beyond(&mut self, cap: usize) {
        if self.traces.len() <= cap {
            return;
        }
        let mut by_age: Vec<(f64, String)> = self
            .traces
            .keys()
            .map(|id| (trace_id_time(id), id.clone()))
            .collect();
        by_age.sort_by(|a, b| a.0.total_cmp(&b.0).then_with(|| a.1.cmp(&b.1)));
        let excess = self.traces.len() - cap + cap / 10;
        for (_, id) in by_age.into_iter().take(excess) {
            self.order.remove(&order_key(&id));
            self.traces.remove(&id);
        }
        tracing::warn!(
            dropped = excess,
            "trace store full; dropped the oldest traces"
        );
    }
}

// ---- reading traces ----

impl StoredTrace {
    fn as_trace(&self) -> Trace {
        Trace {
            id: self.id.clone(),
            segments: self.segments.iter().map(|s| s.segment.clone()).collect(),
        }
    }

    fn start(&self) -> f64 {
        self.segments
            .iter()
            .map(|s| s.segment.start_time)
            .fold(f64::INFINITY, f64::min)
    }

    fn end(&self) -> Option<f64> {
        self.segments
            .iter()
            .filter_map(|s| s.segment.end_time)
            .reduce(f64::max)
    }

    /// Top-level segments (not independent subsegments).
    fn tops(&self) -> impl Iterator<Item = &StoredSegment> {
        self.segments
            .iter()
            .filter(|s| s.segment.kind.as_deref() != Some("subsegment"))
    }

    /// The segment the request entered by: a top-level one with no parent, the earliest.
    fn entry(&self) -> Option<&StoredSegment> {
        let earliest = |a: &&StoredSegment, b: &&StoredSegment| {
            a.segment.start_time.total_cmp(&b.segment.start_time)
        };
        self.tops()
            .filter(|s| s.segment.parent_id.is_none())
            .min_by(earliest)
            .or_else(|| self.tops().min_by(earliest))
    }

    fn duration(&self) -> Option<f64> {
        self.end().map(|e| e - self.start())
    }
}

fn walk<'a>(s: &'a Segment, f: &mut impl FnMut(&'a Segment)) {
    f(s);
    for sub in &s.subsegments {
        walk(sub, f);
    }
}

/// A service node: name and type (origin, or inferred for remote calls).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
struct ServiceKey {
    name: String,
    kind: Option<String>,
    account: Option<String>,
}

fn service_of(s: &StoredSegment) -> ServiceKey {
    ServiceKey {
        name: s.segment.name.clone(),
        kind: s.segment.origin.clone(),
        account: s
            .raw
            .pointer("/aws/account_id")
            .and_then(Value::as_str)
            .map(str::to_owned),
    }
}

/// The downstream service a subsegment calls, if it is a remote or AWS call.
fn remote_service(s: &Segment) -> Option<ServiceKey> {
    let kind = match s.namespace.as_deref()? {
        "aws" => format!("AWS::{}", s.name),
        "remote" => "remote".to_owned(),
        _ => return None,
    };
    Some(ServiceKey {
        name: s.name.clone(),
        kind: Some(kind),
        account: None,
    })
}

fn service_id_json(k: &ServiceKey) -> Value {
    let mut v = json!({ "Name": k.name, "Names": [k.name] });
    if let Some(t) = &k.kind {
        v["Type"] = Value::String(t.clone());
    }
    if let Some(a) = &k.account {
        v["AccountId"] = Value::String(a.clone());
    }
    v
}

fn push_unique<T: PartialEq>(v: &mut Vec<T>, x: T) {
    if !v.contains(&x) {
        v.push(x);
    }
}

fn annotation_json(a: &AnnotationValue) -> Value {
    match a {
        AnnotationValue::Bool(b) => json!({ "BooleanValue": b }),
        AnnotationValue::Number(n) => json!({ "NumberValue": n }),
        AnnotationValue::String(s) => json!({ "StringValue": s }),
    }
}

fn summary_json(t: &StoredTrace) -> Value {
    let mut services: Vec<ServiceKey> = Vec::new();
    let (mut fault, mut error, mut throttle, mut partial) = (false, false, false, false);
    let mut annotations: BTreeMap<String, Vec<(Value, Vec<ServiceKey>)>> = BTreeMap::new();
    let mut users: Vec<(String, Vec<ServiceKey>)> = Vec::new();
    let mut arns: Vec<String> = Vec::new();
    for s in &t.segments {
        let own = if s.segment.kind.as_deref() == Some("subsegment") {
            None
        } else {
            let k = service_of(s);
            push_unique(&mut services, k.clone());
            Some(k)
        };
        if let Some(arn) = s.raw.get("resource_arn").and_then(Value::as_str) {
            push_unique(&mut arns, arn.to_owned());
        }
        if let (Some(user), Some(k)) = (&s.segment.user, &own) {
            match users.iter_mut().find(|(u, _)| u == user) {
                Some((_, ids)) => push_unique(ids, k.clone()),
                None => users.push((user.clone(), vec![k.clone()])),
            }
        }
        walk(&s.segment, &mut |x| {
            fault |= x.fault;
            error |= x.error;
            throttle |= x.throttle;
            partial |= x.in_progress || x.end_time.is_none();
            if let Some(k) = remote_service(x) {
                push_unique(&mut services, k);
            }
            for (key, value) in &x.annotations {
                let value = annotation_json(value);
                let entry = annotations.entry(key.clone()).or_default();
                let i = match entry.iter().position(|(v, _)| *v == value) {
                    Some(i) => i,
                    None => {
                        entry.push((value, Vec::new()));
                        entry.len() - 1
                    }
                };
                if let Some(k) = &own {
                    push_unique(&mut entry[i].1, k.clone());
                }
            }
        });
    }
    let mut v = json!({
        "Id": t.id,
        "StartTime": t.start(),
        "HasFault": fault,
        "HasError": error,
        "HasThrottle": throttle,
        "IsPartial": partial,
        "Revision": t.revision,
    });
    if let Some(d) = t.duration() {
        v["Duration"] = json!(d);
    }
    if let Some(entry) = t.entry() {
        if let Some(end) = entry.segment.end_time {
            v["ResponseTime"] = json!(end - entry.segment.start_time);
        }
        v["EntryPoint"] = service_id_json(&service_of(entry));
        if let Some(http) = &entry.segment.http {
            let mut h = json!({});
            if let Some(req) = &http.request {
                let fields = [
                    ("HttpURL", &req.url),
                    ("HttpMethod", &req.method),
                    ("UserAgent", &req.user_agent),
                    ("ClientIp", &req.client_ip),
                ];
                for (k, val) in fields {
                    if let Some(val) = val {
                        h[k] = Value::String(val.clone());
                    }
                }
            }
            if let Some(status) = http.response.as_ref().and_then(|r| r.status) {
                h["HttpStatus"] = json!(status);
            }
            v["Http"] = h;
        }
    }
    v["ServiceIds"] = services.iter().map(service_id_json).collect();
    v["Annotations"] = annotations
        .into_iter()
        .map(|(k, vals)| {
            let list: Vec<Value> = vals
                .into_iter()
                .map(|(val, ids)| {
                    json!({
                        "AnnotationValue": val,
                        "ServiceIds": ids.iter().map(service_id_json).collect::<Vec<_>>(),
                    })
                })
                .collect();
            (k, Value::Array(list))
        })
        .collect::<serde_json::Map<_, _>>()
        .into();
    v["Users"] = users
        .iter()
        .map(|(u, ids)| {
            json!({ "UserName": u, "ServiceIds": ids.iter().map(service_id_json).collect::<Vec<_>>() })
        })
        .collect();
    v["ResourceARNs"] = arns.iter().map(|a| json!({ "ARN": a })).collect();
    v
}

/// `group.name`/`group.arn` resolved against the region's groups, each group's expression
/// parsed once per request: `Some(None)` for no filter, `None` for one that does not parse
/// (such a group matches no trace, as in X-Ray).
struct Groups(Vec<(String, String, Option<Option<Expr>>)>);

impl Groups {
    fn of(r: &Region) -> Groups {
        Groups(
            r.groups
                .iter()
                .map(|g| {
                    let expr = match &g.filter {
                        None => Some(None),
                        Some(f) => filter::parse(f).ok().map(Some),
                    };
                    (g.name.clone(), g.arn.clone(), expr)
                })
                .collect(),
        )
    }

    fn find(&self, name_or_arn: &str) -> Option<&Option<Option<Expr>>> {
        self.0
            .iter()
            .find(|(n, a, _)| n == name_or_arn || a == name_or_arn)
            .map(|(_, _, e)| e)
    }
}

impl GroupLookup for Groups {
    fn group_filter(&self, name_or_arn: &str) -> Option<Option<Expr>> {
        self.find(name_or_arn)?.clone()
    }
}

fn time_member(body: &Value, key: &str) -> Result<f64, ApiError> {
    let v = body.get(key);
    v.and_then(Value::as_f64)
        .or_else(|| v.and_then(Value::as_str).and_then(|s| s.parse().ok()))
        .filter(|x: &f64| x.is_finite())
        .ok_or_else(|| ApiError::invalid(format!("{key} must be a timestamp in epoch seconds")))
}

/// Whether a trace is indexed into summaries under Transaction Search at `pct` percent.
fn indexed(trace_id: &str, pct: f64) -> bool {
    // FNV-1a: stable across runs and platforms.
    let hash = trace_id.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    ((hash % 10_000) as f64) < pct * 100.0
}

fn parse_filter(source: &str) -> Result<Expr, ApiError> {
    filter::parse(source).map_err(|errors| {
        let detail: Vec<String> = errors
            .iter()
            .map(|e| format!("column {}: {}", e.column, e.message))
            .collect();
        ApiError::invalid(format!("Invalid filter expression: {}", detail.join("; ")))
    })
}

fn summaries(r: &Region, body: &Value) -> Result<Value, ApiError> {
    let start = time_member(body, "StartTime")?;
    let end = time_member(body, "EndTime")?;
    if end < start {
        return Err(ApiError::invalid("EndTime must not be before StartTime"));
    }
    let by_id = body
        .get("TimeRangeType")
        .and_then(Value::as_str)
        .is_none_or(|t| t == "TraceId");
    let expr = match body.get("FilterExpression").and_then(Value::as_str) {
        Some(f) if !f.trim().is_empty() => Some(parse_filter(f)?),
        _ => None,
    };
    let cloudwatch = r.destination == "CloudWatchLogs";
    let visible = |t: &StoredTrace| !cloudwatch || indexed(&t.id, r.indexing_percentage);
    // Where the previous page stopped: the time and ID of its last trace scanned.
    let cursor = match body.get("NextToken").and_then(Value::as_str) {
        None => None,
        Some(token) => {
            let cursor = decode_token("traces", token)?;
            let (at, id) = cursor
                .split_once('/')
                .and_then(|(bits, id)| Some((f64::from_bits(bits.parse().ok()?), id.to_owned())))
                .ok_or_else(|| ApiError::invalid("NextToken is not valid for this request"))?;
            Some((at, id))
        }
    };
    // Newest first; ties broken by ID so the order (and the cursor) is total.
    let mut window: Box<dyn Iterator<Item = (f64, &StoredTrace)> + '_> = if by_id {
        // The store keeps this order already: start at the cursor (or at `end`) and stop
        // below `start`, so a page costs O(log n + page) however large the store.
        let secs = |x: f64| Reverse(x.floor().clamp(0.0, f64::from(u32::MAX)) as u32);
        let lower = match &cursor {
            Some((at, id)) if at.fract() == 0.0 && (0.0..=f64::from(u32::MAX)).contains(at) => {
                Bound::Excluded((secs(*at), id.clone()))
            }
            // Not a whole second: every trace of that second or earlier comes after it.
            Some((at, _)) => Bound::Included((secs(*at), String::new())),
            None => Bound::Included((secs(end), String::new())),
        };
        Box::new(
            r.traces
                .order
                .range((lower, Bound::Unbounded))
                .map_while(move |(Reverse(s), id)| (f64::from(*s) >= start).then_some(id))
                .filter_map(|id| r.traces.traces.get(id))
                .filter(move |t| visible(t))
                .map(|t| (trace_id_time(&t.id), t))
                .filter(move |(at, _)| (start..=end).contains(at)),
        )
    } else {
        let mut all: Vec<(f64, &StoredTrace)> = r
            .traces
            .traces
            .values()
            .filter(|t| visible(t))
            .map(|t| (t.start(), t))
            .filter(|(at, _)| (start..=end).contains(at))
            .collect();
        all.sort_by(|a, b| b.0.total_cmp(&a.0).then_with(|| a.1.id.cmp(&b.1.id)));
        let from = match &cursor {
            None => 0,
            Some((at, id)) => all
                .iter()
                .position(|(t, tr)| *t < *at || (*t == *at && tr.id.as_str() > id.as_str()))
                .unwrap_or(all.len()),
        };
        Box::new(all.into_iter().skip(from))
    };
    let groups = Groups::of(r);
    let mut matched = Vec::new();
    let mut scanned = 0usize;
    let mut last = None;
    for (at, t) in window.by_ref() {
        scanned += 1;
        last = Some((at, t));
        let ok = match &expr {
            None => true,
            Some(e) => filter::matches(e, &t.as_trace(), &groups),
        };
        if ok {
            matched.push(summary_json(t));
        }
        if matched.len() == SUMMARY_PAGE {
            break;
        }
    }
    let more = window.next().is_some();
    let mut out = json!({
        "TraceSummaries": matched,
        "ApproximateTime": now().min(end).floor(),
        "TracesProcessedCount": scanned,
    });
    if let (true, Some((at, t))) = (more, last) {
        let cursor = format!("{}/{}", at.to_bits(), t.id);
        out["NextToken"] = Value::String(encode_token("traces", &cursor));
    }
    Ok(out)
}

fn batch_get(r: &Region, body: &Value) -> Value {
    let mut traces = Vec::new();
    let mut unprocessed = Vec::new();
    for id in body
        .get("TraceIds")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
    {
        match r.traces.traces.get(id) {
            Some(t) => {
                let mut v = json!({
                    "Id": t.id,
                    "LimitExceeded": false,
                    "Segments": t.segments.iter().map(|s| json!({ "Id": s.id, "Document": s.document })).collect::<Vec<_>>(),
                });
                if let Some(d) = t.duration() {
                    v["Duration"] = json!(d);
                }
                traces.push(v);
            }
            None => unprocessed.push(Value::String(id.to_owned())),
        }
    }
    json!({ "Traces": traces, "UnprocessedTraceIds": unprocessed })
}

fn service_graph(r: &Region, body: &Value) -> Result<Value, ApiError> {
    let start = time_member(body, "StartTime")?;
    let end = time_member(body, "EndTime")?;
    if end < start {
        return Err(ApiError::invalid("EndTime must not be before StartTime"));
    }
    let groups = Groups::of(r);
    // None: every trace; Some(None): the group's filter does not parse, so no trace.
    let group_expr: Option<Option<Expr>> = {
        let key = body
            .get("GroupARN")
            .and_then(Value::as_str)
            .or_else(|| body.get("GroupName").and_then(Value::as_str));
        match key {
            None => None,
            Some(k) => match groups.find(k) {
                None => return Err(ApiError::invalid("Group not found")),
                Some(Some(None)) => None,
                Some(Some(Some(e))) => Some(Some(e.clone())),
                Some(None) => Some(None),
            },
        }
    };
    let mut nodes: Vec<ServiceKey> = Vec::new();
    let mut roots: Vec<usize> = Vec::new();
    let mut edges: Vec<(usize, usize)> = Vec::new();
    let node = |k: ServiceKey, nodes: &mut Vec<ServiceKey>| -> usize {
        match nodes.iter().position(|n| *n == k) {
            Some(i) => i,
            None => {
                nodes.push(k);
                nodes.len() - 1
            }
        }
    };
    let mut ids: Vec<&String> = r.traces.traces.keys().collect();
    ids.sort();
    for id in ids {
        let t = &r.traces.traces[id];
        if !(start..=end).contains(&t.start()) {
            continue;
        }
        match &group_expr {
            Some(None) => continue,
            Some(Some(e)) if !filter::matches(e, &t.as_trace(), &groups) => continue,
            _ => {}
        }
        // Which top-level segment holds each (sub)segment id, for parent edges.
        let mut owner: HashMap<&str, usize> = HashMap::new();
        for s in t.tops() {
            let me = node(service_of(s), &mut nodes);
            walk(&s.segment, &mut |x| {
                owner.insert(x.id.as_str(), me);
            });
        }
        for s in t.tops() {
            let me = node(service_of(s), &mut nodes);
            match s.segment.parent_id.as_deref().and_then(|p| owner.get(p)) {
                Some(&parent) if parent != me => push_unique(&mut edges, (parent, me)),
                Some(_) => {}
                None => push_unique(&mut roots, me),
            }
            let mut remotes = Vec::new();
            walk(&s.segment, &mut |x| {
                if let Some(k) = remote_service(x) {
                    remotes.push(k);
                }
            });
            for k in remotes {
                let to = node(k, &mut nodes);
                push_unique(&mut edges, (me, to));
            }
        }
    }
    let services: Vec<Value> = nodes
        .iter()
        .enumerate()
        .map(|(i, k)| {
            let mut v = service_id_json(k);
            v["ReferenceId"] = json!(i);
            v["Root"] = json!(roots.contains(&i));
            v["State"] = json!(if k.kind.as_deref() == Some("remote") {
                "unknown"
            } else {
                "active"
            });
            v["StartTime"] = json!(start);
            v["EndTime"] = json!(end);
            v["Edges"] = edges
                .iter()
                .filter(|(from, _)| *from == i)
                .map(|(_, to)| json!({ "ReferenceId": to, "StartTime": start, "EndTime": end }))
                .collect();
            v
        })
        .collect();
    Ok(json!({
        "StartTime": start,
        "EndTime": end,
        "Services": services,
        "ContainsOldGroupVersions": false,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_oldest_traces_go_first_when_the_store_is_full() {
        let mut store = TraceStore::default();
        for i in 0..25u32 {
            let id = format!("1-{:08x}-{:024x}", 1_700_000_000 + i, i);
            store.traces.insert(
                id.clone(),
                StoredTrace {
                    id,
                    ..StoredTrace::default()
                },
            );
        }
        store.evict_beyond(20);
        assert_eq!(store.traces.len(), 18);
        let oldest_kept = store
            .traces
            .keys()
            .map(|id| trace_id_time(id))
            .fold(f64::MAX, f64::min);
        assert_eq!(oldest_kept, 1_700_000_007.0);
        store.evict_beyond(20);
        assert_eq!(store.traces.len(), 18);
    }
}
