//! The pure domain of Tessera.
//!
//! Everything here is deterministic computation over values: identifiers,
//! secret formats, password hashing, permission algebra, resource schemas,
//! names and error codes. Nothing here touches a database, a socket or an
//! async runtime, so every rule can be unit- and property-tested in isolation
//! and reused by the CLI, the server and the access engine alike.

pub mod access_change;
pub mod audit;
pub mod credentials;
pub mod documents;
pub mod error_code;
pub mod id;
pub mod names;
pub mod password;
pub mod permissions;
pub mod records;
pub mod resources;
pub mod schema;
pub mod secret;
pub mod two_factor;
pub mod usage;
pub mod webhooks;

pub use error_code::ErrorCode;
