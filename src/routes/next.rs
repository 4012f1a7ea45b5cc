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

    mod properties {
        use super::safe_next;
        use proptest::prelude::*;

        /// The pieces open redirects are made of: separators and their
        /// encodings (once and twice), schemes, hosts, userinfo, controls,
        /// whitespace, and look-alike Unicode.
        fn piece() -> impl Strategy<Value = String> {
            prop_oneof![
                Just("/"),
                Just("//"),
                Just("\\"),
                Just("%2f"),
                Just("%2F"),
                Just("%5c"),
                Just("%5C"),
                Just("%252f"),
                Just("%255c"),
                Just("%25252f"),
                Just("http:"),
                Just("https:"),
                Just("javascript:"),
                Just("evil.example"),
                Just("@"),
                Just("."),
                Just(".."),
                Just("%2e"),
                Just("?"),
                Just("#"),
                Just("\t"),
                Just("\n"),
                Just("\r"),
                Just("%09"),
                Just("%0a"),
                Just("%0d"),
                Just("%00"),
                Just(" "),
                Just("%20"),
                Just("\u{2215}"),
                Just("\u{ff0f}"),
                Just("\u{3002}"),
                Just("\u{200b}"),
                Just("a"),
                Just("%"),
                Just("%%"),
                Just("%c0%af"),
                Just(":"),
            ]
            .prop_map(str::to_owned)
        }

        fn tricky() -> impl Strategy<Value = String> {
            prop_oneof![
                prop::collection::vec(piece(), 0..10).prop_map(|p| p.concat()),
                any::<String>(),
                any::<String>().prop_map(|s| format!("/{s}")),
            ]
        }

        proptest! {
            /// Whatever comes in, what comes out, taken as a link on the
            /// site (WHATWG URL parsing, as browsers do, with the input
            /// decoded once and twice as a proxy might), stays on the site.
            #[test]
            fn next_never_leaves_the_origin(raw in tricky()) {
                let kept = safe_next(&raw);
                prop_assert!(kept == "/" || kept == raw);
                let base = url::Url::parse("https://app.example/2fa").unwrap();
                let once = percent_encoding::percent_decode_str(&kept).decode_utf8_lossy().into_owned();
                let twice = percent_encoding::percent_decode_str(&once).decode_utf8_lossy().into_owned();
                for link in [&kept, &once, &twice] {
                    let joined = base.join(link).map_err(|e| TestCaseError::fail(format!("{link:?}: {e}")))?;
                    prop_assert_eq!(joined.origin(), base.origin(), "{:?} from {:?}", link, raw);
                }
            }
        }
    }
}
