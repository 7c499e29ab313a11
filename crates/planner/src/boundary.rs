//! The tenant boundary, checked against what runs.
//!
//! `lang` checks a whole configuration: no project name imitates another project's stacks or
//! hosts, and no two routes share a host and path. But the cluster may run projects that the
//! configuration does not hold (another team's directory, a project removed from the
//! configuration but still running), and a plan of selected project environments (`--project`,
//! `--env`) is compiled from those alone. So [`check`] holds every deployment in scope against
//! the observed objects outside the scope, by the labels berth puts on them (`berth.project`,
//! `com.docker.stack.namespace`, and the Traefik router rules that only berth writes):
//!
//! - its stack may not hold objects of another project ([`PlanError::StackTaken`], E0205);
//! - a route's host, with any path, may not be routed by a running service of another project:
//!   a host belongs to one project ([`PlanError::HostTaken`], E0206). The same host and path
//!   routed by another environment of the same project, outside the scope, is a route collision
//!   ([`PlanError::RouteTaken`], E0153);
//! - its project's name may not look like another environment of a running project `P`
//!   (`P-staging`, `P-dev`, `P-pr-<n>`: [`PlanError::LooksLikeEnvironment`], E0207), nor like
//!   the host berth derives for a service `X` of one of `P`'s stacks (`X-P`, `X-P-staging`, ...:
//!   [`PlanError::LooksLikeServiceHost`], E0208).
//!
//! A whole-configuration plan is held to the same rules; its scope covers every project of the
//! configuration (which `lang` checked against each other), so only running projects the
//! configuration lacks are outside it. The platform is trusted: its own deployment is not
//! checked, and it is not a project others could imitate, but its stack and its hosts (the
//! dashboard's) belong to it like a project's. The observed state may be the live cluster or the
//! recorded states; either is data, so the check stays pure.

use crate::compile::Desired;
use crate::error::PlanError;
use crate::observed::{Observed, ObservedResource};
use crate::resource::{label, DeploymentId, Spec, PLATFORM_PROJECT};
use berth_lang::model::Environment;
use berth_lang::Span;
use std::collections::{BTreeMap, BTreeSet};

/// The project an observed object belongs to: its `berth.project` label, else its address's.
fn project_of(o: &ObservedResource) -> &str {
    o.spec
        .labels()
        .get(label::PROJECT)
        .map_or(o.address.deployment.project.as_str(), String::as_str)
}

/// A running service's router, as the check reports it.
struct Router<'a> {
    project: &'a str,
    service: &'a str,
    router: &'a str,
}

/// What runs outside the scope, indexed for the checks.
#[derive(Default)]
struct Running<'a> {
    /// Stack → (project, Swarm name) of each object in it.
    stacks: BTreeMap<&'a str, Vec<(&'a str, &'a str)>>,
    /// Host (lower case) → the routers that match it.
    hosts: BTreeMap<String, Vec<Router<'a>>>,
    /// Rule (lower case) → the first router with it.
    rules: BTreeMap<String, Router<'a>>,
    /// Tenant projects that run (the platform is not one).
    projects: BTreeSet<&'a str>,
}

impl<'a> Running<'a> {
    fn read(observed: &'a Observed, scope: &BTreeSet<DeploymentId>) -> Running<'a> {
        let mut running = Running::default();
        for o in &observed.resources {
            if scope.contains(&o.address.deployment) {
                continue;
            }
            let project = project_of(o);
            if project != PLATFORM_PROJECT {
                running.projects.insert(project);
            }
            if let Some(stack) = o.spec.labels().get(label::STACK) {
                running
                    .stacks
                    .entry(stack)
                    .or_default()
                    .push((project, o.name()));
            }
            let Spec::Service(s) = &o.spec else { continue };
            for (k, v) in &s.labels {
                let Some(router) = k
                    .strip_prefix("traefik.http.routers.")
                    .and_then(|r| r.strip_suffix(".rule"))
                else {
                    continue;
                };
                let r = || Router {
                    project,
                    service: &s.name,
                    router,
                };
                for host in rule_hosts(v) {
                    running.hosts.entry(host).or_default().push(r());
                }
                running
                    .rules
                    .entry(v.to_ascii_lowercase())
                    .or_insert_with(r);
            }
        }
        running
    }
}

/// Every refusal of the deployments in `scope` (the platform's excepted) against the objects
/// `observed` outside it. [`crate::plan`] runs it before anything else is decided; apply runs
/// it again on a saved plan against the cluster it reads under its locks.
pub fn check(
    desired: &Desired,
    observed: &Observed,
    scope: &BTreeSet<DeploymentId>,
) -> Vec<PlanError> {
    let mut errors = Vec::new();
    let running = Running::read(observed, scope);
    if running.stacks.is_empty() && running.hosts.is_empty() {
        return errors;
    }
    let deployments = desired
        .deployments
        .values()
        .filter(|d| scope.contains(&d.id) && !d.id.is_platform());
    // The first span of each project in scope, for the name checks.
    let mut projects: BTreeMap<&str, Option<Span>> = BTreeMap::new();
    for info in deployments {
        let project = info.id.project.as_str();
        projects.entry(project).or_insert(info.span);
        if let Some((owner, object)) = running
            .stacks
            .get(info.stack.as_str())
            .and_then(|objects| objects.iter().find(|(p, _)| *p != project))
        {
            errors.push(PlanError::StackTaken {
                deployment: info.id.clone(),
                stack: info.stack.clone(),
                owner: owner.to_string(),
                object: object.to_string(),
                span: info.span,
            });
        }
        for route in &info.routes {
            let other = running
                .hosts
                .get(&route.host.to_ascii_lowercase())
                .and_then(|routers| routers.iter().find(|r| r.project != project));
            if let Some(r) = other {
                errors.push(PlanError::HostTaken {
                    host: route.host.clone(),
                    path: route.path.clone(),
                    address: route.service.clone(),
                    owner: r.project.to_string(),
                    service: r.service.to_string(),
                    router: r.router.to_string(),
                    span: route.span,
                });
            } else if let Some(r) = running.rules.get(&route.rule.to_ascii_lowercase()) {
                errors.push(PlanError::RouteTaken {
                    host: route.host.clone(),
                    path: route.path.clone(),
                    address: route.service.clone(),
                    owner: r.service.to_string(),
                    router: r.router.to_string(),
                    span: route.span,
                });
            }
        }
    }
    // A preview beyond the number its project may run at once.
    for info in desired
        .deployments
        .values()
        .filter(|d| scope.contains(&d.id) && !d.id.is_platform())
    {
        let Some(cap) = info.previews else { continue };
        let project = info.id.project.as_str();
        let others: Vec<&str> = running
            .stacks
            .iter()
            .filter(|(stack, objects)| {
                **stack != info.stack.as_str()
                    && objects.iter().any(|(p, _)| *p == project)
                    && environment_of(stack, project) == Some(Environment::Preview)
            })
            .map(|(stack, _)| *stack)
            .collect();
        if others.len() as u64 >= cap {
            errors.push(PlanError::TooManyPreviews {
                project: project.to_string(),
                running: others.len(),
                stacks: others.join(", "),
                cap,
                span: info.span,
            });
        }
    }
    for (project, span) in projects {
        for owner in running.projects.iter().filter(|p| **p != project) {
            match looks_like(project, owner) {
                Some(LookAlike::Environment(environment)) => {
                    errors.push(PlanError::LooksLikeEnvironment {
                        project: project.to_string(),
                        owner: owner.to_string(),
                        environment,
                        span,
                    })
                }
                Some(LookAlike::ServiceHost { service, stack }) => {
                    errors.push(PlanError::LooksLikeServiceHost {
                        project: project.to_string(),
                        owner: owner.to_string(),
                        service,
                        stack,
                        span,
                    })
                }
                None => {}
            }
        }
    }
    errors
}

/// The hosts a Traefik rule matches with `Host(...)`, in lower case. berth writes
/// ``Host(`shop.example.com`)``, with `&& PathPrefix(...)` for a path; Traefik also reads
/// several hosts in one matcher and double quotes, and `HostRegexp`/`HostSNI` are other matchers.
pub fn rule_hosts(rule: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = rule;
    while let Some(i) = rest.find("Host(") {
        let inside = &rest[i + "Host(".len()..];
        let end = inside.find(')').unwrap_or(inside.len());
        let matcher = !rest[..i]
            .chars()
            .next_back()
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_');
        if matcher {
            for part in inside[..end].split(',') {
                let host = part.trim().trim_matches(['`', '"']).trim();
                if !host.is_empty() {
                    out.push(host.to_ascii_lowercase());
                }
            }
        }
        rest = &inside[end..];
    }
    out
}

/// What a project's name makes it look like, to a reader, of a running project.
#[derive(Debug, PartialEq, Eq)]
enum LookAlike {
    /// The name is the running project's stack of this environment (`shop-staging`).
    Environment(Environment),
    /// The name is `<service>-<stack>`, the host label berth derives for that service of the
    /// running project's stack (`api-shop`, `api-shop-staging`).
    ServiceHost { service: String, stack: String },
}

/// The environment whose stack `stack` is for `project`, by the pattern of `naming::stack`:
/// `shop` production, `shop-staging`, `shop-dev`, `shop-pr-<digits>`.
fn environment_of(stack: &str, project: &str) -> Option<Environment> {
    let (owner, environment) = berth_lang::naming::split_stack(stack);
    (owner == project).then_some(environment)
}

fn looks_like(name: &str, running: &str) -> Option<LookAlike> {
    if name == running {
        return None;
    }
    if let Some(environment) = environment_of(name, running) {
        return Some(LookAlike::Environment(environment));
    }
    // `<service>-<stack>`: try each `-` as the end of the service part.
    name.match_indices('-').find_map(|(i, _)| {
        let (service, stack) = (&name[..i], &name[i + 1..]);
        (!service.is_empty() && environment_of(stack, running).is_some()).then(|| {
            LookAlike::ServiceHost {
                service: service.to_string(),
                stack: stack.to_string(),
            }
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use berth_lang::naming;

    #[test]
    fn environments_follow_the_naming_of_stacks() {
        for env in Environment::ALL {
            let pr = (env == Environment::Preview).then_some(123);
            assert_eq!(
                environment_of(&naming::stack("shop", env, pr), "shop"),
                Some(env)
            );
        }
        assert_eq!(environment_of("shop-pr-", "shop"), None);
        assert_eq!(environment_of("shop-pr-7x", "shop"), None);
        assert_eq!(environment_of("shopping", "shop"), None);
        assert_eq!(environment_of("shop-prod", "shop"), None);
    }

    #[test]
    fn names_that_imitate_a_running_project() {
        let env = |e| Some(LookAlike::Environment(e));
        let host = |service: &str, stack: &str| {
            Some(LookAlike::ServiceHost {
                service: service.into(),
                stack: stack.into(),
            })
        };
        assert_eq!(
            looks_like("shop-staging", "shop"),
            env(Environment::Staging)
        );
        assert_eq!(
            looks_like("shop-dev", "shop"),
            env(Environment::Development)
        );
        assert_eq!(looks_like("shop-pr-12", "shop"), env(Environment::Preview));
        assert_eq!(looks_like("api-shop", "shop"), host("api", "shop"));
        assert_eq!(looks_like("my-api-shop", "shop"), host("my-api", "shop"));
        assert_eq!(
            looks_like("api-shop-staging", "shop"),
            host("api", "shop-staging")
        );
        assert_eq!(
            looks_like("api-shop-pr-7", "shop"),
            host("api", "shop-pr-7")
        );
        // Not imitations: the project itself, other suffixes, other prefixes.
        for name in [
            "shop",
            "shopping",
            "shop-admin",
            "shop-pr-",
            "eshop",
            "shop2-dev",
            "api-shopping",
            "-shop",
        ] {
            assert_eq!(looks_like(name, "shop"), None, "{name}");
        }
    }

    #[test]
    fn hosts_of_router_rules() {
        assert_eq!(rule_hosts("Host(`Shop.Example.com`)"), ["shop.example.com"]);
        assert_eq!(
            rule_hosts("Host(`a.example.com`) && PathPrefix(`/v1`)"),
            ["a.example.com"]
        );
        assert_eq!(
            rule_hosts(
                "Host(`traefik.example.com`) && (PathPrefix(`/api`) || PathPrefix(`/dashboard`))"
            ),
            ["traefik.example.com"]
        );
        assert_eq!(
            rule_hosts("Host(`a.test`) || Host(\"b.test\", `c.test`)"),
            ["a.test", "b.test", "c.test"]
        );
        assert!(rule_hosts("HostRegexp(`^.+\\.example\\.com$`)").is_empty());
        assert!(rule_hosts("PathPrefix(`/`)").is_empty());
    }
}
