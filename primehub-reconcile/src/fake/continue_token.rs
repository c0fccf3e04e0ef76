//! List continue tokens in kube-apiserver's format, with its error messages.
//!
//! A token is `base64url-raw({"v":"meta.k8s.io/v1","rv":<resourceVersion>,"start":"<key>"})`,
//! where `<key>` is the storage key of the next object relative to the list's prefix: `/<name>\0`
//! for a list in one namespace or of a cluster-scoped kind, `/<namespace>/<name>\0` for a list
//! across namespaces (the `\0` makes the key the first one after the last object served). A
//! client may read or forge one, so decoding checks it exactly as kube-apiserver's storage
//! does, and the messages are its messages (`continue key is not valid: …`).
//!
//! The fake's pages are not snapshots: the `rv` of a token is checked but not used to read an
//! older state (documented in the module's differences).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use super::gojson;

/// kube-apiserver's prefix of every continue-key error.
const INVALID: &str = "continue key is not valid";

/// The token that continues a list after `key` (`name`, or `namespace/name` across namespaces).
pub(crate) fn encode(resource_version: u64, key: &str) -> String {
    let start = serde_json::to_string(&format!("/{key}\u{0}")).unwrap_or_default();
    let json = format!(r#"{{"v":"meta.k8s.io/v1","rv":{resource_version},"start":{start}}}"#);
    URL_SAFE_NO_PAD.encode(json)
}

/// The start key of a token (relative to the list's prefix, without its leading `/`: objects
/// whose key is `>=` it are served), or kube-apiserver's message for a token it refuses.
pub(crate) fn decode(token: &str) -> Result<String, String> {
    let data = decode_base64(token).map_err(|e| format!("{INVALID}: {e}"))?;
    let decoded = decode_json(&data).map_err(|e| format!("{INVALID}: {e}"))?;
    match decoded.version.as_str() {
        "meta.k8s.io/v1" => {
            if decoded.rv == 0 {
                return Err(format!(
                    "{INVALID}: incorrect encoded start resourceVersion (version meta.k8s.io/v1)"
                ));
            }
            if decoded.start.is_empty() {
                return Err(format!(
                    "{INVALID}: encoded start key empty (version meta.k8s.io/v1)"
                ));
            }
            let key = if decoded.start.starts_with('/') {
                decoded.start.clone()
            } else {
                format!("/{}", decoded.start)
            };
            if clean_path(&key) != key {
                return Err(format!("{INVALID}: {}", decoded.start));
            }
            Ok(key[1..].to_owned())
        }
        other => Err(format!(
            "{INVALID}: server does not recognize this encoded version {other}"
        )),
    }
}

/// Go's `base64.RawURLEncoding.DecodeString` with its `illegal base64 data at input byte N`.
fn decode_base64(token: &str) -> Result<Vec<u8>, String> {
    let illegal = |at: usize| format!("illegal base64 data at input byte {at}");
    if let Some(at) = token
        .bytes()
        .position(|c| !(c.is_ascii_alphanumeric() || c == b'-' || c == b'_'))
    {
        return Err(illegal(at));
    }
    if token.len() % 4 == 1 {
        return Err(illegal(token.len() - 1));
    }
    // Go ignores the unused low bits of the last character; the base64 crate refuses them.
    let mut padded = token.as_bytes().to_vec();
    if let Some(last) = padded.last_mut() {
        let mask: u8 = match token.len() % 4 {
            2 => 0b11_0000,
            3 => 0b11_1100,
            _ => 0b11_1111,
        };
        let value = sextet(*last) & mask;
        *last = ALPHABET[usize::from(value)];
    }
    URL_SAFE_NO_PAD.decode(&padded).map_err(|e| e.to_string())
}

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

fn sextet(c: u8) -> u8 {
    ALPHABET
        .iter()
        .position(|a| *a == c)
        .and_then(|p| u8::try_from(p).ok())
        .unwrap_or(0)
}

/// kube-apiserver's `continueToken` struct, as Go's `json.Unmarshal` fills it.
#[derive(Debug, Default)]
struct Decoded {
    version: String,
    rv: i64,
    start: String,
}

/// Go's `json.Unmarshal(data, &continueToken{})`: syntax errors first, then the first type
/// error (Go keeps decoding after one and reports the first); unknown keys are ignored, keys
/// match their field case-insensitively, a `null` leaves a field as it is.
fn decode_json(data: &[u8]) -> Result<Decoded, String> {
    if let Some(e) = gojson::syntax_error(data) {
        return Err(e);
    }
    let mut decoded = Decoded::default();
    let Some(members) = gojson::object_members(data) else {
        // Well-formed but not an object: null decodes to nothing, the rest is a type error.
        let trimmed = data.trim_ascii();
        return match gojson::raw_type_name(trimmed) {
            "null" => Ok(decoded),
            other => Err(format!(
                "json: cannot unmarshal {other} into Go value of type storage.continueToken"
            )),
        };
    };
    let mut first_error = None;
    for (key, value) in members {
        let Ok(key) = serde_json::from_slice::<String>(key) else {
            continue;
        };
        let field = match fold(&key).as_str() {
            "v" => "v",
            "rv" => "rv",
            "start" => "start",
            _ => continue,
        };
        let kind = gojson::raw_type_name(value);
        if kind == "null" {
            continue;
        }
        let result = match (field, kind) {
            ("rv", "number") => {
                let literal = String::from_utf8_lossy(value);
                literal
                    .parse::<i64>()
                    .map(|rv| decoded.rv = rv)
                    .map_err(|_| format!("number {literal}"))
            }
            ("v" | "start", "string") => match serde_json::from_slice::<String>(value) {
                Ok(text) if field == "v" => {
                    decoded.version = text;
                    Ok(())
                }
                Ok(text) => {
                    decoded.start = text;
                    Ok(())
                }
                Err(_) => Ok(()),
            },
            (_, other) => Err(other.to_owned()),
        };
        if let Err(found) = result {
            let go_type = if field == "rv" { "int64" } else { "string" };
            first_error.get_or_insert(format!(
                "json: cannot unmarshal {found} into Go struct field continueToken.{field} of type {go_type}"
            ));
        }
    }
    match first_error {
        Some(e) => Err(e),
        None => Ok(decoded),
    }
}

/// Go's case folding of JSON keys (`strings.EqualFold`'s simple folding, with the long s and
/// the Kelvin sign that fold to ASCII letters).
fn fold(key: &str) -> String {
    key.chars()
        .map(|c| match c {
            'ſ' => 's',
            'K' => 'k',
            c => c.to_ascii_lowercase(),
        })
        .collect()
}

/// Go's `path.Clean` for an absolute path: `.` and `..` resolved, repeated and trailing slashes
/// removed.
fn clean_path(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            p => parts.push(p),
        }
    }
    format!("/{}", parts.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn b64(json: &str) -> String {
        URL_SAFE_NO_PAD.encode(json)
    }

    #[test]
    fn tokens_are_kube_apiservers() {
        // A token kube-apiserver v1.37.2 answered for `configmaps?limit=1` in namespace ct-probe.
        assert_eq!(
            encode(243, "c1"),
            "eyJ2IjoibWV0YS5rOHMuaW8vdjEiLCJydiI6MjQzLCJzdGFydCI6Ii9jMVx1MDAwMCJ9"
        );
        assert_eq!(decode(&encode(5, "ns/a")).as_deref(), Ok("ns/a\u{0}"));
    }

    #[test]
    fn refusals_read_as_kube_apiservers() {
        // Each message is what kube-apiserver v1.37.2 answered for the token (after
        // "invalid continue token: ").
        let cases: Vec<(String, &str)> = vec![
            (
                "not-a-token".into(),
                "continue key is not valid: invalid character '\\u009e' looking for beginning of value",
            ),
            (
                "abcde".into(),
                "continue key is not valid: illegal base64 data at input byte 4",
            ),
            (
                "ab=c".into(),
                "continue key is not valid: illegal base64 data at input byte 2",
            ),
            (
                "a.b".into(),
                "continue key is not valid: illegal base64 data at input byte 1",
            ),
            (
                b64(r#"{"v":"meta.k8s.io/v1","rv":0,"start":"/a"}"#),
                "continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)",
            ),
            (
                b64(r#"{"v":"meta.k8s.io/v1","rv":3,"start":""}"#),
                "continue key is not valid: encoded start key empty (version meta.k8s.io/v1)",
            ),
            (
                b64(r#"{"v":"meta.k8s.io/v1","rv":3,"start":"/a/../b"}"#),
                "continue key is not valid: /a/../b",
            ),
            (
                b64(r#"{"v":"zz","rv":3,"start":"/a"}"#),
                "continue key is not valid: server does not recognize this encoded version zz",
            ),
            (
                b64(r#"{"v":"meta.k8s.io/v1","rv":"3","start":"/a"}"#),
                "continue key is not valid: json: cannot unmarshal string into Go struct field continueToken.rv of type int64",
            ),
            (
                b64(r#"{"v":"meta.k8s.io/v1","rv":3,"start":"/a""#),
                "continue key is not valid: unexpected end of JSON input",
            ),
            (
                b64("[1]"),
                "continue key is not valid: json: cannot unmarshal array into Go value of type storage.continueToken",
            ),
        ];
        for (token, expected) in cases {
            assert_eq!(decode(&token), Err(expected.to_owned()), "token {token}");
        }
    }

    #[test]
    fn go_decoding_details() {
        // Keys fold, unknown keys are ignored, null leaves a field alone, the first type
        // error wins, a fraction is not an int64.
        assert_eq!(
            decode(&b64(
                r#"{"V":"meta.k8s.io/v1","RV":7,"Start":"/x","other":[1]}"#
            ))
            .as_deref(),
            Ok("x")
        );
        assert_eq!(
            decode(&b64(r#"{"v":"meta.k8s.io/v1","rv":3.5,"start":1}"#)),
            Err("continue key is not valid: json: cannot unmarshal number 3.5 into Go struct field continueToken.rv of type int64".into())
        );
        assert_eq!(
            decode(&b64(r#"{"v":null,"rv":1,"start":"/a"}"#)),
            Err(
                "continue key is not valid: server does not recognize this encoded version ".into()
            )
        );
        assert_eq!(
            decode(&b64(r#"{"v":"meta.k8s.io/v1","rv":-5,"start":"a"}"#)).as_deref(),
            Ok("a")
        );
        // Go ignores the unused bits of the last character.
        let key = ["a", "ab", "abc"]
            .into_iter()
            .find(|k| !encode(9, k).len().is_multiple_of(4))
            .unwrap_or("a");
        let token = encode(9, key);
        assert_ne!(token.len() % 4, 0);
        let mut bent = token.clone().into_bytes();
        if let Some(last) = bent.last_mut() {
            *last = ALPHABET[usize::from(sextet(*last) | 0b11)];
        }
        let bent = String::from_utf8(bent).unwrap_or_default();
        assert_ne!(bent, token);
        assert_eq!(decode(&bent), Ok(format!("{key}\u{0}")));
    }

    proptest! {
        /// Every token we hand out decodes to the key it continues after.
        #[test]
        fn round_trip(rv in 1u64..u64::from(u32::MAX), key in "[a-z0-9]([a-z0-9-]{0,20}/)?[a-z0-9.-]{1,30}") {
            prop_assert_eq!(decode(&encode(rv, &key)), Ok(format!("{key}\u{0}")));
        }

        /// Arbitrary text never panics and is refused or accepted with a message.
        #[test]
        fn garbage_is_answered(token in ".{0,40}") {
            let _ = decode(&token);
        }
    }
}
