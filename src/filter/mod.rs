//! The X-Ray filter-expression language: lexer, parser, AST, semantic checks, rendering
//! of errors, and the evaluator the emulator runs over stored traces.
//!
//! - [`parse`] turns source text into an [`Expr`], or every problem found as [`FilterError`]s,
//!   in source order.
//! - [`FilterError::render`] draws the expression with a caret under the problem, rustc style.
//! - [`matches()`] evaluates an expression against a stored [`Trace`](crate::trace::Trace); `group.name`/`group.arn`
//!   are resolved through [`GroupLookup`]. The semantics chosen where X-Ray documents none are
//!   listed in [`eval`].
//! - [`referenced_services`] lists the service names an expression names in `service()` and
//!   `edge()`, for verify's "did you mean" diagnostics.
//!
//! The parser is written by hand (recursive descent) rather than with a parser generator or
//! combinator crate: the messages name the exact span and say what to write instead ("did you
//! mean `responsetime`?", "`http.url` is a string; put the value in double quotes"), it
//! recovers after each problem so one run reports all of them, nesting is bounded so no input
//! can exhaust the stack, and it adds no dependency.
//!
//! The grammar (from the X-Ray developer guide, "Using filter expressions"):
//! ```text
//! expr  := term { OR term }              AND / OR in any case
//! term  := unary { [AND] unary }         terms side by side are ANDed
//! unary := "!" unary | "(" expr ")" | atom
//! atom  := BOOL_KW [("=" | "!=") (true | false)]
//!        | NUM_KW NUM_OP NUMBER
//!        | STR_KW [STR_OP STRING]
//!        | annotation.KEY [ NUM_OP NUMBER | STR_OP STRING | ("=" | "!=") BOOL ]
//!        | service( [SVC] ) [ "{" expr "}" ]
//!        | edge( SVC "," SVC ) [ "{" expr "}" ]
//!        | (group.name | group.arn) "=" STRING
//!        | rootcause.(fault|error|responsetime).(service|entity|exception) [ "{" expr "}" ]
//!        | rootcause.json "=" "#[" JSON "]"
//! SVC   := STRING | id( FIELD ":" STRING { "," FIELD ":" STRING } )   FIELD: name type account.id
//! ```

mod ast;
mod check;
pub mod eval;
mod lexer;
mod parser;
mod render;

use std::fmt;

pub use ast::{
    AnnotationTest, EqOp, Expr, FlagKeyword, GroupKey, NumOp, NumberKeyword, RootCauseKind,
    RootCauseTarget, ServiceRef, StrOp, TextKeyword,
};
pub use eval::matches;
pub use parser::MAX_DEPTH;

/// At most this many problems are reported for one expression; a last one says so.
pub const MAX_ERRORS: usize = 100;

/// One problem in an expression, with where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilterError {
    /// Byte offset of the start of the problem in the source.
    pub offset: usize,
    /// Length in bytes of the offending text (at least 1 for the caret).
    pub len: usize,
    /// 1-based line and column (in characters) of `offset`.
    pub line: usize,
    pub column: usize,
    pub message: String,
}

impl FilterError {
    /// The message, then the expression's line with a caret/underline under the problem
    /// (rustc style). ANSI colours only when `color` is true.
    pub fn render(&self, source: &str, color: bool) -> String {
        render::render(self, source, color)
    }

    /// The source line with a caret under the problem, without the message: for callers
    /// that print the message on a line of their own (`--filter-expression:1:5: ...`).
    pub fn snippet(&self, source: &str, color: bool) -> String {
        render::snippet(self, source, color)
    }
}

/// Every problem drawn with [`FilterError::render`], one after another, blank line between.
pub fn render_errors(errors: &[FilterError], source: &str, color: bool) -> String {
    errors
        .iter()
        .map(|e| e.render(source, color))
        .collect::<Vec<_>>()
        .join("\n")
}

impl std::str::FromStr for Expr {
    type Err = Vec<FilterError>;

    fn from_str(source: &str) -> Result<Self, Self::Err> {
        parse(source)
    }
}

impl fmt::Display for FilterError {
    /// `LINE:COLUMN: message`, for one-line error output.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.line, self.column, self.message)
    }
}

impl std::error::Error for FilterError {}

impl serde::Serialize for FilterError {
    /// `{"line": .., "column": .., "message": ..}` for `--output json`.
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut s = serializer.serialize_struct("FilterError", 3)?;
        s.serialize_field("line", &self.line)?;
        s.serialize_field("column", &self.column)?;
        s.serialize_field("message", &self.message)?;
        s.end()
    }
}

/// A problem before line/column are known.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Problem {
    pub offset: usize,
    pub len: usize,
    pub message: String,
}

impl Problem {
    pub fn new(offset: usize, len: usize, message: String) -> Self {
        Problem {
            offset,
            len: len.max(1),
            message,
        }
    }
}

/// Resolves `group.name = "G"` / `group.arn = "..."` to that group's own expression.
pub trait GroupLookup {
    /// `None` when there is no such group; `Some(None)` when the group has no filter
    /// (it then matches every trace).
    fn group_filter(&self, name_or_arn: &str) -> Option<Option<Expr>>;
}

/// A [`GroupLookup`] that knows no groups (every `group.*` comparison is false).
pub struct NoGroups;

impl GroupLookup for NoGroups {
    fn group_filter(&self, _name_or_arn: &str) -> Option<Option<Expr>> {
        None
    }
}

/// Parse and check `source`. Every problem found is returned (in source order, at most
/// [`MAX_ERRORS`] and a final note), not only the first.
pub fn parse(source: &str) -> Result<Expr, Vec<FilterError>> {
    let mut problems = Vec::new();
    let tokens = lexer::lex(source, &mut problems);
    let mut parser = parser::Parser::new(tokens, source.len());
    let expr = parser.parse_all();
    problems.append(&mut parser.problems);
    match expr {
        Some(e) if problems.is_empty() => Ok(e),
        _ => {
            if problems.is_empty() {
                // The parser only fails after reporting; keep the contract regardless.
                problems.push(Problem::new(0, 1, "invalid filter expression".into()));
            }
            Err(locate(source, problems))
        }
    }
}

/// Sort by position, drop follow-on problems at the same spot, cap the count, and work out
/// line and column in one pass over the source.
fn locate(source: &str, mut problems: Vec<Problem>) -> Vec<FilterError> {
    problems.sort_by_key(|p| p.offset);
    problems.dedup_by_key(|p| p.offset);
    if problems.len() > MAX_ERRORS {
        let next = problems[MAX_ERRORS].offset;
        problems.truncate(MAX_ERRORS);
        problems.push(Problem::new(
            next,
            1,
            format!("too many problems; stopping after the first {MAX_ERRORS}"),
        ));
    }
    let mut out = Vec::with_capacity(problems.len());
    let (mut line, mut column) = (1usize, 1usize);
    let mut chars = source.char_indices().peekable();
    for p in problems {
        let offset = p.offset.min(source.len());
        while let Some(&(i, c)) = chars.peek() {
            if i >= offset {
                break;
            }
            if c == '\n' {
                line += 1;
                column = 1;
            } else {
                column += 1;
            }
            chars.next();
        }
        out.push(FilterError {
            offset,
            len: p.len,
            line,
            column,
            message: crate::error::escape_controls(&p.message),
        });
    }
    out
}

/// Service names the expression refers to in `service(...)` and `edge(...)` (including
/// `id(name: ...)`), in source order, each once.
pub fn referenced_services(expr: &Expr) -> Vec<String> {
    fn push(out: &mut Vec<String>, s: &ServiceRef) {
        if let Some(n) = s.name()
            && !out.iter().any(|o| o == n)
        {
            out.push(n.to_string());
        }
    }
    fn walk(e: &Expr, out: &mut Vec<String>) {
        match e {
            Expr::Or(items) | Expr::And(items) => items.iter().for_each(|i| walk(i, out)),
            Expr::Not(inner) => walk(inner, out),
            Expr::Service { service, filter } => {
                if let Some(s) = service {
                    push(out, s);
                }
                if let Some(f) = filter {
                    walk(f, out);
                }
            }
            Expr::Edge { from, to, filter } => {
                push(out, from);
                push(out, to);
                if let Some(f) = filter {
                    walk(f, out);
                }
            }
            Expr::RootCause {
                filter: Some(f), ..
            } => walk(f, out),
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(expr, &mut out);
    out
}

#[cfg(test)]
mod tests;
