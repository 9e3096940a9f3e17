//! verify's logic: read groups, rules and the window's traces through the [`XRay`] trait,
//! compute statistics in bounded memory, run the checks the flags ask for, explain likely
//! set-up mistakes, and report (text or one JSON object on stdout, warnings on stderr,
//! GitHub annotations and step summary when asked).
//!
//! [`Plan::from_args`] checks the flags (exit 252 on bad input); [`Env::from_process`] reads
//! the environment once at the edge; [`run_with`] does the rest against any [`XRay`].

pub mod checks;
pub mod diagnostics;
pub mod fetch;
pub mod glob;
pub mod progress;
pub mod report;
pub mod stats;
pub mod summary;
pub mod window;

use std::io::Write;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::cli::{GlobalArgs, OutputFormat};
use crate::commands::Outcome;
use crate::commands::verify::Args;
use crate::error::{Error, Result};
use crate::trace::now;
use crate::xray::XRay;

use self::checks::Check;
use self::diagnostics::Level;
use self::fetch::Snapshot;
use self::progress::{Progress, Tick};
use self::report::{Report, Style};
use self::window::{Window, WindowSpec};

/// The longest `--wait`.
pub const MAX_WAIT: Duration = Duration::from_secs(24 * 3600);
/// GetTraceSummaries calls in flight at once.
pub const CONCURRENCY: usize = 4;

/// The pause between `--wait` polls: `initial`, doubling up to `max`, never past the deadline.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Backoff {
    pub initial: Duration,
    pub max: Duration,
}

impl Default for Backoff {
    fn default() -> Backoff {
        Backoff {
            initial: Duration::from_secs(1),
            max: Duration::from_secs(15),
        }
    }
}

/// The checked flags.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    pub window: WindowSpec,
    pub groups: Vec<String>,
    pub expect_groups: Vec<String>,
    pub expect_rules: Vec<String>,
    pub min_traces: Option<u64>,
    pub max_fault_rate: Option<f64>,
    pub max_p95: Option<f64>,
    pub wait: Option<Duration>,
    pub trace_ids: Vec<String>,
    pub concurrency: usize,
    pub backoff: Backoff,
}

impl Plan {
    /// Check every flag; each error names its flag (exit 252).
    pub fn from_args(args: &Args) -> Result<Plan> {
        let a = &*args.flags;
        let window = match (&a.start, &a.end, &a.since) {
            (Some(start), Some(end), None) => window::range(
                window::parse_time("--start", start)?,
                window::parse_time("--end", end)?,
            )?,
            (None, None, since) => WindowSpec::Since(match since {
                Some(s) => window::parse_since(s)?,
                None => window::DEFAULT_SINCE,
            }),
            _ => {
                return Err(Error::invalid(
                    "give either --since, or both --start and --end",
                ));
            }
        };
        if let Some(r) = a.max_fault_rate
            && !(0.0..=1.0).contains(&r)
        {
            return Err(Error::invalid(format!(
                "--max-fault-rate must be within 0..=1 (got {r})"
            )));
        }
        if let Some(s) = a.max_p95
            && !(s.is_finite() && s >= 0.0)
        {
            return Err(Error::invalid(format!(
                "--max-p95 must be a number of seconds, 0 or more (got {s})"
            )));
        }
        let wait = match &a.wait {
            None => None,
            Some(text) => {
                let d = humantime::parse_duration(text.trim()).map_err(|e| {
                    Error::invalid(format!(
                        "--wait: {e} in {text:?}; expected a duration such as 30s or 5m"
                    ))
                })?;
                if d.is_zero() || d > MAX_WAIT {
                    return Err(Error::invalid(format!(
                        "--wait must be more than 0 and at most 24h (got {text})"
                    )));
                }
                Some(d)
            }
        };
        for id in &a.trace_ids {
            if !crate::trace::is_trace_id(id) {
                return Err(Error::invalid(format!(
                    "--trace-id must look like 1-5f84c7a1-4c1e4f8b3b1c2a9d8e7f6a5b (got {id:?})"
                )));
            }
        }
        for (flag, names) in [
            ("--group", &a.groups),
            ("--expect-group", &a.expect_groups),
            ("--expect-rule", &a.expect_rules),
        ] {
            if let Some(bad) = names
                .iter()
                .find(|n| n.is_empty() || n.chars().count() > 32)
            {
                return Err(Error::invalid(format!(
                    "{flag} must be 1 to 32 characters (got {bad:?})"
                )));
            }
        }
        Ok(Plan {
            window,
            groups: dedup(&a.groups),
            expect_groups: dedup(&a.expect_groups),
            expect_rules: dedup(&a.expect_rules),
            min_traces: a.min_traces,
            max_fault_rate: a.max_fault_rate,
            max_p95: a.max_p95,
            wait,
            trace_ids: dedup(&a.trace_ids),
            concurrency: CONCURRENCY,
            backoff: Backoff::default(),
        })
    }
}

fn dedup(v: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for s in v {
        if !out.contains(s) {
            out.push(s.clone());
        }
    }
    out
}

/// What verify takes from the process environment, read once at the command edge.
#[derive(Debug, Clone)]
pub struct Env {
    pub format: OutputFormat,
    /// Colour in the text report (no --no-color, no NO_COLOR, stdout a terminal).
    pub color: bool,
    pub stdout_is_terminal: bool,
    pub stderr_is_terminal: bool,
    /// `GITHUB_STEP_SUMMARY`: append a Markdown summary to this file.
    pub step_summary: Option<PathBuf>,
    /// `GITHUB_ACTIONS=true`: also print `::error::` workflow commands.
    pub github_actions: bool,
    /// The region verify reads (--region, AWS_REGION, AWS_DEFAULT_REGION), for diagnostics.
    pub region: Option<String>,
}

impl Env {
    pub fn from_process(global: &GlobalArgs) -> Env {
        use std::io::IsTerminal;
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        let stdout_is_terminal = std::io::stdout().is_terminal();
        Env {
            format: global.output,
            color: !global.no_color && var("NO_COLOR").is_none() && stdout_is_terminal,
            stdout_is_terminal,
            stderr_is_terminal: std::io::stderr().is_terminal(),
            step_summary: var("GITHUB_STEP_SUMMARY").map(PathBuf::from),
            github_actions: var("GITHUB_ACTIONS").is_some_and(|v| v == "true"),
            region: global
                .region
                .clone()
                .or_else(|| var("AWS_REGION"))
                .or_else(|| var("AWS_DEFAULT_REGION")),
        }
    }

    /// Plain output for tests: text, no colour, no terminal, no GitHub.
    pub fn plain(format: OutputFormat) -> Env {
        Env {
            format,
            color: false,
            stdout_is_terminal: false,
            stderr_is_terminal: false,
            step_summary: None,
            github_actions: false,
            region: None,
        }
    }
}

/// What a verify run found.
#[derive(Debug, Clone)]
pub struct Verdict {
    pub report: Report,
    /// `--wait` ran out with checks still failing: how long it waited.
    pub timed_out: Option<Duration>,
    pub polls: u32,
}

/// Poll (once, or until every check holds or `--wait` runs out), then diagnose.
pub async fn evaluate<X: XRay>(
    plan: &Plan,
    client: &X,
    region: Option<&str>,
    progress: &mut Progress,
    err: &mut (dyn Write + Send),
) -> Result<Verdict> {
    let started = Instant::now();
    let deadline = plan.wait.map(|w| started + w);
    let mut delay = plan.backoff.initial;
    let mut polls = 0;
    let mut timed_out = None;
    let (snapshot, checks) = loop {
        let snapshot = match fetch::collect(plan, client, plan.window.resolve(now())).await {
            Ok(snapshot) => snapshot,
            // While waiting, a poll that fails for a passing reason (the SDK's retries
            // already spent) is not the end: try again until the deadline.
            Err(e) if e.is_transient() && deadline.is_some_and(|d| Instant::now() + delay < d) => {
                let _ = writeln!(err, "warning: poll failed, trying again in {delay:?}: {e}");
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(plan.backoff.max);
                continue;
            }
            Err(e) => return Err(e),
        };
        let checks = checks::evaluate(plan, &snapshot);
        polls += 1;
        let failing: Vec<String> = checks
            .iter()
            .filter(|c| !c.ok)
            .map(|c| c.name.clone())
            .collect();
        let Some(deadline) = deadline else {
            break (snapshot, checks);
        };
        if failing.is_empty() {
            break (snapshot, checks);
        }
        let at = Instant::now();
        if at >= deadline {
            timed_out = plan.wait;
            break (snapshot, checks);
        }
        let pause = delay.min(deadline - at);
        progress.update(
            err,
            &Tick {
                elapsed: started.elapsed(),
                count: focus_count(plan, &snapshot),
                failing: &failing,
                next_poll: pause,
            },
        );
        tokio::time::sleep(pause).await;
        delay = (delay * 2).min(plan.backoff.max);
    };
    progress.finish();
    let ctx = diagnostic_context(client, snapshot.window, region).await;
    let diagnostics = diagnostics::diagnose(plan, &snapshot, &ctx);
    Ok(Verdict {
        report: Report::new(&snapshot, checks, diagnostics),
        timed_out,
        polls,
    })
}

/// The count the progress line shows: the first --group's, else the whole window's.
fn focus_count(plan: &Plan, snap: &Snapshot) -> u64 {
    plan.groups
        .first()
        .and_then(|g| snap.by_group.get(g))
        .unwrap_or(&snap.all)
        .count
}

/// Reads that only feed diagnostics; a failure is noted, not fatal.
async fn diagnostic_context<X: XRay>(
    client: &X,
    window: Window,
    region: Option<&str>,
) -> diagnostics::Context {
    // GetServiceGraph is asked about the newest 6h at most.
    let graph_start = window.start.max(window.end - window::CHUNK.as_secs_f64());
    let (destination, graph) = tokio::join!(
        client.get_trace_segment_destination(),
        client.service_graph_names(graph_start, window.end)
    );
    let destination = destination.map_err(|e| e.to_string());
    let indexing_rules = match &destination {
        Ok(d) if d.is_cloudwatch_logs() => {
            Some(client.get_indexing_rules().await.map_err(|e| e.to_string()))
        }
        _ => None,
    };
    diagnostics::Context {
        region: region.map(str::to_owned),
        destination: Some(destination),
        indexing_rules,
        service_graph: Some(graph.map_err(|e| e.to_string())),
    }
}

/// Run verify against `client` and write the report: stdout gets only the report (text or
/// one JSON object); stderr gets progress, warnings, failed checks and, under GitHub
/// Actions, the workflow commands.
pub async fn run_with<X: XRay>(
    plan: &Plan,
    client: &X,
    env: &Env,
    out: &mut (dyn Write + Send),
    err: &mut (dyn Write + Send),
) -> Result<Outcome> {
    let mut progress = if plan.wait.is_some() {
        Progress::new(env.stderr_is_terminal)
    } else {
        Progress::Lines
    };
    let verdict = evaluate(plan, client, env.region.as_deref(), &mut progress, err).await?;
    emit(&verdict, env, out, err)?;
    Ok(if verdict.report.ok {
        Outcome::Ok
    } else {
        Outcome::CheckFailed
    })
}

/// Write the report and everything that goes with it.
pub fn emit(
    verdict: &Verdict,
    env: &Env,
    out: &mut (dyn Write + Send),
    err: &mut (dyn Write + Send),
) -> Result<()> {
    let r = &verdict.report;
    let body = match env.format {
        OutputFormat::Json => {
            let mut s = serde_json::to_string_pretty(r)
                .map_err(|e| Error::Other(format!("cannot write the JSON report: {e}")))?;
            s.push('\n');
            s
        }
        OutputFormat::Text => report::render_text(
            r,
            Style {
                color: env.color,
                terminal: env.stdout_is_terminal,
            },
        ),
    };
    match out.write_all(body.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            return Err(Error::Other(format!("cannot write to stdout: {e}")));
        }
        _ => {}
    }

    let mut cause = 0;
    for d in &r.diagnostics {
        if d.cause {
            cause += 1;
            let _ = writeln!(err, "  {cause}. {}", d.message);
            continue;
        }
        cause = 0;
        let level = match d.level {
            Level::Warning => "warning",
            Level::Info => "note",
        };
        let _ = writeln!(err, "{level}: {}", d.message);
    }
    for c in r.failed_checks() {
        let _ = writeln!(err, "{}", failed_line(c));
    }
    if let Some(waited) = verdict.timed_out {
        let names: Vec<&str> = r.failed_checks().map(|c| c.name.as_str()).collect();
        let _ = writeln!(
            err,
            "timed out after {} waiting for: {}",
            window::compact(waited),
            names.join(", ")
        );
    }
    if env.github_actions {
        for line in summary::annotations(r) {
            let _ = writeln!(err, "{line}");
        }
    }
    if let Some(path) = &env.step_summary
        && let Err(e) = summary::append_step_summary(path, r)
    {
        let _ = writeln!(
            err,
            "warning: cannot append the summary to GITHUB_STEP_SUMMARY ({}): {e}",
            path.display()
        );
    }
    let _ = err.flush();
    Ok(())
}

/// `check failed: min-traces: 0 traces in the last 15m, expected at least 1`
pub fn failed_line(c: &Check) -> String {
    format!("check failed: {}: {}", c.name, c.message)
}

#[cfg(test)]
mod tests;
