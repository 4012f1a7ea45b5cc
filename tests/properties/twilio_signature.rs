//! `X-Twilio-Signature` (form webhooks, HMAC-SHA1 and HMAC-SHA256): one
//! byte changed anywhere — a parameter, the URL, the header — fails.

use proptest::prelude::*;
use tower_authy::verify::signature::{Algorithm, sign, validate_form};

use crate::change_one_byte;

#[derive(Debug, Clone)]
struct Signed {
    token: String,
    algorithm: Algorithm,
    url: String,
    params: Vec<(String, String)>,
}

fn signed() -> impl Strategy<Value = Signed> {
    (
        "[a-f0-9]{32}",
        prop_oneof![Just(Algorithm::HmacSha1), Just(Algorithm::HmacSha256)],
        "https?://[a-z0-9.]{1,12}(:[0-9]{2,5})?(/[a-zA-Z0-9_.~%-]{0,10}){0,3}(\\?[a-z]=[a-z0-9]{0,4})?",
        prop::collection::vec(("[A-Za-z]{1,10}", "[ -~]{0,16}"), 1..6),
    )
        .prop_map(|(token, algorithm, url, params)| Signed {
            token,
            algorithm,
            url,
            params,
        })
}

fn signature_of(s: &Signed) -> String {
    sign(s.token.as_bytes(), s.algorithm, &s.url, &s.params)
}

fn check(s: &Signed, signature: &str) -> bool {
    validate_form(
        s.token.as_bytes(),
        s.algorithm,
        &s.url,
        &s.params,
        signature,
    )
    .is_ok()
}

/// The same parameters as a set: Twilio's libraries sort them and drop
/// repeated pairs, so a change that only reorders or repeats is no change.
fn same_set(a: &[(String, String)], b: &[(String, String)]) -> bool {
    let set = |p: &[(String, String)]| p.iter().cloned().collect::<std::collections::BTreeSet<_>>();
    set(a) == set(b)
}

proptest! {
    #[test]
    fn a_signed_webhook_validates(s in signed()) {
        prop_assert!(check(&s, &signature_of(&s)));
    }

    #[test]
    fn one_byte_changed_in_the_signature_fails(s in signed(), at in any::<usize>(), to in any::<u8>()) {
        let signature = signature_of(&s);
        if let Some(changed) = change_one_byte(&signature, at, to) {
            prop_assert!(!check(&s, &changed), "{} accepted for {}", changed, signature);
        }
    }

    #[test]
    fn one_byte_changed_in_the_url_fails(s in signed(), at in any::<usize>(), to in any::<u8>()) {
        let signature = signature_of(&s);
        if let Some(url) = change_one_byte(&s.url, at, to) {
            let changed = Signed { url: url.clone(), ..s.clone() };
            prop_assert!(!check(&changed, &signature), "{} for {}", url, s.url);
        }
    }

    #[test]
    fn one_byte_changed_in_a_parameter_fails(
        s in signed(),
        which in any::<usize>(),
        in_name in any::<bool>(),
        at in any::<usize>(),
        to in any::<u8>(),
    ) {
        let signature = signature_of(&s);
        let index = which % s.params.len();
        let mut params = s.params.clone();
        let field = if in_name { &mut params[index].0 } else { &mut params[index].1 };
        let Some(changed) = change_one_byte(field, at, to) else { return Ok(()) };
        *field = changed;
        if same_set(&params, &s.params) {
            return Ok(());
        }
        let changed = Signed { params: params.clone(), ..s.clone() };
        prop_assert!(!check(&changed, &signature), "{:?} for {:?}", params, s.params);
    }
}
