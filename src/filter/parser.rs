//! Recursive-descent parser over the lexer's tokens, with error recovery.
//!
//! Every parse function returns `None` after it has reported a problem; callers keep going so
//! one pass finds every problem. Nesting (`(`, `!`, `{`) is limited to [`MAX_DEPTH`] levels, so
//! no input can exhaust the stack, and every loop consumes a token, so parsing is linear.

use super::Problem;
use super::ast::{
    AnnotationTest, EqOp, Expr, FlagKeyword, GroupKey, NumOp, NumberKeyword, RootCauseKind,
    RootCauseTarget, ServiceRef, StrOp, TextKeyword,
};
use super::check::{self, Context};
use super::lexer::{Tok, Token, shorten};

/// How deeply parentheses, `!` and `{ }` blocks may nest.
pub const MAX_DEPTH: usize = 64;

pub(crate) struct Parser {
    toks: Vec<Token>,
    pos: usize,
    end_offset: usize,
    depth: usize,
    /// Set when the depth limit stopped parsing; suppresses the follow-on "never closed" noise.
    aborted: bool,
    pub problems: Vec<Problem>,
    ctx: Context,
}

fn word_is(tok: &Tok, word: &str) -> bool {
    matches!(tok, Tok::Word(w) if w.eq_ignore_ascii_case(word))
}

fn str_op(tok: &Tok) -> Option<StrOp> {
    match tok {
        Tok::Eq => Some(StrOp::Eq),
        Tok::Ne => Some(StrOp::Ne),
        Tok::Word(w) if w.eq_ignore_ascii_case("contains") => Some(StrOp::Contains),
        Tok::Word(w) if w.eq_ignore_ascii_case("beginswith") => Some(StrOp::BeginsWith),
        Tok::Word(w) if w.eq_ignore_ascii_case("endswith") => Some(StrOp::EndsWith),
        _ => None,
    }
}

fn num_op(tok: &Tok) -> Option<NumOp> {
    match tok {
        Tok::Eq => Some(NumOp::Eq),
        Tok::Ne => Some(NumOp::Ne),
        Tok::Lt => Some(NumOp::Lt),
        Tok::Le => Some(NumOp::Le),
        Tok::Gt => Some(NumOp::Gt),
        Tok::Ge => Some(NumOp::Ge),
        _ => None,
    }
}

fn is_any_op(tok: &Tok) -> bool {
    num_op(tok).is_some() || str_op(tok).is_some()
}

fn bool_word(tok: &Tok) -> Option<bool> {
    match tok {
        Tok::Word(w) if w.eq_ignore_ascii_case("true") => Some(true),
        Tok::Word(w) if w.eq_ignore_ascii_case("false") => Some(false),
        _ => None,
    }
}

/// A token that can only be the right-hand side of a comparison.
fn is_value(tok: &Tok) -> bool {
    match tok {
        Tok::Number(_) | Tok::Str(_) | Tok::Json(_) => true,
        Tok::Word(_) => bool_word(tok).is_some(),
        _ => false,
    }
}

fn op_text(tok: &Tok) -> String {
    match tok {
        Tok::Word(w) => w.to_ascii_uppercase(),
        other => other.describe().trim_matches('`').to_string(),
    }
}

impl Parser {
    pub fn new(toks: Vec<Token>, source_len: usize) -> Self {
        Parser {
            toks,
            pos: 0,
            end_offset: source_len,
            depth: 0,
            aborted: false,
            problems: Vec::new(),
            ctx: Context::default(),
        }
    }

    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos).map(|t| &t.tok)
    }

    fn peek_at(&self, n: usize) -> Option<&Tok> {
        self.toks.get(self.pos + n).map(|t| &t.tok)
    }

    /// Span of the current token, or an empty span at the end of input.
    fn here(&self) -> (usize, usize) {
        match self.toks.get(self.pos) {
            Some(t) => (t.offset, t.len),
            None => (self.end_offset, 1),
        }
    }

    fn found(&self) -> String {
        match self.peek() {
            Some(t) => format!("found {}", t.describe()),
            None => "found the end of the expression".into(),
        }
    }

    fn report(&mut self, offset: usize, len: usize, message: String) {
        self.problems.push(Problem::new(offset, len, message));
    }

    fn report_here(&mut self, message: String) {
        let (o, l) = self.here();
        self.report(o, l, message);
    }

    fn bump(&mut self) -> Option<Token> {
        let t = self.toks.get(self.pos).cloned();
        if t.is_some() {
            self.pos += 1;
        }
        t
    }

    fn eat(&mut self, tok: &Tok) -> bool {
        if self.peek() == Some(tok) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn can_start_unary(&self) -> bool {
        match self.peek() {
            Some(Tok::Bang | Tok::LParen) => true,
            Some(t @ Tok::Word(_)) => !word_is(t, "and") && !word_is(t, "or"),
            _ => false,
        }
    }

    /// Whole input. Anything left after an expression is reported and parsing resumes.
    pub fn parse_all(&mut self) -> Option<Expr> {
        if self.toks.is_empty() {
            if self.problems.is_empty() {
                self.report(0, 1, "empty filter expression".into());
            }
            return None;
        }
        let mut result = self.parse_expr();
        while !self.aborted {
            let Some(tok) = self.peek() else { break };
            result = None;
            let message = match tok {
                Tok::RParen => "unmatched `)`".to_string(),
                Tok::RBrace => "unmatched `}`".to_string(),
                t if is_value(t) => format!(
                    "stray value ({}); a value follows a keyword and an operator, e.g. `user = \"alice\"`",
                    t.describe()
                ),
                t => format!(
                    "unexpected {}; expected AND, OR or the end of the expression",
                    t.describe()
                ),
            };
            self.report_here(message);
            self.pos += 1;
            if self.can_start_unary() || word_is_and_or(self.peek()) {
                if word_is_and_or(self.peek()) {
                    self.pos += 1;
                }
                if self.can_start_unary() {
                    let _ = self.parse_expr();
                }
            }
        }
        if let Some(p) = self.ctx.finish() {
            self.problems.push(p);
            result = None;
        }
        result
    }

    fn parse_expr(&mut self) -> Option<Expr> {
        let mut items = vec![self.parse_term()];
        while self.peek().is_some_and(|t| word_is(t, "or")) {
            self.pos += 1;
            if !self.can_start_unary() {
                let m = format!("expected a filter term after `OR`, {}", self.found());
                self.report_here(m);
                items.push(None);
                break;
            }
            items.push(self.parse_term());
        }
        combine(items, Expr::Or)
    }

    fn parse_term(&mut self) -> Option<Expr> {
        let mut items = vec![self.parse_unary()];
        loop {
            if self.aborted {
                return None;
            }
            if self.peek().is_some_and(|t| word_is(t, "and")) {
                self.pos += 1;
                if !self.can_start_unary() {
                    let m = format!("expected a filter term after `AND`, {}", self.found());
                    self.report_here(m);
                    items.push(None);
                    break;
                }
            } else if !self.can_start_unary() {
                break;
            }
            items.push(self.parse_unary());
        }
        combine(items, Expr::And)
    }

    fn enter(&mut self) -> bool {
        if self.depth >= MAX_DEPTH {
            self.report_here(format!(
                "expression nests more than {MAX_DEPTH} levels deep (parentheses, `!` and blocks)"
            ));
            self.aborted = true;
            self.pos = self.toks.len();
            return false;
        }
        self.depth += 1;
        true
    }

    fn parse_unary(&mut self) -> Option<Expr> {
        match self.peek() {
            Some(Tok::Bang) => {
                if !self.enter() {
                    return None;
                }
                self.pos += 1;
                let inner = if self.can_start_unary() {
                    self.parse_unary()
                } else {
                    let m = format!("expected a filter term after `!`, {}", self.found());
                    self.report_here(m);
                    None
                };
                self.depth -= 1;
                Some(Expr::Not(Box::new(inner?)))
            }
            Some(Tok::LParen) => {
                if !self.enter() {
                    return None;
                }
                let open = self.bump();
                let inner = if self.peek() == Some(&Tok::RParen) {
                    let (o, _) = self.here();
                    let start = open.as_ref().map_or(o, |t| t.offset);
                    self.report(start, o + 1 - start, "empty parentheses".into());
                    None
                } else {
                    self.parse_expr()
                };
                let closed = self.expect_close(Tok::RParen, open);
                self.depth -= 1;
                if closed { inner } else { None }
            }
            Some(t) if word_is_and_or(Some(t)) => {
                let m = format!("expected a filter term before {}", t.describe());
                self.report_here(m);
                self.pos += 1;
                if self.can_start_unary() {
                    let _ = self.parse_unary();
                }
                None
            }
            Some(Tok::Word(_)) => self.parse_atom(),
            _ => {
                let m = format!("expected a filter term, {}", self.found());
                self.report_here(m);
                None
            }
        }
    }

    /// Expect `close` for the bracket `open`. On a mismatch, skip ahead to the matching close
    /// (consumed) or to a closer that belongs to an outer bracket (left for the caller).
    fn expect_close(&mut self, close: Tok, open: Option<Token>) -> bool {
        if self.eat(&close) {
            return true;
        }
        if self.aborted {
            return false;
        }
        let (open_text, close_text) = match close {
            Tok::RParen => ("(", ")"),
            Tok::RBrace => ("{", "}"),
            _ => ("(", ")"),
        };
        if self.peek().is_none() {
            if let Some(t) = open {
                self.report(
                    t.offset,
                    t.len,
                    format!("this `{open_text}` is never closed; add `{close_text}`"),
                );
            }
            return false;
        }
        let m = format!("expected `{close_text}`, {}", self.found());
        self.report_here(m);
        self.skip_to_close(&close);
        false
    }

    /// Skip ahead to the matching `close` (consumed) or to a closer that belongs to an outer
    /// bracket (left for the caller).
    fn skip_to_close(&mut self, close: &Tok) {
        let mut nesting = 0usize;
        while let Some(t) = self.peek() {
            match t {
                Tok::LParen | Tok::LBrace => nesting += 1,
                t if t == close && nesting == 0 => {
                    self.pos += 1;
                    return;
                }
                Tok::RParen | Tok::RBrace => {
                    if nesting == 0 {
                        return;
                    }
                    nesting -= 1;
                }
                _ => {}
            }
            self.pos += 1;
        }
    }

    /// After an unusable keyword: skip an operator and its value, or a `( ... )` argument
    /// list and a `{ ... }` block, so one mistake gives one message.
    fn skip_comparison(&mut self) {
        if self.peek().is_some_and(is_any_op) {
            self.pos += 1;
            if self.peek().is_some_and(is_value) {
                self.pos += 1;
            }
            return;
        }
        for (open, close) in [(Tok::LParen, Tok::RParen), (Tok::LBrace, Tok::RBrace)] {
            if self.peek() == Some(&open) {
                let mut nesting = 0usize;
                while let Some(t) = self.peek() {
                    if *t == open {
                        nesting += 1;
                    } else if *t == close {
                        nesting = nesting.saturating_sub(1);
                        if nesting == 0 {
                            self.pos += 1;
                            break;
                        }
                    }
                    self.pos += 1;
                }
            }
        }
    }

    fn parse_atom(&mut self) -> Option<Expr> {
        let tok = self.bump()?;
        let Tok::Word(word) = &tok.tok else {
            return None;
        };
        let (offset, len) = (tok.offset, tok.len);
        let lower = word.to_ascii_lowercase();

        if let Some(keyword) = FlagKeyword::from_word(word) {
            self.check_context(keyword.as_str(), word, offset, len);
            return self.parse_flag(keyword, word);
        }
        if let Some(keyword) = NumberKeyword::from_word(word) {
            self.check_context(keyword.as_str(), word, offset, len);
            return self.parse_number(keyword, word, offset, len);
        }
        if let Some(keyword) = TextKeyword::from_word(word) {
            self.check_context(keyword.as_str(), word, offset, len);
            return self.parse_text(keyword, word);
        }
        if lower.starts_with("annotation.") {
            return self.parse_annotation(word, offset, len);
        }
        match lower.as_str() {
            "service" => return self.parse_service(word, offset, len),
            "edge" => return self.parse_edge(word, offset, len),
            "group.name" | "group.arn" => {
                let by = if lower == "group.name" {
                    GroupKey::Name
                } else {
                    GroupKey::Arn
                };
                return self.parse_group(by, word);
            }
            "rootcause.json" => return self.parse_rootcause_json(),
            _ => {}
        }
        if lower.starts_with("rootcause") {
            return self.parse_rootcause(word, offset, len);
        }
        let message = match lower.as_str() {
            "annotation" => "`annotation` needs a key: `annotation.KEY`".to_string(),
            "true" | "false" => format!(
                "`{word}` is not a filter on its own; compare a keyword with it, e.g. `fault = {lower}`"
            ),
            "id" => "`id(...)` names a service inside service(...) or edge(...)".to_string(),
            "contains" | "beginswith" | "endswith" => format!(
                "`{}` needs a keyword before it, e.g. `http.url {} \"/api/\"`",
                word.to_ascii_uppercase(),
                word.to_ascii_uppercase()
            ),
            "group" => "`group` needs a field: `group.name` or `group.arn`".to_string(),
            _ => match self.suggest(word) {
                Some(s) => format!("unknown keyword `{}`; did you mean `{s}`?", shorten(word)),
                None => format!("unknown keyword `{}`", shorten(word)),
            },
        };
        self.report(offset, len, message);
        self.skip_comparison();
        None
    }

    /// Suggestions cost a few edit distances each; past the reported problems, skip them.
    fn suggest(&self, word: &str) -> Option<String> {
        if self.problems.len() > 2 * super::MAX_ERRORS {
            return None;
        }
        check::suggest(word)
    }

    fn check_context(&mut self, canonical: &str, written: &str, offset: usize, len: usize) {
        if let Some(p) = self.ctx.check_keyword(canonical, written, offset, len) {
            self.problems.push(p);
        }
    }

    fn parse_flag(&mut self, keyword: FlagKeyword, word: &str) -> Option<Expr> {
        let op = match self.peek() {
            Some(Tok::Eq) => EqOp::Eq,
            Some(Tok::Ne) => EqOp::Ne,
            Some(t) if is_any_op(t) => {
                let m = format!(
                    "operator `{}` does not apply to `{word}`, which is true or false; use = or !=",
                    op_text(t)
                );
                self.report_here(m);
                self.skip_comparison();
                return None;
            }
            _ => {
                return Some(Expr::Flag {
                    keyword,
                    test: None,
                });
            }
        };
        self.pos += 1;
        match self.peek().and_then(bool_word) {
            Some(v) => {
                self.pos += 1;
                Some(Expr::Flag {
                    keyword,
                    test: Some((op, v)),
                })
            }
            None => {
                let m = format!(
                    "`{word}` is true or false; compare it with `true` or `false`, {}",
                    self.found()
                );
                self.report_here(m);
                self.skip_value();
                None
            }
        }
    }

    /// Skip a value token (or a mistaken unquoted word) after an operator.
    fn skip_value(&mut self) {
        match self.peek() {
            Some(t) if is_value(t) => self.pos += 1,
            Some(t @ Tok::Word(_)) if !word_is(t, "and") && !word_is(t, "or") => self.pos += 1,
            _ => {}
        }
    }

    fn parse_number(
        &mut self,
        keyword: NumberKeyword,
        word: &str,
        offset: usize,
        len: usize,
    ) -> Option<Expr> {
        let op = match self.peek().and_then(num_op) {
            Some(op) => op,
            None => {
                match self.peek() {
                    Some(t) if is_any_op(t) => {
                        let m = format!(
                            "operator `{}` does not apply to number keyword `{word}`; use =, !=, <, <=, > or >=",
                            op_text(t)
                        );
                        self.report_here(m);
                        self.skip_comparison();
                    }
                    _ => self.report(
                        offset,
                        len,
                        format!("`{word}` needs a comparison, e.g. `{word} > 5`"),
                    ),
                }
                return None;
            }
        };
        self.pos += 1;
        let value = self.expect_number(word, op)?;
        Some(Expr::Number { keyword, op, value })
    }

    fn expect_number(&mut self, word: &str, op: NumOp) -> Option<f64> {
        match self.peek() {
            Some(Tok::Number(v)) => {
                let v = *v;
                self.pos += 1;
                Some(v)
            }
            Some(Tok::Str(_)) => {
                self.report_here(format!(
                    "`{word}` is a number; compare it with a number, not a string"
                ));
                self.pos += 1;
                None
            }
            _ => {
                let m = format!("expected a number after `{op}`, {}", self.found());
                self.report_here(m);
                self.skip_value();
                None
            }
        }
    }

    fn parse_text(&mut self, keyword: TextKeyword, word: &str) -> Option<Expr> {
        let op = match self.peek() {
            Some(t) => match str_op(t) {
                Some(op) => op,
                None if is_any_op(t) => {
                    let m = format!(
                        "operator `{}` does not apply to string keyword `{word}`; use =, !=, CONTAINS, BEGINSWITH or ENDSWITH",
                        op_text(t)
                    );
                    self.report_here(m);
                    self.skip_comparison();
                    return None;
                }
                None => {
                    return Some(Expr::Text {
                        keyword,
                        test: None,
                    });
                }
            },
            None => {
                return Some(Expr::Text {
                    keyword,
                    test: None,
                });
            }
        };
        self.pos += 1;
        let value = self.expect_string(word, &op.to_string())?;
        Some(Expr::Text {
            keyword,
            test: Some((op, value)),
        })
    }

    fn expect_string(&mut self, what: &str, op: &str) -> Option<String> {
        match self.peek() {
            Some(Tok::Str(s)) => {
                let s = s.clone();
                self.pos += 1;
                Some(s)
            }
            Some(Tok::Number(_)) => {
                self.report_here(format!(
                    "`{what}` is a string; put the value in double quotes"
                ));
                self.pos += 1;
                None
            }
            Some(t @ Tok::Word(_)) if !word_is_and_or(Some(t)) => {
                let w = match t {
                    Tok::Word(w) => w.clone(),
                    _ => String::new(),
                };
                let m = format!(
                    "expected a quoted string after `{op}`, found `{}`; put strings in double quotes: \"{}\"",
                    shorten(&w),
                    shorten(&w)
                );
                self.report_here(m);
                self.pos += 1;
                None
            }
            _ => {
                let m = format!("expected a quoted string after `{op}`, {}", self.found());
                self.report_here(m);
                None
            }
        }
    }

    fn parse_annotation(&mut self, word: &str, offset: usize, len: usize) -> Option<Expr> {
        self.ctx.note_annotation(offset, len, word);
        let key = &word["annotation.".len()..];
        let mut ok = true;
        if key.is_empty() {
            self.report(
                offset,
                len,
                "`annotation.` needs a key after the dot, e.g. `annotation.gameid`".into(),
            );
            ok = false;
        } else if !key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
            self.report(
                offset,
                len,
                format!(
                    "annotation key `{}` may contain only letters, digits and underscores",
                    shorten(key)
                ),
            );
            ok = false;
        }
        let test = match self.peek().cloned() {
            Some(t) if is_any_op(&t) => {
                self.pos += 1;
                let op_word = op_text(&t);
                let value = self.peek().cloned();
                match (num_op(&t), str_op(&t), value) {
                    (Some(op), _, Some(Tok::Number(v))) => {
                        self.pos += 1;
                        Some(AnnotationTest::Number(op, v))
                    }
                    (_, Some(op), Some(Tok::Str(s))) => {
                        self.pos += 1;
                        Some(AnnotationTest::Text(op, s))
                    }
                    (Some(op), Some(_), Some(v)) if bool_word(&v).is_some() => {
                        self.pos += 1;
                        let eq = if op == NumOp::Eq { EqOp::Eq } else { EqOp::Ne };
                        Some(AnnotationTest::Bool(eq, bool_word(&v).unwrap_or_default()))
                    }
                    (Some(_), None, Some(v)) if bool_word(&v).is_some() => {
                        self.report_here(format!(
                            "operator `{op_word}` compares numbers; compare true or false with = or !="
                        ));
                        self.pos += 1;
                        return None;
                    }
                    (Some(_), None, Some(Tok::Str(_))) => {
                        self.report_here(format!(
                            "operator `{op_word}` compares numbers; `{}` cannot be compared with a string that way",
                            shorten(word)
                        ));
                        self.pos += 1;
                        return None;
                    }
                    (None, Some(_), Some(Tok::Number(_))) => {
                        self.report_here(format!(
                            "operator `{op_word}` compares strings; put the value in double quotes"
                        ));
                        self.pos += 1;
                        return None;
                    }
                    _ => {
                        let m = format!(
                            "expected a number, a quoted string, true or false after `{op_word}`, {}",
                            self.found()
                        );
                        self.report_here(m);
                        self.skip_value();
                        return None;
                    }
                }
            }
            _ => None,
        };
        ok.then(|| Expr::Annotation {
            key: key.to_string(),
            test,
        })
    }

    fn parse_group(&mut self, by: GroupKey, word: &str) -> Option<Expr> {
        match self.peek() {
            Some(Tok::Eq) => self.pos += 1,
            Some(t) if is_any_op(t) => {
                let m = format!("`{word}` only supports `=`, not `{}`", op_text(t));
                self.report_here(m);
                self.skip_comparison();
                return None;
            }
            _ => {
                let m = format!(
                    "`{word}` needs a value: `{word} = \"...\"`, {}",
                    self.found()
                );
                self.report_here(m);
                return None;
            }
        }
        let value = self.expect_string(word, "=")?;
        Some(Expr::Group { by, value })
    }

    fn parse_rootcause_json(&mut self) -> Option<Expr> {
        if !self.eat(&Tok::Eq) {
            let m = format!(
                "`rootcause.json` needs a value: `rootcause.json = #[...]`, {}",
                self.found()
            );
            self.report_here(m);
            self.skip_comparison();
            return None;
        }
        match self.peek().cloned() {
            Some(Tok::Json(text)) => {
                let (o, l) = self.here();
                self.pos += 1;
                match serde_json::from_str::<serde_json::Value>(&text) {
                    Ok(v) => Some(Expr::RootCauseJson(v)),
                    Err(e) => {
                        self.report(o, l, format!("invalid JSON after `#`: {e}"));
                        None
                    }
                }
            }
            _ => {
                let m = format!("expected `#[` JSON `]` after `=`, {}", self.found());
                self.report_here(m);
                self.skip_value();
                None
            }
        }
    }

    fn parse_rootcause(&mut self, word: &str, offset: usize, len: usize) -> Option<Expr> {
        let parts: Vec<&str> = word.split('.').collect();
        let kind = parts.get(1).and_then(|p| RootCauseKind::from_word(p));
        let target = parts.get(2).and_then(|p| RootCauseTarget::from_word(p));
        let (kind, target) = match (kind, target, parts.len()) {
            (Some(k), Some(t), 3) => (k, t),
            _ => {
                let message = if !parts[0].eq_ignore_ascii_case("rootcause") {
                    match self.suggest(word) {
                        Some(s) => {
                            format!("unknown keyword `{}`; did you mean `{s}`?", shorten(word))
                        }
                        None => format!("unknown keyword `{}`", shorten(word)),
                    }
                } else if parts.len() < 3 || kind.is_none() {
                    match self.suggest(word) {
                        Some(s) if s.starts_with("rootcause.") && parts.len() >= 3 => format!(
                            "unknown root cause `{}`; did you mean `{s}`?",
                            shorten(word)
                        ),
                        _ => format!(
                            "`{}` is incomplete or unknown; write rootcause.(fault|error|responsetime).(service|entity|exception) or rootcause.json",
                            shorten(word)
                        ),
                    }
                } else {
                    match self.suggest(word) {
                        Some(s) => format!(
                            "unknown root cause `{}`; did you mean `{s}`?",
                            shorten(word)
                        ),
                        None => format!(
                            "unknown root cause `{}`; the last part is service, entity or exception",
                            shorten(word)
                        ),
                    }
                };
                self.report(offset, len, message);
                self.skip_comparison();
                return None;
            }
        };
        self.ctx.rootcause.push(kind);
        let filter = self.parse_optional_block();
        self.ctx.rootcause.pop();
        Some(Expr::RootCause {
            kind,
            target,
            filter: filter?,
        })
    }

    /// `{ expr }` if the next token is `{`. `Some(None)` when there is no block, `None` on
    /// a problem.
    fn parse_optional_block(&mut self) -> Option<Option<Box<Expr>>> {
        if self.peek() != Some(&Tok::LBrace) {
            return Some(None);
        }
        if !self.enter() {
            return None;
        }
        let open = self.bump();
        let inner = if self.peek() == Some(&Tok::RBrace) {
            let (o, _) = self.here();
            let start = open.as_ref().map_or(o, |t| t.offset);
            self.report(
                start,
                o + 1 - start,
                "empty `{}`; put a filter expression inside or remove the braces".into(),
            );
            None
        } else {
            self.parse_expr()
        };
        let closed = self.expect_close(Tok::RBrace, open);
        self.depth -= 1;
        if closed {
            Some(Some(Box::new(inner?)))
        } else {
            None
        }
    }

    fn parse_service(&mut self, word: &str, offset: usize, len: usize) -> Option<Expr> {
        self.ctx.note_service(offset, len, "service");
        let open = self.expect_open(word, "service(\"name\")` or `service()")?;
        let service = if self.peek() == Some(&Tok::RParen) {
            None
        } else {
            match self.parse_service_ref() {
                Some(s) => Some(s),
                None => {
                    self.skip_to_close(&Tok::RParen);
                    let _ = self.parse_optional_block();
                    return None;
                }
            }
        };
        if !self.expect_close(Tok::RParen, Some(open)) {
            return None;
        }
        let filter = self.parse_optional_block()?;
        Some(Expr::Service { service, filter })
    }

    fn expect_open(&mut self, word: &str, example: &str) -> Option<Token> {
        if self.peek() == Some(&Tok::LParen) {
            return self.bump();
        }
        let m = format!("`{word}` needs parentheses: `{example}`, {}", self.found());
        self.report_here(m);
        None
    }

    fn parse_edge(&mut self, word: &str, offset: usize, len: usize) -> Option<Expr> {
        self.ctx.note_service(offset, len, "edge");
        let open = self.expect_open(word, "edge(\"from\", \"to\")")?;
        let from = self.parse_service_ref();
        let to = if from.is_some() {
            if self.eat(&Tok::Comma) {
                self.parse_service_ref()
            } else {
                let m = format!(
                    "edge() takes two services: `edge(\"from\", \"to\")`, {}",
                    self.found()
                );
                self.report_here(m);
                None
            }
        } else {
            None
        };
        let closed = self.expect_close(Tok::RParen, Some(open));
        let filter = self.parse_optional_block();
        if !closed {
            return None;
        }
        Some(Expr::Edge {
            from: from?,
            to: to?,
            filter: filter?,
        })
    }

    /// `"name"` or `id(name: "..", type: "..", account.id: "..")`.
    fn parse_service_ref(&mut self) -> Option<ServiceRef> {
        match self.peek().cloned() {
            Some(Tok::Str(s)) => {
                self.pos += 1;
                Some(ServiceRef::Name(s))
            }
            Some(t) if word_is(&t, "id") && self.peek_at(1) == Some(&Tok::LParen) => {
                self.pos += 1;
                let open = self.bump();
                self.parse_id_fields(open)
            }
            Some(Tok::Word(w)) => {
                self.report_here(format!(
                    "expected a quoted service name or id(...), found `{}`; put names in double quotes",
                    shorten(&w)
                ));
                None
            }
            _ => {
                let m = format!(
                    "expected a quoted service name or id(...), {}",
                    self.found()
                );
                self.report_here(m);
                None
            }
        }
    }

    fn parse_id_fields(&mut self, open: Option<Token>) -> Option<ServiceRef> {
        let (mut name, mut kind, mut account_id) = (None, None, None);
        let open_offset = open.as_ref().map_or(0, |t| t.offset);
        let mut ok = true;
        loop {
            let field = match self.peek().cloned() {
                Some(Tok::Word(w)) => w,
                Some(Tok::RParen) if name.is_none() && kind.is_none() && account_id.is_none() => {
                    let (o, _) = self.here();
                    self.report(
                        open_offset,
                        o + 1 - open_offset,
                        "id() needs at least one of name, type or account.id".into(),
                    );
                    self.pos += 1;
                    return None;
                }
                _ => {
                    let m = format!(
                        "expected an id() field (name, type or account.id), {}",
                        self.found()
                    );
                    self.report_here(m);
                    self.skip_to_close(&Tok::RParen);
                    return None;
                }
            };
            let (fo, fl) = self.here();
            self.pos += 1;
            let slot = match field.to_ascii_lowercase().as_str() {
                "name" => Some(&mut name),
                "type" => Some(&mut kind),
                "account.id" => Some(&mut account_id),
                _ => None,
            };
            if !self.eat(&Tok::Colon) {
                let m = format!("expected `:` after `{}`, {}", shorten(&field), self.found());
                self.report_here(m);
                self.skip_to_close(&Tok::RParen);
                return None;
            }
            let value = self.expect_string(&field, ":");
            match slot {
                None => {
                    self.report(
                        fo,
                        fl,
                        format!(
                            "unknown id() field `{}`; use name, type or account.id",
                            shorten(&field)
                        ),
                    );
                    ok = false;
                }
                Some(slot) if slot.is_some() => {
                    self.report(fo, fl, format!("id() field `{field}` is given twice"));
                    ok = false;
                }
                Some(slot) => match value {
                    Some(v) => *slot = Some(v),
                    None => ok = false,
                },
            }
            if self.eat(&Tok::Comma) {
                continue;
            }
            if !self.expect_close(Tok::RParen, open) {
                return None;
            }
            break;
        }
        ok.then_some(ServiceRef::Id {
            name,
            kind,
            account_id,
        })
    }
}

fn word_is_and_or(tok: Option<&Tok>) -> bool {
    tok.is_some_and(|t| word_is(t, "and") || word_is(t, "or"))
}

/// One item stays itself; several become `wrap(items)`; any failure fails the whole.
fn combine(items: Vec<Option<Expr>>, wrap: fn(Vec<Expr>) -> Expr) -> Option<Expr> {
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        out.push(item?);
    }
    if out.len() == 1 {
        out.pop()
    } else {
        Some(wrap(out))
    }
}
