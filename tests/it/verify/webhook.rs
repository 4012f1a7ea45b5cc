//! The Verify webhook: genuine challenge events are recorded once; every bad
//! input is refused and changes nothing.
//!
//! Fresh events are signed by [`independent_sign`], written apart from
//! `verify::signature` (the shared vectors pin that one to Twilio's own
//! library).

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Digest as _;
use tower_authy::store::{
    AdminStore, ApprovalRecord, ApprovalStatus, Factor, FactorKind, MemoryStore, SharedStore,
    UserId,
};
use tower_authy::verify::{
    EventType, VerifyEventRequest, VerifyOutcome, VerifyWebhook, VerifyWebhookBuilder,
    VerifyWebhookError, signature::Algorithm,
};

pub(super) const TOKEN: &str = "verify-simulator-auth-token-0001";
pub(super) const URL: &str = "https://app.example.com/2fa/verify/callback";
pub(super) const SERVICE: &str = "VA00000000000000000000000000000001";
pub(super) const ENTITY: &str = "0123456789abcdef0123456789abcdef";
pub(super) const FACTOR: &str = "YF00000000000000000000000000000001";
pub(super) const CHALLENGE: &str = "YC00000000000000000000000000000001";
const T0: u64 = 1_800_000_000;

fn at(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(secs)
}

/// Signs like Twilio (spec §5.7), apart from the crate: every pair as
/// `name + value` into one list, sorted as whole strings (which sorts by name
/// then value for these alphanumeric names), then HMAC over the URL and them.
pub(super) fn independent_sign(
    key: &str,
    sha256: bool,
    url: &str,
    pairs: &[(&str, &str)],
) -> String {
    let mut joined: Vec<String> = pairs.iter().map(|(k, v)| format!("{k}{v}")).collect();
    joined.sort();
    let data = format!("{url}{}", joined.concat());
    let bytes = if sha256 {
        let mut mac = Hmac::<sha2::Sha256>::new_from_slice(key.as_bytes()).unwrap();
        mac.update(data.as_bytes());
        mac.finalize().into_bytes().to_vec()
    } else {
        let mut mac = Hmac::<sha1::Sha1>::new_from_slice(key.as_bytes()).unwrap();
        mac.update(data.as_bytes());
        mac.finalize().into_bytes().to_vec()
    };
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// A push challenge event as Verify delivers it (spec §7.7).
pub(super) fn event(uuid: &'static str, kind: &'static str) -> Vec<(&'static str, &'static str)> {
    vec![
        ("uuid", uuid),
        ("type", kind),
        ("account_sid", "AC00000000000000000000000000000001"),
        ("service_sid", SERVICE),
        ("entity_identity", ENTITY),
        ("factor_sid", FACTOR),
        ("factor_type", "push"),
        ("challenge_sid", CHALLENGE),
    ]
}

fn form(pairs: &[(&str, &str)]) -> Vec<u8> {
    serde_urlencoded::to_string(pairs).unwrap().into_bytes()
}

/// Alice holds a Verify push factor and has one pending request, whose uuid
/// is the challenge SID; Bob holds another push factor.
pub(super) async fn seed(store: &MemoryStore, now: SystemTime) {
    let alice = UserId::new("alice");
    let push = Factor::pending(
        alice.clone(),
        FactorKind::VerifyPush,
        "Alice's phone",
        format!("{ENTITY}:{FACTOR}"),
        now,
    )
    .activated();
    store.put_factor(&push).await.unwrap();
    let bob = Factor::pending(
        UserId::new("bob"),
        FactorKind::VerifyPush,
        "Bob's phone",
        "fedcba9876543210fedcba9876543210:YF00000000000000000000000000000002",
        now,
    )
    .activated();
    store.put_factor(&bob).await.unwrap();
    let record = ApprovalRecord::pending(
        CHALLENGE,
        alice,
        "session-binding",
        now,
        Some(Duration::from_secs(300)),
    );
    tower_authy::store::ApprovalStore::insert_approval(store, &record)
        .await
        .unwrap();
}

struct Fixture {
    store: SharedStore,
    webhook: VerifyWebhook,
}

impl Fixture {
    async fn new() -> Self {
        Self::with(|builder| builder).await
    }

    /// The fixture, with a last word on the webhook's builder.
    async fn with(adjust: impl FnOnce(VerifyWebhookBuilder) -> VerifyWebhookBuilder) -> Self {
        let memory = Arc::new(MemoryStore::new());
        seed(&memory, at(T0)).await;
        let store: SharedStore = memory;
        let webhook = adjust(
            VerifyWebhook::builder(TOKEN)
                .with_public_url(URL)
                .with_service_sid(SERVICE),
        )
        .build(store.clone())
        .unwrap();
        Self { store, webhook }
    }

    async fn status(&self) -> ApprovalStatus {
        self.store
            .approval(CHALLENGE, at(T0))
            .await
            .unwrap()
            .unwrap()
            .status
    }

    async fn post_form(
        &self,
        pairs: &[(&str, &str)],
        signature: Option<&str>,
    ) -> Result<VerifyOutcome, VerifyWebhookError> {
        let body = form(pairs);
        self.handle(
            &http::Method::POST,
            None,
            &body,
            None,
            signature,
            None,
            T0 + 1,
        )
        .await
    }

    async fn signed_form(
        &self,
        pairs: &[(&str, &str)],
    ) -> Result<VerifyOutcome, VerifyWebhookError> {
        let signature = independent_sign(TOKEN, false, URL, pairs);
        self.post_form(pairs, Some(&signature)).await
    }

    #[allow(clippy::too_many_arguments)]
    async fn handle(
        &self,
        method: &http::Method,
        query: Option<&str>,
        body: &[u8],
        content_type: Option<&str>,
        signature: Option<&str>,
        settings: Option<&str>,
        now: u64,
    ) -> Result<VerifyOutcome, VerifyWebhookError> {
        let request = VerifyEventRequest {
            method,
            query,
            body,
            content_type: content_type.or(Some("application/x-www-form-urlencoded")),
            signature,
            signature_settings: settings,
        };
        self.webhook.handle(&request, at(now)).await
    }

    /// Asserts a refusal with `status` and `code`, and that the request and
    /// the factors did not change.
    async fn assert_refused(
        &self,
        result: Result<VerifyOutcome, VerifyWebhookError>,
        status: u16,
        code: &str,
    ) {
        let factors = self.store.factors(&UserId::new("alice")).await.unwrap();
        match result {
            Err(error) => {
                assert_eq!(error.status().as_u16(), status, "{error}");
                assert_eq!(error.code(), code, "{error}");
            }
            Ok(outcome) => panic!("expected {code}, got {outcome:?}"),
        }
        assert_eq!(self.status().await, ApprovalStatus::Pending);
        assert_eq!(
            self.store.factors(&UserId::new("alice")).await.unwrap(),
            factors
        );
    }
}

#[tokio::test]
async fn an_approval_is_recorded_once_and_its_redelivery_is_a_duplicate() {
    let fixture = Fixture::new().await;
    let approved = event("ev-1", "challenge.approved");
    match fixture.signed_form(&approved).await.unwrap() {
        VerifyOutcome::Recorded(record) => assert_eq!(record.status, ApprovalStatus::Approved),
        other => panic!("expected Recorded, got {other:?}"),
    }
    assert_eq!(fixture.status().await, ApprovalStatus::Approved);
    // Twilio redelivers: same uuid, same outcome.
    assert!(matches!(
        fixture.signed_form(&approved).await.unwrap(),
        VerifyOutcome::Duplicate(_)
    ));
    // A replayed uuid now claiming a denial is refused; the approval stands.
    let denied = event("ev-1", "challenge.denied");
    let refused = fixture.signed_form(&denied).await.unwrap_err();
    assert_eq!(refused.code(), "replay");
    // So is a fresh delivery with another outcome for the final request.
    let other = fixture
        .signed_form(&event("ev-2", "challenge.denied"))
        .await
        .unwrap_err();
    assert_eq!(other.code(), "already_final");
    assert_eq!(fixture.status().await, ApprovalStatus::Approved);
}

#[tokio::test]
async fn a_json_denial_with_its_body_hash_is_recorded() {
    let fixture = Fixture::new().await;
    let body = serde_json::to_vec(&serde_json::json!({
        "uuid": "ev-json", "type": "challenge.denied", "account_sid": "AC1",
        "service_sid": SERVICE, "entity_identity": ENTITY, "factor_sid": FACTOR,
        "factor_type": "push", "challenge_sid": CHALLENGE,
    }))
    .unwrap();
    let hash = data_encoding::HEXLOWER.encode(&sha2::Sha256::digest(&body));
    let query = format!("bodySHA256={hash}");
    let signature = independent_sign(TOKEN, false, &format!("{URL}?{query}"), &[]);
    let json = Some("application/json; charset=utf-8");
    let post = http::Method::POST;

    // The body changed after signing: the hash no longer matches.
    let mut tampered = body.clone();
    tampered.extend_from_slice(b" ");
    let result = fixture
        .handle(
            &post,
            Some(&query),
            &tampered,
            json,
            Some(&signature),
            None,
            T0,
        )
        .await;
    fixture.assert_refused(result, 401, "bad_signature").await;
    // No hash in the URL at all.
    let bare = independent_sign(TOKEN, false, URL, &[]);
    let result = fixture
        .handle(&post, None, &body, json, Some(&bare), None, T0)
        .await;
    fixture.assert_refused(result, 401, "bad_signature").await;

    let outcome = fixture
        .handle(&post, Some(&query), &body, json, Some(&signature), None, T0)
        .await
        .unwrap();
    assert!(matches!(outcome, VerifyOutcome::Recorded(_)), "{outcome:?}");
    assert_eq!(fixture.status().await, ApprovalStatus::Denied);
}

#[tokio::test]
async fn a_shared_key_rule_signs_with_sha256() {
    let fixture = Fixture::new().await;
    let pairs = event("ev-256", "challenge.approved");
    let body = form(&pairs);
    let settings = Some("algorithm=HMAC_SHA256");
    let post = http::Method::POST;
    // A SHA-1 signature under a SHA-256 header is refused …
    let sha1 = independent_sign(TOKEN, false, URL, &pairs);
    let result = fixture
        .handle(&post, None, &body, None, Some(&sha1), settings, T0)
        .await;
    fixture.assert_refused(result, 401, "bad_signature").await;
    // … and an algorithm the crate does not know fails closed.
    let sha256 = independent_sign(TOKEN, true, URL, &pairs);
    let result = fixture
        .handle(
            &post,
            None,
            &body,
            None,
            Some(&sha256),
            Some("algorithm=HMAC_MD5"),
            T0,
        )
        .await;
    fixture.assert_refused(result, 401, "bad_signature").await;
    let outcome = fixture
        .handle(&post, None, &body, None, Some(&sha256), settings, T0)
        .await
        .unwrap();
    assert!(matches!(outcome, VerifyOutcome::Recorded(_)), "{outcome:?}");
}

/// A webhook pinned to SHA-256 takes no SHA-1 signature, with or without
/// a header naming it, and still takes its own.
#[tokio::test]
async fn a_pinned_algorithm_refuses_the_other() {
    let fixture = Fixture::with(|builder| builder.with_algorithm(Algorithm::HmacSha256)).await;
    let pairs = event("ev-pin", "challenge.approved");
    let body = form(&pairs);
    let post = http::Method::POST;
    let sha1 = independent_sign(TOKEN, false, URL, &pairs);
    for settings in [None, Some("algorithm=HMAC_SHA1")] {
        let result = fixture
            .handle(&post, None, &body, None, Some(&sha1), settings, T0)
            .await;
        fixture.assert_refused(result, 401, "bad_signature").await;
    }
    let sha256 = independent_sign(TOKEN, true, URL, &pairs);
    let outcome = fixture
        .handle(&post, None, &body, None, Some(&sha256), None, T0)
        .await
        .unwrap();
    assert!(matches!(outcome, VerifyOutcome::Recorded(_)), "{outcome:?}");
}

#[tokio::test]
async fn bad_signatures_are_refused_and_change_nothing() {
    let fixture = Fixture::new().await;
    let pairs = event("ev-1", "challenge.approved");
    let result = fixture.post_form(&pairs, None).await;
    fixture.assert_refused(result, 401, "bad_signature").await;
    let result = fixture.post_form(&pairs, Some("")).await;
    fixture.assert_refused(result, 401, "bad_signature").await;
    // Signed with another token.
    let wrong_key = independent_sign("another-token", false, URL, &pairs);
    let result = fixture.post_form(&pairs, Some(&wrong_key)).await;
    fixture.assert_refused(result, 401, "bad_signature").await;
    // Signed for another URL (the request's Host, say).
    let other_url = independent_sign(
        TOKEN,
        false,
        "https://evil.example/2fa/verify/callback",
        &pairs,
    );
    let result = fixture.post_form(&pairs, Some(&other_url)).await;
    fixture.assert_refused(result, 401, "bad_signature").await;
    // A parameter changed after signing: another user's request, say.
    let signature = independent_sign(TOKEN, false, URL, &pairs);
    let mut changed = pairs.clone();
    changed[1] = ("type", "challenge.denied");
    let result = fixture.post_form(&changed, Some(&signature)).await;
    fixture.assert_refused(result, 401, "bad_signature").await;
    // A parameter added after signing.
    let mut added = pairs.clone();
    added.push(("extra", "1"));
    let result = fixture.post_form(&added, Some(&signature)).await;
    fixture.assert_refused(result, 401, "bad_signature").await;
    // A query the signature does not cover.
    let body = form(&pairs);
    let result = fixture
        .handle(
            &http::Method::POST,
            Some("a=1"),
            &body,
            None,
            Some(&signature),
            None,
            T0,
        )
        .await;
    fixture.assert_refused(result, 401, "bad_signature").await;
}

#[tokio::test]
async fn malformed_events_are_refused_and_change_nothing() {
    let fixture = Fixture::new().await;
    let pairs = event("ev-1", "challenge.approved");
    let signature = independent_sign(TOKEN, false, URL, &pairs);
    let body = form(&pairs);
    // Verify posts; a GET is not an event even when signed.
    let get_signature = independent_sign(TOKEN, false, URL, &[]);
    let result = fixture
        .handle(
            &http::Method::GET,
            None,
            b"",
            None,
            Some(&get_signature),
            None,
            T0,
        )
        .await;
    fixture.assert_refused(result, 400, "malformed").await;
    let result = fixture
        .handle(
            &http::Method::PUT,
            None,
            &body,
            None,
            Some(&signature),
            None,
            T0,
        )
        .await;
    fixture.assert_refused(result, 400, "malformed").await;
    // Signed, but no uuid to guard against replays with.
    let no_uuid: Vec<_> = pairs
        .iter()
        .copied()
        .filter(|(k, _)| *k != "uuid")
        .collect();
    let result = fixture.signed_form(&no_uuid).await;
    fixture.assert_refused(result, 400, "malformed").await;
    // Signed, a challenge event without its challenge.
    let no_challenge: Vec<_> = pairs
        .iter()
        .copied()
        .filter(|(k, _)| *k != "challenge_sid")
        .collect();
    let result = fixture.signed_form(&no_challenge).await;
    fixture.assert_refused(result, 400, "malformed").await;
    // Signed, but a SID or identity not in Twilio's format.
    for (name, value) in [
        ("challenge_sid", "YC1"),
        ("challenge_sid", "YF00000000000000000000000000000001"),
        ("factor_sid", "not-a-sid"),
        ("entity_identity", "has spaces and / slashes"),
    ] {
        let odd: Vec<_> = pairs
            .iter()
            .map(|&(k, v)| if k == name { (k, value) } else { (k, v) })
            .collect();
        let result = fixture.signed_form(&odd).await;
        fixture.assert_refused(result, 400, "malformed").await;
    }
    // Signed, the uuid twice: which one is meant is ambiguous.
    let mut twice = pairs.clone();
    twice.push(("uuid", "ev-2"));
    let result = fixture.signed_form(&twice).await;
    fixture.assert_refused(result, 400, "malformed").await;
    // Signed JSON that is not an object.
    let body = b"[]";
    let hash = data_encoding::HEXLOWER.encode(&sha2::Sha256::digest(body));
    let query = format!("bodySHA256={hash}");
    let signed = independent_sign(TOKEN, false, &format!("{URL}?{query}"), &[]);
    let result = fixture
        .handle(
            &http::Method::POST,
            Some(&query),
            body,
            Some("application/json"),
            Some(&signed),
            None,
            T0,
        )
        .await;
    fixture.assert_refused(result, 400, "malformed").await;
}

#[tokio::test]
async fn events_about_other_users_services_or_requests_are_refused() {
    let fixture = Fixture::new().await;
    // Bob's factor claiming Alice's request.
    let mut bobs = event("ev-1", "challenge.approved");
    bobs[4] = ("entity_identity", "fedcba9876543210fedcba9876543210");
    bobs[5] = ("factor_sid", "YF00000000000000000000000000000002");
    let result = fixture.signed_form(&bobs).await;
    fixture.assert_refused(result, 403, "user_mismatch").await;
    // Alice's entity with a factor she does not hold.
    let mut unknown_factor = event("ev-2", "challenge.approved");
    unknown_factor[5] = ("factor_sid", "YF00000000000000000000000000000009");
    let result = fixture.signed_form(&unknown_factor).await;
    fixture.assert_refused(result, 403, "user_mismatch").await;
    // Another service of the same account.
    let mut other_service = event("ev-3", "challenge.approved");
    other_service[3] = ("service_sid", "VA00000000000000000000000000000002");
    let result = fixture.signed_form(&other_service).await;
    fixture.assert_refused(result, 403, "wrong_service").await;
    // A challenge this application never made.
    let mut unknown = event("ev-4", "challenge.approved");
    unknown[7] = ("challenge_sid", "YC00000000000000000000000000000009");
    let result = fixture.signed_form(&unknown).await;
    fixture.assert_refused(result, 404, "unknown_request").await;
    // None of the refusals used up a uuid: the genuine event still records.
    let outcome = fixture
        .signed_form(&event("ev-1", "challenge.approved"))
        .await
        .unwrap();
    assert!(matches!(outcome, VerifyOutcome::Recorded(_)), "{outcome:?}");
}

/// Verify's events carry no time: an event is stale when its request has
/// expired, and then it is refused as final.
#[tokio::test]
async fn a_late_event_for_an_expired_request_is_refused() {
    let fixture = Fixture::new().await;
    let pairs = event("ev-late", "challenge.approved");
    let body = form(&pairs);
    let signature = independent_sign(TOKEN, false, URL, &pairs);
    let later = T0 + 301;
    let result = fixture
        .handle(
            &http::Method::POST,
            None,
            &body,
            None,
            Some(&signature),
            None,
            later,
        )
        .await;
    let error = result.unwrap_err();
    assert_eq!(
        (error.status().as_u16(), error.code()),
        (409, "already_final")
    );
    assert!(error.to_string().contains("expired"), "{error}");
    let record = fixture.store.approval(CHALLENGE, at(later)).await.unwrap();
    assert_eq!(record.unwrap().status, ApprovalStatus::Expired);
}

#[tokio::test]
async fn factor_events_and_totp_challenges_are_acknowledged_and_ignored() {
    let fixture = Fixture::new().await;
    let verified = [
        ("uuid", "ev-f"),
        ("type", "factor.verified"),
        ("service_sid", SERVICE),
        ("entity_identity", ENTITY),
        ("factor_sid", FACTOR),
        ("factor_type", "push"),
    ];
    assert_eq!(
        fixture.signed_form(&verified).await.unwrap(),
        VerifyOutcome::Ignored(EventType::FactorVerified)
    );
    let mut totp = event("ev-t", "challenge.approved");
    totp[6] = ("factor_type", "totp");
    assert_eq!(
        fixture.signed_form(&totp).await.unwrap(),
        VerifyOutcome::Ignored(EventType::ChallengeApproved)
    );
    assert_eq!(fixture.status().await, ApprovalStatus::Pending);
    // Unsigned, even an ignorable event is refused.
    let result = fixture.post_form(&verified, Some("bm9wZQ==")).await;
    fixture.assert_refused(result, 401, "bad_signature").await;
}

#[test]
fn the_builder_needs_an_absolute_public_url() {
    let store: SharedStore = Arc::new(MemoryStore::new());
    let missing = VerifyWebhook::builder(TOKEN).build(store.clone());
    assert!(missing.is_err());
    let relative = VerifyWebhook::builder(TOKEN)
        .with_public_url("/2fa/verify/callback")
        .build(store.clone());
    assert!(relative.is_err());
    let empty_key = VerifyWebhook::builder("").with_public_url(URL).build(store);
    assert!(empty_key.is_err());
}
