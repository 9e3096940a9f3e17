//! Helpers shared by the tests/reliability_*.rs suites: a clean child environment and the
//! emulator binary on 127.0.0.1 with faults.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStderr, Command as StdCommand, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use assert_cmd::Command;

pub const BIN: &str = env!("CARGO_BIN_EXE_cruddur-xray");
pub const SECRET: &str = "SECRETsecretSECRET-cruddur-test";
pub const TOKEN: &str = "SESSIONtokenTOKEN-cruddur-test";
pub const ACCESS_KEY_ID: &str = "AKIDCRUDDURRELIABILITY";

/// Empty AWS config files, a home directory, and the rule file of the repository.
pub struct Env {
    pub dir: tempfile::TempDir,
}

impl Env {
    pub fn new() -> Env {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("config"), "").unwrap();
        std::fs::write(dir.path().join("credentials"), "").unwrap();
        Env { dir }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn write(&self, name: &str, bytes: impl AsRef<[u8]>) -> String {
        let p = self.path(name);
        std::fs::write(&p, bytes).unwrap();
        p.to_string_lossy().into_owned()
    }

    fn apply(&self, c: &mut StdCommand) {
        c.env_clear()
            .env("HOME", self.dir.path())
            .env("RUST_BACKTRACE", "0")
            .env("NO_COLOR", "1")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("AWS_CONFIG_FILE", self.path("config"))
            .env("AWS_SHARED_CREDENTIALS_FILE", self.path("credentials"))
            .env("AWS_ACCESS_KEY_ID", ACCESS_KEY_ID)
            .env("AWS_SECRET_ACCESS_KEY", SECRET)
            .env("AWS_SESSION_TOKEN", TOKEN)
            .env("AWS_REGION", "us-east-1");
    }

    /// The binary with test credentials and a region, nothing from this machine, and a
    /// generous bound so a hang fails the test instead of blocking it.
    pub fn cmd(&self) -> Command {
        let mut c = StdCommand::new(BIN);
        self.apply(&mut c);
        let mut c = Command::from_std(c);
        c.timeout(Duration::from_secs(90));
        c
    }

    /// The binary as a child process, for signals.
    pub fn spawn(&self, args: &[&str]) -> Child {
        let mut c = StdCommand::new(BIN);
        self.apply(&mut c);
        c.args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    }
}

/// The repository's rule file.
pub fn xray_json() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("aws/json/xray.json")
        .to_string_lossy()
        .into_owned()
}

pub fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// An error run: the exit code is one of `codes`, stdout is empty, stderr is one line
/// starting with `error: ` and carrying no backtrace. Returns the line.
pub fn one_line_error(out: &Output, codes: &[i32]) -> String {
    let stderr = text(&out.stderr);
    let code = out.status.code();
    assert!(
        code.is_some_and(|c| codes.contains(&c)),
        "exit {code:?}, expected one of {codes:?}; stderr: {stderr}"
    );
    assert_eq!(text(&out.stdout), "", "stdout is empty on an error");
    assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
    assert!(stderr.starts_with("error: "), "{stderr}");
    assert!(!stderr.contains("backtrace") && !stderr.contains("panicked"));
    stderr.trim_end().to_owned()
}

/// The emulator binary on 127.0.0.1:0; killed when dropped.
pub struct Emulator {
    pub child: Child,
    pub url: String,
    logs: Arc<Mutex<String>>,
    reader: Option<std::thread::JoinHandle<()>>,
    _env: Env,
}

impl Emulator {
    pub fn start(extra: &[&str]) -> Emulator {
        let env = Env::new();
        let mut args = vec!["emulator", "--port", "0"];
        args.extend_from_slice(extra);
        let mut child = env.spawn(&args);
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut url = String::new();
        stdout.read_line(&mut url).unwrap();
        assert!(url.starts_with("http://127.0.0.1:"), "URL line: {url:?}");
        let stderr = child.stderr.take().unwrap();
        let logs = Arc::new(Mutex::new(String::new()));
        let sink = logs.clone();
        let reader = std::thread::spawn(move || collect(stderr, &sink));
        Emulator {
            child,
            url: url.trim_end().to_owned(),
            logs,
            reader: Some(reader),
            _env: env,
        }
    }

    pub fn logs(&self) -> String {
        self.logs.lock().unwrap().clone()
    }

    /// Wait until the logs contain `needle` (start the emulator with -v for request logs).
    pub fn wait_for_log(&self, needle: &str, bound: Duration) {
        let start = Instant::now();
        while !self.logs().contains(needle) {
            assert!(
                start.elapsed() < bound,
                "no {needle:?} in the emulator logs after {bound:?}: {}",
                self.logs()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Stop with SIGTERM and return everything it logged.
    pub fn stop(mut self) -> String {
        signal(&self.child, "-TERM");
        let _ = self.child.wait();
        if let Some(r) = self.reader.take() {
            let _ = r.join();
        }
        self.logs()
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn collect(stderr: ChildStderr, sink: &Mutex<String>) {
    let mut lines = BufReader::new(stderr);
    let mut line = String::new();
    while lines.read_line(&mut line).unwrap_or(0) > 0 {
        sink.lock().unwrap().push_str(&line);
        line.clear();
    }
}

pub fn signal(child: &Child, name: &str) {
    let status = StdCommand::new("kill")
        .args([name, &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

/// Wait for a child with a generous bound; kill it and fail if it hangs.
pub fn wait_bounded(mut child: Child, bound: Duration) -> Output {
    let start = Instant::now();
    loop {
        if child.try_wait().unwrap().is_some() {
            return child.wait_with_output().unwrap();
        }
        if start.elapsed() > bound {
            let _ = child.kill();
            panic!("still running after {bound:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}
