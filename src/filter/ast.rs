//! The syntax tree of a filter expression, and its canonical printing.
//!
//! `Display` prints a canonical form (lower-case keywords, upper-case `AND`/`OR`/operators,
//! explicit `AND`, parentheses only where needed) that parses back to the same tree.

use std::fmt;

/// A parsed, checked filter expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    /// Two or more alternatives.
    Or(Vec<Expr>),
    /// Two or more conjuncts (written with `AND` or side by side).
    And(Vec<Expr>),
    Not(Box<Expr>),
    /// `ok`, `fault = false`, ...
    Flag {
        keyword: FlagKeyword,
        test: Option<(EqOp, bool)>,
    },
    /// `responsetime > 5`, ...
    Number {
        keyword: NumberKeyword,
        op: NumOp,
        value: f64,
    },
    /// `http.url CONTAINS "/v2/"`, or a bare `user` (is set).
    Text {
        keyword: TextKeyword,
        test: Option<(StrOp, String)>,
    },
    /// `annotation.KEY`, bare (is set) or compared.
    Annotation {
        key: String,
        test: Option<AnnotationTest>,
    },
    /// `service()`, `service("x")`, `service(id(...)) { expr }`.
    Service {
        service: Option<ServiceRef>,
        filter: Option<Box<Expr>>,
    },
    /// `edge("a", "b") { expr }`.
    Edge {
        from: ServiceRef,
        to: ServiceRef,
        filter: Option<Box<Expr>>,
    },
    /// `group.name = "x"` / `group.arn = "x"`.
    Group {
        by: GroupKey,
        value: String,
    },
    /// `rootcause.fault.service { expr }`, ...
    RootCause {
        kind: RootCauseKind,
        target: RootCauseTarget,
        filter: Option<Box<Expr>>,
    },
    /// `rootcause.json = #[ ... ]`; the value is the JSON array between `#` and the end.
    RootCauseJson(serde_json::Value),
}

macro_rules! keyword_enum {
    ($(#[$m:meta])* $name:ident { $($variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The canonical (lower-case) spelling.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            /// Case-insensitive lookup.
            pub fn from_word(word: &str) -> Option<Self> {
                $(if word.eq_ignore_ascii_case($text) { return Some($name::$variant); })+
                None
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

keyword_enum!(
    /// Keywords that are true or false.
    FlagKeyword {
        Ok => "ok", Error => "error", Throttle => "throttle", Fault => "fault",
        Partial => "partial", Inferred => "inferred", First => "first", Last => "last",
        Remote => "remote", Root => "root",
    }
);

keyword_enum!(
    /// Keywords with a number value.
    NumberKeyword {
        ResponseTime => "responsetime", Duration => "duration", HttpStatus => "http.status",
        Index => "index", Coverage => "coverage",
    }
);

keyword_enum!(
    /// Keywords with a string value.
    TextKeyword {
        HttpUrl => "http.url", HttpMethod => "http.method", HttpUserAgent => "http.useragent",
        HttpClientIp => "http.clientip", User => "user", Name => "name", Type => "type",
        Message => "message", AvailabilityZone => "availabilityzone",
        InstanceId => "instance.id", ResourceArn => "resource.arn",
    }
);

keyword_enum!(
    /// `rootcause.<kind>.*`
    RootCauseKind { Fault => "fault", Error => "error", ResponseTime => "responsetime" }
);

keyword_enum!(
    /// `rootcause.*.<target>`
    RootCauseTarget { Service => "service", Entity => "entity", Exception => "exception" }
);

keyword_enum!(
    /// `group.<key>`
    GroupKey { Name => "name", Arn => "arn" }
);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EqOp {
    Eq,
    Ne,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NumOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StrOp {
    Eq,
    Ne,
    Contains,
    BeginsWith,
    EndsWith,
}

#[derive(Debug, Clone, PartialEq)]
pub enum AnnotationTest {
    Number(NumOp, f64),
    Text(StrOp, String),
    Bool(EqOp, bool),
}

/// A service named in `service()` / `edge()`.
#[derive(Debug, Clone, PartialEq)]
pub enum ServiceRef {
    Name(String),
    /// `id(name: "..", type: "..", account.id: "..")`; at least one field is set.
    Id {
        name: Option<String>,
        kind: Option<String>,
        account_id: Option<String>,
    },
}

impl ServiceRef {
    /// The service name, if the reference gives one.
    pub fn name(&self) -> Option<&str> {
        match self {
            ServiceRef::Name(n) => Some(n),
            ServiceRef::Id { name, .. } => name.as_deref(),
        }
    }
}

impl fmt::Display for EqOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            EqOp::Eq => "=",
            EqOp::Ne => "!=",
        })
    }
}

impl fmt::Display for NumOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            NumOp::Eq => "=",
            NumOp::Ne => "!=",
            NumOp::Lt => "<",
            NumOp::Le => "<=",
            NumOp::Gt => ">",
            NumOp::Ge => ">=",
        })
    }
}

impl fmt::Display for StrOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            StrOp::Eq => "=",
            StrOp::Ne => "!=",
            StrOp::Contains => "CONTAINS",
            StrOp::BeginsWith => "BEGINSWITH",
            StrOp::EndsWith => "ENDSWITH",
        })
    }
}

/// Writes `s` as a double-quoted string the lexer reads back to the same value.
pub(crate) fn write_quoted(f: &mut impl fmt::Write, s: &str) -> fmt::Result {
    f.write_char('"')?;
    for c in s.chars() {
        match c {
            '"' => f.write_str("\\\"")?,
            '\\' => f.write_str("\\\\")?,
            '\n' => f.write_str("\\n")?,
            '\t' => f.write_str("\\t")?,
            '\r' => f.write_str("\\r")?,
            c if c.is_control() && (c as u32) < 0x10000 => write!(f, "\\u{:04x}", c as u32)?,
            c => f.write_char(c)?,
        }
    }
    f.write_char('"')
}

struct Quoted<'a>(&'a str);

impl fmt::Display for Quoted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_quoted(f, self.0)
    }
}

impl fmt::Display for ServiceRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ServiceRef::Name(n) => write_quoted(f, n),
            ServiceRef::Id {
                name,
                kind,
                account_id,
            } => {
                f.write_str("id(")?;
                let fields = [("name", name), ("type", kind), ("account.id", account_id)];
                let mut first = true;
                for (label, value) in fields {
                    if let Some(v) = value {
                        if !first {
                            f.write_str(", ")?;
                        }
                        first = false;
                        write!(f, "{label}: {}", Quoted(v))?;
                    }
                }
                f.write_str(")")
            }
        }
    }
}

impl Expr {
    fn is_compound(&self) -> bool {
        matches!(self, Expr::Or(_) | Expr::And(_))
    }
}

fn write_block(f: &mut fmt::Formatter<'_>, filter: &Option<Box<Expr>>) -> fmt::Result {
    match filter {
        Some(e) => write!(f, " {{ {e} }}"),
        None => Ok(()),
    }
}

impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expr::Or(items) => {
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(" OR ")?;
                    }
                    if matches!(item, Expr::Or(_)) {
                        write!(f, "({item})")?;
                    } else {
                        write!(f, "{item}")?;
                    }
                }
                Ok(())
            }
            Expr::And(items) => {
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(" AND ")?;
                    }
                    if item.is_compound() {
                        write!(f, "({item})")?;
                    } else {
                        write!(f, "{item}")?;
                    }
                }
                Ok(())
            }
            Expr::Not(inner) => {
                if inner.is_compound() {
                    write!(f, "!({inner})")
                } else {
                    write!(f, "!{inner}")
                }
            }
            Expr::Flag { keyword, test } => {
                write!(f, "{keyword}")?;
                if let Some((op, v)) = test {
                    write!(f, " {op} {v}")?;
                }
                Ok(())
            }
            Expr::Number { keyword, op, value } => write!(f, "{keyword} {op} {value}"),
            Expr::Text { keyword, test } => {
                write!(f, "{keyword}")?;
                if let Some((op, v)) = test {
                    write!(f, " {op} {}", Quoted(v))?;
                }
                Ok(())
            }
            Expr::Annotation { key, test } => {
                write!(f, "annotation.{key}")?;
                match test {
                    None => Ok(()),
                    Some(AnnotationTest::Number(op, v)) => write!(f, " {op} {v}"),
                    Some(AnnotationTest::Text(op, v)) => write!(f, " {op} {}", Quoted(v)),
                    Some(AnnotationTest::Bool(op, v)) => write!(f, " {op} {v}"),
                }
            }
            Expr::Service { service, filter } => {
                f.write_str("service(")?;
                if let Some(s) = service {
                    write!(f, "{s}")?;
                }
                f.write_str(")")?;
                write_block(f, filter)
            }
            Expr::Edge { from, to, filter } => {
                write!(f, "edge({from}, {to})")?;
                write_block(f, filter)
            }
            Expr::Group { by, value } => write!(f, "group.{by} = {}", Quoted(value)),
            Expr::RootCause {
                kind,
                target,
                filter,
            } => {
                write!(f, "rootcause.{kind}.{target}")?;
                write_block(f, filter)
            }
            Expr::RootCauseJson(value) => {
                // The stored value is the array written between `#` and the end.
                write!(f, "rootcause.json = #{value}")
            }
        }
    }
}
