//! The pure work of a data API request: checking a write against its
//! resource declaration, and writing a stored record as a restricted key's
//! answer.
//!
//! `cargo bench -p tessera-core --bench records`

use criterion::{Criterion, criterion_group, criterion_main};
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::hint::black_box;
use tessera_core::records::{self, Data, FieldGrant, RecordView, StoredFields, WriteMode};
use tessera_core::resources::resource;

fn employee_body() -> Value {
    json!({
        "employee_number": "E000042", "first_name": "Ada", "last_name": "Lovelace",
        "birth_date": "1990-12-10", "national_id": "AB123456C", "email": "ada@example.com",
        "phone": "+44 20 7946 0000", "address": "12 Analytical Row, London",
        "job_role_id": "jr_01jd3x7yq9v2c8r4t6w0z1a5bn", "sector_id": "sec_01jd3x7yq9v2c8r4t6w0z1a5bn",
        "cost_center_id": "cc_01jd3x7yq9v2c8r4t6w0z1a5bn", "group_ids": ["grp_01jd3x7yq9v2c8r4t6w0z1a5bn"],
        "start_date": "2020-01-01", "status": "active", "iban": "GB33BUKB20201555555555", "bank_name": "Bank"
    })
}

fn benchmarks(c: &mut Criterion) {
    let employees = resource("employees").expect("employees are declared");
    let body = employee_body();
    c.bench_function("records: check an employee create (16 fields)", |b| {
        b.iter(|| {
            black_box(records::check_write(
                employees,
                black_box(&body),
                WriteMode::Create,
                FieldGrant::FULL,
                None,
            ))
        })
    });

    let data: Data =
        records::check_write(employees, &body, WriteMode::Create, FieldGrant::FULL, None)
            .expect("a valid employee");
    let stored = serde_json::to_string(&data).expect("serialisable");
    let readable: BTreeSet<String> = ["id", "first_name", "last_name", "start_date", "end_date"]
        .map(String::from)
        .into();
    c.bench_function(
        "records: parse a stored employee and answer five fields",
        |b| {
            b.iter(|| {
                let data: Data = serde_json::from_str(black_box(&stored)).expect("stored JSON");
                let fields = records::visible_fields(employees, Some(&readable), None);
                let view = RecordView {
                    fields: &fields,
                    id: "emp_01jd3x7yq9v2c8r4t6w0z1a5bn",
                    created_at: "2026-01-01T00:00:00Z",
                    updated_at: "2026-01-01T00:00:00Z",
                    data: &data,
                };
                black_box(serde_json::to_vec(&view).expect("serialisable"))
            })
        },
    );
    // What the API does: the stored text read in place, values copied out
    // as they were stored.
    c.bench_function(
        "records: read a stored employee in place and answer five fields",
        |b| {
            b.iter(|| {
                let data = StoredFields::parse(black_box(&stored)).expect("stored JSON");
                let fields = records::visible_fields(employees, Some(&readable), None);
                let view = RecordView {
                    fields: &fields,
                    id: "emp_01jd3x7yq9v2c8r4t6w0z1a5bn",
                    created_at: "2026-01-01T00:00:00Z",
                    updated_at: "2026-01-01T00:00:00Z",
                    data: &data,
                };
                black_box(serde_json::to_vec(&view).expect("serialisable"))
            })
        },
    );
}

criterion_group!(benches, benchmarks);
criterion_main!(benches);
