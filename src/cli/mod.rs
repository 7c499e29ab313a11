//! Command definitions and dispatch. Exit codes: 0 success (valid, no changes), 1 error or
//! invalid input, 2 changes present (`plan --detailed-exitcode`, `drift`), 64 usage error.

mod access;
mod apply;
mod completions;
mod destroy;
mod drift;
mod explain;
mod export;
mod failure;
mod fmt;
mod graph;
#[cfg(test)]
mod help_tests;
mod import;
mod init;
mod load;
mod logs;
mod output;
mod plan;
mod progress;
mod rollback;
mod session;
mod show;
#[cfg(test)]
mod sources_tests;
mod state_cmd;
mod status;
mod validate;

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;
use std::process::ExitCode;

pub const EXIT_ERROR: u8 = 1;
pub const EXIT_CHANGES: u8 = 2;
pub const EXIT_USAGE: u8 = 64;

#[derive(Debug, Parser)]
#[command(
    name = "berth",
    version,
    about = "Plan-first deployments of many projects to one Docker Swarm behind Traefik"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Parse and type-check a configuration directory.
    Validate(ValidateArgs),
    /// Rewrite *.berth files in canonical layout (keeps comments).
    Fmt(FmtArgs),
    /// Print the long explanation of a diagnostic code, e.g. `berth explain E0101`.
    Explain(ExplainArgs),
    /// Show what applying would change (exit 2 with --detailed-exitcode when it would).
    Plan(plan::PlanArgs),
    /// Apply the configuration, or a plan file saved by `berth plan --out`, to the cluster.
    Apply(apply::ApplyArgs),
    /// Remove a project environment's objects, every environment of a project
    /// (--all-environments), or the platform; volumes are kept unless --allow-data-loss.
    Destroy(destroy::DestroyArgs),
    /// Report what changed in the cluster outside berth (exit 2 on drift).
    Drift(drift::DriftArgs),
    /// Services, replicas, health and routes of applied project environments.
    Status(status::StatusArgs),
    /// Inspect recorded state, or remove a stale lock.
    State(state_cmd::StateArgs),
    /// Return a project environment to the specs recorded at an earlier serial.
    Rollback(rollback::RollbackArgs),
    /// Print the resource dependency graph as DOT.
    Graph(graph::GraphArgs),
    /// What the access roles give: `berth access codeowners` prints a CODEOWNERS file.
    Access(access::AccessArgs),
    /// Print a plan file saved by `berth plan --out` (human, markdown or JSON).
    Show(show::ShowArgs),
    /// Write a commented starting project (`main.berth`) into a directory.
    Init(init::InitArgs),
    /// Print the services' logs, each line prefixed with its service and task.
    Logs(logs::LogsArgs),
    /// Print a completion script for bash, zsh or fish.
    Completions(completions::CompletionsArgs),
    /// Translate compose files into a berth project: `berth import compose FILE...`.
    Import(import::ImportArgs),
    /// Write a project environment in another format: `berth export compose -p P -e E`.
    Export(export::ExportArgs),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum Format {
    #[default]
    Human,
    Json,
}

/// Where the configuration is and which variable values apply.
#[derive(Debug, Args, Clone)]
pub struct ConfigArgs {
    /// Directory holding the *.berth files.
    #[arg(default_value = ".")]
    pub dir: PathBuf,
    /// Set a variable: `--var pr=123` (repeatable; wins over var files and BERTH_VAR_*).
    #[arg(long = "var", value_name = "NAME=VALUE")]
    pub vars: Vec<String>,
    /// Read variables from a TOML file (repeatable; later files win).
    #[arg(long = "var-file", value_name = "FILE")]
    pub var_files: Vec<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ValidateArgs {
    #[command(flatten)]
    pub config: ConfigArgs,
    /// Output format of the diagnostics.
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
    /// Treat warnings as errors.
    #[arg(long)]
    pub deny_warnings: bool,
}

#[derive(Debug, Args)]
pub struct FmtArgs {
    /// Directory or file to format.
    #[arg(default_value = ".")]
    pub path: PathBuf,
    /// Do not write; exit 1 and list the files that are not formatted.
    #[arg(long)]
    pub check: bool,
    /// Print the diff of what would change (implies --check).
    #[arg(long)]
    pub diff: bool,
}

#[derive(Debug, Args)]
pub struct ExplainArgs {
    /// A diagnostic code such as E0101; without it, list all codes.
    pub code: Option<String>,
}

pub fn run(cli: Cli) -> ExitCode {
    let format = error_format(&cli.command);
    let result = match cli.command {
        Command::Validate(args) => validate::run(&args),
        Command::Fmt(args) => fmt::run(&args),
        Command::Explain(args) => explain::run(&args),
        Command::Plan(args) => plan::run(&args),
        Command::Apply(args) => apply::run(&args),
        Command::Destroy(args) => destroy::run(&args),
        Command::Drift(args) => drift::run(&args),
        Command::Status(args) => status::run(&args),
        Command::State(args) => state_cmd::run(&args),
        Command::Rollback(args) => rollback::run(&args),
        Command::Graph(args) => graph::run(&args),
        Command::Access(args) => access::run(&args),
        Command::Show(args) => show::run(&args),
        Command::Init(args) => init::run(&args),
        Command::Logs(args) => logs::run(&args),
        Command::Completions(args) => completions::run(&args),
        Command::Import(args) => import::run(&args),
        Command::Export(args) => export::run(&args),
    };
    result.unwrap_or_else(|failure| failure.exit(format))
}

/// How a command's failure is shown: as JSON on stdout when the command was asked for JSON, so
/// that a machine reading its output always reads one JSON document.
fn error_format(command: &Command) -> Format {
    let json = match command {
        Command::Validate(args) => args.format == Format::Json,
        Command::Plan(args) => args.format == plan::PlanFormat::Json,
        Command::Drift(args) => args.format == Format::Json,
        Command::Status(args) => args.format == status::StatusFormat::Json,
        Command::Show(args) => args.format == plan::PlanFormat::Json,
        _ => false,
    };
    if json {
        Format::Json
    } else {
        Format::Human
    }
}
