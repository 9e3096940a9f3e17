//! Semantic checks the parser runs as it goes: keywords that only make sense inside a
//! root-cause block, `annotation.KEY` mixed with `service()`/`edge()`, and "did you mean"
//! suggestions for unknown keywords.

use std::sync::OnceLock;

use super::Problem;
use super::ast::{FlagKeyword, NumberKeyword, RootCauseKind, RootCauseTarget, TextKeyword};

/// Keywords that describe a root-cause entity and mean nothing outside `rootcause.*.* { }`.
const ROOTCAUSE_ONLY: &[&str] = &[
    "first", "last", "remote", "index", "coverage", "name", "type", "message",
];

/// What the parser has seen so far that later checks depend on.
#[derive(Debug, Default)]
pub(crate) struct Context {
    /// Kinds of the enclosing `rootcause.<kind>.* { }` blocks, innermost last.
    pub rootcause: Vec<RootCauseKind>,
    /// First `annotation.KEY`: (offset, len, text).
    pub first_annotation: Option<(usize, usize, String)>,
    /// First `service(...)` / `edge(...)`: (offset, len, word).
    pub first_service: Option<(usize, usize, String)>,
}

impl Context {
    /// Problems with using keyword `canonical` (written as `written`) at this point.
    pub fn check_keyword(
        &self,
        canonical: &str,
        written: &str,
        offset: usize,
        len: usize,
    ) -> Option<Problem> {
        if !ROOTCAUSE_ONLY.contains(&canonical) {
            return None;
        }
        match self.rootcause.last() {
            None => Some(Problem::new(
                offset,
                len,
                format!(
                    "`{written}` only applies inside a root-cause block, e.g. `rootcause.fault.service {{ {canonical} ... }}`"
                ),
            )),
            Some(kind) if canonical == "coverage" && *kind != RootCauseKind::ResponseTime => {
                Some(Problem::new(
                    offset,
                    len,
                    format!(
                        "`{written}` only applies inside a `rootcause.responsetime.* {{ }}` block (this block is `rootcause.{kind}`)"
                    ),
                ))
            }
            Some(_) => None,
        }
    }

    pub fn note_annotation(&mut self, offset: usize, len: usize, text: &str) {
        if self.first_annotation.is_none() {
            self.first_annotation = Some((offset, len, text.to_string()));
        }
    }

    pub fn note_service(&mut self, offset: usize, len: usize, word: &str) {
        if self.first_service.is_none() {
            self.first_service = Some((offset, len, word.to_string()));
        }
    }

    /// The annotation/service conflict, reported at whichever came second.
    pub fn finish(&self) -> Option<Problem> {
        let (a, s) = (
            self.first_annotation.as_ref()?,
            self.first_service.as_ref()?,
        );
        Some(if a.0 > s.0 {
            Problem::new(
                a.0,
                a.1,
                format!(
                    "`{}` cannot be combined with service() or edge() in one expression",
                    super::lexer::shorten(&a.2)
                ),
            )
        } else {
            Problem::new(
                s.0,
                s.1,
                format!(
                    "`{}()` cannot be combined with annotation.KEY in one expression",
                    s.2
                ),
            )
        })
    }
}

/// Every keyword a user can write at the start of a term, for suggestions (built once).
fn known_words() -> &'static [String] {
    static WORDS: OnceLock<Vec<String>> = OnceLock::new();
    WORDS.get_or_init(|| {
        let mut words: Vec<String> = Vec::new();
        words.extend(FlagKeyword::ALL.iter().map(|k| k.as_str().to_string()));
        words.extend(NumberKeyword::ALL.iter().map(|k| k.as_str().to_string()));
        words.extend(TextKeyword::ALL.iter().map(|k| k.as_str().to_string()));
        for w in [
            "service",
            "edge",
            "group.name",
            "group.arn",
            "rootcause.json",
        ] {
            words.push(w.to_string());
        }
        for kind in RootCauseKind::ALL {
            for target in RootCauseTarget::ALL {
                words.push(format!("rootcause.{kind}.{target}"));
            }
        }
        words
    })
}

fn close_enough(distance: usize, len: usize) -> bool {
    let allowed = match len {
        0..=4 => 1,
        5..=8 => 2,
        _ => 3,
    };
    distance <= allowed
}

/// The keyword `word` was probably meant to be, if any.
pub(crate) fn suggest(word: &str) -> Option<String> {
    if word.len() > 48 {
        return None;
    }
    let lower = word.to_ascii_lowercase();
    if let Some((head, rest)) = lower.split_once('.')
        && head != "annotation"
        && strsim::levenshtein(head, "annotation") <= 2
        && !rest.is_empty()
    {
        let key = &word[head.len() + 1..];
        return Some(format!("annotation.{key}"));
    }
    let mut best: Option<(usize, String)> = None;
    for candidate in known_words() {
        // The edit distance is at least the difference in length; skip the hopeless ones.
        if !close_enough(lower.len().abs_diff(candidate.len()), candidate.len()) {
            continue;
        }
        let d = strsim::levenshtein(&lower, candidate);
        if close_enough(d, candidate.len()) && best.as_ref().is_none_or(|(bd, _)| d < *bd) {
            best = Some((d, candidate.clone()));
        }
    }
    best.map(|(_, w)| w)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggestions_pick_the_nearest_keyword() {
        assert_eq!(suggest("resposetime").as_deref(), Some("responsetime"));
        assert_eq!(suggest("http.stauts").as_deref(), Some("http.status"));
        assert_eq!(suggest("servce").as_deref(), Some("service"));
        assert_eq!(
            suggest("annotations.age").as_deref(),
            Some("annotation.age")
        );
        assert_eq!(
            suggest("rootcause.fault.servce").as_deref(),
            Some("rootcause.fault.service")
        );
        assert_eq!(suggest("zzzzzz"), None);
        assert_eq!(suggest(&"x".repeat(1000)), None);
    }
}
