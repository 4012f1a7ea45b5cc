//! Pairing a device the provider already knows (a push factor that the
//! application's mobile app registered with Twilio Verify's SDK) as a new
//! factor of the user.
//!
//! A device is added beside a factor the user already has, by a session
//! that just proved one (as for every new factor while two-factor sign-in
//! is on): a phone alone is no way back in when it is lost, so it is never
//! the first factor. The provider confirms the device is ready and the
//! user's before anything is stored.

use std::time::SystemTime;

use super::Rules;
use super::enrollment::is_on;
use crate::method::{Ability, ProviderError};
use crate::session::SecondFactorMethod;
use crate::store::{Factor, FactorKind, StoreError, UserId};

/// Why a device was not paired; nothing was stored.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PairError {
    /// The session has no signed-in user.
    #[error("nobody is signed in")]
    NotSignedIn,
    /// The user has no second factor yet: a device is added beside one.
    #[error("add another second factor first")]
    NoFactorYet,
    /// The session must pass a second factor (again) first.
    #[error("confirm with a second factor first")]
    FreshFactorRequired,
    /// The device is already one of the user's factors.
    #[error("the device is already paired")]
    AlreadyPaired,
    /// The device is another account's.
    #[error("the device is set up on another account")]
    IdentityInUse,
    /// No method here pairs devices of that kind.
    #[error("this kind of factor cannot pair a device")]
    NotSupported,
    /// The provider refused (no such device for this user, not ready) or
    /// could not be reached.
    #[error(transparent)]
    Provider(#[from] ProviderError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl Rules {
    /// Adds the device `device_ref` (its provider's id, a Verify factor SID)
    /// as `user`'s factor of `kind`, active at once.
    pub(crate) async fn pair_device(
        &self,
        user: &UserId,
        kind: FactorKind,
        device_ref: &str,
        passed: Option<(SecondFactorMethod, SystemTime)>,
        now: SystemTime,
    ) -> Result<Factor, PairError> {
        let method = self
            .methods
            .of(kind)
            .filter(|method| method.abilities().contains(&Ability::RegisterDevice))
            .ok_or(PairError::NotSupported)?;
        let factors = self.store.factors(user).await?;
        if !is_on(&factors) {
            return Err(PairError::NoFactorYet);
        }
        self.may_add(&factors, passed, now)
            .map_err(|_| PairError::FreshFactorRequired)?;
        let factor = method.register_device(user, device_ref, now).await?;
        if factors
            .iter()
            .any(|known| known.kind == factor.kind && known.provider_ref == factor.provider_ref)
        {
            return Err(PairError::AlreadyPaired);
        }
        match self.store.insert_factor(&factor, self.identity_use()).await {
            Ok(()) => {
                tracing::info!(user = %user, kind = %kind.as_str(), "tower-authy: device paired");
                self.events.tell(crate::events::SecurityEvent::FactorAdded {
                    user: user.clone(),
                    kind: factor.kind,
                    label: factor.label.clone(),
                });
                Ok(factor)
            }
            Err(StoreError::IdentityInUse) => Err(PairError::IdentityInUse),
            Err(error) => Err(error.into()),
        }
    }
}

#[cfg(all(test, feature = "simulator"))]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::method::verify::Verify;
    use crate::method::{IntoMethods as _, Methods};
    use crate::simulator::VerifySimulator;
    use crate::store::MemoryStore;
    use crate::verify::{Client, Credentials, Identity};

    const ACCOUNT: &str = "AC44444444444444444444444444444444";
    const TOKEN: &str = "pairingTestToken0123456789abcdef";

    struct Set {
        rules: Rules,
        phone_api: String,
        client: Client,
        service: crate::verify::ServiceSid,
    }

    async fn set_up() -> Set {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let sim = VerifySimulator::builder()
            .with_account(ACCOUNT, TOKEN)
            .with_service("Pairing")
            .with_base_url(&base)
            .build();
        let router = sim.router();
        tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
        let client = Client::builder(Credentials::auth_token(ACCOUNT, TOKEN))
            .with_base_url(&base)
            .build()
            .unwrap();
        let service: crate::verify::ServiceSid = sim.service_sids()[0].parse().unwrap();
        let mut methods = Methods::default();
        for method in Verify::new(client.clone(), service.clone()).into_methods() {
            methods.add(method).unwrap();
        }
        let rules = Rules {
            store: Arc::new(MemoryStore::new()),
            methods,
            policy: crate::config::Policy::default(),
            sealer: None,
            events: crate::events::Listener::default(),
        };
        Set {
            rules,
            phone_api: format!("{base}/phone/api/verify"),
            client,
            service,
        }
    }

    impl Set {
        /// A push device registered on the virtual phone for `user`.
        async fn device(&self, user: &str) -> String {
            let answer: serde_json::Value = reqwest::Client::new()
                .post(format!("{}/push-factors", self.phone_api))
                .form(&[("identity", Identity::for_user(user).as_str())])
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            answer["sid"].as_str().unwrap().to_owned()
        }

        async fn with_phone(&self, user: &str) {
            let phone = Factor::pending(
                UserId::new(user),
                FactorKind::VerifySms,
                "Phone",
                "+15017122661",
                SystemTime::now(),
            )
            .activated();
            self.rules
                .store
                .insert_factor(&phone, crate::store::IdentityUse::Exclusive)
                .await
                .unwrap();
        }

        async fn pair(&self, user: &str, device: &str, fresh: bool) -> Result<Factor, PairError> {
            let now = SystemTime::now();
            let passed = fresh.then_some((SecondFactorMethod::Code, now));
            self.rules
                .pair_device(
                    &UserId::new(user),
                    FactorKind::VerifyPush,
                    device,
                    passed,
                    now,
                )
                .await
        }

        async fn count(&self, user: &str) -> usize {
            self.rules
                .store
                .factors(&UserId::new(user))
                .await
                .unwrap()
                .len()
        }
    }

    #[tokio::test]
    async fn a_users_own_ready_device_pairs_once() {
        let set = set_up().await;
        set.with_phone("alice").await;
        let device = set.device("alice").await;
        let factor = set.pair("alice", &device, true).await.unwrap();
        assert!(factor.is_active());
        assert_eq!(factor.kind, FactorKind::VerifyPush);
        assert_eq!(
            factor.provider_ref,
            format!("{}:{device}", Identity::for_user("alice"))
        );
        assert_eq!(set.count("alice").await, 2);
        assert!(matches!(
            set.pair("alice", &device, true).await,
            Err(PairError::AlreadyPaired)
        ));
        assert_eq!(set.count("alice").await, 2);
    }

    #[tokio::test]
    async fn bad_pairings_are_refused_and_store_nothing() {
        let set = set_up().await;
        set.with_phone("alice").await;
        let own = set.device("alice").await;
        let bobs = set.device("bob").await;
        // Not just after a second factor.
        assert!(matches!(
            set.pair("alice", &own, false).await,
            Err(PairError::FreshFactorRequired)
        ));
        // Another user's device: not found under Alice's entity.
        assert!(matches!(
            set.pair("alice", &bobs, true).await,
            Err(PairError::Provider(ProviderError::InvalidInput(_)))
        ));
        assert!(matches!(
            set.pair("alice", "not-a-sid", true).await,
            Err(PairError::Provider(ProviderError::InvalidInput(_)))
        ));
        // A device that has not finished registering (no signed payload yet).
        let identity = Identity::for_user("alice");
        let token = set
            .client
            .service(&set.service)
            .access_tokens()
            .create(&identity, "Half-made", 60)
            .await
            .unwrap();
        let made: serde_json::Value = reqwest::Client::new()
            .post(format!(
                "{}/v2/Services/{}/Entities/{identity}/Factors",
                set.client.base_url().trim_end_matches('/'),
                set.service
            ))
            .basic_auth("token", Some(&token.token))
            .form(&[("FriendlyName", "Half-made"), ("FactorType", "push")])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let half = made["sid"].as_str().unwrap();
        assert!(matches!(
            set.pair("alice", half, true).await,
            Err(PairError::Provider(ProviderError::NotPossible(_)))
        ));
        assert_eq!(set.count("alice").await, 1, "only the phone");
        // Never the first factor.
        let carols = set.device("carol").await;
        assert!(matches!(
            set.pair("carol", &carols, true).await,
            Err(PairError::NoFactorYet)
        ));
        assert_eq!(set.count("carol").await, 0);
    }
}
