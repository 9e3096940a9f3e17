//! Draws a [`FilterError`] the way rustc and ariadne do:
//!
//! ```text
//! error: unknown keyword `resposetime`; did you mean `responsetime`?
//!   |
//! 1 | resposetime > 5
//!   | ^^^^^^^^^^^
//! ```
//!
//! Long lines are cut to a window around the problem, tabs are shown as four spaces, other
//! control characters as U+FFFD.

use super::FilterError;

const RED: &str = "\x1b[1;31m";
const BLUE: &str = "\x1b[1;34m";
const BOLD: &str = "\x1b[1m";
const RESET: &str = "\x1b[0m";

/// Characters of the source line shown around the problem at most.
const WINDOW: usize = 100;
/// How far before the problem the window starts when the line is cut.
const LEAD: usize = 40;

pub(crate) fn render(error: &FilterError, source: &str, color: bool) -> String {
    let paint = |style: &str, text: &str| {
        if color {
            format!("{style}{text}{RESET}")
        } else {
            text.to_string()
        }
    };
    let mut out = String::new();
    out.push_str(&paint(RED, "error"));
    out.push_str(&paint(BOLD, &format!(": {}", error.message)));
    out.push('\n');
    out.push_str(&snippet(error, source, color));
    out
}

/// The source line with a caret under the problem, without the message line.
pub(crate) fn snippet(error: &FilterError, source: &str, color: bool) -> String {
    let paint = |style: &str, text: &str| {
        if color {
            format!("{style}{text}{RESET}")
        } else {
            text.to_string()
        }
    };
    let offset = floor_boundary(source, error.offset.min(source.len()));
    let line_start = source[..offset].rfind('\n').map_or(0, |i| i + 1);
    let line_end = source[offset..]
        .find('\n')
        .map_or(source.len(), |i| offset + i);
    let line = source[line_start..line_end].trim_end_matches('\r');

    let chars: Vec<char> = line.chars().collect();
    let caret_start = source[line_start..offset].chars().count();
    let span_end = floor_boundary(source, (offset + error.len).min(line_start + line.len()));
    let caret_len = source[offset..span_end.max(offset)].chars().count().max(1);

    let (from, to) = if chars.len() > WINDOW {
        let from = caret_start
            .saturating_sub(LEAD)
            .min(chars.len().saturating_sub(WINDOW));
        (from, (from + WINDOW).min(chars.len()))
    } else {
        (0, chars.len())
    };
    let mut shown = String::new();
    let mut pad = 0usize;
    let mut carets = 0usize;
    if from > 0 {
        shown.push_str("...");
        pad += 3;
    }
    for (i, c) in chars.iter().enumerate().take(to).skip(from) {
        let (text, width) = if *c == '\t' {
            ("    ".to_string(), 4)
        } else if c.is_control() {
            // Never echo a control character (an escape sequence would reach the terminal).
            ("\u{fffd}".to_string(), 1)
        } else {
            (c.to_string(), 1)
        };
        shown.push_str(&text);
        if i < caret_start {
            pad += width;
        } else if i < caret_start + caret_len {
            carets += width;
        }
    }
    if to < chars.len() {
        shown.push_str("...");
    }
    let carets = carets.max(1);

    let number = error.line.to_string();
    let gutter = " ".repeat(number.len());
    let bar = paint(BLUE, "|");
    let mut out = String::new();
    out.push_str(&format!("{gutter} {bar}\n"));
    out.push_str(&format!("{} {bar} {shown}\n", paint(BLUE, &number)));
    out.push_str(&format!(
        "{gutter} {bar} {}{}\n",
        " ".repeat(pad),
        paint(RED, &"^".repeat(carets))
    ));
    out
}

fn floor_boundary(s: &str, mut i: usize) -> usize {
    while i > 0 && !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}
