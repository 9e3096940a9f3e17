//! Building the AWS SDK configuration from the global flags.
//!
//! Precedence, as in the AWS CLI v2:
//! - region: `--region` > `AWS_REGION` / `AWS_DEFAULT_REGION` > the profile;
//! - profile: `--profile` > `AWS_PROFILE` > `default`;
//! - endpoint: `--endpoint-url` > `AWS_ENDPOINT_URL_XRAY` > `AWS_ENDPOINT_URL` > the profile.
//!
//! aws-config resolves the environment and the profile itself; only the flags are applied
//! here. A missing region or missing credentials is an [`Error::Config`] (exit 253) found
//! before the first request, never a silent fallback.

use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::provider::ProvideCredentials;
use aws_credential_types::provider::error::CredentialsError;

use crate::cli::{GlobalArgs, RetryMode};
use crate::error::{Error, Result};

/// The message for a missing region.
pub const NO_REGION: &str = "no AWS region: pass --region, set AWS_REGION (or AWS_DEFAULT_REGION), or set `region` in the profile (~/.aws/config)";

/// The sources the default credentials chain tries, for the "no credentials" message.
pub const CREDENTIAL_SOURCES: &str = "environment variables (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY), web identity token, the profile in ~/.aws/config and ~/.aws/credentials (static keys, SSO, credential_process, assume role), container credentials (ECS), instance metadata (EC2)";

/// The per-attempt timeout: the operation's budget shared by its attempts, but never
/// shorter than a connection may take, and never longer than the operation.
pub fn attempt_timeout(global: &GlobalArgs) -> Duration {
    let share = global.operation_timeout / global.max_attempts.max(1);
    share
        .max(global.connect_timeout + Duration::from_secs(1))
        .min(global.operation_timeout)
}

/// Timeouts and retries from the flags.
pub fn timeout_config(global: &GlobalArgs) -> TimeoutConfig {
    TimeoutConfig::builder()
        .connect_timeout(global.connect_timeout)
        .operation_timeout(global.operation_timeout)
        .operation_attempt_timeout(attempt_timeout(global))
        .build()
}

pub fn retry_config(global: &GlobalArgs) -> RetryConfig {
    let base = match global.retry_mode {
        RetryMode::Standard => RetryConfig::standard(),
        RetryMode::Adaptive => RetryConfig::adaptive(),
    };
    base.with_max_attempts(global.max_attempts)
}

/// Load the configuration and check that it has a region and that credentials resolve,
/// so a missing piece is reported before any request is sent.
pub async fn load(global: &GlobalArgs) -> Result<SdkConfig> {
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .timeout_config(timeout_config(global))
        .retry_config(retry_config(global));
    if let Some(region) = &global.region {
        if region.trim().is_empty() {
            return Err(Error::invalid("--region must not be empty"));
        }
        if !is_region_name(region) {
            return Err(Error::invalid(format!(
                "--region must be a region name such as us-east-1: lowercase letters, digits and '-' (got {region:?})"
            )));
        }
        loader = loader.region(Region::new(region.clone()));
    }
    if let Some(profile) = &global.profile {
        if profile.trim().is_empty() {
            return Err(Error::invalid("--profile must not be empty"));
        }
        if let Some(c) = profile.chars().find(|c| c.is_control()) {
            return Err(Error::invalid(format!(
                "--profile must not contain control characters (found U+{:04X})",
                c as u32
            )));
        }
        loader = loader.profile_name(profile);
    }
    if let Some(url) = &global.endpoint_url {
        check_endpoint_url(url)?;
        loader = loader.endpoint_url(url);
    }
    let config = loader.load().await;
    let Some(region) = config.region() else {
        return Err(Error::Config(
            missing_profile(global)
                .await
                .unwrap_or_else(|| NO_REGION.into()),
        ));
    };
    if !is_region_name(region.as_ref()) {
        return Err(Error::Config(format!(
            "the region {:?} (from AWS_REGION, AWS_DEFAULT_REGION or the profile) is not a region name such as us-east-1",
            region.as_ref()
        )));
    }
    let Some(provider) = config.credentials_provider() else {
        return Err(Error::Config(no_credentials(None)));
    };
    if let Err(e) = provider.provide_credentials().await {
        if let CredentialsError::CredentialsNotLoaded(_) = e
            && let Some(m) = missing_profile(global).await
        {
            return Err(Error::Config(m));
        }
        return Err(Error::Config(credentials_message(&e)));
    }
    Ok(config)
}

/// When a profile was named (`--profile`, else `AWS_PROFILE`) and the AWS config files do
/// not define it, say so: that is the likely reason a region or credentials are missing.
/// Only asked after a failure, because credentials from the environment work without it.
async fn missing_profile(global: &GlobalArgs) -> Option<String> {
    use aws_types::os_shim_internal::{Env, Fs};
    let (name, source) = match &global.profile {
        Some(p) => (p.clone(), "--profile"),
        None => (
            std::env::var("AWS_PROFILE")
                .ok()
                .filter(|p| !p.is_empty())?,
            "AWS_PROFILE",
        ),
    };
    // The default file locations (AWS_CONFIG_FILE, AWS_SHARED_CREDENTIALS_FILE, ~/.aws).
    let set = aws_config::profile::load(
        &Fs::real(),
        &Env::real(),
        &Default::default(),
        Some(name.clone().into()),
    )
    .await;
    let defined = match &set {
        Ok(set) => set.get_profile(&name).is_some(),
        Err(e) => {
            return Some(format!(
                "cannot read the AWS config files for profile `{name}` ({source}): {}",
                error_chain(e)
            ));
        }
    };
    (!defined).then(|| {
        format!(
            "profile `{name}` ({source}) is not defined in the AWS config files (AWS_CONFIG_FILE or ~/.aws/config, AWS_SHARED_CREDENTIALS_FILE or ~/.aws/credentials); check the name or run `aws configure --profile {name}`"
        )
    })
}

/// A region name as the SDK accepts it in an endpoint: a DNS label (`us-east-1`).
pub fn is_region_name(region: &str) -> bool {
    !region.is_empty()
        && region.len() <= 63
        && region
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !region.starts_with('-')
        && !region.ends_with('-')
}

/// `--endpoint-url` must be an absolute http(s) URL.
pub fn check_endpoint_url(url: &str) -> Result<()> {
    let rest = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"));
    match rest {
        Some(host)
            if !host.is_empty()
                && !host.starts_with('/')
                && !url.contains(|c: char| c.is_whitespace() || c.is_control()) =>
        {
            Ok(())
        }
        _ => Err(Error::invalid(format!(
            "--endpoint-url must be an http:// or https:// URL with a host (got {url:?})"
        ))),
    }
}

/// One line for a credentials failure. A chain that found nothing names the sources it
/// tried; a source that failed (a bad profile, an expired SSO session) says why.
pub fn credentials_message(e: &CredentialsError) -> String {
    match e {
        CredentialsError::CredentialsNotLoaded(_) => no_credentials(None),
        other => no_credentials(Some(&error_chain(other))),
    }
}

fn no_credentials(cause: Option<&str>) -> String {
    let fix = "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, pass --profile (or set AWS_PROFILE), or run `aws sso login`";
    match cause {
        None => format!("no AWS credentials found; tried {CREDENTIAL_SOURCES}; {fix}"),
        Some(cause) => format!("cannot load AWS credentials: {cause}; {fix}"),
    }
}

/// An error and its sources on one line, `a: b: c`, texts already shown dropped.
///
/// Like `DisplayErrorContext` without its trailing `Debug` dump, which is long and could
/// carry configuration values (profile contents) that must not be printed.
pub fn error_chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut cur = Some(err);
    while let Some(e) = cur {
        let text = one_line(&e.to_string());
        if !text.is_empty() && !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        cur = e.source();
    }
    parts.join(": ")
}

/// Collapse a multi-line error text into one line.
pub fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn global(args: &[&str]) -> GlobalArgs {
        let mut argv = vec!["cruddur-xray"];
        argv.extend_from_slice(args);
        argv.push("send-test-trace");
        crate::cli::Cli::try_parse_from(argv).unwrap().global
    }

    #[test]
    fn attempts_share_the_operation_budget() {
        let g = global(&["--operation-timeout", "30", "--max-attempts", "3"]);
        assert_eq!(attempt_timeout(&g), Duration::from_secs(10));
        let t = timeout_config(&g);
        assert_eq!(t.operation_timeout(), Some(Duration::from_secs(30)));
        assert_eq!(t.operation_attempt_timeout(), Some(Duration::from_secs(10)));
        assert_eq!(t.connect_timeout(), Some(Duration::from_secs(5)));
        // Never shorter than a connection may take, never longer than the operation.
        let g = global(&[
            "--operation-timeout",
            "4",
            "--max-attempts",
            "10",
            "--connect-timeout",
            "1",
        ]);
        assert_eq!(attempt_timeout(&g), Duration::from_secs(2));
        let g = global(&["--operation-timeout", "1", "--connect-timeout", "5"]);
        assert_eq!(attempt_timeout(&g), Duration::from_secs(1));
    }

    #[test]
    fn retry_mode_and_attempts_come_from_the_flags() {
        let r = retry_config(&global(&[
            "--max-attempts",
            "7",
            "--retry-mode",
            "adaptive",
        ]));
        assert_eq!(r.max_attempts(), 7);
        assert_eq!(r.mode(), aws_config::retry::RetryMode::Adaptive);
        let r = retry_config(&global(&[]));
        assert_eq!(r.max_attempts(), 3);
        assert_eq!(r.mode(), aws_config::retry::RetryMode::Standard);
    }

    #[test]
    fn region_names_are_dns_labels() {
        for good in ["us-east-1", "eu-west-1", "cn-north-1", "us-gov-west-1"] {
            assert!(is_region_name(good), "{good}");
        }
        for bad in [
            "",
            "US-EAST-1",
            "us east 1",
            "us-east-1\u{7}",
            "us-east-1\n",
            "-x",
        ] {
            assert!(!is_region_name(bad), "{bad:?}");
        }
    }

    #[test]
    fn endpoint_urls_need_a_scheme_and_host() {
        assert!(check_endpoint_url("http://127.0.0.1:4000").is_ok());
        assert!(check_endpoint_url("https://xray.eu-west-1.amazonaws.com").is_ok());
        for bad in [
            "127.0.0.1:4000",
            "http://",
            "ftp://x",
            "http:// x",
            "http://127.0.0.1:1/\u{7}",
        ] {
            let e = check_endpoint_url(bad).unwrap_err();
            assert_eq!(e.exit().code(), 252, "{bad}");
            assert!(e.to_string().starts_with("--endpoint-url "), "{e}");
        }
    }

    #[derive(Debug)]
    struct Layer(&'static str, Option<Box<Layer>>);
    impl std::fmt::Display for Layer {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str(self.0)
        }
    }
    impl std::error::Error for Layer {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            self.1.as_deref().map(|l| l as _)
        }
    }

    #[test]
    fn error_chains_are_one_line_without_repeats_or_debug() {
        let e = Layer(
            "io error",
            Some(Box::new(Layer(
                "tcp connect error:\n  refused",
                Some(Box::new(Layer("refused", None))),
            ))),
        );
        assert_eq!(error_chain(&e), "io error: tcp connect error: refused");
    }

    #[test]
    fn credentials_messages_name_sources_and_fixes() {
        let m = credentials_message(&CredentialsError::not_loaded_no_source());
        assert!(m.starts_with("no AWS credentials found; tried environment variables"));
        assert!(m.contains("credential_process"));
        assert!(m.contains("instance metadata"));
        assert!(m.contains("--profile"));
        let m = credentials_message(&CredentialsError::invalid_configuration(
            "profile `x` is\nnot defined",
        ));
        assert!(m.starts_with("cannot load AWS credentials: "), "{m}");
        assert!(m.contains("profile `x` is not defined"), "{m}");
        assert!(!m.contains('\n'));
    }
}
