//! `tessera demo`: a ready demo organisation on the configured database
//! (the embedded SQLite file by default), then the server.

use crate::admin::{self, Outcome};
use crate::demo_data;
use crate::serve::{self, ServeArgs};
use tessera_core::audit::Actor;
use tessera_core::id::OrganizationId;
use tessera_core::password::{self, NewPassword};
use tessera_ops::Ops;
use tessera_ops::keys::{self, Issuer, KeyRequest, RequestedAccess};
use tessera_store::{DatabaseUrl, accounts, api_keys, roles};

pub const ORG_SLUG: &str = "acme";
pub const ORG_NAME: &str = "Acme Payroll Ltd";
pub const ADMIN_USERNAME: &str = "acme-admin";
/// Printed on every start: this is a demo, and a fixed password keeps the
/// printed credentials true however often the demo is restarted.
/// It passes the password policy like any other (at least 12 characters,
/// zxcvbn score 3 with the demo's usernames and organisation as context).
pub const ADMIN_PASSWORD: &str = "quokka-harbour-demo";
/// The deployment's operator (organisations, API clients, deployment
/// audit), with the same demo password.
pub const OPERATOR_USERNAME: &str = "demo-operator";

pub async fn run(url: &DatabaseUrl, args: &ServeArgs) -> anyhow::Result<()> {
    let (db, listener, config) = serve::prepare(url, args).await?;
    // Seeding happens before the server starts: no key cache to invalidate.
    let ops = Ops::without_cache(db.clone());
    let (organization, _) = admin::ensure_organization(&ops, ORG_SLUG, ORG_NAME).await?;
    let outcome = match accounts::find_by_username(&db, ADMIN_USERNAME).await? {
        None => {
            admin::ensure_user(
                &ops,
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
            let hash = password::hash_password(&NewPassword::parse(
                ADMIN_PASSWORD,
                &[ADMIN_USERNAME, ORG_SLUG, ORG_NAME],
            )?);
            accounts::set_password_hash(&db, &account.id, &hash).await?;
            Outcome::AlreadyExisted
        }
        Some(_) => {
            anyhow::bail!("the username '{ADMIN_USERNAME}' is taken outside the demo organisation")
        }
    };
    let seeded = if tessera_store::records::count(&db, &organization.id, "employees").await? == 0 {
        Some(demo_data::create(&db, &organization.id).await?)
    } else {
        None
    };
    ensure_demo_operator(&ops).await?;
    let sample_key = issue_sample_key(&ops, &organization.id).await?;
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
    println!(
        "  Operator (organisations and API clients, at http://{address}/operator/organizations):"
    );
    println!("  Operator username:  {OPERATOR_USERNAME}");
    println!("  Operator password:  {ADMIN_PASSWORD}");
    println!();
    println!("  Sample API key (full access, replaced at every demo start):");
    println!("  Key:       {sample_key}");
    println!("  Try:       curl -H 'X-API-KEY: {sample_key}' http://{address}/api/v1/me");
    println!(
        "  Data:      curl -H 'X-API-KEY: {sample_key}' 'http://{address}/api/v1/employees?status=active&limit=2'"
    );
    println!(
        "  Changes:   curl -H 'X-API-KEY: {sample_key}' 'http://{address}/api/v1/events?types=employees.*&limit=2'"
    );
    println!("  API docs:  http://{address}/docs");
    println!();
    if let Some(created) = seeded {
        println!(
            "  Demo data: {} employees, {} pay rates, {} time-off requests, {} documents, {} products, {} transactions",
            created.employees,
            created.pay_rates,
            created.time_off,
            created.documents,
            created.products,
            created.transactions
        );
        println!();
    }
    println!("Press Ctrl-C to stop.");
    serve::run(db, listener, config, url, args.drain_delay()).await
}

/// The demo operator, with the demo password put back in case it was
/// changed, so what is printed is true.
async fn ensure_demo_operator(ops: &Ops) -> anyhow::Result<()> {
    match accounts::find_by_username(ops.db(), OPERATOR_USERNAME).await? {
        None => {
            admin::ensure_operator(ops, OPERATOR_USERNAME, ADMIN_PASSWORD).await?;
        }
        Some(account) if matches!(account.membership, accounts::Membership::Operator) => {
            let hash =
                password::hash_password(&NewPassword::parse(ADMIN_PASSWORD, &[OPERATOR_USERNAME])?);
            accounts::set_password_hash(ops.db(), &account.id, &hash).await?;
        }
        Some(_) => {
            anyhow::bail!(
                "the username '{OPERATOR_USERNAME}' is taken by a member of an organisation"
            )
        }
    }
    Ok(())
}

/// A fresh full-access key owned by the demo administrator. The raw value of
/// a key cannot be shown twice, so each start revokes the previous sample
/// key and issues a new one.
async fn issue_sample_key(ops: &Ops, organization_id: &OrganizationId) -> anyhow::Result<String> {
    let db = ops.db();
    let admin = accounts::find_by_username(db, ADMIN_USERNAME)
        .await?
        .ok_or_else(|| anyhow::anyhow!("the demo administrator is missing"))?;
    let accounts::Membership::Member { role_id, .. } = &admin.membership else {
        anyhow::bail!("the demo administrator belongs to no organisation");
    };
    let role = roles::find_by_id(db, organization_id, role_id)
        .await?
        .ok_or_else(|| anyhow::anyhow!("the demo administrator has no role"))?;
    let actor = Actor::command_line();
    let mut cursor = None;
    loop {
        let page =
            api_keys::list(db, organization_id, Some(&admin.id), cursor.as_deref(), 200).await?;
        for key in &page {
            if key.name == SAMPLE_KEY_NAME && key.revoked_at.is_none() {
                keys::revoke(ops, key.into(), &actor).await?;
            }
        }
        match page.last() {
            Some(last) if page.len() == 200 => cursor = Some(last.id.clone()),
            _ => break,
        }
    }
    let issuer = Issuer {
        account_id: &admin.id,
        username: &admin.username,
        organization_id,
        role: &role,
        actor,
    };
    let request = KeyRequest {
        name: SAMPLE_KEY_NAME.to_owned(),
        bot: None,
        access: RequestedAccess::Everything,
        expires_at: None,
        ip_allowlist: None,
        client_id: None,
        custom_key: None,
        rate_limit: None,
    };
    let issued = keys::issue(ops, &issuer, request)
        .await
        .map_err(|e| anyhow::anyhow!("cannot issue the sample key: {e}"))?;
    Ok(issued.raw)
}

const SAMPLE_KEY_NAME: &str = "demo sample key";

fn is_demo_member(account: &accounts::Account) -> bool {
    matches!(&account.membership, accounts::Membership::Member { organization_slug, .. } if organization_slug == ORG_SLUG)
}
