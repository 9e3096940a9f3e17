//! The crate's error type and the documented exit codes (they follow the AWS CLI v2).

use std::process::ExitCode;

/// Every way a command can fail, each mapped to one documented exit code.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Bad input: a flag value, a rule file, a filter expression. Exit 252; nothing was sent.
    #[error("{0}")]
    InvalidInput(String),
    /// Missing or broken region, profile or credentials. Exit 253.
    #[error("{0}")]
    Config(String),
    /// The service answered with an error. Exit 254.
    #[error("{operation} failed: {code}: {message}")]
    Service {
        operation: &'static str,
        code: String,
        message: String,
    },
    /// Anything else: an unreachable endpoint, a timeout, an unreadable response. Exit 255.
    #[error("{0}")]
    Other(String),
    /// Stopped by Ctrl-C (SIGINT); the message says which writes were sent. Exit 130.
    #[error("{0}")]
    Interrupted(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The exit codes, in one place. `--help` and the README list the same table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Exit {
    Ok = 0,
    /// verify found a problem, or `--no-update` found drift.
    CheckFailed = 1,
    Usage = 2,
    InvalidInput = 252,
    Config = 253,
    Service = 254,
    Other = 255,
    /// Ctrl-C (SIGINT), as shells report it: 128 + 2.
    Interrupted = 130,
}

impl Exit {
    pub fn code(self) -> u8 {
        self as u8
    }
}

impl From<Exit> for ExitCode {
    fn from(e: Exit) -> ExitCode {
        ExitCode::from(e.code())
    }
}

impl Error {
    pub fn exit(&self) -> Exit {
        match self {
            Error::InvalidInput(_) => Exit::InvalidInput,
            Error::Config(_) => Exit::Config,
            Error::Service { .. } => Exit::Service,
            Error::Other(_) => Exit::Other,
            Error::Interrupted(_) => Exit::Interrupted,
        }
    }

    /// Worth another try a little later: throttling, a server-side failure, or a network
    /// problem. `verify --wait` keeps polling through these until its deadline.
    pub fn is_transient(&self) -> bool {
        match self {
            Error::Other(_) => true,
            Error::Service { code, .. } => matches!(
                code.as_str(),
                "ThrottledException"
                    | "ThrottlingException"
                    | "TooManyRequestsException"
                    | "ServiceUnavailableException"
                    | "ServiceUnavailable"
                    | "InternalFailure"
                    | "InternalServerError"
                    | "RequestTimeout"
            ),
            _ => false,
        }
    }

    pub fn invalid(msg: impl Into<String>) -> Error {
        Error::InvalidInput(msg.into())
    }
}

/// Messages quote the user's text (a key from a file, a filter expression). A control
/// character in it is shown escaped (`\n`, `\u{1b}`), so an error stays one line and no
/// escape sequence reaches the terminal.
pub fn escape_controls(message: &str) -> String {
    if !message.chars().any(char::is_control) {
        return message.to_owned();
    }
    message
        .chars()
        .map(|c| {
            if c.is_control() {
                c.escape_default().collect()
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// The table printed after `--help` and copied into the README.
pub const EXIT_CODES_HELP: &str = "\
Exit codes:
  0    success
  1    a check failed (verify), or --no-update found drift
  2    usage error (unknown flag, missing argument)
  130  interrupted by Ctrl-C (SIGINT); stderr says which writes were sent and confirmed
  252  invalid input (rule file, filter expression, flag value); nothing was sent
  253  credentials or configuration (no region, no credentials, bad profile)
  254  the service refused the request (its error code and message are printed)
  255  anything else (endpoint unreachable, timeout, unreadable response)";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_in_messages_are_escaped() {
        assert_eq!(escape_controls("plain é"), "plain é");
        assert_eq!(escape_controls("a\nb\u{1b}[31m"), "a\\nb\\u{1b}[31m");
    }

    #[test]
    fn each_error_maps_to_its_documented_code() {
        assert_eq!(Error::invalid("x").exit().code(), 252);
        assert_eq!(Error::Config("x".into()).exit().code(), 253);
        let service = Error::Service {
            operation: "CreateGroup",
            code: "InvalidRequestException".into(),
            message: "Group already exists".into(),
        };
        assert_eq!(service.exit().code(), 254);
        assert_eq!(
            service.to_string(),
            "CreateGroup failed: InvalidRequestException: Group already exists"
        );
        assert_eq!(Error::Other("x".into()).exit().code(), 255);
        assert!(Error::Other("timed out".into()).is_transient());
        assert!(!service.is_transient(), "a refusal is final");
        assert!(!Error::invalid("x").is_transient());
        assert_eq!(Error::Interrupted("x".into()).exit().code(), 130);
        for code in [0u8, 1, 2, 130, 252, 253, 254, 255] {
            assert!(
                EXIT_CODES_HELP.contains(&format!("  {code} ")),
                "{code} is documented"
            );
        }
    }
}
