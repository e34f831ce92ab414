//! Storage behaviour that must hold identically on SQLite and PostgreSQL.

use crate::harness::{Backend, TestDb};
use crate::on_both_backends;
use tessera_core::names::{DisplayName, Slug, Username};
use tessera_core::permissions::Access;
use tessera_store::{Db, StoreError, accounts, organizations, roles, sessions};

on_both_backends!(
    migrations_are_idempotent,
    organisations_come_with_built_in_roles,
    usernames_are_unique_across_the_deployment,
    expired_sessions_are_not_live_and_are_swept,
);

async fn migrations_are_idempotent(backend: Backend) {
    let test_db = TestDb::new(backend).await;
    let db = test_db.connect().await;
    assert!(db.migrate().await.unwrap() >= 1);
    assert_eq!(db.migrate().await.unwrap(), 0);
    assert_eq!(db.migrate().await.unwrap(), 0);
    db.ping().await.unwrap();
}

async fn organisations_come_with_built_in_roles(backend: Backend) {
    let test_db = TestDb::new(backend).await;
    let db = test_db.connect().await;
    db.migrate().await.unwrap();
    let org = create_organization(&db, "acme", "Acme").await.unwrap();
    let admin = roles::find_by_name(&db, &org, roles::ADMINISTRATOR)
        .await
        .unwrap()
        .unwrap();
    assert!(admin.is_administrator());
    assert_eq!(admin.access, Access::Full);
    let employee = roles::find_by_name(&db, &org, roles::EMPLOYEE)
        .await
        .unwrap()
        .unwrap();
    assert!(!employee.is_administrator());
    assert_eq!(employee.access, Access::Limited(Default::default()));
    assert!(matches!(
        create_organization(&db, "acme", "Other").await,
        Err(StoreError::Conflict(_))
    ));
}

/// Creates an organisation in a transaction of its own; its id.
async fn create_organization(
    db: &Db,
    slug: &str,
    name: &str,
) -> Result<tessera_core::id::OrganizationId, StoreError> {
    let mut tx = db.begin().await?;
    let slug = Slug::parse(slug).unwrap();
    let name = DisplayName::parse(name).unwrap();
    let (id, _) = organizations::create(&mut tx, &slug, &name, None).await?;
    tx.commit().await?;
    Ok(id)
}

async fn usernames_are_unique_across_the_deployment(backend: Backend) {
    let test_db = TestDb::new(backend).await;
    let db = test_db.connect().await;
    db.migrate().await.unwrap();
    let org = create_organization(&db, "acme", "Acme").await.unwrap();
    let role = roles::find_by_name(&db, &org, roles::EMPLOYEE)
        .await
        .unwrap()
        .unwrap();
    let name = Username::parse("ada").unwrap();
    let mut tx = db.begin().await.unwrap();
    accounts::create_operator(&mut tx, &name, "hash")
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let mut tx = db.begin().await.unwrap();
    assert!(matches!(
        accounts::create_user(&mut tx, &org, &role.id, &name, "hash").await,
        Err(StoreError::Conflict(_))
    ));
}

async fn expired_sessions_are_not_live_and_are_swept(backend: Backend) {
    let test_db = TestDb::new(backend).await;
    let db = test_db.connect().await;
    db.migrate().await.unwrap();
    let mut tx = db.begin().await.unwrap();
    let id = accounts::create_operator(&mut tx, &Username::parse("ops").unwrap(), "hash")
        .await
        .unwrap();
    let now = tessera_store::now_ms();
    for (hash, expires_at) in [("live", now + 60_000), ("expired", now - 1)] {
        sessions::create(
            &mut tx,
            &sessions::NewSession {
                token_hash: hash,
                account_id: &id,
                csrf_token: "csrf",
                ip: None,
                user_agent: None,
                expires_at,
            },
        )
        .await
        .unwrap();
    }
    tx.commit().await.unwrap();
    assert!(sessions::find_live(&db, "live").await.unwrap().is_some());
    assert!(sessions::find_live(&db, "expired").await.unwrap().is_none());
    assert_eq!(sessions::delete_expired(&db).await.unwrap(), 1);
    assert!(sessions::find_live(&db, "live").await.unwrap().is_some());
}
