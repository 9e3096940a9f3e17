//! A small JSON parser that keeps the line and column of every value and key, so a rule
//! file's problems can be reported as `PATH:LINE:COL`. It also rejects what serde_json
//! would accept silently: duplicate keys, numbers too large for a double, and nesting
//! deeper than [`MAX_DEPTH`].

use serde_json::{Map, Number, Value};

use crate::model::{JsonPath, PathSeg};

/// Objects and arrays may nest this deep, no deeper.
pub const MAX_DEPTH: usize = 64;

/// A 1-based line and column (in characters).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Pos {
    pub line: usize,
    pub column: usize,
}

/// A problem found while parsing, with where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseProblem {
    pub pos: Pos,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    Null,
    Bool(bool),
    /// The number as written, already checked to be a finite double.
    Number(String),
    String(String),
    Array(Vec<Positioned>),
    Object(Vec<Member>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Member {
    pub key: String,
    pub key_pos: Pos,
    pub value: Positioned,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Positioned {
    pub pos: Pos,
    pub node: Node,
}

/// Parse one JSON document. A syntax error stops the parse and is the only problem
/// returned; duplicate keys and out-of-range numbers are all collected.
pub fn parse(src: &str) -> Result<Positioned, Vec<ParseProblem>> {
    let mut p = Parser {
        src,
        i: 0,
        pos: Pos { line: 1, column: 1 },
        depth: 0,
        problems: Vec::new(),
    };
    p.skip_ws();
    if p.peek().is_none() {
        return Err(vec![p.problem("the file is empty; expected a JSON object")]);
    }
    let value = match p.value() {
        Ok(v) => v,
        Err(e) => return Err(vec![e]),
    };
    p.skip_ws();
    if let Some(c) = p.peek() {
        return Err(vec![p.problem(format!(
            "unexpected {} after the end of the JSON document",
            describe_char(c)
        ))]);
    }
    if p.problems.is_empty() {
        Ok(value)
    } else {
        Err(p.problems)
    }
}

struct Parser<'a> {
    src: &'a str,
    i: usize,
    pos: Pos,
    depth: usize,
    problems: Vec<ParseProblem>,
}

fn describe_char(c: char) -> String {
    if c.is_control() {
        format!("control character U+{:04X}", c as u32)
    } else {
        format!("character '{c}'")
    }
}

impl Parser<'_> {
    fn peek(&self) -> Option<char> {
        self.src[self.i..].chars().next()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.i += c.len_utf8();
        if c == '\n' {
            self.pos.line += 1;
            self.pos.column = 1;
        } else {
            self.pos.column += 1;
        }
        Some(c)
    }

    fn problem(&self, message: impl Into<String>) -> ParseProblem {
        ParseProblem {
            pos: self.pos,
            message: message.into(),
        }
    }

    fn unexpected(&self, expected: &str) -> ParseProblem {
        match self.peek() {
            None => self.problem(format!("unexpected end of file; expected {expected}")),
            Some(c) => self.problem(format!(
                "unexpected {}; expected {expected}",
                describe_char(c)
            )),
        }
    }

    fn skip_ws(&mut self) {
        while let Some(' ' | '\t' | '\n' | '\r') = self.peek() {
            self.bump();
        }
    }

    fn eat(&mut self, c: char) -> bool {
        if self.peek() == Some(c) {
            self.bump();
            true
        } else {
            false
        }
    }

    fn value(&mut self) -> Result<Positioned, ParseProblem> {
        let pos = self.pos;
        let node = match self.peek() {
            Some('{') => self.object()?,
            Some('[') => self.array()?,
            Some('"') => Node::String(self.string()?),
            Some('-' | '0'..='9') => self.number()?,
            Some(c) if c.is_ascii_alphabetic() => self.word()?,
            _ => return Err(self.unexpected("a JSON value")),
        };
        Ok(Positioned { pos, node })
    }

    fn enter(&mut self) -> Result<(), ParseProblem> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.problem(format!(
                "objects and lists nest deeper than {MAX_DEPTH} levels"
            )));
        }
        Ok(())
    }

    fn object(&mut self) -> Result<Node, ParseProblem> {
        self.enter()?;
        self.bump();
        let mut members: Vec<Member> = Vec::new();
        self.skip_ws();
        if self.eat('}') {
            self.depth -= 1;
            return Ok(Node::Object(members));
        }
        loop {
            self.skip_ws();
            if self.peek() != Some('"') {
                return Err(self.unexpected("a key in double quotes"));
            }
            let key_pos = self.pos;
            let key = self.string()?;
            self.skip_ws();
            if !self.eat(':') {
                return Err(self.unexpected("':' after the key"));
            }
            self.skip_ws();
            let value = self.value()?;
            if let Some(first) = members.iter().find(|m| m.key == key) {
                self.problems.push(ParseProblem {
                    pos: key_pos,
                    message: format!(
                        "duplicate key {key:?} (first at line {}, column {})",
                        first.key_pos.line, first.key_pos.column
                    ),
                });
            }
            members.push(Member {
                key,
                key_pos,
                value,
            });
            self.skip_ws();
            if self.eat(',') {
                continue;
            }
            if self.eat('}') {
                break;
            }
            return Err(self.unexpected("',' or '}'"));
        }
        self.depth -= 1;
        Ok(Node::Object(members))
    }

    fn array(&mut self) -> Result<Node, ParseProblem> {
        self.enter()?;
        self.bump();
        let mut items = Vec::new();
        self.skip_ws();
        if self.eat(']') {
            self.depth -= 1;
            return Ok(Node::Array(items));
        }
        loop {
            self.skip_ws();
            items.push(self.value()?);
            self.skip_ws();
            if self.eat(',') {
                continue;
            }
            if self.eat(']') {
                break;
            }
            return Err(self.unexpected("',' or ']'"));
        }
        self.depth -= 1;
        Ok(Node::Array(items))
    }

    fn hex4(&mut self) -> Result<u32, ParseProblem> {
        let mut n = 0u32;
        for _ in 0..4 {
            let d = self
                .peek()
                .and_then(|c| c.to_digit(16))
                .ok_or_else(|| self.unexpected("four hex digits after \\u"))?;
            self.bump();
            n = n * 16 + d;
        }
        Ok(n)
    }

    fn string(&mut self) -> Result<String, ParseProblem> {
        let start = self.pos;
        self.bump();
        let mut out = String::new();
        loop {
            let Some(c) = self.peek() else {
                return Err(ParseProblem {
                    pos: start,
                    message: "this string is not closed".into(),
                });
            };
            match c {
                '"' => {
                    self.bump();
                    return Ok(out);
                }
                '\\' => {
                    let esc_pos = self.pos;
                    self.bump();
                    let e = self.bump();
                    match e {
                        Some('"') => out.push('"'),
                        Some('\\') => out.push('\\'),
                        Some('/') => out.push('/'),
                        Some('b') => out.push('\u{8}'),
                        Some('f') => out.push('\u{c}'),
                        Some('n') => out.push('\n'),
                        Some('r') => out.push('\r'),
                        Some('t') => out.push('\t'),
                        Some('u') => {
                            let hi = self.hex4()?;
                            let code = if (0xD800..0xDC00).contains(&hi) {
                                if !(self.eat('\\') && self.eat('u')) {
                                    return Err(ParseProblem {
                                        pos: esc_pos,
                                        message: "a \\u surrogate escape must come in a pair"
                                            .into(),
                                    });
                                }
                                let lo = self.hex4()?;
                                if !(0xDC00..0xE000).contains(&lo) {
                                    return Err(ParseProblem {
                                        pos: esc_pos,
                                        message: "a \\u surrogate escape must come in a pair"
                                            .into(),
                                    });
                                }
                                0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00)
                            } else {
                                hi
                            };
                            match char::from_u32(code) {
                                Some(ch) => out.push(ch),
                                None => {
                                    return Err(ParseProblem {
                                        pos: esc_pos,
                                        message: format!(
                                            "\\u{code:04X} is not a character on its own"
                                        ),
                                    });
                                }
                            }
                        }
                        _ => {
                            return Err(ParseProblem {
                                pos: esc_pos,
                                message: "invalid escape in a string (valid: \\\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX)".into(),
                            });
                        }
                    }
                }
                c if (c as u32) < 0x20 => {
                    return Err(self.problem(format!(
                        "{} inside a string (escape it, e.g. \\n)",
                        describe_char(c)
                    )));
                }
                c => {
                    out.push(c);
                    self.bump();
                }
            }
        }
    }

    fn digits(&mut self) -> usize {
        let mut n = 0;
        while let Some('0'..='9') = self.peek() {
            self.bump();
            n += 1;
        }
        n
    }

    fn number(&mut self) -> Result<Node, ParseProblem> {
        let start = self.i;
        let start_pos = self.pos;
        self.eat('-');
        match self.peek() {
            Some('0') => {
                self.bump();
                if let Some('0'..='9') = self.peek() {
                    return Err(self.problem("numbers must not have leading zeros"));
                }
            }
            Some('1'..='9') => {
                self.digits();
            }
            _ => return Err(self.unexpected("a digit")),
        }
        if self.eat('.') && self.digits() == 0 {
            return Err(self.unexpected("a digit after the decimal point"));
        }
        if matches!(self.peek(), Some('e' | 'E')) {
            self.bump();
            if !self.eat('+') {
                self.eat('-');
            }
            if self.digits() == 0 {
                return Err(self.unexpected("a digit in the exponent"));
            }
        }
        let raw = self.src[start..self.i].to_owned();
        if to_number(&raw).is_none() {
            self.problems.push(ParseProblem {
                pos: start_pos,
                message: format!("the number {raw} is too large"),
            });
        }
        Ok(Node::Number(raw))
    }

    fn word(&mut self) -> Result<Node, ParseProblem> {
        let pos = self.pos;
        let start = self.i;
        while let Some(c) = self.peek() {
            if c.is_ascii_alphanumeric() {
                self.bump();
            } else {
                break;
            }
        }
        match &self.src[start..self.i] {
            "true" => Ok(Node::Bool(true)),
            "false" => Ok(Node::Bool(false)),
            "null" => Ok(Node::Null),
            w @ ("NaN" | "Infinity" | "inf" | "nan") => Err(ParseProblem {
                pos,
                message: format!("{w} is not a JSON number; numbers must be finite"),
            }),
            w => Err(ParseProblem {
                pos,
                message: format!(
                    "unexpected word {w:?}; expected a JSON value (strings need double quotes)"
                ),
            }),
        }
    }
}

/// A JSON number as serde_json holds it: integers exactly, the rest as finite doubles.
fn to_number(raw: &str) -> Option<Number> {
    if !raw.contains(['.', 'e', 'E']) {
        if let Ok(n) = raw.parse::<i64>() {
            return Some(n.into());
        }
        if let Ok(n) = raw.parse::<u64>() {
            return Some(n.into());
        }
    }
    raw.parse::<f64>().ok().and_then(Number::from_f64)
}

impl Positioned {
    /// The same document as a serde_json value (the last of duplicate keys wins).
    pub fn to_value(&self) -> Value {
        match &self.node {
            Node::Null => Value::Null,
            Node::Bool(b) => Value::Bool(*b),
            Node::Number(raw) => to_number(raw).map_or(Value::Null, Value::Number),
            Node::String(s) => Value::String(s.clone()),
            Node::Array(items) => Value::Array(items.iter().map(Positioned::to_value).collect()),
            Node::Object(members) => {
                let mut map = Map::new();
                for m in members {
                    map.insert(m.key.clone(), m.value.to_value());
                }
                Value::Object(map)
            }
        }
    }

    /// The value at `path`, if there is one.
    pub fn get(&self, path: &JsonPath) -> Option<&Positioned> {
        let mut cur = self;
        for seg in &path.0 {
            cur = match (seg, &cur.node) {
                (PathSeg::Key(k), Node::Object(members)) => {
                    &members.iter().rev().find(|m| &m.key == k)?.value
                }
                (PathSeg::Index(i), Node::Array(items)) => items.get(*i)?,
                _ => return None,
            };
        }
        Some(cur)
    }

    /// Where the key that ends `path` is written, if `path` ends with a key.
    pub fn key_pos(&self, path: &JsonPath) -> Option<Pos> {
        let (last, parent) = path.0.split_last()?;
        let PathSeg::Key(k) = last else {
            return None;
        };
        let parent = self.get(&JsonPath(parent.to_vec()))?;
        match &parent.node {
            Node::Object(members) => members
                .iter()
                .rev()
                .find(|m| &m.key == k)
                .map(|m| m.key_pos),
            _ => None,
        }
    }

    /// The position of `path`'s value, else of the nearest enclosing value that exists.
    pub fn pos_of(&self, path: &JsonPath) -> Pos {
        let mut segs = path.0.clone();
        loop {
            if let Some(v) = self.get(&JsonPath(segs.clone())) {
                return v.pos;
            }
            if segs.pop().is_none() {
                return self.pos;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(src: &str) -> Vec<(usize, usize, String)> {
        parse(src)
            .unwrap_err()
            .into_iter()
            .map(|p| (p.pos.line, p.pos.column, p.message))
            .collect()
    }

    #[test]
    fn positions_of_values_and_keys() {
        let doc = parse("{\n  \"a\": [1, {\"b\": \"é\"}],\n  \"c\": true\n}").unwrap();
        let path = JsonPath::default().key("a").index(1).key("b");
        assert_eq!(
            doc.get(&path).unwrap().pos,
            Pos {
                line: 2,
                column: 18
            }
        );
        assert_eq!(
            doc.key_pos(&path),
            Some(Pos {
                line: 2,
                column: 13
            })
        );
        let c = JsonPath::default().key("c");
        assert_eq!(doc.get(&c).unwrap().pos, Pos { line: 3, column: 8 });
        let missing = JsonPath::default().key("a").index(7);
        assert_eq!(doc.pos_of(&missing), Pos { line: 2, column: 8 });
        assert_eq!(
            doc.to_value(),
            serde_json::json!({"a": [1, {"b": "é"}], "c": true})
        );
    }

    #[test]
    fn columns_count_characters_not_bytes() {
        let doc = parse("{\"ü\": \"ö\", \"x\": 1}").unwrap();
        let x = JsonPath::default().key("x");
        assert_eq!(
            doc.get(&x).unwrap().pos,
            Pos {
                line: 1,
                column: 17
            }
        );
    }

    #[test]
    fn syntax_errors_name_the_place() {
        assert_eq!(
            err("{\"a\": 1,}"),
            [(
                1,
                9,
                "unexpected character '}'; expected a key in double quotes".into()
            )]
        );
        assert_eq!(
            err("{\"a\" 1}"),
            [(
                1,
                6,
                "unexpected character '1'; expected ':' after the key".into()
            )]
        );
        assert_eq!(
            err("{\"a\": 1"),
            [(1, 8, "unexpected end of file; expected ',' or '}'".into())]
        );
        assert_eq!(
            err("{\"a\": \"x}"),
            [(1, 7, "this string is not closed".into())]
        );
        assert_eq!(
            err("{} {}"),
            [(
                1,
                4,
                "unexpected character '{' after the end of the JSON document".into()
            )]
        );
        assert_eq!(
            err("{\"a\": 01}"),
            [(1, 8, "numbers must not have leading zeros".into())]
        );
        assert_eq!(
            err("{\"a\": NaN}"),
            [(
                1,
                7,
                "NaN is not a JSON number; numbers must be finite".into()
            )]
        );
        assert_eq!(
            err("{\"a\": yes}"),
            [(
                1,
                7,
                "unexpected word \"yes\"; expected a JSON value (strings need double quotes)"
                    .into()
            )]
        );
        assert_eq!(
            err("  \n "),
            [(2, 2, "the file is empty; expected a JSON object".into())]
        );
    }

    #[test]
    fn duplicates_and_huge_numbers_are_all_reported() {
        assert_eq!(
            err("{\"a\": 1,\n \"a\": 2, \"b\": 1e999, \"c\": -1e400}"),
            [
                (
                    2,
                    2,
                    "duplicate key \"a\" (first at line 1, column 2)".to_owned()
                ),
                (2, 15, "the number 1e999 is too large".to_owned()),
                (2, 27, "the number -1e400 is too large".to_owned()),
            ]
        );
        // Big integers that fit a double are numbers, not errors.
        let doc = parse("[18446744073709551616]").unwrap();
        assert_eq!(doc.to_value()[0].as_f64(), Some(18446744073709551616.0));
    }

    #[test]
    fn nesting_is_limited() {
        let deep = format!("{}{}", "[".repeat(MAX_DEPTH + 1), "]".repeat(MAX_DEPTH + 1));
        assert_eq!(
            err(&deep),
            [(
                1,
                MAX_DEPTH + 1,
                format!("objects and lists nest deeper than {MAX_DEPTH} levels")
            )]
        );
        let ok = format!("{}{}", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH));
        assert!(parse(&ok).is_ok());
    }

    #[test]
    fn string_escapes() {
        let doc = parse(r#"["a\"\\\/\b\f\n\r\t\u00e9\ud83d\ude00"]"#).unwrap();
        assert_eq!(doc.to_value()[0], "a\"\\/\u{8}\u{c}\n\r\té😀");
        assert_eq!(
            err(r#"["\x"]"#)[0].2,
            "invalid escape in a string (valid: \\\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX)"
        );
        assert_eq!(
            err("[\"\\ud83d\"]")[0].2,
            "a \\u surrogate escape must come in a pair"
        );
        assert_eq!(
            err("[\"a\tb\"]"),
            [(
                1,
                4,
                "control character U+0009 inside a string (escape it, e.g. \\n)".into()
            )]
        );
    }

    mod props {
        use super::super::*;
        use proptest::prelude::*;

        fn value() -> impl Strategy<Value = Value> {
            let leaf = prop_oneof![
                Just(Value::Null),
                any::<bool>().prop_map(Value::Bool),
                any::<i64>().prop_map(Value::from),
                "[a-zA-Z0-9 _\\\"\\\\/é😀\t\n-]{0,12}".prop_map(Value::String),
            ];
            leaf.prop_recursive(6, 64, 6, |inner| {
                prop_oneof![
                    prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                    prop::collection::btree_map("[a-zA-Z]{1,6}", inner, 0..6)
                        .prop_map(|m| Value::Object(m.into_iter().collect())),
                ]
            })
        }

        proptest! {
            #[test]
            fn documents_serde_writes_parse_back_equal(v in value(), pretty in any::<bool>()) {
                let text = if pretty {
                    serde_json::to_string_pretty(&v).unwrap()
                } else {
                    serde_json::to_string(&v).unwrap()
                };
                let parsed = parse(&text);
                prop_assert!(parsed.is_ok(), "{:?}", parsed);
                prop_assert_eq!(parsed.unwrap().to_value(), v);
            }

            #[test]
            fn what_serde_rejects_is_rejected(s in "[\\[\\]{}\":,0-9a-z .eE+\\\\\n-]{0,40}") {
                if serde_json::from_str::<Value>(&s).is_err() {
                    prop_assert!(parse(&s).is_err(), "accepted {:?}", s);
                }
            }

            #[test]
            fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
                let _ = crate::spec::load_rule_bytes("x.json", &bytes);
            }
        }
    }
}
