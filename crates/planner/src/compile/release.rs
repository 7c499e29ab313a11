//! Canary and blue-green releases: a routed service's `canary` becomes a second Swarm service
//! beside the stable one, with the stable's spec except what the canary declares. Both join the
//! Traefik service of each of the stable's routes (`<stack>_<service>-<n>`), Traefik merges
//! their tasks into one load balancer, and per-task weights make the canary's tasks together
//! receive `share` percent of the requests: with `n_s` stable and `n_c` canary tasks, a stable
//! task weighs `(100 - share) x n_c` and a canary task `share x n_s`. Weights are service
//! labels, so changing a share never restarts a task. A canary that is not healthy has no
//! running task, and Traefik routes only to running tasks: it receives nothing. At share 0 the
//! canary joins no route of the stable (only its preview hosts reach it); at 100 a stable task
//! weighs 0, which Traefik leaves out.

use super::*;
use crate::swarm::release::weight_label;

/// The per-task weights `(stable, canary)` of a release at `share` percent, lowest terms;
/// `None` when the canary takes no part in the stable's routes (share 0).
pub fn weights(share: u8, stable_tasks: u64, canary_tasks: u64) -> Option<(u64, u64)> {
    let share = u64::from(share.min(100));
    if share == 0 {
        return None;
    }
    if share == 100 {
        return Some((0, 1));
    }
    if stable_tasks == 0 || canary_tasks == 0 {
        // Whichever side has no task takes no requests: equal weights are as good as any.
        return Some((1, 1));
    }
    let (s, c) = ((100 - share) * canary_tasks, share * stable_tasks);
    let g = gcd(s, c);
    Some((s / g, c / g))
}

fn gcd(a: u64, b: u64) -> u64 {
    if b == 0 {
        a.max(1)
    } else {
        gcd(b, a % b)
    }
}

impl DeploymentCompiler<'_> {
    /// The Traefik router (and service) name of a service's `n`-th route.
    pub(super) fn router_name(&self, service: &str, n: usize) -> String {
        format!("{}_{service}-{n}", self.stack())
    }

    /// The stable side of a release: the weight of its tasks on each of its routes.
    pub(super) fn stable_labels(&self, s: &model::Service) -> Labels {
        let mut labels = Labels::new();
        let Some(c) = &s.canary else { return labels };
        let stable_tasks = s.own_replicas().unwrap_or(0);
        if let Some((w, _)) = weights(c.share, stable_tasks, c.replicas) {
            for n in 0..s.routes.len() {
                labels.insert(weight_label(&self.router_name(&s.name, n)), w.to_string());
            }
        }
        labels
    }

    /// The canary of `s` as a service of its own: `<service>-canary`, reached alone at its
    /// preview hosts and, with its weight, through each of the stable's routes. Which of the two
    /// changes first is the diff's (`order_releases`): it depends on the change.
    pub(super) fn canary(&mut self, s: &model::Service) {
        let Some(c) = &s.canary else { return };
        let mut v = s.clone();
        v.name = format!("{}{}", s.name, model::CANARY_SUFFIX);
        v.image = c.image.clone();
        v.mode = model::ServiceMode::Replicated {
            replicas: c.replicas,
        };
        if c.command.is_some() {
            v.command = c.command.clone();
        }
        if c.args.is_some() {
            v.args = c.args.clone();
        }
        v.env.extend(c.env.clone());
        v.routes = c.preview.clone();
        // Ports published on the nodes are the stable's: a second publisher of the same host
        // port could never be placed.
        v.publish.clear();
        v.canary = None;
        v.span = c.span;
        self.service(&v);

        let stable_tasks = s.own_replicas().unwrap_or(0);
        let weights = weights(c.share, stable_tasks, c.replicas);
        let routers: Vec<String> = (0..s.routes.len())
            .map(|n| self.router_name(&s.name, n))
            .collect();
        let Some(r) = self.out.last_mut() else { return };
        let Spec::Service(spec) = &mut r.spec else {
            return;
        };
        let labels = &mut spec.labels;
        labels.insert(label::CANARY_OF.into(), s.name.clone());
        labels.insert(label::CANARY_SHARE.into(), c.share.to_string());
        if let Some((_, w)) = weights {
            for (router, route) in routers.iter().zip(&s.routes) {
                labels.insert(
                    format!("traefik.http.services.{router}.loadbalancer.server.port"),
                    route.port.to_string(),
                );
                labels.insert(weight_label(router), w.to_string());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::weights;

    /// The canary's tasks together receive `share` percent of the requests.
    fn canary_percent(share: u8, stable: u64, canary: u64) -> f64 {
        let (ws, wc) = weights(share, stable, canary).unwrap_or((1, 0));
        let (s, c) = ((ws * stable) as f64, (wc * canary) as f64);
        100.0 * c / (s + c)
    }

    #[test]
    fn weights_give_the_declared_share_whatever_the_task_counts() {
        for share in [1u8, 5, 20, 33, 50, 80, 99] {
            for stable in 1..=5u64 {
                for canary in 1..=3u64 {
                    let got = canary_percent(share, stable, canary);
                    assert!(
                        (got - f64::from(share)).abs() < 1e-9,
                        "share {share} with {stable} stable and {canary} canary tasks gave {got}"
                    );
                }
            }
        }
    }

    #[test]
    fn weights_are_in_lowest_terms_and_the_ends_are_exclusive() {
        assert_eq!(weights(20, 2, 1), Some((2, 1)));
        assert_eq!(weights(50, 3, 3), Some((1, 1)));
        assert_eq!(weights(0, 2, 1), None);
        assert_eq!(weights(100, 2, 1), Some((0, 1)));
        assert_eq!(canary_percent(100, 4, 1), 100.0);
    }
}
