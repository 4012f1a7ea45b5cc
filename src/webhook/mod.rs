//! OneTouch callbacks (webhooks): the signature of spec §4.3.
//!
//! The verification here is framework-free; the axum route that receives
//! callbacks is a thin adapter over it.

pub mod signature;
