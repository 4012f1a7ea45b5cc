//! The methods a [`TwoFactor`](crate::TwoFactor) was built with, one per
//! factor kind, and the questions the rules ask of them: which method
//! serves this factor, can it do that, which factors go first.

use std::sync::Arc;

use super::{Ability, Method, Strength};
use crate::store::{Factor, FactorKind};

/// One method per factor kind, in the order they were added.
#[derive(Debug, Clone, Default)]
pub(crate) struct Methods {
    methods: Vec<Arc<dyn Method>>,
}

impl Methods {
    /// The registry of one method.
    #[cfg(test)]
    pub(crate) fn new(first: Arc<dyn Method>) -> Self {
        Self {
            methods: vec![first],
        }
    }

    /// Adds `method`; the kind it serves must have none yet (`Err` gives
    /// the kind back).
    pub(crate) fn add(&mut self, method: Arc<dyn Method>) -> Result<(), FactorKind> {
        let kind = method.kind();
        if self.methods.iter().any(|known| known.kind() == kind) {
            return Err(kind);
        }
        self.methods.push(method);
        Ok(())
    }

    /// The method that serves `kind`, if one was added.
    pub(crate) fn of(&self, kind: FactorKind) -> Option<&dyn Method> {
        self.methods
            .iter()
            .find(|method| method.kind() == kind)
            .map(AsRef::as_ref)
    }

    /// Whether no method was added.
    pub(crate) fn is_empty(&self) -> bool {
        self.methods.is_empty()
    }

    /// Whether factors of `kind` can do `ability` here (a kind without a
    /// method can do nothing).
    pub(crate) fn can(&self, kind: FactorKind, ability: Ability) -> bool {
        self.of(kind)
            .is_some_and(|method| method.abilities().contains(&ability))
    }

    /// How strong factors of `kind` are; `None` for a kind without a method.
    pub(crate) fn strength(&self, kind: FactorKind) -> Option<Strength> {
        self.of(kind).map(|method| Strength::of(method.abilities()))
    }

    /// The first method that can do `ability` (the phone enrollment's, the
    /// push poller's).
    pub(crate) fn first_that_can(&self, ability: Ability) -> Option<&dyn Method> {
        self.methods
            .iter()
            .find(|method| method.abilities().contains(&ability))
            .map(AsRef::as_ref)
    }

    /// The kinds whose method can do `ability`, in the order they were
    /// added.
    pub(crate) fn kinds_that_can(&self, ability: Ability) -> impl Iterator<Item = FactorKind> + '_ {
        self.methods
            .iter()
            .filter(move |method| method.abilities().contains(&ability))
            .map(|method| method.kind())
    }

    /// `factors` that a method serves, strongest first, then oldest first;
    /// factors of a kind without a method are left out (they can prove
    /// nothing here).
    pub(crate) fn ranked(&self, factors: Vec<Factor>) -> Vec<Factor> {
        let mut served: Vec<(Strength, Factor)> = factors
            .into_iter()
            .filter_map(|factor| Some((self.strength(factor.kind)?, factor)))
            .collect();
        // `sort_by_key` is stable: the store's order (oldest first) stays within
        // one strength.
        served.sort_by_key(|(strength, _)| *strength);
        served.into_iter().map(|(_, factor)| factor).collect()
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, SystemTime};

    use async_trait::async_trait;

    use super::*;
    use crate::method::Channel;
    use crate::store::UserId;

    #[derive(Debug)]
    struct Fake(&'static [Ability]);

    #[async_trait]
    impl Method for Fake {
        fn kind(&self) -> FactorKind {
            FactorKind::Authy
        }
        fn abilities(&self) -> &[Ability] {
            self.0
        }
    }

    #[test]
    fn strength_follows_what_a_kind_can_do() {
        use Ability::*;
        assert_eq!(Strength::of(&[Ceremony]), Strength::Ceremony);
        assert_eq!(Strength::of(&[CheckCode, Push]), Strength::Push);
        assert_eq!(Strength::of(&[CheckCode]), Strength::AppCode);
        assert_eq!(
            Strength::of(&[CheckCode, SendCode(Channel::Sms)]),
            Strength::SentCode
        );
        assert!(Strength::Ceremony < Strength::Push);
        assert!(Strength::Push < Strength::AppCode);
        assert!(Strength::AppCode < Strength::SentCode);
        assert_eq!(Strength::of(&[RecoveryCode]), Strength::Recovery);
        assert!(Strength::SentCode < Strength::Recovery);
    }

    #[test]
    fn one_method_per_kind_and_only_served_kinds_rank() {
        let mut methods = Methods::new(Arc::new(Fake(&[Ability::CheckCode])));
        assert_eq!(
            methods.add(Arc::new(Fake(&[Ability::Push]))),
            Err(FactorKind::Authy),
            "a second method for one kind is refused"
        );
        assert!(methods.can(FactorKind::Authy, Ability::CheckCode));
        assert!(!methods.can(FactorKind::Authy, Ability::Push));
        let now = SystemTime::now();
        let older = Factor::authy(UserId::new("a"), "1", None, now);
        let newer = Factor::authy(UserId::new("a"), "2", None, now + Duration::from_secs(1));
        let ranked = methods.ranked(vec![older.clone(), newer.clone()]);
        assert_eq!(ranked, vec![older, newer], "one strength: oldest first");
    }
}
