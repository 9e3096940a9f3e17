//! Warnings about set-ups that quietly produce no traces: a misspelt service name, a group
//! that matches nothing, no traces at all (with the likely causes in order), and sampling
//! rules that can never match.
//!
//! Codes (stable; scripts may match on them):
//! - `service-name-typo`: a group filter or a rule's ServiceName names a service that sent
//!   no traces while a similar name did.
//! - `group-empty`: a group matched none of the window's traces.
//! - `no-traces`: the window has no traces at all; followed by the likely causes, most
//!   likely first: `transaction-search`, `region`, `credentials`, `no-matching-rule`.
//! - `transaction-search` (info when there are traces): spans go to CloudWatch Logs and
//!   only the indexed share becomes trace summaries.
//! - `rule-has-attributes`, `rule-resource-arn`, `rule-shadowed`: a rule that can never match.
//! - `trace-not-in-group`: a `--trace-id` exists but is not among a `--group`'s traces.
//! - `destination-unknown`, `service-graph-unavailable` (info): a read that only feeds the
//!   diagnostics failed; verify goes on without it.

use std::collections::BTreeSet;

use serde::Serialize;

use crate::spec::{DEFAULT_NAME, SamplingRule};
use crate::verify::Plan;
use crate::verify::fetch::Snapshot;
use crate::verify::glob;
use crate::xray::{IndexingRule, SegmentDestination};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Warning,
    Info,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Diagnostic {
    pub level: Level,
    pub code: &'static str,
    pub message: String,
    /// One of the likely causes listed after `no-traces` (text output numbers them).
    #[serde(skip)]
    pub cause: bool,
}

impl Diagnostic {
    fn warn(code: &'static str, message: String) -> Diagnostic {
        Diagnostic {
            level: Level::Warning,
            code,
            message,
            cause: false,
        }
    }
    fn cause(code: &'static str, message: String) -> Diagnostic {
        Diagnostic {
            cause: true,
            ..Diagnostic::warn(code, message)
        }
    }
    fn info(code: &'static str, message: String) -> Diagnostic {
        Diagnostic {
            level: Level::Info,
            code,
            message,
            cause: false,
        }
    }
}

/// What the diagnostics read beyond the snapshot. Reads that failed carry their error text.
#[derive(Debug, Clone, Default)]
pub struct Context {
    /// The region verify reads, when known.
    pub region: Option<String>,
    pub destination: Option<Result<SegmentDestination, String>>,
    /// Read only when the destination is CloudWatchLogs.
    pub indexing_rules: Option<Result<Vec<IndexingRule>, String>>,
    pub service_graph: Option<Result<Vec<String>, String>>,
}

/// Every diagnostic for this snapshot, most important first.
pub fn diagnose(plan: &Plan, snap: &Snapshot, ctx: &Context) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let when = plan.window.describe();
    let mut known: BTreeSet<&str> = snap.all.services.keys().map(String::as_str).collect();
    if let Some(Ok(names)) = &ctx.service_graph {
        known.extend(names.iter().map(String::as_str));
    }

    if snap.all.count == 0 {
        no_traces(&mut out, snap, ctx, &when);
    } else if let Some(Ok(d)) = &ctx.destination
        && d.is_cloudwatch_logs()
    {
        out.push(Diagnostic::info(
            "transaction-search",
            format!(
                "the trace segment destination is CloudWatchLogs (Transaction Search): these counts cover only the indexed share of spans{}",
                indexed_share(ctx)
            ),
        ));
    }
    if let Some(Err(e)) = &ctx.destination {
        out.push(Diagnostic::info(
            "destination-unknown",
            format!("could not read the trace segment destination ({e})"),
        ));
    }

    // (a) a service name that sent nothing while a similar one did.
    for g in &snap.groups {
        let Some(expr) = g.filter_expression.as_deref() else {
            continue;
        };
        for svc in referenced_services(expr) {
            if known.contains(svc.as_str()) {
                continue;
            }
            if let Some(near) = closest(&svc, known.iter().copied()) {
                out.push(Diagnostic::warn(
                    "service-name-typo",
                    format!(
                        "group {} filters on service {svc:?}, which sent no traces; did you mean {near:?}?",
                        g.name
                    ),
                ));
            }
        }
    }
    for r in &snap.rules {
        let svc = &r.rule.service_name;
        if svc.is_empty() || glob::has_wildcard(svc) || known.contains(svc.as_str()) {
            continue;
        }
        if let Some(near) = closest(svc, known.iter().copied()) {
            out.push(Diagnostic::warn(
                "service-name-typo",
                format!(
                    "sampling rule {:?} is for service {svc:?}, which sent no traces; did you mean {near:?}?",
                    rule_name(&r.rule)
                ),
            ));
        }
    }

    // (b) a group that matches nothing while other traces arrive.
    if snap.all.count > 0 {
        for g in &snap.groups {
            if g.name == DEFAULT_NAME {
                continue;
            }
            if snap.by_group.get(&g.name).is_some_and(|s| s.count == 0) {
                let filter = g
                    .filter_expression
                    .as_deref()
                    .map(|f| format!(" (filter: {f})"))
                    .unwrap_or_default();
                out.push(Diagnostic::warn(
                    "group-empty",
                    format!(
                        "group {} matched none of the {} traces {when}{filter}",
                        g.name, snap.all.count
                    ),
                ));
            }
        }
    }

    // (d) rules that can never match.
    let rules: Vec<&SamplingRule> = snap.rules.iter().map(|r| &r.rule).collect();
    out.extend(unreachable_rules(&rules));

    // A --trace-id that exists but is not in a --group.
    for id in &plan.trace_ids {
        if !snap.found_trace_ids.contains(id) {
            continue;
        }
        for g in &plan.groups {
            if let Some(s) = snap.by_group.get(g)
                && !s.seen_ids.contains(id)
            {
                out.push(Diagnostic::warn(
                    "trace-not-in-group",
                    format!("trace {id} exists but is not among the traces of group {g} {when}"),
                ));
            }
        }
    }
    if let Some(Err(e)) = &ctx.service_graph {
        out.push(Diagnostic::info(
            "service-graph-unavailable",
            format!("could not read the service graph ({e}); service names come from trace summaries only"),
        ));
    }
    out
}

fn no_traces(out: &mut Vec<Diagnostic>, snap: &Snapshot, ctx: &Context, when: &str) {
    let region = ctx.region.as_deref();
    out.push(Diagnostic::warn(
        "no-traces",
        format!(
            "no traces {when}{}; likely causes, most likely first:",
            region.map(|r| format!(" in {r}")).unwrap_or_default()
        ),
    ));
    if let Some(Ok(d)) = &ctx.destination
        && d.is_cloudwatch_logs()
    {
        out.push(Diagnostic::cause(
            "transaction-search",
            format!(
                "the trace segment destination is CloudWatchLogs (Transaction Search), so only the indexed share of spans becomes trace summaries{}; raise it with aws xray update-indexing-rule, or look in CloudWatch Logs (aws/spans)",
                indexed_share(ctx)
            ),
        ));
    }
    out.push(Diagnostic::cause(
        "region",
        match region {
            Some(r) => format!(
                "region mismatch: verify reads {r}; the app's SDK and the X-Ray daemon must send to {r} too (check AWS_REGION and AWS_DEFAULT_REGION in their environment, or the daemon's --region)"
            ),
            None => "region mismatch: verify reads the region of the AWS profile; the app's SDK and the X-Ray daemon must send to the same one (check AWS_REGION and AWS_DEFAULT_REGION in their environment, or the daemon's --region)".to_owned(),
        },
    ));
    out.push(Diagnostic::cause(
        "credentials",
        "credentials: the X-Ray daemon or the SDK may have no credentials or no xray:PutTraceSegments permission (its log shows NoCredentialProviders, UnrecognizedClientException or AccessDeniedException)".to_owned(),
    ));
    if let Some(message) = sampling_gap(&snap.rules.iter().map(|r| &r.rule).collect::<Vec<_>>()) {
        out.push(Diagnostic::cause("no-matching-rule", message));
    }
}

/// " (rule \"Default\" indexes 1%)" from the indexing rules, or why they are unknown.
fn indexed_share(ctx: &Context) -> String {
    match &ctx.indexing_rules {
        Some(Ok(rules)) if !rules.is_empty() => {
            let parts: Vec<String> = rules
                .iter()
                .map(|r| match r.desired_sampling_percentage {
                    Some(p) => format!("rule {:?} indexes {}%", r.name, trim_number(p)),
                    None => format!("rule {:?} sets no percentage", r.name),
                })
                .collect();
            format!(" ({})", parts.join(", "))
        }
        Some(Ok(_)) => " (no indexing rules are set)".to_owned(),
        Some(Err(e)) => format!(" (the indexing rules could not be read: {e})"),
        None => String::new(),
    }
}

fn trim_number(x: f64) -> String {
    if (x - x.round()).abs() < 1e-9 {
        format!("{}", x.round())
    } else {
        format!("{x}")
    }
}

fn rule_name(r: &SamplingRule) -> &str {
    r.rule_name.as_deref().unwrap_or("(unnamed)")
}

/// Whether the SDKs can use the rule at all.
fn usable(r: &SamplingRule) -> bool {
    r.attributes.is_empty() && r.resource_arn == "*"
}

fn samples(r: &SamplingRule) -> bool {
    r.fixed_rate > 0.0 || r.reservoir_size > 0
}

fn all_stars(p: &str) -> bool {
    !p.is_empty() && p.chars().all(|c| c == '*')
}

/// Why requests may go unsampled: the first usable rule that matches every request (in
/// evaluation order) samples none of them. `rules` is in evaluation order.
fn sampling_gap(rules: &[&SamplingRule]) -> Option<String> {
    let catch_all = |r: &SamplingRule| {
        [
            &r.service_name,
            &r.service_type,
            &r.host,
            &r.http_method,
            &r.url_path,
        ]
        .iter()
        .all(|m| all_stars(m))
    };
    let position = rules.iter().position(|r| usable(r) && catch_all(r));
    if let Some(i) = position
        && samples(rules[i])
    {
        return None;
    }
    let before = &rules[..position.unwrap_or(rules.len())];
    let sampling: Vec<String> = before
        .iter()
        .filter(|r| usable(r) && samples(r))
        .map(|r| describe_matchers(r))
        .collect();
    let head = match position {
        Some(i) => format!(
            "sampling rule {:?} (priority {}) matches every request and samples none (FixedRate 0, ReservoirSize 0)",
            rule_name(rules[i]),
            rules[i].priority
        ),
        None => "no sampling rule matches every request".to_owned(),
    };
    Some(if sampling.is_empty() {
        format!("{head}, and no rule before it samples anything: no request is traced")
    } else {
        format!(
            "{head}; only requests matching {} are traced, so if the app reports another service name, nothing is",
            sampling.join(" or ")
        )
    })
}

/// `rule "flask" (ServiceName "backend-flask", URLPath "/api/*")`: the non-`*` matchers.
fn describe_matchers(r: &SamplingRule) -> String {
    let parts: Vec<String> = [
        ("ServiceName", &r.service_name),
        ("ServiceType", &r.service_type),
        ("Host", &r.host),
        ("HTTPMethod", &r.http_method),
        ("URLPath", &r.url_path),
    ]
    .iter()
    .filter(|(_, v)| !all_stars(v))
    .map(|(k, v)| format!("{k} {v:?}"))
    .collect();
    format!("rule {:?} ({})", rule_name(r), parts.join(", "))
}

/// Rules the X-Ray SDKs will never apply. `rules` is in evaluation order (priority, name).
pub fn unreachable_rules(rules: &[&SamplingRule]) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for (i, r) in rules.iter().enumerate() {
        let name = rule_name(r);
        if !r.attributes.is_empty() {
            out.push(Diagnostic::warn(
                "rule-has-attributes",
                format!("sampling rule {name:?} can never match: it has Attributes, and the X-Ray SDKs skip rules with Attributes"),
            ));
            continue;
        }
        if r.resource_arn != "*" {
            out.push(Diagnostic::warn(
                "rule-resource-arn",
                format!(
                    "sampling rule {name:?} can never match: its ResourceARN is {:?}, and the X-Ray SDKs only use rules whose ResourceARN is \"*\"",
                    r.resource_arn
                ),
            ));
            continue;
        }
        if name == DEFAULT_NAME {
            // The Default rule is the intended fallback; a catch-all before it is normal.
            continue;
        }
        let shadow = rules[..i].iter().find(|a| {
            usable(a)
                && a.priority <= r.priority
                && glob::subsumes(&a.service_name, &r.service_name)
                && glob::subsumes(&a.service_type, &r.service_type)
                && glob::subsumes(&a.host, &r.host)
                && glob::subsumes(&a.http_method, &r.http_method)
                && glob::subsumes(&a.url_path, &r.url_path)
        });
        if let Some(a) = shadow {
            out.push(Diagnostic::warn(
                "rule-shadowed",
                format!(
                    "sampling rule {name:?} (priority {}) can never match: rule {:?} (priority {}) is evaluated first and matches every request it matches",
                    r.priority,
                    rule_name(a),
                    a.priority
                ),
            ));
        }
    }
    out
}

/// Service names a group filter refers to. Uses the filter parser; when it rejects the
/// expression, a small scan for `service("…")` and `edge("…", "…")` stands in, so the
/// typo check works for plain expressions either way.
pub fn referenced_services(expr: &str) -> Vec<String> {
    match crate::filter::parse(expr) {
        Ok(parsed) => crate::filter::referenced_services(&parsed),
        Err(_) => scan_services(expr),
    }
}

/// The fallback: quoted names directly inside `service(` or `edge(` (case-insensitive, not
/// part of a longer word). `id(...)` arguments are skipped.
fn scan_services(expr: &str) -> Vec<String> {
    let lower = expr.to_ascii_lowercase();
    let bytes = expr.as_bytes();
    let mut out = Vec::new();
    for keyword in ["service(", "edge("] {
        let mut from = 0;
        while let Some(pos) = lower[from..].find(keyword) {
            let at = from + pos;
            from = at + keyword.len();
            if at > 0
                && (bytes[at - 1].is_ascii_alphanumeric() || matches!(bytes[at - 1], b'_' | b'.'))
            {
                continue;
            }
            let mut rest = &expr[from..];
            loop {
                rest = rest.trim_start();
                let Some(after_quote) = rest.strip_prefix('"') else {
                    break;
                };
                let Some((name, tail)) = quoted(after_quote) else {
                    break;
                };
                out.push(name);
                rest = tail.trim_start();
                match rest.strip_prefix(',') {
                    Some(t) => rest = t,
                    None => break,
                }
            }
        }
    }
    out
}

/// The content of a double-quoted string (opening quote already consumed), with `\"` and
/// `\\` unescaped, and the text after the closing quote.
fn quoted(s: &str) -> Option<(String, &str)> {
    let mut out = String::new();
    let mut chars = s.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return Some((out, &s[i + 1..])),
            '\\' => out.push(chars.next()?.1),
            c => out.push(c),
        }
    }
    None
}

/// The known name closest to `name` when it is close enough to be a likely typo: equal
/// ignoring case, or within an edit distance of 1 (names up to 4 characters), 2 (up to 12)
/// or 3 (longer). Ties go to the first name in `known`.
pub fn closest<'a>(name: &str, known: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let lower = name.to_lowercase();
    let limit = match name.chars().count() {
        0..=4 => 1,
        5..=12 => 2,
        _ => 3,
    };
    let mut best: Option<(usize, &str)> = None;
    for k in known {
        if k == name {
            continue;
        }
        let d = strsim::levenshtein(&lower, &k.to_lowercase());
        if d <= limit && best.is_none_or(|(bd, _)| d < bd) {
            best = Some((d, k));
        }
    }
    best.map(|(_, k)| k)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::xray::fake::default_rule;

    fn rule(name: &str, priority: i32, service: &str, path: &str) -> SamplingRule {
        SamplingRule {
            rule_name: Some(name.into()),
            priority,
            service_name: service.into(),
            url_path: path.into(),
            ..default_rule()
        }
    }

    #[test]
    fn the_fallback_scan_finds_service_and_edge_names() {
        assert_eq!(
            scan_services(r#"service("backend-flash") { fault }"#),
            vec!["backend-flash"]
        );
        assert_eq!(
            scan_services(
                r#"edge("a", "b") { error } OR SERVICE( "c" ) AND rootcause.fault.service { x }"#
            ),
            vec!["c", "a", "b"]
        );
        assert_eq!(
            scan_services(r#"myservice("x") AND service(id(name: "y"))"#),
            Vec::<String>::new()
        );
        assert_eq!(scan_services(r#"service("a\"b")"#), vec![r#"a"b"#]);
        assert_eq!(
            scan_services(r#"service("unterminated"#),
            Vec::<String>::new()
        );
        assert_eq!(
            scan_services("http.url CONTAINS \"/api\""),
            Vec::<String>::new()
        );
    }

    #[test]
    fn closest_catches_typos_but_not_unrelated_names() {
        let known = ["backend-flask", "frontend-react-js", "api"];
        assert_eq!(closest("backend-flash", known), Some("backend-flask"));
        assert_eq!(closest("Backend-Flask", known), Some("backend-flask"));
        assert_eq!(closest("apx", known), Some("api"));
        assert_eq!(closest("abc", known), None);
        assert_eq!(closest("payments", known), None);
        assert_eq!(closest("backend-flask", known), None);
    }

    #[test]
    fn attributes_resource_arn_and_shadowing_are_reported() {
        let mut with_attrs = rule("attrs", 5, "*", "*");
        with_attrs.attributes.insert("k".into(), "v".into());
        let mut arn = rule("arn", 6, "*", "*");
        arn.resource_arn = "arn:aws:ecs:x".into();
        let broad = rule("broad", 10, "backend-*", "/api/*");
        let narrow = rule("narrow", 20, "backend-flask", "/api/users/*");
        let other = rule("other", 30, "frontend", "/api/*");
        let default = default_rule();
        let rules = [&with_attrs, &arn, &broad, &narrow, &other, &default];
        let d = unreachable_rules(&rules);
        let codes: Vec<&str> = d.iter().map(|d| d.code).collect();
        assert_eq!(
            codes,
            vec!["rule-has-attributes", "rule-resource-arn", "rule-shadowed"]
        );
        assert!(d[2].message.starts_with(r#"sampling rule "narrow" (priority 20) can never match: rule "broad" (priority 10)"#), "{}", d[2].message);
    }

    #[test]
    fn a_rule_with_attributes_does_not_shadow_anything() {
        let mut catch_all = rule("catch-all", 1, "*", "*");
        catch_all.attributes.insert("k".into(), "v".into());
        let later = rule("later", 2, "svc", "/x");
        let d = unreachable_rules(&[&catch_all, &later]);
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].code, "rule-has-attributes");
    }

    #[test]
    fn sampling_gap_names_what_the_rules_sample() {
        let mut default = default_rule();
        assert_eq!(sampling_gap(&[&default]), None);
        default.fixed_rate = 0.0;
        default.reservoir_size = 0;
        assert_eq!(
            sampling_gap(&[&default]).unwrap(),
            r#"sampling rule "Default" (priority 10000) matches every request and samples none (FixedRate 0, ReservoirSize 0), and no rule before it samples anything: no request is traced"#
        );
        let mut flash = rule("flash", 1, "backend-flash", "/api/*");
        flash.http_method = "GET".into();
        assert_eq!(
            sampling_gap(&[&flash, &default]).unwrap(),
            r#"sampling rule "Default" (priority 10000) matches every request and samples none (FixedRate 0, ReservoirSize 0); only requests matching rule "flash" (ServiceName "backend-flash", HTTPMethod "GET", URLPath "/api/*") are traced, so if the app reports another service name, nothing is"#
        );
        // A catch-all that samples nothing, evaluated before a Default that samples,
        // still stops everything.
        let mut off = rule("off", 1, "*", "*");
        off.fixed_rate = 0.0;
        off.reservoir_size = 0;
        let sampling_default = default_rule();
        let msg = sampling_gap(&[&off, &sampling_default]).unwrap();
        assert!(
            msg.starts_with(r#"sampling rule "off" (priority 1) matches every request"#),
            "{msg}"
        );
    }
}
