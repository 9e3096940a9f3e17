//! The emulator under concurrent load (no write lost, nothing half-applied) and its bind
//! address warning. Everything on 127.0.0.1.

mod reliability_support;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read};
use std::time::Duration;

use aws_sdk_xray::Client;
use aws_sdk_xray::config::retry::RetryConfig;
use aws_sdk_xray::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_xray::types::{InsightsConfiguration, SamplingRule, SamplingRuleUpdate, Tag};
use cruddur_xray::emulator::{EmulatorOptions, start};
use reliability_support::{Env, signal, text};

const TASKS: usize = 16;
const ROUNDS: usize = 50;

fn client(url: &str) -> Client {
    let conf = aws_sdk_xray::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new(
            "AKIDLOAD",
            "load-secret",
            None,
            None,
            "test",
        ))
        .endpoint_url(url)
        .retry_config(RetryConfig::disabled())
        .build();
    Client::from_conf(conf)
}

/// A group's fields all derive from one marker (task, round): the filter names it and
/// insights/notifications are set from its parity.
fn group_marker(t: usize, i: usize) -> (String, bool) {
    (format!("service(\"w{t}x{i}\")"), (t + i).is_multiple_of(2))
}

/// Check a group read back is one whole update: the insights match the filter's marker.
fn check_group(filter: &str, insights: bool, notifications: bool) -> (usize, usize) {
    let inner = filter
        .strip_prefix("service(\"w")
        .and_then(|s| s.strip_suffix("\")"))
        .unwrap_or_else(|| panic!("unexpected filter {filter:?}"));
    let (t, i) = inner.split_once('x').unwrap();
    let (t, i): (usize, usize) = (t.parse().unwrap(), i.parse().unwrap());
    let (_, expected) = group_marker(t, i);
    assert_eq!(insights, expected, "half-applied group: {filter} insights");
    assert_eq!(
        notifications, expected,
        "half-applied group: {filter} notifications"
    );
    (t, i)
}

/// A rule's fields all derive from one number k.
fn rule_fields(k: usize) -> (String, String, i32, i32, f64) {
    (
        format!("s{k}"),
        format!("h{k}"),
        (k % 9000 + 1) as i32,
        k as i32,
        (k % 100) as f64 / 100.0,
    )
}

fn check_rule(r: &SamplingRule) -> usize {
    let k: usize = r
        .service_name()
        .strip_prefix('s')
        .and_then(|k| k.parse().ok())
        .unwrap_or_else(|| panic!("unexpected service name {:?}", r.service_name()));
    let (_, host, priority, reservoir, rate) = rule_fields(k);
    assert_eq!(r.host(), host, "half-applied rule {k}");
    assert_eq!(r.priority(), priority, "half-applied rule {k}");
    assert_eq!(r.reservoir_size(), reservoir, "half-applied rule {k}");
    assert_eq!(r.fixed_rate(), rate, "half-applied rule {k}");
    k
}

fn new_rule(name: &str, k: usize) -> SamplingRule {
    let (service, host, priority, reservoir, rate) = rule_fields(k);
    SamplingRule::builder()
        .rule_name(name)
        .resource_arn("*")
        .priority(priority)
        .fixed_rate(rate)
        .reservoir_size(reservoir)
        .service_name(service)
        .service_type("*")
        .host(host)
        .http_method("*")
        .url_path("*")
        .version(1)
        .build()
        .unwrap()
}

async fn update_group(c: &Client, name: &str, t: usize, i: usize) {
    let (filter, on) = group_marker(t, i);
    c.update_group()
        .group_name(name)
        .filter_expression(filter)
        .insights_configuration(
            InsightsConfiguration::builder()
                .insights_enabled(on)
                .notifications_enabled(on)
                .build(),
        )
        .send()
        .await
        .unwrap();
}

async fn update_rule(c: &Client, name: &str, k: usize) {
    let (service, host, priority, reservoir, rate) = rule_fields(k);
    c.update_sampling_rule()
        .sampling_rule_update(
            SamplingRuleUpdate::builder()
                .rule_name(name)
                .service_name(service)
                .host(host)
                .priority(priority)
                .reservoir_size(reservoir)
                .fixed_rate(rate)
                .build(),
        )
        .send()
        .await
        .unwrap();
}

async fn read_group(c: &Client, name: &str) -> (usize, usize) {
    let g = c.get_group().group_name(name).send().await.unwrap();
    let g = g.group().unwrap();
    let insights = g.insights_configuration().unwrap();
    check_group(
        g.filter_expression().unwrap_or_default(),
        insights.insights_enabled().unwrap_or(false),
        insights.notifications_enabled().unwrap_or(false),
    )
}

/// Every rule, every page; each checked whole.
async fn read_rules(c: &Client) -> BTreeMap<String, usize> {
    let mut out = BTreeMap::new();
    let mut token: Option<String> = None;
    loop {
        let page = c
            .get_sampling_rules()
            .set_next_token(token.clone())
            .send()
            .await
            .unwrap();
        for rec in page.sampling_rule_records() {
            let r = rec.sampling_rule().unwrap();
            let name = r.rule_name().unwrap_or_default().to_owned();
            if name != "Default" {
                out.insert(name, check_rule(r));
            }
        }
        token = page.next_token().map(str::to_owned);
        if token.is_none() {
            return out;
        }
    }
}

/// One client's work: its own group and rule, the shared ones, tags on the shared group,
/// and reads that check every group and rule is whole.
async fn worker(c: Client, t: usize, shared_arn: String) -> (usize, usize) {
    let own_group = format!("g{t}");
    let own_rule = format!("r{t}");
    let (mut last_group, mut last_rule) = (0, 0);
    for i in 1..=ROUNDS {
        match i % 4 {
            0 => {
                update_group(&c, &own_group, t, i).await;
                last_group = i;
            }
            1 => {
                update_rule(&c, &own_rule, t * 1000 + i).await;
                last_rule = i;
            }
            2 => update_group(&c, "shared", t, i).await,
            _ => update_rule(&c, "shared-rule", t * 1000 + i).await,
        }
        c.tag_resource()
            .resource_arn(&shared_arn)
            .tags(
                Tag::builder()
                    .key(format!("t{t}"))
                    .value(i.to_string())
                    .build()
                    .unwrap(),
            )
            .send()
            .await
            .unwrap();
        read_group(&c, "shared").await;
        read_rules(&c).await;
    }
    (last_group, last_rule)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_clients_lose_no_write_and_never_see_half_an_update() {
    let emu = start(EmulatorOptions::default()).await.unwrap();
    assert!(emu.addr().ip().is_loopback());
    let c = client(&emu.url());
    let shared = c
        .create_group()
        .group_name("shared")
        .filter_expression(group_marker(0, 0).0)
        .insights_configuration(
            InsightsConfiguration::builder()
                .insights_enabled(true)
                .notifications_enabled(true)
                .build(),
        )
        .send()
        .await
        .unwrap();
    let shared_arn = shared.group().unwrap().group_arn().unwrap().to_owned();
    c.create_sampling_rule()
        .sampling_rule(new_rule("shared-rule", 0))
        .send()
        .await
        .unwrap();
    for t in 0..TASKS {
        let (filter, on) = group_marker(t, 0);
        c.create_group()
            .group_name(format!("g{t}"))
            .filter_expression(filter)
            .insights_configuration(
                InsightsConfiguration::builder()
                    .insights_enabled(on)
                    .notifications_enabled(on)
                    .build(),
            )
            .send()
            .await
            .unwrap();
        c.create_sampling_rule()
            .sampling_rule(new_rule(&format!("r{t}"), t * 1000))
            .send()
            .await
            .unwrap();
    }

    let work = async {
        let handles: Vec<_> = (0..TASKS)
            .map(|t| tokio::spawn(worker(c.clone(), t, shared_arn.clone())))
            .collect();
        let mut lasts = Vec::new();
        for h in handles {
            lasts.push(h.await.unwrap());
        }
        lasts
    };
    // A bound so a deadlock fails the test instead of hanging it.
    let lasts = tokio::time::timeout(Duration::from_secs(240), work)
        .await
        .expect("the load finished");

    // No write lost: each task's own group and rule hold its last update, the shared
    // group carries every task's last tag, and nothing was created twice or dropped.
    for (t, (last_group, last_rule)) in lasts.iter().enumerate() {
        assert_eq!(read_group(&c, &format!("g{t}")).await, (t, *last_group));
        let rules = read_rules(&c).await;
        assert_eq!(rules[&format!("r{t}")], t * 1000 + last_rule, "r{t}");
    }
    let (t, i) = read_group(&c, "shared").await;
    assert!(
        t < TASKS && i % 4 == 2,
        "the shared group holds a whole update"
    );
    let k = read_rules(&c).await["shared-rule"];
    assert!(
        k % 1000 % 4 == 3,
        "the shared rule holds a whole update: {k}"
    );
    let tags = c
        .list_tags_for_resource()
        .resource_arn(&shared_arn)
        .send()
        .await
        .unwrap();
    let tags: BTreeMap<String, String> = tags
        .tags()
        .iter()
        .map(|t| (t.key().to_owned(), t.value().to_owned()))
        .collect();
    let expected: BTreeMap<String, String> = (0..TASKS)
        .map(|t| (format!("t{t}"), ROUNDS.to_string()))
        .collect();
    assert_eq!(tags, expected);
    let groups = c
        .get_groups()
        .into_paginator()
        .items()
        .send()
        .collect::<Vec<_>>()
        .await;
    assert_eq!(groups.len(), TASKS + 2, "Default, shared and one per task");
    assert_eq!(read_rules(&c).await.len(), TASKS + 1);
    emu.shutdown().await.unwrap();
}

#[test]
fn binding_beyond_loopback_prints_a_loud_warning() {
    // Bind, read the URL, stop at once: no traffic is sent to the non-loopback address.
    let env = Env::new();
    let mut child = env.spawn(&["emulator", "--host", "0.0.0.0", "--port", "0"]);
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut url = String::new();
    stdout.read_line(&mut url).unwrap();
    assert!(url.starts_with("http://0.0.0.0:"), "{url:?}");
    signal(&child, "-TERM");
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(0), "{stderr}");
    let warning = stderr
        .lines()
        .find(|l| l.starts_with("warning: --host 0.0.0.0 is not a loopback address"))
        .unwrap_or_else(|| panic!("no warning: {stderr}"));
    assert!(warning.contains("without credentials"), "{warning}");

    // The default is loopback, without the warning.
    let emu = reliability_support::Emulator::start(&[]);
    assert!(emu.url.starts_with("http://127.0.0.1:"));
    let logs = emu.stop();
    assert!(!logs.contains("warning"), "{}", text(logs.as_bytes()));
}

/// One raw HTTP/1.1 request; returns the status and the JSON body.
fn raw(url: &str, head_extra: &str, body: &[u8]) -> (u16, serde_json::Value) {
    use std::io::Write;
    let addr = url.trim_start_matches("http://");
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let head = format!(
        "POST /CreateGroup HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Type: application/json\r\nAuthorization: AWS4-HMAC-SHA256 Credential=AKID/20261125/us-east-1/xray/aws4_request, SignedHeaders=host, Signature=abc\r\n{head_extra}\r\n"
    );
    s.write_all(head.as_bytes()).unwrap();
    // The server may answer (413) before reading everything.
    let _ = s.write_all(body);
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    let text = String::from_utf8_lossy(&out).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, serde_json::from_str(body).unwrap_or_default())
}

#[test]
fn oversized_chunked_and_malformed_bodies_get_aws_errors_and_the_server_keeps_serving() {
    let emu = reliability_support::Emulator::start(&[]);
    // No Content-Length to refuse early: the limit holds while reading a chunked body.
    let mut chunked = Vec::new();
    let chunk = vec![b' '; 1024 * 1024];
    for _ in 0..6 {
        chunked.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
        chunked.extend_from_slice(&chunk);
        chunked.extend_from_slice(b"\r\n");
    }
    chunked.extend_from_slice(b"0\r\n\r\n");
    let (status, body) = raw(&emu.url, "Transfer-Encoding: chunked\r\n", &chunked);
    assert_eq!(status, 413);
    assert_eq!(body["__type"], "RequestEntityTooLargeException");

    let cases: [(&[u8], &str); 4] = [
        (b"{\"GroupName\": 5}", "InvalidRequestException"),
        (b"[1, 2]", "SerializationException"),
        (b"{\"GroupName\": \"a\xff\"}", "SerializationException"),
        (
            b"{\"GroupName\": \"G\", \"GroupName\": ",
            "SerializationException",
        ),
    ];
    for (bytes, error_type) in cases {
        let (status, body) = raw(
            &emu.url,
            &format!("Content-Length: {}\r\n", bytes.len()),
            bytes,
        );
        assert_eq!(status, 400, "{}", String::from_utf8_lossy(bytes));
        let shown = body["__type"].as_str().unwrap_or_default();
        assert!(
            shown.ends_with(error_type),
            "{shown}: {}",
            String::from_utf8_lossy(bytes)
        );
        let message = body["message"].as_str().or(body["Message"].as_str());
        assert!(message.is_some_and(|m| !m.is_empty()), "{body}");
    }

    // Still serving: a good request after all of that.
    let good = b"{\"GroupName\": \"G\"}";
    let (status, body) = raw(
        &emu.url,
        &format!("Content-Length: {}\r\n", good.len()),
        good,
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["Group"]["GroupName"], "G");
}
