//! The administrators' console pages: roles, users and bot users, and the
//! organisation's key policy, driven over HTTP like a
//! browser (cookies, CSRF fields, posted forms), with their effect on keys
//! checked through the API on the very next request.

use crate::harness::{
    Backend, Browser, ConsoleSession, PASSWORD, TestApp, assert_problem, create_key, full_key,
    get_with_key, is_checked, me, post, seed_organization,
};
use crate::{assert_audited, on_both_backends};
use reqwest::Method;
use serde_json::{Value, json};
use std::collections::BTreeSet;
use tessera_store::{now_ms, organizations, roles};

on_both_backends!(
    a_role_edit_narrows_linked_keys_on_the_next_request,
    role_forms_validate_and_keep_what_was_typed,
    built_in_roles_are_protected_and_roles_in_use_are_not_deleted,
    users_are_created_deactivated_reactivated_and_reset,
    administrators_cannot_lock_themselves_out,
    bot_users_are_created_and_deactivated,
    the_organisation_key_policy_binds_new_keys,
    only_administrators_with_the_form_token_get_these_pages,
    a_role_edit_in_a_real_browser_narrows_a_linked_key,
);

/// The field names of the first employee the key can list.
async fn employee_fields(app: &TestApp, key: &str) -> BTreeSet<String> {
    let response = get_with_key(app, "/api/v1/employees", key).await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    body["data"][0]
        .as_object()
        .unwrap_or_else(|| panic!("no employee in {body}"))
        .keys()
        .cloned()
        .collect()
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

/// Stores one employee with a full-access key of the administrator.
async fn seed_employee(app: &TestApp) {
    let full = full_key(app, "acme").await;
    post(
        app,
        "/api/v1/employees",
        &full,
        &json!({"first_name": "Ada", "last_name": "Lovelace", "iban": "DE89370400440532013000",
                "start_date": "2024-01-01", "status": "active"}),
    )
    .await;
}

async fn a_role_edit_narrows_linked_keys_on_the_next_request(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    seed_organization(&app, "acme").await;
    seed_employee(&app).await;
    let mut admin = ConsoleSession::signed_in(&app, "admin-acme", PASSWORD).await;

    let location = admin
        .submit(
            "/settings/roles",
            &[
                ("name", "Payroll export"),
                ("action.employees", "read"),
                ("scope.employees", "chosen"),
                ("field.employees", "id"),
                ("field.employees", "first_name"),
                ("field.employees", "last_name"),
                ("field.employees", "iban"),
                ("action.pay-rates", "read"),
                ("scope.pay-rates", "all"),
            ],
        )
        .await;
    assert_eq!(location, "/settings/roles?done=created");
    let (status, list) = admin.page(&location).await;
    assert_eq!(status, 200);
    assert!(list.contains("Role created."), "{list}");
    assert!(list.contains(r#"data-role="Payroll export""#), "{list}");
    assert!(
        list.contains("Employees: read, 4 fields; Pay rates: read"),
        "{list}"
    );

    let key = create_key(
        &app,
        "admin-acme",
        json!({"name": "payroll", "role": "Payroll export"}),
    )
    .await;
    assert_eq!(key["role"], "Payroll export");
    let key = key["key"].as_str().unwrap().to_owned();
    assert_eq!(
        employee_fields(&app, &key).await,
        set(&["id", "first_name", "last_name", "iban"])
    );
    assert_eq!(
        get_with_key(&app, "/api/v1/pay-rates", &key).await.status(),
        200
    );

    // The edit page shows the role as stored; the list counts the key.
    let role = app.role_id("acme", "Payroll export").await;
    let (_, list) = admin.page("/settings/roles").await;
    assert!(list.contains("1 linked key"), "{list}");
    let (status, edit) = admin.page(&format!("/settings/roles/{role}")).await;
    assert_eq!(status, 200);
    assert!(edit.contains(r#"value="Payroll export""#));
    assert!(is_checked(&edit, "field-employees-iban"));
    assert!(is_checked(&edit, "perm-pay-rates-read"));
    assert!(!is_checked(&edit, "perm-employees-update"));

    // Fewer fields and actions: the very next call is narrowed.
    let location = admin
        .submit(
            &format!("/settings/roles/{role}"),
            &[
                ("name", "Payroll export"),
                ("action.employees", "read"),
                ("scope.employees", "chosen"),
                ("field.employees", "id"),
                ("field.employees", "last_name"),
            ],
        )
        .await;
    assert_eq!(location, "/settings/roles?done=updated");
    assert_eq!(employee_fields(&app, &key).await, set(&["id", "last_name"]));
    let refused = get_with_key(&app, "/api/v1/pay-rates", &key).await;
    let body = assert_problem(refused, 403, "permission_denied").await;
    assert_eq!(
        body["details"],
        json!({"resource": "pay-rates", "action": "read"})
    );

    // Widening works the same way, and a rename keeps the link.
    admin
        .submit(
            &format!("/settings/roles/{role}"),
            &[
                ("name", "Payroll"),
                ("action.employees", "read"),
                ("scope.employees", "chosen"),
                ("section.employees", "identity"),
            ],
        )
        .await;
    let fields = employee_fields(&app, &key).await;
    assert!(fields.contains("first_name") && fields.contains("national_id"));
    assert!(!fields.contains("iban"));
    let shown: Value = me(&app, &key).await.json().await.unwrap();
    assert!(shown["permissions"].get("pay-rates").is_none(), "{shown}");

    let update = assert_audited!(
        app.audit_log().await,
        "role.updated",
        actor_name == "admin-acme"
    );
    let newest: Value = serde_json::from_str(update.details.as_deref().unwrap()).unwrap();
    assert_eq!(newest["name"], "Payroll");
    assert_eq!(newest["previous_name"], "Payroll export");
    assert_eq!(update.target.as_deref(), Some(role.as_str()));
    assert_audited!(
        app.audit_log().await,
        "role.created",
        actor_name == "admin-acme"
    );
}

async fn role_forms_validate_and_keep_what_was_typed(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    seed_organization(&app, "acme").await;
    let mut admin = ConsoleSession::signed_in(&app, "admin-acme", PASSWORD).await;
    let (status, form) = admin.page("/settings/roles/new").await;
    assert_eq!(status, 200);
    assert!(form.contains(r#"id="permission-matrix""#));

    // A taken name: the page comes back with the message, the name and the
    // ticked boxes as they were.
    let page = admin
        .refused(
            "/settings/roles",
            &[
                ("name", "Employee"),
                ("action.time-off", "read"),
                ("action.time-off", "update"),
                ("scope.employees", "chosen"),
                ("action.employees", "read"),
                ("field.employees", "email"),
            ],
            422,
        )
        .await;
    assert!(
        page.contains("already has a role called “Employee”"),
        "{page}"
    );
    assert!(page.contains(r#"value="Employee""#));
    assert!(is_checked(&page, "perm-time-off-update"));
    assert!(is_checked(&page, "field-employees-email"));
    assert!(!is_checked(&page, "field-employees-iban"));

    // No name; a restricted resource without fields.
    let page = admin
        .refused(
            "/settings/roles",
            &[
                ("name", "   "),
                ("action.employees", "read"),
                ("scope.employees", "chosen"),
            ],
            422,
        )
        .await;
    assert!(page.contains("Give the role a name"), "{page}");
    assert!(
        page.contains("Employees: tick at least one field"),
        "{page}"
    );

    let page = admin
        .refused(
            "/settings/roles",
            &[("name", &"n".repeat(101)), ("action.sectors", "read")],
            422,
        )
        .await;
    assert!(page.contains(&"n".repeat(101)));
    assert!(is_checked(&page, "perm-sectors-read"));

    // Nothing was created by any of that.
    let org = app.organization_id("acme").await;
    let names: Vec<String> = roles::list(&app.db, &org)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.name)
        .collect();
    assert_eq!(names, ["Administrator", "Employee"]);

    // Renaming a custom role onto another's name is refused too.
    admin
        .submit("/settings/roles", &[("name", "Auditors")])
        .await;
    admin
        .submit("/settings/roles", &[("name", "Support")])
        .await;
    let support = app.role_id("acme", "Support").await;
    let page = admin
        .refused(
            &format!("/settings/roles/{support}"),
            &[("name", "Auditors"), ("action.groups", "read")],
            422,
        )
        .await;
    assert!(page.contains("already has a role called “Auditors”"));
    assert!(page.contains(r#"value="Auditors""#));
    assert!(is_checked(&page, "perm-groups-read"));
    let (_, list) = admin.page("/settings/roles").await;
    assert!(list.contains(r#"data-role="Support""#));
}

async fn built_in_roles_are_protected_and_roles_in_use_are_not_deleted(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    seed_organization(&app, "acme").await;
    let mut admin = ConsoleSession::signed_in(&app, "admin-acme", PASSWORD).await;
    let administrator = app.role_id("acme", "Administrator").await;
    let employee = app.role_id("acme", "Employee").await;

    let (status, page) = admin
        .page(&format!("/settings/roles/{administrator}"))
        .await;
    assert_eq!(status, 200);
    assert!(page.contains("It cannot be edited or deleted."));
    assert!(!page.contains(r#"id="role-form""#));
    let page = admin
        .refused(
            &format!("/settings/roles/{administrator}"),
            &[("name", "Boss"), ("action.sectors", "read")],
            403,
        )
        .await;
    assert!(page.contains("cannot be edited"));
    admin
        .refused(&format!("/settings/roles/{administrator}/delete"), &[], 403)
        .await;

    // Employee: its grant can be edited, its name and existence cannot.
    let (_, page) = admin.page(&format!("/settings/roles/{employee}")).await;
    assert!(page.contains("it cannot be renamed or deleted"));
    assert!(!page.contains(r#"id="delete-role""#));
    admin
        .submit(
            &format!("/settings/roles/{employee}"),
            &[("name", "Staff"), ("action.time-off", "read")],
        )
        .await;
    let org = app.organization_id("acme").await;
    let stored = roles::find_by_id(&app.db, &org, &employee)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.name, "Employee");
    let expected = tessera_core::permissions::PermissionSet::from_json(
        &json!({"time-off": {"actions": ["read"], "fields": null}}),
    )
    .unwrap();
    assert_eq!(
        stored.access,
        tessera_core::permissions::Access::Limited(expected)
    );
    // employee-acme's own key follows their role at once.
    let staff_key = {
        let_everyone_create_keys(&app, &org).await;
        create_key(&app, "employee-acme", json!({"name": "mine"})).await["key"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    assert_eq!(
        get_with_key(&app, "/api/v1/time-off", &staff_key)
            .await
            .status(),
        200
    );
    admin
        .submit(&format!("/settings/roles/{employee}"), &[])
        .await;
    assert_eq!(
        get_with_key(&app, "/api/v1/time-off", &staff_key)
            .await
            .status(),
        403
    );
    admin
        .refused(&format!("/settings/roles/{employee}/delete"), &[], 403)
        .await;

    // A custom role linked to a key is not deleted; once the key is
    // revoked it is, and the revoked key keeps what the role granted.
    admin
        .submit(
            "/settings/roles",
            &[("name", "Temporary"), ("action.sectors", "read")],
        )
        .await;
    let temporary = app.role_id("acme", "Temporary").await;
    let linked = create_key(
        &app,
        "admin-acme",
        json!({"name": "temp", "role": "Temporary"}),
    )
    .await;
    let page = admin
        .refused(&format!("/settings/roles/{temporary}/delete"), &[], 409)
        .await;
    assert!(
        page.contains("“Temporary” cannot be deleted: it is used by 1 linked key."),
        "{page}"
    );
    assert!(
        roles::find_by_id(&app.db, &app.organization_id("acme").await, &temporary)
            .await
            .unwrap()
            .is_some()
    );
    let key_path = format!("/api/v1/api-keys/{}", linked["id"].as_str().unwrap());
    let revoked = app
        .as_user(Method::DELETE, &key_path, "admin-acme", None)
        .await;
    assert_eq!(revoked.status(), 204);
    let location = admin
        .submit(&format!("/settings/roles/{temporary}/delete"), &[])
        .await;
    assert_eq!(location, "/settings/roles?done=deleted");
    assert!(
        roles::find_by_id(&app.db, &app.organization_id("acme").await, &temporary)
            .await
            .unwrap()
            .is_none()
    );
    let shown = app.get_json_as(&key_path, "admin-acme").await;
    assert_eq!(shown["status"], "revoked");
    assert_eq!(shown["role"], Value::Null);
    assert_eq!(
        shown["permissions"],
        json!({"sectors": {"actions": ["read"], "fields": null}})
    );
    assert_audited!(
        app.audit_log().await,
        "role.deleted",
        actor_name == "admin-acme"
    );

    // A role a user holds is not deleted either.
    admin.submit("/settings/roles", &[("name", "Held")]).await;
    let held = app.role_id("acme", "Held").await;
    let user = app.account_id("employee-acme").await;
    admin
        .submit(
            &format!("/settings/people/users/{user}/role"),
            &[("role", &held)],
        )
        .await;
    let page = admin
        .refused(&format!("/settings/roles/{held}/delete"), &[], 409)
        .await;
    assert!(page.contains("it is used by 1 user."), "{page}");
}

async fn users_are_created_deactivated_reactivated_and_reset(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    seed_organization(&app, "acme").await;
    let mut admin = ConsoleSession::signed_in(&app, "admin-acme", PASSWORD).await;
    let employee = app.role_id("acme", "Employee").await;
    let administrator = app.role_id("acme", "Administrator").await;

    let (status, form) = admin.page("/settings/people/users/new").await;
    assert_eq!(status, 200);
    assert!(form.contains(r#"name="password""#));

    // Bad input keeps what was typed, except the password.
    let page = admin
        .refused(
            "/settings/people/users",
            &[
                ("username", "ada lovelace"),
                ("password", "short"),
                ("role", &employee),
            ],
            422,
        )
        .await;
    assert!(page.contains(r#"value="ada lovelace""#), "{page}");
    assert!(page.contains("Use 3–64 letters"));
    assert!(page.contains("The password must be at least 12 characters long."));
    assert!(!page.contains(r#"value="short""#));
    let page = admin
        .refused(
            "/settings/people/users",
            &[
                ("username", "admin-acme"),
                ("password", PASSWORD),
                ("role", "rol_nonsense"),
            ],
            422,
        )
        .await;
    assert!(page.contains("The username “admin-acme” is already taken"));
    assert!(page.contains("Choose one of your organisation's roles."));

    let location = admin
        .submit(
            "/settings/people/users",
            &[
                ("username", "ada"),
                ("password", PASSWORD),
                ("role", &employee),
            ],
        )
        .await;
    assert_eq!(location, "/settings/people?done=user-created");
    let (_, list) = admin.page(&location).await;
    assert!(list.contains(r#"data-username="ada""#));
    let ada = app.account_id("ada").await;
    assert_audited!(
        app.audit_log().await,
        "user.created",
        actor_name == "admin-acme"
    );

    // Ada signs in, and (everyone may create keys here) makes a key.
    let mut ada_console = ConsoleSession::signed_in(&app, "ada", PASSWORD).await;
    let org = app.organization_id("acme").await;
    let_everyone_create_keys(&app, &org).await;
    let key = create_key(&app, "ada", json!({"name": "ada's key"})).await["key"]
        .as_str()
        .unwrap()
        .to_owned();
    let before: Value = me(&app, &key).await.json().await.unwrap();
    assert_eq!(
        before["permissions"],
        json!({}),
        "Employee grants nothing yet"
    );

    // A role change reaches her key on the next request.
    admin
        .submit(
            &format!("/settings/people/users/{ada}/role"),
            &[("role", &administrator)],
        )
        .await;
    let promoted: Value = me(&app, &key).await.json().await.unwrap();
    assert_eq!(
        promoted["permissions"]["employees"]["actions"],
        json!(["create", "read", "update", "delete"])
    );
    let location = admin
        .submit(
            &format!("/settings/people/users/{ada}/role"),
            &[("role", &employee)],
        )
        .await;
    assert_eq!(location, format!("/settings/people/users/{ada}?done=role"));
    let demoted: Value = me(&app, &key).await.json().await.unwrap();
    assert_eq!(demoted["permissions"], json!({}));
    assert_eq!(
        app.audit_log()
            .await
            .iter()
            .filter(|e| e.action == "user.role_changed" && e.actor_name == "admin-acme")
            .count(),
        2
    );

    // Deactivation: her key and her session stop at once, sign-in fails.
    let location = admin
        .submit(&format!("/settings/people/users/{ada}/deactivate"), &[])
        .await;
    let (_, page) = admin.page(&location).await;
    assert!(page.contains("User deactivated."));
    assert!(page.contains("Reactivate user"));
    assert_problem(me(&app, &key).await, 401, "invalid_api_key").await;
    assert!(!ada_console.is_signed_in().await);
    let mut again = ConsoleSession::new(&app);
    assert_eq!(again.sign_in("ada", PASSWORD).await.status(), 401);
    assert_audited!(
        app.audit_log().await,
        "user.deactivated",
        actor_name == "admin-acme"
    );

    // Reactivation brings the key back, not the ended session.
    admin
        .submit(&format!("/settings/people/users/{ada}/reactivate"), &[])
        .await;
    assert_eq!(me(&app, &key).await.status(), 200);
    assert!(!ada_console.is_signed_in().await);
    assert_audited!(
        app.audit_log().await,
        "user.reactivated",
        actor_name == "admin-acme"
    );

    // Password reset: a bad one is refused; a good one ends her sessions and
    // replaces the old password.
    let mut ada_console = ConsoleSession::signed_in(&app, "ada", PASSWORD).await;
    let page = admin
        .refused(
            &format!("/settings/people/users/{ada}/password"),
            &[("password", "password1234")],
            422,
        )
        .await;
    assert!(
        page.contains("The password is too common: This is"),
        "{page}"
    );
    assert!(ada_console.is_signed_in().await);
    admin
        .submit(
            &format!("/settings/people/users/{ada}/password"),
            &[("password", "a brand new secret kettle")],
        )
        .await;
    assert!(!ada_console.is_signed_in().await);
    let mut old = ConsoleSession::new(&app);
    assert_eq!(old.sign_in("ada", PASSWORD).await.status(), 401);
    ConsoleSession::signed_in(&app, "ada", "a brand new secret kettle").await;
    let reset = assert_audited!(
        app.audit_log().await,
        "user.password_reset",
        actor_name == "admin-acme"
    );
    assert!(
        !reset
            .details
            .as_deref()
            .unwrap_or_default()
            .contains("a brand new secret kettle")
    );
    // The administrator's own session is untouched by all of this.
    assert!(admin.is_signed_in().await);
}

async fn administrators_cannot_lock_themselves_out(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    seed_organization(&app, "acme").await;
    let mut admin = ConsoleSession::signed_in(&app, "admin-acme", PASSWORD).await;
    let me_id = app.account_id("admin-acme").await;
    let employee = app.role_id("acme", "Employee").await;

    let (status, page) = admin.page(&format!("/settings/people/users/{me_id}")).await;
    assert_eq!(status, 200);
    assert!(page.contains("You cannot change your own role"));
    assert!(page.contains("You cannot deactivate your own account"));
    assert!(!page.contains("Deactivate user"));

    let page = admin
        .refused(
            &format!("/settings/people/users/{me_id}/role"),
            &[("role", &employee)],
            403,
        )
        .await;
    assert!(page.contains("You cannot change your own role"));
    admin
        .refused(
            &format!("/settings/people/users/{me_id}/deactivate"),
            &[],
            403,
        )
        .await;
    let account = tessera_store::accounts::find_by_id(&app.db, &me_id)
        .await
        .unwrap()
        .unwrap();
    assert!(account.active);
    assert!(matches!(
        account.membership,
        tessera_store::accounts::Membership::Member {
            is_administrator: true,
            ..
        }
    ));
    assert!(admin.is_signed_in().await);
}

async fn bot_users_are_created_and_deactivated(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    seed_organization(&app, "acme").await;
    let mut admin = ConsoleSession::signed_in(&app, "admin-acme", PASSWORD).await;
    let employee = app.role_id("acme", "Employee").await;
    let administrator = app.role_id("acme", "Administrator").await;

    let (_, list) = admin.page("/settings/people").await;
    assert!(list.contains("No bot users yet."));
    let page = admin
        .refused(
            "/settings/people/bots",
            &[("name", "  "), ("role", &employee)],
            422,
        )
        .await;
    assert!(page.contains("Give the bot user a name"));
    let location = admin
        .submit(
            "/settings/people/bots",
            &[("name", "calendar-sync"), ("role", &employee)],
        )
        .await;
    assert_eq!(location, "/settings/people?done=bot-created");
    let page = admin
        .refused(
            "/settings/people/bots",
            &[("name", "calendar-sync"), ("role", &administrator)],
            422,
        )
        .await;
    assert!(page.contains("already has a bot user called “calendar-sync”"));
    assert!(page.contains(r#"value="calendar-sync""#));
    assert_audited!(
        app.audit_log().await,
        "bot.created",
        actor_name == "admin-acme"
    );

    let key = create_key(
        &app,
        "admin-acme",
        json!({"name": "sync", "bot": "calendar-sync"}),
    )
    .await;
    assert_eq!(
        key["owner"],
        json!({"type": "bot", "name": "calendar-sync"})
    );
    let key = key["key"].as_str().unwrap().to_owned();
    let (_, list) = admin.page("/settings/people").await;
    assert!(list.contains(r#"data-bot="calendar-sync""#));

    let org = app.organization_id("acme").await;
    let bot = tessera_store::bots::find_by_name(&app.db, &org, "calendar-sync")
        .await
        .unwrap()
        .unwrap();
    let (status, page) = admin
        .page(&format!("/settings/people/bots/{}", bot.id))
        .await;
    assert_eq!(status, 200);
    assert!(page.contains("1 key"), "{page}");

    // Its role bounds its keys from the next request.
    let before: Value = me(&app, &key).await.json().await.unwrap();
    assert_eq!(before["permissions"], json!({}));
    admin
        .submit(
            &format!("/settings/people/bots/{}/role", bot.id),
            &[("role", &administrator)],
        )
        .await;
    let after: Value = me(&app, &key).await.json().await.unwrap();
    assert!(after["permissions"].get("employees").is_some(), "{after}");
    assert_audited!(
        app.audit_log().await,
        "bot.role_changed",
        actor_name == "admin-acme"
    );

    let location = admin
        .submit(&format!("/settings/people/bots/{}/deactivate", bot.id), &[])
        .await;
    assert!(location.ends_with("?done=deactivated"));
    assert_problem(me(&app, &key).await, 401, "invalid_api_key").await;
    // No new key for a deactivated bot either.
    let refused = app
        .as_user(
            Method::POST,
            "/api/v1/api-keys",
            "admin-acme",
            Some(&json!({"name": "another", "bot": "calendar-sync"})),
        )
        .await;
    assert_problem(refused, 400, "invalid_request").await;
    assert_audited!(
        app.audit_log().await,
        "bot.deactivated",
        actor_name == "admin-acme"
    );

    admin
        .submit(&format!("/settings/people/bots/{}/reactivate", bot.id), &[])
        .await;
    assert_eq!(me(&app, &key).await.status(), 200);
    assert_audited!(
        app.audit_log().await,
        "bot.reactivated",
        actor_name == "admin-acme"
    );
}

async fn the_organisation_key_policy_binds_new_keys(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    seed_organization(&app, "acme").await;
    let mut admin = ConsoleSession::signed_in(&app, "admin-acme", PASSWORD).await;
    let (status, page) = admin.page("/settings/organization").await;
    assert_eq!(status, 200);
    assert!(page.contains("acme Ltd"));
    assert!(is_checked(&page, "key-creation-administrators"));

    // Bad values come back as typed, each with its message.
    let page = admin
        .refused(
            "/settings/organization",
            &[
                ("key_creation", "everyone"),
                ("max_key_lifetime_days", "0"),
                ("default_ip_allowlist", "10.0.0.0/8\nnot-an-ip"),
            ],
            422,
        )
        .await;
    assert!(page.contains(r#"value="0""#), "{page}");
    assert!(page.contains("10.0.0.0/8\nnot-an-ip</textarea>"), "{page}");
    assert!(page.contains("Enter a whole number of days from 1 to 3650"));
    assert!(page.contains("are not IP addresses or CIDR ranges"));
    assert!(is_checked(&page, "key-creation-everyone"));
    let org = organizations::find_by_slug(&app.db, "acme")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(org.max_key_lifetime_days, None);

    let location = admin
        .submit(
            "/settings/organization",
            &[
                ("key_creation", "administrators"),
                ("max_key_lifetime_days", "30"),
                (
                    "default_ip_allowlist",
                    "203.0.113.0/24\r\n2001:db8::/32\r\n",
                ),
            ],
        )
        .await;
    assert_eq!(location, "/settings/organization?done=saved");
    let (_, page) = admin.page(&location).await;
    assert!(page.contains("Settings saved."));
    assert!(page.contains(r#"value="30""#));
    assert!(page.contains("203.0.113.0/24\n2001:db8::/32</textarea>"));
    let change = assert_audited!(
        app.audit_log().await,
        "organization.settings_changed",
        actor_name == "admin-acme"
    );
    let details: Value = serde_json::from_str(change.details.as_deref().unwrap()).unwrap();
    assert_eq!(
        details["max_key_lifetime_days"],
        json!({"from": null, "to": 30})
    );
    assert!(
        details.get("key_creation").is_none(),
        "unchanged: {details}"
    );

    // Over the key-management API: a key must expire within 30 days.
    let create = |body: Value| {
        let app = &app;
        async move {
            app.as_user(Method::POST, "/api/v1/api-keys", "admin-acme", Some(&body))
                .await
        }
    };
    let body = assert_problem(
        create(json!({"name": "forever"})).await,
        400,
        "invalid_request",
    )
    .await;
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("requires API keys to expire within 30 days"),
        "{body}"
    );
    assert_eq!(body["details"]["max_key_lifetime_days"], 30);
    let at = |days: i64| tessera_store::format_ms(now_ms() + days * 86_400_000);
    assert_problem(
        create(json!({"name": "too long", "expires_at": at(31)})).await,
        400,
        "invalid_request",
    )
    .await;
    let short = create(json!({"name": "short", "expires_at": at(29)})).await;
    assert_eq!(short.status(), 201);
    let short: Value = short.json().await.unwrap();
    // The default allow-list applies to a key created without one …
    assert_eq!(
        short["ip_allowlist"],
        json!(["203.0.113.0/24", "2001:db8::/32"])
    );
    assert_problem(
        me(&app, short["key"].as_str().unwrap()).await,
        403,
        "ip_not_allowed",
    )
    .await;
    // … and a key's own list wins.
    let own =
        create(json!({"name": "own", "expires_at": at(10), "ip_allowlist": ["127.0.0.1"]})).await;
    assert_eq!(own.status(), 201);
    let own: Value = own.json().await.unwrap();
    assert_eq!(own["ip_allowlist"], json!(["127.0.0.1/32"]));
    assert_eq!(me(&app, own["key"].as_str().unwrap()).await.status(), 200);

    // The console's key form: a date lasts through its day, so the last
    // allowed day is accepted (ending at the limit); a later day, or none,
    // is refused beside the expiry field.
    let day = |days: i64| at(days)[..10].to_owned();
    let form = |expires: String| {
        vec![
            ("name".to_owned(), "console key".to_owned()),
            ("access".to_owned(), "everything".to_owned()),
            ("expires".to_owned(), expires),
        ]
    };
    for expires in [String::new(), day(31)] {
        let fields = form(expires);
        let fields: Vec<(&str, &str)> = fields
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let page = admin.refused("/settings/api/new", &fields, 422).await;
        assert!(
            page.contains("requires API keys to expire within 30 days"),
            "{page}"
        );
    }
    let fields = form(day(30));
    let fields: Vec<(&str, &str)> = fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let issued = admin.post_with_csrf("/settings/api/new", &fields).await;
    assert_eq!(issued.status(), 201, "the last allowed day was refused");
    let keys = app.get_json_as("/api/v1/api-keys", "admin-acme").await;
    let console_key = keys["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["name"] == "console key")
        .unwrap();
    let expires = console_key["expires_at"].as_str().unwrap();
    assert!(
        expires <= at(30).as_str() && expires > at(29).as_str(),
        "{expires}"
    );

    // Cleared settings bind nothing.
    admin
        .submit(
            "/settings/organization",
            &[
                ("key_creation", "everyone"),
                ("max_key_lifetime_days", ""),
                ("default_ip_allowlist", ""),
            ],
        )
        .await;
    let free = create_key(&app, "employee-acme", json!({"name": "free"})).await;
    assert_eq!(free["expires_at"], Value::Null);
    assert_eq!(free["ip_allowlist"], Value::Null);
}

async fn only_administrators_with_the_form_token_get_these_pages(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    seed_organization(&app, "acme").await;
    seed_organization(&app, "globex").await;
    let pages = [
        "/settings/roles",
        "/settings/roles/new",
        "/settings/people",
        "/settings/people/users/new",
        "/settings/people/bots/new",
        "/settings/organization",
    ];

    let mut anonymous = ConsoleSession::new(&app);
    for path in pages {
        let response = anonymous.get(path).await;
        assert_eq!(response.status(), 303, "{path}");
        assert_eq!(response.headers()["location"], "/login");
    }

    let mut employee = ConsoleSession::signed_in(&app, "employee-acme", PASSWORD).await;
    for path in pages {
        let (status, page) = employee.page(path).await;
        assert_eq!(status, 403, "{path}");
        assert!(page.contains("Only administrators of your organisation"));
    }
    let admin_id = app.account_id("admin-acme").await;
    employee
        .refused("/settings/roles", &[("name", "Sneaky")], 403)
        .await;
    employee
        .refused(
            &format!("/settings/people/users/{admin_id}/deactivate"),
            &[],
            403,
        )
        .await;
    employee
        .refused(
            "/settings/organization",
            &[("key_creation", "everyone")],
            403,
        )
        .await;

    // An administrator's form without the session's token, or with another.
    let mut admin = ConsoleSession::signed_in(&app, "admin-acme", PASSWORD).await;
    for csrf in [None, Some("not-the-token"), Some(employee.csrf())] {
        let mut form = vec![("name", "Forged")];
        if let Some(csrf) = csrf {
            form.push(("csrf", csrf));
        }
        let response = admin.post("/settings/roles", &form).await;
        assert_eq!(response.status(), 403, "csrf {csrf:?}");
        assert!(
            response
                .text()
                .await
                .unwrap()
                .contains("This form has expired")
        );
    }
    let response = admin
        .post(
            &format!(
                "/settings/people/users/{}/deactivate",
                app.account_id("employee-acme").await
            ),
            &[],
        )
        .await;
    assert_eq!(response.status(), 403);
    let org = app.organization_id("acme").await;
    let names: Vec<String> = roles::list(&app.db, &org)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.name)
        .collect();
    assert_eq!(names, ["Administrator", "Employee"]);
    assert!(employee.is_signed_in().await, "nothing was deactivated");

    // Another organisation's roles and people are not found.
    let theirs = app.role_id("globex", "Employee").await;
    let (status, _) = admin.page(&format!("/settings/roles/{theirs}")).await;
    assert_eq!(status, 404);
    let their_admin = app.account_id("admin-globex").await;
    let (status, _) = admin
        .page(&format!("/settings/people/users/{their_admin}"))
        .await;
    assert_eq!(status, 404);
    admin
        .refused(
            &format!("/settings/people/users/{their_admin}/deactivate"),
            &[],
            404,
        )
        .await;
    admin
        .refused(
            &format!("/settings/roles/{theirs}"),
            &[("name", "Mine")],
            404,
        )
        .await;
}

/// Linked keys follow their role, end to end in Chromium: untick one field
/// of a role linked to a key, save, and the key's next call no longer
/// returns that field.
async fn a_role_edit_in_a_real_browser_narrows_a_linked_key(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    seed_organization(&app, "acme").await;
    seed_employee(&app).await;
    let mut admin = ConsoleSession::signed_in(&app, "admin-acme", PASSWORD).await;
    admin
        .submit(
            "/settings/roles",
            &[
                ("name", "Directory"),
                ("action.employees", "read"),
                ("scope.employees", "chosen"),
                ("field.employees", "id"),
                ("field.employees", "first_name"),
                ("field.employees", "last_name"),
                ("field.employees", "email"),
            ],
        )
        .await;
    let key = create_key(
        &app,
        "admin-acme",
        json!({"name": "directory", "role": "Directory"}),
    )
    .await["key"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(employee_fields(&app, &key).await.contains("email"));
    let role = app.role_id("acme", "Directory").await;

    let browser = Browser::launch().await;
    browser.sign_in(&app, "admin-acme").await;
    browser.go(&app.url("/settings/roles")).await;
    browser.click("tr[data-role='Directory'] a").await;
    browser
        .wait_for_url(&app.url(&format!("/settings/roles/{role}")))
        .await;
    let ticked = browser
        .execute(
            "return document.getElementById('field-employees-email').checked;",
            vec![],
        )
        .await;
    assert_eq!(ticked, json!(true));
    assert!(
        browser.exists("#delete-role").await,
        "custom roles can be deleted"
    );
    browser.click("#field-employees-email").await;
    browser.save_screenshot("console-role-edit").await;
    browser.click("#role-form button[type=submit]").await;
    browser
        .wait_for_url(&app.url("/settings/roles?done=updated"))
        .await;
    assert!(browser.text("#notice").await.starts_with("Role saved."));
    browser.save_screenshot("console-roles").await;

    assert_eq!(
        employee_fields(&app, &key).await,
        set(&["id", "first_name", "last_name"])
    );
    let employee = app.account_id("employee-acme").await;
    for (path, heading, name) in [
        (
            "/settings/people".to_owned(),
            "Users and bots",
            "console-people",
        ),
        (
            format!("/settings/people/users/{employee}"),
            "employee-acme",
            "console-user",
        ),
        (
            "/settings/organization".to_owned(),
            "Organisation settings",
            "console-organization",
        ),
    ] {
        browser.go(&app.url(&path)).await;
        assert_eq!(browser.text("h1").await, heading);
        browser.save_screenshot(name).await;
    }
    // On a phone the lists stack: no header row, each cell labelled.
    browser.resize(390, 844).await;
    browser.go(&app.url("/settings/people")).await;
    browser
        .wait_until(
            "getComputedStyle(document.querySelector('#users thead')).display === 'none'",
            "the users table to stack on a narrow screen",
        )
        .await;
    browser.save_screenshot("console-people-390").await;
    browser.quit().await;
}

async fn let_everyone_create_keys(app: &TestApp, organization_id: &str) {
    let organization = organizations::find_by_id(&app.db, organization_id)
        .await
        .unwrap()
        .unwrap();
    tessera_ops::organizations::set_key_creation(
        &app.ops,
        &tessera_core::audit::Actor::command_line(),
        &organization,
        organizations::KeyCreationPolicy::Everyone,
    )
    .await
    .unwrap();
}
