//! `tessera demo`: a ready demo organisation on the configured database
//! (the embedded SQLite file by default), then the server.

use crate::admin::{self, Outcome};
use crate::serve::{self, ServeArgs};
use tessera_core::password::{self, NewPassword};
use tessera_store::{DatabaseUrl, accounts, roles};

pub const ORG_SLUG: &str = "acme";
pub const ORG_NAME: &str = "Acme Payroll Ltd";
pub const ADMIN_USERNAME: &str = "acme-admin";
/// Printed on every start: this is a demo, and a fixed password keeps the
/// printed credentials true however often the demo is restarted.
pub const ADMIN_PASSWORD: &str = "tessera-demo";

pub async fn run(url: &DatabaseUrl, args: &ServeArgs) -> anyhow::Result<()> {
    let (db, listener, config) = serve::prepare(url, args).await?;
    admin::ensure_organization(&db, ORG_SLUG, ORG_NAME).await?;
    let outcome = match accounts::find_by_username(&db, ADMIN_USERNAME).await? {
        None => {
            admin::ensure_user(
                &db,
                ORG_SLUG,
                ADMIN_USERNAME,
                ADMIN_PASSWORD,
                roles::ADMINISTRATOR,
            )
            .await?
        }
        Some(account) if is_demo_member(&account) => {
            // Put the demo password back in case it was changed, so what is
            // printed below is true.
            let hash = password::hash_password(&NewPassword::parse(ADMIN_PASSWORD)?);
            accounts::set_password_hash(&db, &account.id, &hash).await?;
            Outcome::AlreadyExisted
        }
        Some(_) => {
            anyhow::bail!("the username '{ADMIN_USERNAME}' is taken outside the demo organisation")
        }
    };
    let address = listener.local_addr()?;
    let state = match outcome {
        Outcome::Created => "created",
        Outcome::AlreadyExisted => "ready",
    };
    println!("Tessera demo {state}: organisation '{ORG_SLUG}' ({ORG_NAME}) on {url}");
    println!();
    println!("  Console:   http://{address}/login");
    println!("  Username:  {ADMIN_USERNAME}");
    println!("  Password:  {ADMIN_PASSWORD}");
    println!();
    println!("Press Ctrl-C to stop.");
    serve::run(db, listener, config, url).await
}

fn is_demo_member(account: &accounts::Account) -> bool {
    matches!(&account.membership, accounts::Membership::Member { organization_slug, .. } if organization_slug == ORG_SLUG)
}
