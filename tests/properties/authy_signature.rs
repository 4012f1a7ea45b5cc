//! `X-Authy-Signature`: a callback signed with the key verifies, and one
//! byte changed anywhere — a parameter, the nonce, the URL, the header —
//! never does.

use proptest::prelude::*;
use serde_json::{Map, Value};
use tower_authy::Secret;
use tower_authy::webhook::signature::{sign, verify};

use crate::change_one_byte;

#[derive(Debug, Clone)]
struct Signed {
    key: String,
    nonce: String,
    url: String,
    params: Value,
}

fn signed() -> impl Strategy<Value = Signed> {
    (
        "[ -~]{1,40}",
        "[0-9]{10}|[a-zA-Z0-9]{1,16}",
        "https?://[a-z0-9.]{1,12}(:[0-9]{2,5})?(/[a-zA-Z0-9_.~%-]{0,10}){0,3}",
        prop::collection::btree_map("[a-z_]{1,10}", "[ -~]{0,16}", 1..6),
    )
        .prop_map(|(key, nonce, url, params)| Signed {
            key,
            nonce,
            url,
            params: Value::Object(
                params
                    .into_iter()
                    .map(|(k, v)| (k, Value::String(v)))
                    .collect::<Map<_, _>>(),
            ),
        })
}

fn check(s: &Signed, signature: &str) -> bool {
    verify(
        &Secret::from(s.key.as_str()),
        &s.nonce,
        "POST",
        &s.url,
        &s.params,
        signature,
    )
    .is_ok()
}

fn signature_of(s: &Signed) -> String {
    sign(
        &Secret::from(s.key.as_str()),
        &s.nonce,
        "POST",
        &s.url,
        &s.params,
    )
    .unwrap()
}

proptest! {
    #[test]
    fn a_signed_callback_verifies(s in signed()) {
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
    fn one_byte_changed_in_the_nonce_fails(s in signed(), at in any::<usize>(), to in any::<u8>()) {
        let signature = signature_of(&s);
        if let Some(nonce) = change_one_byte(&s.nonce, at, to) {
            let changed = Signed { nonce, ..s.clone() };
            prop_assert!(!check(&changed, &signature), "nonce {}", changed.nonce);
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
        let Value::Object(map) = &s.params else { unreachable!() };
        let (name, value) = map.iter().nth(which % map.len()).unwrap();
        let value = value.as_str().unwrap();
        let mut changed = map.clone();
        if in_name {
            let Some(new_name) = change_one_byte(name, at, to) else { return Ok(()) };
            if changed.contains_key(&new_name) {
                return Ok(()); // two parameters merged: not one byte
            }
            let moved = changed.remove(name).unwrap();
            changed.insert(new_name, moved);
        } else {
            let Some(new_value) = change_one_byte(value, at, to) else { return Ok(()) };
            changed.insert(name.clone(), Value::String(new_value));
        }
        let params = Value::Object(changed);
        let changed = Signed { params: params.clone(), ..s.clone() };
        prop_assert!(!check(&changed, &signature), "{} for {}", params, s.params);
    }
}
