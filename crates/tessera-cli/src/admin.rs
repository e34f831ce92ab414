//! `tessera admin …`: operator tasks from the command line. Each command is
//! idempotent where repeating it can mean only one thing (creating what
//! already exists exactly as asked), and fails with one clear line otherwise.

use anyhow::{Context, anyhow, bail};
use clap::Subcommand;
use serde_json::json;
use tessera_core::audit::AuditAction;
use tessera_core::names::{DisplayName, Slug, Username};
use tessera_core::password::{self, NewPassword};
use tessera_core::secret::{self, SecretKind};
use tessera_store::api_clients::NewClient;
use tessera_store::audit::{self, Actor, NewEntry};
use tessera_store::client_applications::{self, Decided};
use tessera_store::organizations::{KeyCreationPolicy, Organization, RateLimit};
use tessera_store::roles::{self, Role};
use tessera_store::{
    DatabaseUrl, Db, PoolSettings, StoreError, accounts, api_clients, bots, format_ms, now_ms,
    organizations,
};

#[derive(Subcommand, Debug)]
pub enum AdminCommand {
    /// Create an operator, who runs the deployment.
    CreateOperator {
        #[arg(long)]
        username: String,
        #[arg(long)]
        password: String,
    },
    /// Create an organisation (tenant) with its built-in roles.
    CreateOrg {
        #[arg(long)]
        slug: String,
        #[arg(long)]
        name: String,
    },
    /// Create a user of an organisation.
    CreateUser {
        #[arg(long)]
        org: String,
        #[arg(long)]
        username: String,
        #[arg(long)]
        password: String,
        /// Role name; `Administrator` for an administrator. Default `Employee`.
        #[arg(long, default_value = roles::EMPLOYEE)]
        role: String,
    },
    /// Create a bot user (a non-login service account) of an organisation.
    CreateBot {
        #[arg(long)]
        org: String,
        #[arg(long)]
        name: String,
        #[arg(long, default_value = roles::EMPLOYEE)]
        role: String,
    },
    /// Set an organisation's request rate limit.
    SetRateLimit {
        #[arg(long)]
        org: String,
        /// Sustained requests per second.
        #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
        rate: u32,
        /// Requests that may arrive at once.
        #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
        burst: u32,
    },
    /// Set who may create API keys in an organisation.
    SetKeyCreation {
        #[arg(long)]
        org: String,
        /// `administrators` (the default for new organisations) or `everyone`.
        #[arg(long, value_parser = ["administrators", "everyone"])]
        who: String,
    },
    /// Create an API client and print its id and credential (shown once).
    CreateClient {
        #[arg(long)]
        name: String,
    },
    /// Disable an API client everywhere: its requests get 401
    /// `invalid_api_client` until it is enabled again.
    DisableClient {
        /// The client's id (`cli_…`).
        #[arg(long)]
        client: String,
    },
    /// Enable a disabled API client again.
    EnableClient {
        #[arg(long)]
        client: String,
    },
    /// Give an API client a new credential (shown once); the current one
    /// keeps working for the overlap, so the integrator can switch over.
    RotateClient {
        #[arg(long)]
        client: String,
        /// Hours the current credential keeps working (0: stops at once).
        #[arg(long, default_value_t = 24, value_parser = clap::value_parser!(u32).range(0..=720))]
        overlap_hours: u32,
    },
    /// List applications for an API client: pending ones first, then the
    /// most recently decided.
    ListApplications,
    /// Approve an application: creates its API client and prints the id and
    /// credential (shown once) to hand over.
    ApproveApplication {
        /// The application's reference (`apl_…`).
        #[arg(long)]
        reference: String,
        /// The client's name; the company's name by default.
        #[arg(long)]
        name: Option<String>,
    },
    /// Reject an application; the applicant sees the reason on their status page.
    RejectApplication {
        #[arg(long)]
        reference: String,
        #[arg(long)]
        reason: String,
    },
}

pub async fn run(url: &DatabaseUrl, command: AdminCommand) -> anyhow::Result<()> {
    let db = crate::serve::open_database(url, &PoolSettings::default()).await?;
    db.migrate()
        .await
        .context("cannot apply database migrations")?;
    let result = execute(&db, command).await;
    db.close().await;
    result
}

async fn execute(db: &Db, command: AdminCommand) -> anyhow::Result<()> {
    match command {
        AdminCommand::CreateOperator { username, password } => {
            match ensure_operator(db, &username, &password).await? {
                Outcome::Created => println!("created operator {username}"),
                Outcome::AlreadyExisted => println!("operator {username} already exists"),
            }
        }
        AdminCommand::CreateOrg { slug, name } => {
            let (org, outcome) = ensure_organization(db, &slug, &name).await?;
            match outcome {
                Outcome::Created => println!("created organisation {} ({})", org.slug, org.id),
                Outcome::AlreadyExisted => {
                    println!("organisation {} already exists ({})", org.slug, org.id)
                }
            }
        }
        AdminCommand::CreateUser {
            org,
            username,
            password,
            role,
        } => match ensure_user(db, &org, &username, &password, &role).await? {
            Outcome::Created => println!("created user {username} in {org} with role {role}"),
            Outcome::AlreadyExisted => {
                println!("user {username} already exists in {org} with role {role}")
            }
        },
        AdminCommand::CreateBot { org, name, role } => {
            let organization = find_organization(db, &org).await?;
            let name = DisplayName::parse(&name)?;
            let role = find_role(db, &organization, &role).await?;
            match bots::find_by_name(db, &organization.id, name.as_str()).await? {
                Some(bot) if bot.role_id == role.id => {
                    println!(
                        "bot user {name} already exists in {org} with role {}",
                        role.name
                    );
                }
                Some(bot) => bail!(
                    "bot user '{name}' already exists in {org} with the role '{}', not '{}'",
                    bot.role_name,
                    role.name
                ),
                None => {
                    let bot = bots::create(db, &organization.id, &role.id, &name).await?;
                    record(
                        db,
                        Some(&organization.id),
                        AuditAction::BotCreated,
                        &bot.id,
                        json!({"name": name.as_str(), "role": role.name}),
                    )
                    .await?;
                    println!("created bot user {name} in {org} with role {}", role.name);
                }
            }
        }
        AdminCommand::SetRateLimit { org, rate, burst } => {
            let organization = find_organization(db, &org).await?;
            let limit = RateLimit {
                per_second: rate,
                burst,
            };
            organizations::set_rate_limit(db, &organization.id, limit).await?;
            record(
                db,
                Some(&organization.id),
                AuditAction::RateLimitChanged,
                &organization.id,
                json!({"rate": rate, "burst": burst, "previous": {"rate": organization.rate_limit.per_second, "burst": organization.rate_limit.burst}}),
            )
            .await?;
            println!("rate limit of {org} set to {rate} requests/s with a burst of {burst}");
        }
        AdminCommand::SetKeyCreation { org, who } => {
            let organization = find_organization(db, &org).await?;
            let policy = if who == "everyone" {
                KeyCreationPolicy::Everyone
            } else {
                KeyCreationPolicy::AdministratorsOnly
            };
            organizations::set_key_creation(db, &organization.id, policy).await?;
            record(
                db,
                Some(&organization.id),
                AuditAction::KeyCreationPolicyChanged,
                &organization.id,
                json!({"who": policy.as_str(), "previous": organization.key_creation.as_str()}),
            )
            .await?;
            println!("in {org}, {} may now create API keys", policy.as_str());
        }
        AdminCommand::CreateClient { name } => {
            let name = DisplayName::parse(&name)?;
            let NewClient { client, credential } = match api_clients::create(db, &name).await {
                Err(StoreError::Conflict(_)) => {
                    bail!("an API client named '{name}' already exists")
                }
                other => other?,
            };
            record(
                db,
                None,
                AuditAction::ClientCreated,
                &client.id,
                json!({"name": name.as_str()}),
            )
            .await?;
            println!("client_id: {}", client.id);
            println!("credential: {}", credential.raw);
            eprintln!(
                "Store the credential now: Tessera keeps only its hash and cannot show it again."
            );
        }
        AdminCommand::ListApplications => list_applications(db).await?,
        AdminCommand::ApproveApplication { reference, name } => {
            approve_application(db, &reference, name.as_deref()).await?
        }
        AdminCommand::RejectApplication { reference, reason } => {
            reject_application(db, &reference, &reason).await?
        }
        AdminCommand::DisableClient { client } => set_client_active(db, &client, false).await?,
        AdminCommand::EnableClient { client } => set_client_active(db, &client, true).await?,
        AdminCommand::RotateClient {
            client,
            overlap_hours,
        } => {
            let credential = secret::generate(SecretKind::ClientCredential);
            let previous_valid_until = now_ms() + i64::from(overlap_hours) * 3_600_000;
            let rotated = api_clients::rotate_credential(
                db,
                &client,
                &credential.hash,
                &credential.hint,
                previous_valid_until,
            )
            .await?;
            if !rotated {
                bail!("there is no API client '{client}'");
            }
            record(
                db,
                None,
                AuditAction::ClientRotated,
                &client,
                json!({"overlap_hours": overlap_hours}),
            )
            .await?;
            println!("credential: {}", credential.raw);
            println!(
                "previous credential valid until: {}",
                format_ms(previous_valid_until)
            );
            eprintln!(
                "Store the credential now: Tessera keeps only its hash and cannot show it again."
            );
        }
    }
    Ok(())
}

/// How the command line signs the decisions it records.
const DECIDED_BY: &str = "tessera admin";

async fn list_applications(db: &Db) -> anyhow::Result<()> {
    let queue = client_applications::queue(db, 50).await?;
    if queue.pending.is_empty() && queue.decided.is_empty() {
        println!("no applications");
    }
    for application in queue.pending.iter().chain(&queue.decided) {
        println!(
            "{}\t{}\t{}\t{}\t{}\t{}",
            application.reference,
            application.status.as_str(),
            application.company,
            application.contact_email,
            application.expected_volume.as_str(),
            format_ms(application.created_at),
        );
    }
    Ok(())
}

async fn approve_application(db: &Db, reference: &str, name: Option<&str>) -> anyhow::Result<()> {
    let application = client_applications::find(db, reference)
        .await?
        .ok_or_else(|| anyhow!("there is no application '{reference}'"))?;
    let name = DisplayName::parse(name.unwrap_or(&application.company))?;
    let new = match client_applications::approve(db, reference, &name, DECIDED_BY).await {
        Err(StoreError::Conflict(_)) => {
            bail!("an API client named '{name}' already exists; choose another with --name")
        }
        other => other?,
    };
    let NewClient { client, credential } = match new {
        Decided::Done(new) => new,
        Decided::NotFound => bail!("there is no application '{reference}'"),
        Decided::AlreadyDecided(status) => {
            bail!("application '{reference}' is already {}", status.as_str())
        }
    };
    record(
        db,
        None,
        AuditAction::ClientCreated,
        &client.id,
        json!({"name": client.name, "application": reference}),
    )
    .await?;
    record(
        db,
        None,
        AuditAction::ClientApplicationApproved,
        reference,
        json!({"company": application.company, "client_id": client.id}),
    )
    .await?;
    println!("client_id: {}", client.id);
    println!("credential: {}", credential.raw);
    eprintln!(
        "Hand both to {} over a safe channel: Tessera keeps only the credential's hash and cannot show it again.",
        application.contact_email
    );
    Ok(())
}

async fn reject_application(db: &Db, reference: &str, reason: &str) -> anyhow::Result<()> {
    let reason = reason.trim();
    if reason.is_empty() {
        bail!("give the applicant a reason with --reason");
    }
    let application = client_applications::find(db, reference)
        .await?
        .ok_or_else(|| anyhow!("there is no application '{reference}'"))?;
    match client_applications::reject(db, reference, reason, DECIDED_BY).await? {
        Decided::Done(()) => {}
        Decided::NotFound => bail!("there is no application '{reference}'"),
        Decided::AlreadyDecided(status) => {
            bail!("application '{reference}' is already {}", status.as_str())
        }
    }
    record(
        db,
        None,
        AuditAction::ClientApplicationRejected,
        reference,
        json!({"company": application.company, "reason": reason}),
    )
    .await?;
    println!("application {reference} rejected");
    Ok(())
}

async fn set_client_active(db: &Db, client_id: &str, active: bool) -> anyhow::Result<()> {
    if !api_clients::set_active(db, client_id, active).await? {
        bail!("there is no API client '{client_id}'");
    }
    let action = if active {
        AuditAction::ClientEnabled
    } else {
        AuditAction::ClientDisabled
    };
    record(db, None, action, client_id, json!({})).await?;
    println!(
        "API client {client_id} {}",
        if active { "enabled" } else { "disabled" }
    );
    Ok(())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Created,
    AlreadyExisted,
}

async fn record(
    db: &Db,
    organization_id: Option<&str>,
    action: AuditAction,
    target: &str,
    details: serde_json::Value,
) -> anyhow::Result<()> {
    audit::record(
        db,
        NewEntry {
            organization_id,
            actor: &Actor::command_line(),
            action,
            target: Some(target),
            ip: None,
            details: Some(details),
        },
    )
    .await?;
    Ok(())
}

async fn find_organization(db: &Db, slug: &str) -> anyhow::Result<Organization> {
    organizations::find_by_slug(db, slug)
        .await?
        .ok_or_else(|| anyhow!("no organisation with the slug '{slug}'"))
}

async fn find_role(db: &Db, organization: &Organization, name: &str) -> anyhow::Result<Role> {
    if let Some(role) = roles::find_by_name(db, &organization.id, name).await? {
        return Ok(role);
    }
    let known: Vec<String> = roles::list(db, &organization.id)
        .await?
        .into_iter()
        .map(|r| r.name)
        .collect();
    bail!(
        "organisation {} has no role '{name}' (roles: {})",
        organization.slug,
        known.join(", ")
    )
}

fn hash_new_password(candidate: &str) -> anyhow::Result<String> {
    let password = NewPassword::parse(candidate)?;
    Ok(password::hash_password(&password))
}

pub async fn ensure_operator(db: &Db, username: &str, password: &str) -> anyhow::Result<Outcome> {
    let username = Username::parse(username)?;
    if let Some(existing) = accounts::credentials_by_username(db, username.as_str()).await? {
        if existing.is_operator && password::verify_password(password, &existing.password_hash) {
            return Ok(Outcome::AlreadyExisted);
        }
        bail!("the username '{username}' is already taken");
    }
    let hash = hash_new_password(password)?;
    let id = match accounts::create_operator(db, &username, &hash).await {
        Err(StoreError::Conflict(_)) => bail!("the username '{username}' is already taken"),
        other => other?,
    };
    record(
        db,
        None,
        AuditAction::OperatorCreated,
        &id,
        json!({"username": username.as_str()}),
    )
    .await?;
    Ok(Outcome::Created)
}

pub async fn ensure_organization(
    db: &Db,
    slug: &str,
    name: &str,
) -> anyhow::Result<(Organization, Outcome)> {
    let slug = Slug::parse(slug)?;
    let name = DisplayName::parse(name)?;
    if let Some(existing) = organizations::find_by_slug(db, slug.as_str()).await? {
        if existing.name == name.as_str() {
            return Ok((existing, Outcome::AlreadyExisted));
        }
        bail!(
            "organisation '{slug}' already exists with the name '{}'",
            existing.name
        );
    }
    let org = match organizations::create(db, &slug, &name).await {
        Err(StoreError::Conflict(_)) => bail!("organisation '{slug}' already exists"),
        other => other?,
    };
    record(
        db,
        Some(&org.id),
        AuditAction::OrganizationCreated,
        &org.id,
        json!({"slug": slug.as_str(), "name": name.as_str()}),
    )
    .await?;
    Ok((org, Outcome::Created))
}

pub async fn ensure_user(
    db: &Db,
    org: &str,
    username: &str,
    password: &str,
    role: &str,
) -> anyhow::Result<Outcome> {
    let organization = find_organization(db, org).await?;
    let role = find_role(db, &organization, role).await?;
    let username = Username::parse(username)?;
    if let Some(existing) = accounts::find_by_username(db, username.as_str()).await? {
        let same_membership = matches!(
            &existing.membership,
            accounts::Membership::Member { organization_id, role_id, .. }
                if *organization_id == organization.id && *role_id == role.id
        );
        let credentials = accounts::credentials_by_username(db, username.as_str()).await?;
        let same_password =
            credentials.is_some_and(|c| password::verify_password(password, &c.password_hash));
        if same_membership && same_password {
            return Ok(Outcome::AlreadyExisted);
        }
        bail!("the username '{username}' is already taken");
    }
    let hash = hash_new_password(password)?;
    let id = match accounts::create_user(db, &organization.id, &role.id, &username, &hash).await {
        Err(StoreError::Conflict(_)) => bail!("the username '{username}' is already taken"),
        other => other?,
    };
    record(
        db,
        Some(&organization.id),
        AuditAction::UserCreated,
        &id,
        json!({"username": username.as_str(), "role": role.name}),
    )
    .await?;
    Ok(Outcome::Created)
}
