//! The project's own commands against the emulator binary, end to end over loopback:
//! what a Cruddur developer runs, with the emulator standing in for X-Ray.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

struct Emulator {
    child: Child,
    url: String,
}

impl Emulator {
    /// Stop it and return what it logged.
    fn stop(mut self) -> String {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let mut logs = String::new();
        if let Some(mut e) = self.child.stderr.take() {
            let _ = std::io::Read::read_to_string(&mut e, &mut logs);
        }
        logs
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn emulator() -> Emulator {
    emulator_with(&[])
}

fn emulator_with(extra: &[&str]) -> Emulator {
    let mut child = Command::new(env!("CARGO_BIN_EXE_cruddur-xray"))
        .args(["emulator", "--port", "0"])
        .args(extra)
        .env_clear()
        .env("RUST_BACKTRACE", "0")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut url = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut url)
        .unwrap();
    Emulator {
        child,
        url: url.trim_end().to_owned(),
    }
}

fn run(emu: &Emulator, home: &Path, args: &[&str]) -> Output {
    let empty = home.join("empty");
    std::fs::write(&empty, "").unwrap();
    Command::new(env!("CARGO_BIN_EXE_cruddur-xray"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env_clear()
        .env("RUST_BACKTRACE", "0")
        .env("HOME", home)
        .env("AWS_ACCESS_KEY_ID", "AKIDCLITEST")
        .env("AWS_SECRET_ACCESS_KEY", "cli-test-secret")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ENDPOINT_URL_XRAY", &emu.url)
        .env("AWS_CONFIG_FILE", &empty)
        .env("AWS_SHARED_CREDENTIALS_FILE", &empty)
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .output()
        .unwrap()
}

fn ok(out: &Output) -> String {
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(
        out.status.code(),
        Some(0),
        "stdout: {stdout}\nstderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

#[test]
fn the_create_commands_are_safe_to_rerun_and_verify_passes_against_the_emulator() {
    let emu = emulator();
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let rule_file: PathBuf = [env!("CARGO_MANIFEST_DIR"), "aws", "json", "xray.json"]
        .iter()
        .collect();
    let rule_file = rule_file.to_str().unwrap();

    let first = ok(&run(
        &emu,
        h,
        &[
            "create-group",
            "--group-name",
            "Cruddur",
            "--tag",
            "app=cruddur",
        ],
    ));
    assert!(
        first.starts_with(
            "created group Cruddur (arn:aws:xray:us-east-1:000000000000:group/Cruddur/"
        ),
        "{first}"
    );
    let again = ok(&run(
        &emu,
        h,
        &[
            "create-group",
            "--group-name",
            "Cruddur",
            "--tag",
            "app=cruddur",
        ],
    ));
    assert!(again.starts_with("unchanged group Cruddur"), "{again}");

    let first = ok(&run(
        &emu,
        h,
        &["create-sampling-rule", "--file", rule_file],
    ));
    assert_eq!(
        first.trim_end(),
        "created sampling rule Cruddur (arn:aws:xray:us-east-1:000000000000:sampling-rule/Cruddur)"
    );
    let again = ok(&run(
        &emu,
        h,
        &["create-sampling-rule", "--file", rule_file],
    ));
    assert!(
        again.starts_with("unchanged sampling rule Cruddur"),
        "{again}"
    );

    let trace = ok(&run(&emu, h, &["send-test-trace"]));
    let trace = trace.trim_end();
    let parts: Vec<&str> = trace.split('-').collect();
    assert_eq!(parts.len(), 3, "a trace ID: {trace}");
    assert_eq!((parts[0], parts[1].len(), parts[2].len()), ("1", 8, 24));

    // The group's filter is service("backend-flask"), which the test trace reports as.
    ok(&run(
        &emu,
        h,
        &[
            "create-group",
            "--group-name",
            "Cruddur",
            "--filter-expression",
            "service(\"backend-flask\")",
        ],
    ));
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
    let report = ok(&run(&emu, h, &verify));
    assert!(report.contains("backend-flask"), "{report}");
    assert!(report.trim_end().ends_with("all checks passed"), "{report}");

    // A typo in the filter (the Cruddur journal's own) makes verify fail: exit 1.
    ok(&run(
        &emu,
        h,
        &[
            "create-group",
            "--group-name",
            "Cruddur",
            "--filter-expression",
            "service(\"backend-flash\")",
        ],
    ));
    let failed = run(&emu, h, &verify);
    assert_eq!(
        failed.status.code(),
        Some(1),
        "{}{}",
        String::from_utf8_lossy(&failed.stdout),
        String::from_utf8_lossy(&failed.stderr)
    );
}

#[test]
fn the_commands_ride_out_throttling_and_server_errors() {
    // A fixed seed and one request at a time: the same faults on every run.
    let emu = emulator_with(&[
        "-v",
        "--fault",
        "throttle=0.3",
        "--fault",
        "error=0.2",
        "--fault-seed",
        "5",
    ]);
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let rule_file: PathBuf = [env!("CARGO_MANIFEST_DIR"), "aws", "json", "xray.json"]
        .iter()
        .collect();
    let retrying = ["--max-attempts", "10"];
    let mut args = vec!["create-group", "--group-name", "Cruddur"];
    args.extend(retrying);
    let out = ok(&run(&emu, h, &args));
    assert!(out.starts_with("created group Cruddur"), "{out}");
    let mut args = vec![
        "create-sampling-rule",
        "--file",
        rule_file.to_str().unwrap(),
    ];
    args.extend(retrying);
    let out = ok(&run(&emu, h, &args));
    assert!(out.starts_with("created sampling rule Cruddur"), "{out}");
    let mut args = vec![
        "verify",
        "--expect-group",
        "Cruddur",
        "--expect-rule",
        "Cruddur",
    ];
    args.extend(retrying);
    let out = ok(&run(&emu, h, &args));
    assert!(out.trim_end().ends_with("all checks passed"), "{out}");
    let logs = emu.stop();
    assert!(logs.contains("fault: throttled"), "{logs}");
    assert!(logs.contains("fault: server error"), "{logs}");
}
