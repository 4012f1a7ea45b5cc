//! The OneTouch callback signature (spec §4.3), framework-free.
//!
//! ```text
//! signature = base64(HMAC-SHA256(api_key, NONCE "|" METHOD "|" URL "|" PARAMS))
//! ```
//!
//! `PARAMS` is the canonical form of the callback's parameters: flattened to
//! bracket keys, percent-encoded, sorted in byte order with array elements
//! kept in their own order, and joined with `&`. The same code signs (the
//! simulator) and verifies (the webhook), so the two cannot drift apart.
//!
//! ```
//! use tower_authy::{Secret, webhook::signature::{sign, verify}};
//! use serde_json::json;
//!
//! let key = Secret::new("foobar123");
//! let url = "https://api.authy.com/dashboard/json/application/webhooks";
//! let params = json!({"b": "val|ue&2", "a": "value1"});
//! let signature = sign(&key, "1427849783.886085", "POST", url, &params)?;
//! assert_eq!(signature, "4f9676D/+BzsEq8NzF0fXpv7qETnzJUW/4YGe7p0EPM=");
//! assert!(verify(&key, "1427849783.886085", "POST", url, &params, &signature).is_ok());
//! assert!(verify(&key, "1427849783.886086", "POST", url, &params, &signature).is_err());
//! # Ok::<(), tower_authy::webhook::signature::SignatureError>(())
//! ```

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use hmac::{Hmac, KeyInit, Mac};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde_json::Value;
use sha2::Sha256;

use crate::Secret;
use crate::params::{self, ParamsError};

type HmacSha256 = Hmac<Sha256>;

/// Everything but `A–Z a–z 0–9 - _ . ~` is escaped (space is escaped here and
/// turned into `+` afterwards).
const ENCODE_SET: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// Why a signature was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SignatureError {
    /// The signature header is absent or empty.
    #[error("the request carries no X-Authy-Signature")]
    MissingSignature,
    /// The nonce header is absent or empty.
    #[error("the request carries no X-Authy-Signature-Nonce")]
    MissingNonce,
    /// The signature is not a base64 HMAC-SHA256 value.
    #[error("the signature is not a base64-encoded HMAC-SHA256")]
    MalformedSignature,
    /// The signature does not match the request.
    #[error("the signature does not match the request")]
    Mismatch,
    /// The parameters could not be put in canonical form.
    #[error("the callback parameters cannot be canonicalised: {0}")]
    Params(#[from] ParamsError),
}

/// The canonical parameter string of spec §4.3 for a JSON body or a parameter
/// tree built by [`params_from_query`].
pub fn canonical_params(params: &Value) -> Result<String, ParamsError> {
    let Value::Object(map) = params else {
        return Err(ParamsError::NotAnObject);
    };
    let mut pairs = Vec::new();
    for (key, value) in map {
        flatten(&encode(key), &encode(key), value, &mut pairs);
    }
    pairs.sort_unstable_by(|a, b| a.sort_key.cmp(&b.sort_key));
    Ok(pairs
        .into_iter()
        .map(|pair| pair.text)
        .collect::<Vec<_>>()
        .join("&"))
}

/// A `key=value` pair and the string it sorts by: the same text, but with each
/// array position written as a zero-padded index so that elements keep their
/// order (`%5B%5D` alone would sort elements by content).
struct Pair {
    sort_key: String,
    text: String,
}

fn flatten(key: &str, sort_key: &str, value: &Value, out: &mut Vec<Pair>) {
    let leaf = |text: String| Pair {
        sort_key: format!("{sort_key}={text}"),
        text: format!("{key}={text}"),
    };
    match value {
        Value::Object(map) => {
            for (child, value) in map {
                let child = format!("%5B{}%5D", encode(child));
                flatten(
                    &format!("{key}{child}"),
                    &format!("{sort_key}{child}"),
                    value,
                    out,
                );
            }
        }
        Value::Array(items) => {
            for (index, value) in items.iter().enumerate() {
                flatten(
                    &format!("{key}%5B%5D"),
                    &format!("{sort_key}%5B{index:020}%5D"),
                    value,
                    out,
                );
            }
        }
        Value::Null => out.push(leaf(String::new())),
        Value::Bool(b) => out.push(leaf(b.to_string())),
        Value::Number(n) => out.push(leaf(n.to_string())),
        Value::String(s) => out.push(leaf(encode(s))),
    }
}

fn encode(text: &str) -> String {
    // A literal `%` is escaped to `%25`, so `%20` can only come from a space.
    utf8_percent_encode(text, ENCODE_SET)
        .to_string()
        .replace("%20", "+")
}

/// Parses a received callback query string (GET callbacks) into the parameter
/// tree that [`canonical_params`] signs.
pub fn params_from_query(query: &str) -> Result<Value, ParamsError> {
    params::from_urlencoded(query.as_bytes())
}

/// The exact text that is signed: `NONCE|METHOD|URL|PARAMS`. The URL loses any
/// query string or fragment; everything else is used verbatim.
pub fn string_to_sign(
    nonce: &str,
    method: &str,
    url: &str,
    params: &Value,
) -> Result<String, ParamsError> {
    let url = url.split(['?', '#']).next().unwrap_or(url);
    let method = method.to_ascii_uppercase();
    Ok(format!(
        "{nonce}|{method}|{url}|{}",
        canonical_params(params)?
    ))
}

fn mac(key: &Secret, data: &str) -> HmacSha256 {
    let mut mac =
        HmacSha256::new_from_slice(key.expose()).expect("HMAC accepts keys of any length");
    mac.update(data.as_bytes());
    mac
}

/// Signs a callback as Authy does, returning the `X-Authy-Signature` value.
pub fn sign(
    key: &Secret,
    nonce: &str,
    method: &str,
    url: &str,
    params: &Value,
) -> Result<String, SignatureError> {
    let data = string_to_sign(nonce, method, url, params)?;
    Ok(BASE64.encode(mac(key, &data).finalize().into_bytes()))
}

/// Checks an `X-Authy-Signature` in constant time. It says only whether the
/// signature matches; freshness and replay are the caller's to check.
pub fn verify(
    key: &Secret,
    nonce: &str,
    method: &str,
    url: &str,
    params: &Value,
    signature: &str,
) -> Result<(), SignatureError> {
    if signature.trim().is_empty() {
        return Err(SignatureError::MissingSignature);
    }
    if nonce.trim().is_empty() {
        return Err(SignatureError::MissingNonce);
    }
    let presented = BASE64
        .decode(signature.trim())
        .map_err(|_| SignatureError::MalformedSignature)?;
    if presented.len() != 32 {
        return Err(SignatureError::MalformedSignature);
    }
    let data = string_to_sign(nonce, method, url, params)?;
    mac(key, &data)
        .verify_slice(&presented)
        .map_err(|_| SignatureError::Mismatch)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The shared vectors (spec §4.6 and those of public library tests).
    fn vectors() -> Vec<Value> {
        let file: Value = serde_json::from_str(include_str!(
            "../../tests/data/onetouch-signature-vectors.json"
        ))
        .unwrap();
        let mut all = file["vectors"].as_array().unwrap().clone();
        all.extend(
            file["reference_vectors_from_public_library_tests"]
                .as_array()
                .unwrap()
                .iter()
                .cloned(),
        );
        all
    }

    fn vector_params(vector: &Value) -> Value {
        if let Some(params) = vector.get("params") {
            params.clone()
        } else if let Some(body) = vector.get("raw_json_body") {
            serde_json::from_str(body.as_str().unwrap()).unwrap()
        } else {
            params_from_query(vector["raw_query_string"].as_str().unwrap()).unwrap()
        }
    }

    #[test]
    fn reproduces_every_shared_vector() {
        let vectors = vectors();
        assert_eq!(
            vectors.len(),
            11,
            "all vectors of the spec file are checked"
        );
        for vector in &vectors {
            let name = vector
                .get("name")
                .or(vector.get("source"))
                .unwrap()
                .as_str()
                .unwrap();
            let key = Secret::new(vector["api_key"].as_str().unwrap());
            let nonce = vector["nonce"].as_str().unwrap();
            let method = vector["method"].as_str().unwrap();
            let url = vector["url"].as_str().unwrap();
            let params = vector_params(vector);
            if let Some(canonical) = vector.get("canonical_params") {
                assert_eq!(
                    canonical_params(&params).unwrap(),
                    canonical.as_str().unwrap(),
                    "{name}"
                );
            }
            if let Some(raw) = vector.get("raw_query_string") {
                // Authy's GET query is already canonical: rebuilding it must give it back.
                assert_eq!(
                    canonical_params(&params).unwrap(),
                    raw.as_str().unwrap(),
                    "{name}"
                );
            }
            if let Some(text) = vector.get("string_to_sign") {
                assert_eq!(
                    string_to_sign(nonce, method, url, &params).unwrap(),
                    text.as_str().unwrap(),
                    "{name}"
                );
            }
            let expected = vector["expected_signature"].as_str().unwrap();
            assert_eq!(
                sign(&key, nonce, method, url, &params).unwrap(),
                expected,
                "{name}"
            );
            assert_eq!(
                verify(&key, nonce, method, url, &params, expected),
                Ok(()),
                "{name}"
            );
        }
    }

    #[test]
    fn any_change_breaks_the_signature() {
        for vector in vectors() {
            let key = Secret::new(vector["api_key"].as_str().unwrap());
            let nonce = vector["nonce"].as_str().unwrap();
            let method = vector["method"].as_str().unwrap();
            let url = vector["url"].as_str().unwrap();
            let params = vector_params(&vector);
            let good = vector["expected_signature"].as_str().unwrap();
            let other_method = if method == "GET" { "POST" } else { "GET" };
            let mut tampered = params.clone();
            tampered["status"] = json!("tampered");
            let wrong_key = Secret::new(format!("{}x", vector["api_key"].as_str().unwrap()));
            let nonce_plus_one = format!("{nonce}1");
            let with_slash = format!("{url}/");
            let cases = [
                verify(&wrong_key, nonce, method, url, &params, good),
                verify(&key, &nonce_plus_one, method, url, &params, good),
                verify(&key, nonce, other_method, url, &params, good),
                verify(&key, nonce, method, &with_slash, &params, good),
                verify(&key, nonce, method, url, &tampered, good),
            ];
            for case in cases {
                assert_eq!(case, Err(SignatureError::Mismatch));
            }
        }
    }

    #[test]
    fn malformed_inputs_are_named() {
        let key = Secret::new("k");
        let params = json!({"a": "b"});
        assert_eq!(
            verify(&key, "1", "POST", "https://x/", &params, ""),
            Err(SignatureError::MissingSignature)
        );
        assert_eq!(
            verify(&key, "", "POST", "https://x/", &params, "AAAA"),
            Err(SignatureError::MissingNonce)
        );
        assert_eq!(
            verify(&key, "1", "POST", "https://x/", &params, "not base64!"),
            Err(SignatureError::MalformedSignature)
        );
        assert_eq!(
            verify(&key, "1", "POST", "https://x/", &params, "AAAA"),
            Err(SignatureError::MalformedSignature)
        );
        assert_eq!(
            sign(&key, "1", "POST", "https://x/", &json!([1, 2])),
            Err(SignatureError::Params(ParamsError::NotAnObject))
        );
    }

    #[test]
    fn canonical_form_rules() {
        // Empty containers vanish, null is empty, arrays keep element order,
        // sorting is by bytes (upper case first), and `+`/space are distinct.
        let params = json!({
            "z": {}, "y": [], "n": null, "t": true, "num": 1.5,
            "list": [{"b": "2", "a": "1"}, {"a": "0"}],
            "B": "a b+c", "a": "ã/:@,=&|*~",
        });
        assert_eq!(
            canonical_params(&params).unwrap(),
            "B=a+b%2Bc&a=%C3%A3%2F%3A%40%2C%3D%26%7C%2A~&list%5B%5D%5Ba%5D=1&list%5B%5D%5Bb%5D=2&list%5B%5D%5Ba%5D=0&n=&num=1.5&t=true"
        );
        // Eleven elements: lexical index order would put 10 before 2.
        let many: Vec<Value> = (0..11).map(|i| json!(i.to_string())).collect();
        let expected: Vec<String> = (0..11).map(|i| format!("x%5B%5D={i}")).collect();
        assert_eq!(
            canonical_params(&json!({"x": many})).unwrap(),
            expected.join("&")
        );
    }

    #[test]
    fn url_query_and_fragment_are_not_signed() {
        assert_eq!(
            string_to_sign("1", "post", "https://a.b/cb?x=1#f", &json!({"a": "1"})).unwrap(),
            "1|POST|https://a.b/cb|a=1"
        );
    }
}
