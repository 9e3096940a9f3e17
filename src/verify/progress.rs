//! `--wait` progress on stderr: a spinner with the elapsed time and the latest count when
//! stderr is a terminal, one plain line per poll otherwise.

use std::io::Write;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

pub enum Progress {
    Spinner(ProgressBar),
    Lines,
}

/// What one poll found, for the progress display.
pub struct Tick<'a> {
    pub elapsed: Duration,
    /// Traces counted for the checks (the first `--group`'s, or the whole window's).
    pub count: u64,
    /// Names of the checks still failing.
    pub failing: &'a [String],
    pub next_poll: Duration,
}

/// Whole seconds: `0s`, `12s`, `1m5s`.
fn secs(d: Duration) -> String {
    if d.as_secs() == 0 {
        return "0s".into();
    }
    crate::verify::window::compact(Duration::from_secs(d.as_secs()))
}

impl Progress {
    pub fn new(stderr_is_terminal: bool) -> Progress {
        if stderr_is_terminal {
            let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
            if let Ok(style) = ProgressStyle::with_template("{spinner} {elapsed:>4} {msg}") {
                bar.set_style(style);
            }
            bar.enable_steady_tick(Duration::from_millis(120));
            Progress::Spinner(bar)
        } else {
            Progress::Lines
        }
    }

    pub fn update(&mut self, err: &mut (dyn Write + Send), tick: &Tick<'_>) {
        let failing = tick.failing.join(", ");
        match self {
            Progress::Spinner(bar) => bar.set_message(format!(
                "{} traces so far; waiting for: {failing}",
                tick.count
            )),
            Progress::Lines => {
                let _ = writeln!(
                    err,
                    "waiting: {} elapsed, {} traces; still failing: {failing}; next poll in {}",
                    secs(tick.elapsed),
                    tick.count,
                    crate::verify::window::compact(tick.next_poll)
                );
            }
        }
    }

    pub fn finish(&mut self) {
        if let Progress::Spinner(bar) = self {
            bar.finish_and_clear();
        }
    }
}

impl Drop for Progress {
    /// Clear the spinner even when verify stops early on an error.
    fn drop(&mut self) {
        self.finish();
    }
}
