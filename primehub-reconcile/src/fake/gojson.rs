//! The messages of Go's `encoding/json` for malformed input, so an error the fake answers reads
//! exactly as kube-apiserver's (which decodes with Go's decoder and passes its message through).
//!
//! [`syntax_error`] follows the state machine of Go's scanner (`encoding/json/scanner.go`): the
//! first byte it refuses and the context it was in ("looking for beginning of value", "after
//! object key", …), or "unexpected end of JSON input". [`quote_byte`] is Go's `quoteChar`.

/// Go's `json.Valid` with its error: `None` for well-formed JSON, else the message Go's
/// `json.Unmarshal` returns (`invalid character 'x' looking for beginning of value`, …).
pub(crate) fn syntax_error(input: &[u8]) -> Option<String> {
    let mut scanner = Scanner { input, pos: 0 };
    let result = scanner.value().and_then(|()| {
        scanner.skip_space();
        match scanner.peek() {
            None => Ok(()),
            Some(c) => Err(invalid(c, "after top-level value")),
        }
    });
    result.err()
}

/// Go's `quoteChar`: a byte as it appears in a scanner error (`'x'`, `'\''`, `'"'`, `'\x00'`,
/// `'\u009e'`, `'é'`): the byte taken as a Latin-1 code point and quoted by `strconv.Quote`.
pub(crate) fn quote_byte(c: u8) -> String {
    match c {
        b'\'' => "'\\''".to_owned(),
        b'"' => "'\"'".to_owned(),
        _ => {
            let r = char::from(c);
            let inner = match r {
                '\u{7}' => "\\a".to_owned(),
                '\u{8}' => "\\b".to_owned(),
                '\u{c}' => "\\f".to_owned(),
                '\n' => "\\n".to_owned(),
                '\r' => "\\r".to_owned(),
                '\t' => "\\t".to_owned(),
                '\u{b}' => "\\v".to_owned(),
                '\\' => "\\\\".to_owned(),
                _ if c < 0x20 || c == 0x7f => format!("\\x{c:02x}"),
                // Go's IsPrint: C1 controls, the no-break space and the soft hyphen are not.
                _ if (0x80..=0xa0).contains(&c) || c == 0xad => format!("\\u{:04x}", u32::from(c)),
                _ => r.to_string(),
            };
            format!("'{inner}'")
        }
    }
}

fn invalid(c: u8, context: &str) -> String {
    format!("invalid character {} {context}", quote_byte(c))
}

const UNEXPECTED_END: &str = "unexpected end of JSON input";

struct Scanner<'a> {
    input: &'a [u8],
    pos: usize,
}

impl Scanner<'_> {
    fn peek(&self) -> Option<u8> {
        self.input.get(self.pos).copied()
    }

    /// The next byte, or Go's end-of-input error (where a space would be white space or part
    /// of a string, which is how Go's scanner ends the input).
    fn next(&mut self) -> Result<u8, String> {
        let c = self.peek().ok_or_else(|| UNEXPECTED_END.to_owned())?;
        self.pos += 1;
        Ok(c)
    }

    /// The next byte inside a literal, number or escape: at the end of the input Go's scanner
    /// steps with a space, so the error names `' '` (`invalid character ' ' in literal null
    /// (expecting 'l')`).
    fn next_strict(&mut self) -> u8 {
        match self.peek() {
            Some(c) => {
                self.pos += 1;
                c
            }
            None => b' ',
        }
    }

    fn skip_space(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\r' | b'\n')) {
            self.pos += 1;
        }
    }

    /// One value, leading white space included.
    fn value(&mut self) -> Result<(), String> {
        self.skip_space();
        let c = self.next()?;
        match c {
            b'{' => self.object(),
            b'[' => self.array(),
            b'"' => self.string(),
            b'-' => {
                let d = self.next_strict();
                if !d.is_ascii_digit() {
                    return Err(invalid(d, "in numeric literal"));
                }
                self.number(d)
            }
            b'0'..=b'9' => self.number(c),
            b't' => self.literal(b"rue", "true"),
            b'f' => self.literal(b"alse", "false"),
            b'n' => self.literal(b"ull", "null"),
            _ => Err(invalid(c, "looking for beginning of value")),
        }
    }

    fn object(&mut self) -> Result<(), String> {
        self.skip_space();
        let mut c = self.next()?;
        if c == b'}' {
            return Ok(());
        }
        loop {
            if c != b'"' {
                return Err(invalid(c, "looking for beginning of object key string"));
            }
            self.string()?;
            self.skip_space();
            let colon = self.next()?;
            if colon != b':' {
                return Err(invalid(colon, "after object key"));
            }
            self.value()?;
            self.skip_space();
            match self.next()? {
                b',' => {
                    self.skip_space();
                    c = self.next()?;
                }
                b'}' => return Ok(()),
                other => return Err(invalid(other, "after object key:value pair")),
            }
        }
    }

    fn array(&mut self) -> Result<(), String> {
        self.skip_space();
        if self.peek() == Some(b']') {
            self.pos += 1;
            return Ok(());
        }
        loop {
            self.value()?;
            self.skip_space();
            match self.next()? {
                b',' => {}
                b']' => return Ok(()),
                other => return Err(invalid(other, "after array element")),
            }
        }
    }

    /// The rest of a string, after its opening quote.
    fn string(&mut self) -> Result<(), String> {
        loop {
            match self.next()? {
                b'"' => return Ok(()),
                b'\\' => match self.next_strict() {
                    b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => {}
                    b'u' => {
                        for _ in 0..4 {
                            let h = self.next_strict();
                            if !h.is_ascii_hexdigit() {
                                return Err(invalid(h, "in \\u hexadecimal character escape"));
                            }
                        }
                    }
                    other => return Err(invalid(other, "in string escape code")),
                },
                c if c < 0x20 => return Err(invalid(c, "in string literal")),
                _ => {}
            }
        }
    }

    /// The rest of a number whose first digit was `first`; stops before the byte that ends it.
    fn number(&mut self, first: u8) -> Result<(), String> {
        if first != b'0' {
            while self.peek().is_some_and(|c| c.is_ascii_digit()) {
                self.pos += 1;
            }
        }
        if self.peek() == Some(b'.') {
            self.pos += 1;
            let d = self.next_strict();
            if !d.is_ascii_digit() {
                return Err(invalid(d, "after decimal point in numeric literal"));
            }
            while self.peek().is_some_and(|c| c.is_ascii_digit()) {
                self.pos += 1;
            }
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.pos += 1;
            let mut d = self.next_strict();
            if d == b'+' || d == b'-' {
                d = self.next_strict();
            }
            if !d.is_ascii_digit() {
                return Err(invalid(d, "in exponent of numeric literal"));
            }
            while self.peek().is_some_and(|c| c.is_ascii_digit()) {
                self.pos += 1;
            }
        }
        Ok(())
    }

    fn literal(&mut self, rest: &[u8], name: &str) -> Result<(), String> {
        for &expected in rest {
            let c = self.next_strict();
            if c != expected {
                return Err(invalid(
                    c,
                    &format!("in literal {name} (expecting {})", quote_byte(expected)),
                ));
            }
        }
        Ok(())
    }
}

/// The members of a top-level JSON object as raw byte spans `(key with its quotes, value)`, in
/// document order; `None` when `input` is not well-formed JSON or not an object (check
/// [`syntax_error`] first for the message).
pub(crate) fn object_members(input: &[u8]) -> Option<Vec<(&[u8], &[u8])>> {
    if syntax_error(input).is_some() {
        return None;
    }
    let mut scanner = Scanner { input, pos: 0 };
    scanner.skip_space();
    if scanner.next().ok()? != b'{' {
        return None;
    }
    let mut members = Vec::new();
    loop {
        scanner.skip_space();
        match scanner.next().ok()? {
            b'}' => return Some(members),
            b',' => continue,
            b'"' => {}
            _ => return None,
        }
        let key_start = scanner.pos - 1;
        scanner.string().ok()?;
        let key = input.get(key_start..scanner.pos)?;
        scanner.skip_space();
        scanner.next().ok()?; // the colon
        scanner.skip_space();
        let value_start = scanner.pos;
        scanner.value().ok()?;
        members.push((key, input.get(value_start..scanner.pos)?));
    }
}

/// Go's name for the JSON type of a raw value (`string`, `number`, `bool`, `array`, `object`,
/// `null`), by its first byte.
pub(crate) fn raw_type_name(raw: &[u8]) -> &'static str {
    match raw.first() {
        Some(b'"') => "string",
        Some(b'{') => "object",
        Some(b'[') => "array",
        Some(b't' | b'f') => "bool",
        Some(b'n') => "null",
        _ => "number",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn err(s: &str) -> Option<String> {
        syntax_error(s.as_bytes())
    }

    #[test]
    fn messages_as_go_prints_them() {
        // Each expectation is Go 1.24's json.Valid/Unmarshal message for the input.
        let cases: &[(&str, &str)] = &[
            ("", "unexpected end of JSON input"),
            ("   ", "unexpected end of JSON input"),
            ("x", "invalid character 'x' looking for beginning of value"),
            ("{\"a\":1", "unexpected end of JSON input"),
            ("{\"a\" 1}", "invalid character '1' after object key"),
            (
                "{\"a\":1 \"b\"}",
                "invalid character '\"' after object key:value pair",
            ),
            (
                "{a:1}",
                "invalid character 'a' looking for beginning of object key string",
            ),
            (
                "{\"a\":1,}",
                "invalid character '}' looking for beginning of object key string",
            ),
            ("[1 2]", "invalid character '2' after array element"),
            (
                "[1,]",
                "invalid character ']' looking for beginning of value",
            ),
            ("01", "invalid character '1' after top-level value"),
            ("-x", "invalid character 'x' in numeric literal"),
            (
                "1.x",
                "invalid character 'x' after decimal point in numeric literal",
            ),
            (
                "1ex",
                "invalid character 'x' in exponent of numeric literal",
            ),
            (
                "tru",
                "invalid character ' ' in literal true (expecting 'e')",
            ),
            (
                "nul",
                "invalid character ' ' in literal null (expecting 'l')",
            ),
            ("-", "invalid character ' ' in numeric literal"),
            (
                "1.",
                "invalid character ' ' after decimal point in numeric literal",
            ),
            (
                "1e+",
                "invalid character ' ' in exponent of numeric literal",
            ),
            ("\"a\\", "invalid character ' ' in string escape code"),
            (
                "\"\\u12",
                "invalid character ' ' in \\u hexadecimal character escape",
            ),
            ("\"abc", "unexpected end of JSON input"),
            ("[1", "unexpected end of JSON input"),
            ("{\"a\"", "unexpected end of JSON input"),
            (
                "trux",
                "invalid character 'x' in literal true (expecting 'e')",
            ),
            (
                "nul!",
                "invalid character '!' in literal null (expecting 'l')",
            ),
            (
                "fals3",
                "invalid character '3' in literal false (expecting 'e')",
            ),
            ("\"a\\x\"", "invalid character 'x' in string escape code"),
            (
                "\"\\u12g4\"",
                "invalid character 'g' in \\u hexadecimal character escape",
            ),
            ("\"a\nb\"", "invalid character '\\n' in string literal"),
            ("{} {}", "invalid character '{' after top-level value"),
            (
                "'",
                "invalid character '\\'' looking for beginning of value",
            ),
        ];
        for (input, expected) in cases {
            assert_eq!(err(input).as_deref(), Some(*expected), "input {input:?}");
        }
        for ok in [
            "{}",
            "[]",
            "0",
            "-0.5e+3",
            "\"\\u00e9\"",
            " {\"a\": [true, false, null]} ",
        ] {
            assert_eq!(err(ok), None, "input {ok:?}");
        }
    }

    #[test]
    fn bytes_quoted_as_go_quotes_them() {
        // Go: the byte read as a Latin-1 rune and quoted by strconv.Quote.
        assert_eq!(quote_byte(0x9e), "'\\u009e'");
        assert_eq!(quote_byte(0x00), "'\\x00'");
        assert_eq!(quote_byte(0x7f), "'\\x7f'");
        assert_eq!(quote_byte(0xa0), "'\\u00a0'");
        assert_eq!(quote_byte(0xad), "'\\u00ad'");
        assert_eq!(quote_byte(0xe9), "'é'");
        assert_eq!(quote_byte(b'\\'), "'\\\\'");
        assert_eq!(quote_byte(b'\t'), "'\\t'");
        assert_eq!(quote_byte(b'"'), "'\"'");
    }

    proptest! {
        /// The scanner accepts exactly what a JSON parser accepts (serde_json, whose grammar is
        /// RFC 8259's as Go's; serde_json also refuses lone surrogates, which Go and the
        /// scanner accept, so those inputs are left out).
        #[test]
        fn agrees_with_a_json_parser(input in "[\\[\\]{}:,\" a0-9.eE+\\-tfnrulsx\\\\]{0,12}") {
            prop_assume!(!input.contains("\\u"));
            let ours = syntax_error(input.as_bytes()).is_none();
            let serde = serde_json::from_str::<serde::de::IgnoredAny>(&input).is_ok();
            prop_assert_eq!(ours, serde, "input {:?}", input);
        }

        /// Any serialized value is well-formed.
        #[test]
        fn serialized_values_are_valid(s in ".{0,20}", n in any::<i64>(), b in any::<bool>()) {
            let value = serde_json::json!({"s": s, "n": n, "b": b, "a": [n, s]});
            let text = serde_json::to_string(&value).unwrap_or_default();
            prop_assert_eq!(syntax_error(text.as_bytes()), None);
        }
    }
}
