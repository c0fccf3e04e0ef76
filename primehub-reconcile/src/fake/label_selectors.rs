//! Label selector syntax errors worded as kube-apiserver words them.
//!
//! A port of the lexer and parser of k8s.io/apimachinery/pkg/labels/selector.go (v1.37: `Lexer`,
//! `Parser.parse`, `NewRequirement`), used only to refuse what kube-apiserver refuses with its
//! message (400); matching stays with [`crate::selector::LabelSelector`].

use crate::error::KubeError;

use super::metadata_validation::{label_value, qualified_name};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Token {
    Error,
    End,
    ClosedPar,
    Comma,
    DoesNotExist,
    DoubleEquals,
    Equals,
    GreaterThan,
    Identifier,
    In,
    LessThan,
    NotEquals,
    NotIn,
    OpenPar,
}

fn literal_token(s: &str) -> Option<Token> {
    Some(match s {
        ")" => Token::ClosedPar,
        "," => Token::Comma,
        "!" => Token::DoesNotExist,
        "==" => Token::DoubleEquals,
        "=" => Token::Equals,
        ">" => Token::GreaterThan,
        "in" => Token::In,
        "<" => Token::LessThan,
        "!=" => Token::NotEquals,
        "notin" => Token::NotIn,
        "(" => Token::OpenPar,
        _ => return None,
    })
}

fn is_whitespace(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

fn is_special(b: u8) -> bool {
    matches!(b, b'=' | b'!' | b'(' | b')' | b',' | b'>' | b'<')
}

/// The lexer's tokens with their literals, ending with `End`.
fn scan(text: &str) -> Vec<(Token, String)> {
    let bytes = text.as_bytes();
    let mut pos = 0;
    let mut out = Vec::new();
    loop {
        while pos < bytes.len() && is_whitespace(bytes[pos]) {
            pos += 1;
        }
        let Some(&first) = bytes.get(pos) else {
            out.push((Token::End, String::new()));
            return out;
        };
        if is_special(first) {
            // The longest run of special symbols that is a token (`scanSpecialSymbol`).
            let start = pos;
            let mut last: Option<(Token, usize)> = None;
            while pos < bytes.len() && is_special(bytes[pos]) {
                let candidate = String::from_utf8_lossy(&bytes[start..=pos]).into_owned();
                if let Some(token) = literal_token(&candidate) {
                    last = Some((token, pos + 1));
                } else if last.is_some() {
                    break;
                }
                pos += 1;
            }
            match last {
                Some((token, end)) => {
                    pos = end;
                    out.push((
                        token,
                        String::from_utf8_lossy(&bytes[start..end]).into_owned(),
                    ));
                }
                None => {
                    let buffer = String::from_utf8_lossy(&bytes[start..pos]).into_owned();
                    out.push((
                        Token::Error,
                        format!("error expected: keyword found '{buffer}'"),
                    ));
                }
            }
        } else {
            let start = pos;
            while pos < bytes.len() && !is_special(bytes[pos]) && !is_whitespace(bytes[pos]) {
                pos += 1;
            }
            let word = String::from_utf8_lossy(&bytes[start..pos]).into_owned();
            let token = literal_token(&word).unwrap_or(Token::Identifier);
            out.push((token, word));
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Context {
    KeyAndOperator,
    Values,
}

struct Parser {
    items: Vec<(Token, String)>,
    position: usize,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Op {
    Exists,
    DoesNotExist,
    In,
    NotIn,
    Exact,
    GreaterOrLess,
}

const BINARY_OPERATORS: &str = "in, notin, =, ==, !=, gt, lt";

impl Parser {
    fn item(&self, index: usize, context: Context) -> (Token, String) {
        let (token, literal) = self
            .items
            .get(index)
            .cloned()
            .unwrap_or((Token::End, String::new()));
        match token {
            Token::In | Token::NotIn if context == Context::Values => (Token::Identifier, literal),
            _ => (token, literal),
        }
    }

    fn lookahead(&self, context: Context) -> (Token, String) {
        self.item(self.position, context)
    }

    fn consume(&mut self, context: Context) -> (Token, String) {
        self.position += 1;
        self.item(self.position - 1, context)
    }

    fn parse(&mut self) -> Result<(), String> {
        loop {
            let (token, literal) = self.lookahead(Context::Values);
            match token {
                Token::Identifier | Token::DoesNotExist => {
                    self.requirement()
                        .map_err(|e| format!("unable to parse requirement: {e}"))?;
                    let (t, l) = self.consume(Context::Values);
                    match t {
                        Token::End => return Ok(()),
                        Token::Comma => {
                            let (t2, l2) = self.lookahead(Context::Values);
                            if t2 != Token::Identifier && t2 != Token::DoesNotExist {
                                return Err(format!(
                                    "found '{l2}', expected: identifier after ','"
                                ));
                            }
                        }
                        _ => return Err(format!("found '{l}', expected: ',' or 'end of string'")),
                    }
                }
                Token::End => return Ok(()),
                _ => {
                    return Err(format!(
                        "found '{literal}', expected: !, identifier, or 'end of string'"
                    ));
                }
            }
        }
    }

    fn requirement(&mut self) -> Result<(), String> {
        let (key, op) = self.key_and_inferred_operator()?;
        if matches!(op, Some(Op::Exists | Op::DoesNotExist)) {
            return new_requirement(&key, Op::Exists, &[]);
        }
        let op = self.operator()?;
        let values = match op {
            Op::In | Op::NotIn => self.values()?,
            _ => self.exact_value()?,
        };
        new_requirement(&key, op, &values)
    }

    fn key_and_inferred_operator(&mut self) -> Result<(String, Option<Op>), String> {
        let mut op = None;
        let (mut token, mut literal) = self.consume(Context::Values);
        if token == Token::DoesNotExist {
            op = Some(Op::DoesNotExist);
            (token, literal) = self.consume(Context::Values);
        }
        if token != Token::Identifier {
            return Err(format!("found '{literal}', expected: identifier"));
        }
        let errors = qualified_name(&literal);
        if !errors.is_empty() {
            return Err(format!(
                "<nil>: Invalid value: {literal:?}: {}",
                errors.join("; ")
            ));
        }
        let (next, _) = self.lookahead(Context::Values);
        if matches!(next, Token::End | Token::Comma) && op.is_none() {
            op = Some(Op::Exists);
        }
        Ok((literal, op))
    }

    fn operator(&mut self) -> Result<Op, String> {
        let (token, literal) = self.consume(Context::KeyAndOperator);
        Ok(match token {
            Token::In => Op::In,
            Token::NotIn => Op::NotIn,
            Token::Equals | Token::DoubleEquals | Token::NotEquals => Op::Exact,
            Token::GreaterThan | Token::LessThan => Op::GreaterOrLess,
            _ => return Err(format!("found '{literal}', expected: {BINARY_OPERATORS}")),
        })
    }

    fn values(&mut self) -> Result<Vec<String>, String> {
        let (token, literal) = self.consume(Context::Values);
        if token != Token::OpenPar {
            return Err(format!("found '{literal}' expected: '('"));
        }
        let (token, literal) = self.lookahead(Context::Values);
        match token {
            Token::Identifier | Token::Comma => {
                let values = self.identifiers()?;
                if self.consume(Context::Values).0 != Token::ClosedPar {
                    return Err(format!("found '{literal}', expected: ')'"));
                }
                Ok(values)
            }
            Token::ClosedPar => {
                self.consume(Context::Values);
                Ok(vec![String::new()])
            }
            _ => Err(format!(
                "found '{literal}', expected: ',', ')' or identifier"
            )),
        }
    }

    fn identifiers(&mut self) -> Result<Vec<String>, String> {
        let mut set = std::collections::BTreeSet::new();
        loop {
            let (token, literal) = self.consume(Context::Values);
            match token {
                Token::Identifier => {
                    set.insert(literal);
                    let (t2, l2) = self.lookahead(Context::Values);
                    match t2 {
                        Token::Comma => {}
                        Token::ClosedPar => return Ok(set.into_iter().collect()),
                        _ => return Err(format!("found '{l2}', expected: ',' or ')'")),
                    }
                }
                Token::Comma => {
                    if set.is_empty() {
                        set.insert(String::new());
                    }
                    match self.lookahead(Context::Values).0 {
                        Token::ClosedPar => {
                            set.insert(String::new());
                            return Ok(set.into_iter().collect());
                        }
                        Token::Comma => {
                            set.insert(String::new());
                        }
                        _ => {}
                    }
                }
                _ => return Err(format!("found '{literal}', expected: ',', or identifier")),
            }
        }
    }

    fn exact_value(&mut self) -> Result<Vec<String>, String> {
        if matches!(self.lookahead(Context::Values).0, Token::End | Token::Comma) {
            return Ok(vec![String::new()]);
        }
        let (token, literal) = self.consume(Context::Values);
        if token == Token::Identifier {
            Ok(vec![literal])
        } else {
            Err(format!("found '{literal}', expected: identifier"))
        }
    }
}

/// `NewRequirement`'s checks (the key was checked by the parser already), joined as Go's
/// aggregate error joins them.
fn new_requirement(key: &str, op: Op, values: &[String]) -> Result<(), String> {
    let mut errors: Vec<String> = Vec::new();
    let key_errors = qualified_name(key);
    if !key_errors.is_empty() {
        errors.push(format!(
            "key: Invalid value: {key:?}: {}",
            key_errors.join("; ")
        ));
    }
    let list = serde_json::to_string(values).unwrap_or_default();
    match op {
        Op::In | Op::NotIn if values.is_empty() => errors.push(format!(
            "values: Invalid value: {list}: for 'in', 'notin' operators, values set can't be empty"
        )),
        Op::Exact if values.len() != 1 => errors.push(format!(
            "values: Invalid value: {list}: exact-match compatibility requires one single value"
        )),
        Op::GreaterOrLess => {
            if values.len() != 1 {
                errors.push(format!(
                    "values: Invalid value: {list}: for 'Gt', 'Lt' operators, exactly one value is required"
                ));
            }
            for (i, v) in values.iter().enumerate() {
                if v.parse::<i64>().is_err() {
                    errors.push(format!(
                        "values[{i}]: Invalid value: {v:?}: for 'Gt', 'Lt' operators, the value must be an integer"
                    ));
                }
            }
        }
        _ => {}
    }
    for (i, v) in values.iter().enumerate() {
        let value_errors = label_value(v);
        if !value_errors.is_empty() {
            errors.push(format!(
                "values[{i}][{key}]: Invalid value: {v:?}: {}",
                value_errors.join("; ")
            ));
        }
    }
    let mut unique: Vec<String> = Vec::new();
    for e in errors {
        if !unique.contains(&e) {
            unique.push(e);
        }
    }
    match unique.as_slice() {
        [] => Ok(()),
        [one] => Err(one.clone()),
        many => Err(format!("[{}]", many.join(", "))),
    }
}

/// Refuses a label selector kube-apiserver refuses, with its 400 message.
pub(crate) fn validate(text: &str) -> Result<(), KubeError> {
    let mut parser = Parser {
        items: scan(text),
        position: 0,
    };
    parser
        .parse()
        .map_err(|message| KubeError::BadRequest { message })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn message(text: &str) -> String {
        match validate(text) {
            Err(KubeError::BadRequest { message }) => message,
            other => panic!("{text:?}: not refused: {other:?}"),
        }
    }

    /// Each answer below is what a v1.37 kube-apiserver answered for the selector.
    #[test]
    fn refusals_are_worded_as_kube_apiserver_words_them() {
        for (selector, expected) in [
            (
                "a in (b",
                "unable to parse requirement: found '', expected: ',' or ')'",
            ),
            ("a==b=c", "found '=', expected: ',' or 'end of string'"),
            (
                "!",
                "unable to parse requirement: found '', expected: identifier",
            ),
            (
                "a notin",
                "unable to parse requirement: found '' expected: '('",
            ),
            ("a=b c", "found 'c', expected: ',' or 'end of string'"),
            (
                "a>x",
                "unable to parse requirement: values[0]: Invalid value: \"x\": for 'Gt', 'Lt' operators, the value must be an integer",
            ),
            (
                "bad key=v",
                "unable to parse requirement: found 'key', expected: in, notin, =, ==, !=, gt, lt",
            ),
            ("a,,b", "found ',', expected: identifier after ','"),
            ("!a=b", "found '=', expected: ',' or 'end of string'"),
            ("a=v!", "found '!', expected: ',' or 'end of string'"),
            (
                "x/y/z",
                "unable to parse requirement: <nil>: Invalid value: \"x/y/z\": a valid label key must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')",
            ),
        ] {
            assert_eq!(message(selector), expected, "{selector}");
        }
        for accepted in [
            "a>1",
            "a=",
            "a in ()",
            "",
            "  ",
            "a,!b,c in (x,,y),d notin (e)",
            "x in (in)",
        ] {
            assert!(validate(accepted).is_ok(), "{accepted}");
        }
    }

    proptest! {
        /// Never panics, whatever the text.
        #[test]
        fn validate_never_panics(text in "\\PC{0,40}") {
            let _ = validate(&text);
        }

        /// Selectors the crate's own printer writes are accepted.
        #[test]
        fn simple_equality_selectors_pass(
            key in "[a-z]([-a-z0-9.]{0,10}[a-z0-9])?",
            value in "([A-Za-z0-9]([-A-Za-z0-9_.]{0,10}[A-Za-z0-9])?)?",
        ) {
            let equality = format!("{key}={value}");
            let set = format!("{key} in ({value}),!{key}");
            prop_assert!(validate(&equality).is_ok());
            prop_assert!(validate(&set).is_ok());
        }
    }
}
