//! Webhook endpoints, and (in [`delivery`]) the outbox of events and
//! messages with their attempts. Every function takes the organisation id
//! where a person asks, so no call reaches another tenant's endpoints; the
//! delivery worker's functions work across organisations by design.

pub mod delivery;

use crate::{Db, StoreError, Tx, on_pool, on_tx};
use tessera_core::id::{EndpointId, OrganizationId};
use tessera_core::webhooks::{EventFilter, FieldLimits, SigningSecret};

const COLUMNS: &str = "id, organization_id, url, description, events, fields, enabled, \
     disabled_reason, disabled_at, secret, previous_secret, previous_secret_until, \
     failing_since, created_at, updated_at";

/// An endpoint as stored.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Endpoint {
    #[sqlx(try_from = "String")]
    pub id: EndpointId,
    #[sqlx(try_from = "String")]
    pub organization_id: OrganizationId,
    pub url: String,
    pub description: String,
    /// JSON list of event types and wildcards.
    pub events: String,
    /// JSON object of field limits, or none.
    pub fields: Option<String>,
    pub enabled: bool,
    /// Why Tessera disabled it (`gone`, `failing`).
    pub disabled_reason: Option<String>,
    pub disabled_at: Option<i64>,
    pub secret: String,
    pub previous_secret: Option<String>,
    pub previous_secret_until: Option<i64>,
    pub failing_since: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
}

impl Endpoint {
    /// Whether messages are being delivered to it.
    pub fn is_active(&self) -> bool {
        self.enabled && self.disabled_reason.is_none()
    }

    pub fn event_filter(&self) -> Result<EventFilter, StoreError> {
        let patterns: Vec<String> =
            serde_json::from_str(&self.events).map_err(|e| self.corrupt(e))?;
        EventFilter::parse(&patterns)
            .map_err(|bad| StoreError::Corrupt(format!("endpoint {}: events {bad:?}", self.id)))
    }

    pub fn field_limits(&self) -> Result<FieldLimits, StoreError> {
        let Some(text) = &self.fields else {
            return Ok(FieldLimits::default());
        };
        let value = serde_json::from_str(text).map_err(|e| self.corrupt(e))?;
        FieldLimits::parse(&value)
            .map_err(|bad| StoreError::Corrupt(format!("endpoint {}: fields {bad:?}", self.id)))
    }

    /// The secrets that sign a delivery made at `now`: the current one, and
    /// the previous one while a rotation's overlap lasts.
    pub fn signing_secrets(&self, now: i64) -> Result<Vec<SigningSecret>, StoreError> {
        let parse = |text: &str| {
            SigningSecret::parse(text)
                .map_err(|_| StoreError::Corrupt(format!("endpoint {}: secret", self.id)))
        };
        let mut secrets = vec![parse(&self.secret)?];
        if let (Some(previous), Some(until)) = (&self.previous_secret, self.previous_secret_until)
            && until > now
        {
            secrets.push(parse(previous)?);
        }
        Ok(secrets)
    }

    fn corrupt(&self, err: serde_json::Error) -> StoreError {
        StoreError::Corrupt(format!("endpoint {}: {err}", self.id))
    }
}

pub async fn insert(tx: &mut Tx, endpoint: &Endpoint) -> Result<(), StoreError> {
    on_tx!(tx, |conn| {
        sqlx::query(
            "INSERT INTO webhook_endpoints (id, organization_id, url, description, events, fields,
                 enabled, secret, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)",
        )
        .bind(endpoint.id.as_str())
        .bind(endpoint.organization_id.as_str())
        .bind(&endpoint.url)
        .bind(&endpoint.description)
        .bind(&endpoint.events)
        .bind(&endpoint.fields)
        .bind(endpoint.enabled)
        .bind(&endpoint.secret)
        .bind(endpoint.created_at)
        .execute(&mut *conn)
        .await?;
    });
    Ok(())
}

/// Writes back everything an administrator or the worker may change.
pub async fn save(tx: &mut Tx, endpoint: &Endpoint) -> Result<(), StoreError> {
    on_tx!(tx, |conn| {
        sqlx::query(
            "UPDATE webhook_endpoints SET url = $3, description = $4, events = $5, fields = $6,
                 enabled = $7, disabled_reason = $8, disabled_at = $9, secret = $10,
                 previous_secret = $11, previous_secret_until = $12, failing_since = $13,
                 updated_at = $14
             WHERE organization_id = $1 AND id = $2",
        )
        .bind(endpoint.organization_id.as_str())
        .bind(endpoint.id.as_str())
        .bind(&endpoint.url)
        .bind(&endpoint.description)
        .bind(&endpoint.events)
        .bind(&endpoint.fields)
        .bind(endpoint.enabled)
        .bind(&endpoint.disabled_reason)
        .bind(endpoint.disabled_at)
        .bind(&endpoint.secret)
        .bind(&endpoint.previous_secret)
        .bind(endpoint.previous_secret_until)
        .bind(endpoint.failing_since)
        .bind(endpoint.updated_at)
        .execute(&mut *conn)
        .await?;
    });
    Ok(())
}

/// Deletes the endpoint with its messages; false when there was none.
pub async fn delete(
    tx: &mut Tx,
    organization_id: &OrganizationId,
    id: &str,
) -> Result<bool, StoreError> {
    let deleted = on_tx!(tx, |conn| {
        sqlx::query("DELETE FROM webhook_endpoints WHERE organization_id = $1 AND id = $2")
            .bind(organization_id.as_str())
            .bind(id)
            .execute(&mut *conn)
            .await?
            .rows_affected()
    });
    Ok(deleted > 0)
}

/// The organisation's endpoints in id (creation) order, after `after`.
pub async fn list(
    db: &Db,
    organization_id: &OrganizationId,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<Endpoint>, StoreError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM webhook_endpoints
         WHERE organization_id = $1 AND ($2 IS NULL OR id > $2) ORDER BY id LIMIT $3"
    );
    Ok(on_pool!(db, |pool| {
        sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(organization_id.as_str())
            .bind(after)
            .bind(limit)
            .fetch_all(pool)
            .await?
    }))
}

pub async fn get(
    db: &Db,
    organization_id: &OrganizationId,
    id: &str,
) -> Result<Option<Endpoint>, StoreError> {
    let sql =
        format!("SELECT {COLUMNS} FROM webhook_endpoints WHERE organization_id = $1 AND id = $2");
    Ok(on_pool!(db, |pool| {
        sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(organization_id.as_str())
            .bind(id)
            .fetch_optional(pool)
            .await?
    }))
}

/// The endpoint, read inside a change that will write it back.
pub async fn get_for_update(
    tx: &mut Tx,
    organization_id: &OrganizationId,
    id: &str,
) -> Result<Option<Endpoint>, StoreError> {
    let sql =
        format!("SELECT {COLUMNS} FROM webhook_endpoints WHERE organization_id = $1 AND id = $2");
    Ok(on_tx!(tx, |conn| {
        sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
            .bind(organization_id.as_str())
            .bind(id)
            .fetch_optional(&mut *conn)
            .await?
    }))
}

/// The endpoints that receive the organisation's events now.
pub async fn active(
    tx: &mut Tx,
    organization_id: &OrganizationId,
) -> Result<Vec<Endpoint>, StoreError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM webhook_endpoints
         WHERE organization_id = $1 AND enabled AND disabled_reason IS NULL ORDER BY id"
    );
    Ok(on_tx!(tx, |conn| {
        sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
            .bind(organization_id.as_str())
            .fetch_all(&mut *conn)
            .await?
    }))
}

/// The endpoint whatever its organisation: for the delivery worker, which
/// serves them all.
pub async fn get_by_id(tx: &mut Tx, id: &str) -> Result<Option<Endpoint>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM webhook_endpoints WHERE id = $1");
    Ok(on_tx!(tx, |conn| {
        sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
            .bind(id)
            .fetch_optional(&mut *conn)
            .await?
    }))
}

/// The endpoint to deliver to, whatever its organisation.
pub async fn find_for_delivery(db: &Db, id: &str) -> Result<Option<Endpoint>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM webhook_endpoints WHERE id = $1");
    Ok(on_pool!(db, |pool| {
        sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .fetch_optional(pool)
            .await?
    }))
}
