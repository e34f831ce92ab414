//! Black-box tests of Tessera: the real router served on a random port, and
//! the real `tessera` binary, each against a fresh SQLite file and a fresh
//! PostgreSQL database. One test binary, so the suite links once.

mod harness;

mod abuse;
mod accessibility;
mod accounts;
mod admin_cli;
mod api_headers;
mod audit_api;
mod browser;
mod change_polling;
mod client_applications;
mod cluster;
mod console_admin;
mod console_audit;
mod console_consistency;
mod console_home;
mod console_key_list;
mod console_keys;
mod console_operator;
mod console_tour;
mod console_usage;
mod console_webhooks;
mod crash;
mod data_api;
mod docs;
mod events;
mod generated_clients;
mod hardening;
mod http_basics;
mod import;
mod keys_api;
mod lifecycle;
mod login;
mod metrics_listener;
mod newcomer;
mod rate_limits;
mod scale_out;
mod schema_parity;
mod storage;
mod upgrades;
mod usage;
mod verification;
mod webhook_delivery;
mod webhook_rules;
mod webhooks;
mod write_privacy;
