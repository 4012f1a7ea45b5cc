//! Entities, TOTP factors and TOTP challenges.

use tower_authy::verify::{
    ChallengeStatus, FactorStatus, FactorType, Identity, NewChallenge, NewTotpFactor, codes,
};

use super::Sim;
use crate::common::{app_code, now};

fn wrong(code: &str) -> &'static str {
    if code == "000000" { "111111" } else { "000000" }
}

#[tokio::test]
async fn a_totp_factor_is_created_confirmed_and_challenged() {
    let sim = Sim::new().await;
    let service = sim.client.service(&sim.service);
    let identity = Identity::for_user("alice");
    let entity = service.entities().create(&identity).await.unwrap();
    assert_eq!(entity.identity, identity);
    assert_eq!(
        service.entities().fetch(&identity).await.unwrap().sid,
        entity.sid
    );
    let again = service.entities().create(&identity).await.unwrap_err();
    assert!(
        again.status().is_some_and(|s| s.is_client_error()),
        "{again}"
    );

    let factors = service.factors(&identity);
    let created = factors
        .create_totp(&NewTotpFactor::new("Alice's phone"))
        .await
        .unwrap();
    assert_eq!(created.status, FactorStatus::Unverified);
    assert_eq!(created.factor_type, FactorType::Totp);
    let binding = created.binding.clone().expect("the seed, this once");
    assert_eq!(binding.secret.len(), 32, "20 bytes in Base32");
    assert!(
        binding
            .uri
            .starts_with("otpauth://totp/Sim%20Test:Alice%27s%20phone?secret=")
    );
    assert!(format!("{binding:?}").find(&binding.secret).is_none());
    // The simulator's code is RFC 6238 as an authenticator app computes it.
    let before = now();
    let shown = sim.phone(&format!("factors/{}/code", created.sid)).await;
    let after = now();
    let code = shown["code"].as_str().unwrap().to_owned();
    assert!(
        code == app_code(&binding.secret, before) || code == app_code(&binding.secret, after),
        "{code}"
    );
    // Fetch never shows the seed again.
    let fetched = factors.fetch(&created.sid).await.unwrap();
    assert!(fetched.binding.is_none());

    // A challenge on an unverified factor is refused.
    let early = service
        .challenges(&identity)
        .create(&NewChallenge::totp(created.sid.clone(), code.clone()))
        .await
        .unwrap_err();
    assert_eq!(early.code(), Some(codes::FACTOR_UNVERIFIED));

    let wrong_code = factors.verify(&created.sid, wrong(&code)).await.unwrap();
    assert_eq!(wrong_code.status, FactorStatus::Unverified);
    let verified = factors.verify(&created.sid, &code).await.unwrap();
    assert_eq!(verified.status, FactorStatus::Verified);

    let challenges = service.challenges(&identity);
    let pending = challenges
        .create(&NewChallenge::totp(created.sid.clone(), wrong(&code)))
        .await
        .unwrap();
    assert_eq!(pending.status, ChallengeStatus::Pending);
    let answered = challenges.update(&pending.sid, &code).await.unwrap();
    assert_eq!(answered.status, ChallengeStatus::Approved);
    assert!(answered.date_responded.is_some());
    let direct = challenges
        .create(&NewChallenge::totp(created.sid.clone(), code.clone()))
        .await
        .unwrap();
    assert_eq!(direct.status, ChallengeStatus::Approved);
    let listed = challenges.list(Some(&created.sid), None).await.unwrap();
    assert_eq!(listed.len(), 2);
    assert_eq!(listed[0].sid, direct.sid, "newest first");
    let approved = challenges
        .list(None, Some(ChallengeStatus::Approved))
        .await
        .unwrap();
    assert_eq!(approved.len(), 2);

    assert_eq!(factors.list().await.unwrap().len(), 1);
    factors.delete(&created.sid).await.unwrap();
    assert!(
        factors
            .fetch(&created.sid)
            .await
            .unwrap_err()
            .is_not_found()
    );
    service.entities().delete(&identity).await.unwrap();
    assert!(
        service
            .entities()
            .fetch(&identity)
            .await
            .unwrap_err()
            .is_not_found()
    );
}

#[tokio::test]
async fn wrong_codes_are_limited_and_late_challenges_expire() {
    let sim = Sim::new().await;
    let service = sim.client.service(&sim.service);
    let identity = Identity::for_user("bob");
    let factors = service.factors(&identity);
    // No entity yet: the simulator makes it (spec §7.4's lenient choice).
    let created = factors
        .create_totp(&NewTotpFactor::new("Bob"))
        .await
        .unwrap();
    let code = sim.phone(&format!("factors/{}/code", created.sid)).await["code"]
        .as_str()
        .unwrap()
        .to_owned();
    for _ in 0..5 {
        let factor = factors.verify(&created.sid, wrong(&code)).await.unwrap();
        assert_eq!(factor.status, FactorStatus::Unverified);
    }
    let sixth = factors.verify(&created.sid, &code).await.unwrap_err();
    assert_eq!(sixth.code(), Some(codes::FACTOR_ATTEMPTS));

    let second = factors
        .create_totp(&NewTotpFactor::new("Bob 2"))
        .await
        .unwrap();
    let code = sim.phone(&format!("factors/{}/code", second.sid)).await["code"]
        .as_str()
        .unwrap()
        .to_owned();
    factors.verify(&second.sid, &code).await.unwrap();
    let challenges = service.challenges(&identity);
    let pending = challenges
        .create(&NewChallenge::totp(second.sid.clone(), wrong(&code)))
        .await
        .unwrap();
    for _ in 0..4 {
        let answered = challenges.update(&pending.sid, wrong(&code)).await.unwrap();
        assert_eq!(answered.status, ChallengeStatus::Pending);
    }
    let sixth = challenges.update(&pending.sid, &code).await.unwrap_err();
    assert_eq!(sixth.code(), Some(codes::CHALLENGE_ATTEMPTS));

    let late = challenges
        .create(&NewChallenge::totp(second.sid.clone(), wrong(&code)))
        .await
        .unwrap();
    sim.advance(301);
    assert_eq!(
        challenges.fetch(&late.sid).await.unwrap().status,
        ChallengeStatus::Expired
    );
    let refused = challenges.update(&late.sid, "123456").await.unwrap_err();
    assert_eq!(refused.code(), Some(codes::CHALLENGE_EXPIRED));
    // An unverified factor ages out after an hour.
    let stale = factors
        .create_totp(&NewTotpFactor::new("Bob 3"))
        .await
        .unwrap();
    sim.advance(3601);
    assert!(factors.fetch(&stale.sid).await.unwrap_err().is_not_found());
}
