//! `berth validate`: parse and type-check, check that every secret and config source is there
//! (without reading it), print every diagnostic, exit 1 on errors.

use super::failure::Failure;
use super::{load, Format, ValidateArgs, EXIT_ERROR};
use std::process::ExitCode;

pub fn run(args: &ValidateArgs) -> Result<ExitCode, Failure> {
    let mut analysis = load::analyze(&args.config, false)?;
    load::check_sources(&args.config.dir, &mut analysis, None, true);
    load::report(&analysis, args.format);
    let warnings = analysis.diagnostics.iter().any(|d| !d.is_error());
    if analysis.has_errors() || (args.deny_warnings && warnings) {
        return Ok(ExitCode::from(EXIT_ERROR));
    }
    if args.format == Format::Human {
        let config = analysis
            .config
            .as_ref()
            .expect("a configuration without errors has a model");
        let projects = config.projects.len();
        let deployments = config.deployments.len();
        let services: usize = config.deployments.iter().map(|d| d.services.len()).sum();
        let developers = super::access::unenforced_developers(config);
        if !developers.is_empty() {
            eprintln!(
                "note: the `developer` role ({}) is not enforced: berth's logs command, like status, reads the cluster with the engine access its user already has and checks no role, berth has no restart command, and it does not stand between a user and `docker`; grant those through Docker or your CI",
                developers.join(", ")
            );
        }
        // The platform's sources are not the tenants' to hold, so a missing one does not fail
        // validate; but "valid" alone would say a plan of the platform can run.
        let platform = load::missing_platform_sources(&args.config.dir, &config.platform);
        for d in &platform {
            eprintln!(
                "note: {}; a plan or apply of the platform needs it (E0416), a tenant's does not",
                d.message
            );
        }
        eprintln!(
            "The configuration is valid: {projects} project{}, {deployments} project environment{}, {services} service deployment{}.",
            if projects == 1 { "" } else { "s" },
            if deployments == 1 { "" } else { "s" },
            if services == 1 { "" } else { "s" }
        );
    }
    Ok(ExitCode::SUCCESS)
}
