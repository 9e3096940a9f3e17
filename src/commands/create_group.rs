//! `create-group`: create an X-Ray group, update it in place, or leave it alone.

use crate::commands::{ApplyOptions, Context, Outcome};
use crate::error::{Error, Result};
use crate::output::{self, ApplyReport, Resource};
use crate::reconcile;
use crate::spec::{GroupSpec, Tags};
use crate::xray::XRay;

/// Group names are 1 to 32 characters.
pub const MAX_GROUP_NAME: usize = 32;

#[derive(Debug, clap::Args)]
#[command(after_help = "\
Tags: --tag flags are the group's full set of tags. With at least one --tag, tags that are \
missing are added, changed values are overwritten and other keys are removed (aws: keys are \
never touched). Without --tag, the group's tags are left alone.

An existing group whose filter expression or insights settings differ from the flags is \
updated to match (or reported, with --no-update). Without --filter-expression, an existing \
group's filter is left alone; --insights and --notifications are always compared.")]
pub struct Args {
    /// Group name: 1 to 32 characters, case-sensitive
    #[arg(long, value_name = "NAME")]
    pub group_name: String,
    /// Filter expression selecting the group's traces, e.g. 'service("backend-flask")'
    #[arg(long, value_name = "EXPR")]
    pub filter_expression: Option<String>,
    /// Enable X-Ray Insights for the group
    #[arg(long)]
    pub insights: bool,
    /// Enable Insights notifications (needs --insights)
    #[arg(long)]
    pub notifications: bool,
    /// A tag KEY=VALUE; repeat for more (the full set, see below)
    #[arg(long = "tag", value_name = "KEY=VALUE")]
    pub tags: Vec<String>,
    /// Print the plan, send no write
    #[arg(long)]
    pub dry_run: bool,
    /// Create the group if missing, but do not update an existing one: report a difference
    /// and exit 1
    #[arg(long)]
    pub no_update: bool,
}

/// Check the flags and build the desired group. Nothing is sent before this succeeds.
pub fn spec_from_args(args: &Args) -> Result<GroupSpec> {
    check_group_name(&args.group_name)?;
    if args.notifications && !args.insights {
        return Err(Error::invalid("--notifications requires --insights"));
    }
    if let Some(expr) = &args.filter_expression {
        check_filter_expression(expr)?;
    }
    Ok(GroupSpec {
        name: args.group_name.clone(),
        filter_expression: args.filter_expression.clone(),
        insights_enabled: args.insights,
        notifications_enabled: args.notifications,
        tags: parse_tags("--tag", &args.tags)?,
    })
}

pub fn check_group_name(name: &str) -> Result<()> {
    let len = name.chars().count();
    if len == 0 || len > MAX_GROUP_NAME {
        return Err(Error::invalid(format!(
            "--group-name must be 1..={MAX_GROUP_NAME} characters long (got {len})"
        )));
    }
    if let Some(c) = name.chars().find(|c| c.is_control()) {
        return Err(Error::invalid(format!(
            "--group-name must not contain control characters (found U+{:04X})",
            c as u32
        )));
    }
    Ok(())
}

/// Check a filter expression locally: X-Ray may accept a bad one and then quietly match
/// nothing. The first line names the flag, the position and the first problem; a caret
/// drawing follows for each problem.
pub fn check_filter_expression(expr: &str) -> Result<()> {
    if expr.trim().is_empty() {
        return Err(Error::invalid(
            "--filter-expression must not be empty (leave the flag out for a group without a filter)",
        ));
    }
    match crate::filter::parse(expr) {
        Ok(_) => Ok(()),
        Err(errors) => Err(Error::invalid(filter_problems(
            "--filter-expression",
            expr,
            &errors,
        ))),
    }
}

/// `FLAG:LINE:COL: message` and the caret drawing, for each problem. The caller's
/// `error: ` prefix covers the first; the others get their own.
pub fn filter_problems(flag: &str, expr: &str, errors: &[crate::filter::FilterError]) -> String {
    if errors.is_empty() {
        return format!("{flag} is not valid");
    }
    let mut out = String::new();
    for (i, e) in errors.iter().enumerate() {
        if i > 0 {
            out.push_str("error: ");
        }
        out.push_str(&format!("{flag}:{}:{}: {}\n", e.line, e.column, e.message));
        out.push_str(&e.snippet(expr, false));
    }
    out.trim_end().to_owned()
}

/// Parse `KEY=VALUE` tags with the service's limits: keys 1 to 128 characters and not
/// `aws:`, values 0 to 256, at most 50, each key once.
pub fn parse_tags(flag: &str, raw: &[String]) -> Result<Tags> {
    const MAX_TAGS: usize = 50;
    let mut tags = Tags::new();
    if raw.len() > MAX_TAGS {
        return Err(Error::invalid(format!(
            "{flag}: at most {MAX_TAGS} tags (got {})",
            raw.len()
        )));
    }
    for t in raw {
        let Some((k, v)) = t.split_once('=') else {
            return Err(Error::invalid(format!(
                "{flag} must be KEY=VALUE (got {t:?})"
            )));
        };
        if let Some(c) = t.chars().find(|c| c.is_control()) {
            return Err(Error::invalid(format!(
                "{flag} must not contain control characters (found U+{:04X} in {t:?})",
                c as u32
            )));
        }
        let klen = k.chars().count();
        if klen == 0 || klen > 128 {
            return Err(Error::invalid(format!(
                "{flag} key must be 1..=128 characters long (got {klen} in {t:?})"
            )));
        }
        if v.chars().count() > 256 {
            return Err(Error::invalid(format!(
                "{flag} {k}: value must be at most 256 characters long (got {})",
                v.chars().count()
            )));
        }
        if crate::spec::is_aws_tag_key(k) {
            return Err(Error::invalid(format!(
                "{flag} key must not start with \"aws:\" (reserved for AWS; got {k:?})"
            )));
        }
        if tags.insert(k.to_owned(), v.to_owned()).is_some() {
            return Err(Error::invalid(format!("{flag} {k} is given twice")));
        }
    }
    Ok(tags)
}

/// Read, plan, and (unless told not to) write. The report says what happened.
pub async fn execute(
    xray: &impl XRay,
    desired: &GroupSpec,
    opts: ApplyOptions,
) -> Result<(ApplyReport, Outcome)> {
    let plan = reconcile::plan_group(xray, desired).await?;
    let mut report = ApplyReport {
        action: plan.action,
        dry_run: opts.dry_run,
        applied: false,
        resource: Resource::Group,
        name: desired.name.clone(),
        arn: plan.current.as_ref().map(|g| g.arn.clone()),
        changes: plan.changes.clone(),
    };
    let outcome = opts.outcome(plan.action);
    if !opts.writes(plan.action) {
        return Ok((report, outcome));
    }
    let group = reconcile::apply_group(xray, &plan).await?;
    report.applied = true;
    report.arn = Some(group.arn);
    Ok((report, outcome))
}

pub async fn run(args: Args, ctx: &Context) -> Result<Outcome> {
    let desired = spec_from_args(&args)?;
    let opts = ApplyOptions {
        dry_run: args.dry_run,
        no_update: args.no_update,
    };
    let xray = ctx.xray().await?;
    let (report, outcome) = execute(&xray, &desired, opts).await?;
    output::emit(&report, ctx.global.output)?;
    Ok(outcome)
}

#[cfg(test)]
#[path = "create_group_tests.rs"]
mod tests;
