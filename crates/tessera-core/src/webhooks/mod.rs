//! Webhooks, the pure part: which events exist and what an endpoint
//! subscribes to, the payload each endpoint is sent, the Standard Webhooks
//! signature, the retry schedule, where a delivery may go, and the feed
//! of events an API key follows. Storage,
//! delivery and name resolution live in the layers above.

pub mod destination;
pub mod events;
pub mod feed;
pub mod schedule;
pub mod signing;

pub use events::{EventData, EventFilter, FieldLimits, RecordChange};
pub use schedule::RetrySchedule;
pub use signing::SigningSecret;
