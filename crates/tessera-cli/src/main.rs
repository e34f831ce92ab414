//! `tessera`: the one binary of a Tessera deployment.

mod admin;
mod demo;
mod demo_data;
mod import;
mod serve;
mod telemetry;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// mimalloc instead of the system allocator: the request path allocates many
/// small, short-lived buffers, which glibc's allocator serves slowly under
/// concurrency (see docs/performance.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "tessera",
    version,
    about = "Self-hosted HR and payroll data API with first-class API keys"
)]
struct Cli {
    /// Database to use: sqlite://PATH (embedded default) or postgres://USER@HOST/DB.
    #[arg(
        long,
        env = "TESSERA_DATABASE_URL",
        default_value = "sqlite://tessera.db",
        global = true,
        help_heading = "Global options"
    )]
    database_url: String,

    /// Log line format on standard error.
    #[arg(long, env = "TESSERA_LOG_FORMAT", value_enum, default_value_t = telemetry::LogFormat::Text, global = true, help_heading = "Global options")]
    log_format: telemetry::LogFormat,

    /// Log filter, e.g. `info`, `debug`, `tessera_server=debug,info`.
    #[arg(
        long,
        env = "TESSERA_LOG",
        default_value = "info",
        global = true,
        help_heading = "Global options"
    )]
    log: String,

    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the API and console (applies pending migrations first).
    Serve(serve::ServeArgs),
    /// Serve with a ready demo organisation, printing how to sign in.
    Demo(serve::ServeArgs),
    /// Apply pending database migrations and exit.
    Migrate,
    /// Import a CSV file of records into an organisation, all rows or none.
    Import(import::ImportArgs),
    /// Operator administration from the command line.
    #[command(subcommand)]
    Admin(admin::AdminCommand),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    telemetry::init(cli.log_format, &cli.log);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("error: cannot start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let database_url = tessera_store::DatabaseUrl::parse(&cli.database_url)?;
    match cli.command {
        Command::Serve(args) => serve::serve(&database_url, &args).await,
        Command::Demo(args) => demo::run(&database_url, &args).await,
        Command::Migrate => {
            let db = serve::open_database(&database_url, &tessera_store::PoolSettings::default())
                .await?;
            match db.migrate().await? {
                0 => println!("database is up to date"),
                n => println!("applied {n} migration(s)"),
            }
            db.close().await;
            Ok(())
        }
        Command::Admin(command) => admin::run(&database_url, command).await,
        Command::Import(args) => import::run(&database_url, &args).await,
    }
}

#[cfg(test)]
mod tests {
    use super::Cli;
    use clap::CommandFactory;

    /// `--help` describes every flag of every command, so nobody has to
    /// guess what `--org` wants.
    #[test]
    fn every_flag_of_every_command_has_a_description() {
        fn undescribed(command: &clap::Command, path: &str, found: &mut Vec<String>) {
            for argument in command.get_arguments() {
                let id = argument.get_id().as_str();
                if !matches!(id, "help" | "version") && argument.get_help().is_none() {
                    found.push(format!("{path} --{id}"));
                }
            }
            for sub in command.get_subcommands() {
                undescribed(sub, &format!("{path} {}", sub.get_name()), found);
            }
        }
        let mut found = Vec::new();
        undescribed(&Cli::command(), "tessera", &mut found);
        assert!(found.is_empty(), "flags without help: {found:?}");
    }
}
