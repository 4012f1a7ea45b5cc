//! Store errors keep their kind and their source.

use std::error::Error as StdError;

type Source = Box<dyn StdError + Send + Sync + 'static>;

/// Why a store operation failed. A failed operation changes nothing.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The backing storage could not be reached or did not answer (a pool
    /// timeout, a dropped connection). Retrying later may succeed.
    #[error("the store is unavailable")]
    Unavailable(#[source] Source),
    /// The operation lost a race or its precondition did not hold: a request
    /// already final, a factor in another state, a duplicate id.
    #[error("conflict: {0}")]
    Conflict(String),
    /// The provider identity (a phone, an Authy ID) is bound to another
    /// user's factor, and this binding is exclusive.
    #[error("the identity is bound to another user")]
    IdentityInUse,
    /// The record the operation needs does not exist.
    #[error("not found: {0}")]
    NotFound(String),
    /// A stored record could not be read back (an unknown status name, a
    /// timestamp out of range): the storage holds something this version did
    /// not write.
    #[error("corrupt record: {0}")]
    Corrupt(String),
    /// The caller asked for something the contract forbids.
    #[error("invalid input: {0}")]
    InvalidInput(String),
    /// Any other failure of the backing storage.
    #[error("store backend error")]
    Backend(#[source] Source),
}

impl StoreError {
    /// A store that cannot be reached.
    pub fn unavailable(source: impl Into<Source>) -> Self {
        Self::Unavailable(source.into())
    }

    /// Another backend failure.
    pub fn backend(source: impl Into<Source>) -> Self {
        Self::Backend(source.into())
    }

    /// Whether this is a [`StoreError::Conflict`].
    pub fn is_conflict(&self) -> bool {
        matches!(self, Self::Conflict(_))
    }

    /// Whether this is a [`StoreError::NotFound`].
    pub fn is_not_found(&self) -> bool {
        matches!(self, Self::NotFound(_))
    }
}
