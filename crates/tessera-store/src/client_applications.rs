//! Applications for an API client: a company applies on the
//! public form; the operator approves (creating the client) or rejects.

use crate::api_clients::{INSERT_CLIENT, NewClient};
use crate::{Db, StoreError, Tx, now_ms, on_pool, on_tx};
use tessera_core::names::DisplayName;
use tessera_core::secret::random_base62;

/// Random base62 characters after `apl_` in a reference (≈ 143 bits).
pub const REFERENCE_RANDOM_LEN: usize = 24;

/// How many requests a day the applicant expects to make.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExpectedVolume {
    Under10k,
    From10kTo100k,
    Over100k,
}

impl ExpectedVolume {
    pub const ALL: [ExpectedVolume; 3] = [
        ExpectedVolume::Under10k,
        ExpectedVolume::From10kTo100k,
        ExpectedVolume::Over100k,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            ExpectedVolume::Under10k => "under_10k",
            ExpectedVolume::From10kTo100k => "10k_to_100k",
            ExpectedVolume::Over100k => "over_100k",
        }
    }

    pub fn parse(value: &str) -> Option<ExpectedVolume> {
        Self::ALL.into_iter().find(|v| v.as_str() == value)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApplicationStatus {
    Pending,
    Approved,
    Rejected,
}

impl ApplicationStatus {
    pub const fn as_str(self) -> &'static str {
        match self {
            ApplicationStatus::Pending => "pending",
            ApplicationStatus::Approved => "approved",
            ApplicationStatus::Rejected => "rejected",
        }
    }

    fn parse(value: &str) -> Result<ApplicationStatus, StoreError> {
        match value {
            "pending" => Ok(ApplicationStatus::Pending),
            "approved" => Ok(ApplicationStatus::Approved),
            "rejected" => Ok(ApplicationStatus::Rejected),
            other => Err(StoreError::Corrupt(format!(
                "unknown application status '{other}'"
            ))),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Application {
    /// `apl_…`: the applicant's reference.
    pub reference: String,
    pub company: String,
    pub contact_email: String,
    pub purpose: String,
    pub expected_volume: ExpectedVolume,
    pub status: ApplicationStatus,
    pub rejection_reason: Option<String>,
    pub client_id: Option<String>,
    pub created_at: i64,
    pub decided_at: Option<i64>,
    /// The username of the operator who decided.
    pub decided_by: Option<String>,
}

#[derive(sqlx::FromRow)]
struct ApplicationRow {
    id: String,
    company: String,
    contact_email: String,
    purpose: String,
    expected_volume: String,
    status: String,
    rejection_reason: Option<String>,
    client_id: Option<String>,
    created_at: i64,
    decided_at: Option<i64>,
    decided_by: Option<String>,
}

impl TryFrom<ApplicationRow> for Application {
    type Error = StoreError;

    fn try_from(row: ApplicationRow) -> Result<Self, StoreError> {
        Ok(Application {
            expected_volume: ExpectedVolume::parse(&row.expected_volume).ok_or_else(|| {
                StoreError::Corrupt(format!("unknown expected volume '{}'", row.expected_volume))
            })?,
            status: ApplicationStatus::parse(&row.status)?,
            reference: row.id,
            company: row.company,
            contact_email: row.contact_email,
            purpose: row.purpose,
            rejection_reason: row.rejection_reason,
            client_id: row.client_id,
            created_at: row.created_at,
            decided_at: row.decided_at,
            decided_by: row.decided_by,
        })
    }
}

macro_rules! select_sql {
    () => {
        "SELECT id, company, contact_email, purpose, expected_volume, status,
         rejection_reason, client_id, created_at, decided_at, decided_by FROM client_applications"
    };
}

/// What an applicant submits, already validated.
pub struct NewApplication<'a> {
    pub company: &'a DisplayName,
    pub contact_email: &'a str,
    pub purpose: &'a str,
    pub expected_volume: ExpectedVolume,
}

/// Stores a pending application under a new random reference.
pub async fn submit(tx: &mut Tx, new: &NewApplication<'_>) -> Result<Application, StoreError> {
    let application = Application {
        reference: format!("apl_{}", random_base62(REFERENCE_RANDOM_LEN)),
        company: new.company.as_str().to_owned(),
        contact_email: new.contact_email.to_owned(),
        purpose: new.purpose.to_owned(),
        expected_volume: new.expected_volume,
        status: ApplicationStatus::Pending,
        rejection_reason: None,
        client_id: None,
        created_at: now_ms(),
        decided_at: None,
        decided_by: None,
    };
    on_tx!(tx, |conn| {
        sqlx::query(
            "INSERT INTO client_applications
                 (id, company, contact_email, purpose, expected_volume, status, created_at)
             VALUES ($1, $2, $3, $4, $5, 'pending', $6)",
        )
        .bind(&application.reference)
        .bind(&application.company)
        .bind(&application.contact_email)
        .bind(&application.purpose)
        .bind(application.expected_volume.as_str())
        .bind(application.created_at)
        .execute(&mut *conn)
        .await?;
    });
    Ok(application)
}

pub async fn find(db: &Db, reference: &str) -> Result<Option<Application>, StoreError> {
    let sql = concat!(select_sql!(), " WHERE id = $1");
    let row: Option<ApplicationRow> = on_pool!(db, |pool| {
        sqlx::query_as(sql)
            .bind(reference)
            .fetch_optional(pool)
            .await?
    });
    row.map(Application::try_from).transpose()
}

/// The operator's queue: every pending application, oldest first, and the
/// most recently decided ones.
pub struct Queue {
    pub pending: Vec<Application>,
    pub decided: Vec<Application>,
}

pub async fn queue(db: &Db, decided_limit: i64) -> Result<Queue, StoreError> {
    let pending_sql = concat!(
        select_sql!(),
        " WHERE status = 'pending' ORDER BY created_at, id"
    );
    let decided_sql = concat!(
        select_sql!(),
        " WHERE status <> 'pending' ORDER BY decided_at DESC, id LIMIT $1"
    );
    let (pending, decided): (Vec<ApplicationRow>, Vec<ApplicationRow>) = on_pool!(db, |pool| {
        (
            sqlx::query_as(pending_sql).fetch_all(pool).await?,
            sqlx::query_as(decided_sql)
                .bind(decided_limit)
                .fetch_all(pool)
                .await?,
        )
    });
    Ok(Queue {
        pending: pending
            .into_iter()
            .map(Application::try_from)
            .collect::<Result<_, _>>()?,
        decided: decided
            .into_iter()
            .map(Application::try_from)
            .collect::<Result<_, _>>()?,
    })
}

/// The outcome of deciding an application.
#[derive(Debug)]
pub enum Decided<T> {
    Done(T),
    NotFound,
    /// Someone decided it first.
    AlreadyDecided(ApplicationStatus),
}

/// Approves a pending application: creates the client `client_name` (the
/// company's name unless the operator chose another) with a new credential
/// and links it, in one transaction. A taken client name is
/// [`StoreError::Conflict`] and changes nothing.
pub async fn approve(
    tx: &mut Tx,
    reference: &str,
    client_name: &DisplayName,
    decided_by: &str,
) -> Result<Decided<NewClient>, StoreError> {
    let new = NewClient::generate(client_name);
    let approved = on_tx!(tx, |conn| {
        // Deciding first makes a second approval (a double click, another
        // operator) find nothing pending instead of a taken client name.
        let decided = sqlx::query(
            "UPDATE client_applications
             SET status = 'approved', decided_at = $1, decided_by = $2
             WHERE id = $3 AND status = 'pending'",
        )
        .bind(new.client.created_at)
        .bind(decided_by)
        .bind(reference)
        .execute(&mut *conn)
        .await?
        .rows_affected();
        if decided == 1 {
            sqlx::query(INSERT_CLIENT)
                .bind(new.client.id.as_str())
                .bind(&new.client.name)
                .bind(new.credential.hash.as_str())
                .bind(&new.client.credential_hint)
                .bind(new.client.created_at)
                .execute(&mut *conn)
                .await?;
            sqlx::query("UPDATE client_applications SET client_id = $1 WHERE id = $2")
                .bind(new.client.id.as_str())
                .bind(reference)
                .execute(&mut *conn)
                .await?;
        }
        decided == 1
    });
    if approved {
        Ok(Decided::Done(new))
    } else {
        not_pending(tx, reference).await
    }
}

/// Rejects a pending application with the operator's reason.
pub async fn reject(
    tx: &mut Tx,
    reference: &str,
    reason: &str,
    decided_by: &str,
) -> Result<Decided<()>, StoreError> {
    let updated = on_tx!(tx, |conn| {
        sqlx::query(
            "UPDATE client_applications
             SET status = 'rejected', rejection_reason = $1, decided_at = $2, decided_by = $3
             WHERE id = $4 AND status = 'pending'",
        )
        .bind(reason)
        .bind(now_ms())
        .bind(decided_by)
        .bind(reference)
        .execute(&mut *conn)
        .await?
        .rows_affected()
    });
    if updated == 1 {
        Ok(Decided::Done(()))
    } else {
        not_pending(tx, reference).await
    }
}

/// Why a decision found nothing to decide, read in the deciding transaction.
async fn not_pending<T>(tx: &mut Tx, reference: &str) -> Result<Decided<T>, StoreError> {
    let status: Option<String> = on_tx!(tx, |conn| {
        sqlx::query_scalar("SELECT status FROM client_applications WHERE id = $1")
            .bind(reference)
            .fetch_optional(&mut *conn)
            .await?
    });
    Ok(match status {
        None => Decided::NotFound,
        Some(status) => Decided::AlreadyDecided(ApplicationStatus::parse(&status)?),
    })
}
