//! The report: one Serialize value for `--output json`, and readable tables for text.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use comfy_table::{Cell, CellAlignment, Color, ContentArrangement, Table, presets};
use serde::Serialize;

use crate::verify::checks::{Check, percent, seconds};
use crate::verify::diagnostics::Diagnostic;
use crate::verify::fetch::Snapshot;
use crate::verify::stats::TraceStats;
use crate::verify::window::{format_span, format_time};

/// Text tables fit this many columns.
pub const WIDTH: u16 = 100;

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub ok: bool,
    pub window: WindowReport,
    pub groups: Vec<GroupReport>,
    pub sampling_rules: Vec<RuleReport>,
    pub traces: TraceStats,
    pub checks: Vec<Check>,
    pub diagnostics: Vec<Diagnostic>,
    /// Response-time distribution for the sparkline (text only).
    #[serde(skip)]
    pub shape: Vec<u64>,
    /// The window's length in seconds (text only).
    #[serde(skip)]
    pub span: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct WindowReport {
    /// RFC 3339, UTC.
    pub start: String,
    pub end: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct GroupReport {
    pub name: String,
    pub arn: String,
    pub filter_expression: Option<String>,
    pub insights_enabled: bool,
    pub notifications_enabled: bool,
    pub traces: TraceStats,
}

#[derive(Debug, Clone, Serialize)]
pub struct RuleReport {
    pub name: Option<String>,
    pub priority: i32,
    pub fixed_rate: f64,
    pub reservoir_size: i32,
    pub service_name: String,
    pub service_type: String,
    pub host: String,
    pub http_method: String,
    pub url_path: String,
    pub resource_arn: String,
    pub attributes: BTreeMap<String, String>,
}

impl Report {
    pub fn new(snap: &Snapshot, checks: Vec<Check>, diagnostics: Vec<Diagnostic>) -> Report {
        let groups = snap
            .groups
            .iter()
            .map(|g| GroupReport {
                name: g.name.clone(),
                arn: g.arn.clone(),
                filter_expression: g.filter_expression.clone(),
                insights_enabled: g.insights_enabled,
                notifications_enabled: g.notifications_enabled,
                traces: snap
                    .by_group
                    .get(&g.name)
                    .map(|s| s.report())
                    .unwrap_or_default(),
            })
            .collect();
        let sampling_rules = snap
            .rules
            .iter()
            .map(|r| {
                let r = &r.rule;
                RuleReport {
                    name: r.rule_name.clone(),
                    priority: r.priority,
                    fixed_rate: r.fixed_rate,
                    reservoir_size: r.reservoir_size,
                    service_name: r.service_name.clone(),
                    service_type: r.service_type.clone(),
                    host: r.host.clone(),
                    http_method: r.http_method.clone(),
                    url_path: r.url_path.clone(),
                    resource_arn: r.resource_arn.clone(),
                    attributes: r.attributes.clone(),
                }
            })
            .collect();
        Report {
            ok: checks.iter().all(|c| c.ok),
            window: WindowReport {
                start: format_time(snap.window.start),
                end: format_time(snap.window.end),
            },
            groups,
            sampling_rules,
            traces: snap.all.report(),
            checks,
            diagnostics,
            shape: snap.all.response_time.shape(24),
            span: snap.window.end - snap.window.start,
        }
    }

    pub fn failed_checks(&self) -> impl Iterator<Item = &Check> {
        self.checks.iter().filter(|c| !c.ok)
    }
}

impl Default for TraceStats {
    fn default() -> TraceStats {
        crate::verify::stats::Stats::default().report()
    }
}

/// How the text report may look.
#[derive(Debug, Clone, Copy, Default)]
pub struct Style {
    /// Colour the check results.
    pub color: bool,
    /// stdout is a terminal: box-drawing tables and the sparkline.
    pub terminal: bool,
}

/// A table with the given header; the columns in `numeric` are right-aligned.
fn table(style: Style, header: &[&str], numeric: &[usize]) -> Table {
    let mut t = Table::new();
    t.load_preset(if style.terminal {
        presets::UTF8_FULL_CONDENSED
    } else {
        presets::ASCII_FULL_CONDENSED
    })
    .set_content_arrangement(ContentArrangement::Dynamic)
    .set_width(WIDTH)
    .set_header(header.to_vec());
    if style.color {
        t.enforce_styling();
    } else {
        t.force_no_tty();
    }
    for &i in numeric {
        if let Some(c) = t.column_mut(i) {
            c.set_cell_alignment(CellAlignment::Right);
        }
    }
    t
}

fn opt_seconds(s: Option<f64>) -> String {
    s.map(seconds).unwrap_or_else(|| "-".into())
}

fn rate(stats: &TraceStats) -> String {
    if stats.count == 0 {
        "-".into()
    } else {
        percent(stats.fault as f64 / stats.count as f64)
    }
}

/// `▁▂▅█▃` for the counts, scaled to the largest.
pub fn sparkline(counts: &[u64]) -> String {
    const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    let max = counts.iter().copied().max().unwrap_or(0);
    if max == 0 {
        return String::new();
    }
    counts
        .iter()
        .map(|&c| {
            if c == 0 {
                ' '
            } else {
                BARS[((c as f64 / max as f64) * 7.0).round() as usize]
            }
        })
        .collect()
}

/// The text report for stdout.
pub fn render_text(r: &Report, style: Style) -> String {
    let mut s = String::new();
    let t = &r.traces;
    let span = format_span(r.span);
    let _ = writeln!(
        s,
        "Window    {} .. {} ({span})",
        r.window.start, r.window.end
    );
    let _ = writeln!(
        s,
        "Traces    {} (fault {}, {}; error {}; throttle {})",
        t.count,
        t.fault,
        rate(t),
        t.error,
        t.throttle
    );
    let rt = &t.response_time;
    let _ = writeln!(
        s,
        "Response  p50 {}  p95 {}  p99 {}  max {}",
        opt_seconds(rt.p50),
        opt_seconds(rt.p95),
        opt_seconds(rt.p99),
        opt_seconds(rt.max)
    );
    if style.terminal && !r.shape.is_empty() {
        let _ = writeln!(
            s,
            "          {}  (min .. max, log scale)",
            sparkline(&r.shape)
        );
    }

    let mut groups = table(
        style,
        &["Group", "Filter", "Traces", "Fault", "Error", "p95"],
        &[2, 3, 4, 5],
    );
    for g in &r.groups {
        groups.add_row(vec![
            g.name.clone(),
            g.filter_expression.clone().unwrap_or_else(|| "-".into()),
            g.traces.count.to_string(),
            rate(&g.traces),
            g.traces.error.to_string(),
            opt_seconds(g.traces.response_time.p95),
        ]);
    }
    let _ = writeln!(s, "\nGroups\n{groups}");

    let mut rules = table(
        style,
        &[
            "Rule",
            "Priority",
            "Rate",
            "Reservoir",
            "Service",
            "Type",
            "Host",
            "Method",
            "Path",
        ],
        &[1, 2, 3],
    );
    for x in &r.sampling_rules {
        let mut name = x.name.clone().unwrap_or_default();
        if !x.attributes.is_empty() {
            name.push_str(" (attributes)");
        }
        if x.resource_arn != "*" {
            name.push_str(" (resource ARN)");
        }
        rules.add_row(vec![
            name,
            x.priority.to_string(),
            percent(x.fixed_rate),
            x.reservoir_size.to_string(),
            x.service_name.clone(),
            x.service_type.clone(),
            x.host.clone(),
            x.http_method.clone(),
            x.url_path.clone(),
        ]);
    }
    let _ = writeln!(s, "\nSampling rules\n{rules}");

    if !t.services.is_empty() {
        let mut services = table(style, &["Service", "Traces"], &[1]);
        for svc in &t.services {
            services.add_row(vec![svc.name.clone(), svc.count.to_string()]);
        }
        let _ = writeln!(s, "\nServices\n{services}");
    }
    if !t.slowest_urls.is_empty() {
        let mut urls = table(style, &["Slowest URL", "Max"], &[1]);
        for u in &t.slowest_urls {
            urls.add_row(vec![u.url.clone(), seconds(u.max_response_time)]);
        }
        let _ = writeln!(s, "\n{urls}");
    }
    if !r.checks.is_empty() {
        let mut checks = table(style, &["Check", "Result", "Detail"], &[]);
        for c in &r.checks {
            let mut result = Cell::new(if c.ok { "ok" } else { "FAILED" });
            if style.color {
                result = result.fg(if c.ok { Color::Green } else { Color::Red });
            }
            checks.add_row(vec![Cell::new(&c.name), result, Cell::new(&c.message)]);
        }
        let _ = writeln!(s, "\nChecks\n{checks}");
    }
    let verdict = if r.checks.is_empty() {
        "no checks asked for".to_owned()
    } else if r.ok {
        "all checks passed".to_owned()
    } else {
        format!(
            "{} of {} checks failed",
            r.failed_checks().count(),
            r.checks.len()
        )
    };
    let _ = writeln!(s, "\n{verdict}");
    s
}
