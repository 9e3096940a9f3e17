//! The project's own commands against the emulator binary, end to end over loopback:
//! what a Cruddur developer runs, with the emulator standing in for X-Ray.

mod common;

use std::path::PathBuf;

use common::{Emulator, Sandbox};

#[test]
fn the_create_commands_are_safe_to_rerun_and_verify_passes_against_the_emulator() {
    let emu = Emulator::start();
    let h = Sandbox::new();
    let rule_file: PathBuf = [env!("CARGO_MANIFEST_DIR"), "aws", "json", "xray.json"]
        .iter()
        .collect();
    let rule_file = rule_file.to_str().unwrap();

    let first = h
        .run(
            &emu,
            &[
                "create-group",
                "--group-name",
                "Cruddur",
                "--tag",
                "app=cruddur",
            ],
        )
        .ok()
        .to_owned();
    assert!(
        first.starts_with(
            "created group Cruddur (arn:aws:xray:us-east-1:000000000000:group/Cruddur/"
        ),
        "{first}"
    );
    let again = h
        .run(
            &emu,
            &[
                "create-group",
                "--group-name",
                "Cruddur",
                "--tag",
                "app=cruddur",
            ],
        )
        .ok()
        .to_owned();
    assert!(again.starts_with("unchanged group Cruddur"), "{again}");

    let first = h
        .run(&emu, &["create-sampling-rule", "--file", rule_file])
        .ok()
        .to_owned();
    assert_eq!(
        first.trim_end(),
        "created sampling rule Cruddur (arn:aws:xray:us-east-1:000000000000:sampling-rule/Cruddur)"
    );
    let again = h
        .run(&emu, &["create-sampling-rule", "--file", rule_file])
        .ok()
        .to_owned();
    assert!(
        again.starts_with("unchanged sampling rule Cruddur"),
        "{again}"
    );

    let trace = h.run(&emu, &["send-test-trace"]).ok().to_owned();
    let trace = trace.trim_end();
    let parts: Vec<&str> = trace.split('-').collect();
    assert_eq!(parts.len(), 3, "a trace ID: {trace}");
    assert_eq!((parts[0], parts[1].len(), parts[2].len()), ("1", 8, 24));

    // The group's filter is service("backend-flask"), which the test trace reports as.
    let filter = |expr: &str| {
        h.run(
            &emu,
            &[
                "create-group",
                "--group-name",
                "Cruddur",
                "--filter-expression",
                expr,
            ],
        )
        .ok()
        .to_owned()
    };
    filter("service(\"backend-flask\")");
    let verify = [
        "verify",
        "--group",
        "Cruddur",
        "--expect-rule",
        "Cruddur",
        "--min-traces",
        "1",
        "--trace-id",
        trace,
    ];
    let report = h.run(&emu, &verify).ok().to_owned();
    assert!(report.contains("backend-flask"), "{report}");
    assert!(report.trim_end().ends_with("all checks passed"), "{report}");

    // A typo in the filter (the Cruddur journal's own) makes verify fail: exit 1.
    filter("service(\"backend-flash\")");
    h.run(&emu, &verify).code(1);
}

#[test]
fn the_commands_ride_out_throttling_and_server_errors() {
    // A fixed seed and one request at a time: the same faults on every run.
    let emu = Emulator::logged(&[
        "-v",
        "--fault",
        "throttle=0.3",
        "--fault",
        "error=0.2",
        "--fault-seed",
        "5",
    ]);
    let h = Sandbox::new();
    let rule_file: PathBuf = [env!("CARGO_MANIFEST_DIR"), "aws", "json", "xray.json"]
        .iter()
        .collect();
    let retrying = ["--max-attempts", "10"];
    let run = |args: &[&str]| {
        let mut all = args.to_vec();
        all.extend(retrying);
        h.run(&emu, &all).ok().to_owned()
    };
    let out = run(&["create-group", "--group-name", "Cruddur"]);
    assert!(out.starts_with("created group Cruddur"), "{out}");
    let out = run(&[
        "create-sampling-rule",
        "--file",
        rule_file.to_str().unwrap(),
    ]);
    assert!(out.starts_with("created sampling rule Cruddur"), "{out}");
    let out = run(&[
        "verify",
        "--expect-group",
        "Cruddur",
        "--expect-rule",
        "Cruddur",
    ]);
    assert!(out.trim_end().ends_with("all checks passed"), "{out}");
    let logs = emu.stop();
    assert!(logs.contains("fault: throttled"), "{logs}");
    assert!(logs.contains("fault: server error"), "{logs}");
}
