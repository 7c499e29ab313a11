//! The `berth` command line. It parses arguments, reads files, calls the library crates, renders
//! their results and maps outcomes to exit codes. The crates below never print; this is the edge.

mod cli;

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args = match cli::Cli::try_parse() {
        Ok(args) => args,
        Err(e) => {
            let _ = e.print();
            return match e.kind() {
                clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion => {
                    ExitCode::SUCCESS
                }
                _ => ExitCode::from(cli::EXIT_USAGE),
            };
        }
    };
    cli::run(args)
}
