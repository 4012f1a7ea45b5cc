//! Phone numbers and country codes: normalisation, validation and the masked
//! and grouped forms the API prints.

/// Parses a country calling code (`1`, `91`, `+44`). `None` if it is not a
/// number from 1 to 999.
pub(crate) fn country_code(text: &str) -> Option<u16> {
    let digits = text.trim().strip_prefix('+').unwrap_or(text.trim());
    if digits.is_empty() || digits.len() > 3 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok().filter(|&code| code > 0)
}

/// The digits of a phone number written with dashes, dots, spaces or
/// parentheses as separators (`555-123.4567`), if it is a plausible number for
/// that country: ten digits for North America (country code 1), four to
/// fourteen elsewhere, at most fifteen with the country code (E.164).
pub(crate) fn normalise(country_code: u16, text: &str) -> Option<String> {
    let mut digits = String::new();
    for c in text.trim().chars() {
        match c {
            '0'..='9' => digits.push(c),
            '-' | '.' | ' ' | '(' | ')' => {}
            _ => return None,
        }
    }
    let total = digits.len() + country_code.to_string().len();
    let plausible = if country_code == 1 {
        digits.len() == 10
    } else {
        (4..=14).contains(&digits.len()) && total <= 15
    };
    plausible.then_some(digits)
}

/// Digits in groups of three, the last group taking the final two to four
/// (`987-654-3210`, `123-456-789`).
pub(crate) fn grouped(digits: &str) -> String {
    let chars: Vec<char> = digits.chars().collect();
    let mut groups = Vec::new();
    let mut rest = &chars[..];
    while rest.len() > 4 {
        groups.push(rest[..3].iter().collect::<String>());
        rest = &rest[3..];
    }
    groups.push(rest.iter().collect::<String>());
    groups.retain(|g| !g.is_empty());
    groups.join("-")
}

/// The number grouped, with every digit but the last `visible` replaced by
/// `X` (`XXX-XXX-1118` in user status, `XXX-XXX-XX12` in SMS answers).
pub(crate) fn masked(digits: &str, visible: usize) -> String {
    let hidden = digits.len().saturating_sub(visible);
    let masked: String = digits
        .chars()
        .enumerate()
        .map(|(i, c)| if i < hidden { 'X' } else { c })
        .collect();
    grouped(&masked)
}

/// `+1 987-654-3210`, as phone-verification messages print a number.
pub(crate) fn international(country_code: u16, digits: &str) -> String {
    format!("+{country_code} {}", grouped(digits))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn country_codes() {
        assert_eq!(country_code("1"), Some(1));
        assert_eq!(country_code(" +351 "), Some(351));
        assert_eq!(country_code("0"), None);
        assert_eq!(country_code("xx"), None);
        assert_eq!(country_code("1234"), None);
        assert_eq!(country_code(""), None);
        assert_eq!(country_code("-1"), None);
    }

    #[test]
    fn separators_are_dropped_and_lengths_checked() {
        assert_eq!(normalise(1, "987-654-3210").as_deref(), Some("9876543210"));
        assert_eq!(
            normalise(1, "(987) 654.3210").as_deref(),
            Some("9876543210")
        );
        assert_eq!(normalise(1, "654-3210"), None);
        assert_eq!(normalise(1, "987-654-321O"), None);
        assert_eq!(normalise(57, "300 123 4512").as_deref(), Some("3001234512"));
        assert_eq!(normalise(44, "123"), None);
        assert_eq!(normalise(351, "123456789012345"), None);
        assert_eq!(normalise(1, ""), None);
        assert_eq!(normalise(1, "+19876543210"), None);
    }

    #[test]
    fn masking_matches_the_api_samples() {
        assert_eq!(masked("5551231118", 4), "XXX-XXX-1118");
        assert_eq!(masked("3001234512", 2), "XXX-XXX-XX12");
        assert_eq!(masked("912345667", 2), "XXX-XXX-X67");
        assert_eq!(grouped("9876543210"), "987-654-3210");
        assert_eq!(grouped("12345"), "123-45");
        assert_eq!(grouped("1234"), "1234");
        assert_eq!(international(1, "9876543210"), "+1 987-654-3210");
    }
}
