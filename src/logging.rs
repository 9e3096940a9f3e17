//! Logs go to stderr, never stdout. `-v` shows this crate's info, `-vv` its debug, `-vvv`
//! the SDK's debug too. The SDK does not log credential values at these levels, and a test
//! runs every command at the highest level with a recognisable secret to keep it so.

use tracing::level_filters::LevelFilter;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::prelude::*;

/// Whether stderr may carry colour: not with `--no-color`, not with NO_COLOR set to
/// anything non-empty, not when stderr is not a terminal.
pub fn color_enabled(no_color: bool) -> bool {
    use std::io::IsTerminal;
    !no_color
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
        && std::io::stderr().is_terminal()
}

pub fn init(verbose: u8, no_color: bool) {
    let (own, others) = match verbose {
        0 => (LevelFilter::WARN, LevelFilter::ERROR),
        1 => (LevelFilter::INFO, LevelFilter::WARN),
        2 => (LevelFilter::DEBUG, LevelFilter::INFO),
        _ => (LevelFilter::TRACE, LevelFilter::DEBUG),
    };
    let filter = Targets::new()
        .with_default(others)
        .with_target("cruddur_xray", own)
        // aws-sigv4 logs the canonical request at debug, and that carries the session
        // token header. It never gets past info.
        .with_target("aws_sigv4", LevelFilter::INFO.min(others))
        // The orchestrator's endpoint and auth steps debug-print the resolved identity
        // (the access key ID; the secret is redacted) and the endpoint URL with any
        // user:password in it. Credentials stay out of the logs at every level.
        .with_target(
            "aws_smithy_runtime::client::orchestrator::endpoints",
            LevelFilter::INFO.min(others),
        )
        .with_target(
            "aws_smithy_runtime::client::orchestrator::auth",
            LevelFilter::INFO.min(others),
        )
        .with_target(
            "aws_smithy_runtime::client::identity",
            LevelFilter::INFO.min(others),
        )
        .with_target("aws_config", LevelFilter::INFO.min(others));
    let layer = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(color_enabled(no_color))
        .with_target(verbose >= 2);
    let _ = tracing_subscriber::registry()
        .with(layer.with_filter(filter))
        .try_init();
}
