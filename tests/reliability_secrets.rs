//! Credentials never reach the output: every command at -vvv, with a recognisable secret
//! key and session token, against the emulator binary (itself at -vvv, whose logs must not
//! show the Authorization header either).

mod reliability_support;

use reliability_support::{ACCESS_KEY_ID, Emulator, Env, SECRET, TOKEN, text, xray_json};

/// Everything that would give a credential away: the key ID, the secret, the token and the
/// signature. (The SDK's endpoint and auth steps debug-print the identity; logging.rs caps
/// them.)
fn assert_no_credentials(what: &str, output: &str) {
    for needle in [
        ACCESS_KEY_ID,
        SECRET,
        TOKEN,
        "Signature=",
        "AWS4-HMAC-SHA256",
    ] {
        assert!(
            !output.contains(needle),
            "{what} printed {needle:?}:\n{output}"
        );
    }
    let lower = output.to_ascii_lowercase();
    assert!(
        !lower.contains("authorization: "),
        "{what} printed a header:\n{output}"
    );
    assert!(
        !lower.contains("x-amz-security-token"),
        "{what} printed the token header:\n{output}"
    );
}

#[test]
fn no_command_prints_credentials_even_at_full_verbosity() {
    let emu = Emulator::start(&["-vvv"]);
    let env = Env::new();
    let rule = xray_json();
    let url = emu.url.clone();
    let commands: Vec<Vec<&str>> = vec![
        vec![
            "create-group",
            "--group-name",
            "Cruddur",
            "--tag",
            "team=obs",
        ],
        vec!["create-sampling-rule", "--file", &rule],
        vec!["send-test-trace", "--service", "backend-flask"],
        vec![
            "verify",
            "--expect-group",
            "Cruddur",
            "--expect-rule",
            "Cruddur",
        ],
        vec![
            "validate",
            "--file",
            &rule,
            "--filter-expression",
            "service(\"a\")",
        ],
        vec!["demo", "--traces", "2"],
    ];
    for args in commands {
        let mut cmd = env.cmd();
        cmd.arg("-vvv").args(&args);
        if args[0] != "demo" && args[0] != "validate" {
            cmd.args(["--endpoint-url", &url]);
        }
        let out = cmd.output().unwrap();
        let all = format!("{}{}", text(&out.stdout), text(&out.stderr));
        assert_eq!(out.status.code(), Some(0), "{args:?}: {all}");
        // validate is offline and has nothing to log; the others talk to the service.
        assert!(
            args[0] == "validate" || !text(&out.stderr).is_empty(),
            "{args:?} logged something at -vvv"
        );
        assert_no_credentials(args[0], &all);
    }
    // The same command failing (the service refuses) prints none either.
    let out = env
        .cmd()
        .args([
            "-vvv",
            "create-group",
            "--group-name",
            "Default",
            "--filter-expression",
        ])
        .arg("service(\"x\")")
        .args(["--endpoint-url", &url])
        .output()
        .unwrap();
    assert_ne!(out.status.code(), Some(0));
    assert_no_credentials("a failing create-group", &text(&out.stderr));

    // The emulator was logging every request at -vvv.
    let logs = emu.stop();
    assert!(
        logs.contains("CreateGroup"),
        "the emulator logged requests: {logs}"
    );
    assert_no_credentials("the emulator", &logs);
    assert!(
        !logs.contains(ACCESS_KEY_ID),
        "the emulator logged the Authorization header's key ID: {logs}"
    );
}
