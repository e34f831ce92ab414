//! The SQLite and PostgreSQL migrations build the same schema: the same
//! tables, the same columns in the same order, the same NOT NULL-ness, the
//! same defaults and the same type families, once dialect spellings are
//! set aside. Known differences are listed, each with its reason.

use crate::harness::{Backend, Column, TestDb};

/// A column as both dialects should agree on it.
#[derive(Debug, PartialEq, Eq)]
struct Comparable {
    table: String,
    name: String,
    type_family: String,
    not_null: bool,
    default: Option<String>,
}

/// Differences that are known and accepted: (table, column, what differs,
/// why). Anything else that differs fails the test.
const KNOWN_DIFFERENCES: &[(&str, &str, &str, &str)] = &[
    ("access_changes", "seq", "not null", ROWID_NOT_NULL),
    ("access_changes", "seq", "default", ROWID_DEFAULT),
    ("webhook_events", "seq", "not null", ROWID_NOT_NULL),
    ("webhook_events", "seq", "default", ROWID_DEFAULT),
    ("webhook_attempts", "id", "not null", ROWID_NOT_NULL),
    ("webhook_attempts", "id", "default", ROWID_DEFAULT),
];

const ROWID_NOT_NULL: &str = "SQLite's INTEGER PRIMARY KEY AUTOINCREMENT is the rowid, never NULL, \
     though table_info does not call it NOT NULL; PostgreSQL's BIGSERIAL is declared NOT NULL";
const ROWID_DEFAULT: &str = "both number new rows themselves: SQLite through the rowid, \
     PostgreSQL through BIGSERIAL's sequence (nextval)";

/// The family of a declared type: what values it holds, not how wide.
fn type_family(declared: &str) -> String {
    let declared = declared.to_ascii_lowercase();
    let family = match declared.as_str() {
        "integer" | "bigint" | "smallint" | "int" => "integer",
        "text" | "character varying" | "varchar" => "text",
        "blob" | "bytea" => "bytes",
        "real" | "double precision" | "double" | "float" => "real",
        // SQLite has no boolean type: its migrations store booleans as 0/1
        // integers where PostgreSQL's use BOOLEAN.
        "boolean" => "integer",
        other => other,
    };
    family.to_owned()
}

/// A default with the dialects' spellings set aside: casts such as `::text`,
/// surrounding parentheses, and booleans written as `false`/`true`.
fn normalised_default(default: &str) -> String {
    let mut text = without_casts(default.trim());
    while text.starts_with('(') && text.ends_with(')') {
        text = text[1..text.len() - 1].trim().to_owned();
    }
    match text.to_ascii_lowercase().as_str() {
        "false" => "0".to_owned(),
        "true" => "1".to_owned(),
        _ => text,
    }
}

/// `text` without PostgreSQL casts such as `::text`, `::bigint` or
/// `::character varying`.
fn without_casts(text: &str) -> String {
    let mut rest = text;
    let mut kept = String::new();
    while let Some(cast) = rest.find("::") {
        kept.push_str(&rest[..cast]);
        let after = &rest[cast + 2..];
        let type_name_length = after
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ' '))
            .unwrap_or(after.len());
        rest = &after[type_name_length..];
    }
    kept.push_str(rest);
    kept.trim().to_owned()
}

fn comparable(column: &Column) -> Comparable {
    Comparable {
        table: column.table.clone(),
        name: column.name.clone(),
        type_family: type_family(&column.declared_type),
        not_null: column.not_null,
        default: column.default.as_deref().map(normalised_default),
    }
}

async fn migrated_columns(backend: Backend) -> (TestDb, Vec<Column>) {
    let test_db = TestDb::new(backend).await;
    test_db
        .connect()
        .await
        .migrate()
        .await
        .expect("migrate test database");
    let columns = test_db.columns().await;
    (test_db, columns)
}

#[tokio::test]
async fn sqlite_and_postgres_migrations_build_the_same_schema() {
    let (_sqlite_db, sqlite) = migrated_columns(Backend::Sqlite).await;
    let (_postgres_db, postgres) = migrated_columns(Backend::Postgres).await;
    assert!(!sqlite.is_empty() && !postgres.is_empty(), "no tables read");

    let tables = |columns: &[Column]| {
        let mut names: Vec<String> = columns.iter().map(|c| c.table.clone()).collect();
        names.dedup();
        names
    };
    assert_eq!(tables(&sqlite), tables(&postgres), "the same tables");
    for table in tables(&sqlite) {
        let names = |columns: &[Column]| -> Vec<String> {
            columns
                .iter()
                .filter(|c| c.table == table)
                .map(|c| c.name.clone())
                .collect()
        };
        assert_eq!(
            names(&sqlite),
            names(&postgres),
            "the columns of {table}, in order"
        );
    }

    let mut differences = Vec::new();
    for (lite, pg) in sqlite.iter().zip(&postgres) {
        let (lite, pg) = (comparable(lite), comparable(pg));
        for (what, differs) in [
            ("type", lite.type_family != pg.type_family),
            ("not null", lite.not_null != pg.not_null),
            ("default", lite.default != pg.default),
        ] {
            if differs {
                differences.push((
                    lite.table.clone(),
                    lite.name.clone(),
                    what,
                    lite_vs_pg(&lite, &pg),
                ));
            }
        }
    }
    let unexplained: Vec<_> = differences
        .iter()
        .filter(|(table, column, what, _)| {
            !KNOWN_DIFFERENCES
                .iter()
                .any(|(t, c, w, _)| t == table && c == column && w == what)
        })
        .collect();
    assert!(unexplained.is_empty(), "{unexplained:#?}");
    for (table, column, what, why) in KNOWN_DIFFERENCES {
        assert!(
            differences
                .iter()
                .any(|(t, c, w, _)| t == table && c == column && w == what),
            "{table}.{column} no longer differs in {what} ({why}): remove it from KNOWN_DIFFERENCES"
        );
    }
}

fn lite_vs_pg(lite: &Comparable, pg: &Comparable) -> String {
    format!("sqlite {lite:?} / postgres {pg:?}")
}
