//! `verify`'s flag errors from the built binary: checked before any AWS configuration is
//! read, each one line naming the flag, with the documented exit code and an empty stdout.

mod common;

use assert_cmd::Command;

fn verify(args: &[&str]) -> (i32, String, String) {
    let sandbox = common::Sandbox::new();
    let out = Command::from_std(sandbox.bare())
        .env("AWS_ACCESS_KEY_ID", "AKIDTEST")
        .env("AWS_SECRET_ACCESS_KEY", "test-secret")
        .env("AWS_REGION", "us-east-1")
        // Nothing listens here; a flag error must be reported before any request.
        .env("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
        .arg("verify")
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

#[test]
fn a_window_longer_than_thirty_days_is_invalid_input() {
    let (code, stdout, stderr) = verify(&["--since", "31d"]);
    assert_eq!(code, 252, "{stderr}");
    assert_eq!(
        stderr,
        "error: --since must be at most 30d, the X-Ray retention (got 31d)\n"
    );
    assert_eq!(stdout, "");
    let (code, _, stderr) = verify(&[
        "--start",
        "2025-01-01T00:00:00Z",
        "--end",
        "2025-03-01T00:00:00Z",
    ]);
    assert_eq!(code, 252, "{stderr}");
    assert!(stderr.starts_with("error: --start/--end span"), "{stderr}");
}

#[test]
fn out_of_range_numbers_and_bad_ids_name_their_flag() {
    for (args, prefix) in [
        (
            &["--max-fault-rate", "2"][..],
            "error: --max-fault-rate must be within 0..=1",
        ),
        (&["--trace-id", "nope"], "error: --trace-id must look like"),
        (
            &["--wait", "3days"],
            "error: --wait must be more than 0 and at most 24h",
        ),
        (
            &["--end", "1", "--start", "5"],
            "error: --end must be after --start",
        ),
    ] {
        let (code, stdout, stderr) = verify(args);
        assert_eq!(code, 252, "{args:?}: {stderr}");
        assert!(stderr.starts_with(prefix), "{args:?}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
        assert_eq!(stdout, "");
    }
}

#[test]
fn conflicting_window_flags_are_a_usage_error() {
    let (code, stdout, _) = verify(&["--since", "1h", "--start", "1", "--end", "2"]);
    assert_eq!(code, 2);
    assert_eq!(stdout, "");
    let (code, _, _) = verify(&["--start", "1"]);
    assert_eq!(code, 2);
}

#[test]
fn help_lists_every_verify_flag() {
    let (code, stdout, _) = verify(&["--help"]);
    assert_eq!(code, 0);
    for flag in [
        "--group",
        "--since",
        "--start",
        "--end",
        "--expect-group",
        "--expect-rule",
        "--min-traces",
        "--max-fault-rate",
        "--max-p95",
        "--wait",
        "--trace-id",
    ] {
        assert!(stdout.contains(flag), "{flag} in --help");
    }
    assert!(stdout.contains("GITHUB_STEP_SUMMARY"));
}
