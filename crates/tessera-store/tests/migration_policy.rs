//! Expand, then contract (docs/scaling.md, "Rolling upgrades"): during a
//! rolling upgrade the previous release keeps serving on the schema this
//! release migrated, so a migration may only add tables, nullable or
//! defaulted columns and indexes. Dropping, renaming or retyping what the
//! previous release reads, or requiring a value it does not write, waits
//! until one release after the code stopped using it, and its file is then
//! listed in `CONTRACTING` with the reason it is safe.

use std::path::{Path, PathBuf};

/// The last migration that shipped before the policy; older files are not
/// checked (0013, for one, adds a unique index on existing data).
const BASELINE: u32 = 14;

/// Migrations after the baseline that contract the schema on purpose:
/// (file name, why the previous release no longer needs what it removes).
const CONTRACTING: &[(&str, &str)] = &[];

/// Statements that break the previous release while it still runs, each
/// with what it breaks. Matched against a statement in upper case with its
/// comments removed and its whitespace collapsed.
fn destructive(statement: &str) -> Option<&'static str> {
    let has = |word: &str| statement.contains(word);
    let altering_table = statement.starts_with("ALTER TABLE");
    if has("DROP TABLE") || has("DROP COLUMN") || has("DROP VIEW") {
        return Some("drops what the previous release reads");
    }
    if has("DROP TRIGGER") || has("DROP FUNCTION") {
        return Some("drops behaviour the previous release relies on");
    }
    if has(" RENAME ") {
        return Some("renames what the previous release names");
    }
    if altering_table && !has(" ADD ") && (has(" TYPE ") || has("SET DATA TYPE")) {
        return Some("changes a column's type under the previous release");
    }
    if has("SET NOT NULL") {
        return Some("requires a value the previous release does not write");
    }
    if altering_table && has(" ADD ") && has("NOT NULL") && !has("DEFAULT") && !has("CONSTRAINT") {
        return Some(
            "adds a NOT NULL column without a default: the previous release's inserts fail",
        );
    }
    if altering_table && has("ADD CONSTRAINT") {
        return Some("adds a constraint the previous release's writes may break");
    }
    None
}

/// The statements of a migration, comments removed, whitespace collapsed,
/// in upper case.
fn statements(sql: &str) -> Vec<String> {
    let without_comments: String = sql
        .lines()
        .map(|line| line.split("--").next().unwrap_or(""))
        .collect::<Vec<_>>()
        .join(" ");
    without_comments
        .split(';')
        .map(|statement| {
            statement
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
                .to_uppercase()
        })
        .filter(|statement| !statement.is_empty())
        .collect()
}

fn migrations_dir(dialect: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("migrations")
        .join(dialect)
}

/// Migration files after the baseline, by dialect: (dialect, file name, text).
fn migrations_after_baseline() -> Vec<(&'static str, String, String)> {
    let mut found = Vec::new();
    for dialect in ["sqlite", "postgres"] {
        for entry in std::fs::read_dir(migrations_dir(dialect)).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            let number: u32 = name
                .split('_')
                .next()
                .and_then(|digits| digits.parse().ok())
                .unwrap_or_else(|| panic!("migration {name} does not start with its number"));
            if number > BASELINE {
                found.push((dialect, name, std::fs::read_to_string(&path).unwrap()));
            }
        }
    }
    found.sort();
    found
}

#[test]
fn migrations_after_the_baseline_only_expand_the_schema() {
    let mut violations = Vec::new();
    let checked = migrations_after_baseline();
    for (dialect, name, sql) in &checked {
        if CONTRACTING.iter().any(|(allowed, _)| allowed == name) {
            continue;
        }
        for statement in statements(sql) {
            if let Some(breaks) = destructive(&statement) {
                violations.push(format!("{dialect}/{name}: {breaks}: {statement}"));
            }
        }
    }
    println!(
        "checked {} migration files after {BASELINE:04}",
        checked.len()
    );
    assert!(
        violations.is_empty(),
        "migrations that would break the previous release during a rolling upgrade \
         (see docs/scaling.md; list a deliberate contraction in CONTRACTING with its reason):\n{}",
        violations.join("\n")
    );
}

#[test]
fn every_listed_contraction_exists_and_contracts() {
    let checked = migrations_after_baseline();
    for (allowed, reason) in CONTRACTING {
        assert!(
            !reason.trim().is_empty(),
            "{allowed} is listed without a reason"
        );
        let files: Vec<_> = checked
            .iter()
            .filter(|(_, name, _)| name == allowed)
            .collect();
        assert!(
            !files.is_empty(),
            "{allowed} is listed but no such migration exists"
        );
        assert!(
            files
                .iter()
                .any(|(_, _, sql)| statements(sql).iter().any(|s| destructive(s).is_some())),
            "{allowed} is listed but contracts nothing: remove it from CONTRACTING"
        );
    }
}

#[test]
fn the_check_catches_each_kind_of_contraction() {
    let contracting = [
        "DROP TABLE sessions;",
        "ALTER TABLE accounts DROP COLUMN totp_secret;",
        "ALTER TABLE accounts RENAME COLUMN username TO login;",
        "ALTER TABLE accounts RENAME TO people;",
        "ALTER TABLE api_keys ALTER COLUMN expires_at TYPE TEXT;",
        "ALTER TABLE api_keys ALTER COLUMN expires_at SET DATA TYPE TEXT;",
        "ALTER TABLE api_keys ALTER COLUMN expires_at SET NOT NULL;",
        "ALTER TABLE api_keys ADD COLUMN region TEXT NOT NULL;",
        "alter table api_keys add region text not null;",
        "ALTER TABLE api_keys ADD CONSTRAINT short_name CHECK (length(name) < 10);",
        "DROP TRIGGER access_changes_notify ON access_changes;",
        "DROP FUNCTION tessera_notify_access_change();",
    ];
    for sql in contracting {
        let found: Vec<_> = statements(sql)
            .iter()
            .filter_map(|s| destructive(s))
            .collect();
        assert_eq!(found.len(), 1, "{sql} was not caught");
    }
    let expanding = "
        -- a comment that says DROP TABLE is not a statement
        CREATE TABLE regions (id TEXT PRIMARY KEY, name TEXT NOT NULL);
        ALTER TABLE api_keys ADD COLUMN region TEXT;
        ALTER TABLE api_keys ADD COLUMN tier TEXT NOT NULL DEFAULT 'standard';
        CREATE INDEX api_keys_by_region ON api_keys (region);
        CREATE INDEX access_changes_by_created_at ON access_changes (created_at);
    ";
    for statement in statements(expanding) {
        assert_eq!(destructive(&statement), None, "{statement} was refused");
    }
}
