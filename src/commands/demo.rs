//! `demo`: the whole Cruddur flow against an in-process emulator, over real HTTP on a free
//! loopback port, with throwaway credentials. It reads none of the user's AWS settings.

use std::collections::BTreeMap;
use std::io::Write;

use aws_credential_types::Credentials;
use aws_credential_types::provider::SharedCredentialsProvider;
use aws_types::SdkConfig;
use aws_types::region::Region;

use crate::cli::OutputFormat;
use crate::commands::{
    ApplyOptions, Context, Outcome, create_group, create_sampling_rule, send_test_trace,
};
use crate::emulator::{self, EmulatorOptions};
use crate::error::{Error, Result};
use crate::spec::{GroupSpec, load_rule_bytes, load_rule_file};
use crate::trace::Segment;
use crate::verify::{Env, Plan};
use crate::xray::XRay;
use crate::xray::sdk::SdkXRay;

/// The Cruddur rule, for when the demo runs outside a checkout.
const BUNDLED_RULE: &str = include_str!("../../aws/json/xray.json");
const DEFAULT_RULE_FILE: &str = "aws/json/xray.json";

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Rule file to apply; when left at the default and that file is missing (outside a
    /// checkout), the bundled Cruddur rule
    #[arg(long, value_name = "PATH", default_value = DEFAULT_RULE_FILE)]
    pub file: String,
    /// How many backend-flask traces to send
    #[arg(long, value_name = "N", default_value_t = 12, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub traces: u32,
}

const SERVICE: &str = "backend-flask";
const GROUP: &str = "Cruddur";
const FILTER: &str = "service(\"backend-flask\")";

fn step(title: &str) {
    let mut out = std::io::stdout();
    let _ = writeln!(out, "\n$ {title}");
}

fn say(text: impl std::fmt::Display) {
    let mut out = std::io::stdout();
    let _ = writeln!(out, "{text}");
}

/// An SDK client for the emulator: its URL, a fixed region, throwaway keys, and the
/// user's timeout and retry flags.
fn demo_client(ctx: &Context, url: &str) -> SdkXRay {
    let region = ctx
        .global
        .region
        .clone()
        .unwrap_or_else(|| "us-east-1".into());
    let config = SdkConfig::builder()
        .behavior_version(aws_config::BehaviorVersion::latest())
        .region(Region::new(region))
        .endpoint_url(url)
        .credentials_provider(SharedCredentialsProvider::new(Credentials::new(
            "AKIDCRUDDURDEMO",
            "cruddur-demo-secret",
            None,
            None,
            "cruddur-xray-demo",
        )))
        .timeout_config(crate::aws::timeout_config(&ctx.global))
        .retry_config(crate::aws::retry_config(&ctx.global))
        .build();
    SdkXRay::new(&config)
}

/// A handful of realistic backend-flask requests: mostly fast 200s, one slow, one fault.
fn demo_segments(count: u32, now: f64) -> Vec<Segment> {
    let paths = [
        "/api/activities/home",
        "/api/activities/notifications",
        "/api/message_groups",
    ];
    (0..count)
        .map(|i| {
            let end = now - f64::from(count - i) * 0.5;
            let mut seg = send_test_trace::test_segment(SERVICE, BTreeMap::new(), end);
            let elapsed = match i % 6 {
                5 => 1.2,
                n => 0.02 + 0.015 * f64::from(n),
            };
            seg.start_time = end - elapsed;
            if let Some(req) = seg.http.as_mut().and_then(|h| h.request.as_mut()) {
                req.url = Some(format!(
                    "http://localhost:4567{}",
                    paths[i as usize % paths.len()]
                ));
                req.user_agent = Some("Mozilla/5.0 (cruddur demo)".into());
            }
            if i == count / 2 {
                seg.fault = true;
                if let Some(resp) = seg.http.as_mut().and_then(|h| h.response.as_mut()) {
                    resp.status = Some(500);
                }
            }
            seg
        })
        .collect()
}

async fn apply_group(xray: &SdkXRay, spec: &GroupSpec) -> Result<()> {
    let (report, _) = create_group::execute(xray, spec, ApplyOptions::default()).await?;
    say(report);
    Ok(())
}

async fn apply_rule(xray: &SdkXRay, rule: &crate::spec::RuleFile) -> Result<()> {
    let (report, _) =
        create_sampling_rule::execute(xray, &rule.rule, &rule.tags, ApplyOptions::default())
            .await?;
    say(report);
    Ok(())
}

pub async fn run(args: Args, ctx: &Context) -> Result<Outcome> {
    // stdout is a walkthrough for people; `--output json` promises one JSON document.
    if ctx.global.output == OutputFormat::Json {
        return Err(Error::invalid(
            "--output json: demo prints a walkthrough for people, not JSON; run verify --output json for a machine-readable result",
        ));
    }
    let rule = if std::path::Path::new(&args.file).exists() || args.file != DEFAULT_RULE_FILE {
        load_rule_file(&args.file)
    } else {
        load_rule_bytes("(bundled) aws/json/xray.json", BUNDLED_RULE.as_bytes())
    }
    .map_err(|p| create_sampling_rule::first_problem(&p))?;

    let emu = emulator::start(EmulatorOptions::default())
        .await
        .map_err(|e| Error::Other(format!("cannot start the emulator: {e}")))?;
    let url = emu.url();
    say(format!(
        "cruddur-xray demo: X-Ray emulator listening on {url}"
    ));
    let xray = demo_client(ctx, &url);

    let group = GroupSpec {
        name: GROUP.into(),
        filter_expression: Some(FILTER.into()),
        ..GroupSpec::default()
    };
    create_group::check_filter_expression(FILTER)?;
    let group_cmd =
        format!("cruddur-xray create-group --group-name {GROUP} --filter-expression '{FILTER}'");
    let rule_cmd = format!("cruddur-xray create-sampling-rule --file {}", rule.path);
    for round in ["", "   # again: safe to re-run"] {
        step(&format!("{group_cmd}{round}"));
        apply_group(&xray, &group).await?;
        step(&format!("{rule_cmd}{round}"));
        apply_rule(&xray, &rule).await?;
    }

    step(&format!(
        "(the app) send {} {SERVICE} trace segments",
        args.traces
    ));
    let now = crate::trace::now();
    let documents = demo_segments(args.traces, now)
        .iter()
        .map(serde_json::to_string)
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| Error::Other(format!("cannot encode a segment: {e}")))?;
    let unprocessed = xray.put_trace_segments(documents).await?;
    say(format!(
        "sent {} segments, {} unprocessed",
        args.traces,
        unprocessed.len()
    ));

    let verify_cmd = format!(
        "cruddur-xray verify --expect-group {GROUP} --expect-rule {GROUP} --group {GROUP} --min-traces 1"
    );
    step(&verify_cmd);
    let flags = crate::commands::verify::Flags {
        groups: vec![GROUP.into()],
        expect_groups: vec![GROUP.into()],
        expect_rules: vec![GROUP.into()],
        min_traces: Some(1),
        ..Default::default()
    };
    let plan = Plan::from_args(&flags.into())?;
    let mut env = Env::from_process(&ctx.global);
    env.step_summary = None;
    env.github_actions = false;
    env.region = xray.region();
    let outcome = crate::verify::run_with(
        &plan,
        &xray,
        &env,
        &mut std::io::stdout(),
        &mut std::io::stderr(),
    )
    .await?;
    let _ = emu.shutdown().await;
    Ok(outcome)
}
