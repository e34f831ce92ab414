//! `tessera admin …`: operator tasks from the command line. Each command is
//! idempotent where repeating it can mean only one thing (creating what
//! already exists exactly as asked), and fails with one clear line otherwise.

use anyhow::{Context, anyhow, bail};
use clap::Subcommand;
use tessera_core::audit::Actor;
use tessera_core::names::{DisplayName, Slug, Username};
use tessera_core::password::{self, NewPassword};
use tessera_ops::{OpError, Ops, clients, organizations as ops_organizations, people};
use tessera_store::api_clients::NewClient;
use tessera_store::client_applications::{self, Application, Decided};
use tessera_store::organizations::{KeyCreationPolicy, Organization, RateLimit};
use tessera_store::roles::{self, Role};
use tessera_store::{DatabaseUrl, Db, accounts, bots, format_ms, organizations};

/// Who may create API keys, as `--who` names them.
#[derive(clap::ValueEnum, Debug, Clone, Copy)]
pub enum KeyCreators {
    Administrators,
    Everyone,
}

impl From<KeyCreators> for KeyCreationPolicy {
    fn from(who: KeyCreators) -> Self {
        match who {
            KeyCreators::Administrators => KeyCreationPolicy::AdministratorsOnly,
            KeyCreators::Everyone => KeyCreationPolicy::Everyone,
        }
    }
}

/// The environment variable a password can come from.
pub const PASSWORD_VARIABLE: &str = "TESSERA_PASSWORD";

/// Where a new account's password comes from, first match wins:
/// `--password`, `--password-stdin`, `TESSERA_PASSWORD`, then a prompt
/// (typed twice, not echoed) when standard input is a terminal.
#[derive(clap::Args, Debug)]
pub struct PasswordSource {
    /// The password itself. It lands in your shell history and is visible
    /// to other users in the process list: prefer the prompt,
    /// --password-stdin or the TESSERA_PASSWORD environment variable.
    #[arg(long, conflicts_with = "password_stdin")]
    password: Option<String>,
    /// Read the password from standard input (its first line; the line
    /// ending is removed).
    #[arg(long)]
    password_stdin: bool,
}

impl PasswordSource {
    fn read(self, username: &str) -> anyhow::Result<String> {
        use std::io::{BufRead, IsTerminal};
        if let Some(password) = self.password {
            return Ok(password);
        }
        if self.password_stdin {
            let mut line = String::new();
            std::io::stdin()
                .lock()
                .read_line(&mut line)
                .context("cannot read the password from standard input")?;
            let password = line.strip_suffix('\n').unwrap_or(&line);
            let password = password.strip_suffix('\r').unwrap_or(password);
            if password.is_empty() {
                bail!("--password-stdin read an empty password");
            }
            return Ok(password.to_owned());
        }
        if let Ok(password) = std::env::var(PASSWORD_VARIABLE)
            && !password.is_empty()
        {
            return Ok(password);
        }
        if !std::io::stdin().is_terminal() {
            bail!(
                "no password given: use --password-stdin, set {PASSWORD_VARIABLE}, run in a terminal to be asked, or pass --password"
            );
        }
        let password = rpassword::prompt_password(format!("Password for {username}: "))
            .context("cannot read the password from the terminal")?;
        let again = rpassword::prompt_password("The same password again: ")
            .context("cannot read the password from the terminal")?;
        if password != again {
            bail!("the two passwords differ");
        }
        Ok(password)
    }
}

#[derive(Subcommand, Debug)]
pub enum AdminCommand {
    /// Create an operator, who runs the deployment.
    CreateOperator {
        /// The operator's sign-in name (unique regardless of case).
        #[arg(long)]
        username: String,
        #[command(flatten)]
        password: PasswordSource,
    },
    /// Create an organisation (tenant) with its built-in roles.
    CreateOrg {
        /// Short name used in URLs and the `X-Organization` header, e.g. `acme`.
        #[arg(long)]
        slug: String,
        /// Display name, e.g. "Acme Payroll Ltd".
        #[arg(long)]
        name: String,
    },
    /// Create a user of an organisation.
    CreateUser {
        /// The organisation's slug, as in `X-Organization`.
        #[arg(long)]
        org: String,
        /// The user's sign-in name (unique in the deployment regardless of case).
        #[arg(long)]
        username: String,
        #[command(flatten)]
        password: PasswordSource,
        /// Role name; `Administrator` for an administrator. Default `Employee`.
        #[arg(long, default_value = roles::EMPLOYEE)]
        role: String,
    },
    /// Create a bot user (a non-login service account) of an organisation.
    CreateBot {
        /// The organisation's slug, as in `X-Organization`.
        #[arg(long)]
        org: String,
        /// The bot's name, shown as the owner of its keys.
        #[arg(long)]
        name: String,
        /// Role name; its keys can do at most what the role allows.
        #[arg(long, default_value = roles::EMPLOYEE)]
        role: String,
    },
    /// Set an organisation's request rate limit.
    SetRateLimit {
        /// The organisation's slug, as in `X-Organization`.
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
        /// The organisation's slug, as in `X-Organization`.
        #[arg(long)]
        org: String,
        /// `administrators` (the default for new organisations) or `everyone`.
        #[arg(long, value_enum)]
        who: KeyCreators,
    },
    /// Create an API client and print its id and credential (shown once).
    CreateClient {
        /// The integrating company's or product's name.
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
        /// The client's id (`cli_…`).
        #[arg(long)]
        client: String,
    },
    /// Give an API client a new credential (shown once); the current one
    /// keeps working for the overlap, so the integrator can switch over.
    RotateClient {
        /// The client's id (`cli_…`).
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
        /// The application's reference (`apl_…`).
        #[arg(long)]
        reference: String,
        /// Why, in words the applicant will read on their status page.
        #[arg(long)]
        reason: String,
    },
}

pub async fn run(url: &DatabaseUrl, command: AdminCommand) -> anyhow::Result<()> {
    let db = crate::serve::open_database(url, &crate::serve::command_line_pool()).await?;
    db.migrate()
        .await
        .context("cannot apply database migrations")?;
    let ops = Ops::without_cache(db.clone());
    let result = execute(&ops, command).await;
    db.close().await;
    result
}

/// Who the audit log names for everything done at the command line.
fn actor() -> Actor {
    Actor::command_line()
}

async fn execute(ops: &Ops, command: AdminCommand) -> anyhow::Result<()> {
    match command {
        AdminCommand::CreateOperator { username, password } => {
            let password = password.read(&username)?;
            match ensure_operator(ops, &username, &password).await? {
                Outcome::Created => println!("created operator {username}"),
                Outcome::AlreadyExisted => println!("operator {username} already exists"),
            }
        }
        AdminCommand::CreateOrg { slug, name } => {
            let (org, outcome) = ensure_organization(ops, &slug, &name).await?;
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
        } => {
            let password = password.read(&username)?;
            match ensure_user(ops, &org, &username, &password, &role).await? {
                Outcome::Created => println!("created user {username} in {org} with role {role}"),
                Outcome::AlreadyExisted => {
                    println!("user {username} already exists in {org} with role {role}")
                }
            }
        }
        AdminCommand::CreateBot { org, name, role } => create_bot(ops, &org, &name, &role).await?,
        AdminCommand::SetRateLimit { org, rate, burst } => {
            set_rate_limit(ops, &org, rate, burst).await?
        }
        AdminCommand::SetKeyCreation { org, who } => set_key_creation(ops, &org, who).await?,
        AdminCommand::CreateClient { name } => create_client(ops, &name).await?,
        AdminCommand::ListApplications => list_applications(ops.db()).await?,
        AdminCommand::ApproveApplication { reference, name } => {
            approve_application(ops, &reference, name.as_deref()).await?
        }
        AdminCommand::RejectApplication { reference, reason } => {
            reject_application(ops, &reference, &reason).await?
        }
        AdminCommand::DisableClient { client } => set_client_active(ops, &client, false).await?,
        AdminCommand::EnableClient { client } => set_client_active(ops, &client, true).await?,
        AdminCommand::RotateClient {
            client,
            overlap_hours,
        } => rotate_client(ops, &client, overlap_hours).await?,
    }
    Ok(())
}

/// The message of a refusal, or the failure as it is.
fn refused(err: OpError) -> anyhow::Error {
    match err {
        OpError::Refused(refusal) => anyhow!("{}", refusal.message),
        OpError::NotFound => anyhow!("not found"),
        OpError::Store(err) => err.into(),
    }
}

async fn create_bot(ops: &Ops, org: &str, name: &str, role: &str) -> anyhow::Result<()> {
    let db = ops.db();
    let organization = find_organization(db, org).await?;
    let name = DisplayName::parse(name)?;
    let role = find_role(db, &organization, role).await?;
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
            people::create_bot(ops, &actor(), &organization.id, &role, &name)
                .await
                .map_err(refused)?;
            println!("created bot user {name} in {org} with role {}", role.name);
        }
    }
    Ok(())
}

async fn set_rate_limit(ops: &Ops, org: &str, rate: u32, burst: u32) -> anyhow::Result<()> {
    let organization = find_organization(ops.db(), org).await?;
    let limit = RateLimit {
        per_second: rate,
        burst,
    };
    ops_organizations::set_rate_limit(ops, &actor(), &organization, limit).await?;
    println!("rate limit of {org} set to {rate} requests/s with a burst of {burst}");
    Ok(())
}

async fn set_key_creation(ops: &Ops, org: &str, who: KeyCreators) -> anyhow::Result<()> {
    let organization = find_organization(ops.db(), org).await?;
    let policy = KeyCreationPolicy::from(who);
    ops_organizations::set_key_creation(ops, &actor(), &organization, policy).await?;
    println!("in {org}, {} may now create API keys", policy.as_str());
    Ok(())
}

async fn create_client(ops: &Ops, name: &str) -> anyhow::Result<()> {
    let name = DisplayName::parse(name)?;
    let NewClient { client, credential } = match clients::create(ops, &actor(), &name).await {
        Err(OpError::Refused(_)) => bail!("an API client named '{name}' already exists"),
        other => other.map_err(refused)?,
    };
    println!("client_id: {}", client.id);
    println!("credential: {}", credential.raw);
    eprintln!("Store the credential now: Tessera keeps only its hash and cannot show it again.");
    Ok(())
}

async fn rotate_client(ops: &Ops, client_id: &str, overlap_hours: u32) -> anyhow::Result<()> {
    let rotated = match clients::rotate(ops, &actor(), client_id, overlap_hours).await {
        Err(OpError::NotFound) => bail!("there is no API client '{client_id}'"),
        other => other.map_err(refused)?,
    };
    println!("credential: {}", rotated.raw);
    println!(
        "previous credential valid until: {}",
        format_ms(rotated.previous_valid_until)
    );
    eprintln!("Store the credential now: Tessera keeps only its hash and cannot show it again.");
    Ok(())
}

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

async fn find_application(db: &Db, reference: &str) -> anyhow::Result<Application> {
    client_applications::find(db, reference)
        .await?
        .ok_or_else(|| anyhow!("there is no application '{reference}'"))
}

fn undecidable<T>(reference: &str, decided: Decided<T>) -> anyhow::Result<T> {
    match decided {
        Decided::Done(done) => Ok(done),
        Decided::NotFound => bail!("there is no application '{reference}'"),
        Decided::AlreadyDecided(status) => {
            bail!("application '{reference}' is already {}", status.as_str())
        }
    }
}

async fn approve_application(ops: &Ops, reference: &str, name: Option<&str>) -> anyhow::Result<()> {
    let application = find_application(ops.db(), reference).await?;
    let name = DisplayName::parse(name.unwrap_or(&application.company))?;
    let decided = match clients::approve_application(ops, &actor(), &application, &name).await {
        Err(OpError::Refused(_)) => {
            bail!("an API client named '{name}' already exists; choose another with --name")
        }
        other => other.map_err(refused)?,
    };
    let NewClient { client, credential } = undecidable(reference, decided)?;
    println!("client_id: {}", client.id);
    println!("credential: {}", credential.raw);
    eprintln!(
        "Hand both to {} over a safe channel: Tessera keeps only the credential's hash and cannot show it again.",
        application.contact_email
    );
    Ok(())
}

async fn reject_application(ops: &Ops, reference: &str, reason: &str) -> anyhow::Result<()> {
    let reason = reason.trim();
    if reason.is_empty() {
        bail!("give the applicant a reason with --reason");
    }
    let application = find_application(ops.db(), reference).await?;
    let decided = clients::reject_application(ops, &actor(), &application, reason).await?;
    undecidable(reference, decided)?;
    println!("application {reference} rejected");
    Ok(())
}

async fn set_client_active(ops: &Ops, client_id: &str, active: bool) -> anyhow::Result<()> {
    match clients::set_active(ops, &actor(), client_id, active).await {
        Err(OpError::NotFound) => bail!("there is no API client '{client_id}'"),
        other => other.map_err(refused)?,
    }
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

/// Checks a new password against the policy (its refusal says why) and
/// hashes it. `context`: the username and organisation, which make a
/// password built on them weaker.
fn hash_new_password(candidate: &str, context: &[&str]) -> anyhow::Result<String> {
    let password = NewPassword::parse(candidate, context)?;
    Ok(password::hash_password(&password))
}

pub async fn ensure_operator(ops: &Ops, username: &str, password: &str) -> anyhow::Result<Outcome> {
    let username = Username::parse(username)?;
    if let Some(existing) = accounts::credentials_by_username(ops.db(), username.as_str()).await? {
        if existing.is_operator && password::verify_password(password, &existing.password_hash) {
            return Ok(Outcome::AlreadyExisted);
        }
        bail!("the username '{username}' is already taken");
    }
    let hash = hash_new_password(password, &[username.as_str()])?;
    people::create_operator(ops, &actor(), &username, &hash)
        .await
        .map_err(refused)?;
    Ok(Outcome::Created)
}

pub async fn ensure_organization(
    ops: &Ops,
    slug: &str,
    name: &str,
) -> anyhow::Result<(Organization, Outcome)> {
    let slug = Slug::parse(slug)?;
    let name = DisplayName::parse(name)?;
    if let Some(existing) = organizations::find_by_slug(ops.db(), slug.as_str()).await? {
        if existing.name == name.as_str() {
            return Ok((existing, Outcome::AlreadyExisted));
        }
        bail!(
            "organisation '{slug}' already exists with the name '{}'",
            existing.name
        );
    }
    match ops_organizations::create(ops, &actor(), &slug, &name, None).await {
        Err(OpError::Refused(_)) => bail!("organisation '{slug}' already exists"),
        other => other.map_err(refused)?,
    };
    let org = find_organization(ops.db(), slug.as_str()).await?;
    Ok((org, Outcome::Created))
}

pub async fn ensure_user(
    ops: &Ops,
    org: &str,
    username: &str,
    password: &str,
    role: &str,
) -> anyhow::Result<Outcome> {
    let db = ops.db();
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
    let hash = hash_new_password(
        password,
        &[
            username.as_str(),
            organization.slug.as_str(),
            organization.name.as_str(),
        ],
    )?;
    people::create_user(ops, &actor(), &organization.id, &role, &username, &hash)
        .await
        .map_err(refused)?;
    Ok(Outcome::Created)
}
