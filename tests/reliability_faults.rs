//! The CLI against the emulator binary with injected faults (fixed seeds): retries and
//! timeouts are applied, failures are one line naming the operation and the attempts, an
//! interrupted run is completed by the next, and Ctrl-C stops a command promptly (exit 130)
//! saying which writes were sent. Nothing leaves 127.0.0.1.

mod reliability_support;

use std::time::{Duration, Instant};

use reliability_support::{Emulator, Env, one_line_error, signal, text, wait_bounded, xray_json};

/// "It did not hang": far above any expected run time, never a performance check.
const BOUND: Duration = Duration::from_secs(60);

fn group_args(url: &str) -> Vec<String> {
    [
        "create-group",
        "--group-name",
        "Cruddur",
        "--filter-expression",
        "service(\"backend-flask\")",
        "--endpoint-url",
        url,
    ]
    .map(str::to_owned)
    .to_vec()
}

fn rule_args(url: &str) -> Vec<String> {
    [
        "create-sampling-rule",
        "--file",
        &xray_json(),
        "--endpoint-url",
        url,
    ]
    .map(str::to_owned)
    .to_vec()
}

fn verify_args(url: &str) -> Vec<String> {
    [
        "verify",
        "--expect-group",
        "Cruddur",
        "--expect-rule",
        "Cruddur",
        "--endpoint-url",
        url,
    ]
    .map(str::to_owned)
    .to_vec()
}

fn trace_args(url: &str) -> Vec<String> {
    ["send-test-trace", "--endpoint-url", url]
        .map(str::to_owned)
        .to_vec()
}

#[test]
fn the_seed_flow_succeeds_under_a_30_percent_throttle_rate() {
    let emu = Emulator::start(&["-v", "--fault", "throttle=0.3", "--fault-seed", "7"]);
    let env = Env::new();
    let retries = ["--max-attempts", "10", "--retry-mode", "standard"];
    let out = env
        .cmd()
        .args(group_args(&emu.url))
        .args(retries)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stdout).starts_with("created group Cruddur"));
    let out = env
        .cmd()
        .args(rule_args(&emu.url))
        .args(retries)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stdout).starts_with("created sampling rule Cruddur"));
    let out = env
        .cmd()
        .args(verify_args(&emu.url))
        .args(retries)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    let logs = emu.stop();
    assert!(
        logs.contains("fault: throttled"),
        "the seed throttles some requests, so retries were needed: {logs}"
    );
}

#[test]
fn max_attempts_and_retry_mode_are_applied() {
    let emu = Emulator::start(&["--fault", "throttle=1.0", "--fault-seed", "1"]);
    let env = Env::new();
    for (attempts, mode) in [("1", "standard"), ("4", "standard"), ("3", "adaptive")] {
        let start = Instant::now();
        let out = env
            .cmd()
            .args(group_args(&emu.url))
            .args(["--max-attempts", attempts, "--retry-mode", mode])
            .output()
            .unwrap();
        let line = one_line_error(&out, &[254]);
        let plural = if attempts == "1" {
            "attempt"
        } else {
            "attempts"
        };
        assert_eq!(
            line,
            format!(
                "error: GetGroup failed: ThrottledException: Rate exceeded (gave up after {attempts} {plural})"
            ),
            "{mode}"
        );
        assert!(start.elapsed() < BOUND);
    }
}

#[test]
fn every_command_fails_in_one_line_under_a_100_percent_server_error_rate() {
    let emu = Emulator::start(&["--fault", "error=1.0", "--fault-seed", "3"]);
    let env = Env::new();
    let limits = ["--max-attempts", "2", "--operation-timeout", "20"];
    for (args, operation) in [
        (group_args(&emu.url), "GetGroup"),
        (rule_args(&emu.url), "GetSamplingRules"),
        (verify_args(&emu.url), "GetGroups"),
        (trace_args(&emu.url), "PutTraceSegments"),
    ] {
        let start = Instant::now();
        let out = env.cmd().args(&args).args(limits).output().unwrap();
        let line = one_line_error(&out, &[254, 255]);
        assert!(
            line.contains(&format!("{operation} failed")),
            "{}: {line}",
            args[0]
        );
        assert!(line.contains("ServiceUnavailableException"), "{line}");
        assert!(line.contains("after 2 attempts"), "{line}");
        assert!(start.elapsed() < BOUND, "{}", args[0]);
    }
}

#[test]
fn latency_beyond_the_operation_timeout_is_a_one_line_timeout() {
    let emu = Emulator::start(&["--fault", "latency=30s"]);
    let env = Env::new();
    for args in [group_args(&emu.url), trace_args(&emu.url)] {
        let start = Instant::now();
        let out = env
            .cmd()
            .args(&args)
            .args(["--operation-timeout", "1.5", "--max-attempts", "2"])
            .output()
            .unwrap();
        let line = one_line_error(&out, &[255]);
        assert!(line.contains(" timed out after "), "{line}");
        assert!(line.contains(&emu.url), "names the endpoint: {line}");
        assert!(
            start.elapsed() < Duration::from_secs(25),
            "the 30 s latency was not waited out: {:?}",
            start.elapsed()
        );
    }
}

#[test]
fn a_refused_connection_is_retried_max_attempts_times() {
    // A port just freed: nothing listens, each connect is refused at once.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}");
    let env = Env::new();
    let start = Instant::now();
    let out = env
        .cmd()
        .args(trace_args(&url))
        .args(["--connect-timeout", "1", "--max-attempts", "3"])
        .output()
        .unwrap();
    let line = one_line_error(&out, &[255]);
    assert!(
        line.starts_with("error: PutTraceSegments failed after 3 attempts: "),
        "{line}"
    );
    assert!(line.ends_with(&format!(" ({url})")), "{line}");
    assert!(start.elapsed() < BOUND);
}

#[test]
fn dropped_connections_and_malformed_bodies_are_one_line_255_errors() {
    // Malformed bodies on answers that succeed (a malformed 400 is still a 400).
    for (fault, cause) in [
        ("drop=1.0", "failed after 2 attempts"),
        (
            "malformed=1.0@GetGroups,GetSamplingRules",
            "unreadable response: HTTP 200",
        ),
    ] {
        let emu = Emulator::start(&["--fault", fault, "--fault-seed", "5"]);
        let env = Env::new();
        for args in [rule_args(&emu.url), verify_args(&emu.url)] {
            let out = env
                .cmd()
                .args(&args)
                .args(["--max-attempts", "2", "--operation-timeout", "20"])
                .output()
                .unwrap();
            let line = one_line_error(&out, &[255]);
            assert!(line.contains(cause), "{fault}: {line}");
            assert!(
                line.starts_with("error: GetSamplingRules ")
                    || line.starts_with("error: GetGroups "),
                "{fault}: names the operation: {line}"
            );
            assert!(!line.contains("SdkBody"), "no debug dump: {line}");
        }
    }
}

#[test]
fn an_interrupted_run_is_completed_by_the_next_without_cleanup() {
    // With this seed the first CreateSamplingRule is refused with a 503 and later ones go
    // through: the first run creates the group and fails on the rule.
    let emu = Emulator::start(&[
        "--fault",
        "error=0.5@CreateSamplingRule",
        "--fault-seed",
        "2",
    ]);
    let env = Env::new();
    let out = env.cmd().args(group_args(&emu.url)).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let group_line = text(&out.stdout);
    assert!(group_line.starts_with("created group Cruddur ("));
    let out = env
        .cmd()
        .args(rule_args(&emu.url))
        .args(["--max-attempts", "1"])
        .output()
        .unwrap();
    let line = one_line_error(&out, &[254]);
    assert!(
        line.starts_with("error: CreateSamplingRule failed: ServiceUnavailableException"),
        "{line}"
    );

    // The next run, unchanged: the group is left alone and the rule is created.
    let out = env
        .cmd()
        .args(group_args(&emu.url))
        .args(["--max-attempts", "10"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).starts_with("unchanged group Cruddur ("),
        "{}",
        text(&out.stdout)
    );
    let out = env
        .cmd()
        .args(rule_args(&emu.url))
        .args(["--max-attempts", "10"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stdout).starts_with("created sampling rule Cruddur"));
    let out = env
        .cmd()
        .args(verify_args(&emu.url))
        .args(["--max-attempts", "10"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
}

#[test]
fn ctrl_c_during_a_write_stops_at_once_and_says_it_was_sent_but_not_confirmed() {
    let emu = Emulator::start(&["-v", "--fault", "latency=30s@CreateGroup"]);
    let env = Env::new();
    let args = group_args(&emu.url);
    let mut argv: Vec<&str> = vec!["-v"];
    argv.extend(args.iter().map(String::as_str));
    let child = env.spawn(&argv);
    // GetGroup answered (not found): the CreateGroup request is on its way.
    emu.wait_for_log("GetGroup", BOUND);
    std::thread::sleep(Duration::from_secs(1));
    let start = Instant::now();
    signal(&child, "-INT");
    let out = wait_bounded(child, Duration::from_secs(20));
    assert!(start.elapsed() < Duration::from_secs(20));
    assert_eq!(out.status.code(), Some(130), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "");
    let stderr = text(&out.stderr);
    let last = stderr.lines().last().unwrap_or_default();
    assert_eq!(
        last,
        "error: interrupted (Ctrl-C): CreateGroup was sent but not confirmed (it may or may not have been applied); run the command again to finish: it reads the current state first",
        "{stderr}"
    );
}

#[test]
fn ctrl_c_during_verify_wait_stops_at_once_and_says_nothing_was_changed() {
    let emu = Emulator::start(&["-v"]);
    let env = Env::new();
    let child = env.spawn(&[
        "verify",
        "--expect-group",
        "Missing",
        "--wait",
        "10m",
        "--endpoint-url",
        &emu.url,
    ]);
    // verify is polling.
    emu.wait_for_log("GetGroups", BOUND);
    std::thread::sleep(Duration::from_millis(500));
    signal(&child, "-INT");
    let out = wait_bounded(child, Duration::from_secs(20));
    assert_eq!(out.status.code(), Some(130), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "");
    let stderr = text(&out.stderr);
    assert_eq!(
        stderr.lines().last().unwrap_or_default(),
        "error: interrupted (Ctrl-C) before any write was sent: nothing was changed",
        "{stderr}"
    );
}
