//! `verify`: check groups, sampling rules and recent traces, for CI. Exit 0 when every check
//! holds, 1 when one fails. The logic lives in [`crate::verify`]; this is the edge that
//! reads the environment and builds the client.

use crate::commands::{Context, Outcome};
use crate::error::Result;
use crate::verify::{Env, Plan};

#[derive(Debug, Clone, Default, clap::Args)]
#[command(after_help = "\
Trace checks (--min-traces, --max-fault-rate, --max-p95) apply to each --group's own traces, \
or to every trace in the window when no --group is given. Windows longer than 6h are read in \
6h chunks. Under GitHub Actions, failed checks are also printed as ::error:: commands on \
stderr and a summary is appended to $GITHUB_STEP_SUMMARY.")]
pub struct Args {
    /// Boxed, so the subcommand enum stays small.
    #[command(flatten)]
    pub flags: Box<Flags>,
}

/// verify's flags.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct Flags {
    /// A group whose own traces the trace checks look at (repeatable); it must exist
    #[arg(long = "group", value_name = "NAME")]
    pub groups: Vec<String>,
    /// How far back to look, e.g. 15m, 2h, 30d (default 15m, at most 30d)
    #[arg(long, value_name = "DURATION", conflicts_with_all = ["start", "end"])]
    pub since: Option<String>,
    /// Window start: RFC 3339 (2026-11-25T06:00:00Z) or epoch seconds
    #[arg(long, value_name = "TIME", requires = "end")]
    pub start: Option<String>,
    /// Window end: RFC 3339 or epoch seconds
    #[arg(long, value_name = "TIME", requires = "start")]
    pub end: Option<String>,
    /// Fail unless this group exists (repeatable)
    #[arg(long = "expect-group", value_name = "NAME")]
    pub expect_groups: Vec<String>,
    /// Fail unless this sampling rule exists (repeatable)
    #[arg(long = "expect-rule", value_name = "NAME")]
    pub expect_rules: Vec<String>,
    /// Fail with fewer traces than this in the window
    #[arg(long, value_name = "N")]
    pub min_traces: Option<u64>,
    /// Fail when faults / traces is above this (0 to 1)
    #[arg(long, value_name = "RATE")]
    pub max_fault_rate: Option<f64>,
    /// Fail when the 95th-percentile response time is above this many seconds
    #[arg(long, value_name = "SECONDS")]
    pub max_p95: Option<f64>,
    /// Poll until every check holds or this much time has passed, e.g. 2m (at most 24h)
    #[arg(long, value_name = "DURATION")]
    pub wait: Option<String>,
    /// Fail unless this trace exists; with --group, also say whether it matched (repeatable)
    #[arg(long = "trace-id", value_name = "ID")]
    pub trace_ids: Vec<String>,
}

pub async fn run(args: Args, ctx: &Context) -> Result<Outcome> {
    // Check the flags before touching AWS configuration, so bad input exits 252.
    let plan = Plan::from_args(&args)?;
    // The one place verify reads the process environment.
    let mut env = Env::from_process(&ctx.global);
    let client = ctx.xray().await?;
    // The profile may name the region too; diagnostics should name the one in use.
    env.region = client.region().or(env.region);
    let mut stdout = std::io::stdout();
    let mut stderr = std::io::stderr();
    crate::verify::run_with(&plan, &client, &env, &mut stdout, &mut stderr).await
}

impl From<Flags> for Args {
    fn from(flags: Flags) -> Args {
        Args {
            flags: Box::new(flags),
        }
    }
}
