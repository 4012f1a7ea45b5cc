//! The authenticator-app code check (the step a code matches, one step
//! either side, each candidate compared in constant time) against the three
//! raw HMAC-SHA1s it cannot do without.

use std::hint::black_box;

use criterion::Criterion;
use hmac::{Hmac, KeyInit, Mac};
use sha1::Sha1;
use tower_authy::bench_support::totp_matching_step;

pub fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("totp");
    let seed = b"12345678901234567890";
    let at = 1_111_111_109;
    // RFC 6238's vector at that time, to 6 digits.
    let code = "081804";
    assert_eq!(totp_matching_step(seed, at, code), Some(at / 30));
    group.bench_function("raw_3_hmac_sha1", |b| {
        b.iter(|| {
            let step = black_box(at) / 30;
            [step - 1, step, step + 1].map(|counter| {
                let mut mac = Hmac::<Sha1>::new_from_slice(seed).unwrap();
                mac.update(&counter.to_be_bytes());
                mac.finalize().into_bytes()
            })
        });
    });
    group.bench_function("check", |b| {
        b.iter(|| totp_matching_step(seed, black_box(at), black_box(code)));
    });
    group.finish();
}
