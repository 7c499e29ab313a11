//! How berth names things in Swarm. These rules are part of the language (they decide which names
//! are too long, and what `${db.host}` means), so they live here; the planner uses the same
//! functions, so the two can never disagree.

use crate::model::Environment;

/// Swarm (and DNS) limit service names to 63 characters.
pub const MAX_SWARM_NAME: usize = 63;

/// The stack namespace of a project environment: `shop`, `shop-staging`, `shop-pr-123`, `shop-dev`.
pub fn stack(project: &str, environment: Environment, pr: Option<u64>) -> String {
    match environment {
        Environment::Production => project.to_string(),
        Environment::Staging => format!("{project}-staging"),
        Environment::Preview => format!("{project}-pr-{}", pr.unwrap_or(0)),
        Environment::Development => format!("{project}-dev"),
    }
}

/// The project and environment a stack name says, by the pattern of [`stack`] read backwards:
/// `shop-staging` is staging of `shop`, `shop-pr-12` a preview, `shop-dev` development, and a
/// name without an environment's suffix is production. Project names never end in a suffix
/// (E0170), so the reading is unique.
pub fn split_stack(stack: &str) -> (&str, Environment) {
    for (suffix, env) in [
        ("-staging", Environment::Staging),
        ("-dev", Environment::Development),
    ] {
        if let Some(base) = stack.strip_suffix(suffix).filter(|b| !b.is_empty()) {
            return (base, env);
        }
    }
    if let Some(i) = stack.rfind("-pr-").filter(|i| *i > 0) {
        let n = &stack[i + 4..];
        if !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) {
            return (&stack[..i], Environment::Preview);
        }
    }
    (stack, Environment::Production)
}

/// The Swarm name of an object of a stack: `shop-staging_web`, as `docker stack deploy` names them.
pub fn object(stack: &str, name: &str) -> String {
    format!("{stack}_{name}")
}

/// The default host of a route: `[<service>-]<stack>.<domain>`; the service prefix is left out
/// for a project's primary route.
pub fn default_host(stack: &str, service: &str, primary: bool, domain: &str) -> String {
    if primary {
        format!("{stack}.{domain}")
    } else {
        format!("{service}-{stack}.{domain}")
    }
}

/// Where a secret is mounted when a service refers to it from an environment variable.
pub fn secret_path(secret: &str) -> String {
    format!("/run/secrets/{secret}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn follows_the_seed_patterns() {
        assert_eq!(stack("shop", Environment::Production, None), "shop");
        assert_eq!(
            stack("shop", Environment::Preview, Some(123)),
            "shop-pr-123"
        );
        assert_eq!(object("shop-staging", "web"), "shop-staging_web");
        assert_eq!(
            default_host("shop", "web", true, "example.com"),
            "shop.example.com"
        );
        assert_eq!(
            default_host("shop-staging", "api", false, "example.com"),
            "api-shop-staging.example.com"
        );
    }

    #[test]
    fn a_stack_name_reads_back_as_its_project_and_environment() {
        for env in Environment::ALL {
            for project in ["shop", "web-shop", "a"] {
                let stack = stack(project, env, Some(12));
                assert_eq!(split_stack(&stack), (project, env), "{stack}");
            }
        }
        assert_eq!(
            split_stack("shop-pr-"),
            ("shop-pr-", Environment::Production)
        );
        assert_eq!(
            split_stack("-staging"),
            ("-staging", Environment::Production)
        );
    }
}
