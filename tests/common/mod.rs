//! Shared helpers for the end-to-end tests: the emulator binary on a free loopback port,
//! the CLI binary in a clean environment pointed at it, and botocore (from ./.venv) in one
//! Python process to read back what the CLI wrote or to send raw requests.
//!
//! Each test file uses a different subset, hence the `dead_code` allowance.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::Value;

pub const BIN: &str = env!("CARGO_BIN_EXE_cruddur-xray");
pub const KEY_ID: &str = "AKIDE2ETEST";
pub const SECRET: &str = "e2e-test-secret-key";
pub const REGION: &str = "us-east-1";

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The Python that has awscli (and so botocore): CRUDDUR_XRAY_PYTHON, else ./.venv. A
/// missing one fails the test with what to do; it is never a skip.
pub fn python() -> PathBuf {
    let python = std::env::var_os("CRUDDUR_XRAY_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo().join(".venv/bin/python"));
    assert!(
        python.exists(),
        "{} does not exist: run scripts/test.sh once (it creates .venv with the pinned AWS CLI), \
         or point CRUDDUR_XRAY_PYTHON at a Python that has awscli installed",
        python.display()
    );
    python
}

/// `cruddur-xray emulator --port 0 [extra]`, stopped when dropped.
pub struct Emulator {
    child: Child,
    pub url: String,
}

impl Emulator {
    pub fn start() -> Emulator {
        Emulator::with_args(&[])
    }

    pub fn with_args(extra: &[&str]) -> Emulator {
        Emulator::spawn(extra, Stdio::null())
    }

    /// Like [`Emulator::with_args`], keeping its stderr for [`Emulator::stop`]. Only for
    /// short runs: nothing reads the pipe until then.
    pub fn logged(extra: &[&str]) -> Emulator {
        Emulator::spawn(extra, Stdio::piped())
    }

    /// Stop it and return what it logged (empty unless started with [`Emulator::logged`]).
    pub fn stop(mut self) -> String {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let mut logs = String::new();
        if let Some(mut e) = self.child.stderr.take() {
            let _ = std::io::Read::read_to_string(&mut e, &mut logs);
        }
        logs
    }

    fn spawn(extra: &[&str], stderr: Stdio) -> Emulator {
        let mut child = Command::new(BIN)
            .args(["emulator", "--port", "0"])
            .args(extra)
            .env_clear()
            .env("RUST_BACKTRACE", "0")
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .unwrap();
        let mut url = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut url)
            .unwrap();
        let url = url.trim_end().to_owned();
        assert!(url.starts_with("http://127.0.0.1:"), "{url:?}");
        Emulator { child, url }
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A temporary HOME with empty AWS config and credentials files.
pub struct Sandbox {
    pub dir: tempfile::TempDir,
}

impl Default for Sandbox {
    fn default() -> Sandbox {
        Sandbox::new()
    }
}

impl Sandbox {
    pub fn new() -> Sandbox {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("config"), "").unwrap();
        std::fs::write(dir.path().join("credentials"), "").unwrap();
        Sandbox { dir }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Write `text` to `name` in the sandbox and return its path.
    pub fn file(&self, name: &str, text: &str) -> PathBuf {
        let p = self.path(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    /// The binary with nothing from this machine: no credentials, no region, no endpoint.
    pub fn bare(&self) -> Command {
        let mut c = Command::new(BIN);
        c.current_dir(repo())
            .env_clear()
            .env("HOME", self.dir.path())
            .env("RUST_BACKTRACE", "0")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("AWS_CONFIG_FILE", self.path("config"))
            .env("AWS_SHARED_CREDENTIALS_FILE", self.path("credentials"));
        c
    }

    /// The binary with test credentials and a region, pointed at `emu`.
    pub fn cli(&self, emu: &Emulator) -> Command {
        let mut c = self.bare();
        c.env("AWS_ACCESS_KEY_ID", KEY_ID)
            .env("AWS_SECRET_ACCESS_KEY", SECRET)
            .env("AWS_REGION", REGION)
            .env("AWS_ENDPOINT_URL_XRAY", &emu.url);
        c
    }

    /// Run `cli(emu)` with `args`.
    pub fn run(&self, emu: &Emulator, args: &[&str]) -> Run {
        Run::of(self.cli(emu).args(args).output().unwrap())
    }

    /// botocore against `emu`: each call is `[operation_in_snake_case, params]`; the answer
    /// is one value per call, the response (ResponseMetadata removed, timestamps as epoch
    /// seconds) or `{"Error": {"Code", "Message"}}`.
    pub fn botocore(&self, emu: &Emulator, calls: &Value) -> Vec<Value> {
        let python = python();
        let mut child = Command::new(&python)
            .arg(repo().join("tests/conformance/readback.py"))
            .current_dir(repo())
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", self.dir.path())
            .env("AWS_ACCESS_KEY_ID", KEY_ID)
            .env("AWS_SECRET_ACCESS_KEY", SECRET)
            .env("AWS_DEFAULT_REGION", REGION)
            .env("AWS_ENDPOINT_URL_XRAY", &emu.url)
            .env("AWS_CONFIG_FILE", self.path("config"))
            .env("AWS_SHARED_CREDENTIALS_FILE", self.path("credentials"))
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(calls.to_string().as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "readback.py failed ({}):\n{stdout}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        let v: Value = serde_json::from_str(&stdout)
            .unwrap_or_else(|e| panic!("readback.py printed no JSON ({e}): {stdout}"));
        v.as_array().unwrap().clone()
    }

    /// One botocore call.
    pub fn botocore1(&self, emu: &Emulator, op: &str, params: Value) -> Value {
        self.botocore(emu, &serde_json::json!([[op, params]]))
            .pop()
            .unwrap()
    }
}

/// A finished child: exit code, stdout, stderr.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn of(out: Output) -> Run {
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// Assert the exit code; return stdout.
    #[track_caller]
    pub fn code(&self, want: i32) -> &str {
        assert_eq!(
            self.code, want,
            "exit code\nstdout: {}\nstderr: {}",
            self.stdout, self.stderr
        );
        &self.stdout
    }

    #[track_caller]
    pub fn ok(&self) -> &str {
        self.code(0)
    }

    /// stdout as one JSON document.
    #[track_caller]
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not one JSON document ({e}): {}", self.stdout))
    }
}

pub fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

static NEXT: AtomicU64 = AtomicU64::new(1);

/// A fresh trace ID placed at `at` (epoch seconds), unique within this test process.
pub fn trace_id(at: f64) -> String {
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    format!("1-{:08x}-{:016x}{:08x}", at as u64, n, std::process::id())
}

/// A 16-hex-digit segment ID, unique within this test process.
pub fn segment_id() -> String {
    format!("{:016x}", NEXT.fetch_add(1, Ordering::Relaxed))
}

/// What one hand-made segment says.
#[derive(Debug, Clone)]
pub struct Seg<'a> {
    pub service: &'a str,
    /// Trace time (in the ID) and start time, epoch seconds.
    pub at: f64,
    pub response_time: f64,
    pub fault: bool,
    pub error: bool,
    pub throttle: bool,
    pub url: &'a str,
}

impl<'a> Seg<'a> {
    pub fn new(service: &'a str, at: f64, response_time: f64) -> Seg<'a> {
        Seg {
            service,
            at,
            response_time,
            fault: false,
            error: false,
            throttle: false,
            url: "http://localhost:4567/api/activities/home",
        }
    }

    /// The segment document and its trace ID.
    pub fn document(&self) -> (String, String) {
        let id = trace_id(self.at);
        let status = if self.fault {
            500
        } else if self.throttle {
            429
        } else if self.error {
            400
        } else {
            200
        };
        let doc = serde_json::json!({
            "id": segment_id(),
            "trace_id": id,
            "name": self.service,
            "start_time": self.at,
            "end_time": self.at + self.response_time,
            "origin": "AWS::EC2::Instance",
            "fault": self.fault,
            "error": self.error,
            "throttle": self.throttle,
            "http": {
                "request": {"method": "GET", "url": self.url},
                "response": {"status": status}
            }
        });
        (doc.to_string(), id)
    }
}

/// `put_trace_segments` calls for `segs` (at most 50 documents each), and the trace IDs.
pub fn put_calls(segs: &[Seg]) -> (Value, Vec<String>) {
    let (docs, ids): (Vec<String>, Vec<String>) = segs.iter().map(Seg::document).unzip();
    let calls: Vec<Value> = docs
        .chunks(50)
        .map(|c| serde_json::json!(["put_trace_segments", {"TraceSegmentDocuments": c}]))
        .collect();
    (Value::Array(calls), ids)
}
