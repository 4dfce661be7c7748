//! Command syntax in Redis documentation notation, parsed into the argument tree `COMMAND DOCS` returns.
//!
//! ```text
//!  "key value [NX|XX] [EX seconds:integer|KEEPTTL]"
//!     key        -> {name: key,     type: key}
//!     value      -> {name: value,   type: string}
//!     [NX|XX]    -> {name: nx-xx,   type: oneof, flags: [optional], arguments: [NX pure-token, XX pure-token]}
//!     EX seconds -> {name: seconds, type: integer, token: EX}
//! ```
//!
//! Rules: an UPPERCASE word is a token; followed by a lower-case word it becomes that argument's token, else it is a
//! pure token. Lower-case words are arguments, typed by `name:type` (`integer`, `double`, `unix-time`, `pattern`,
//! `key`, `string`), or by name (`key`, `*key` and `source`/`destination` are keys, `pattern` is a pattern).
//! `[ ]` is optional, `( )` groups, `|` separates alternatives, `...` after an element (or Redis's `x [x ...]`)
//! makes it repeatable.

use std::fmt;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ArgType {
    String,
    Integer,
    Double,
    Key,
    Pattern,
    UnixTime,
    PureToken,
    Oneof,
    Block,
}

impl ArgType {
    /// The type name in `COMMAND DOCS`.
    pub fn as_str(self) -> &'static str {
        match self {
            ArgType::String => "string",
            ArgType::Integer => "integer",
            ArgType::Double => "double",
            ArgType::Key => "key",
            ArgType::Pattern => "pattern",
            ArgType::UnixTime => "unix-time",
            ArgType::PureToken => "pure-token",
            ArgType::Oneof => "oneof",
            ArgType::Block => "block",
        }
    }
}

/// One documented argument.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Arg {
    pub name: String,
    pub ty: ArgType,
    pub token: Option<String>,
    pub optional: bool,
    pub multiple: bool,
    /// Alternatives of a `oneof`, members of a `block`.
    pub children: Vec<Arg>,
}

/// A syntax string that does not parse.
#[derive(Debug, PartialEq, Eq)]
pub struct SyntaxError(String);

impl fmt::Display for SyntaxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "bad command syntax: {}", self.0)
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Tok<'a> {
    Word(&'a str),
    Open(char),
    Close(char),
    Bar,
    Ellipsis,
}

fn lex(s: &str) -> Vec<Tok<'_>> {
    let mut toks = Vec::new();
    let bytes = s.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b' ' => i += 1,
            b'[' | b'(' => {
                toks.push(Tok::Open(bytes[i] as char));
                i += 1;
            }
            b']' | b')' => {
                toks.push(Tok::Close(bytes[i] as char));
                i += 1;
            }
            b'|' => {
                toks.push(Tok::Bar);
                i += 1;
            }
            b'.' if s[i..].starts_with("...") => {
                toks.push(Tok::Ellipsis);
                i += 3;
            }
            _ => {
                let start = i;
                while i < bytes.len() && !b" []()|".contains(&bytes[i]) && !s[i..].starts_with("...") {
                    i += 1;
                }
                toks.push(Tok::Word(&s[start..i]));
            }
        }
    }
    toks
}

fn is_token(word: &str) -> bool {
    word.bytes().any(|b| b.is_ascii_uppercase()) && word.bytes().all(|b| !b.is_ascii_lowercase())
}

fn leaf(word: &str) -> Result<Arg, SyntaxError> {
    let (name, ty) = match word.rsplit_once(':') {
        Some((name, ty)) => {
            let ty = match ty {
                "string" => ArgType::String,
                "integer" => ArgType::Integer,
                "double" => ArgType::Double,
                "key" => ArgType::Key,
                "pattern" => ArgType::Pattern,
                "unix-time" => ArgType::UnixTime,
                other => return Err(SyntaxError(format!("unknown type '{other}'"))),
            };
            (name, ty)
        }
        None => {
            let ty = if word == "key" || word.ends_with("key") || word == "source" || word == "destination" {
                ArgType::Key
            } else if word == "pattern" {
                ArgType::Pattern
            } else {
                ArgType::String
            };
            (word, ty)
        }
    };
    Ok(Arg { name: name.to_string(), ty, token: None, optional: false, multiple: false, children: Vec::new() })
}

struct Parser<'a> {
    toks: Vec<Tok<'a>>,
    pos: usize,
}

impl<'a> Parser<'a> {
    fn peek(&self) -> Option<&Tok<'a>> {
        self.toks.get(self.pos)
    }

    /// Elements up to a closing bracket or the end.
    fn seq(&mut self) -> Result<Vec<Arg>, SyntaxError> {
        let mut out: Vec<Arg> = Vec::new();
        while !matches!(self.peek(), None | Some(Tok::Close(_))) {
            let mut arg = self.primary()?;
            // `a|b|c` binds single elements (a token with its argument counts as one), as in Redis's docs.
            if self.peek() == Some(&Tok::Bar) {
                let mut children = vec![arg];
                while self.peek() == Some(&Tok::Bar) {
                    self.pos += 1;
                    children.push(self.primary()?);
                }
                let name = children.iter().map(|a| a.name.as_str()).collect::<Vec<_>>().join("-");
                arg = Arg { name, ty: ArgType::Oneof, token: None, optional: false, multiple: false, children };
            }
            if self.peek() == Some(&Tok::Ellipsis) {
                self.pos += 1;
                arg.multiple = true;
            }
            // Redis's "key [key ...]": fold the optional repetition into the argument before it.
            if arg.optional && arg.multiple {
                if let Some(prev) = out.last_mut() {
                    if prev.name == arg.name && prev.ty == arg.ty && prev.token == arg.token {
                        prev.multiple = true;
                        continue;
                    }
                }
            }
            out.push(arg);
        }
        Ok(out)
    }

    /// One element: a bracketed group, a token (with its argument, if one follows), or an argument.
    fn primary(&mut self) -> Result<Arg, SyntaxError> {
        let Some(tok) = self.peek().cloned() else { return Err(SyntaxError("unexpected end".into())) };
        self.pos += 1;
        match tok {
            Tok::Open(open) => {
                let seq = self.seq()?;
                let close = if open == '[' { ']' } else { ')' };
                if self.peek() != Some(&Tok::Close(close)) {
                    return Err(SyntaxError(format!("missing '{close}'")));
                }
                self.pos += 1;
                let mut group = as_one(seq)?;
                group.optional |= open == '[';
                Ok(group)
            }
            Tok::Word(w) if is_token(w) => match self.peek() {
                Some(Tok::Word(next)) if !is_token(next) => {
                    let next = *next;
                    self.pos += 1;
                    let mut arg = leaf(next)?;
                    arg.token = Some(w.to_string());
                    Ok(arg)
                }
                _ => Ok(Arg {
                    name: w.to_ascii_lowercase(),
                    ty: ArgType::PureToken,
                    token: Some(w.to_string()),
                    optional: false,
                    multiple: false,
                    children: Vec::new(),
                }),
            },
            Tok::Word(w) => leaf(w),
            other => Err(SyntaxError(format!("unexpected {other:?}"))),
        }
    }
}

/// A sequence as one argument: itself if it has one element, else a block.
fn as_one(mut seq: Vec<Arg>) -> Result<Arg, SyntaxError> {
    match seq.len() {
        0 => Err(SyntaxError("empty group".into())),
        1 => Ok(seq.remove(0)),
        _ => {
            let name = seq[0].token.as_deref().map(str::to_ascii_lowercase).unwrap_or_else(|| seq[0].name.clone());
            Ok(Arg { name, ty: ArgType::Block, token: None, optional: false, multiple: false, children: seq })
        }
    }
}

/// The syntax as people read it: the `:type` annotations removed (`EX seconds:integer` -> `EX seconds`).
pub fn display(s: &str) -> String {
    let mut out = s.to_string();
    for ty in [":string", ":integer", ":double", ":key", ":pattern", ":unix-time"] {
        out = out.replace(ty, "");
    }
    out
}

/// Parses a syntax string into its arguments.
pub fn parse(s: &str) -> Result<Vec<Arg>, SyntaxError> {
    let mut p = Parser { toks: lex(s), pos: 0 };
    let args = p.seq()?;
    match p.peek() {
        None => Ok(args),
        Some(t) => Err(SyntaxError(format!("unexpected {t:?}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(args: &[Arg]) -> Vec<(&str, ArgType, Option<&str>, bool, bool)> {
        args.iter().map(|a| (a.name.as_str(), a.ty, a.token.as_deref(), a.optional, a.multiple)).collect()
    }

    #[test]
    fn set_syntax() {
        let args = parse(
            "key value [NX|XX] [GET] [EX seconds:integer|PX milliseconds:integer|EXAT unix-time-seconds:unix-time|PXAT unix-time-milliseconds:unix-time|KEEPTTL]",
        )
        .unwrap();
        assert_eq!(
            names(&args),
            vec![
                ("key", ArgType::Key, None, false, false),
                ("value", ArgType::String, None, false, false),
                ("nx-xx", ArgType::Oneof, None, true, false),
                ("get", ArgType::PureToken, Some("GET"), true, false),
                (
                    "seconds-milliseconds-unix-time-seconds-unix-time-milliseconds-keepttl",
                    ArgType::Oneof,
                    None,
                    true,
                    false
                ),
            ]
        );
        assert_eq!(names(&args[4].children)[0], ("seconds", ArgType::Integer, Some("EX"), false, false));
    }

    #[test]
    fn repetition_forms() {
        let args = parse("key [key ...]").unwrap();
        assert_eq!(names(&args), vec![("key", ArgType::Key, None, false, true)]);
        let args = parse("(key value)...").unwrap();
        assert_eq!(args[0].ty, ArgType::Block);
        assert!(args[0].multiple);
        assert_eq!(args[0].children.len(), 2);
    }

    #[test]
    fn top_level_alternatives_and_errors() {
        let args = parse("source destination LEFT|RIGHT").unwrap();
        assert_eq!(args.len(), 3);
        assert_eq!(args[2].ty, ArgType::Oneof);
        assert!(parse("[a").is_err());
        assert!(parse("x:nonsense").is_err());
        assert!(parse("").unwrap().is_empty());
    }
}
