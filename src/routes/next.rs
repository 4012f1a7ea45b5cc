//! Where to send the browser after the challenge: same-origin paths only.

use percent_encoding::percent_decode_str;

/// `raw` if it is a plain path on this site, else `/`. Refused: absolute
/// URLs, scheme-relative `//host`, backslashes (browsers read `/\host` as
/// `//host`), control characters, and the same tricks percent-encoded.
pub(crate) fn safe_next(raw: &str) -> String {
    let decoded = percent_decode_str(raw).decode_utf8_lossy();
    let is_safe = |path: &str| {
        path.starts_with('/')
            && !path.starts_with("//")
            && !path.contains('\\')
            && !path.chars().any(char::is_control)
    };
    // Twice decoded too: a proxy or framework may decode once more.
    let twice = percent_decode_str(&decoded)
        .decode_utf8_lossy()
        .into_owned();
    if raw.len() <= 2048 && is_safe(raw) && is_safe(&decoded) && is_safe(&twice) {
        raw.to_owned()
    } else {
        "/".to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[test]
    fn keeps_same_origin_paths() {
        for path in ["/", "/protected", "/a/b?c=d&e=%2F", "/x#frag", "/caf%C3%A9"] {
            assert_eq!(safe_next(path), path);
        }
    }

    #[test]
    fn sends_everything_else_home() {
        for bad in [
            "https://evil.example/",
            "//evil.example",
            "/\\evil.example",
            "\\\\evil.example",
            "evil.example",
            "javascript:alert(1)",
            "/%2F%2Fevil.example",
            "%2F%2Fevil.example",
            "/%5Cevil.example",
            "/%252F%252Fevil.example",
            "/\tevil",
            "/%0d%0aSet-Cookie:x=1",
            "",
        ] {
            assert_eq!(safe_next(bad), "/", "{bad:?}");
        }
        assert_eq!(safe_next(&format!("/{}", "a".repeat(3000))), "/");
    }
}
