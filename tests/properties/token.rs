//! A one-time code typed by the user.

use proptest::prelude::*;
use tower_authy::authy::Token;

proptest! {
    /// Accepted exactly when it is 6 to 12 ASCII digits: no trimming, no
    /// other digits, no signs.
    #[test]
    fn a_token_is_six_to_twelve_ascii_digits(text in prop_oneof![
        "[0-9]{0,14}",
        "[0-9 +\\-.]{0,14}",
        any::<String>(),
        "[0-9]{3}[\\u{0660}-\\u{0669}\\u{FF10}-\\u{FF19}][0-9]{3}",
    ]) {
        let expected = (6..=12).contains(&text.len()) && text.bytes().all(|b| b.is_ascii_digit());
        let parsed = Token::parse(&text);
        prop_assert_eq!(parsed.is_ok(), expected, "{:?}", text);
        if let Ok(token) = parsed {
            prop_assert_eq!(format!("{token:?}"), "Token([redacted])");
        }
    }
}
