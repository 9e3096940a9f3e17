//! The project's own commands against the emulator binary, end to end over loopback:
//! what a Cruddur developer runs, with the emulator standing in for X-Ray.

mod common;

use std::path::PathBuf;

use common::{Emulator, Sandbox};

#[test]
fn the_create_commands_are_safe_to_rerun_against_the_emulator() {
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
}
