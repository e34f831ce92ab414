//! `tessera import`: whole files or nothing, problems by line, and records
//! that the API then serves, on both backends.

use crate::harness::{Backend, TestApp, full_key, get_with_key, seed_organization, stderr, stdout};
use crate::on_both_backends;
use serde_json::{Value, json};

on_both_backends!(
    a_file_with_a_bad_row_imports_nothing_and_names_the_line,
    transactions_import_with_their_references_checked,
);

async fn list(app: &TestApp, key: &str, path: &str) -> Vec<Value> {
    let response = get_with_key(app, path, key).await;
    assert_eq!(response.status(), 200, "{path}");
    let page: Value = response.json().await.unwrap();
    page["data"].as_array().unwrap().clone()
}

fn csv_file(text: &str) -> tempfile::NamedTempFile {
    let file = tempfile::Builder::new().suffix(".csv").tempfile().unwrap();
    std::fs::write(file.path(), text).unwrap();
    file
}

fn import(app: &TestApp, resource: &str, file: &tempfile::NamedTempFile) -> std::process::Output {
    app.tessera(&[
        "import",
        resource,
        file.path().to_str().unwrap(),
        "--org",
        "acme",
    ])
}

async fn a_file_with_a_bad_row_imports_nothing_and_names_the_line(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    seed_organization(&app, "acme").await;
    let key = full_key(&app, "acme").await;
    let header = "employee_number,first_name,last_name,email,start_date,status\n";
    let good = "E-1,Ada,Lovelace,ada@example.com,2024-01-02,active\nE-2,Alan,Turing,,2023-05-06,on_leave\n";

    let bad = csv_file(&format!(
        "{header}{good}E-3,Grace,Hopper,grace-at-example,2024-02-30,retired\n"
    ));
    let refused = import(&app, "employees", &bad);
    assert!(!refused.status.success());
    let report = stderr(&refused);
    assert!(
        report.contains("line 4: email: must be an e-mail address"),
        "{report}"
    );
    assert!(
        report.contains("line 4: start_date: must be a date"),
        "{report}"
    );
    assert!(
        report.contains("line 4: status: must be one of active, on_leave, terminated"),
        "{report}"
    );
    assert!(
        report.contains("nothing was imported: 3 problem(s)"),
        "{report}"
    );
    assert_eq!(list(&app, &key, "/api/v1/employees").await.len(), 0);

    let fixed = csv_file(&format!(
        "{header}{good}E-3,Grace,Hopper,grace@example.com,2024-02-28,active\n"
    ));
    let imported = import(&app, "employees", &fixed);
    assert!(imported.status.success(), "{}", stderr(&imported));
    assert!(
        stdout(&imported).starts_with("imported 3 employees into acme in "),
        "{}",
        stdout(&imported)
    );
    let employees = list(&app, &key, "/api/v1/employees").await;
    let names: Vec<&str> = employees
        .iter()
        .map(|e| e["last_name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Lovelace", "Turing", "Hopper"]);
    assert_eq!(employees[1]["email"], Value::Null);
    assert_eq!(
        list(&app, &key, "/api/v1/employees?status=on_leave")
            .await
            .len(),
        1
    );

    let unknown_column = csv_file("first_name,last_name,nickname\nAda,Lovelace,A\n");
    let refused = import(&app, "employees", &unknown_column);
    assert!(
        stderr(&refused).contains("line 1: unknown column 'nickname'"),
        "{}",
        stderr(&refused)
    );

    let documents = import(&app, "documents", &fixed);
    assert!(stderr(&documents).contains("upload them with POST /api/v1/documents"));
    let nobody = app.tessera(&[
        "import",
        "employees",
        fixed.path().to_str().unwrap(),
        "--org",
        "nobody",
    ]);
    assert!(stderr(&nobody).contains("there is no organisation 'nobody'"));
}

async fn transactions_import_with_their_references_checked(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    seed_organization(&app, "acme").await;
    let key = full_key(&app, "acme").await;
    let post = |path: &'static str, body: Value| {
        let request = app
            .http
            .post(app.url(path))
            .header("x-api-key", &key)
            .json(&body);
        async move {
            let response = request.send().await.unwrap();
            assert_eq!(response.status(), 201);
            response.json::<Value>().await.unwrap()["id"]
                .as_str()
                .unwrap()
                .to_owned()
        }
    };
    let employee = post(
        "/api/v1/employees",
        json!({"first_name": "Ada", "last_name": "Lovelace"}),
    )
    .await;
    let product = post(
        "/api/v1/products",
        json!({"sku": "BOOT-42", "name": "Safety boots"}),
    )
    .await;
    let missing_product = "prd_01jdq3k9m2x8v7c6b5n4t3r2s1";
    let header = "type,employee_id,product_id,quantity,occurred_at\n";

    let bad = csv_file(&format!(
        "{header}withdrawal,{employee},{product},2,2026-03-01T09:00:00Z\nreturn,{employee},{missing_product},1,2026-03-02T10:00:00+01:00\n"
    ));
    let refused = import(&app, "transactions", &bad);
    assert!(!refused.status.success());
    assert!(
        stderr(&refused).contains(&format!(
            "line 3: product_id: there is no record of products with id '{missing_product}' in this organisation"
        )),
        "{}",
        stderr(&refused)
    );
    assert_eq!(list(&app, &key, "/api/v1/transactions").await.len(), 0);

    let good = csv_file(&format!(
        "{header}withdrawal,{employee},{product},2,2026-03-01T09:00:00Z\nreturn,{employee},{product},1,2026-03-02T10:00:00+01:00\n"
    ));
    let imported = import(&app, "transactions", &good);
    assert!(imported.status.success(), "{}", stderr(&imported));
    let transactions = list(&app, &key, "/api/v1/transactions").await;
    assert_eq!(transactions.len(), 2);
    assert_eq!(transactions[1]["occurred_at"], "2026-03-02T09:00:00Z");
    assert_eq!(transactions[0]["quantity"], 2);
    // Transactions stay read-only over the API.
    let refused = app
        .http
        .post(app.url("/api/v1/transactions"))
        .header("x-api-key", &key)
        .json(&json!({"type": "return"}))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 405);
}
