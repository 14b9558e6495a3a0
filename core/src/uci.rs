//! The UCI file syntax (OpenWrt's `/etc/config/*`): `package`, `config TYPE [NAME]`,
//! `option NAME VALUE`, `list NAME VALUE`, `#` comments, and values bare, 'single-' or
//! "double-quoted" (backslash escapes in double quotes and bare words), concatenated as UCI
//! allows (`'a'"b"c`). Lexed with nom, borrowing the text; values are unquoted into a
//! caller-sized `heapless::Vec`.

use crate::keyword::lookup;
use core::fmt;

use nom::bytes::complete::{tag, take_while, take_while1};
use nom::multi::many1_count;
use nom::{IResult, Parser};

/// One token as written (quotes and escapes included).
#[derive(Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Word<'a>(&'a [u8]);

impl fmt::Debug for Word<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        crate::escape::IwEscaped(self.0).fmt(f)
    }
}

impl<'a> Word<'a> {
    /// The token as written.
    pub fn raw(&self) -> &'a [u8] {
        self.0
    }

    /// The value: quotes removed, escapes resolved. Longer than `N` bytes is an error.
    pub fn unquote<const N: usize>(&self) -> Result<heapless::Vec<u8, N>, ErrorKind> {
        let mut out = heapless::Vec::new();
        let mut quote = None;
        let mut bytes = self.0.iter().copied();
        while let Some(b) = bytes.next() {
            let c = match (quote, b) {
                (None, b'\'' | b'"') => {
                    quote = Some(b);
                    continue;
                }
                (Some(q), _) if q == b => {
                    quote = None;
                    continue;
                }
                (None | Some(b'"'), b'\\') => bytes.next().ok_or(ErrorKind::UnterminatedQuote)?,
                _ => b,
            };
            out.push(c).map_err(|_| ErrorKind::TooLong)?;
        }
        Ok(out)
    }
}

/// A statement of a UCI file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Statement<'a> {
    /// `package NAME`
    Package(Word<'a>),
    /// `config TYPE [NAME]`
    Config {
        /// The section type.
        kind: Word<'a>,
        /// The section name (anonymous when absent).
        name: Option<Word<'a>>,
    },
    /// `option NAME VALUE`
    Option {
        /// The option name.
        name: Word<'a>,
        /// The value.
        value: Word<'a>,
    },
    /// `list NAME VALUE`
    List {
        /// The list name.
        name: Word<'a>,
        /// One value.
        value: Word<'a>,
    },
}

/// What is wrong with a line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum ErrorKind {
    /// A quote or a trailing backslash without its end.
    UnterminatedQuote,
    /// A line that starts with something other than package/config/option/list.
    UnknownKeyword,
    /// A statement missing its name or value.
    MissingArgument,
    /// More words than the statement takes.
    TooManyArguments,
    /// A value longer than its field.
    TooLong,
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ErrorKind::UnterminatedQuote => "unterminated quote or escape",
            ErrorKind::UnknownKeyword => "expected package, config, option or list",
            ErrorKind::MissingArgument => "missing name or value",
            ErrorKind::TooManyArguments => "too many words (quote values with spaces)",
            ErrorKind::TooLong => "value too long",
        })
    }
}

/// A syntax error and its line (1-based).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Error {
    /// The line number.
    pub line: u32,
    /// What is wrong.
    pub kind: ErrorKind,
}

fn is_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\r')
}

fn single_quoted(i: &[u8]) -> IResult<&[u8], &[u8]> {
    (tag("'"), take_while(|c| c != b'\''), tag("'")).parse(i).map(|(r, (_, v, _))| (r, v))
}

fn double_quoted(i: &[u8]) -> IResult<&[u8], ()> {
    let (mut rest, _) = tag("\"").parse(i)?;
    loop {
        match rest {
            [b'"', tail @ ..] => return Ok((tail, ())),
            [b'\\', _, tail @ ..] => rest = tail,
            [b'\\'] | [] => return Err(nom::Err::Error(nom::error::Error::new(i, nom::error::ErrorKind::Char))),
            [_, tail @ ..] => rest = tail,
        }
    }
}

fn bare(i: &[u8]) -> IResult<&[u8], ()> {
    let (mut rest, _) = take_while1(|c: u8| !is_space(c) && c != b'\'' && c != b'"').parse(i)?;
    // a trailing backslash escapes the next byte, even a space or a quote
    let consumed = i.len() - rest.len();
    if i.get(consumed.wrapping_sub(1)) == Some(&b'\\') {
        match rest {
            [_, tail @ ..] => rest = tail,
            [] => return Err(nom::Err::Error(nom::error::Error::new(i, nom::error::ErrorKind::Char))),
        }
    }
    Ok((rest, ()))
}

fn segment(s: &[u8]) -> IResult<&[u8], ()> {
    match s {
        [b'\'', ..] => single_quoted(s).map(|(r, _)| (r, ())),
        [b'"', ..] => double_quoted(s),
        _ => bare(s),
    }
}

fn word(i: &[u8]) -> IResult<&[u8], Word<'_>> {
    let (rest, _) = many1_count(segment).parse(i)?;
    let len = i.len() - rest.len();
    Ok((rest, Word(i.get(..len).unwrap_or(i))))
}

/// Splits one line into at most four words, stopping at a comment.
fn words(mut line: &[u8]) -> Result<heapless::Vec<Word<'_>, 4>, ErrorKind> {
    let mut out = heapless::Vec::new();
    loop {
        line = line.get(line.iter().take_while(|&&c| is_space(c)).count()..).unwrap_or(&[]);
        match line.first() {
            None | Some(b'#') => return Ok(out),
            Some(_) => {}
        }
        let (rest, w) = word(line).map_err(|_| ErrorKind::UnterminatedQuote)?;
        out.push(w).map_err(|_| ErrorKind::TooManyArguments)?;
        line = rest;
    }
}

fn statement(line: &[u8]) -> Result<Option<Statement<'_>>, ErrorKind> {
    let w = words(line)?;
    let Some(keyword) = w.first() else { return Ok(None) };
    let arg = |i: usize| w.get(i).copied().ok_or(ErrorKind::MissingArgument);
    let max = |n: usize| if w.len() > n { Err(ErrorKind::TooManyArguments) } else { Ok(()) };
    #[derive(Clone, Copy, PartialEq)]
    enum Keyword {
        Package,
        Config,
        Option,
        List,
    }
    const KEYWORDS: [(&[u8], Keyword); 4] = [
        (b"package", Keyword::Package),
        (b"config", Keyword::Config),
        (b"option", Keyword::Option),
        (b"list", Keyword::List),
    ];
    let which = lookup(&KEYWORDS, keyword.raw()).ok_or(ErrorKind::UnknownKeyword)?;
    max(if which == Keyword::Package { 2 } else { 3 })?;
    let st = match which {
        Keyword::Package => Statement::Package(arg(1)?),
        Keyword::Config => Statement::Config { kind: arg(1)?, name: w.get(2).copied() },
        Keyword::Option => Statement::Option { name: arg(1)?, value: arg(2)? },
        Keyword::List => Statement::List { name: arg(1)?, value: arg(2)? },
    };
    Ok(Some(st))
}

/// A statement with its line number.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Line<'a> {
    /// 1-based line number.
    pub number: u32,
    /// The statement.
    pub statement: Statement<'a>,
}

/// Iterates the statements of a UCI text; blank and comment lines are skipped.
#[derive(Clone, Debug)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Statements<'a> {
    rest: Option<&'a [u8]>,
    number: u32,
}

impl<'a> Statements<'a> {
    /// Walks `text`.
    pub fn new(text: &'a [u8]) -> Self {
        Statements { rest: Some(text), number: 0 }
    }
}

impl<'a> Iterator for Statements<'a> {
    type Item = Result<Line<'a>, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let text = self.rest?;
            let (line, rest) = match text.iter().position(|&c| c == b'\n') {
                Some(i) => (text.get(..i).unwrap_or(&[]), text.get(i + 1..)),
                None => (text, None),
            };
            self.rest = rest;
            self.number = self.number.saturating_add(1);
            match statement(line) {
                Ok(Some(statement)) => return Some(Ok(Line { number: self.number, statement })),
                Ok(None) => continue,
                Err(kind) => {
                    self.rest = None;
                    return Some(Err(Error { line: self.number, kind }));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::vec::Vec;

    fn parse(text: &str) -> Result<Vec<Line<'_>>, Error> {
        Statements::new(text.as_bytes()).collect()
    }

    fn val(w: Word<'_>) -> Vec<u8> {
        w.unquote::<64>().unwrap().to_vec()
    }

    #[test]
    fn parses_statements_quotes_and_comments() {
        let text = "# comment\npackage apwatch\n\nconfig rule 'guest' # trailing\n\toption ssid \"a \\\"b\\\" c\"\n\tlist x 'it''s'\n\toption y bare\\ word\n\toption z 'a'\"b\"c\nconfig apwatch\n";
        let lines = parse(text).unwrap();
        assert_eq!(lines.len(), 7);
        assert!(matches!(lines[0].statement, Statement::Package(_)));
        match lines[1].statement {
            Statement::Config { kind, name } => {
                assert_eq!((val(kind), val(name.unwrap())), (b"rule".to_vec(), b"guest".to_vec()));
                assert_eq!(lines[1].number, 4);
            }
            other => panic!("{other:?}"),
        }
        match lines[2].statement {
            Statement::Option { name, value } => {
                assert_eq!(val(name), b"ssid");
                assert_eq!(val(value), b"a \"b\" c");
            }
            other => panic!("{other:?}"),
        }
        match lines[3].statement {
            Statement::List { value, .. } => assert_eq!(val(value), b"its"),
            other => panic!("{other:?}"),
        }
        match lines[4].statement {
            Statement::Option { value, .. } => assert_eq!(val(value), b"bare word"),
            other => panic!("{other:?}"),
        }
        match lines[5].statement {
            Statement::Option { value, .. } => assert_eq!(val(value), b"abc"),
            other => panic!("{other:?}"),
        }
        assert!(matches!(lines[6].statement, Statement::Config { name: None, .. }));
    }

    #[test]
    fn hostile_bytes_stay_bytes() {
        let text = b"option ssid '$(reboot);\xff\x00'\n";
        let lines: Vec<_> = Statements::new(text).collect::<Result<_, _>>().unwrap();
        match lines[0].statement {
            Statement::Option { value, .. } => assert_eq!(val(value), b"$(reboot);\xff\x00"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn errors_name_the_line() {
        assert_eq!(parse("config rule 'x\n").unwrap_err(), Error { line: 1, kind: ErrorKind::UnterminatedQuote });
        assert_eq!(parse("\n\noption a \"b\n").unwrap_err().line, 3);
        assert_eq!(parse("opton a b\n").unwrap_err().kind, ErrorKind::UnknownKeyword);
        assert_eq!(parse("option a\n").unwrap_err().kind, ErrorKind::MissingArgument);
        assert_eq!(parse("option a b c\n").unwrap_err().kind, ErrorKind::TooManyArguments);
        assert_eq!(parse("option a b c d e\n").unwrap_err().kind, ErrorKind::TooManyArguments);
        assert_eq!(parse("option a b\\").unwrap_err().kind, ErrorKind::UnterminatedQuote);
        let long = Word(b"abcdef");
        assert_eq!(long.unquote::<3>(), Err(ErrorKind::TooLong));
    }
}
