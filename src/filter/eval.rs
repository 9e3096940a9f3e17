//! Evaluates a filter expression against one stored trace.
//!
//! X-Ray documents what the keywords mean but not how each is computed over a trace's
//! documents. The choices made here:
//!
//! - A trace's *segments* are its documents whose `type` is not `"subsegment"`; subsegments are
//!   the nested `subsegments` and independent subsegment documents (attached to their parent).
//! - The *root segment* is the earliest-starting segment without a `parent_id`.
//! - `ok` / `error` / `fault` / `throttle`: any segment has the flag (`ok`: none has any of the
//!   three). `partial`: any document is `in_progress` or has no `end_time`. `root`: there is a
//!   root segment. `inferred`: some `aws`/`remote` subsegment calls a service that sent no
//!   segment of its own (X-Ray draws an inferred node for it).
//! - `responsetime`: the root segment's `end_time - start_time`. `duration`: the latest
//!   `end_time` minus the earliest `start_time` over all documents. `http.*`: the root segment's
//!   `http` block. `availabilityzone` / `instance.id`: `aws.ec2.availability_zone` /
//!   `aws.ec2.instance_id` of the root segment. `resource.arn` is never set: the stored segment
//!   type does not keep `resource_arn`.
//! - `user` and `annotation.KEY`: every segment and subsegment is searched.
//! - A keyword with several values (a user on two segments, a service with three segments)
//!   matches `=`, `<`, `CONTAINS`, ... when *any* value does; `!=` matches when the value is set
//!   and *no* value equals the operand. A missing value matches nothing but `!keyword`.
//!   String comparisons are case-sensitive; only the operator words are case-insensitive.
//! - `service("x")`: a segment named `x`, or an `aws`/`remote` subsegment named `x` (an inferred
//!   service). `id(...)` also checks `type` against the segment's `origin` and `account.id`
//!   against `aws.account_id`; for inferred services only `name` is checked. `service()`: any
//!   service. `service("x") { e }`: `e` is evaluated over the segments of `x` only (or its
//!   inferred subsegments when `x` sent none); then `fault`, `responsetime`, `http.status`, ...
//!   are those of x's segments (any of them). `service() { e }`: some service satisfies `e`.
//!   `service()` and `edge()` always look at the whole trace, also inside another block.
//! - `edge("a", "b")`: a segment of `a` has a subsegment (at any depth) named `b`, or a segment
//!   of `b` names a subsegment of `a` as its parent. `edge(..) { e }` evaluates `e` over the
//!   calling subsegments (the client side of the edge).
//! - `group.name = "G"` / `group.arn = "A"`: an unknown group is false, a group without a
//!   filter is true, otherwise the group's own filter is evaluated. A group that refers to
//!   itself (directly or through others), or a chain deeper than 8, evaluates to false.
//! - Root causes are an approximation of X-Ray's analysis: the fault (error) root causes are
//!   the faulting (erroring) entities none of whose children fault (err); the response-time
//!   root cause follows the slowest child from the root segment down to a leaf. The path is
//!   the chain of entities from the root segment to the cause. `rootcause.*.service { e }`:
//!   some segment/inferred service on a path satisfies `e`; `.entity`: some entity on a path;
//!   `.exception`: some exception in the cause's `cause.exceptions` (`name` is its `type`).
//!   Inside the block `name`, `type` (origin), `remote`, `inferred`, `root`, `first`, `last`,
//!   `index` (0-based position on the path), `coverage` (entity time / root response time) and
//!   `message` describe that item; other keywords describe the item's own segment/subsegment.
//! - `rootcause.json = #[ ... ]`: each element must match some root cause written as
//!   `{"Services": [{"Name", "Type", "Inferred", "EntityPath": [{"Name", "Remote"}]}]}`, where an
//!   object matches if every key it gives matches, arrays match element by element and must
//!   have the same length, and other values must be equal.

use std::collections::HashMap;

use serde_json::Value;

use super::GroupLookup;
use super::ast::{
    AnnotationTest, EqOp, Expr, FlagKeyword, GroupKey, NumOp, NumberKeyword, RootCauseKind,
    RootCauseTarget, ServiceRef, StrOp, TextKeyword,
};
use crate::trace::{AnnotationValue, Segment, Trace};

/// How many `group.*` references may be followed inside each other.
const MAX_GROUP_DEPTH: usize = 8;

/// Whether `trace` matches `expr`.
pub fn matches(expr: &Expr, trace: &Trace, groups: &dyn GroupLookup) -> bool {
    let index = Index::new(trace);
    let mut eval = Eval {
        ix: &index,
        groups,
        group_stack: Vec::new(),
        causes: HashMap::new(),
    };
    eval.eval(expr, &Scope::Trace)
}

struct Node<'a> {
    seg: &'a Segment,
    /// A document of the trace (a segment or an independent subsegment).
    is_doc: bool,
    /// A document that is a segment (not a subsegment).
    is_segment: bool,
    /// Parent in the call tree: the containing (sub)segment, or for a document the node its
    /// `parent_id` names.
    parent: Option<usize>,
    /// The segment this node belongs to (itself for a segment).
    owner: Option<usize>,
}

struct Index<'a> {
    nodes: Vec<Node<'a>>,
    children: Vec<Vec<usize>>,
    root: Option<usize>,
}

impl<'a> Index<'a> {
    fn new(trace: &'a Trace) -> Self {
        let mut nodes: Vec<Node<'a>> = Vec::new();
        // (segment, containing node), walked without recursion.
        let mut stack: Vec<(&'a Segment, Option<usize>)> =
            trace.segments.iter().rev().map(|s| (s, None)).collect();
        while let Some((seg, container)) = stack.pop() {
            let me = nodes.len();
            nodes.push(Node {
                seg,
                is_doc: container.is_none(),
                is_segment: container.is_none() && seg.kind.as_deref() != Some("subsegment"),
                parent: container,
                owner: None,
            });
            for sub in seg.subsegments.iter().rev() {
                stack.push((sub, Some(me)));
            }
        }
        let mut by_id: HashMap<&str, usize> = HashMap::new();
        for (i, n) in nodes.iter().enumerate() {
            by_id.entry(n.seg.id.as_str()).or_insert(i);
        }
        // Documents attach to the node their parent_id names.
        let doc_parents: Vec<(usize, usize)> = nodes
            .iter()
            .enumerate()
            .filter(|(_, n)| n.parent.is_none())
            .filter_map(|(i, n)| {
                let p = *by_id.get(n.seg.parent_id.as_deref()?)?;
                (p != i).then_some((i, p))
            })
            .collect();
        for (i, p) in doc_parents {
            nodes[i].parent = Some(p);
        }
        let mut children = vec![Vec::new(); nodes.len()];
        for (i, n) in nodes.iter().enumerate() {
            if let Some(p) = n.parent {
                children[p].push(i);
            }
        }
        // Owners: walk up to the nearest segment, at most nodes.len() steps (cycles).
        for i in 0..nodes.len() {
            let mut at = i;
            let mut owner = None;
            for _ in 0..=nodes.len() {
                if nodes[at].is_segment {
                    owner = Some(at);
                    break;
                }
                match nodes[at].parent {
                    Some(p) => at = p,
                    None => break,
                }
            }
            nodes[i].owner = owner;
        }
        let root = nodes
            .iter()
            .enumerate()
            .filter(|(_, n)| n.is_segment && n.seg.parent_id.is_none())
            .min_by(|a, b| a.1.seg.start_time.total_cmp(&b.1.seg.start_time))
            .map(|(i, _)| i);
        Index {
            nodes,
            children,
            root,
        }
    }

    fn seg(&self, i: usize) -> &'a Segment {
        self.nodes[i].seg
    }

    fn segments(&self) -> impl Iterator<Item = usize> + '_ {
        (0..self.nodes.len()).filter(|&i| self.nodes[i].is_segment)
    }

    /// A subsegment that calls another service (`aws` / `remote` namespace).
    fn is_remote_call(&self, i: usize) -> bool {
        !self.nodes[i].is_segment
            && matches!(self.seg(i).namespace.as_deref(), Some("aws" | "remote"))
    }

    /// A remote call whose callee sent no segment of its own.
    fn is_inferred(&self, i: usize) -> bool {
        self.is_remote_call(i) && !self.children[i].iter().any(|&c| self.nodes[c].is_segment)
    }

    /// `i` and every subsegment below it that belongs to the same segment.
    fn with_subsegments(&self, i: usize) -> Vec<usize> {
        let mut out = Vec::new();
        let mut stack = vec![i];
        while let Some(n) = stack.pop() {
            if out.len() > self.nodes.len() {
                break;
            }
            out.push(n);
            for &c in &self.children[n] {
                if !self.nodes[c].is_segment {
                    stack.push(c);
                }
            }
        }
        out
    }

    /// The chain from the top of the call tree down to `i`.
    fn path_to(&self, i: usize) -> Vec<usize> {
        let mut path = vec![i];
        let mut at = i;
        while let Some(p) = self.nodes[at].parent {
            if path.len() > self.nodes.len() {
                break;
            }
            path.push(p);
            at = p;
        }
        path.reverse();
        path
    }

    fn response_time(&self, i: usize) -> Option<f64> {
        let s = self.seg(i);
        Some(s.end_time? - s.start_time)
    }
}

/// What keywords describe at a point of the expression.
#[derive(Clone)]
enum Scope {
    /// The whole trace.
    Trace,
    /// Some segments/subsegments (a service's, or an edge's calls).
    Nodes(Vec<usize>),
    /// One item of a root cause.
    Cause(Cause),
}

#[derive(Clone, Default)]
struct Cause {
    node: Option<usize>,
    name: Option<String>,
    kind: Option<String>,
    message: Option<String>,
    remote: bool,
    inferred: bool,
    root: bool,
    first: bool,
    last: bool,
    index: f64,
    coverage: Option<f64>,
}

struct Eval<'i, 'a> {
    ix: &'i Index<'a>,
    groups: &'i dyn GroupLookup,
    group_stack: Vec<String>,
    /// Root-cause paths per kind, computed on first use.
    causes: HashMap<u8, Vec<Vec<usize>>>,
}

fn compare_num(value: f64, op: NumOp, operand: f64) -> bool {
    match op {
        NumOp::Eq => value == operand,
        NumOp::Ne => value != operand,
        NumOp::Lt => value < operand,
        NumOp::Le => value <= operand,
        NumOp::Gt => value > operand,
        NumOp::Ge => value >= operand,
    }
}

/// Any-value semantics; `!=` means "set, and no value equals".
fn any_num(values: &[f64], op: NumOp, operand: f64) -> bool {
    match op {
        NumOp::Ne => !values.is_empty() && !values.contains(&operand),
        _ => values.iter().any(|&v| compare_num(v, op, operand)),
    }
}

fn any_str(values: &[&str], op: StrOp, operand: &str) -> bool {
    match op {
        StrOp::Eq => values.contains(&operand),
        StrOp::Ne => !values.is_empty() && !values.contains(&operand),
        StrOp::Contains => values.iter().any(|v| v.contains(operand)),
        StrOp::BeginsWith => values.iter().any(|v| v.starts_with(operand)),
        StrOp::EndsWith => values.iter().any(|v| v.ends_with(operand)),
    }
}

fn any_bool(values: &[bool], op: EqOp, operand: bool) -> bool {
    match op {
        EqOp::Eq => values.contains(&operand),
        EqOp::Ne => !values.is_empty() && !values.contains(&operand),
    }
}

fn ec2_field<'s>(seg: &'s Segment, field: &str) -> Option<&'s str> {
    seg.aws.as_ref()?.get("ec2")?.get(field)?.as_str()
}

fn account_id(seg: &Segment) -> Option<&str> {
    seg.aws.as_ref()?.get("account_id")?.as_str()
}

impl Eval<'_, '_> {
    fn eval(&mut self, e: &Expr, scope: &Scope) -> bool {
        match e {
            Expr::Or(items) => items.iter().any(|i| self.eval(i, scope)),
            Expr::And(items) => items.iter().all(|i| self.eval(i, scope)),
            Expr::Not(inner) => !self.eval(inner, scope),
            Expr::Flag { keyword, test } => {
                let values = self.flag_values(*keyword, scope);
                match test {
                    None => values.contains(&true),
                    Some((op, v)) => any_bool(&values, *op, *v),
                }
            }
            Expr::Number { keyword, op, value } => {
                any_num(&self.number_values(*keyword, scope), *op, *value)
            }
            Expr::Text { keyword, test } => {
                let values = self.text_values(*keyword, scope);
                let values: Vec<&str> = values.iter().map(String::as_str).collect();
                match test {
                    None => !values.is_empty(),
                    Some((op, v)) => any_str(&values, *op, v),
                }
            }
            Expr::Annotation { key, test } => self.annotation(key, test.as_ref(), scope),
            Expr::Service { service, filter } => self.service(service.as_ref(), filter),
            Expr::Edge { from, to, filter } => {
                let calls = self.edge_calls(from, to);
                match filter {
                    None => !calls.is_empty(),
                    Some(f) => !calls.is_empty() && self.eval(f, &Scope::Nodes(calls)),
                }
            }
            Expr::Group { by, value } => self.group(*by, value),
            Expr::RootCause {
                kind,
                target,
                filter,
            } => {
                let items = self.cause_items(*kind, *target);
                match filter {
                    None => !items.is_empty(),
                    Some(f) => items
                        .into_iter()
                        .any(|item| self.eval(f, &Scope::Cause(item))),
                }
            }
            Expr::RootCauseJson(pattern) => self.rootcause_json(pattern),
        }
    }

    /// The nodes whose flags and fields a keyword reads in `scope`.
    fn flag_nodes(&self, scope: &Scope) -> Vec<usize> {
        match scope {
            Scope::Trace => self.ix.segments().collect(),
            Scope::Nodes(v) => v.clone(),
            Scope::Cause(c) => c.node.into_iter().collect(),
        }
    }

    /// The node(s) that carry the request: the root segment for the trace.
    fn primary_nodes(&self, scope: &Scope) -> Vec<usize> {
        match scope {
            Scope::Trace => self.ix.root.into_iter().collect(),
            other => self.flag_nodes(other),
        }
    }

    fn flag_values(&self, keyword: FlagKeyword, scope: &Scope) -> Vec<bool> {
        let ix = self.ix;
        if let Scope::Cause(c) = scope {
            match keyword {
                FlagKeyword::First => return vec![c.first],
                FlagKeyword::Last => return vec![c.last],
                FlagKeyword::Remote => return vec![c.remote],
                FlagKeyword::Inferred => return vec![c.inferred],
                FlagKeyword::Root => return vec![c.root],
                _ => {}
            }
        }
        let nodes = self.flag_nodes(scope);
        let any = |f: &dyn Fn(&Segment) -> bool| nodes.iter().any(|&i| f(ix.seg(i)));
        let value = match keyword {
            FlagKeyword::Ok => !any(&|s| s.error || s.fault || s.throttle),
            FlagKeyword::Error => any(&|s| s.error),
            FlagKeyword::Fault => any(&|s| s.fault),
            FlagKeyword::Throttle => any(&|s| s.throttle),
            FlagKeyword::Partial => match scope {
                Scope::Trace => ix
                    .nodes
                    .iter()
                    .filter(|n| n.is_doc)
                    .any(|n| n.seg.in_progress || n.seg.end_time.is_none()),
                _ => any(&|s| s.in_progress || s.end_time.is_none()),
            },
            FlagKeyword::Inferred => match scope {
                Scope::Trace => (0..ix.nodes.len()).any(|i| ix.is_inferred(i)),
                _ => nodes.iter().any(|&i| ix.is_inferred(i)),
            },
            FlagKeyword::Root => match scope {
                Scope::Trace => ix.root.is_some(),
                _ => nodes
                    .iter()
                    .any(|&i| ix.nodes[i].is_segment && ix.seg(i).parent_id.is_none()),
            },
            // Root-cause-only keywords outside a root cause (the parser rejects these).
            FlagKeyword::First | FlagKeyword::Last | FlagKeyword::Remote => false,
        };
        vec![value]
    }

    fn number_values(&self, keyword: NumberKeyword, scope: &Scope) -> Vec<f64> {
        let ix = self.ix;
        match keyword {
            NumberKeyword::ResponseTime => self
                .primary_nodes(scope)
                .into_iter()
                .filter_map(|i| ix.response_time(i))
                .collect(),
            NumberKeyword::Duration => {
                let nodes: Vec<usize> = match scope {
                    Scope::Trace => (0..ix.nodes.len())
                        .filter(|&i| ix.nodes[i].is_doc)
                        .collect(),
                    other => self.flag_nodes(other),
                };
                let start = nodes
                    .iter()
                    .map(|&i| ix.seg(i).start_time)
                    .min_by(f64::total_cmp);
                let end = nodes
                    .iter()
                    .filter_map(|&i| ix.seg(i).end_time)
                    .max_by(f64::total_cmp);
                match (start, end) {
                    (Some(s), Some(e)) => vec![e - s],
                    _ => Vec::new(),
                }
            }
            NumberKeyword::HttpStatus => self
                .primary_nodes(scope)
                .into_iter()
                .filter_map(|i| ix.seg(i).http.as_ref()?.response.as_ref()?.status)
                .map(f64::from)
                .collect(),
            NumberKeyword::Index => match scope {
                Scope::Cause(c) => vec![c.index],
                _ => Vec::new(),
            },
            NumberKeyword::Coverage => match scope {
                Scope::Cause(c) => c.coverage.into_iter().collect(),
                _ => Vec::new(),
            },
        }
    }

    fn text_values(&self, keyword: TextKeyword, scope: &Scope) -> Vec<String> {
        let ix = self.ix;
        if let Scope::Cause(c) = scope {
            match keyword {
                TextKeyword::Name => return c.name.clone().into_iter().collect(),
                TextKeyword::Type => return c.kind.clone().into_iter().collect(),
                TextKeyword::Message => return c.message.clone().into_iter().collect(),
                _ => {}
            }
        }
        let primary = self.primary_nodes(scope);
        let request = |f: &dyn Fn(&crate::trace::HttpRequest) -> Option<&String>| -> Vec<String> {
            primary
                .iter()
                .filter_map(|&i| f(ix.seg(i).http.as_ref()?.request.as_ref()?).cloned())
                .collect()
        };
        match keyword {
            TextKeyword::HttpUrl => request(&|r| r.url.as_ref()),
            TextKeyword::HttpMethod => request(&|r| r.method.as_ref()),
            TextKeyword::HttpUserAgent => request(&|r| r.user_agent.as_ref()),
            TextKeyword::HttpClientIp => request(&|r| r.client_ip.as_ref()),
            TextKeyword::User => {
                let nodes: Vec<usize> = match scope {
                    Scope::Trace => (0..ix.nodes.len()).collect(),
                    other => self.flag_nodes(other),
                };
                nodes
                    .iter()
                    .filter_map(|&i| ix.seg(i).user.clone())
                    .collect()
            }
            TextKeyword::AvailabilityZone => primary
                .iter()
                .filter_map(|&i| ec2_field(ix.seg(i), "availability_zone").map(str::to_string))
                .collect(),
            TextKeyword::InstanceId => primary
                .iter()
                .filter_map(|&i| ec2_field(ix.seg(i), "instance_id").map(str::to_string))
                .collect(),
            TextKeyword::Name | TextKeyword::Type | TextKeyword::Message => Vec::new(),
            TextKeyword::ResourceArn => Vec::new(),
        }
    }

    fn annotation(&self, key: &str, test: Option<&AnnotationTest>, scope: &Scope) -> bool {
        let ix = self.ix;
        let nodes: Vec<usize> = match scope {
            Scope::Trace => (0..ix.nodes.len()).collect(),
            other => self
                .flag_nodes(other)
                .into_iter()
                .flat_map(|i| ix.with_subsegments(i))
                .collect(),
        };
        let values: Vec<&AnnotationValue> = nodes
            .iter()
            .filter_map(|&i| ix.seg(i).annotations.get(key))
            .collect();
        match test {
            None => !values.is_empty(),
            Some(AnnotationTest::Number(op, n)) => {
                let nums: Vec<f64> = values
                    .iter()
                    .filter_map(|v| match v {
                        AnnotationValue::Number(x) => Some(*x),
                        _ => None,
                    })
                    .collect();
                any_num(&nums, *op, *n)
            }
            Some(AnnotationTest::Text(op, s)) => {
                let strs: Vec<&str> = values
                    .iter()
                    .filter_map(|v| match v {
                        AnnotationValue::String(x) => Some(x.as_str()),
                        _ => None,
                    })
                    .collect();
                any_str(&strs, *op, s)
            }
            Some(AnnotationTest::Bool(op, b)) => {
                let bools: Vec<bool> = values
                    .iter()
                    .filter_map(|v| match v {
                        AnnotationValue::Bool(x) => Some(*x),
                        _ => None,
                    })
                    .collect();
                any_bool(&bools, *op, *b)
            }
        }
    }

    fn segment_matches(&self, i: usize, svc: &ServiceRef) -> bool {
        let seg = self.ix.seg(i);
        match svc {
            ServiceRef::Name(n) => seg.name == *n,
            ServiceRef::Id {
                name,
                kind,
                account_id: account,
            } => {
                name.as_ref().is_none_or(|n| seg.name == *n)
                    && kind
                        .as_ref()
                        .is_none_or(|k| seg.origin.as_deref() == Some(k.as_str()))
                    && account
                        .as_ref()
                        .is_none_or(|a| account_id(seg) == Some(a.as_str()))
            }
        }
    }

    /// The segments of `svc`, or its inferred calls when it sent no segment.
    fn service_nodes(&self, svc: &ServiceRef) -> Vec<usize> {
        let ix = self.ix;
        let segments: Vec<usize> = ix
            .segments()
            .filter(|&i| self.segment_matches(i, svc))
            .collect();
        if !segments.is_empty() {
            return segments;
        }
        // Inferred only when the service sent no segment at all under that name.
        match svc.name() {
            Some(n) if !ix.segments().any(|i| ix.seg(i).name == n) => (0..ix.nodes.len())
                .filter(|&i| ix.is_remote_call(i) && ix.seg(i).name == n)
                .collect(),
            _ => Vec::new(),
        }
    }

    fn service(&mut self, service: Option<&ServiceRef>, filter: &Option<Box<Expr>>) -> bool {
        let groups: Vec<Vec<usize>> = match service {
            Some(svc) => vec![self.service_nodes(svc)],
            None => {
                let ix = self.ix;
                let mut names: Vec<&str> = Vec::new();
                for i in 0..ix.nodes.len() {
                    if (ix.nodes[i].is_segment || ix.is_remote_call(i))
                        && !names.contains(&ix.seg(i).name.as_str())
                    {
                        names.push(&ix.seg(i).name);
                    }
                }
                names
                    .into_iter()
                    .map(|n| self.service_nodes(&ServiceRef::Name(n.to_string())))
                    .collect()
            }
        };
        groups
            .into_iter()
            .filter(|g| !g.is_empty())
            .any(|g| match filter {
                None => true,
                Some(f) => self.eval(f, &Scope::Nodes(g)),
            })
    }

    fn edge_calls(&self, from: &ServiceRef, to: &ServiceRef) -> Vec<usize> {
        let ix = self.ix;
        let callers: Vec<usize> = ix
            .segments()
            .filter(|&i| self.segment_matches(i, from))
            .collect();
        let mut calls = Vec::new();
        for &caller in &callers {
            for sub in ix.with_subsegments(caller) {
                if sub == caller {
                    continue;
                }
                let by_name = to.name().is_some_and(|n| ix.seg(sub).name == n);
                let by_child = ix.children[sub]
                    .iter()
                    .any(|&c| ix.nodes[c].is_segment && self.segment_matches(c, to));
                if (by_name || by_child) && !calls.contains(&sub) {
                    calls.push(sub);
                }
            }
        }
        calls
    }

    fn group(&mut self, by: GroupKey, value: &str) -> bool {
        let key = format!("{by}:{value}");
        if self.group_stack.contains(&key) || self.group_stack.len() >= MAX_GROUP_DEPTH {
            return false;
        }
        match self.groups.group_filter(value) {
            None => false,
            Some(None) => true,
            Some(Some(expr)) => {
                self.group_stack.push(key);
                let result = self.eval(&expr, &Scope::Trace);
                self.group_stack.pop();
                result
            }
        }
    }

    /// Paths from the top of the call tree to each root cause of `kind`.
    fn cause_paths(&mut self, kind: RootCauseKind) -> Vec<Vec<usize>> {
        let tag = kind as u8;
        if let Some(p) = self.causes.get(&tag) {
            return p.clone();
        }
        let ix = self.ix;
        let paths = match kind {
            RootCauseKind::Fault | RootCauseKind::Error => {
                let flag = |i: usize| {
                    let s = ix.seg(i);
                    if kind == RootCauseKind::Fault {
                        s.fault
                    } else {
                        s.error || s.throttle
                    }
                };
                (0..ix.nodes.len())
                    .filter(|&i| flag(i) && !ix.children[i].iter().any(|&c| flag(c)))
                    .map(|i| ix.path_to(i))
                    .collect()
            }
            RootCauseKind::ResponseTime => match ix.root {
                None => Vec::new(),
                Some(root) => {
                    let mut path = vec![root];
                    let mut at = root;
                    while path.len() <= ix.nodes.len() {
                        let slowest = ix.children[at]
                            .iter()
                            .copied()
                            .filter(|&c| ix.response_time(c).is_some())
                            .max_by(|&a, &b| {
                                let (x, y) = (ix.response_time(a), ix.response_time(b));
                                x.unwrap_or(0.0).total_cmp(&y.unwrap_or(0.0))
                            });
                        match slowest {
                            Some(c) if !path.contains(&c) => {
                                path.push(c);
                                at = c;
                            }
                            _ => break,
                        }
                    }
                    vec![path]
                }
            },
        };
        self.causes.insert(tag, paths.clone());
        paths
    }

    /// The services on a path: segments, and a remote call at the end as an inferred service.
    fn path_services(&self, path: &[usize]) -> Vec<(usize, Vec<usize>)> {
        let ix = self.ix;
        let mut out: Vec<(usize, Vec<usize>)> = Vec::new();
        for &n in path {
            let owner = if ix.is_inferred(n) {
                Some(n)
            } else {
                ix.nodes[n].owner
            };
            let Some(owner) = owner else { continue };
            match out.last_mut() {
                Some((o, entities)) if *o == owner => entities.push(n),
                _ => out.push((owner, vec![n])),
            }
        }
        out
    }

    fn cause_items(&mut self, kind: RootCauseKind, target: RootCauseTarget) -> Vec<Cause> {
        let ix = self.ix;
        let root_time = ix.root.and_then(|r| ix.response_time(r));
        let mut items = Vec::new();
        for path in self.cause_paths(kind) {
            match target {
                RootCauseTarget::Service => {
                    let services = self.path_services(&path);
                    let len = services.len();
                    for (i, (owner, _)) in services.into_iter().enumerate() {
                        let seg = ix.seg(owner);
                        items.push(Cause {
                            node: Some(owner),
                            name: Some(seg.name.clone()),
                            kind: seg.origin.clone(),
                            remote: ix.is_remote_call(owner),
                            inferred: ix.is_inferred(owner),
                            root: Some(owner) == ix.root,
                            first: i == 0,
                            last: i + 1 == len,
                            index: i as f64,
                            ..Cause::default()
                        });
                    }
                }
                RootCauseTarget::Entity => {
                    let len = path.len();
                    for (i, &n) in path.iter().enumerate() {
                        let seg = ix.seg(n);
                        items.push(Cause {
                            node: Some(n),
                            name: Some(seg.name.clone()),
                            kind: seg.origin.clone(),
                            remote: ix.is_remote_call(n),
                            inferred: ix.is_inferred(n),
                            root: Some(n) == ix.root,
                            first: i == 0,
                            last: i + 1 == len,
                            index: i as f64,
                            coverage: match (ix.response_time(n), root_time) {
                                (Some(t), Some(r)) if r > 0.0 => Some(t / r),
                                _ => None,
                            },
                            ..Cause::default()
                        });
                    }
                }
                RootCauseTarget::Exception => {
                    let Some(&n) = path.last() else { continue };
                    let exceptions = ix
                        .seg(n)
                        .cause
                        .as_ref()
                        .and_then(|c| c.get("exceptions"))
                        .and_then(Value::as_array);
                    let list = exceptions.map(Vec::as_slice).unwrap_or_default();
                    let len = list.len();
                    for (i, ex) in list.iter().enumerate() {
                        let text = |k: &str| ex.get(k).and_then(Value::as_str).map(str::to_string);
                        items.push(Cause {
                            node: Some(n),
                            name: text("type").or_else(|| text("name")),
                            kind: text("type"),
                            message: text("message"),
                            remote: ex.get("remote").and_then(Value::as_bool).unwrap_or(false),
                            first: i == 0,
                            last: i + 1 == len,
                            index: i as f64,
                            ..Cause::default()
                        });
                    }
                }
            }
        }
        items
    }

    fn rootcause_json(&mut self, pattern: &Value) -> bool {
        let ix = self.ix;
        let mut actual: Vec<Value> = Vec::new();
        for kind in RootCauseKind::ALL {
            for path in self.cause_paths(*kind) {
                let services: Vec<Value> = self
                    .path_services(&path)
                    .into_iter()
                    .map(|(owner, entities)| {
                        let seg = ix.seg(owner);
                        let mut svc = serde_json::Map::new();
                        svc.insert("Name".into(), Value::from(seg.name.clone()));
                        if let Some(t) = &seg.origin {
                            svc.insert("Type".into(), Value::from(t.clone()));
                        }
                        svc.insert("Inferred".into(), Value::from(ix.is_inferred(owner)));
                        let path: Vec<Value> = entities
                            .iter()
                            .map(|&e| {
                                serde_json::json!({
                                    "Name": ix.seg(e).name,
                                    "Remote": ix.is_remote_call(e),
                                })
                            })
                            .collect();
                        svc.insert("EntityPath".into(), Value::from(path));
                        Value::Object(svc)
                    })
                    .collect();
                actual.push(serde_json::json!({ "Services": services }));
            }
        }
        let wanted: Vec<&Value> = match pattern {
            Value::Array(items) => items.iter().collect(),
            other => vec![other],
        };
        !wanted.is_empty()
            && wanted
                .iter()
                .all(|w| actual.iter().any(|a| json_subset(w, a)))
    }
}

/// `pattern` matches `actual`: objects by the keys the pattern gives, arrays element-wise with
/// equal length, numbers by value, everything else by equality.
fn json_subset(pattern: &Value, actual: &Value) -> bool {
    match (pattern, actual) {
        (Value::Object(p), Value::Object(a)) => p
            .iter()
            .all(|(k, v)| a.get(k).is_some_and(|av| json_subset(v, av))),
        (Value::Array(p), Value::Array(a)) => {
            p.len() == a.len() && p.iter().zip(a).all(|(x, y)| json_subset(x, y))
        }
        (Value::Number(p), Value::Number(a)) => p.as_f64() == a.as_f64(),
        (p, a) => p == a,
    }
}
