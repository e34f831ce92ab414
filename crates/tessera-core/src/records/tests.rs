use super::*;
use crate::resources::resource;
use proptest::prelude::*;
use serde_json::json;

fn employees() -> &'static Resource {
    resource("employees").unwrap()
}

#[test]
fn a_create_fills_absent_fields_with_null_and_needs_required_ones() {
    let data = check_write(
        employees(),
        &json!({"first_name": "Ada", "last_name": "Lovelace"}),
        WriteMode::Create,
        FieldGrant::FULL,
        None,
    )
    .unwrap();
    assert_eq!(data["first_name"], "Ada");
    assert_eq!(data["iban"], Value::Null);
    assert!(!data.contains_key("id"));

    let err = check_write(
        employees(),
        &json!({"first_name": "Ada"}),
        WriteMode::Create,
        FieldGrant::FULL,
        None,
    )
    .unwrap_err();
    assert_eq!(
        err,
        WriteError::Invalid(vec![FieldProblem::new("last_name", "is required")])
    );
}

#[test]
fn unknown_and_read_only_fields_are_named_before_anything_else() {
    let err = check_write(
        employees(),
        &json!({"shoe_size": 44, "id": "emp_x", "first_name": 3}),
        WriteMode::Create,
        FieldGrant::FULL,
        None,
    )
    .unwrap_err();
    assert_eq!(
        err,
        WriteError::NotWritable {
            unknown: vec!["shoe_size".into()],
            read_only: vec!["id".into()]
        }
    );
}

#[test]
fn fields_outside_the_grant_are_not_permitted() {
    let writable: BTreeSet<String> = ["first_name", "last_name"].map(String::from).into();
    let err = check_write(
        employees(),
        &json!({"first_name": "Ada", "last_name": "L", "iban": "DE00", "bank_name": "B"}),
        WriteMode::Create,
        FieldGrant {
            fields: Some(&writable),
            reads: true,
        },
        None,
    )
    .unwrap_err();
    assert_eq!(
        err,
        WriteError::NotPermitted(vec!["bank_name".into(), "iban".into()])
    );
}

#[test]
fn an_update_keeps_other_fields_and_checks_date_order_on_the_result() {
    let existing = check_write(
        employees(),
        &json!({"first_name": "Ada", "last_name": "L", "start_date": "2024-03-01"}),
        WriteMode::Create,
        FieldGrant::FULL,
        None,
    )
    .unwrap();
    let updated = check_write(
        employees(),
        &json!({"end_date": "2025-01-31"}),
        WriteMode::Update,
        FieldGrant::FULL,
        Some(&existing),
    )
    .unwrap();
    assert_eq!(updated["first_name"], "Ada");
    assert_eq!(updated["end_date"], "2025-01-31");
    let err = check_write(
        employees(),
        &json!({"end_date": "2024-02-29"}),
        WriteMode::Update,
        FieldGrant::FULL,
        Some(&existing),
    )
    .unwrap_err();
    assert!(matches!(err, WriteError::Invalid(p) if p[0].field == "end_date"));
    let err = check_write(
        employees(),
        &json!({"last_name": null}),
        WriteMode::Update,
        FieldGrant::FULL,
        Some(&existing),
    )
    .unwrap_err();
    assert!(matches!(err, WriteError::Invalid(p) if p[0].field == "last_name"));
}

#[test]
fn values_are_checked_by_their_kind() {
    let pay = resource("pay-rates").unwrap();
    let field = |name| pay.field(name).unwrap();
    assert!(normalize(field("amount"), &json!("1234.50")).is_ok());
    assert!(
        normalize(field("amount"), &json!(1234.5)).is_err(),
        "money never as a float"
    );
    for bad in ["", "1.", ".5", "-1", "1e3", "1.23456", "12345678901234"] {
        assert!(normalize(field("amount"), &json!(bad)).is_err(), "{bad}");
    }
    assert!(normalize(field("currency"), &json!("EUR")).is_ok());
    assert!(normalize(field("currency"), &json!("eur")).is_err());
    assert!(normalize(field("currency"), &json!("XYZ")).is_err());
    assert!(normalize(field("kind"), &json!("weekly")).is_err());
    assert!(normalize(field("effective_from"), &json!("2024-02-29")).is_ok());
    for bad in [
        "2023-02-29",
        "2024-2-01",
        "20240201",
        "2024-13-01",
        "+024-01-01",
    ] {
        assert!(
            normalize(field("effective_from"), &json!(bad)).is_err(),
            "{bad}"
        );
    }
    assert!(
        normalize(
            field("employee_id"),
            &json!("emp_01jd3x7yq9v2c8r4t6w0z1a5bn")
        )
        .is_ok()
    );
    assert!(
        normalize(
            field("employee_id"),
            &json!("sec_01jd3x7yq9v2c8r4t6w0z1a5bn")
        )
        .is_err()
    );
    assert!(normalize(field("employee_id"), &json!("emp_\u{0}")).is_err());

    let tx = resource("transactions").unwrap();
    assert_eq!(
        normalize(
            tx.field("occurred_at").unwrap(),
            &json!("2026-01-31T10:30:00+01:00")
        )
        .unwrap(),
        "2026-01-31T09:30:00Z"
    );
    let employee_email = employees().field("email").unwrap();
    assert!(normalize(employee_email, &json!("ada@example.com")).is_ok());
    assert!(normalize(employee_email, &json!("ada at example.com")).is_err());
}

#[test]
fn lists_of_references_are_deduplicated_and_indexed() {
    let id = "grp_01jd3x7yq9v2c8r4t6w0z1a5bn";
    let data = check_write(
        employees(),
        &json!({"first_name": "A", "last_name": "B", "group_ids": [id, id], "status": "active"}),
        WriteMode::Create,
        FieldGrant::FULL,
        None,
    )
    .unwrap();
    assert_eq!(data["group_ids"], json!([id]));
    let entries = index_entries(employees(), &data);
    assert!(entries.contains(&("group_ids", id.to_owned())));
    assert!(entries.contains(&("status", "active".to_owned())));
    assert_eq!(references(employees(), &data), vec![("groups", id)]);
}

#[test]
fn stored_fields_answer_exactly_as_parsed_data_does() {
    let data = check_write(
        employees(),
        &json!({"first_name": "Zoë \"Z\"", "last_name": "Ngā", "group_ids": ["grp_01jd3x7yq9v2c8r4t6w0z1a5bn"]}),
        WriteMode::Create,
        FieldGrant::FULL,
        None,
    )
    .unwrap();
    let stored = serde_json::to_string(&data).unwrap();
    let fields = visible_fields(employees(), None, None);
    let parsed: Data = serde_json::from_str(&stored).unwrap();
    let in_place = StoredFields::parse(&stored).unwrap();
    fn answer<D: FieldValues>(fields: &[&'static Field], data: &D) -> String {
        let view = RecordView {
            fields,
            id: "emp_1",
            created_at: "c",
            updated_at: "u",
            data,
        };
        serde_json::to_string(&view).unwrap()
    }
    let from_stored = answer(&fields, &in_place);
    assert_eq!(answer(&fields, &parsed), from_stored);
    let answer: Value = serde_json::from_str(&from_stored).unwrap();
    assert_eq!(answer["first_name"], "Zoë \"Z\"");
    assert_eq!(answer["end_date"], Value::Null);
    assert_eq!(answer["group_ids"][0], "grp_01jd3x7yq9v2c8r4t6w0z1a5bn");
}

#[test]
fn visible_fields_keep_declaration_order_and_always_the_id() {
    let readable: BTreeSet<String> = ["first_name", "last_name"].map(String::from).into();
    let names: Vec<_> = visible_fields(employees(), Some(&readable), None)
        .iter()
        .map(|f| f.name)
        .collect();
    assert_eq!(names, ["id", "first_name", "last_name"]);
    let requested = parse_field_list(employees(), "last_name, iban").unwrap();
    let names: Vec<_> = visible_fields(employees(), Some(&readable), Some(&requested))
        .iter()
        .map(|f| f.name)
        .collect();
    assert_eq!(names, ["id", "last_name"]);
    assert_eq!(
        parse_field_list(employees(), "first_name,shoe_size"),
        Err(vec!["shoe_size".to_owned()])
    );
}

proptest! {
    #[test]
    fn valid_decimals_round_trip_and_others_are_refused(whole in 0u64..10_000_000_000_000, frac in proptest::option::of(0u32..10_000)) {
        let text = match frac { Some(f) => format!("{whole}.{f}"), None => whole.to_string() };
        prop_assert!(is_decimal(&text));
        let float = format!("{text}e1");
        prop_assert!(!is_decimal(&float));
    }

    #[test]
    fn normalization_never_panics_and_is_idempotent(text in ".{0,40}") {
        for resource in crate::resources::RESOURCES {
            for field in resource.fields.iter().filter(|f| f.writable && !is_record_field(f)) {
                if let Ok(stored) = normalize(field, &Value::String(text.clone())) {
                    prop_assert_eq!(normalize(field, &stored).ok(), Some(stored));
                }
            }
        }
    }
}

/// Any JSON value, nested a few levels.
fn arb_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        ".{0,24}".prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(".{0,12}", inner, 0..6)
                .prop_map(|map| Value::Object(map.into_iter().collect())),
        ]
    })
}

/// A record body: real field names (so values reach every field's checks)
/// mixed with arbitrary ones.
fn arb_body() -> impl Strategy<Value = Value> {
    let names: Vec<&'static str> = crate::resources::RESOURCES
        .iter()
        .flat_map(|r| r.fields.iter().map(|f| f.name))
        .collect();
    let name = prop_oneof![
        prop::sample::select(names).prop_map(str::to_owned),
        ".{0,12}"
    ];
    prop_oneof![
        prop::collection::btree_map(name, arb_json(), 0..8)
            .prop_map(|map| Value::Object(map.into_iter().collect())),
        arb_json(),
    ]
}

proptest! {
    #[test]
    fn arbitrary_record_bodies_are_stored_or_refused_never_panic(body in arb_body()) {
        for resource in crate::resources::RESOURCES {
            let created = check_write(resource, &body, WriteMode::Create, FieldGrant::FULL, None);
            let existing = created.clone().unwrap_or_default();
            let _ = check_write(resource, &body, WriteMode::Update, FieldGrant::FULL, Some(&existing));
            if let Ok(data) = created {
                // Whatever was accepted is stored normalised: taking it
                // again as a body changes nothing.
                let again = check_write(resource, &Value::Object(data.clone()), WriteMode::Create, FieldGrant::FULL, None);
                prop_assert_eq!(again.ok(), Some(data));
            }
        }
    }

    #[test]
    fn arbitrary_bytes_as_a_body_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        if let Ok(body) = serde_json::from_slice::<Value>(&bytes) {
            for resource in crate::resources::RESOURCES {
                let _ = check_write(resource, &body, WriteMode::Create, FieldGrant::FULL, None);
            }
        }
    }

    #[test]
    fn arbitrary_filter_values_and_field_lists_never_panic(text in ".{0,60}") {
        for resource in crate::resources::RESOURCES {
            let _ = parse_field_list(resource, &text);
            for field in resource.fields {
                let _ = normalize_filter(field, &text);
            }
        }
    }
}

/// The problems of an employee update refused under `grant`.
fn refused_update(existing: &Data, body: Value, grant: FieldGrant<'_>) -> Vec<FieldProblem> {
    match check_write(employees(), &body, WriteMode::Update, grant, Some(existing)) {
        Err(WriteError::Invalid(problems)) => problems,
        other => panic!("expected invalid values, got {other:?}"),
    }
}

#[test]
fn a_date_order_refusal_quotes_a_stored_date_only_to_a_writer_that_may_read_it() {
    let existing = check_write(
        employees(),
        &json!({"first_name": "Ada", "last_name": "L", "start_date": "2016-01-14", "end_date": "2020-06-30"}),
        WriteMode::Create,
        FieldGrant::FULL,
        None,
    )
    .unwrap();
    let early_end = json!({"end_date": "1900-01-01"});
    let reader = refused_update(&existing, early_end.clone(), FieldGrant::FULL);
    assert_eq!(
        reader,
        vec![FieldProblem::new(
            "end_date",
            "must not be earlier than start_date (2016-01-14)"
        )]
    );
    let end_date_only: BTreeSet<String> = ["end_date".to_owned()].into();
    for reads in [false, true] {
        let grant = FieldGrant {
            fields: Some(&end_date_only),
            reads,
        };
        let problems = refused_update(&existing, early_end.clone(), grant);
        assert_eq!(problems[0].field, "end_date");
        assert!(!problems[0].problem.contains("2016"), "{problems:?}");
        assert!(!problems[0].problem.contains("start_date"), "{problems:?}");
    }
    // Writing the start after the stored end is told on the start.
    let start_date_only: BTreeSet<String> = ["start_date".to_owned()].into();
    let grant = FieldGrant {
        fields: Some(&start_date_only),
        reads: false,
    };
    let problems = refused_update(&existing, json!({"start_date": "2021-01-01"}), grant);
    assert_eq!(problems[0].field, "start_date");
    assert!(!problems[0].problem.contains("2020"), "{problems:?}");
    assert!(!problems[0].problem.contains("end_date"), "{problems:?}");
    // Both dates in the body: quoting the caller's own value hides nothing.
    let both = refused_update(
        &existing,
        json!({"start_date": "2021-01-01", "end_date": "2020-01-01"}),
        FieldGrant {
            fields: None,
            reads: false,
        },
    );
    assert_eq!(both[0].field, "end_date");
    assert!(both[0].problem.contains("(2021-01-01)"), "{both:?}");
}

#[test]
fn a_write_answer_shows_a_writer_without_read_only_the_id_and_updated_at() {
    let names = |grant| -> Vec<&str> {
        write_answer_fields(employees(), grant)
            .iter()
            .map(|f| f.name)
            .collect()
    };
    let writable: BTreeSet<String> = ["first_name", "iban"].map(String::from).into();
    let blind = FieldGrant {
        fields: Some(&writable),
        reads: false,
    };
    assert_eq!(names(blind), ["id", "updated_at"]);
    let reader = FieldGrant {
        fields: Some(&writable),
        reads: true,
    };
    assert_eq!(names(reader), ["id", "first_name", "iban"]);
    assert_eq!(names(FieldGrant::FULL).len(), employees().fields.len());
}
