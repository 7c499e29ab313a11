//! Admission: before anything is applied, each deployment in scope is checked against its quota
//! (sums of reservations and limits x replicas, replicas, declared volume sizes) and against the
//! nodes' capacity minus what other services already reserve. Swarm places tasks by their
//! reservations and leaves a task that fits nowhere pending forever; berth refuses such a plan
//! instead, naming the project, the resource and the numbers.
//!
//! Rules: a global service counts one replica per usable node (ready and active), or one when
//! the nodes are unknown. A task fits when some node has room for its cpu and, separately, its
//! memory reservation (the check is per measure; Swarm's bin packing may still fail in rare
//! mixes). A deployment fits when its total reservations fit the cluster's free total. Tasks of
//! services inside the scope are not counted as reserved: the plan replaces them.

use crate::compile::Desired;
use crate::error::{Measure, PlanError};
use crate::observed::Observed;
use crate::resource::{label, Address, DeploymentId, Kind, Spec};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// One deployment's use of one measure against its quota.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AllocationItem {
    pub measure: Measure,
    pub used: u64,
    pub quota: Option<u64>,
    /// `used / quota` in percent, one decimal.
    pub percent: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Allocation {
    pub deployment: DeploymentId,
    pub items: Vec<AllocationItem>,
}

/// Per measure, the address contributing most and its amount.
type Largest<'a> = [Option<(&'a Address, u64)>; 6];

#[derive(Default, Clone, Copy)]
struct Usage([u64; 6]);

impl Usage {
    fn add(&mut self, m: Measure, v: u64) {
        self.0[m as usize] = self.0[m as usize].saturating_add(v);
    }
    fn get(&self, m: Measure) -> u64 {
        self.0[m as usize]
    }
}

fn quota_of(q: &berth_lang::model::Quota, m: Measure) -> Option<u64> {
    match m {
        Measure::Cpu => q.cpu,
        Measure::Memory => q.memory,
        Measure::LimitCpu => q.limit_cpu,
        Measure::LimitMemory => q.limit_memory,
        Measure::Storage => q.storage,
        Measure::Replicas => q.replicas,
    }
}

/// A service's contribution to each measure: (per task, replicas).
fn service_usage(spec: &crate::docker::ServiceSpec, nodes: Option<usize>) -> (Usage, u64) {
    let replicas = spec
        .replicas()
        .unwrap_or_else(|| nodes.map_or(1, |n| n as u64));
    let mut u = Usage::default();
    if let Some(r) = &spec.task_template.resources {
        if let Some(res) = &r.reservations {
            u.add(Measure::Cpu, res.nano_cpus);
            u.add(Measure::Memory, res.memory_bytes);
        }
        if let Some(l) = &r.limits {
            u.add(Measure::LimitCpu, l.nano_cpus);
            u.add(Measure::LimitMemory, l.memory_bytes);
        }
    }
    u.add(Measure::Replicas, 1);
    (u, replicas)
}

/// Checks every deployment of `scope` that `desired` has; returns each one's allocation and the
/// errors found.
pub fn admit(
    desired: &Desired,
    observed: &Observed,
    scope: &BTreeSet<DeploymentId>,
) -> (Vec<Allocation>, Vec<PlanError>, Vec<String>) {
    let mut allocations = Vec::new();
    let mut errors = Vec::new();
    let mut notes = Vec::new();
    let node_count = observed.nodes.as_ref().map(Vec::len);

    // Per deployment: totals, and the largest contributor of each measure.
    let mut totals: BTreeMap<&DeploymentId, (Usage, Largest)> = BTreeMap::new();
    for r in desired.resources.values() {
        if !scope.contains(&r.address.deployment) {
            continue;
        }
        let entry = totals.entry(&r.address.deployment).or_default();
        let mut contribute = |m: Measure, v: u64| {
            entry.0.add(m, v);
            if v > 0 && entry.1[m as usize].is_none_or(|(_, best)| v > best) {
                entry.1[m as usize] = Some((&r.address, v));
            }
        };
        match &r.spec {
            Spec::Service(s) => {
                let (per_task, replicas) = service_usage(s, node_count);
                for m in [
                    Measure::Cpu,
                    Measure::Memory,
                    Measure::LimitCpu,
                    Measure::LimitMemory,
                ] {
                    contribute(m, per_task.get(m).saturating_mul(replicas));
                }
                contribute(Measure::Replicas, replicas);
            }
            Spec::Volume(v) => {
                let size = v
                    .labels
                    .get(label::SIZE)
                    .and_then(|s| s.parse().ok())
                    .unwrap_or(0);
                contribute(Measure::Storage, size);
            }
            _ => {}
        }
    }

    for (id, (usage, largest)) in &totals {
        let Some(info) = desired.deployments.get(*id) else {
            continue;
        };
        let mut items = Vec::new();
        for m in Measure::ALL {
            let used = usage.get(m);
            let quota = quota_of(&info.quota, m);
            if quota.is_none() && used == 0 {
                continue;
            }
            let percent = quota.map(|q| {
                if q == 0 {
                    100.0
                } else {
                    (used as f64 * 1000.0 / q as f64).round() / 10.0
                }
            });
            items.push(AllocationItem {
                measure: m,
                used,
                quota,
                percent,
            });
            if let (Some(q), Some((addr, value))) = (quota, largest[m as usize]) {
                if used > q {
                    errors.push(PlanError::QuotaExceeded {
                        deployment: (*id).clone(),
                        measure: m,
                        used,
                        quota: q,
                        largest: addr.clone(),
                        largest_value: value,
                        span: desired.resources.get(addr).and_then(|r| r.span),
                        quota_span: info.quota.span,
                    });
                }
            }
        }
        // The platform has no quota; its use shows in the cluster's capacity, not here.
        if !id.is_platform() {
            allocations.push(Allocation {
                deployment: (*id).clone(),
                items,
            });
        }
    }

    match &observed.nodes {
        None => notes.push("capacity was not checked: the nodes were not read".into()),
        Some(nodes) if nodes.is_empty() => {
            notes.push("capacity was not checked: no node is ready and active".into())
        }
        Some(nodes) => capacity(desired, observed, nodes, scope, &mut errors),
    }
    (allocations, errors, notes)
}

fn capacity(
    desired: &Desired,
    observed: &Observed,
    nodes: &[crate::observed::NodeCapacity],
    scope: &BTreeSet<DeploymentId>,
    errors: &mut Vec<PlanError>,
) {
    // What tasks of services outside the scope reserve on each node.
    let mut reserved: BTreeMap<&str, (u64, u64)> = BTreeMap::new();
    for t in &observed.tasks {
        if t.service
            .as_ref()
            .is_some_and(|a| scope.contains(&a.deployment))
        {
            continue;
        }
        let e = reserved.entry(t.node_id.as_str()).or_default();
        e.0 = e.0.saturating_add(t.nano_cpus);
        e.1 = e.1.saturating_add(t.memory_bytes);
    }
    let free: Vec<(u64, u64)> = nodes
        .iter()
        .map(|n| {
            let (c, m) = reserved.get(n.id.as_str()).copied().unwrap_or_default();
            (
                n.nano_cpus.saturating_sub(c),
                n.memory_bytes.saturating_sub(m),
            )
        })
        .collect();
    let total_cap = (
        nodes.iter().map(|n| n.nano_cpus).sum::<u64>(),
        nodes.iter().map(|n| n.memory_bytes).sum::<u64>(),
    );
    let total_free = (
        free.iter().map(|f| f.0).sum::<u64>(),
        free.iter().map(|f| f.1).sum::<u64>(),
    );
    let max_free = |i: usize| {
        free.iter()
            .enumerate()
            .max_by_key(|(_, f)| if i == 0 { f.0 } else { f.1 })
            .map(|(n, _)| n)
    };

    let mut need: BTreeMap<&DeploymentId, ((u64, u64), Option<berth_lang::Span>)> = BTreeMap::new();
    for (r, s) in desired.services() {
        if !scope.contains(&r.address.deployment) || r.address.kind != Kind::Service {
            continue;
        }
        let (per_task, replicas) = service_usage(s, Some(nodes.len()));
        let task = (per_task.get(Measure::Cpu), per_task.get(Measure::Memory));
        for (i, measure, needed) in [(0, Measure::Cpu, task.0), (1, Measure::Memory, task.1)] {
            if needed == 0 {
                continue;
            }
            let Some(best) = max_free(i) else { continue };
            let (free_v, cap_v) = if i == 0 {
                (free[best].0, nodes[best].nano_cpus)
            } else {
                (free[best].1, nodes[best].memory_bytes)
            };
            if needed > free_v {
                // The reservation itself, where it is written; else the service.
                let spans = desired.reservation_spans.get(&r.address);
                let span = match measure {
                    Measure::Cpu => spans.and_then(|s| s.cpu),
                    _ => spans.and_then(|s| s.memory),
                };
                errors.push(PlanError::TaskTooLarge {
                    address: r.address.clone(),
                    measure,
                    needed,
                    free: free_v,
                    capacity: cap_v,
                    reserved: cap_v - free_v,
                    span: span.or(r.span),
                });
            }
        }
        let e = need.entry(&r.address.deployment).or_insert(((0, 0), None));
        e.0 .0 = e.0 .0.saturating_add(task.0.saturating_mul(replicas));
        e.0 .1 = e.0 .1.saturating_add(task.1.saturating_mul(replicas));
        e.1 = e.1.or(r.span);
    }
    for (id, ((cpu, mem), _)) in need {
        let span = desired.deployments.get(id).and_then(|d| d.span);
        for (measure, needed, free, cap) in [
            (Measure::Cpu, cpu, total_free.0, total_cap.0),
            (Measure::Memory, mem, total_free.1, total_cap.1),
        ] {
            if needed > free {
                errors.push(PlanError::ClusterFull {
                    deployment: id.clone(),
                    measure,
                    needed,
                    free,
                    capacity: cap,
                    reserved: cap - free,
                    span,
                });
            }
        }
    }
}
