//! Conformance: the real AWS CLI and botocore (installed from PyPI into ./.venv by
//! scripts/test.sh) run tests/conformance/suite.py against the emulator binary.
//! botocore checks every response against the service model, so this catches shapes that
//! our own tests would agree with by mistake. A missing venv fails; it is never skipped.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

/// The emulator binary on a free loopback port, and the URL it printed.
fn spawn_emulator(extra: &[&str]) -> (Child, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_cruddur-xray"))
        .args(["emulator", "--port", "0"])
        .args(extra)
        .env_clear()
        .env("RUST_BACKTRACE", "0")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut url = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut url)
        .unwrap();
    let url = url.trim_end().to_owned();
    assert!(url.starts_with("http://127.0.0.1:"), "{url:?}");
    (child, url)
}

#[test]
fn the_aws_cli_and_botocore_accept_the_emulator() {
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let python = std::env::var_os("CRUDDUR_XRAY_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo.join(".venv/bin/python"));
    assert!(
        python.exists(),
        "{} does not exist: run scripts/test.sh once (it creates .venv with the pinned AWS CLI), \
         or point CRUDDUR_XRAY_PYTHON at a Python that has awscli installed",
        python.display()
    );

    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty");
    std::fs::write(&empty, "").unwrap();
    let (mut emulator, url) = spawn_emulator(&[]);
    // A second one that throttles and fails often, with a fixed seed, for the retry checks.
    let (mut faulty, faulty_url) = spawn_emulator(&[
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
        .env("AWS_ENDPOINT_URL_XRAY", &url)
        .env("AWS_CONFIG_FILE", &empty)
        .env("AWS_SHARED_CREDENTIALS_FILE", &empty)
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_PAGER", "")
        .env("CRUDDUR_XRAY_REPO", &repo)
        .env("CRUDDUR_XRAY_FAULTY_ENDPOINT", &faulty_url)
        .output()
        .unwrap();
    for child in [&mut emulator, &mut faulty] {
        let _ = child.kill();
        let _ = child.wait();
    }
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
