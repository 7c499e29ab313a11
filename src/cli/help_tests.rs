//! The command line's help is held to the commands: every command and every flag of every
//! command is described (walking clap's `Command`, so a new flag without a description fails
//! here), and the help of the commands users misread says what they take.

use super::Cli;
use clap::CommandFactory;

/// Every command and subcommand, with its path (`berth state show`).
fn commands() -> Vec<(String, clap::Command)> {
    let mut out = Vec::new();
    let mut todo = vec![("berth".to_string(), Cli::command())];
    while let Some((path, cmd)) = todo.pop() {
        for sub in cmd.get_subcommands() {
            todo.push((format!("{path} {}", sub.get_name()), sub.clone()));
        }
        out.push((path, cmd));
    }
    out
}

fn help_of(args: &[&str]) -> String {
    let mut cmd = Cli::command();
    let mut current = &mut cmd;
    for a in args {
        current = current.find_subcommand_mut(a).expect("a subcommand");
    }
    current.render_long_help().to_string()
}

#[test]
fn every_command_and_flag_is_described() {
    let mut missing = Vec::new();
    for (path, cmd) in commands() {
        if cmd.get_about().is_none() && path != "berth help" && !path.starts_with("berth help ") {
            missing.push(format!("{path}: the command"));
        }
        for arg in cmd.get_arguments() {
            let builtin = matches!(arg.get_id().as_str(), "help" | "version");
            let described = arg
                .get_help()
                .or(arg.get_long_help())
                .is_some_and(|h| !h.to_string().trim().is_empty());
            if !builtin && !described {
                missing.push(format!("{path}: {}", arg.get_id()));
            }
        }
    }
    assert!(missing.is_empty(), "not described: {missing:#?}");
}

#[test]
fn apply_says_it_takes_a_plan_file() {
    let help = help_of(&["apply"]);
    assert!(help.contains("[DIR|PLANFILE]"), "{help}");
    assert!(help.contains("berth plan --out"), "{help}");
}

#[test]
fn destroy_lists_only_what_destroy_does() {
    let help = help_of(&["destroy"]);
    for flag in ["--no-wait", "--no-verify", "Apply without"] {
        assert!(!help.contains(flag), "{flag} in {help}");
    }
    assert!(help.contains("--all-environments"), "{help}");
}

#[test]
fn status_takes_an_environment_and_state_a_directory() {
    let cli = Cli::try_parse_from(["berth", "status", "-e", "staging", "conf"]).unwrap();
    let super::Command::Status(args) = cli.command else {
        panic!("not status")
    };
    assert_eq!(args.env.as_deref(), Some("staging"));
    assert_eq!(args.dir, std::path::Path::new("conf"));
    let cli = Cli::try_parse_from(["berth", "state", "show", "shop/production", "conf"]).unwrap();
    let super::Command::State(args) = cli.command else {
        panic!("not state")
    };
    assert!(matches!(
        args.command,
        super::state_cmd::StateCommand::Show { ref place, .. }
            if place.dir.as_deref() == Some(std::path::Path::new("conf"))
    ));
}

use clap::Parser;
