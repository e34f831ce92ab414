//! The data API over HTTP: CRUD for every declared resource,
//! pagination, filters, sparse fields, field-level permissions, tenancy,
//! ETags, idempotency and documents, with their problem codes.

use crate::harness::{
    Backend, TestApp, assert_problem, call_with_key, create_key, field_names, full_key, get_json,
    post, seed_organization,
};
use crate::on_both_backends;
use reqwest::Method;
use serde_json::{Map, Value, json};
use std::collections::{BTreeMap, BTreeSet};
use tessera_core::records::{self, FieldGrant, WriteMode};
use tessera_core::resources::{FieldKind, RESOURCES, Resource};
use tessera_server::ServerConfig;

on_both_backends!(
    every_resource_answers_crud_as_declared,
    pages_are_complete_and_stable_under_inserts,
    filters_sparse_fields_and_updated_since,
    field_permissions_bound_reads_and_writes,
    invalid_writes_name_their_fields,
    other_organizations_records_do_not_exist,
    if_match_guards_updates,
    idempotency_keys_replay_the_first_answer,
    documents_upload_and_download,
    referenced_records_cannot_be_deleted,
);

/// A valid value for `kind`, referring to records made earlier.
fn example_value(kind: FieldKind, made: &BTreeMap<&str, String>) -> Value {
    match kind {
        FieldKind::Id => Value::Null,
        FieldKind::Text => json!("Sample text"),
        FieldKind::Email => json!("ada@example.com"),
        FieldKind::Date => json!("2026-01-15"),
        FieldKind::Timestamp => json!("2026-01-15T09:30:00Z"),
        FieldKind::Decimal => json!("1234.50"),
        FieldKind::Currency => json!("EUR"),
        FieldKind::Integer => json!(3),
        FieldKind::Choice(choices) => json!(choices[0]),
        FieldKind::Reference(target) => made.get(target).map_or(Value::Null, |id| json!(id)),
        FieldKind::References(target) => made.get(target).map_or(Value::Null, |id| json!([id])),
    }
}

/// A body setting every writable field of `resource`.
fn example_body(resource: &Resource, made: &BTreeMap<&str, String>) -> Map<String, Value> {
    resource
        .fields
        .iter()
        .filter(|f| f.writable && !records::is_record_field(f))
        .map(|f| (f.name.to_owned(), example_value(f.kind, made)))
        .collect()
}

/// The resources in an order where every reference points at a resource
/// already made (self-references excepted).
fn in_reference_order() -> Vec<&'static Resource> {
    let mut ordered: Vec<&'static Resource> = Vec::new();
    while ordered.len() < RESOURCES.len() {
        for candidate in RESOURCES {
            let ready = candidate.fields.iter().all(|f| match f.kind {
                FieldKind::Reference(t) | FieldKind::References(t) => {
                    t == candidate.name || ordered.iter().any(|r| r.name == t)
                }
                _ => true,
            });
            if ready && !ordered.iter().any(|r| r.name == candidate.name) {
                ordered.push(candidate);
            }
        }
    }
    ordered
}

/// Stores a record directly, as the console and importer do (for
/// resources the API cannot create).
async fn store_record(
    app: &TestApp,
    org: &str,
    resource: &'static Resource,
    body: &Map<String, Value>,
) -> String {
    let organization = tessera_store::organizations::find_by_slug(&app.db, org)
        .await
        .unwrap()
        .unwrap();
    let data = records::check_write(
        resource,
        &Value::Object(body.clone()),
        WriteMode::Create,
        FieldGrant::FULL,
        None,
    )
    .unwrap();
    let id = tessera_core::id::new_prefixed_id(resource.id_prefix);
    let outcome = tessera_ops::records::create(
        &app.ops,
        &organization.id,
        resource,
        &[tessera_store::records::NewRecord {
            id: id.clone(),
            data,
            content: None,
        }],
        tessera_store::now_ms(),
        None,
    )
    .await
    .unwrap();
    assert!(matches!(
        outcome,
        tessera_store::records::CreateOutcome::Created
    ));
    id
}

async fn upload(
    app: &TestApp,
    key: &str,
    employee_id: &str,
    title: &str,
    file: Vec<u8>,
    file_type: Option<&str>,
) -> reqwest::Response {
    let mut part = reqwest::multipart::Part::bytes(file).file_name("contract.pdf");
    if let Some(file_type) = file_type {
        part = part.mime_str(file_type).unwrap();
    }
    let form = reqwest::multipart::Form::new()
        .text("employee_id", employee_id.to_owned())
        .text("title", title.to_owned())
        .part("file", part);
    app.http
        .post(app.url("/api/v1/documents"))
        .header("x-api-key", key)
        .multipart(form)
        .send()
        .await
        .unwrap()
}

async fn every_resource_answers_crud_as_declared(backend: Backend) {
    use tessera_core::permissions::Action;
    let app = TestApp::spawn(backend).await;
    seed_organization(&app, "acme").await;
    let key = full_key(&app, "acme").await;
    let mut made: BTreeMap<&str, String> = BTreeMap::new();
    for resource in in_reference_order() {
        let collection = format!("/api/v1/{}", resource.name);
        let body = example_body(resource, &made);
        let id = if resource.name == "documents" {
            let response = upload(
                &app,
                &key,
                &made["employees"],
                "Contract",
                b"%PDF-1.7 x".to_vec(),
                None,
            )
            .await;
            assert_eq!(response.status(), 201);
            let created: Value = response.json().await.unwrap();
            created["id"].as_str().unwrap().to_owned()
        } else if resource.supports(Action::Create) {
            let response = call_with_key(
                &app,
                Method::POST,
                &collection,
                &key,
                Some(&Value::Object(body.clone())),
            )
            .await;
            assert_eq!(
                response.status(),
                201,
                "{}: {}",
                resource.name,
                response.text().await.unwrap()
            );
            let location = response.headers()["location"].to_str().unwrap().to_owned();
            let created: Value = response.json().await.unwrap();
            let id = created["id"].as_str().unwrap().to_owned();
            assert_eq!(location, format!("{collection}/{id}"));
            for (name, value) in &body {
                assert_eq!(&created[name], value, "{}.{name}", resource.name);
            }
            id
        } else {
            let refused = call_with_key(
                &app,
                Method::POST,
                &collection,
                &key,
                Some(&Value::Object(body.clone())),
            )
            .await;
            assert_problem(refused, 405, "method_not_allowed").await;
            store_record(&app, "acme", resource, &body).await
        };
        assert!(records::is_record_id(resource.id_prefix, &id), "{id}");

        let item = format!("{collection}/{id}");
        let shown = call_with_key(&app, Method::GET, &item, &key, None).await;
        assert_eq!(shown.status(), 200);
        assert!(shown.headers().contains_key("etag"));
        let shown: Value = shown.json().await.unwrap();
        let declared: BTreeSet<&str> = resource.fields.iter().map(|f| f.name).collect();
        let answered = field_names(&shown);
        assert_eq!(
            answered, declared,
            "{} answers every declared field",
            resource.name
        );

        let listed = get_json(&app, &collection, &key).await;
        assert!(
            listed["data"]
                .as_array()
                .unwrap()
                .iter()
                .any(|r| r["id"] == id.as_str())
        );

        let changed = resource
            .fields
            .iter()
            .filter(|f| f.writable)
            .find_map(|f| match f.kind {
                FieldKind::Text => Some((f.name, json!("Changed"))),
                FieldKind::Decimal => Some((f.name, json!("99.99"))),
                _ => None,
            });
        if resource.supports(Action::Update) {
            let (field, value) =
                changed.expect("an updatable resource has a text or decimal field");
            let patch = json!({field: value});
            let updated = call_with_key(&app, Method::PATCH, &item, &key, Some(&patch)).await;
            assert_eq!(updated.status(), 200, "{}", resource.name);
            let updated: Value = updated.json().await.unwrap();
            assert_eq!(updated[field], value);
            assert_eq!(updated["created_at"], shown["created_at"]);
        } else {
            let refused = call_with_key(&app, Method::PATCH, &item, &key, Some(&json!({}))).await;
            assert_problem(refused, 405, "method_not_allowed").await;
        }
        made.insert(resource.name, id);
    }
    // Delete in the reverse order, so nothing is still referred to.
    for resource in in_reference_order().into_iter().rev() {
        let item = format!("/api/v1/{}/{}", resource.name, made[resource.name]);
        let deleted = call_with_key(&app, Method::DELETE, &item, &key, None).await;
        if resource.supports(Action::Delete) {
            assert_eq!(deleted.status(), 204, "{}", resource.name);
            let gone = call_with_key(&app, Method::GET, &item, &key, None).await;
            assert_problem(gone, 404, "not_found").await;
        } else {
            assert_problem(deleted, 405, "method_not_allowed").await;
            // Removed the way the console would, so what it refers to can go.
            let organization = tessera_store::organizations::find_by_slug(&app.db, "acme")
                .await
                .unwrap()
                .unwrap();
            let outcome = tessera_ops::records::delete(
                &app.ops,
                &organization.id,
                resource,
                &made[resource.name],
            )
            .await
            .unwrap();
            assert_eq!(outcome, tessera_store::records::DeleteOutcome::Deleted);
        }
    }
}

async fn pages_are_complete_and_stable_under_inserts(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    seed_organization(&app, "acme").await;
    let key = full_key(&app, "acme").await;
    let mut created = Vec::new();
    for n in 0..7 {
        created.push(
            post(
                &app,
                "/api/v1/groups",
                &key,
                &json!({"name": format!("Group {n}")}),
            )
            .await["id"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    let mut seen = Vec::new();
    let mut path = "/api/v1/groups?limit=3".to_owned();
    let mut pages = 0;
    loop {
        let page = get_json(&app, &path, &key).await;
        pages += 1;
        seen.extend(
            page["data"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r["id"].as_str().unwrap().to_owned()),
        );
        if pages == 1 {
            // Inserted while a client pages: it shows up once, at the end.
            created.push(
                post(&app, "/api/v1/groups", &key, &json!({"name": "Late"})).await["id"]
                    .as_str()
                    .unwrap()
                    .to_owned(),
            );
        }
        match page["next_cursor"].as_str() {
            Some(cursor) => path = format!("/api/v1/groups?limit=3&cursor={cursor}"),
            None => break,
        }
    }
    assert_eq!(seen, created, "every record once, in id order");
    assert_eq!(pages, 3);

    let default_page = get_json(&app, "/api/v1/groups", &key).await;
    assert_eq!(default_page["data"].as_array().unwrap().len(), 8);
    assert_eq!(default_page["next_cursor"], Value::Null);
    for bad in [
        "limit=0",
        "limit=201",
        "limit=ten",
        "cursor=not-a-cursor",
        "limit=1&limit=2",
    ] {
        let refused = call_with_key(
            &app,
            Method::GET,
            &format!("/api/v1/groups?{bad}"),
            &key,
            None,
        )
        .await;
        assert_problem(refused, 400, "invalid_request").await;
    }
    let max = call_with_key(&app, Method::GET, "/api/v1/groups?limit=200", &key, None).await;
    assert_eq!(max.status(), 200);
}

async fn filters_sparse_fields_and_updated_since(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    seed_organization(&app, "acme").await;
    let key = full_key(&app, "acme").await;
    let sales = post(
        &app,
        "/api/v1/sectors",
        &key,
        &json!({"name": "Sales", "code": "S"}),
    )
    .await;
    let ops = post(
        &app,
        "/api/v1/sectors",
        &key,
        &json!({"name": "Operations", "code": "O"}),
    )
    .await;
    for (first, sector, status) in [
        ("Ada", &sales, "active"),
        ("Bo", &sales, "terminated"),
        ("Cy", &ops, "active"),
    ] {
        post(
            &app,
            "/api/v1/employees",
            &key,
            &json!({"first_name": first, "last_name": "X", "sector_id": sector["id"], "status": status}),
        )
        .await;
    }
    let names = |page: &Value| -> Vec<String> {
        page["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["first_name"].as_str().unwrap().to_owned())
            .collect()
    };
    let active_sales = get_json(
        &app,
        &format!(
            "/api/v1/employees?status=active&sector_id={}",
            sales["id"].as_str().unwrap()
        ),
        &key,
    )
    .await;
    assert_eq!(names(&active_sales), ["Ada"]);
    let active = get_json(&app, "/api/v1/employees?status=active", &key).await;
    assert_eq!(names(&active), ["Ada", "Cy"]);

    let sparse = get_json(
        &app,
        "/api/v1/employees?fields=first_name,status&status=terminated",
        &key,
    )
    .await;
    let only = field_names(&sparse["data"][0]);
    assert_eq!(only, BTreeSet::from(["id", "first_name", "status"]));
    let id = sparse["data"][0]["id"].as_str().unwrap();
    let one = get_json(
        &app,
        &format!("/api/v1/employees/{id}?fields=last_name"),
        &key,
    )
    .await;
    assert_eq!(one, json!({"id": id, "last_name": "X"}));
    // A repeated `fields` (what generated clients send) is a list too.
    let repeated = get_json(
        &app,
        "/api/v1/employees?fields=first_name&fields=status&status=terminated",
        &key,
    )
    .await;
    assert_eq!(field_names(&repeated["data"][0]), only);
    let one_repeated = get_json(
        &app,
        &format!("/api/v1/employees/{id}?fields=last_name&fields=status"),
        &key,
    )
    .await;
    assert_eq!(
        field_names(&one_repeated),
        BTreeSet::from(["id", "last_name", "status"])
    );
    // An offset whose + was not encoded arrives as a space: the refusal
    // says how to send it.
    let unencoded = call_with_key(
        &app,
        Method::GET,
        "/api/v1/employees?updated_since=2026-01-31T09:30:00+02:00",
        &key,
        None,
    )
    .await;
    let body = assert_problem(unencoded, 400, "invalid_request").await;
    assert!(body["detail"].as_str().unwrap().contains("%2B"), "{body}");

    for (query, code) in [
        ("shoe_size=44", "invalid_request"),
        ("iban=DE00", "invalid_request"),
        ("status=retired", "invalid_request"),
        ("fields=first_name,shoe_size", "invalid_request"),
        ("updated_since=yesterday", "invalid_request"),
    ] {
        let refused = call_with_key(
            &app,
            Method::GET,
            &format!("/api/v1/employees?{query}"),
            &key,
            None,
        )
        .await;
        let body = assert_problem(refused, 400, code).await;
        assert!(!body["detail"].as_str().unwrap().is_empty());
    }

    let later = time::OffsetDateTime::now_utc() + time::Duration::hours(1);
    let later = later
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    let none = get_json(
        &app,
        &format!(
            "/api/v1/employees?updated_since={}",
            later.replace('+', "%2B")
        ),
        &key,
    )
    .await;
    assert_eq!(none["data"], json!([]));
    let all = get_json(
        &app,
        "/api/v1/employees?updated_since=2020-01-01T00:00:00Z",
        &key,
    )
    .await;
    assert_eq!(all["data"].as_array().unwrap().len(), 3);
}

async fn field_permissions_bound_reads_and_writes(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    seed_organization(&app, "acme").await;
    let full = full_key(&app, "acme").await;
    let employee = post(
        &app,
        "/api/v1/employees",
        &full,
        &json!({"first_name": "Ada", "last_name": "Lovelace", "iban": "DE89370400440532013000", "start_date": "2024-01-01", "status": "active"}),
    )
    .await;
    let id = employee["id"].as_str().unwrap();

    // A calendar integration's key: five employee fields, read only.
    let calendar = create_key(
        &app,
        "admin-acme",
        json!({"name": "calendar", "permissions": {"employees": {"actions": ["read"], "fields": ["id", "first_name", "last_name", "start_date", "end_date"]}}}),
    )
    .await;
    let calendar = calendar["key"].as_str().unwrap().to_owned();
    let expected = BTreeSet::from(["id", "first_name", "last_name", "start_date", "end_date"]);
    let one = get_json(&app, &format!("/api/v1/employees/{id}"), &calendar).await;
    let keys = field_names(&one);
    assert_eq!(keys, expected);
    let list = get_json(&app, "/api/v1/employees", &calendar).await;
    let keys = field_names(&list["data"][0]);
    assert_eq!(keys, expected);
    let sparse = call_with_key(
        &app,
        Method::GET,
        &format!("/api/v1/employees/{id}?fields=first_name,iban"),
        &calendar,
        None,
    )
    .await;
    let body = assert_problem(sparse, 403, "field_not_permitted").await;
    assert_eq!(
        body["details"]["fields"],
        json!(["iban"]),
        "fields= never widens a grant"
    );
    let filter = call_with_key(
        &app,
        Method::GET,
        "/api/v1/employees?status=active",
        &calendar,
        None,
    )
    .await;
    let body = assert_problem(filter, 403, "field_not_permitted").await;
    assert_eq!(body["details"]["fields"], json!(["status"]));

    let write = call_with_key(
        &app,
        Method::POST,
        "/api/v1/employees",
        &calendar,
        Some(&json!({"first_name": "A", "last_name": "B"})),
    )
    .await;
    let body = assert_problem(write, 403, "permission_denied").await;
    assert_eq!(
        body["details"],
        json!({"resource": "employees", "action": "create"})
    );
    let other = call_with_key(&app, Method::GET, "/api/v1/pay-rates", &calendar, None).await;
    let body = assert_problem(other, 403, "permission_denied").await;
    assert_eq!(
        body["details"],
        json!({"resource": "pay-rates", "action": "read"})
    );

    let editor = create_key(
        &app,
        "admin-acme",
        json!({"name": "editor", "permissions": {"employees": {"actions": ["create", "read", "update"], "fields": ["id", "first_name", "last_name"]}}}),
    )
    .await;
    let editor = editor["key"].as_str().unwrap().to_owned();
    let write = call_with_key(
        &app,
        Method::POST,
        "/api/v1/employees",
        &editor,
        Some(&json!({"first_name": "A", "last_name": "B", "iban": "DE00", "bank_name": "X"})),
    )
    .await;
    let body = assert_problem(write, 403, "field_not_permitted").await;
    assert_eq!(body["details"]["fields"], json!(["bank_name", "iban"]));
    let patch = call_with_key(
        &app,
        Method::PATCH,
        &format!("/api/v1/employees/{id}"),
        &editor,
        Some(&json!({"iban": "X"})),
    )
    .await;
    assert_problem(patch, 403, "field_not_permitted").await;
    let created = post(
        &app,
        "/api/v1/employees",
        &editor,
        &json!({"first_name": "Al", "last_name": "Bo"}),
    )
    .await;
    let keys = field_names(&created);
    assert_eq!(
        keys,
        BTreeSet::from(["id", "first_name", "last_name"]),
        "answers show only grantable fields"
    );
    let unchanged = get_json(&app, &format!("/api/v1/employees/{id}"), &full).await;
    assert_eq!(unchanged["iban"], "DE89370400440532013000");
}

async fn invalid_writes_name_their_fields(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    seed_organization(&app, "acme").await;
    let key = full_key(&app, "acme").await;
    let cases = [
        (
            "/api/v1/employees",
            json!({"first_name": "A", "last_name": "B", "shoe_size": 44}),
            "shoe_size",
        ),
        (
            "/api/v1/employees",
            json!({"first_name": "A", "last_name": "B", "id": "emp_x"}),
            "id",
        ),
        ("/api/v1/employees", json!({"first_name": "A"}), "last_name"),
        (
            "/api/v1/employees",
            json!({"first_name": "A", "last_name": "B", "birth_date": "1990-02-30"}),
            "birth_date",
        ),
        (
            "/api/v1/employees",
            json!({"first_name": "A", "last_name": "B", "email": "not-an-email"}),
            "email",
        ),
        (
            "/api/v1/employees",
            json!({"first_name": "A", "last_name": "B", "start_date": "2024-05-01", "end_date": "2024-04-30"}),
            "end_date",
        ),
        (
            "/api/v1/employees",
            json!({"first_name": "A", "last_name": "B", "status": "retired"}),
            "status",
        ),
        (
            "/api/v1/employees",
            json!({"first_name": "A", "last_name": "B", "sector_id": "sec_01jd3x7yq9v2c8r4t6w0z1a5bn"}),
            "sec_01jd3x7yq9v2c8r4t6w0z1a5bn",
        ),
        (
            "/api/v1/products",
            json!({"sku": "S", "name": "N", "unit_price": 12.5}),
            "unit_price",
        ),
        (
            "/api/v1/products",
            json!({"sku": "S", "name": "N", "unit_price": "-1"}),
            "unit_price",
        ),
        ("/api/v1/groups", json!({"name": "A\u{0}B"}), "name"),
        ("/api/v1/groups", json!(["not", "an", "object"]), "object"),
    ];
    for (path, body, named) in cases {
        let response = call_with_key(&app, Method::POST, path, &key, Some(&body)).await;
        let problem = assert_problem(response, 400, "invalid_request").await;
        assert!(
            problem["detail"].as_str().unwrap().contains(named),
            "{problem} should name {named}"
        );
    }
    let pay_rate = call_with_key(
        &app,
        Method::POST,
        "/api/v1/pay-rates",
        &key,
        Some(&json!({"employee_id": "emp_01jd3x7yq9v2c8r4t6w0z1a5bn", "kind": "monthly", "amount": "4250.00", "currency": "EURO", "effective_from": "2026-01-01"})),
    )
    .await;
    let problem = assert_problem(pay_rate, 400, "invalid_request").await;
    assert_eq!(problem["details"]["fields"][0]["field"], "currency");

    let not_json = app
        .http
        .post(app.url("/api/v1/groups"))
        .header("x-api-key", &key)
        .header("content-type", "text/plain")
        .body("name=x")
        .send()
        .await
        .unwrap();
    assert_problem(not_json, 415, "unsupported_media_type").await;
    let broken = app
        .http
        .post(app.url("/api/v1/groups"))
        .header("x-api-key", &key)
        .header("content-type", "application/json")
        .body("{\"name\": ")
        .send()
        .await
        .unwrap();
    assert_problem(broken, 400, "invalid_request").await;
    let count = tessera_store::records::count(
        &app.db,
        &tessera_store::organizations::find_by_slug(&app.db, "acme")
            .await
            .unwrap()
            .unwrap()
            .id,
        "employees",
    )
    .await
    .unwrap();
    assert_eq!(count, 0, "no refused write left anything behind");
}

async fn other_organizations_records_do_not_exist(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    seed_organization(&app, "acme").await;
    seed_organization(&app, "globex").await;
    let acme = full_key(&app, "acme").await;
    let globex = full_key(&app, "globex").await;
    let sector = post(&app, "/api/v1/sectors", &acme, &json!({"name": "Sales"})).await;
    let path = format!("/api/v1/sectors/{}", sector["id"].as_str().unwrap());
    let missing = format!(
        "/api/v1/sectors/{}",
        tessera_core::id::new_prefixed_id("sec")
    );
    for target in [&path, &missing] {
        for (method, body) in [
            (Method::GET, None),
            (Method::PATCH, Some(json!({"name": "Mine"}))),
            (Method::DELETE, None),
        ] {
            let response =
                call_with_key(&app, method.clone(), target, &globex, body.as_ref()).await;
            let problem = assert_problem(response, 404, "not_found").await;
            assert!(!problem["detail"].as_str().unwrap().contains("globex"));
        }
    }
    for malformed in ["not-an-id", "sec_%00", "emp_01jd3x7yq9v2c8r4t6w0z1a5bn"] {
        let response = call_with_key(
            &app,
            Method::GET,
            &format!("/api/v1/sectors/{malformed}"),
            &globex,
            None,
        )
        .await;
        assert_problem(response, 404, "not_found").await;
    }
    let listed = get_json(&app, "/api/v1/sectors", &globex).await;
    assert_eq!(listed["data"], json!([]));
    let borrowing = call_with_key(
        &app,
        Method::POST,
        "/api/v1/employees",
        &globex,
        Some(&json!({"first_name": "A", "last_name": "B", "sector_id": sector["id"]})),
    )
    .await;
    assert_problem(borrowing, 400, "invalid_request").await;
    let still = get_json(&app, &path, &acme).await;
    assert_eq!(still["name"], "Sales");
}

async fn if_match_guards_updates(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    seed_organization(&app, "acme").await;
    let key = full_key(&app, "acme").await;
    let group = post(
        &app,
        "/api/v1/groups",
        &key,
        &json!({"name": "Night shift"}),
    )
    .await;
    let path = format!("/api/v1/groups/{}", group["id"].as_str().unwrap());
    let shown = call_with_key(&app, Method::GET, &path, &key, None).await;
    let etag = shown.headers()["etag"].to_str().unwrap().to_owned();
    let patch = |tag: String, name: &'static str| {
        let request = app
            .http
            .patch(app.url(&path))
            .header("x-api-key", &key)
            .header("if-match", tag)
            .json(&json!({"name": name}));
        async move { request.send().await.unwrap() }
    };
    let first = patch(etag.clone(), "Early shift").await;
    assert_eq!(first.status(), 200);
    let new_tag = first.headers()["etag"].to_str().unwrap().to_owned();
    assert_ne!(new_tag, etag);
    let stale = patch(etag, "Late shift").await;
    assert_problem(stale, 412, "precondition_failed").await;
    assert_eq!(get_json(&app, &path, &key).await["name"], "Early shift");
    let current = patch(new_tag, "Late shift").await;
    assert_eq!(current.status(), 200);
    let any = patch("*".to_owned(), "Any shift").await;
    assert_eq!(any.status(), 200);
    // The current version without its quotes is a misspelt header, not a
    // stale one: 400 naming the form, and nothing written.
    let current_tag = any.headers()["etag"].to_str().unwrap().to_owned();
    let unquoted = patch(current_tag.trim_matches('"').to_owned(), "Unquoted shift").await;
    let problem = assert_problem(unquoted, 400, "invalid_request").await;
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("double quotes"),
        "{problem}"
    );
    assert_eq!(get_json(&app, &path, &key).await["name"], "Any shift");
}

async fn idempotency_keys_replay_the_first_answer(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    seed_organization(&app, "acme").await;
    let key = full_key(&app, "acme").await;
    let other_key = full_key(&app, "acme").await;
    let send = |key: &str, idempotency: &str, body: Value| {
        let request = app
            .http
            .post(app.url("/api/v1/groups"))
            .header("x-api-key", key)
            .header("idempotency-key", idempotency)
            .json(&body);
        async move { request.send().await.unwrap() }
    };
    let first = send(
        &key,
        "retry-1",
        json!({"name": "Cleaners", "description": "Shift A"}),
    )
    .await;
    assert_eq!(first.status(), 201);
    let location = first.headers()["location"].clone();
    let first_body: Value = first.json().await.unwrap();
    // Same fields in another order: the same request.
    let retried = send(
        &key,
        "retry-1",
        json!({"description": "Shift A", "name": "Cleaners"}),
    )
    .await;
    assert_eq!(retried.status(), 201);
    assert_eq!(retried.headers()["location"], location);
    assert_eq!(retried.headers()["idempotent-replayed"], "true");
    assert_eq!(retried.json::<Value>().await.unwrap(), first_body);
    let reused = send(&key, "retry-1", json!({"name": "Drivers"})).await;
    assert_problem(reused, 409, "idempotency_key_reused").await;
    let other = send(
        &other_key,
        "retry-1",
        json!({"name": "Cleaners", "description": "Shift A"}),
    )
    .await;
    assert_eq!(
        other.status(),
        201,
        "idempotency keys belong to one API key"
    );
    let listed = get_json(&app, "/api/v1/groups", &key).await;
    assert_eq!(listed["data"].as_array().unwrap().len(), 2);
    let blank = send(&key, "", json!({"name": "X"})).await;
    assert_problem(blank, 400, "invalid_request").await;
}

async fn documents_upload_and_download(backend: Backend) {
    let config = ServerConfig {
        max_document_bytes: 64 * 1024,
        ..ServerConfig::default()
    };
    let app = TestApp::spawn_with(backend, config).await;
    seed_organization(&app, "acme").await;
    let key = full_key(&app, "acme").await;
    let employee = post(
        &app,
        "/api/v1/employees",
        &key,
        &json!({"first_name": "Ada", "last_name": "L"}),
    )
    .await;
    let employee_id = employee["id"].as_str().unwrap();
    let pdf = b"%PDF-1.7\nA contract of employment.\n".to_vec();
    let uploaded = upload(
        &app,
        &key,
        employee_id,
        "Employment contract",
        pdf.clone(),
        None,
    )
    .await;
    assert_eq!(uploaded.status(), 201);
    let document: Value = uploaded.json().await.unwrap();
    assert_eq!(
        document["content_type"], "application/pdf",
        "sniffed from the bytes"
    );
    assert_eq!(document["size"], pdf.len());
    use sha2::Digest;
    assert_eq!(
        document["sha256"],
        format!("{:x}", sha2::Sha256::digest(&pdf))
    );
    assert_eq!(document["file_name"], "contract.pdf");
    let declared = upload(
        &app,
        &key,
        employee_id,
        "Notes",
        b"plain words".to_vec(),
        Some("text/markdown"),
    )
    .await;
    assert_eq!(
        declared.json::<Value>().await.unwrap()["content_type"],
        "text/markdown"
    );

    let content_path = format!(
        "/api/v1/documents/{}/content",
        document["id"].as_str().unwrap()
    );
    let download = call_with_key(&app, Method::GET, &content_path, &key, None).await;
    assert_eq!(download.status(), 200);
    assert_eq!(download.headers()["content-type"], "application/pdf");
    assert!(
        download.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment; filename=\"contract.pdf\"")
    );
    assert_eq!(download.bytes().await.unwrap().as_ref(), pdf.as_slice());

    let reader = create_key(
        &app,
        "admin-acme",
        json!({"name": "reader", "permissions": {"documents": {"actions": ["read"], "fields": null}}}),
    )
    .await;
    let reader = reader["key"].as_str().unwrap().to_owned();
    assert_eq!(
        call_with_key(&app, Method::GET, "/api/v1/documents", &reader, None)
            .await
            .status(),
        200
    );
    let refused = call_with_key(&app, Method::GET, &content_path, &reader, None).await;
    let body = assert_problem(refused, 403, "permission_denied").await;
    assert_eq!(body["details"]["action"], "download");

    let too_big = upload(&app, &key, employee_id, "Scan", vec![b'x'; 65 * 1024], None).await;
    assert_problem(too_big, 413, "payload_too_large").await;
    let no_file = app
        .http
        .post(app.url("/api/v1/documents"))
        .header("x-api-key", &key)
        .multipart(
            reqwest::multipart::Form::new()
                .text("employee_id", employee_id.to_owned())
                .text("title", "T"),
        )
        .send()
        .await
        .unwrap();
    let body = assert_problem(no_file, 400, "invalid_request").await;
    assert!(body["detail"].as_str().unwrap().contains("file"));
    let json_upload = call_with_key(
        &app,
        Method::POST,
        "/api/v1/documents",
        &key,
        Some(&json!({"title": "T"})),
    )
    .await;
    assert_problem(json_upload, 415, "unsupported_media_type").await;
    let stranger = upload(
        &app,
        &key,
        &tessera_core::id::new_prefixed_id("emp"),
        "T",
        b"x".to_vec(),
        None,
    )
    .await;
    assert_problem(stranger, 400, "invalid_request").await;

    let deleted = call_with_key(
        &app,
        Method::DELETE,
        &format!("/api/v1/documents/{}", document["id"].as_str().unwrap()),
        &key,
        None,
    )
    .await;
    assert_eq!(deleted.status(), 204);
    assert_problem(
        call_with_key(&app, Method::GET, &content_path, &key, None).await,
        404,
        "not_found",
    )
    .await;
}

async fn referenced_records_cannot_be_deleted(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    seed_organization(&app, "acme").await;
    let key = full_key(&app, "acme").await;
    let group = post(&app, "/api/v1/groups", &key, &json!({"name": "Warehouse"})).await;
    let employee = post(
        &app,
        "/api/v1/employees",
        &key,
        &json!({"first_name": "Ada", "last_name": "L", "group_ids": [group["id"]]}),
    )
    .await;
    post(
        &app,
        "/api/v1/pay-rates",
        &key,
        &json!({"employee_id": employee["id"], "kind": "monthly", "amount": "4250.00", "currency": "EUR", "effective_from": "2026-01-01"}),
    )
    .await;
    let group_path = format!("/api/v1/groups/{}", group["id"].as_str().unwrap());
    let refused = call_with_key(&app, Method::DELETE, &group_path, &key, None).await;
    let body = assert_problem(refused, 409, "conflict").await;
    assert_eq!(
        body["details"]["referenced_by"],
        json!([{"resource": "employees", "field": "group_ids", "count": 1}])
    );
    let employee_path = format!("/api/v1/employees/{}", employee["id"].as_str().unwrap());
    let refused = call_with_key(&app, Method::DELETE, &employee_path, &key, None).await;
    assert_problem(refused, 409, "conflict").await;
    let unlinked = call_with_key(
        &app,
        Method::PATCH,
        &employee_path,
        &key,
        Some(&json!({"group_ids": []})),
    )
    .await;
    assert_eq!(unlinked.status(), 200);
    assert_eq!(
        call_with_key(&app, Method::DELETE, &group_path, &key, None)
            .await
            .status(),
        204
    );
}
