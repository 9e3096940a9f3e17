//! The time window verify reads: `--since` or `--start/--end`, checked, and split into
//! chunks of at most six hours (the longest window the X-Ray console asks for at once).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::error::{Error, Result};

/// X-Ray keeps traces for 30 days; no window may be longer.
pub const MAX_WINDOW: Duration = Duration::from_secs(30 * 24 * 3600);
/// The longest single GetTraceSummaries window verify sends.
pub const CHUNK: Duration = Duration::from_secs(6 * 3600);
/// `--since` when neither it nor `--start/--end` is given.
pub const DEFAULT_SINCE: Duration = Duration::from_secs(15 * 60);

/// What the user asked for. `Since` slides with the clock (each `--wait` poll re-reads it).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum WindowSpec {
    Since(Duration),
    /// Epoch seconds.
    Range {
        start: f64,
        end: f64,
    },
}

/// A concrete window in epoch seconds, `start < end`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Window {
    pub start: f64,
    pub end: f64,
}

/// Parse `--since`: a humantime duration such as `15m`, `2h`, `30d`; more than 0, at most 30d.
pub fn parse_since(text: &str) -> Result<Duration> {
    let d = humantime::parse_duration(text.trim()).map_err(|e| {
        Error::invalid(format!(
            "--since: {e} in {text:?}; expected a duration such as 15m, 2h or 30d"
        ))
    })?;
    if d.is_zero() {
        return Err(Error::invalid("--since must be more than 0 (got 0)"));
    }
    if d > MAX_WINDOW {
        return Err(Error::invalid(format!(
            "--since must be at most 30d, the X-Ray retention (got {text})"
        )));
    }
    Ok(d)
}

/// Parse `--start`/`--end`: RFC 3339 (`2026-11-25T06:00:00Z`, the `T` and `Z` optional) or
/// epoch seconds (`1764050400`, fractions allowed). `flag` names the flag in the error.
pub fn parse_time(flag: &str, text: &str) -> Result<f64> {
    let t = text.trim();
    if let Ok(secs) = t.parse::<f64>() {
        if secs.is_finite() && secs >= 0.0 {
            return Ok(secs);
        }
        return Err(Error::invalid(format!(
            "{flag} must be a time after 1970 (got {text})"
        )));
    }
    let time = humantime::parse_rfc3339_weak(t).map_err(|e| {
        Error::invalid(format!(
            "{flag}: {e} in {text:?}; expected RFC 3339 (2026-11-25T06:00:00Z) or epoch seconds"
        ))
    })?;
    Ok(epoch(time))
}

/// Check a `--start/--end` pair.
pub fn range(start: f64, end: f64) -> Result<WindowSpec> {
    if end <= start {
        return Err(Error::invalid(format!(
            "--end must be after --start (got {} and {})",
            format_time(start),
            format_time(end)
        )));
    }
    if end - start > MAX_WINDOW.as_secs_f64() {
        return Err(Error::invalid(format!(
            "--start/--end span {}, more than 30d (the X-Ray retention)",
            format_span(end - start)
        )));
    }
    Ok(WindowSpec::Range { start, end })
}

pub fn epoch(t: SystemTime) -> f64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

impl WindowSpec {
    /// The concrete window at `now` (epoch seconds).
    pub fn resolve(&self, now: f64) -> Window {
        match *self {
            WindowSpec::Since(d) => Window {
                start: now - d.as_secs_f64(),
                end: now,
            },
            WindowSpec::Range { start, end } => Window { start, end },
        }
    }

    /// "in the last 15m" or "between 2026-11-25T00:00:00Z and 2026-11-25T06:00:00Z".
    pub fn describe(&self) -> String {
        match *self {
            WindowSpec::Since(d) => format!("in the last {}", compact(d)),
            WindowSpec::Range { start, end } => {
                format!("between {} and {}", format_time(start), format_time(end))
            }
        }
    }
}

impl Window {
    /// Contiguous chunks of at most [`CHUNK`], oldest first, covering the window exactly:
    /// each chunk ends where the next starts, and the last ends at `end`.
    pub fn chunks(&self) -> Vec<Window> {
        let step = CHUNK.as_secs_f64();
        let mut out = Vec::new();
        let mut start = self.start;
        while start < self.end {
            // Compute each boundary from the window start, so rounding does not drift.
            let end = (self.start + step * (out.len() + 1) as f64).min(self.end);
            out.push(Window { start, end });
            start = end;
        }
        out
    }
}

/// RFC 3339 to the second, UTC.
pub fn format_time(epoch_secs: f64) -> String {
    let secs = epoch_secs.max(0.0);
    let t = UNIX_EPOCH + Duration::from_secs_f64(secs.min(1e11));
    humantime::format_rfc3339_seconds(t).to_string()
}

/// A span in seconds, as [`compact`] writes it.
pub fn format_span(secs: f64) -> String {
    compact(Duration::from_secs(secs.clamp(0.0, 1e11).round() as u64))
}

/// A duration the way the flags take it: `15m`, `1h30m`, `30d`, `300ms`.
pub fn compact(d: Duration) -> String {
    let mut secs = d.as_secs();
    let millis = d.subsec_millis();
    if secs == 0 {
        return format!("{millis}ms");
    }
    let mut out = String::new();
    for (unit, size) in [("d", 86_400), ("h", 3_600), ("m", 60), ("s", 1)] {
        if secs >= size {
            out.push_str(&format!("{}{unit}", secs / size));
            secs %= size;
        }
    }
    if millis > 0 {
        out.push_str(&format!("{millis}ms"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_accepts_durations_up_to_thirty_days() {
        assert_eq!(parse_since("15m").unwrap(), Duration::from_secs(900));
        assert_eq!(parse_since("2h").unwrap(), Duration::from_secs(7200));
        assert_eq!(parse_since("30d").unwrap(), MAX_WINDOW);
        let err = parse_since("31d").unwrap_err();
        assert_eq!(err.exit().code(), 252);
        assert!(
            err.to_string().starts_with("--since must be at most 30d"),
            "{err}"
        );
        assert!(
            parse_since("soon")
                .unwrap_err()
                .to_string()
                .starts_with("--since")
        );
        assert!(parse_since("0s").is_err());
    }

    #[test]
    fn times_are_rfc3339_or_epoch_seconds() {
        assert_eq!(parse_time("--start", "1764050400").unwrap(), 1764050400.0);
        assert_eq!(parse_time("--start", "1764050400.5").unwrap(), 1764050400.5);
        assert_eq!(
            parse_time("--start", "2025-11-25T06:00:00Z").unwrap(),
            1764050400.0
        );
        assert_eq!(
            parse_time("--end", "2025-11-25 06:00:00").unwrap(),
            1764050400.0
        );
        let err = parse_time("--end", "yesterday").unwrap_err();
        assert!(err.to_string().starts_with("--end:"), "{err}");
        assert!(parse_time("--end", "-5").is_err());
    }

    #[test]
    fn ranges_must_be_ordered_and_at_most_thirty_days() {
        assert!(range(10.0, 20.0).is_ok());
        assert!(
            range(20.0, 10.0)
                .unwrap_err()
                .to_string()
                .starts_with("--end must be after")
        );
        let err = range(0.0, 31.0 * 86400.0).unwrap_err();
        assert_eq!(err.exit().code(), 252);
        assert!(err.to_string().contains("more than 30d"), "{err}");
    }

    #[test]
    fn a_day_splits_into_four_contiguous_six_hour_chunks() {
        let w = Window {
            start: 1000.0,
            end: 1000.0 + 86400.0,
        };
        let chunks = w.chunks();
        assert_eq!(chunks.len(), 4);
        assert_eq!(chunks[0].start, w.start);
        assert_eq!(chunks[3].end, w.end);
        for pair in chunks.windows(2) {
            assert_eq!(pair[0].end, pair[1].start);
        }
        for c in &chunks {
            assert!(c.end - c.start <= CHUNK.as_secs_f64());
        }
    }

    #[test]
    fn short_and_uneven_windows_chunk_correctly() {
        let w = Window {
            start: 0.0,
            end: 900.0,
        };
        assert_eq!(w.chunks(), vec![w]);
        let w = Window {
            start: 0.0,
            end: 7.0 * 3600.0,
        };
        let c = w.chunks();
        assert_eq!(c.len(), 2);
        assert_eq!(c[1].end - c[1].start, 3600.0);
        let thirty = Window {
            start: 0.0,
            end: MAX_WINDOW.as_secs_f64(),
        };
        assert_eq!(thirty.chunks().len(), 120);
    }

    #[test]
    fn durations_print_the_way_the_flags_take_them() {
        assert_eq!(compact(Duration::from_secs(900)), "15m");
        assert_eq!(compact(Duration::from_secs(5400)), "1h30m");
        assert_eq!(compact(MAX_WINDOW), "30d");
        assert_eq!(compact(Duration::from_millis(300)), "300ms");
        assert_eq!(compact(Duration::from_millis(1500)), "1s500ms");
        assert_eq!(compact(Duration::ZERO), "0ms");
    }

    #[test]
    fn windows_describe_themselves() {
        assert_eq!(
            WindowSpec::Since(Duration::from_secs(900)).describe(),
            "in the last 15m"
        );
        assert_eq!(
            WindowSpec::Range {
                start: 1764050400.0,
                end: 1764054000.0
            }
            .describe(),
            "between 2025-11-25T06:00:00Z and 2025-11-25T07:00:00Z"
        );
    }
}
