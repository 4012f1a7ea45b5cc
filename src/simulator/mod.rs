//! The local Authy simulator.
