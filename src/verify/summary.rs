//! GitHub Actions: a Markdown job summary (appended to `$GITHUB_STEP_SUMMARY`) and
//! `::error::`/`::warning::` workflow commands for failed checks and warnings.
//!
//! The workflow commands go to stderr: the runner reads commands from both streams, and
//! stdout must stay one JSON document under `--output json`.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::Path;

use crate::verify::checks::{percent, seconds};
use crate::verify::diagnostics::Level;
use crate::verify::report::Report;

/// A Markdown table cell: pipes escaped, newlines flattened.
fn cell(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('|', "\\|")
        .replace(['\r', '\n'], " ")
}

fn code(s: &str) -> String {
    if s.is_empty() {
        "-".into()
    } else {
        // A backtick in the text would end the code span; use a longer fence then.
        let fence = if s.contains('`') { "`` " } else { "`" };
        let close = if s.contains('`') { " ``" } else { "`" };
        format!("{fence}{}{close}", cell(s))
    }
}

fn opt(s: Option<f64>) -> String {
    s.map(seconds).unwrap_or_else(|| "-".into())
}

/// The Markdown summary of a report.
pub fn markdown(r: &Report) -> String {
    let mut s = String::new();
    let failed: Vec<_> = r.failed_checks().collect();
    let head = if failed.is_empty() {
        "✅ all checks passed".to_owned()
    } else {
        format!("❌ {} of {} checks failed", failed.len(), r.checks.len())
    };
    let _ = writeln!(s, "## cruddur-xray verify: {head}\n");
    let _ = writeln!(s, "Window: {} to {}\n", r.window.start, r.window.end);

    let t = &r.traces;
    let rate = if t.count == 0 {
        "-".into()
    } else {
        percent(t.fault as f64 / t.count as f64)
    };
    let _ = writeln!(
        s,
        "| Traces | Fault | Fault rate | Error | Throttle | p50 | p95 | p99 | Max |\n|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    );
    let rt = &t.response_time;
    let _ = writeln!(
        s,
        "| {} | {} | {rate} | {} | {} | {} | {} | {} | {} |\n",
        t.count,
        t.fault,
        t.error,
        t.throttle,
        opt(rt.p50),
        opt(rt.p95),
        opt(rt.p99),
        opt(rt.max)
    );

    if !failed.is_empty() {
        let _ = writeln!(s, "### Failed checks\n");
        for c in &failed {
            let _ = writeln!(s, "- **{}**: {}", cell(&c.name), cell(&c.message));
        }
        let _ = writeln!(s);
    }

    let _ = writeln!(s, "### Groups\n");
    let _ = writeln!(
        s,
        "| Group | Filter | Traces | Fault | p95 |\n|---|---|---:|---:|---:|"
    );
    for g in &r.groups {
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} |",
            cell(&g.name),
            code(g.filter_expression.as_deref().unwrap_or("")),
            g.traces.count,
            g.traces.fault,
            opt(g.traces.response_time.p95)
        );
    }
    let _ = writeln!(s, "\n### Sampling rules\n");
    let _ = writeln!(
        s,
        "| Rule | Priority | Rate | Reservoir | Service | Host | Method | Path |\n|---|---:|---:|---:|---|---|---|---|"
    );
    for x in &r.sampling_rules {
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} | {} | {} | {} |",
            cell(x.name.as_deref().unwrap_or("")),
            x.priority,
            percent(x.fixed_rate),
            x.reservoir_size,
            code(&x.service_name),
            code(&x.host),
            code(&x.http_method),
            code(&x.url_path)
        );
    }
    if !r.checks.is_empty() {
        let _ = writeln!(s, "\n### Checks\n");
        let _ = writeln!(s, "| Check | Result | Detail |\n|---|---|---|");
        for c in &r.checks {
            let _ = writeln!(
                s,
                "| {} | {} | {} |",
                cell(&c.name),
                if c.ok { "✅" } else { "❌" },
                cell(&c.message)
            );
        }
    }
    let warnings: Vec<_> = r.diagnostics.iter().collect();
    if !warnings.is_empty() {
        let _ = writeln!(s, "\n### Diagnostics\n");
        for d in warnings {
            let level = match d.level {
                Level::Warning => "⚠️",
                Level::Info => "ℹ️",
            };
            let _ = writeln!(s, "- {level} `{}`: {}", d.code, cell(&d.message));
        }
    }
    s.push('\n');
    s
}

/// Append the summary to the file GitHub names in `GITHUB_STEP_SUMMARY`.
pub fn append_step_summary(path: &Path, r: &Report) -> std::io::Result<()> {
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)?;
    f.write_all(markdown(r).as_bytes())
}

/// Escape a workflow command's message (GitHub's rules: `%`, CR and LF).
fn escape_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escape a workflow command property (also `:` and `,`).
fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

/// `::error::` for each failed check and `::warning::` for each warning diagnostic.
pub fn annotations(r: &Report) -> Vec<String> {
    let mut out = Vec::new();
    for c in r.failed_checks() {
        out.push(format!(
            "::error title={}::{}",
            escape_property(&format!("verify check failed: {}", c.name)),
            escape_data(&format!("{}: {}", c.name, c.message))
        ));
    }
    for d in r.diagnostics.iter().filter(|d| d.level == Level::Warning) {
        out.push(format!(
            "::warning title={}::{}",
            escape_property(&format!("verify: {}", d.code)),
            escape_data(&d.message)
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workflow_command_text_is_escaped() {
        assert_eq!(escape_data("50%\nnext"), "50%25%0Anext");
        assert_eq!(escape_property("a: b, c"), "a%3A b%2C c");
    }

    #[test]
    fn markdown_cells_escape_pipes() {
        assert_eq!(cell("a | b\nc"), "a \\| b c");
        assert_eq!(code(r#"service("x") | y"#), r#"`service("x") \| y`"#);
        assert_eq!(code(""), "-");
    }
}
