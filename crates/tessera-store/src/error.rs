use std::fmt;

/// What can go wrong with a repository call, in terms callers act on.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    /// A uniqueness constraint refused the write (e.g. a taken username).
    #[error("conflict: {0}")]
    Conflict(UniqueViolation),
    /// Stored data that does not parse (e.g. a corrupted permission set).
    #[error("corrupt stored data: {0}")]
    Corrupt(String),
    #[error(transparent)]
    Database(sqlx::Error),
    /// A read on the synchronous SQLite path failed.
    #[error("database read failed: {0}")]
    Read(String),
    /// A write on the synchronous SQLite path (the usage writer) failed.
    #[error("database write failed: {0}")]
    Write(String),
}

/// The constraint a conflicting write ran into, as the database named it.
#[derive(Debug)]
pub struct UniqueViolation(pub String);

impl fmt::Display for UniqueViolation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<sqlx::Error> for StoreError {
    fn from(err: sqlx::Error) -> Self {
        match &err {
            sqlx::Error::RowNotFound => StoreError::NotFound,
            sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Conflict(
                UniqueViolation(db.constraint().unwrap_or(db.message()).to_owned()),
            ),
            _ => StoreError::Database(err),
        }
    }
}

impl From<sqlx::migrate::MigrateError> for StoreError {
    fn from(err: sqlx::migrate::MigrateError) -> Self {
        StoreError::Database(sqlx::Error::Migrate(Box::new(err)))
    }
}

/// `NotFound` unless an update touched a row.
pub(crate) fn one_row(rows: u64) -> Result<(), StoreError> {
    if rows == 0 {
        Err(StoreError::NotFound)
    } else {
        Ok(())
    }
}
