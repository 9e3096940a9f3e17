//! Command results: each is `Serialize` (for `--output json`, exactly one JSON object) and
//! `Display` (short text). They go to stdout and nowhere else; a closed pipe is not an error.

use std::fmt;
use std::io::{ErrorKind, Write};

use serde::Serialize;

use crate::cli::OutputFormat;
use crate::error::{Error, Result};
use crate::reconcile::{Action, Change};

/// What a create command reconciled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Resource {
    #[serde(rename = "group")]
    Group,
    #[serde(rename = "sampling-rule")]
    SamplingRule,
}

impl fmt::Display for Resource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Resource::Group => "group",
            Resource::SamplingRule => "sampling rule",
        })
    }
}

/// The result of create-group / create-sampling-rule.
///
/// `action` is what the plan called for; `applied` says whether it was written (false for
/// `--dry-run`, and for `--no-update` when the resource differs).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ApplyReport {
    pub action: Action,
    pub dry_run: bool,
    pub applied: bool,
    pub resource: Resource,
    pub name: String,
    /// Null when the resource does not exist (a dry run of a create).
    pub arn: Option<String>,
    pub changes: Vec<Change>,
}

impl ApplyReport {
    /// `--no-update` found a difference and left it.
    pub fn is_drift(&self) -> bool {
        self.action == Action::Update && !self.applied && !self.dry_run
    }
}

fn changes_text(changes: &[Change]) -> String {
    crate::reconcile::join(changes)
}

impl fmt::Display for ApplyReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (r, name) = (self.resource, &self.name);
        let arn = self
            .arn
            .as_deref()
            .map(|a| format!(" ({a})"))
            .unwrap_or_default();
        match (self.action, self.dry_run, self.applied) {
            (Action::Unchanged, _, _) => write!(f, "unchanged {r} {name}{arn}"),
            (Action::Create, false, _) => write!(f, "created {r} {name}{arn}"),
            (Action::Create, true, _) => write!(
                f,
                "would create {r} {name}: {}",
                changes_text(&self.changes)
            ),
            (Action::Update, true, _) => write!(
                f,
                "would update {r} {name}: {}",
                changes_text(&self.changes)
            ),
            (Action::Update, false, true) => {
                write!(f, "updated {r} {name}: {}", changes_text(&self.changes))
            }
            (Action::Update, false, false) => write!(
                f,
                "{r} {name} differs, not updated (--no-update): {}",
                changes_text(&self.changes)
            ),
        }
    }
}

/// The result of send-test-trace.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TraceReport {
    pub trace_id: String,
    pub service: String,
}

impl fmt::Display for TraceReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.trace_id)
    }
}

/// The report as it is printed: one JSON object, or its text, with a final newline.
pub fn render<T: Serialize + fmt::Display>(report: &T, format: OutputFormat) -> Result<String> {
    match format {
        OutputFormat::Text => Ok(format!("{report}\n")),
        OutputFormat::Json => serde_json::to_string(report)
            .map(|s| s + "\n")
            .map_err(|e| Error::Other(format!("cannot encode the result as JSON: {e}"))),
    }
}

/// Print the report to stdout. A reader that went away (`| head`) is not an error.
pub fn emit<T: Serialize + fmt::Display>(report: &T, format: OutputFormat) -> Result<()> {
    let text = render(report, format)?;
    write_stdout(&mut std::io::stdout().lock(), &text)
}

/// Write to `out`, treating a broken pipe as success.
pub fn write_stdout(out: &mut impl Write, text: &str) -> Result<()> {
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(Error::Other(format!("cannot write to stdout: {e}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn report(action: Action, dry_run: bool, applied: bool) -> ApplyReport {
        ApplyReport {
            action,
            dry_run,
            applied,
            resource: Resource::SamplingRule,
            name: "Cruddur".into(),
            arn: Some("arn:aws:xray:us-east-1:1:sampling-rule/Cruddur".into()),
            changes: vec![Change {
                field: "FixedRate".into(),
                old: json!(0.1),
                new: json!(0.2),
            }],
        }
    }

    #[test]
    fn text_says_what_happened_in_one_line() {
        let cases = [
            (
                report(Action::Update, false, true),
                "updated sampling rule Cruddur: FixedRate 0.1 → 0.2\n",
            ),
            (
                report(Action::Update, true, false),
                "would update sampling rule Cruddur: FixedRate 0.1 → 0.2\n",
            ),
            (
                report(Action::Update, false, false),
                "sampling rule Cruddur differs, not updated (--no-update): FixedRate 0.1 → 0.2\n",
            ),
            (
                report(Action::Create, false, true),
                "created sampling rule Cruddur (arn:aws:xray:us-east-1:1:sampling-rule/Cruddur)\n",
            ),
            (
                report(Action::Unchanged, false, false),
                "unchanged sampling rule Cruddur (arn:aws:xray:us-east-1:1:sampling-rule/Cruddur)\n",
            ),
        ];
        for (r, want) in cases {
            assert_eq!(render(&r, OutputFormat::Text).unwrap(), want);
        }
        let mut created = report(Action::Create, true, false);
        created.resource = Resource::Group;
        created.arn = None;
        created.changes = vec![Change {
            field: "FilterExpression".into(),
            old: Value::Null,
            new: json!("service(\"backend-flask\")"),
        }];
        assert_eq!(
            created.to_string(),
            "would create group Cruddur: FilterExpression (none) → \"service(\\\"backend-flask\\\")\""
        );
    }

    #[test]
    fn json_is_one_object_with_the_documented_keys() {
        let text = render(&report(Action::Update, false, true), OutputFormat::Json).unwrap();
        assert_eq!(text.lines().count(), 1);
        let v: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(
            v,
            json!({"action": "update", "dry_run": false, "applied": true,
                "resource": "sampling-rule", "name": "Cruddur",
                "arn": "arn:aws:xray:us-east-1:1:sampling-rule/Cruddur",
                "changes": [{"field": "FixedRate", "old": 0.1, "new": 0.2}]})
        );
        let t = TraceReport {
            trace_id: "1-5f84c7a1-0123456789abcdef01234567".into(),
            service: "backend-flask".into(),
        };
        assert_eq!(
            render(&t, OutputFormat::Json).unwrap(),
            "{\"trace_id\":\"1-5f84c7a1-0123456789abcdef01234567\",\"service\":\"backend-flask\"}\n"
        );
        assert_eq!(
            render(&t, OutputFormat::Text).unwrap(),
            "1-5f84c7a1-0123456789abcdef01234567\n"
        );
    }

    struct Closed;
    impl Write for Closed {
        fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
            Err(std::io::Error::from(ErrorKind::BrokenPipe))
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    struct Full;
    impl Write for Full {
        fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
            Err(std::io::Error::other("disk full"))
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_broken_pipe_is_not_an_error_but_other_write_errors_are() {
        assert!(write_stdout(&mut Closed, "x\n").is_ok());
        let e = write_stdout(&mut Full, "x\n").unwrap_err();
        assert_eq!(e.to_string(), "cannot write to stdout: disk full");
        assert_eq!(e.exit().code(), 255);
    }
}
