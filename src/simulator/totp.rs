//! The virtual Authy app's soft token: RFC 6238 TOTP with the parameters the
//! Authy app uses for API customers (spec §7): HMAC-SHA1, 7 digits, a
//! 10-second step.

use crate::otp::{hotp, totp};

/// Seconds per TOTP step of an Authy-app token.
pub(crate) const STEP_SECS: u64 = 10;
/// Digits of an Authy-app token.
pub(crate) const DIGITS: u32 = 7;
/// Steps accepted on either side of now, so that a test that reads the token
/// and then verifies it never races a step boundary.
pub(crate) const SKEW_STEPS: u64 = 2;

/// The Authy-app token shown at `unix_secs`.
pub(crate) fn soft_token(secret: &[u8], unix_secs: u64) -> String {
    totp(secret, unix_secs, STEP_SECS, DIGITS)
}

/// The step at which `token` is a valid Authy-app token, within the skew
/// window around `unix_secs`.
pub(crate) fn matching_step(secret: &[u8], unix_secs: u64, token: &str) -> Option<u64> {
    let now = unix_secs / STEP_SECS;
    (now.saturating_sub(SKEW_STEPS)..=now + SKEW_STEPS)
        .find(|&step| hotp(secret, step, DIGITS) == token)
}

#[cfg(test)]
mod tests {
    use super::*;

    const RFC_SECRET: &[u8] = b"12345678901234567890";

    #[test]
    fn rfc6238_sha1_vectors_cut_to_seven_digits() {
        // RFC 6238 appendix B (SHA1, 30 s step, 8 digits). The truncated value
        // modulo 10^7 is the last seven digits of the eight-digit code.
        let vectors = [
            (59, "94287082"),
            (1_111_111_109, "07081804"),
            (1_111_111_111, "14050471"),
            (1_234_567_890, "89005924"),
            (2_000_000_000, "69279037"),
            (20_000_000_000, "65353130"),
        ];
        for (time, eight) in vectors {
            assert_eq!(totp(RFC_SECRET, time, 30, 8), eight, "t={time}");
            assert_eq!(totp(RFC_SECRET, time, 30, 7), &eight[1..], "t={time}");
        }
    }

    #[test]
    fn rfc4226_hotp_vectors() {
        let six = ["755224", "287082", "359152", "969429", "338314"];
        for (counter, code) in six.iter().enumerate() {
            assert_eq!(hotp(RFC_SECRET, counter as u64, 6), *code);
        }
    }

    #[test]
    fn soft_token_uses_a_ten_second_step_and_a_skew_window() {
        // Time 1 111 111 110 is step 111 111 111 of 10 s; the same counter in
        // 30 s steps is reached at 3 333 333 330.
        assert_eq!(
            soft_token(RFC_SECRET, 1_111_111_110),
            totp(RFC_SECRET, 3_333_333_330, 30, 7)
        );
        assert_eq!(soft_token(RFC_SECRET, 1_000).len(), 7);
        let now = 1_700_000_005;
        let token = soft_token(RFC_SECRET, now);
        assert_eq!(matching_step(RFC_SECRET, now, &token), Some(now / 10));
        assert!(matching_step(RFC_SECRET, now + 20, &token).is_some());
        assert!(matching_step(RFC_SECRET, now - 20, &token).is_some());
        assert!(matching_step(RFC_SECRET, now + 60, &token).is_none());
        assert!(matching_step(RFC_SECRET, now, "0000000x").is_none());
    }
}
