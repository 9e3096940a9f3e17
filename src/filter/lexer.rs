//! Turns source text into tokens with byte spans. One pass, no backtracking, so the cost is
//! linear in the input. Problems (stray characters, unterminated strings, bad escapes) are
//! collected and the lexer keeps going, so the parser can still report later problems.

use super::Problem;

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Tok {
    /// A word: a keyword, `AND`/`OR`, `true`/`false`, or a dotted name such as
    /// `http.url`, `annotation.gameid`, `rootcause.fault.service`, `account.id`.
    Word(String),
    Number(f64),
    Str(String),
    /// The raw text between `#[` and the matching `]`, brackets included (`[...]`).
    Json(String),
    LParen,
    RParen,
    LBrace,
    RBrace,
    Comma,
    Colon,
    Bang,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl Tok {
    /// How the token reads in a message.
    pub(crate) fn describe(&self) -> String {
        match self {
            Tok::Word(w) => format!("`{}`", shorten(w)),
            Tok::Number(_) => "a number".into(),
            Tok::Str(_) => "a string".into(),
            Tok::Json(_) => "a `#[...]` JSON value".into(),
            Tok::LParen => "`(`".into(),
            Tok::RParen => "`)`".into(),
            Tok::LBrace => "`{`".into(),
            Tok::RBrace => "`}`".into(),
            Tok::Comma => "`,`".into(),
            Tok::Colon => "`:`".into(),
            Tok::Bang => "`!`".into(),
            Tok::Eq => "`=`".into(),
            Tok::Ne => "`!=`".into(),
            Tok::Lt => "`<`".into(),
            Tok::Le => "`<=`".into(),
            Tok::Gt => "`>`".into(),
            Tok::Ge => "`>=`".into(),
        }
    }
}

/// Keeps messages about megabyte-long words readable.
pub(crate) fn shorten(word: &str) -> String {
    const MAX: usize = 40;
    if word.chars().count() <= MAX {
        word.to_string()
    } else {
        let head: String = word.chars().take(MAX).collect();
        format!("{head}...")
    }
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Token {
    pub tok: Tok,
    pub offset: usize,
    pub len: usize,
}

// Non-ASCII letters are accepted in words so `résumé` is one unknown keyword, not four
// problems; keyword and annotation-key checks reject them later with one message.
fn is_word_start(c: char) -> bool {
    c.is_alphabetic() || c == '_'
}

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_' || c == '.'
}

/// Lex all of `src`. Problems go to `problems`; the tokens that could be made are returned.
pub(crate) fn lex(src: &str, problems: &mut Vec<Problem>) -> Vec<Token> {
    let bytes = src.as_bytes();
    let mut tokens = Vec::new();
    let mut i = 0;
    // Start of a run of characters that fit no token, reported as one problem.
    let mut stray: Option<usize> = None;
    while i < bytes.len() {
        let c = match src[i..].chars().next() {
            Some(c) => c,
            None => break,
        };
        let start = i;
        let simple = match c {
            '(' => Some((Tok::LParen, 1)),
            ')' => Some((Tok::RParen, 1)),
            '{' => Some((Tok::LBrace, 1)),
            '}' => Some((Tok::RBrace, 1)),
            ',' => Some((Tok::Comma, 1)),
            ':' => Some((Tok::Colon, 1)),
            '!' if bytes.get(i + 1) == Some(&b'=') => Some((Tok::Ne, 2)),
            '!' => Some((Tok::Bang, 1)),
            '=' if bytes.get(i + 1) == Some(&b'=') => Some((Tok::Eq, 2)),
            '=' => Some((Tok::Eq, 1)),
            '<' if bytes.get(i + 1) == Some(&b'=') => Some((Tok::Le, 2)),
            '<' => Some((Tok::Lt, 1)),
            '>' if bytes.get(i + 1) == Some(&b'=') => Some((Tok::Ge, 2)),
            '>' => Some((Tok::Gt, 1)),
            _ => None,
        };
        let starts_token = simple.is_some()
            || c.is_whitespace()
            || c == '"'
            || (c == '#' && bytes.get(i + 1) == Some(&b'['))
            || is_word_start(c)
            || starts_number(bytes, i);
        let is_stray = !starts_token;
        if is_stray {
            stray.get_or_insert(start);
            i += c.len_utf8();
            continue;
        }
        if let Some(s) = stray.take() {
            problems.push(stray_problem(src, s, start));
        }
        if let Some((tok, len)) = simple {
            tokens.push(Token {
                tok,
                offset: start,
                len,
            });
            i += len;
        } else if c.is_whitespace() {
            i += c.len_utf8();
        } else if c == '"' {
            let (value, end) = lex_string(src, start, problems);
            tokens.push(Token {
                tok: Tok::Str(value),
                offset: start,
                len: end - start,
            });
            i = end;
        } else if c == '#' {
            let end = lex_json(src, start, problems);
            tokens.push(Token {
                tok: Tok::Json(src[start + 1..end].to_string()),
                offset: start,
                len: end - start,
            });
            i = end;
        } else if is_word_start(c) {
            let mut end = i;
            for (k, ch) in src[i..].char_indices() {
                if !is_word_char(ch) {
                    break;
                }
                end = i + k + ch.len_utf8();
            }
            tokens.push(Token {
                tok: Tok::Word(src[i..end].to_string()),
                offset: start,
                len: end - start,
            });
            i = end;
        } else {
            let end = number_end(bytes, i);
            let text = &src[i..end];
            match text.parse::<f64>() {
                Ok(v) if v.is_finite() => tokens.push(Token {
                    tok: Tok::Number(v),
                    offset: start,
                    len: end - start,
                }),
                _ => {
                    problems.push(Problem::new(
                        start,
                        end - start,
                        format!("number `{}` is out of range", shorten(text)),
                    ));
                    tokens.push(Token {
                        tok: Tok::Number(0.0),
                        offset: start,
                        len: end - start,
                    });
                }
            }
            i = end;
        }
    }
    if let Some(s) = stray.take() {
        problems.push(stray_problem(src, s, src.len()));
    }
    tokens
}

fn stray_problem(src: &str, start: usize, end: usize) -> Problem {
    let text = &src[start..end];
    let what = if text.chars().count() == 1 {
        format!("unexpected character `{text}`")
    } else {
        format!("unexpected characters `{}`", shorten(text))
    };
    let hint = if text.starts_with('\'') {
        "; strings go in double quotes"
    } else if text.starts_with('&') || text.starts_with('|') {
        "; write AND / OR"
    } else {
        ""
    };
    Problem::new(start, end - start, format!("{what}{hint}"))
}

fn starts_number(bytes: &[u8], i: usize) -> bool {
    let digit_at = |k: usize| bytes.get(k).is_some_and(u8::is_ascii_digit);
    match bytes[i] {
        b'0'..=b'9' => true,
        b'-' | b'+' => digit_at(i + 1) || (bytes.get(i + 1) == Some(&b'.') && digit_at(i + 2)),
        b'.' => digit_at(i + 1),
        _ => false,
    }
}

fn number_end(bytes: &[u8], start: usize) -> usize {
    let mut i = start;
    if matches!(bytes[i], b'-' | b'+') {
        i += 1;
    }
    while i < bytes.len() && bytes[i].is_ascii_digit() {
        i += 1;
    }
    if i < bytes.len() && bytes[i] == b'.' && bytes.get(i + 1).is_some_and(u8::is_ascii_digit) {
        i += 1;
        while i < bytes.len() && bytes[i].is_ascii_digit() {
            i += 1;
        }
    }
    if i < bytes.len() && matches!(bytes[i], b'e' | b'E') {
        let mut k = i + 1;
        if k < bytes.len() && matches!(bytes[k], b'-' | b'+') {
            k += 1;
        }
        if k < bytes.len() && bytes[k].is_ascii_digit() {
            while k < bytes.len() && bytes[k].is_ascii_digit() {
                k += 1;
            }
            i = k;
        }
    }
    i
}

/// Lex a string starting at the `"` at `start`. Returns its value and the end offset.
fn lex_string(src: &str, start: usize, problems: &mut Vec<Problem>) -> (String, usize) {
    let mut value = String::new();
    let mut chars = src[start + 1..].char_indices();
    while let Some((k, c)) = chars.next() {
        let at = start + 1 + k;
        match c {
            '"' => return (value, at + 1),
            '\\' => match chars.next() {
                Some((_, e @ ('"' | '\\' | '/'))) => value.push(e),
                Some((_, 'n')) => value.push('\n'),
                Some((_, 't')) => value.push('\t'),
                Some((_, 'r')) => value.push('\r'),
                Some((_, 'u')) => {
                    let hex: String = src[at + 2..].chars().take(4).collect();
                    let code = (hex.len() == 4 && hex.bytes().all(|b| b.is_ascii_hexdigit()))
                        .then(|| u32::from_str_radix(&hex, 16).ok())
                        .flatten()
                        .and_then(char::from_u32);
                    match code {
                        Some(ch) => {
                            value.push(ch);
                            for _ in 0..4 {
                                chars.next();
                            }
                        }
                        None => problems.push(Problem::new(
                            at,
                            2,
                            "`\\u` must be followed by 4 hex digits of a Unicode scalar value"
                                .into(),
                        )),
                    }
                }
                Some((_, other)) => problems.push(Problem::new(
                    at,
                    1 + other.len_utf8(),
                    format!(
                        "unknown escape `\\{other}` in string; use \\\" \\\\ \\n \\t \\r or \\uXXXX"
                    ),
                )),
                None => break,
            },
            c => value.push(c),
        }
    }
    problems.push(Problem::new(
        start,
        1,
        "unterminated string; add the closing `\"`".into(),
    ));
    (value, src.len())
}

/// Lex `#[ ... ]` starting at `#`. Brackets and braces are counted (strings skipped) until the
/// `[` after `#` is closed. Returns the end offset (after the `]`).
fn lex_json(src: &str, start: usize, problems: &mut Vec<Problem>) -> usize {
    let bytes = src.as_bytes();
    let mut depth = 0usize;
    let mut i = start + 1;
    let mut in_string = false;
    while i < bytes.len() {
        let b = bytes[i];
        if in_string {
            match b {
                b'\\' => i += 1,
                b'"' => in_string = false,
                _ => {}
            }
        } else {
            match b {
                b'"' => in_string = true,
                b'[' | b'{' => depth += 1,
                b']' | b'}' => {
                    depth = depth.saturating_sub(1);
                    if depth == 0 {
                        return i + 1;
                    }
                }
                _ => {}
            }
        }
        i += 1;
    }
    problems.push(Problem::new(
        start,
        2,
        "unterminated `#[`; close the JSON value with `]`".into(),
    ));
    src.len()
}
