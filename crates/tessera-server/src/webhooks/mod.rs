//! Webhook delivery: the worker that sends queued messages, and the guard
//! that keeps them from reaching addresses they must not.

pub mod guard;
pub mod worker;
