//! `tessera import <resource> FILE.csv --org S`: every row is checked
//! against the resource's declaration before anything is written, and the
//! file goes in as one transaction, so a file is imported whole or not at
//! all. Problems are reported with their line numbers.

use anyhow::{Context, anyhow, bail};
use indicatif::{ProgressBar, ProgressStyle};
#[cfg(test)]
use serde_json::json;
use serde_json::{Map, Value};
use std::collections::BTreeSet;
use std::io::Read;
use std::path::PathBuf;
use std::time::Instant;
use tessera_core::audit::Actor;
use tessera_core::id::new_prefixed_id;
use tessera_core::records::{self, Data, FieldGrant, WriteError, WriteMode};
use tessera_core::resources::{self, Field, FieldKind, RESOURCES, Resource};
use tessera_ops::Ops;
use tessera_ops::records::Import;
use tessera_store::records::{CreateOutcome, NewRecord};
use tessera_store::{DatabaseUrl, now_ms, organizations};

#[derive(clap::Args)]
pub struct ImportArgs {
    /// The resource to fill, e.g. `employees` or `transactions`.
    pub resource: String,
    /// A CSV file whose header row names the resource's fields. Empty cells
    /// are null; a list of ids is separated by `;`.
    pub file: PathBuf,
    /// The organisation (slug) the records belong to.
    #[arg(long)]
    pub org: String,
}

/// Problems shown before the summary line; the rest are counted.
const PROBLEMS_SHOWN: usize = 50;

pub async fn run(url: &DatabaseUrl, args: &ImportArgs) -> anyhow::Result<()> {
    let resource = importable(&args.resource)?;
    let db = crate::serve::open_database(url, &crate::serve::command_line_pool()).await?;
    db.migrate()
        .await
        .context("cannot apply database migrations")?;
    let result = import(&db, resource, args).await;
    db.close().await;
    result
}

fn importable(name: &str) -> anyhow::Result<&'static Resource> {
    let resource = resources::resource(name).ok_or_else(|| {
        let names: Vec<&str> = RESOURCES.iter().map(|r| r.name).collect();
        anyhow!(
            "there is no resource '{name}'; import one of: {}",
            names.join(", ")
        )
    })?;
    if resource.upload {
        bail!(
            "{0} carry a file each; upload them with POST /api/v1/{0}",
            resource.name
        );
    }
    Ok(resource)
}

async fn import(
    db: &tessera_store::Db,
    resource: &'static Resource,
    args: &ImportArgs,
) -> anyhow::Result<()> {
    let started = Instant::now();
    let organization = organizations::find_by_slug(db, &args.org)
        .await?
        .ok_or_else(|| anyhow!("there is no organisation '{}'", args.org))?;
    let file = std::fs::File::open(&args.file)
        .with_context(|| format!("cannot open {}", args.file.display()))?;
    let size = file.metadata().map(|m| m.len()).unwrap_or(0);

    let bar = ProgressBar::new(size).with_style(style("checking", "{bytes}/{total_bytes}"));
    let rows = read_rows(resource, bar.wrap_read(file));
    bar.finish_and_clear();
    let rows = match rows {
        Ok(rows) => rows,
        Err(problems) => return Err(refuse(&problems)),
    };
    if rows.is_empty() {
        println!("{} has no rows: nothing to import", args.file.display());
        return Ok(());
    }

    let lines: Vec<u64> = rows.iter().map(|row| row.line).collect();
    let new: Vec<NewRecord> = rows
        .into_iter()
        .map(|row| NewRecord {
            id: new_prefixed_id(resource.id_prefix),
            data: row.data,
            content: None,
        })
        .collect();
    let bar = ProgressBar::new(new.len() as u64).with_style(style("writing", "{pos}/{len}"));
    let ops = Ops::without_cache(db.clone());
    let import = Import {
        resource,
        records: &new,
        file: args.file.display().to_string(),
    };
    let outcome = tessera_ops::records::import(
        &ops,
        &Actor::command_line(),
        &organization.id,
        import,
        now_ms(),
        &mut |written| bar.set_position(written as u64),
    )
    .await;
    match outcome? {
        CreateOutcome::Created => {}
        CreateOutcome::MissingReferences(ids) => {
            return Err(refuse(&missing_reference_problems(
                resource, &lines, &new, &ids,
            )));
        }
        CreateOutcome::IdempotencyKeyTaken => bail!("the import was refused by the database"),
    }
    println!(
        "imported {} {} into {} in {:.1} s",
        new.len(),
        resource.name,
        organization.slug,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

fn style(phase: &str, counts: &str) -> ProgressStyle {
    ProgressStyle::with_template(&format!(
        "{phase} {{bar:40}} {counts} {{elapsed}} (eta {{eta}})"
    ))
    .unwrap_or_else(|_| ProgressStyle::default_bar())
}

fn refuse(problems: &[String]) -> anyhow::Error {
    for problem in problems.iter().take(PROBLEMS_SHOWN) {
        eprintln!("{problem}");
    }
    if problems.len() > PROBLEMS_SHOWN {
        eprintln!("… and {} more", problems.len() - PROBLEMS_SHOWN);
    }
    anyhow!(
        "nothing was imported: {} problem(s); fix the file and run the import again",
        problems.len()
    )
}

/// One checked row and the line it came from.
#[derive(Debug)]
pub struct Row {
    pub line: u64,
    pub data: Data,
}

/// Every row of `input` checked as a create of `resource`, or every
/// problem found, each starting `line N:`.
pub fn read_rows(resource: &Resource, input: impl Read) -> Result<Vec<Row>, Vec<String>> {
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::Headers)
        .from_reader(input);
    let headers = reader
        .headers()
        .map_err(|e| vec![format!("line 1: cannot read the header row: {e}")])?
        .clone();
    let columns = columns(resource, &headers)?;
    let mut rows = Vec::new();
    let mut problems = Vec::new();
    for record in reader.records() {
        let record = match record {
            Ok(record) => record,
            Err(err) => {
                let line = err.position().map_or(0, |p| p.line());
                problems.push(format!("line {line}: {}", csv_problem(&err)));
                continue;
            }
        };
        let line = record.position().map_or(0, |p| p.line());
        let mut body = Map::new();
        for (field, cell) in columns.iter().zip(record.iter()) {
            match cell_value(field, cell) {
                Ok(value) => {
                    body.insert(field.name.to_owned(), value);
                }
                Err(problem) => problems.push(format!("line {line}: {}: {problem}", field.name)),
            }
        }
        match records::check_write(
            resource,
            &Value::Object(body),
            WriteMode::Create,
            FieldGrant::FULL,
            None,
        ) {
            Ok(data) => rows.push(Row { line, data }),
            Err(WriteError::Invalid(found)) => problems.extend(
                found
                    .into_iter()
                    .map(|p| format!("line {line}: {}: {}", p.field, p.problem)),
            ),
            Err(other) => problems.push(format!("line {line}: {other:?}")),
        }
    }
    if problems.is_empty() {
        Ok(rows)
    } else {
        Err(problems)
    }
}

fn csv_problem(err: &csv::Error) -> String {
    match err.kind() {
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => format!("has {len} cells where the header has {expected_len}"),
        csv::ErrorKind::Utf8 { .. } => "is not valid UTF-8".to_owned(),
        _ => err.to_string(),
    }
}

/// The fields the header names, or why it cannot be imported.
fn columns(
    resource: &Resource,
    headers: &csv::StringRecord,
) -> Result<Vec<&'static Field>, Vec<String>> {
    let mut problems = Vec::new();
    let mut columns = Vec::new();
    for name in headers {
        match resource.field(name) {
            None => {
                let writable: Vec<&str> = resource
                    .fields
                    .iter()
                    .filter(|f| f.writable)
                    .map(|f| f.name)
                    .collect();
                problems.push(format!(
                    "line 1: unknown column '{name}'; {} has: {}",
                    resource.name,
                    writable.join(", ")
                ));
            }
            Some(field) if !field.writable => problems.push(format!(
                "line 1: column '{name}' is set by Tessera and cannot be imported"
            )),
            Some(field) if columns.contains(&field) => {
                problems.push(format!("line 1: column '{name}' appears twice"));
            }
            Some(field) => columns.push(field),
        }
    }
    for field in resource.fields.iter().filter(|f| f.required && f.writable) {
        if !headers.iter().any(|h| h == field.name) {
            problems.push(format!(
                "line 1: the required column '{}' is missing",
                field.name
            ));
        }
    }
    if problems.is_empty() {
        Ok(columns)
    } else {
        Err(problems)
    }
}

/// A CSV cell as the JSON value the API would receive.
pub fn cell_value(field: &Field, cell: &str) -> Result<Value, String> {
    if cell.is_empty() {
        return Ok(Value::Null);
    }
    match field.kind {
        FieldKind::Integer => cell
            .trim()
            .parse::<i64>()
            .map(Value::from)
            .map_err(|_| format!("'{cell}' is not a whole number")),
        FieldKind::References(_) => Ok(Value::Array(
            cell.split(';')
                .map(str::trim)
                .filter(|id| !id.is_empty())
                .map(|id| Value::String(id.to_owned()))
                .collect(),
        )),
        _ => Ok(Value::String(cell.to_owned())),
    }
}

/// Which lines name the ids the database did not find.
fn missing_reference_problems(
    resource: &Resource,
    lines: &[u64],
    records: &[NewRecord],
    missing: &[String],
) -> Vec<String> {
    let missing: BTreeSet<&str> = missing.iter().map(String::as_str).collect();
    let mut problems = Vec::new();
    for (line, row) in lines.iter().zip(records) {
        for field in resource.fields {
            let ids: Vec<&str> = match row.data.get(field.name) {
                Some(Value::String(id)) if matches!(field.kind, FieldKind::Reference(_)) => {
                    vec![id]
                }
                Some(Value::Array(ids)) => ids.iter().filter_map(Value::as_str).collect(),
                _ => continue,
            };
            for id in ids.into_iter().filter(|id| missing.contains(id)) {
                let target = match field.kind {
                    FieldKind::Reference(t) | FieldKind::References(t) => t,
                    _ => "",
                };
                problems.push(format!(
                    "line {}: {}: there is no record of {target} with id '{id}' in this organisation",
                    line, field.name
                ));
            }
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn employees() -> &'static Resource {
        resources::resource("employees").unwrap()
    }

    /// CSV text for `resource`: its real column names mixed with others,
    /// and cells that are sometimes valid, sometimes not.
    fn arb_csv() -> impl Strategy<Value = Vec<u8>> {
        let names: Vec<&'static str> = resources::RESOURCES
            .iter()
            .flat_map(|r| r.fields.iter().map(|f| f.name))
            .collect();
        let header = prop::collection::vec(
            prop_oneof![
                prop::sample::select(names).prop_map(str::to_owned),
                "[ -~]{0,10}"
            ],
            1..6,
        );
        let cell = prop_oneof![
            "[ -~]{0,16}",
            r#""[^"]{0,12}""#,
            r"[0-9]{1,6}(\.[0-9]{1,3})?",
            "20[0-9]{2}-[01][0-9]-[0-3][0-9]"
        ];
        let rows = prop::collection::vec(prop::collection::vec(cell, 0..7), 0..5);
        let text = (header, rows).prop_map(|(header, rows)| {
            let mut text = header.join(",");
            for row in rows {
                text.push('\n');
                text.push_str(&row.join(","));
            }
            text.into_bytes()
        });
        prop_oneof![text, prop::collection::vec(any::<u8>(), 0..200)]
    }

    proptest! {
        /// An import file is read whole or refused with every problem
        /// numbered by line; never a panic.
        #[test]
        fn arbitrary_csv_files_are_read_or_refused_line_by_line_never_panic(bytes in arb_csv()) {
            for resource in resources::RESOURCES {
                match read_rows(resource, bytes.as_slice()) {
                    Ok(rows) => prop_assert!(rows.iter().all(|row| row.line >= 2)),
                    Err(problems) => {
                        prop_assert!(!problems.is_empty());
                        prop_assert!(problems.iter().all(|p| p.starts_with("line ")), "{:?}", problems);
                    }
                }
            }
        }
    }

    #[test]
    fn good_rows_become_records_with_absent_fields_null() {
        let csv = "first_name,last_name,email,group_ids\nAda,Lovelace,ada@example.com,\nAlan,Turing,,grp_01jdq3k9m2x8v7c6b5n4t3r2s1; grp_01jdq3k9m2x8v7c6b5n4t3r2s2\n";
        let rows = read_rows(employees(), csv.as_bytes()).unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!((rows[0].line, rows[1].line), (2, 3));
        assert_eq!(rows[0].data["email"], "ada@example.com");
        assert_eq!(rows[0].data["group_ids"], Value::Null);
        assert_eq!(rows[0].data["status"], Value::Null);
        assert_eq!(rows[1].data["group_ids"].as_array().unwrap().len(), 2);
    }

    #[test]
    fn every_bad_row_is_named_by_line() {
        let csv = "first_name,last_name,email,start_date\nAda,Lovelace,not-an-email,2024-01-01\nAlan,,,2024-02-30\nGrace,Hopper,grace@example.com\n";
        let problems = read_rows(employees(), csv.as_bytes()).unwrap_err();
        assert_eq!(problems.len(), 4, "{problems:#?}");
        assert!(problems[0].starts_with("line 2: email: "), "{problems:#?}");
        assert!(
            problems
                .iter()
                .any(|p| p.starts_with("line 3: last_name: "))
        );
        assert!(
            problems
                .iter()
                .any(|p| p.starts_with("line 3: start_date: "))
        );
        assert!(
            problems[3].starts_with("line 4: has 3 cells"),
            "{problems:#?}"
        );
    }

    #[test]
    fn a_bad_header_is_refused_before_any_row() {
        let csv = "id,first_name,nickname,first_name\nx,Ada,A,Ada\n";
        let problems = read_rows(employees(), csv.as_bytes()).unwrap_err();
        assert_eq!(
            problems,
            [
                "line 1: column 'id' is set by Tessera and cannot be imported".to_owned(),
                format!(
                    "line 1: unknown column 'nickname'; employees has: {}",
                    employees()
                        .fields
                        .iter()
                        .filter(|f| f.writable)
                        .map(|f| f.name)
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                "line 1: column 'first_name' appears twice".to_owned(),
                "line 1: the required column 'last_name' is missing".to_owned(),
            ]
        );
    }

    #[test]
    fn integers_are_parsed_and_documents_are_not_importable() {
        let quantity = resources::resource("transactions")
            .unwrap()
            .field("quantity")
            .unwrap();
        assert_eq!(cell_value(quantity, " 3 "), Ok(json!(3)));
        assert!(cell_value(quantity, "three").is_err());
        assert!(importable("documents").is_err());
        assert!(importable("transactions").is_ok());
        assert!(
            importable("nope")
                .unwrap_err()
                .to_string()
                .contains("employees")
        );
    }
}
