//! The Authy REST API client.
