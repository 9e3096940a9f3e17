//! `validate`: check filter expressions and sampling-rule files offline. It reads no AWS
//! configuration and opens no connection, so it fits a pre-merge CI job.

use std::fmt;

use serde::Serialize;

use crate::cli::OutputFormat;
use crate::commands::{Context, Outcome};
use crate::error::Result;
use crate::output;
use crate::spec::load_rule_file;

#[derive(Debug, clap::Args)]
#[command(after_help = "\
Every problem is reported, not only the first. Exit 0 when everything is valid, 252 when \
anything is not. Problems go to stderr in text mode; with --output json, stdout carries one \
object listing every input and its problems.")]
#[group(id = "inputs", required = true, multiple = true)]
pub struct Args {
    /// A filter expression to check; repeat for more
    #[arg(long, value_name = "EXPR", group = "inputs")]
    pub filter_expression: Vec<String>,
    /// A sampling-rule file (PATH or file://PATH) to check; repeat for more
    #[arg(long, value_name = "PATH", group = "inputs")]
    pub file: Vec<String>,
}

/// One problem, positioned. For a filter expression the line and column are within the
/// expression; for a file, within the file (both 0 for a whole-file problem).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Problem {
    pub line: usize,
    pub column: usize,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    FilterExpression,
    File,
}

/// The verdict on one input.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Checked {
    pub kind: Kind,
    /// The expression, or the file's path as given.
    pub input: String,
    pub ok: bool,
    pub problems: Vec<Problem>,
    /// The caret drawings of filter problems, for text output only.
    #[serde(skip)]
    pub rendered: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ValidateReport {
    pub ok: bool,
    pub inputs: Vec<Checked>,
}

pub fn check_filter(expr: &str, color: bool) -> Checked {
    let errors = match crate::filter::parse(expr) {
        Ok(_) => Vec::new(),
        Err(errors) => errors,
    };
    Checked {
        kind: Kind::FilterExpression,
        input: expr.to_owned(),
        ok: errors.is_empty(),
        problems: errors
            .iter()
            .map(|e| Problem {
                line: e.line,
                column: e.column,
                message: e.message.clone(),
            })
            .collect(),
        rendered: errors
            .iter()
            .map(|e| {
                format!(
                    "{}:{}: {}\n{}",
                    e.line,
                    e.column,
                    e.message,
                    e.snippet(expr, color)
                )
            })
            .collect(),
    }
}

pub fn check_file(arg: &str) -> Checked {
    let path = crate::spec::load::file_path(arg).to_owned();
    let located = load_rule_file(arg).err().unwrap_or_default();
    Checked {
        kind: Kind::File,
        ok: located.is_empty(),
        rendered: located.iter().map(ToString::to_string).collect(),
        problems: located
            .into_iter()
            .map(|l| Problem {
                line: l.line,
                column: l.column,
                message: l.message,
            })
            .collect(),
        input: path,
    }
}

pub fn check_all(args: &Args, color: bool) -> ValidateReport {
    let inputs: Vec<Checked> = args
        .filter_expression
        .iter()
        .map(|e| check_filter(e, color))
        .chain(args.file.iter().map(|f| check_file(f)))
        .collect();
    ValidateReport {
        ok: inputs.iter().all(|c| c.ok),
        inputs,
    }
}

impl fmt::Display for ValidateReport {
    /// The stdout part of the text report: one `ok` line per valid input. Problems are
    /// written to stderr by [`run`].
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for c in self.inputs.iter().filter(|c| c.ok) {
            if !first {
                writeln!(f)?;
            }
            first = false;
            match c.kind {
                Kind::FilterExpression => write!(f, "ok  filter expression {}", c.input)?,
                Kind::File => write!(f, "ok  {}", c.input)?,
            }
        }
        Ok(())
    }
}

/// The stderr part of the text report: every problem, then a count.
pub fn problems_text(report: &ValidateReport) -> String {
    let mut out = String::new();
    let mut count = 0;
    for c in report.inputs.iter().filter(|c| !c.ok) {
        for r in &c.rendered {
            count += 1;
            match c.kind {
                // The caret drawing shows the expression itself; say which flag it came from.
                Kind::FilterExpression => out.push_str(&format!("error: --filter-expression:{r}")),
                Kind::File => out.push_str(&format!("error: {r}\n")),
            }
        }
    }
    let bad = report.inputs.iter().filter(|c| !c.ok).count();
    out.push_str(&format!(
        "{count} problem{} in {bad} of {} input{}\n",
        if count == 1 { "" } else { "s" },
        report.inputs.len(),
        if report.inputs.len() == 1 { "" } else { "s" },
    ));
    out
}

pub async fn run(args: Args, ctx: &Context) -> Result<Outcome> {
    let color = crate::logging::color_enabled(ctx.global.no_color);
    let report = check_all(&args, color);
    match ctx.global.output {
        OutputFormat::Json => output::emit(&report, OutputFormat::Json)?,
        OutputFormat::Text => {
            if report.inputs.iter().any(|c| c.ok) {
                output::emit(&report, OutputFormat::Text)?;
            }
            if !report.ok {
                eprint!("{}", problems_text(&report));
            }
        }
    }
    Ok(if report.ok {
        Outcome::Ok
    } else {
        Outcome::InvalidInput
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(filters: &[&str], files: &[&str]) -> Args {
        Args {
            filter_expression: filters.iter().map(|s| s.to_string()).collect(),
            file: files.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn the_bundled_rule_file_is_valid() {
        let report = check_all(&args(&[], &["aws/json/xray.json"]), false);
        assert!(report.ok, "{report:?}");
        assert_eq!(report.to_string(), "ok  aws/json/xray.json");
    }

    #[test]
    fn every_problem_of_every_file_is_reported() {
        let dir = tempfile::tempdir().unwrap();
        let bad = dir.path().join("bad.json");
        std::fs::write(
            &bad,
            "{\"SamplingRule\": {\"RuleName\": \"Cruddur\", \"ResourceARN\": \"*\", \"Priority\": 0,\n \"FixedRate\": 1.5, \"ReservoirSize\": 5, \"ServiceName\": \"backend-flask\", \"ServiceType\": \"*\",\n \"Host\": \"*\", \"HTTPMethod\": \"*\", \"URLPath\": \"*\", \"Version\": 1}}",
        )
        .unwrap();
        let missing = dir.path().join("missing.json");
        let report = check_all(
            &args(
                &[],
                &[
                    bad.to_str().unwrap(),
                    missing.to_str().unwrap(),
                    "aws/json/xray.json",
                ],
            ),
            false,
        );
        assert!(!report.ok);
        let bad_report = &report.inputs[0];
        assert_eq!(
            bad_report.problems,
            vec![
                Problem {
                    line: 1,
                    column: 74,
                    message: "SamplingRule.Priority must be within 1..=9999 (got 0)".into()
                },
                Problem {
                    line: 2,
                    column: 15,
                    message: "SamplingRule.FixedRate must be within 0..=1 (got 1.5)".into()
                },
            ]
        );
        assert_eq!(
            (report.inputs[1].problems[0].line, report.inputs[1].ok),
            (0, false)
        );
        assert!(report.inputs[2].ok);
        let text = problems_text(&report);
        assert!(text.ends_with("3 problems in 2 of 3 inputs\n"), "{text}");
        assert!(
            text.contains(&format!(
                "error: {}:2:15: SamplingRule.FixedRate",
                bad.display()
            )),
            "{text}"
        );
    }
}
