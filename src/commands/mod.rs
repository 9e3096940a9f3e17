//! One module per subcommand: an `Args` struct and `async fn run`.

pub mod create_group;
pub mod create_sampling_rule;
pub mod demo;
pub mod emulator;
pub mod send_test_trace;
pub mod validate;
pub mod verify;

use crate::cli::{Command, GlobalArgs};
use crate::error::{Exit, Result};
use crate::reconcile::Action;
use crate::xray::sdk::SdkXRay;

/// What every command gets: the global flags. AWS clients are built on demand from them,
/// so offline commands (validate, emulator) never read AWS configuration.
#[derive(Debug, Clone)]
pub struct Context {
    pub global: GlobalArgs,
}

impl Context {
    /// An X-Ray client from the global flags. Region and credentials are checked here,
    /// before any request, so a missing one is a clear exit 253.
    pub async fn xray(&self) -> Result<SdkXRay> {
        SdkXRay::connect(&self.global).await
    }
}

/// `--dry-run` and `--no-update`, shared by the create commands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ApplyOptions {
    pub dry_run: bool,
    pub no_update: bool,
}

impl ApplyOptions {
    /// An update found under `--no-update` is a failed check (exit 1), dry run or not.
    pub fn outcome(self, action: Action) -> Outcome {
        if self.no_update && action == Action::Update {
            Outcome::CheckFailed
        } else {
            Outcome::Ok
        }
    }

    /// Whether a plan with this action is written: not when nothing differs, not on a dry
    /// run, and not when `--no-update` found a difference.
    pub fn writes(self, action: Action) -> bool {
        action != Action::Unchanged && !self.dry_run && self.outcome(action) == Outcome::Ok
    }
}

/// How a command that ran to the end went: 0, 1 when a check failed, 252 when the input
/// was invalid and every problem was already reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Ok,
    CheckFailed,
    /// Input was invalid and every problem has already been reported (validate).
    InvalidInput,
}

impl From<Outcome> for Exit {
    fn from(o: Outcome) -> Exit {
        match o {
            Outcome::Ok => Exit::Ok,
            Outcome::CheckFailed => Exit::CheckFailed,
            Outcome::InvalidInput => Exit::InvalidInput,
        }
    }
}

/// Run one command. Ctrl-C stops every command but the emulator at once with
/// [`crate::error::Error::Interrupted`] (exit 130), naming the writes that were sent; the
/// emulator handles Ctrl-C itself and stops cleanly (exit 0).
pub async fn run(command: Command, ctx: &Context) -> Result<Outcome> {
    let is_emulator = matches!(command, Command::Emulator(_));
    let work = async move {
        match command {
            Command::CreateGroup(a) => create_group::run(a, ctx).await,
            Command::CreateSamplingRule(a) => create_sampling_rule::run(a, ctx).await,
            Command::Verify(a) => verify::run(a, ctx).await,
            Command::Validate(a) => validate::run(a, ctx).await,
            Command::SendTestTrace(a) => send_test_trace::run(a, ctx).await,
            Command::Emulator(a) => emulator::run(a, ctx).await,
            Command::Demo(a) => demo::run(a, ctx).await,
        }
    };
    if is_emulator {
        work.await
    } else {
        crate::interrupt::until_ctrl_c(work).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_real_change_without_dry_run_or_drift_check_is_written() {
        let run = ApplyOptions::default();
        let dry = ApplyOptions {
            dry_run: true,
            ..run
        };
        let no_update = ApplyOptions {
            no_update: true,
            ..run
        };
        assert!(run.writes(Action::Create) && run.writes(Action::Update));
        assert!(!run.writes(Action::Unchanged));
        assert!(!dry.writes(Action::Create) && !dry.writes(Action::Update));
        // --no-update still creates a missing resource, but leaves a differing one alone.
        assert!(no_update.writes(Action::Create));
        assert!(!no_update.writes(Action::Update));
    }
}
