//! Checks on what is sent to Authy, shared by the API families: obvious
//! mistakes are refused before any call (Authy has the last word).

use super::InvalidInput;

/// A plausible e-mail address: Authy has the last word, but obvious mistakes
/// are caught before any call.
pub(crate) fn check_email(email: &str) -> Result<(), InvalidInput> {
    let invalid = |why| Err(InvalidInput::new("email", why));
    if email.is_empty() {
        return invalid("is empty");
    }
    if email.len() > 254 {
        return invalid("is longer than 254 bytes");
    }
    if email.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return invalid("contains spaces or control characters");
    }
    match email.split_once('@') {
        Some((local, domain)) if !local.is_empty() && !domain.is_empty() => Ok(()),
        _ => invalid("must look like name@domain"),
    }
}

/// A free-text parameter of `min..=max` characters, without control
/// characters.
pub(crate) fn check_length(
    field: &'static str,
    value: &str,
    min: usize,
    max: usize,
) -> Result<(), InvalidInput> {
    let chars = value.chars().count();
    if chars < min || chars > max {
        return Err(InvalidInput::new(
            field,
            format!("must be {min} to {max} characters"),
        ));
    }
    if value.chars().any(char::is_control) {
        return Err(InvalidInput::new(field, "contains control characters"));
    }
    Ok(())
}

/// A locale tag such as `en` or `pt-BR`: letters and hyphens.
pub(crate) fn check_locale(locale: &str) -> Result<(), InvalidInput> {
    let well_formed = (2..=10).contains(&locale.len())
        && locale.bytes().all(|b| b.is_ascii_alphabetic() || b == b'-')
        && !locale.starts_with('-')
        && !locale.ends_with('-');
    if well_formed {
        Ok(())
    } else {
        Err(InvalidInput::new(
            "locale",
            "must be a language tag such as `en` or `pt-BR`",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails() {
        assert!(check_email("ada@example.com").is_ok());
        for bad in [
            "",
            "ada",
            "@example.com",
            "ada@",
            "a da@example.com",
            "a\n@b",
        ] {
            let err = check_email(bad).unwrap_err();
            assert_eq!(err.field(), "email");
        }
    }

    #[test]
    fn lengths_count_characters() {
        assert!(check_length("action", "é", 1, 1).is_ok());
        assert!(check_length("action", "", 1, 255).is_err());
        assert!(check_length("action", &"x".repeat(256), 1, 255).is_err());
        assert!(check_length("action", "a\u{0}b", 1, 255).is_err());
    }

    #[test]
    fn locales_are_language_tags() {
        for good in ["en", "pt-BR", "zh-Hant"] {
            assert!(check_locale(good).is_ok(), "{good}");
        }
        for bad in ["e", "-en", "en-", "en_US", "1234", "a-very-long-tag"] {
            assert!(check_locale(bad).is_err(), "{bad}");
        }
    }
}
