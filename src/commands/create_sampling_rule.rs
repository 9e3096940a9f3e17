//! `create-sampling-rule`: create a sampling rule from an AWS CLI `--cli-input-json` file,
//! update it in place, or leave it alone.

use crate::commands::{ApplyOptions, Context, Outcome};
use crate::error::{Error, Result};
use crate::output::{self, ApplyReport, Resource};
use crate::reconcile;
use crate::spec::{Located, RuleFile, SamplingRule, Tags, load_rule_file};
use crate::xray::XRay;

#[derive(Debug, clap::Args)]
#[command(after_help = "\
The file has the AWS CLI's --cli-input-json shape: \
{\"SamplingRule\": {...}, \"Tags\": [{\"Key\": \"...\", \"Value\": \"...\"}]}. \
Every field of an existing rule is compared and updated in place; Version cannot change. \
The Default rule allows only FixedRate and ReservoirSize to change. Tags in the file are \
the rule's full set (missing ones added, others removed); without Tags, tags are left alone.")]
pub struct Args {
    /// The rule file: PATH or file://PATH
    #[arg(long, value_name = "PATH")]
    pub file: String,
    /// Print the plan, send no write
    #[arg(long)]
    pub dry_run: bool,
    /// Create the rule if missing, but do not update an existing one: report a difference
    /// and exit 1
    #[arg(long)]
    pub no_update: bool,
}

/// The first problem of a rule file as the command's one-line error.
pub fn first_problem(problems: &[Located]) -> Error {
    match problems {
        [] => Error::invalid("the rule file is not valid"),
        [only] => Error::invalid(only.to_string()),
        [first, rest @ ..] => Error::invalid(format!(
            "{first} (and {} more; `cruddur-xray validate` lists them all)",
            rest.len()
        )),
    }
}

pub fn load(arg: &str) -> Result<RuleFile> {
    load_rule_file(arg).map_err(|p| first_problem(&p))
}

/// Read, plan, and (unless told not to) write. The report says what happened.
pub async fn execute(
    xray: &impl XRay,
    rule: &SamplingRule,
    tags: &Tags,
    opts: ApplyOptions,
) -> Result<(ApplyReport, Outcome)> {
    let plan = reconcile::plan_sampling_rule(xray, rule, tags).await?;
    let mut report = ApplyReport {
        action: plan.action,
        dry_run: opts.dry_run,
        applied: false,
        resource: Resource::SamplingRule,
        name: plan.name.clone(),
        arn: plan.current.as_ref().map(|r| r.arn.clone()),
        changes: plan.changes.clone(),
    };
    let outcome = opts.outcome(plan.action);
    if !opts.writes(plan.action) {
        return Ok((report, outcome));
    }
    let record = reconcile::apply_sampling_rule(xray, &plan).await?;
    report.applied = true;
    report.arn = Some(record.arn);
    Ok((report, outcome))
}

pub async fn run(args: Args, ctx: &Context) -> Result<Outcome> {
    let file = load(&args.file)?;
    let opts = ApplyOptions {
        dry_run: args.dry_run,
        no_update: args.no_update,
    };
    let xray = ctx.xray().await?;
    let (report, outcome) = execute(&xray, &file.rule, &file.tags, opts).await?;
    output::emit(&report, ctx.global.output)?;
    Ok(outcome)
}

#[cfg(test)]
#[path = "create_sampling_rule_tests.rs"]
mod tests;
