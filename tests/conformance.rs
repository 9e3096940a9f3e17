//! Conformance: the real AWS CLI and botocore (installed from PyPI into ./.venv by
//! scripts/test.sh) run tests/conformance/suite.py against the emulator binary.
//! botocore checks every response against the service model, so this catches shapes that
//! our own tests would agree with by mistake. A missing venv fails; it is never skipped.

mod common;

use std::process::Command;

use common::Emulator;

#[test]
fn the_aws_cli_and_botocore_accept_the_emulator() {
    let repo = common::repo();
    let python = common::python();

    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty");
    std::fs::write(&empty, "").unwrap();
    let emulator = Emulator::start();
    // A second one that throttles and fails often, with a fixed seed, for the retry checks.
    let faulty = Emulator::with_args(&[
        "--fault",
        "throttle=0.3",
        "--fault",
        "error=0.2",
        "--fault-seed",
        "42",
    ]);

    let out = Command::new(&python)
        .arg(repo.join("tests/conformance/suite.py"))
        .current_dir(&repo)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", dir.path())
        .env("AWS_ACCESS_KEY_ID", "AKIDCONFORMANCE")
        .env("AWS_SECRET_ACCESS_KEY", "conformance-secret")
        .env("AWS_DEFAULT_REGION", "us-east-1")
        .env("AWS_ENDPOINT_URL_XRAY", &emulator.url)
        .env("AWS_CONFIG_FILE", &empty)
        .env("AWS_SHARED_CREDENTIALS_FILE", &empty)
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_PAGER", "")
        .env("CRUDDUR_XRAY_REPO", &repo)
        .env("CRUDDUR_XRAY_FAULTY_ENDPOINT", &faulty.url)
        .output()
        .unwrap();
    drop((emulator, faulty));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let summary = stdout.lines().last().unwrap_or_default();
    assert!(
        out.status.success() && summary.ends_with(" passed, 0 failed"),
        "conformance suite failed ({}):\n{stdout}\n{stderr}",
        out.status
    );
    let passed: usize = summary.split(' ').next().unwrap().parse().unwrap();
    assert!(passed >= 80, "only {passed} checks ran: {summary}");
    println!("conformance: {summary}");
}
