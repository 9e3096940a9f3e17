//! Command-line arguments (clap derive). Flags shared by every command live in
//! [`GlobalArgs`], flattened into the top level so they work before or after the command.

use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::commands;
use crate::error::EXIT_CODES_HELP;

#[derive(Debug, Parser)]
#[command(
    name = "cruddur-xray",
    version,
    about = "Provision and verify AWS X-Ray groups and sampling rules; safe to re-run",
    after_help = EXIT_CODES_HELP,
    propagate_version = true
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create a group, or update it in place, or leave it alone (says which)
    CreateGroup(commands::create_group::Args),
    /// Create a sampling rule from an AWS CLI --cli-input-json file, or update it in place
    CreateSamplingRule(commands::create_sampling_rule::Args),
    /// Check groups, sampling rules and recent traces; exit 1 when a check fails
    Verify(commands::verify::Args),
    /// Check filter expressions and rule files offline (no credentials, no network)
    Validate(commands::validate::Args),
    /// Send one synthetic trace segment and print its trace ID
    SendTestTrace(commands::send_test_trace::Args),
    /// Run the local X-Ray-compatible emulator
    Emulator(commands::emulator::Args),
    /// Run the whole flow against an in-process emulator
    Demo(commands::demo::Args),
}

/// Flags every command accepts.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Global options")]
pub struct GlobalArgs {
    /// AWS region (else AWS_REGION, AWS_DEFAULT_REGION, then the profile)
    #[arg(long, global = true, value_name = "REGION")]
    pub region: Option<String>,
    /// Named profile from the AWS config files (else AWS_PROFILE)
    #[arg(long, global = true, value_name = "NAME")]
    pub profile: Option<String>,
    /// X-Ray endpoint (else AWS_ENDPOINT_URL_XRAY, AWS_ENDPOINT_URL, then the profile)
    #[arg(long, global = true, value_name = "URL")]
    pub endpoint_url: Option<String>,
    /// Output format for the result on stdout
    #[arg(long, global = true, value_enum, default_value_t = OutputFormat::Text)]
    pub output: OutputFormat,
    /// More logs on stderr (-v, -vv, -vvv). Credentials are never logged.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// No colours (NO_COLOR is honoured too)
    #[arg(long, global = true)]
    pub no_color: bool,
    /// Seconds to wait for a TCP connection
    #[arg(long, global = true, value_name = "SECONDS", default_value = "5", value_parser = parse_seconds)]
    pub connect_timeout: Duration,
    /// Seconds one operation may take, retries included
    #[arg(long, global = true, value_name = "SECONDS", default_value = "60", value_parser = parse_seconds)]
    pub operation_timeout: Duration,
    /// Attempts per request, the first included (the SDK's standard retry)
    #[arg(long, global = true, value_name = "N", default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=20))]
    pub max_attempts: u32,
    /// Retry strategy
    #[arg(long, global = true, value_enum, default_value_t = RetryMode::Standard)]
    pub retry_mode: RetryMode,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RetryMode {
    Standard,
    Adaptive,
}

/// Parse a number of seconds (fractions allowed), e.g. `5` or `0.5`.
pub fn parse_seconds(s: &str) -> Result<Duration, String> {
    let secs: f64 = s
        .parse()
        .map_err(|_| format!("expected a number of seconds, got {s:?}"))?;
    if !secs.is_finite() || secs <= 0.0 || secs > 86_400.0 {
        return Err(format!(
            "must be more than 0 and at most 86400 seconds, got {s}"
        ));
    }
    Ok(Duration::from_secs_f64(secs))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn global_flags_work_after_the_command() {
        let cli = Cli::try_parse_from([
            "cruddur-xray",
            "verify",
            "--region",
            "eu-west-1",
            "--output",
            "json",
        ])
        .unwrap();
        assert_eq!(cli.global.region.as_deref(), Some("eu-west-1"));
        assert_eq!(cli.global.output, OutputFormat::Json);
    }

    #[test]
    fn timeouts_must_be_positive_numbers() {
        assert_eq!(parse_seconds("0.5"), Ok(Duration::from_millis(500)));
        assert!(parse_seconds("0").is_err());
        assert!(parse_seconds("soon").is_err());
        assert!(parse_seconds("NaN").is_err());
    }
}
