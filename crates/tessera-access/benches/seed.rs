//! Seeding shared by the benchmarks and the scale example.

use tessera_core::names::{DisplayName, Slug, Username};
use tessera_store::organizations::{self, FirstAdministrator};
use tessera_store::{DatabaseUrl, Db, PoolSettings};

/// A migrated database at `url` with one organisation and its
/// administrator: the pool, the organisation's id and the account's id.
pub async fn organization_with_administrator(url: &str) -> (Db, String, String) {
    let url = DatabaseUrl::parse(url).expect("url");
    let db = Db::connect(&url, &PoolSettings::default())
        .await
        .expect("connect");
    db.migrate().await.expect("migrate");
    let mut tx = db.begin().await.expect("begin");
    let (organization_id, account_id) = organizations::create(
        &mut tx,
        &Slug::parse("acme").expect("slug"),
        &DisplayName::parse("Acme").expect("name"),
        Some(FirstAdministrator {
            username: &Username::parse("ada").expect("username"),
            password_hash: "x",
        }),
    )
    .await
    .expect("organisation");
    tx.commit().await.expect("commit");
    (
        db,
        organization_id.to_string(),
        account_id.expect("administrator"),
    )
}
