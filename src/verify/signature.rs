//! The `X-Twilio-Signature` scheme (spec §5.7), framework-free.
//!
//! ```text
//! data      = URL + for each distinct name (byte order): name + value, for each distinct value (byte order)
//! signature = base64(HMAC-SHA1(auth token, data))
//! ```
//!
//! The URL is the one the sender requested, query included, byte for byte.
//! A JSON body is not signed as parameters: the sender appends
//! `bodySHA256=<hex SHA-256 of the body>` to the URL's query and signs the URL
//! alone. The same code signs (the Verify simulator) and validates (the
//! webhook), so the two cannot drift apart; the vectors computed with
//! Twilio's own library pin both.
//!
//! ```
//! use tower_authy::verify::signature::{sign, validate_form, Algorithm};
//!
//! let url = "https://mycompany.com/myapp.php?foo=1&bar=2";
//! let params = [
//!     ("CallSid", "CA1234567890ABCDE"),
//!     ("Caller", "+12349013030"),
//!     ("Digits", "1234"),
//!     ("From", "+12349013030"),
//!     ("To", "+18005551212"),
//! ];
//! let signature = sign(b"12345", Algorithm::HmacSha1, url, &params);
//! assert_eq!(signature, "0/KCTR6DLpKmkAf8muzZqo1nDgQ=");
//! assert!(validate_form(b"12345", Algorithm::HmacSha1, url, &params, &signature).is_ok());
//! assert!(validate_form(b"54321", Algorithm::HmacSha1, url, &params, &signature).is_err());
//! ```

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use hmac::{Hmac, KeyInit, Mac};
use sha1::Sha1;
use sha2::{Digest as _, Sha256};
use subtle::ConstantTimeEq as _;

/// The HMAC a signature uses: SHA-1 with the account's auth token (always,
/// unless a Webhook Rule with a SharedKey says otherwise in
/// `X-Twilio-Webhooks-Signature-Settings`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Algorithm {
    /// HMAC-SHA1, Twilio's default.
    #[default]
    HmacSha1,
    /// HMAC-SHA256, with a SharedKey (Twilio's public beta).
    HmacSha256,
}

impl Algorithm {
    /// Reads the `algorithm=` of an `X-Twilio-Webhooks-Signature-Settings`
    /// header (`None`: the header names an algorithm this crate does not
    /// know, which fails closed).
    pub fn from_settings_header(header: &str) -> Option<Self> {
        let mut algorithm = Self::HmacSha1;
        for part in header.split(',') {
            if let Some((name, value)) = part.trim().split_once('=') {
                if name.trim().eq_ignore_ascii_case("algorithm") {
                    algorithm = match value.trim() {
                        "HMAC_SHA1" => Self::HmacSha1,
                        "HMAC_SHA256" => Self::HmacSha256,
                        _ => return None,
                    };
                }
            }
        }
        Some(algorithm)
    }
}

/// Why a signature was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SignatureError {
    /// The request carries no `X-Twilio-Signature`.
    #[error("the request carries no X-Twilio-Signature")]
    Missing,
    /// The signature matches neither the URL nor its port variant.
    #[error("the signature does not match the request")]
    Mismatch,
    /// A JSON body's URL has no `bodySHA256`, or it is not the body's hash.
    #[error("the body's SHA-256 is missing from the URL or does not match")]
    BodyHash,
    /// The settings header names an algorithm this crate does not know.
    #[error("unknown signature algorithm")]
    UnknownAlgorithm,
    /// The request is signed with another algorithm than the webhook was
    /// pinned to.
    #[error("the request is not signed with the expected algorithm")]
    OtherAlgorithm,
}

/// The string Twilio signs: the URL, then each distinct parameter name in
/// byte order followed by each of its distinct values in byte order.
pub fn string_to_sign<K: AsRef<str>, V: AsRef<str>>(url: &str, params: &[(K, V)]) -> String {
    let mut pairs: Vec<(&str, &str)> = params
        .iter()
        .map(|(name, value)| (name.as_ref(), value.as_ref()))
        .collect();
    // Sorting the pairs sorts names, then the values of one name; the
    // libraries drop repeated (name, value) pairs.
    pairs.sort_unstable();
    pairs.dedup();
    let mut data = String::from(url);
    for (name, value) in pairs {
        data.push_str(name);
        data.push_str(value);
    }
    data
}

/// The signature of a request to `url` with these form parameters (empty
/// for a JSON body or a GET).
pub fn sign<K: AsRef<str>, V: AsRef<str>>(
    key: &[u8],
    algorithm: Algorithm,
    url: &str,
    params: &[(K, V)],
) -> String {
    let data = string_to_sign(url, params);
    BASE64.encode(mac(key, algorithm, data.as_bytes()))
}

fn mac(key: &[u8], algorithm: Algorithm, data: &[u8]) -> Vec<u8> {
    match algorithm {
        Algorithm::HmacSha1 => {
            let mut mac = Hmac::<Sha1>::new_from_slice(key).expect("HMAC takes any key length");
            mac.update(data);
            mac.finalize().into_bytes().to_vec()
        }
        Algorithm::HmacSha256 => {
            let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
            mac.update(data);
            mac.finalize().into_bytes().to_vec()
        }
    }
}

/// The lower-case hex SHA-256 of a body, as a JSON webhook's `bodySHA256`.
pub fn body_sha256(body: &[u8]) -> String {
    data_encoding::HEXLOWER.encode(&Sha256::digest(body))
}

/// Checks the signature of a form-encoded (or GET) request received at
/// `url`, as Twilio's libraries do: it may match the URL with any explicit
/// port removed, or with the default port added. Constant time.
pub fn validate_form<K: AsRef<str>, V: AsRef<str>>(
    key: &[u8],
    algorithm: Algorithm,
    url: &str,
    params: &[(K, V)],
    signature: &str,
) -> Result<(), SignatureError> {
    let signature = signature.trim();
    if signature.is_empty() {
        return Err(SignatureError::Missing);
    }
    let matches = |candidate: &str| {
        let expected = sign(key, algorithm, candidate, params);
        bool::from(expected.as_bytes().ct_eq(signature.as_bytes()))
    };
    // Both variants are always computed, so timing says nothing of which
    // one matched.
    let without = matches(&without_port(url));
    let with = matches(&with_port(url));
    if without | with {
        Ok(())
    } else {
        Err(SignatureError::Mismatch)
    }
}

/// Checks a JSON request: its URL must carry `bodySHA256`, equal to the
/// body's hash, and the signature covers the URL alone.
pub fn validate_json(
    key: &[u8],
    algorithm: Algorithm,
    url: &str,
    body: &[u8],
    signature: &str,
) -> Result<(), SignatureError> {
    let claimed = query_value(url, "bodySHA256").ok_or(SignatureError::BodyHash)?;
    let actual = body_sha256(body);
    // Verified before the hash, so a wrong hash and a wrong signature are
    // told apart only for a request signed with the key.
    validate_form::<&str, &str>(key, algorithm, url, &[], signature)?;
    if bool::from(claimed.as_bytes().ct_eq(actual.as_bytes())) {
        Ok(())
    } else {
        Err(SignatureError::BodyHash)
    }
}

/// The first value of `name` in the URL's query, percent-decoded.
fn query_value(url: &str, name: &str) -> Option<String> {
    let query = url.split_once('?')?.1;
    let query = query.split('#').next().unwrap_or(query);
    form_urlencoded_pairs(query).find_map(|(k, v)| (k == name).then_some(v))
}

fn form_urlencoded_pairs(query: &str) -> impl Iterator<Item = (String, String)> + '_ {
    serde_urlencoded::from_str::<Vec<(String, String)>>(query)
        .unwrap_or_default()
        .into_iter()
}

/// `(scheme, authority, rest)` of an absolute URL, the authority split into
/// host and optional port.
struct Parts<'a> {
    scheme: &'a str,
    userinfo_host: &'a str,
    port: Option<&'a str>,
    rest: &'a str,
}

fn parts(url: &str) -> Option<Parts<'_>> {
    let (scheme, after) = url.split_once("://")?;
    let end = after.find(['/', '?', '#']).unwrap_or(after.len());
    let (authority, rest) = after.split_at(end);
    // A port follows the last `:` after any IPv6 literal's `]`.
    let host_end = authority.rfind(']').map_or(0, |i| i + 1);
    let (userinfo_host, port) = match authority[host_end..].rfind(':') {
        Some(i) => {
            let at = host_end + i;
            (&authority[..at], Some(&authority[at + 1..]))
        }
        None => (authority, None),
    };
    Some(Parts {
        scheme,
        userinfo_host,
        port,
        rest,
    })
}

/// The URL without its explicit port (unchanged when it has none).
fn without_port(url: &str) -> String {
    match parts(url) {
        Some(p) if p.port.is_some() => format!("{}://{}{}", p.scheme, p.userinfo_host, p.rest),
        _ => url.to_owned(),
    }
}

/// The URL with the scheme's default port added when it has none.
fn with_port(url: &str) -> String {
    match parts(url) {
        Some(p) if p.port.is_none() => {
            let port = if p.scheme.eq_ignore_ascii_case("https") {
                443
            } else {
                80
            };
            format!("{}://{}:{port}{}", p.scheme, p.userinfo_host, p.rest)
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn port_variants() {
        assert_eq!(
            without_port("https://a.example:1234/x?y=1"),
            "https://a.example/x?y=1"
        );
        assert_eq!(with_port("https://a.example/x"), "https://a.example:443/x");
        assert_eq!(with_port("http://a.example"), "http://a.example:80");
        assert_eq!(with_port("http://[::1]/p"), "http://[::1]:80/p");
        assert_eq!(without_port("http://[::1]:8080/p"), "http://[::1]/p");
        assert_eq!(
            with_port("http://a.example:8080/p"),
            "http://a.example:8080/p"
        );
    }

    #[test]
    fn settings_header() {
        assert_eq!(
            Algorithm::from_settings_header("key=KS1,algorithm=HMAC_SHA256"),
            Some(Algorithm::HmacSha256)
        );
        assert_eq!(
            Algorithm::from_settings_header("key=KS1"),
            Some(Algorithm::HmacSha1)
        );
        assert_eq!(Algorithm::from_settings_header("algorithm=MD5"), None);
    }

    #[test]
    fn empty_signature_is_missing() {
        assert_eq!(
            validate_form::<&str, &str>(b"k", Algorithm::HmacSha1, "https://a/", &[], " "),
            Err(SignatureError::Missing)
        );
    }
}
