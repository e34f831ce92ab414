//! What a newcomer integrating with Tessera runs into first: conditional
//! reads, `fields=` on fields the key may not read, the key list's query
//! parameters, keys that could do nothing, the metrics' descriptions, a
//! misspelt resource and a refused delete's wording.

use crate::harness::{
    Backend, ConsoleSession, PASSWORD, TestApp, assert_problem, assert_succeeds, call_with_key,
    create_key, element_text, full_key, get_json, me, post, seed_organization,
};
use crate::on_both_backends;
use reqwest::Method;
use serde_json::json;
use std::collections::BTreeSet;

on_both_backends!(
    if_none_match_with_the_current_etag_is_not_modified,
    fields_naming_an_unreadable_field_are_refused,
    the_key_list_refuses_unknown_query_parameters,
    keys_that_could_do_nothing_are_refused_at_creation,
    every_metric_family_has_help_and_type_lines,
    operation_ids_are_camel_case_from_the_resource_name,
    a_misspelt_resource_gets_a_did_you_mean,
    a_refused_delete_counts_one_referrer_in_the_singular,
);

async fn if_none_match_with_the_current_etag_is_not_modified(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    seed_organization(&app, "acme").await;
    let key = full_key(&app, "acme").await;
    let employee = post(
        &app,
        "/api/v1/employees",
        &key,
        &json!({"first_name": "Ada", "last_name": "Lovelace"}),
    )
    .await;
    let path = format!("/api/v1/employees/{}", employee["id"].as_str().unwrap());
    let first = call_with_key(&app, Method::GET, &path, &key, None).await;
    let etag = first.headers()["etag"].to_str().unwrap().to_owned();

    for held in [
        etag.clone(),
        format!("W/{etag}"),
        format!("\"77\", {etag}"),
        "*".to_owned(),
    ] {
        let again = app
            .get_with(&path, &[("x-api-key", &key), ("if-none-match", &held)])
            .await;
        assert_eq!(again.status(), 304, "If-None-Match: {held}");
        assert_eq!(again.headers()["etag"], etag.as_str());
        assert!(again.bytes().await.unwrap().is_empty(), "a 304 has no body");
    }

    let changed = call_with_key(
        &app,
        Method::PATCH,
        &path,
        &key,
        Some(&json!({"first_name": "Augusta"})),
    )
    .await;
    assert_eq!(changed.status(), 200);
    let stale = app
        .get_with(&path, &[("x-api-key", &key), ("if-none-match", &etag)])
        .await;
    assert_eq!(stale.status(), 200, "a changed record is sent again");
    assert_ne!(stale.headers()["etag"], etag.as_str());
    let body: serde_json::Value = stale.json().await.unwrap();
    assert_eq!(body["first_name"], "Augusta");

    // The permission check still comes first: a key that may not read the
    // resource learns nothing from a matching ETag.
    let stranger = create_key(
        &app,
        "admin-acme",
        json!({"name": "products only", "permissions": {"products": {"actions": ["read"]}}}),
    )
    .await;
    let stranger = stranger["key"].as_str().unwrap();
    let refused = app
        .get_with(&path, &[("x-api-key", stranger), ("if-none-match", "*")])
        .await;
    assert_problem(refused, 403, "permission_denied").await;
}

async fn fields_naming_an_unreadable_field_are_refused(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    seed_organization(&app, "acme").await;
    let full = full_key(&app, "acme").await;
    let employee = post(
        &app,
        "/api/v1/employees",
        &full,
        &json!({"first_name": "Ada", "last_name": "Lovelace", "iban": "DE89370400440532013000"}),
    )
    .await;
    let id = employee["id"].as_str().unwrap();
    let calendar = create_key(
        &app,
        "admin-acme",
        json!({"name": "calendar", "permissions": {"employees": {"actions": ["read"], "fields": ["first_name", "last_name"]}}}),
    )
    .await;
    let calendar = calendar["key"].as_str().unwrap();

    for path in [
        format!("/api/v1/employees/{id}?fields=first_name,iban,status"),
        "/api/v1/employees?fields=first_name,iban,status".to_owned(),
        "/api/v1/employees?fields=first_name&fields=iban&fields=status".to_owned(),
    ] {
        let refused = call_with_key(&app, Method::GET, &path, calendar, None).await;
        let body = assert_problem(refused, 403, "field_not_permitted").await;
        assert_eq!(
            body["details"]["fields"],
            json!(["iban", "status"]),
            "{path}"
        );
        let detail = body["detail"].as_str().unwrap();
        assert!(detail.contains("iban, status"), "{detail}");
    }

    // Fields the key may read, and the id every record shows, still work.
    let sparse = get_json(
        &app,
        &format!("/api/v1/employees/{id}?fields=id,first_name"),
        calendar,
    )
    .await;
    assert_eq!(sparse, json!({"id": id, "first_name": "Ada"}));
    let list = get_json(&app, "/api/v1/employees?fields=last_name", calendar).await;
    assert_eq!(list["data"][0], json!({"id": id, "last_name": "Lovelace"}));
    // A key without field restrictions may name any field.
    let full_sparse = get_json(&app, &format!("/api/v1/employees/{id}?fields=iban"), &full).await;
    assert_eq!(full_sparse["iban"], "DE89370400440532013000");
}

async fn the_key_list_refuses_unknown_query_parameters(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    seed_organization(&app, "acme").await;
    create_key(&app, "admin-acme", json!({"name": "nightly"})).await;
    create_key(&app, "admin-acme", json!({"name": "hourly"})).await;

    let search = app
        .as_user(
            Method::GET,
            "/api/v1/api-keys?name=nightly&foo=1&name=x",
            "admin-acme",
            None,
        )
        .await;
    let body = assert_problem(search, 400, "invalid_request").await;
    assert_eq!(
        body["details"]["unknown_parameters"],
        json!(["name", "foo"])
    );
    let detail = body["detail"].as_str().unwrap();
    assert!(detail.contains("'name', 'foo'"), "{detail}");
    assert!(detail.contains("limit and cursor"), "{detail}");

    // What the list does read still works.
    let page = app
        .get_json_as("/api/v1/api-keys?limit=1", "admin-acme")
        .await;
    assert_eq!(page["data"].as_array().unwrap().len(), 1);
    let cursor = page["next_cursor"].as_str().unwrap();
    let next = app
        .get_json_as(
            &format!("/api/v1/api-keys?limit=1&cursor={cursor}"),
            "admin-acme",
        )
        .await;
    assert_eq!(next["data"].as_array().unwrap().len(), 1);
}

/// The integrations guide's bot flow with the bot left at the default
/// role: the key it asks for would answer 403 to every call.
async fn keys_that_could_do_nothing_are_refused_at_creation(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    seed_organization(&app, "acme").await;
    assert_succeeds(&app.tessera(&[
        "admin",
        "create-bot",
        "--org",
        "acme",
        "--name",
        "payroll-co",
    ]));
    let employees_read =
        json!({"employees": {"actions": ["read"]}, "pay-rates": {"actions": ["read"]}});

    let request = json!({"name": "export", "bot": "payroll-co", "permissions": employees_read});
    let refused = app
        .as_user(
            Method::POST,
            "/api/v1/api-keys",
            "admin-acme",
            Some(&request),
        )
        .await;
    let body = assert_problem(refused, 400, "invalid_request").await;
    assert_eq!(
        body["details"],
        json!({"owner": "payroll-co", "owner_role": "Employee"})
    );
    let detail = body["detail"].as_str().unwrap();
    assert!(detail.contains("could do nothing"), "{detail}");
    assert!(detail.contains("'Employee'"), "{detail}");
    let keys = app.get_json_as("/api/v1/api-keys", "admin-acme").await;
    assert_eq!(keys["data"], json!([]), "nothing was created");

    // The console form says the same beside what the key may do.
    let mut admin = ConsoleSession::signed_in(&app, "admin-acme", PASSWORD).await;
    let page = admin
        .refused(
            "/settings/api/new",
            &[
                ("name", "export"),
                ("owner", "payroll-co"),
                ("access", "custom"),
                ("action.employees", "read"),
                ("scope.employees", "all"),
            ],
            422,
        )
        .await;
    let beside = element_text(&page, "access-custom-error");
    assert!(beside.contains("could do nothing"), "{beside}");
    assert!(beside.contains("'Employee'"), "{beside}");

    // A key following the bot's role is made: it gains access when the
    // role does.
    create_key(
        &app,
        "admin-acme",
        json!({"name": "follows", "bot": "payroll-co"}),
    )
    .await;

    // Once the bot holds a role with access, the same request succeeds and
    // the key works.
    assert_succeeds(&app.tessera(&[
        "admin",
        "create-bot",
        "--org",
        "acme",
        "--name",
        "payroll-admin",
        "--role",
        "Administrator",
    ]));
    let issued = create_key(
        &app,
        "admin-acme",
        json!({"name": "export", "bot": "payroll-admin", "permissions": employees_read}),
    )
    .await;
    let shown: serde_json::Value = me(&app, issued["key"].as_str().unwrap())
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        shown["permissions"]["employees"]["actions"],
        json!(["read"])
    );
}

async fn every_metric_family_has_help_and_type_lines(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    seed_organization(&app, "acme").await;
    // Requests that touch the key cache, the rate limiter and the usage log.
    let key = full_key(&app, "acme").await;
    assert_eq!(me(&app, &key).await.status(), 200);
    get_json(&app, "/api/v1/employees", &key).await;
    let text = app
        .http
        .get(app.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();

    let described = |prefix: &str| -> BTreeSet<String> {
        text.lines()
            .filter_map(|line| line.strip_prefix(prefix))
            .filter_map(|rest| rest.split_whitespace().next())
            .map(str::to_owned)
            .collect()
    };
    let helped = described("# HELP ");
    let typed = described("# TYPE ");
    // A sample's family: its name, less a histogram's or summary's suffix.
    let families: BTreeSet<String> = text
        .lines()
        .filter(|line| !line.starts_with('#') && !line.trim().is_empty())
        .filter_map(|line| line.split(['{', ' ']).next())
        .map(|name| {
            ["_bucket", "_sum", "_count"]
                .iter()
                .find_map(|suffix| {
                    name.strip_suffix(suffix)
                        .filter(|family| typed.contains(*family))
                })
                .unwrap_or(name)
                .to_owned()
        })
        .collect();
    for expected in [
        "tessera_http_requests_total",
        "tessera_http_request_duration_seconds",
        "tessera_key_cache_total",
        "tessera_rate_limit_decisions_total",
        "tessera_usage_records_written_total",
    ] {
        assert!(families.contains(expected), "{expected} missing:\n{text}");
    }
    for family in &families {
        assert!(helped.contains(family), "no # HELP for {family}:\n{text}");
        assert!(typed.contains(family), "no # TYPE for {family}:\n{text}");
    }
}

/// `list_cost_centers()` beside `get_cost_center()` in a generated client,
/// and nothing that Swagger UI's try-it-out would pre-fill into a filter.
async fn operation_ids_are_camel_case_from_the_resource_name(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let spec: serde_json::Value = app
        .http
        .get(app.url("/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let operation_id = |path: &str, method: &str| {
        spec["paths"][path][method]["operationId"]
            .as_str()
            .unwrap_or_else(|| panic!("no {method} {path}"))
            .to_owned()
    };
    for (name, plural, singular) in [
        ("cost-centers", "CostCenters", "CostCenter"),
        ("job-roles", "JobRoles", "JobRole"),
        ("pay-rates", "PayRates", "PayRate"),
        ("time-off", "TimeOff", "TimeOff"),
        ("employees", "Employees", "Employee"),
    ] {
        let collection = format!("/api/v1/{name}");
        let item = format!("{collection}/{{id}}");
        assert_eq!(operation_id(&collection, "get"), format!("list{plural}"));
        assert_eq!(
            operation_id(&collection, "post"),
            format!("create{singular}")
        );
        assert_eq!(operation_id(&item, "get"), format!("get{singular}"));
        assert_eq!(operation_id(&item, "patch"), format!("update{singular}"));
    }
    // Every operationId is camelCase: a lower-case verb, then words each
    // starting with a capital.
    let mut seen = 0;
    for (path, operations) in spec["paths"].as_object().unwrap() {
        for (method, operation) in operations.as_object().unwrap() {
            let Some(id) = operation["operationId"].as_str() else {
                continue;
            };
            seen += 1;
            let camel = id.chars().next().is_some_and(|c| c.is_ascii_lowercase())
                && id.chars().all(|c| c.is_ascii_alphanumeric());
            assert!(camel, "{method} {path}: {id}");
        }
    }
    assert!(seen > 30, "only {seen} operations");

    // No optional query parameter carries an example, which try-it-out
    // would send as a filter.
    let mut parameters: Vec<&serde_json::Value> = spec["components"]["parameters"]
        .as_object()
        .unwrap()
        .values()
        .collect();
    for operations in spec["paths"].as_object().unwrap().values() {
        for operation in operations.as_object().unwrap().values() {
            if let Some(inline) = operation["parameters"].as_array() {
                parameters.extend(inline);
            }
        }
    }
    for parameter in parameters {
        if parameter["in"] == "query" && parameter["required"] != true {
            assert!(
                parameter.get("example").is_none() && parameter.get("examples").is_none(),
                "{parameter}"
            );
        }
    }
    let updated_since = &spec["components"]["parameters"]["UpdatedSince"];
    assert!(
        updated_since["description"]
            .as_str()
            .unwrap()
            .contains("2026-01-01T00:00:00Z")
    );
}

/// `GET /api/v1/employes` names the resource the caller most likely meant.
async fn a_misspelt_resource_gets_a_did_you_mean(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    seed_organization(&app, "acme").await;
    let key = full_key(&app, "acme").await;
    let misspelt = call_with_key(&app, Method::GET, "/api/v1/employes", &key, None).await;
    let problem = assert_problem(misspelt, 404, "not_found").await;
    assert_eq!(problem["details"]["did_you_mean"], "employees", "{problem}");
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("Did you mean /api/v1/employees?"),
        "{problem}"
    );
    // The problem's type is a page this deployment serves about the code.
    let type_page = app
        .http
        .get(app.url(problem["type"].as_str().unwrap()))
        .send()
        .await
        .unwrap();
    assert_eq!(type_page.status(), 200, "{}", problem["type"]);
    assert!(type_page.text().await.unwrap().contains("not_found"));
    let unrelated = call_with_key(&app, Method::GET, "/api/v1/invoices", &key, None).await;
    let problem = assert_problem(unrelated, 404, "not_found").await;
    assert!(problem.get("details").is_none(), "{problem}");
}

/// "still referred to by 1 pay rate (employee_id)", not "1 pay-rates".
async fn a_refused_delete_counts_one_referrer_in_the_singular(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    seed_organization(&app, "acme").await;
    let key = full_key(&app, "acme").await;
    let employee = post(
        &app,
        "/api/v1/employees",
        &key,
        &json!({"first_name": "Ada", "last_name": "Lovelace", "start_date": "2024-01-01", "status": "active"}),
    )
    .await;
    post(
        &app,
        "/api/v1/pay-rates",
        &key,
        &json!({"employee_id": employee["id"], "kind": "monthly", "amount": "4200.00",
                "currency": "EUR", "effective_from": "2024-01-01"}),
    )
    .await;
    let path = format!("/api/v1/employees/{}", employee["id"].as_str().unwrap());
    let refused = call_with_key(&app, Method::DELETE, &path, &key, None).await;
    let problem = assert_problem(refused, 409, "conflict").await;
    assert_eq!(
        problem["detail"],
        "This employee is still referred to by 1 pay rate (employee_id); delete or change those first.",
    );
    assert_eq!(
        problem["details"]["referenced_by"][0]["resource"],
        "pay-rates"
    );
}
