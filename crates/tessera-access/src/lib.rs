//! Tessera's access engine: everything that decides whether a request may
//! proceed before any handler runs. It knows nothing of HTTP; the server
//! hands it plain values (addresses, header values) and gets verdicts back.

mod changes;
pub mod client_ip;
mod key_cache;
pub mod keys;
pub mod rate_limit;
pub mod throttle;
mod uses;
