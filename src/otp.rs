//! One-time passwords: RFC 4226 HOTP and RFC 6238 TOTP over HMAC-SHA1, for
//! authenticator-app factors and the simulator's virtual Authy app.
//!
//! Written over `hmac` rather than taken from `totp-rs`: the replay guard
//! needs the time step a code matched (not only yes or no), the simulator
//! needs 7-digit, 10-second tokens, and the crate already depends on the
//! same `hmac` and `sha1` versions (`totp-rs` would bring in older ones).

use hmac::{Hmac, KeyInit, Mac};
use sha1::Sha1;

/// RFC 4226 HOTP value of `counter`, as a zero-padded string of `digits`.
pub(crate) fn hotp(secret: &[u8], counter: u64, digits: u32) -> String {
    let mut mac = Hmac::<Sha1>::new_from_slice(secret).expect("HMAC accepts keys of any length");
    mac.update(&counter.to_be_bytes());
    let hash = mac.finalize().into_bytes();
    // Dynamic truncation (RFC 4226 §5.3).
    let offset = usize::from(hash[hash.len() - 1] & 0x0f);
    let binary = u32::from_be_bytes([
        hash[offset] & 0x7f,
        hash[offset + 1],
        hash[offset + 2],
        hash[offset + 3],
    ]);
    let code = u64::from(binary) % 10u64.pow(digits);
    format!("{code:0width$}", width = digits as usize)
}

/// RFC 6238 TOTP value at `unix_secs`.
#[cfg(any(test, feature = "simulator"))]
pub(crate) fn totp(secret: &[u8], unix_secs: u64, step: u64, digits: u32) -> String {
    hotp(secret, unix_secs / step, digits)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 4226, appendix D.
    #[test]
    fn hotp_matches_the_rfc_4226_vectors() {
        let secret = b"12345678901234567890";
        let expected = [
            "755224", "287082", "359152", "969429", "338314", "254676", "287922", "162583",
            "399871", "520489",
        ];
        for (counter, code) in expected.iter().enumerate() {
            assert_eq!(hotp(secret, counter as u64, 6), *code, "counter {counter}");
        }
    }

    /// RFC 6238, appendix B (the SHA-1 rows, 8 digits, 30-second steps).
    #[test]
    fn totp_matches_the_rfc_6238_vectors() {
        let secret = b"12345678901234567890";
        for (time, code) in [
            (59, "94287082"),
            (1_111_111_109, "07081804"),
            (1_111_111_111, "14050471"),
            (1_234_567_890, "89005924"),
            (2_000_000_000, "69279037"),
            (20_000_000_000, "65353130"),
        ] {
            assert_eq!(totp(secret, time, 30, 8), code, "T = {time}");
        }
    }
}
