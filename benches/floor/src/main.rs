//! The floor: the least a server must do to answer W1 and W2 of
//! `scripts/bench-all.sh`, so Tessera's figures can be read as a fraction
//! of what this machine allows rather than of `/healthz` alone.
//!
//! It reads the same SQLite file Tessera serves and does only the essential
//! work of a field-restricted read: take the `X-API-KEY` header, SHA-256
//! it, find the hash in an in-memory map loaded at start, run one prepared
//! statement on a connection the worker thread keeps, and write the key's
//! allowed fields as JSON. No request ids, logs, metrics, rate limits,
//! expiry, revocation or checksum: everything Tessera adds is measured as
//! the gap between the two.
//!
//! Usage: `tessera-floor DATABASE_FILE LISTEN_ADDRESS`

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use rusqlite::{Connection, OpenFlags, OptionalExtension};
use serde_json::value::RawValue;
use sha2::{Digest, Sha256};
use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::Arc;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// What a key may read of employees: `None` is every field.
struct Grant {
    organization_id: String,
    employee_fields: Option<Vec<String>>,
}

struct Floor {
    database: String,
    keys: HashMap<[u8; 32], Grant>,
}

thread_local! {
    static CONNECTION: RefCell<Option<Connection>> = const { RefCell::new(None) };
}

const GET_EMPLOYEE: &str =
    "SELECT data FROM records WHERE id = ?1 AND organization_id = ?2 AND resource = 'employees'";
const LIST_EMPLOYEES: &str = "SELECT id, data FROM records WHERE organization_id = ?1 AND resource = 'employees' ORDER BY id LIMIT ?2";

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let (Some(database), Some(listen)) = (args.next(), args.next()) else {
        anyhow::bail!("usage: tessera-floor DATABASE_FILE LISTEN_ADDRESS");
    };
    let keys = load_keys(&database)?;
    let floor = Arc::new(Floor { database, keys });
    let app = Router::new()
        .route("/healthz", get(healthz))
        .route("/api/v1/employees/{id}", get(employee))
        .route("/api/v1/employees", get(employees))
        .with_state(floor);
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(async move {
            let listener = tokio::net::TcpListener::bind(&listen).await?;
            println!("floor listening on {listen}");
            axum::serve(listener, app).await?;
            Ok(())
        })
}

/// Every unrevoked key, by its SHA-256, with the employee fields its own
/// grant allows (`None`: every field).
fn load_keys(database: &str) -> anyhow::Result<HashMap<[u8; 32], Grant>> {
    let connection = open(database)?;
    let mut statement = connection.prepare(
        "SELECT key_hash, organization_id, json_extract(permissions, '$.employees.fields')
         FROM api_keys WHERE revoked_at IS NULL",
    )?;
    let mut rows = statement.query([])?;
    let mut keys = HashMap::new();
    while let Some(row) = rows.next()? {
        let fields: Option<String> = row.get(2)?;
        let grant = Grant {
            organization_id: row.get(1)?,
            employee_fields: fields.as_deref().map(serde_json::from_str).transpose()?,
        };
        let (hex, mut hash) = (row.get::<_, String>(0)?, [0u8; 32]);
        for (byte, pair) in hash.iter_mut().zip(hex.as_bytes().chunks(2)) {
            *byte = u8::from_str_radix(std::str::from_utf8(pair)?, 16)?;
        }
        keys.insert(hash, grant);
    }
    Ok(keys)
}

fn open(database: &str) -> rusqlite::Result<Connection> {
    let connection = Connection::open_with_flags(
        database,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    connection.pragma_update(None, "query_only", true)?;
    connection.pragma_update(None, "mmap_size", 256 * 1024 * 1024)?;
    Ok(connection)
}

async fn healthz() -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        r#"{"status":"ok"}"#,
    )
        .into_response()
}

fn grant<'a>(floor: &'a Floor, headers: &HeaderMap) -> Option<&'a Grant> {
    let presented = headers.get("x-api-key")?.as_bytes();
    let hash: [u8; 32] = Sha256::digest(presented).into();
    floor.keys.get(&hash)
}

/// Runs `read` on this worker thread's connection, opening it on first use.
fn with_connection<T>(
    floor: &Floor,
    read: impl FnOnce(&Connection) -> rusqlite::Result<T>,
) -> rusqlite::Result<T> {
    CONNECTION.with(|cell| {
        let mut slot = cell.borrow_mut();
        if slot.is_none() {
            *slot = Some(open(&floor.database)?);
        }
        read(slot.as_ref().expect("opened above"))
    })
}

/// Appends `{"id":…, allowed fields…}` from a stored record, streaming
/// over its JSON object: no map is built, nothing but the answer is
/// allocated.
fn write_record(out: &mut String, id: &str, data: &str, grant: &Grant) -> serde_json::Result<()> {
    out.push_str("{\"id\":");
    out.push_str(&serde_json::to_string(id)?);
    let mut deserializer = serde_json::Deserializer::from_str(data);
    serde::de::DeserializeSeed::deserialize(AllowedFields { out, grant }, &mut deserializer)?;
    out.push('}');
    Ok(())
}

struct AllowedFields<'o, 'g> {
    out: &'o mut String,
    grant: &'g Grant,
}

impl<'de> serde::de::DeserializeSeed<'de> for AllowedFields<'_, '_> {
    type Value = ();

    fn deserialize<D: serde::Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> serde::de::Visitor<'de> for AllowedFields<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a stored record's JSON object")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(name) = map.next_key::<&'de str>()? {
            let allowed = self
                .grant
                .employee_fields
                .as_ref()
                .is_none_or(|fields| fields.iter().any(|f| f == name));
            if allowed {
                let value: &'de RawValue = map.next_value()?;
                self.out.push_str(",\"");
                self.out.push_str(name);
                self.out.push_str("\":");
                self.out.push_str(value.get());
            } else {
                map.next_value::<serde::de::IgnoredAny>()?;
            }
        }
        Ok(())
    }
}

fn json(body: String) -> Response {
    ([(header::CONTENT_TYPE, "application/json")], body).into_response()
}

async fn employee(
    State(floor): State<Arc<Floor>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let Some(grant) = grant(&floor, &headers) else {
        return StatusCode::UNAUTHORIZED.into_response();
    };
    let stored = with_connection(&floor, |connection| {
        connection
            .prepare_cached(GET_EMPLOYEE)?
            .query_row([id.as_str(), grant.organization_id.as_str()], |row| {
                row.get::<_, String>(0)
            })
            .optional()
    });
    match stored {
        Ok(Some(data)) => {
            let mut body = String::with_capacity(data.len());
            match write_record(&mut body, &id, &data, grant) {
                Ok(()) => json(body),
                Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
            }
        }
        Ok(None) => StatusCode::NOT_FOUND.into_response(),
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

async fn employees(State(floor): State<Arc<Floor>>, headers: HeaderMap) -> Response {
    let Some(grant) = grant(&floor, &headers) else {
        return StatusCode::UNAUTHORIZED.into_response();
    };
    let page = with_connection(&floor, |connection| {
        let mut statement = connection.prepare_cached(LIST_EMPLOYEES)?;
        let rows = statement.query_map(rusqlite::params![grant.organization_id, 50], |row| {
            Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?))
        })?;
        rows.collect::<rusqlite::Result<Vec<_>>>()
    });
    let Ok(page) = page else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    let mut body = String::with_capacity(page.len() * 160 + 16);
    body.push_str("{\"data\":[");
    for (n, (id, data)) in page.iter().enumerate() {
        if n > 0 {
            body.push(',');
        }
        if write_record(&mut body, id, data, grant).is_err() {
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        }
    }
    body.push_str("]}");
    json(body)
}
