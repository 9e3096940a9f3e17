//! The X-Ray filter-expression language: lexer, parser, AST, semantic checks, rendering
//! of errors, and the evaluator the emulator runs over stored traces.
//!
//! PLACEHOLDER API (the filter change replaces the bodies, keeping these signatures):
//! - [`parse`] turns source text into an [`Expr`], or every problem found as [`FilterError`]s.
//! - [`FilterError::render`] draws the expression with a caret under the column.
//! - [`matches`] evaluates an expression against a stored [`Trace`]; `group.name`/`group.arn`
//!   are resolved through [`GroupLookup`].
//! - [`referenced_services`] lists the service names an expression names in `service()` and
//!   `edge()`, for verify's "did you mean" diagnostics.

use crate::trace::Trace;

/// A parsed, checked filter expression.
#[derive(Debug, Clone, PartialEq)]
pub struct Expr {
    _private: (),
}

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
    /// The expression, a caret/underline line under the problem, and the message.
    pub fn render(&self, _source: &str, _color: bool) -> String {
        format!("{}:{}: {}", self.line, self.column, self.message)
    }
}

/// Resolves `group.name = "G"` / `group.arn = "..."` to that group's own expression.
pub trait GroupLookup {
    /// `None` when there is no such group; `Some(None)` when the group has no filter
    /// (it then matches every trace).
    fn group_filter(&self, name_or_arn: &str) -> Option<Option<Expr>>;
}

/// Parse and check `source`. Every problem found is returned, not only the first.
pub fn parse(source: &str) -> Result<Expr, Vec<FilterError>> {
    let _ = source;
    Err(vec![FilterError {
        offset: 0,
        len: 1,
        line: 1,
        column: 1,
        message: "filter expressions are not supported yet".into(),
    }])
}

/// Whether `trace` matches `expr`.
pub fn matches(_expr: &Expr, _trace: &Trace, _groups: &dyn GroupLookup) -> bool {
    false
}

/// Service names the expression refers to in `service(...)` and `edge(...)`, in source order.
pub fn referenced_services(_expr: &Expr) -> Vec<String> {
    Vec::new()
}
