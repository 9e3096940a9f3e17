//! The SDK implementation against aws-smithy-mocks: pagination, not-found, error mapping,
//! retries. Nothing leaves the process except the one test that dials 127.0.0.1:1.

use std::time::Duration;

use aws_sdk_xray::Client;
use aws_sdk_xray::config::retry::RetryConfig;
use aws_sdk_xray::operation::create_group::{CreateGroupError, CreateGroupOutput};
use aws_sdk_xray::operation::get_group::{GetGroupError, GetGroupOutput};
use aws_sdk_xray::operation::get_groups::GetGroupsOutput;
use aws_sdk_xray::operation::get_sampling_rules::{GetSamplingRulesError, GetSamplingRulesOutput};
use aws_sdk_xray::types::error::{InvalidRequestException, ThrottledException};
use aws_sdk_xray::types::{GroupSummary, SamplingRule as SdkRule, SamplingRuleRecord};
use aws_smithy_mocks::{RuleMode, mock, mock_client};
use aws_smithy_types::error::ErrorMetadata;

use super::*;

fn fast_retries(n: u32) -> RetryConfig {
    RetryConfig::standard()
        .with_max_attempts(n)
        .with_initial_backoff(Duration::from_millis(1))
        .with_max_backoff(Duration::from_millis(5))
}

fn summary(name: &str) -> GroupSummary {
    GroupSummary::builder()
        .group_name(name)
        .group_arn(format!("arn:aws:xray:us-east-1:1:group/{name}/X"))
        .build()
}

fn invalid_request(message: &str) -> InvalidRequestException {
    InvalidRequestException::builder()
        .message(message)
        .meta(
            ErrorMetadata::builder()
                .code("InvalidRequestException")
                .message(message)
                .build(),
        )
        .build()
}

#[tokio::test]
async fn get_groups_follows_every_page() {
    let first = mock!(Client::get_groups)
        .match_requests(|r| r.next_token().is_none())
        .then_output(|| {
            GetGroupsOutput::builder()
                .groups(summary("Default"))
                .groups(summary("Cruddur"))
                .next_token("page-2")
                .build()
        });
    let second = mock!(Client::get_groups)
        .match_requests(|r| r.next_token() == Some("page-2"))
        .then_output(|| GetGroupsOutput::builder().groups(summary("Other")).build());
    let client = mock_client!(aws_sdk_xray, RuleMode::MatchAny, [&first, &second]);
    let groups = SdkXRay::from_client(client).get_groups().await.unwrap();
    let names: Vec<&str> = groups.iter().map(|g| g.name.as_str()).collect();
    assert_eq!(names, ["Default", "Cruddur", "Other"]);
    assert_eq!(first.num_calls(), 1);
    assert_eq!(second.num_calls(), 1);
    assert_eq!(groups[1].arn, "arn:aws:xray:us-east-1:1:group/Cruddur/X");
}

#[tokio::test]
async fn get_groups_stops_when_the_service_repeats_a_next_token() {
    let first = mock!(Client::get_groups)
        .match_requests(|r| r.next_token().is_none())
        .then_output(|| {
            GetGroupsOutput::builder()
                .groups(summary("Default"))
                .next_token("page-2")
                .build()
        });
    // Page 2 points at itself: following it would never end.
    let second = mock!(Client::get_groups)
        .match_requests(|r| r.next_token() == Some("page-2"))
        .then_output(|| {
            GetGroupsOutput::builder()
                .groups(summary("Cruddur"))
                .next_token("page-2")
                .build()
        });
    let client = mock_client!(aws_sdk_xray, RuleMode::MatchAny, [&first, &second]);
    let err = SdkXRay::from_client(client).get_groups().await.unwrap_err();
    assert_eq!(err.exit().code(), 255);
    assert!(
        err.to_string()
            .starts_with("GetGroups returned a NextToken it had already returned"),
        "{err}"
    );
    assert_eq!(first.num_calls(), 1);
    assert_eq!(second.num_calls(), 1);
}

#[tokio::test]
async fn get_sampling_rules_follows_every_page_and_keeps_every_field() {
    let rule = |name: &str| {
        SdkRule::builder()
            .rule_name(name)
            .rule_arn(format!("arn:aws:xray:us-east-1:1:sampling-rule/{name}"))
            .resource_arn("*")
            .priority(9000)
            .fixed_rate(0.1)
            .reservoir_size(5)
            .service_name("backend-flask")
            .service_type("*")
            .host("*")
            .http_method("GET")
            .url_path("/api/*")
            .version(1)
            .attributes("env", "prod")
            .build()
            .unwrap()
    };
    let page1 = mock!(Client::get_sampling_rules)
        .match_requests(|r| r.next_token().is_none())
        .then_output(move || {
            GetSamplingRulesOutput::builder()
                .sampling_rule_records(
                    SamplingRuleRecord::builder()
                        .sampling_rule(rule("A"))
                        .created_at(DateTime::from_secs(100))
                        .build(),
                )
                .next_token("t")
                .build()
        });
    let page2 = mock!(Client::get_sampling_rules)
        .match_requests(|r| r.next_token() == Some("t"))
        .then_output(move || {
            GetSamplingRulesOutput::builder()
                .sampling_rule_records(
                    SamplingRuleRecord::builder()
                        .sampling_rule(rule("B"))
                        .build(),
                )
                .build()
        });
    let client = mock_client!(aws_sdk_xray, RuleMode::MatchAny, [&page1, &page2]);
    let rules = SdkXRay::from_client(client)
        .get_sampling_rules()
        .await
        .unwrap();
    assert_eq!(rules.len(), 2);
    assert_eq!(page1.num_calls() + page2.num_calls(), 2);
    let a = &rules[0];
    assert_eq!(a.arn, "arn:aws:xray:us-east-1:1:sampling-rule/A");
    assert_eq!(a.created_at, Some(100.0));
    assert_eq!(a.rule.rule_name.as_deref(), Some("A"));
    assert_eq!(a.rule.http_method, "GET");
    assert_eq!(a.rule.url_path, "/api/*");
    assert_eq!(
        a.rule.attributes.get("env").map(String::as_str),
        Some("prod")
    );
    assert_eq!(rules[1].rule.rule_name.as_deref(), Some("B"));
}

#[tokio::test]
async fn a_missing_group_is_none_without_a_second_call() {
    let get = mock!(Client::get_group)
        .then_error(|| GetGroupError::InvalidRequestException(invalid_request("Group not found")));
    let list = mock!(Client::get_groups).then_output(|| GetGroupsOutput::builder().build());
    let client = mock_client!(aws_sdk_xray, RuleMode::MatchAny, [&get, &list]);
    let got = SdkXRay::from_client(client)
        .get_group("Cruddur")
        .await
        .unwrap();
    assert_eq!(got, None);
    assert_eq!(get.num_calls(), 1, "InvalidRequestException is not retried");
    assert_eq!(list.num_calls(), 0);
}

#[tokio::test]
async fn other_invalid_request_wordings_are_checked_against_get_groups() {
    let get = mock!(Client::get_group)
        .then_error(|| GetGroupError::InvalidRequestException(invalid_request("No such thing")));
    let list = mock!(Client::get_groups).then_output(|| {
        GetGroupsOutput::builder()
            .groups(summary("Default"))
            .build()
    });
    let client = mock_client!(aws_sdk_xray, RuleMode::MatchAny, [&get, &list]);
    let xray = SdkXRay::from_client(client);
    assert_eq!(xray.get_group("Cruddur").await.unwrap(), None);
    assert_eq!(list.num_calls(), 1);
    // Listed after all: the GetGroup error stands.
    let err = xray.get_group("Default").await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "GetGroup failed: InvalidRequestException: No such thing"
    );
}

#[tokio::test]
async fn a_found_group_maps_its_insights() {
    let get = mock!(Client::get_group).then_output(|| {
        GetGroupOutput::builder()
            .group(
                aws_sdk_xray::types::Group::builder()
                    .group_name("Cruddur")
                    .group_arn("arn:g")
                    .filter_expression("service(\"backend-flask\")")
                    .insights_configuration(insights(true, false))
                    .build(),
            )
            .build()
    });
    let client = mock_client!(aws_sdk_xray, [&get]);
    let g = SdkXRay::from_client(client)
        .get_group("Cruddur")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        g,
        Group {
            name: "Cruddur".into(),
            arn: "arn:g".into(),
            filter_expression: Some("service(\"backend-flask\")".into()),
            insights_enabled: true,
            notifications_enabled: false,
        }
    );
}

#[tokio::test]
async fn service_errors_keep_their_code_and_message() {
    let create = mock!(Client::create_group).then_error(|| {
        CreateGroupError::InvalidRequestException(invalid_request("Group already exists"))
    });
    let client = mock_client!(aws_sdk_xray, [&create]);
    let spec = GroupSpec {
        name: "Cruddur".into(),
        ..Default::default()
    };
    let err = SdkXRay::from_client(client)
        .create_group(&spec)
        .await
        .unwrap_err();
    assert_eq!(err.exit().code(), 254);
    assert_eq!(
        err.to_string(),
        "CreateGroup failed: InvalidRequestException: Group already exists"
    );
}

#[tokio::test]
async fn throttling_is_retried_up_to_max_attempts() {
    let throttled = || {
        GetSamplingRulesError::ThrottledException(
            ThrottledException::builder()
                .message("Rate exceeded")
                .meta(
                    ErrorMetadata::builder()
                        .code("ThrottledException")
                        .message("Rate exceeded")
                        .build(),
                )
                .build(),
        )
    };
    let rule = mock!(Client::get_sampling_rules)
        .sequence()
        .error(throttled)
        .times(5)
        .build();
    let client = mock_client!(aws_sdk_xray, RuleMode::Sequential, [&rule], |c| c
        .retry_config(fast_retries(3)));
    let err = SdkXRay::from_client(client)
        .get_sampling_rules()
        .await
        .unwrap_err();
    assert_eq!(rule.num_calls(), 3);
    assert_eq!(
        err.to_string(),
        "GetSamplingRules failed: ThrottledException: Rate exceeded (gave up after 3 attempts)"
    );
}

#[tokio::test]
async fn a_transient_failure_then_success_is_retried_transparently() {
    let rule = mock!(Client::create_group)
        .sequence()
        .http_status(503, None)
        .output(|| {
            CreateGroupOutput::builder()
                .group(
                    aws_sdk_xray::types::Group::builder()
                        .group_name("Cruddur")
                        .group_arn("arn:g")
                        .build(),
                )
                .build()
        })
        .build();
    let client = mock_client!(aws_sdk_xray, RuleMode::Sequential, [&rule], |c| c
        .retry_config(fast_retries(3)));
    let spec = GroupSpec {
        name: "Cruddur".into(),
        ..Default::default()
    };
    let g = SdkXRay::from_client(client)
        .create_group(&spec)
        .await
        .unwrap();
    assert_eq!(g.arn, "arn:g");
    assert_eq!(rule.num_calls(), 2);
}

#[derive(Debug)]
struct NoCredentials;

impl aws_credential_types::provider::ProvideCredentials for NoCredentials {
    fn provide_credentials<'a>(
        &'a self,
    ) -> aws_credential_types::provider::future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        aws_credential_types::provider::future::ProvideCredentials::ready(Err(
            CredentialsError::not_loaded_no_source(),
        ))
    }
}

fn loopback_client(
    credentials: impl aws_credential_types::provider::ProvideCredentials + 'static,
) -> Client {
    let config = aws_sdk_xray::Config::builder()
        .behavior_version(aws_sdk_xray::config::BehaviorVersion::latest())
        .region(aws_sdk_xray::config::Region::new("us-east-1"))
        .credentials_provider(credentials)
        .endpoint_url("http://127.0.0.1:1")
        .retry_config(fast_retries(3))
        .timeout_config(
            aws_sdk_xray::config::timeout::TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(2))
                .operation_timeout(Duration::from_secs(10))
                .build(),
        )
        .build();
    Client::from_conf(config)
}

#[tokio::test]
async fn a_credentials_failure_during_a_call_is_a_config_error() {
    // The mock interceptor answers before identity resolution, so this uses a real client;
    // credentials are resolved before anything is dialled.
    let xray = SdkXRay::from_client(loopback_client(NoCredentials));
    let err = xray.get_groups().await.unwrap_err();
    assert_eq!(err.exit().code(), 253, "{err}");
    assert!(
        err.to_string()
            .starts_with("no AWS credentials found; tried "),
        "{err}"
    );
}

#[tokio::test]
async fn an_unreachable_endpoint_is_one_line_with_attempts_and_endpoint() {
    let xray = SdkXRay::from_client(loopback_client(
        aws_sdk_xray::config::Credentials::for_tests(),
    ));
    let err = xray.get_groups().await.unwrap_err();
    let text = err.to_string();
    assert_eq!(err.exit().code(), 255, "{text}");
    assert!(
        text.starts_with("GetGroups failed after 3 attempts: "),
        "{text}"
    );
    assert!(text.ends_with(" (http://127.0.0.1:1)"), "{text}");
    assert!(text.to_lowercase().contains("refused"), "{text}");
    assert!(!text.contains('\n'), "{text}");
    assert!(!text.contains("DispatchFailure"), "no Debug dump: {text}");
}

#[test]
fn endpoints_drop_path_and_query() {
    assert_eq!(
        endpoint_of("http://127.0.0.1:1/Groups"),
        "http://127.0.0.1:1"
    );
    assert_eq!(
        endpoint_of("https://xray.us-east-1.amazonaws.com/GetGroup?x=1"),
        "https://xray.us-east-1.amazonaws.com"
    );
}

#[test]
fn endpoints_drop_a_user_and_password() {
    assert_eq!(
        endpoint_of("http://user:s3cret@127.0.0.1:1/Groups"),
        "http://127.0.0.1:1"
    );
    assert_eq!(
        endpoint_of("https://a@b:c@xray.example/GetGroup"),
        "https://xray.example"
    );
}

#[test]
fn sampling_rules_convert_both_ways() {
    let ours = crate::xray::fake::default_rule();
    let mut with_extras = ours.clone();
    with_extras.attributes.insert("k".into(), "v".into());
    with_extras.sampling_rate_boost = Some(SamplingRateBoost {
        max_rate: 0.5,
        cooldown_window_minutes: 2,
    });
    for r in [ours, with_extras] {
        assert_eq!(from_rule(sdk_rule(&r).unwrap()), r);
    }
}
