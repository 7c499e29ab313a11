//! What access roles mean where berth can enforce them: who may apply or destroy a project
//! environment or the platform, and who reviews changes to their files.
//!
//! - A project environment whose `access` (the project's block with the environment's overlay
//!   merged in) declares any role may be applied or destroyed only by one of its owners or
//!   admins. One that declares none may be applied by anyone, and the binary warns so.
//! - The platform, when it declares `admins`, only by one of them.
//! - An environment its project no longer declares, by an owner or admin of one of the
//!   project's environments; a project the configuration does not declare at all (berth no
//!   longer knows its roles), by one of the platform's admins.
//! - `developer` and `viewer` grant nothing berth checks: planning, drift checks and status need
//!   no actor; `berth logs` reads the cluster with the engine access its user already has, and
//!   berth has no restart command (nor does it stand between anyone and `docker`) to withhold
//!   from them.
//!
//! berth cannot authenticate the actor: the binary takes the name it is given (`--actor`,
//! `BERTH_ACTOR`). Names are compared as written except for ASCII case and one leading `@`.
//!
//! **Invariant:** this is the one home of the rule. The binary supplies the facts (the
//! configuration, what is in scope, the actor's name) and renders the verdict.

use crate::codes::Code;
use crate::diagnostic::Diagnostic;
use crate::model::{Access, Config, Environment};
use crate::span::Span;

/// What is being done to a target, for messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Apply,
    Destroy,
}

impl Action {
    pub fn verb(self) -> &'static str {
        match self {
            Action::Apply => "apply",
            Action::Destroy => "destroy",
        }
    }

    fn gerund(self) -> &'static str {
        match self {
            Action::Apply => "applying",
            Action::Destroy => "destroying",
        }
    }
}

/// One thing in the scope of an apply or destroy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target<'a> {
    /// The platform: the proxy and its objects.
    Platform,
    /// A project environment. Every preview of a project has the same roles, so the
    /// pull-request number does not matter here; `name` is how the user knows it
    /// (`shop/preview-7`). `environment` is `None` for a name that is no environment (a saved
    /// plan can say anything), which no project declares.
    Environment {
        project: &'a str,
        environment: Option<Environment>,
        name: String,
    },
}

/// Why anyone may apply or destroy a target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Open {
    /// Its access declares no role.
    NoRoles,
    /// The platform declares no `admins`.
    NoPlatformAdmins,
    /// The configuration does not declare the project, and the platform declares no `admins`.
    Undeclared,
}

/// What [`authorize`] decided.
#[derive(Debug, Clone, Default)]
pub struct Verdict {
    /// Why the actor may not go ahead (E0210, E0211, E0212), one per refused target. The
    /// action is allowed when this is empty.
    pub refusals: Vec<Diagnostic>,
    /// Targets anyone may apply or destroy, by name (`the platform` for the platform).
    pub open: Vec<(String, Open)>,
    /// Whether the actor's name is what admitted it to at least one target.
    pub admitted: bool,
}

impl Verdict {
    pub fn allowed(&self) -> bool {
        self.refusals.is_empty()
    }
}

/// `entry` (from a role list) names `actor`: equal but for ASCII case and one leading `@`.
pub fn names(entry: &str, actor: &str) -> bool {
    let bare = |s: &str| s.strip_prefix('@').unwrap_or(s).to_string();
    !actor.is_empty() && bare(entry).eq_ignore_ascii_case(&bare(actor))
}

/// Who may do `action` to each of `targets`, read from `config`. `actor` is the name given;
/// an empty one counts as none.
pub fn authorize(
    config: &Config,
    targets: &[Target],
    actor: Option<&str>,
    action: Action,
) -> Verdict {
    let actor = actor.filter(|a| !a.is_empty());
    let mut verdict = Verdict::default();
    for target in targets {
        match target {
            Target::Platform => platform(config, actor, action, "the platform", &mut verdict),
            Target::Environment {
                project,
                environment,
                name,
            } => {
                let declared = config
                    .deployments
                    .iter()
                    .find(|d| d.project == *project && Some(d.environment) == *environment);
                let (access, span) = match declared {
                    Some(d) => (d.access.clone(), d.span),
                    None => {
                        // An environment the project no longer declares: the project's roles,
                        // as its environments have them.
                        let mut of_project = config
                            .deployments
                            .iter()
                            .filter(|d| d.project == *project)
                            .peekable();
                        let Some(first) = of_project.peek() else {
                            undeclared(config, actor, action, name, &mut verdict);
                            continue;
                        };
                        let span = first.span;
                        let mut union = Access::default();
                        for d in of_project {
                            union.owner.extend(d.access.owner.iter().cloned());
                            union.admin.extend(d.access.admin.iter().cloned());
                            union.developer.extend(d.access.developer.iter().cloned());
                            union.viewer.extend(d.access.viewer.iter().cloned());
                        }
                        (union, span)
                    }
                };
                environment_of(&access, span, actor, action, name, &mut verdict);
            }
        }
    }
    verdict
}

fn environment_of(
    access: &Access,
    span: Span,
    actor: Option<&str>,
    action: Action,
    name: &str,
    verdict: &mut Verdict,
) {
    if !access.declares_roles() {
        verdict.open.push((name.to_string(), Open::NoRoles));
        return;
    }
    let deployers = access.deployers();
    let may = if deployers.is_empty() {
        "nobody may: the access block declares no owner or admin".to_string()
    } else {
        format!("{} may", list(&deployers))
    };
    let Some(actor) = actor else {
        verdict.refusals.push(
            Diagnostic::new(
                Code::ActorRequired,
                span,
                format!("{} {name} needs an actor: its access block declares roles", action.gerund()),
            )
            .with_label("this project's access block declares roles")
            .with_help(format!(
                "{may} {} it; name yourself with `--actor NAME` or BERTH_ACTOR (berth cannot authenticate the name: CI should set it)",
                action.verb()
            )),
        );
        return;
    };
    if deployers.iter().any(|d| names(d, actor)) {
        verdict.admitted = true;
        return;
    }
    let role = role_of(access, actor);
    verdict.refusals.push(
        Diagnostic::new(
            Code::NotAnOwnerOrAdmin,
            span,
            format!(
                "`{actor}` may not {} {name}: only its owners and admins may",
                action.verb()
            ),
        )
        .with_label(match role {
            Some(role) => format!("`{actor}` is a {role} of this project environment"),
            None => format!("`{actor}` has no role in this project environment"),
        })
        .with_help(format!(
            "{may} {} it; developers and viewers may plan, drift-check and read status",
            action.verb()
        )),
    );
}

fn platform(
    config: &Config,
    actor: Option<&str>,
    action: Action,
    name: &str,
    verdict: &mut Verdict,
) {
    let admins: Vec<&str> = config.platform.admins.iter().map(String::as_str).collect();
    if admins.is_empty() {
        verdict
            .open
            .push((name.to_string(), Open::NoPlatformAdmins));
        return;
    }
    platform_admins(config, &admins, actor, action, name, None, verdict);
}

/// A project the configuration does not declare: the platform's admins decide.
fn undeclared(
    config: &Config,
    actor: Option<&str>,
    action: Action,
    name: &str,
    verdict: &mut Verdict,
) {
    let admins: Vec<&str> = config.platform.admins.iter().map(String::as_str).collect();
    if admins.is_empty() {
        verdict.open.push((name.to_string(), Open::Undeclared));
        return;
    }
    let why = "the configuration does not declare it";
    platform_admins(config, &admins, actor, action, name, Some(why), verdict);
}

/// `why` says why the platform's admins decide, when the target is not the platform.
fn platform_admins(
    config: &Config,
    admins: &[&str],
    actor: Option<&str>,
    action: Action,
    name: &str,
    why: Option<&str>,
    verdict: &mut Verdict,
) {
    // Admins are declared, so the platform block is there.
    let span = config.platform.span.unwrap_or_default();
    let help = format!(
        "the platform's admins may {}: {}",
        action.verb(),
        list(admins)
    );
    match actor {
        None => verdict.refusals.push(
            Diagnostic::new(
                Code::ActorRequired,
                span,
                match why {
                    None => format!("{} {name} needs an actor: the platform declares `admins`", action.gerund()),
                    Some(why) => format!("{} {name} needs an actor: {why}, and the platform declares `admins`", action.gerund()),
                },
            )
            .with_label("this platform declares `admins`")
            .with_help(format!("{help}; name yourself with `--actor NAME` or BERTH_ACTOR (berth cannot authenticate the name: CI should set it)")),
        ),
        Some(actor) if admins.iter().any(|a| names(a, actor)) => verdict.admitted = true,
        Some(actor) => verdict.refusals.push(
            Diagnostic::new(
                Code::NotAPlatformAdmin,
                span,
                match why {
                    None => format!(
                        "`{actor}` may not {} {name}: only the platform's admins may",
                        action.verb()
                    ),
                    Some(why) => format!(
                        "`{actor}` may not {} {name}: {why}, so only the platform's admins may",
                        action.verb()
                    ),
                },
            )
            .with_label(format!("`{actor}` is not among this platform's `admins`"))
            .with_help(help),
        ),
    }
}

/// The first role `actor` holds, strongest first.
fn role_of(access: &Access, actor: &str) -> Option<&'static str> {
    [
        ("owner", &access.owner),
        ("admin", &access.admin),
        ("developer", &access.developer),
        ("viewer", &access.viewer),
    ]
    .into_iter()
    .find(|(_, list)| list.iter().any(|e| names(e, actor)))
    .map(|(role, _)| role)
}

fn list(names: &[&str]) -> String {
    names
        .iter()
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Who reviews changes to each project's files and to the platform's: what
/// `berth access codeowners` writes, before the binary gives it paths.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CodeOwners {
    /// The platform's admins: its files, and everything no project owns.
    pub platform: Vec<String>,
    /// Each project, by name, with the owners and admins of all its environments (the
    /// project's block as each environment's overlay leaves it), each once, in the order
    /// written. Empty when the project declares neither.
    pub projects: Vec<(String, Vec<String>)>,
}

/// The code owners of a configuration. It should have been checked without strict variables,
/// so that every environment, previews too, is in the model.
pub fn code_owners(config: &Config) -> CodeOwners {
    let mut projects: Vec<(String, Vec<String>)> = Vec::new();
    let mut names: Vec<&String> = config.projects.iter().collect();
    names.sort();
    names.dedup();
    for project in names {
        let mut owners: Vec<String> = Vec::new();
        for d in config.deployments.iter().filter(|d| &d.project == project) {
            for name in d.access.deployers() {
                if !owners.iter().any(|o| o == name) {
                    owners.push(name.to_string());
                }
            }
        }
        projects.push((project.clone(), owners));
    }
    let mut platform: Vec<String> = Vec::new();
    for a in &config.platform.admins {
        if !platform.contains(a) {
            platform.push(a.clone());
        }
    }
    CodeOwners { platform, projects }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::{analyze, Input, Options};

    /// A configuration of three projects (one of them with a staging overlay that adds an
    /// admin), and a platform with admins unless `admins` is empty.
    fn config(admins: &str) -> Config {
        let text = format!(
            r#"
platform {{
  domain = "example.com"
  {admins}
}}

project shop {{
  access {{
    owner     = ["alice@example.com"]
    admin     = ["@dave"]
    developer = ["bob@example.com"]
    viewer    = ["audit@example.com"]
  }}
  service web {{
    image = "berth/demo:1"
    resources {{
      limits {{
        memory = 16M
      }}
    }}
  }}
  environment production {{}}
  environment staging {{
    access {{
      admin = ["stager@example.com"]
    }}
  }}
}}

project open {{
  service web {{
    image = "berth/demo:1"
    resources {{
      limits {{
        memory = 16M
      }}
    }}
  }}
}}

project watched {{
  access {{
    viewer = ["audit@example.com"]
  }}
  service web {{
    image = "berth/demo:1"
    resources {{
      limits {{
        memory = 16M
      }}
    }}
  }}
}}
"#
        );
        let analysis = analyze(
            "test",
            vec![Input {
                name: "main.berth".into(),
                bytes: text.into_bytes(),
            }],
            &Options::default(),
        );
        assert!(
            !analysis.has_errors(),
            "the test configuration is valid: {:?}",
            analysis.diagnostics
        );
        analysis.config.expect("a model")
    }

    fn env<'a>(project: &'a str, environment: Environment) -> Target<'a> {
        Target::Environment {
            project,
            environment: Some(environment),
            name: format!("{project}/{environment}"),
        }
    }

    fn codes(v: &Verdict) -> Vec<&'static str> {
        v.refusals.iter().map(|d| d.code.as_str()).collect()
    }

    const PLATFORM_ADMINS: &str = r#"admins = ["ops@example.com"]"#;

    #[test]
    fn owners_and_admins_may_apply_and_destroy_their_project_environment() {
        let c = config("");
        let prod = [env("shop", Environment::Production)];
        for actor in ["alice@example.com", "@dave", "dave", "Alice@Example.com"] {
            for action in [Action::Apply, Action::Destroy] {
                let v = authorize(&c, &prod, Some(actor), action);
                assert!(v.allowed(), "{actor} may {action:?}: {:?}", v.refusals);
                assert!(v.admitted, "{actor}'s name admitted them");
                assert!(v.open.is_empty());
            }
        }
    }

    #[test]
    fn without_an_actor_a_project_environment_with_roles_is_refused_naming_who_may() {
        let c = config("");
        for actor in [None, Some("")] {
            let v = authorize(
                &c,
                &[env("shop", Environment::Production)],
                actor,
                Action::Apply,
            );
            assert_eq!(codes(&v), ["E0210"]);
            let d = &v.refusals[0];
            assert!(d.message.contains("shop/production"), "{}", d.message);
            let help = d.help.as_deref().unwrap();
            assert!(
                help.contains("`alice@example.com`, `@dave` may apply"),
                "{help}"
            );
            assert!(
                help.contains("--actor") && help.contains("BERTH_ACTOR"),
                "{help}"
            );
        }
    }

    #[test]
    fn developers_viewers_and_strangers_may_not_apply_or_destroy() {
        let c = config("");
        let prod = [env("shop", Environment::Production)];
        for (actor, role) in [
            ("bob@example.com", "is a developer"),
            ("audit@example.com", "is a viewer"),
            ("mallory@example.com", "has no role"),
            // An e-mail is not the bare name it starts with.
            ("alice", "has no role"),
        ] {
            for action in [Action::Apply, Action::Destroy] {
                let v = authorize(&c, &prod, Some(actor), action);
                assert_eq!(codes(&v), ["E0211"], "{actor}");
                let d = &v.refusals[0];
                assert!(
                    d.message
                        .contains(&format!("`{actor}` may not {}", action.verb())),
                    "{}",
                    d.message
                );
                assert!(d.label.contains(role), "{actor}: {}", d.label);
                assert!(!v.admitted);
            }
        }
    }

    #[test]
    fn an_environment_overlay_decides_that_environments_roles() {
        let c = config("");
        // The staging overlay replaces the admins: the project's admin is not one there.
        let staging = [env("shop", Environment::Staging)];
        assert!(authorize(&c, &staging, Some("stager@example.com"), Action::Apply).allowed());
        assert!(authorize(&c, &staging, Some("alice@example.com"), Action::Apply).allowed());
        assert_eq!(
            codes(&authorize(&c, &staging, Some("dave"), Action::Apply)),
            ["E0211"]
        );
        let prod = [env("shop", Environment::Production)];
        assert_eq!(
            codes(&authorize(
                &c,
                &prod,
                Some("stager@example.com"),
                Action::Apply
            )),
            ["E0211"]
        );
    }

    #[test]
    fn a_project_without_roles_is_open_to_anyone_and_said_so() {
        let c = config("");
        for actor in [None, Some("anyone")] {
            let v = authorize(
                &c,
                &[env("open", Environment::Production)],
                actor,
                Action::Apply,
            );
            assert!(v.allowed());
            assert_eq!(v.open, [("open/production".to_string(), Open::NoRoles)]);
            assert!(!v.admitted);
        }
    }

    #[test]
    fn roles_without_an_owner_or_admin_let_nobody_apply() {
        let c = config("");
        let v = authorize(
            &c,
            &[env("watched", Environment::Production)],
            Some("audit@example.com"),
            Action::Apply,
        );
        assert_eq!(codes(&v), ["E0211"]);
        assert!(
            v.refusals[0]
                .help
                .as_deref()
                .unwrap()
                .contains("nobody may"),
            "{:?}",
            v.refusals[0].help
        );
    }

    #[test]
    fn a_whole_configuration_needs_an_owner_or_admin_of_each_environment_with_roles() {
        let c = config("");
        let all = [
            env("shop", Environment::Production),
            env("shop", Environment::Staging),
            env("open", Environment::Production),
            env("watched", Environment::Production),
        ];
        // Alice owns shop in both environments; `watched` has roles but no owner or admin.
        let v = authorize(&c, &all, Some("alice@example.com"), Action::Apply);
        assert_eq!(codes(&v), ["E0211"]);
        assert!(v.refusals[0].message.contains("watched/production"));
        assert_eq!(v.open, [("open/production".to_string(), Open::NoRoles)]);
        // Without an actor: each environment with roles is refused, once.
        let v = authorize(&c, &all, None, Action::Apply);
        assert_eq!(codes(&v), ["E0210", "E0210", "E0210"]);
        // Dave is an admin of shop's production only.
        let v = authorize(&c, &all[..2], Some("dave"), Action::Apply);
        assert_eq!(codes(&v), ["E0211"]);
        assert!(v.refusals[0].message.contains("shop/staging"));
    }

    #[test]
    fn the_platform_is_its_admins_when_it_declares_some_and_anyones_otherwise() {
        let c = config(PLATFORM_ADMINS);
        let p = [Target::Platform];
        for action in [Action::Apply, Action::Destroy] {
            assert_eq!(codes(&authorize(&c, &p, None, action)), ["E0210"]);
            assert_eq!(
                codes(&authorize(&c, &p, Some("alice@example.com"), action)),
                ["E0212"]
            );
            let v = authorize(&c, &p, Some("OPS@example.com"), action);
            assert!(v.allowed() && v.admitted);
        }
        // A project owner applying the whole configuration is refused the platform only.
        let v = authorize(
            &c,
            &[env("shop", Environment::Production), Target::Platform],
            Some("alice@example.com"),
            Action::Apply,
        );
        assert_eq!(codes(&v), ["E0212"]);
        // Platform admins are not project owners.
        let v = authorize(
            &c,
            &[env("shop", Environment::Production)],
            Some("ops@example.com"),
            Action::Apply,
        );
        assert_eq!(codes(&v), ["E0211"]);

        let v = authorize(&config(""), &p, None, Action::Destroy);
        assert!(v.allowed());
        assert_eq!(
            v.open,
            [("the platform".to_string(), Open::NoPlatformAdmins)]
        );
    }

    #[test]
    fn what_the_configuration_no_longer_declares() {
        // An environment shop does not declare: shop's owners and admins of any environment.
        let c = config(PLATFORM_ADMINS);
        let dev = [env("shop", Environment::Development)];
        assert!(authorize(&c, &dev, Some("stager@example.com"), Action::Destroy).allowed());
        assert_eq!(
            codes(&authorize(
                &c,
                &dev,
                Some("bob@example.com"),
                Action::Destroy
            )),
            ["E0211"]
        );
        // A name that is no environment: shop's, as for an environment it does not declare.
        let odd = [Target::Environment {
            project: "shop",
            environment: None,
            name: "shop/nonsense".into(),
        }];
        assert!(authorize(&c, &odd, Some("stager@example.com"), Action::Destroy).allowed());
        assert_eq!(
            codes(&authorize(&c, &odd, None, Action::Destroy)),
            ["E0210"]
        );
        // A project it does not declare: the platform's admins.
        let gone = [env("gone", Environment::Production)];
        assert!(authorize(&c, &gone, Some("ops@example.com"), Action::Destroy).allowed());
        let v = authorize(&c, &gone, Some("alice@example.com"), Action::Destroy);
        assert_eq!(codes(&v), ["E0212"]);
        assert!(v.refusals[0].message.contains("does not declare"));
        assert_eq!(
            codes(&authorize(&c, &gone, None, Action::Destroy)),
            ["E0210"]
        );
        // Without platform admins, anyone, and said so.
        let v = authorize(&config(""), &gone, None, Action::Destroy);
        assert!(v.allowed());
        assert_eq!(v.open, [("gone/production".to_string(), Open::Undeclared)]);
    }

    #[test]
    fn names_ignore_case_and_one_leading_at() {
        assert!(names("@alice", "alice"));
        assert!(names("alice", "@Alice"));
        assert!(names("@org/team", "org/team"));
        assert!(!names("@@alice", "alice"));
        assert!(!names("alice@example.com", "alice"));
        assert!(!names("alice", "alice2"));
        assert!(!names("", ""));
    }

    #[test]
    fn code_owners_are_the_owners_and_admins_of_every_environment() {
        let owners = code_owners(&config(PLATFORM_ADMINS));
        assert_eq!(owners.platform, ["ops@example.com"]);
        assert_eq!(
            owners.projects,
            [
                ("open".to_string(), vec![]),
                (
                    "shop".to_string(),
                    vec![
                        "alice@example.com".to_string(),
                        "@dave".to_string(),
                        "stager@example.com".to_string()
                    ]
                ),
                ("watched".to_string(), vec![]),
            ]
        );
    }
}
