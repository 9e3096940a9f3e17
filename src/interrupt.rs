//! Ctrl-C: stop the command at once and say which writes reached the service.
//!
//! The SDK layer records every write operation (create, update, tag, untag, put) in a
//! process-wide [`Journal`]: sent when its first attempt goes out, confirmed when the
//! service answers it, failed when it gave up. On Ctrl-C the command's future is dropped
//! (no further request is sent) and the error line, exit 130, says what the journal holds,
//! so the user knows whether a re-run is needed (it always completes the work: every
//! command reads before it writes).

use std::future::Future;
use std::sync::Mutex;

use crate::error::{Error, Result};

/// What became of one write operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteState {
    /// Transmitted, no answer yet: the service may or may not have applied it.
    Sent,
    /// The service answered with success.
    Confirmed,
    /// The SDK gave up on it (error answer, timeout, dropped connection).
    Failed,
}

/// The writes of this process, in the order they were first sent.
#[derive(Debug, Default)]
pub struct Journal {
    writes: Mutex<Vec<(&'static str, WriteState)>>,
}

static JOURNAL: Journal = Journal {
    writes: Mutex::new(Vec::new()),
};

/// The process-wide journal the SDK layer writes to.
pub fn journal() -> &'static Journal {
    &JOURNAL
}

/// The operations that change the service's state.
pub fn is_write(operation: &str) -> bool {
    matches!(
        operation,
        "CreateGroup"
            | "UpdateGroup"
            | "DeleteGroup"
            | "TagResource"
            | "UntagResource"
            | "CreateSamplingRule"
            | "UpdateSamplingRule"
            | "DeleteSamplingRule"
            | "PutTraceSegments"
    )
}

impl Journal {
    /// Record the state of the latest write of `operation` (a new entry when it is sent
    /// again after it was confirmed or failed).
    pub fn record(&self, operation: &'static str, state: WriteState) {
        let Ok(mut writes) = self.writes.lock() else {
            return;
        };
        match writes.iter_mut().rev().find(|(op, _)| *op == operation) {
            // Another attempt of a write still in flight changes nothing.
            Some((_, s)) if *s == WriteState::Sent => *s = state,
            _ if state == WriteState::Sent => writes.push((operation, state)),
            // Confirmed or failed without a recorded send: the request never went out.
            _ => {}
        }
    }

    pub fn snapshot(&self) -> Vec<(&'static str, WriteState)> {
        self.writes.lock().map(|w| w.clone()).unwrap_or_default()
    }

    /// The one-line summary printed after Ctrl-C.
    pub fn summary(&self) -> String {
        summarize(&self.snapshot())
    }
}

/// `interrupted (Ctrl-C): ...` naming every write and whether it was confirmed.
pub fn summarize(writes: &[(&'static str, WriteState)]) -> String {
    if writes.is_empty() {
        return "interrupted (Ctrl-C) before any write was sent: nothing was changed".to_owned();
    }
    let parts: Vec<String> = writes
        .iter()
        .map(|(op, state)| match state {
            WriteState::Sent => {
                format!("{op} was sent but not confirmed (it may or may not have been applied)")
            }
            WriteState::Confirmed => format!("{op} was applied"),
            WriteState::Failed => format!("{op} failed without a success answer"),
        })
        .collect();
    let all_done = writes.iter().all(|(_, s)| *s == WriteState::Confirmed);
    let advice = if all_done {
        "later steps were not run; run the command again to finish"
    } else {
        "run the command again to finish: it reads the current state first"
    };
    format!("interrupted (Ctrl-C): {}; {advice}", parts.join(", "))
}

/// Run `work` until it finishes or Ctrl-C arrives; on Ctrl-C, drop it (sending nothing
/// more) and return [`Error::Interrupted`] with the journal's summary.
pub async fn until_ctrl_c<T>(work: impl Future<Output = Result<T>>) -> Result<T> {
    tokio::select! {
        result = work => result,
        signal = tokio::signal::ctrl_c() => match signal {
            Ok(()) => Err(Error::Interrupted(journal().summary())),
            // No handler could be installed: run without one rather than fail.
            Err(e) => {
                tracing::warn!("cannot listen for Ctrl-C: {e}");
                std::future::pending().await
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_summary_says_what_was_applied() {
        assert_eq!(
            summarize(&[]),
            "interrupted (Ctrl-C) before any write was sent: nothing was changed"
        );
        let j = Journal::default();
        j.record("GetGroup", WriteState::Confirmed);
        assert!(j.snapshot().is_empty(), "nothing sent, nothing recorded");
        j.record("CreateGroup", WriteState::Sent);
        j.record("CreateGroup", WriteState::Sent);
        j.record("CreateGroup", WriteState::Confirmed);
        j.record("CreateSamplingRule", WriteState::Sent);
        assert_eq!(
            j.snapshot(),
            [
                ("CreateGroup", WriteState::Confirmed),
                ("CreateSamplingRule", WriteState::Sent)
            ]
        );
        assert_eq!(
            j.summary(),
            "interrupted (Ctrl-C): CreateGroup was applied, CreateSamplingRule was sent but not confirmed (it may or may not have been applied); run the command again to finish: it reads the current state first"
        );
        j.record("CreateSamplingRule", WriteState::Failed);
        assert!(
            j.summary()
                .contains("CreateSamplingRule failed without a success answer")
        );
        assert!(is_write("PutTraceSegments") && !is_write("GetSamplingRules"));
    }
}
