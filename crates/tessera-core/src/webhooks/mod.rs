//! Webhooks, the pure part: which events exist and what an endpoint
//! subscribes to, the payload each endpoint is sent, the Standard Webhooks
//! signature, the retry schedule, and where a delivery may go. Storage,
//! delivery and name resolution live in the layers above.

pub mod destination;
pub mod events;
pub mod schedule;
pub mod signing;

pub use events::{EventData, EventFilter, FieldLimits, RecordChange};
pub use schedule::RetrySchedule;
pub use signing::SigningSecret;
