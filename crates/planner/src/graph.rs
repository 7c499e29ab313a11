//! The dependency graph of desired resources: a service needs its networks, volumes, secrets,
//! configs and the services it depends on before it, and must be removed before them. It gives
//! the order of creation (and, reversed, of deletion), finds cycles, and draws `berth graph`.

use crate::compile::Desired;
use crate::error::PlanError;
use crate::resource::Address;
use petgraph::algo::{kosaraju_scc, toposort};
use petgraph::graph::{DiGraph, NodeIndex};
use std::collections::HashMap;
use std::fmt::Write;

/// A dependency cycle: its addresses in order, the first repeated at the end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cycle(pub Vec<Address>);

impl From<Cycle> for PlanError {
    fn from(c: Cycle) -> Self {
        PlanError::DependencyCycle {
            cycle: c.0,
            span: None,
        }
    }
}

impl std::fmt::Display for Cycle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", PlanError::from(self.clone()))
    }
}

impl std::error::Error for Cycle {}

/// Edges run from a dependency to what needs it, so a topological order is a creation order.
pub struct DepGraph {
    graph: DiGraph<Address, ()>,
    index: HashMap<Address, NodeIndex>,
}

impl DepGraph {
    /// Builds the graph of desired resources. Dependencies on addresses that are not desired
    /// (another project's shared network) are outside the graph: they must already exist.
    pub fn build(desired: &Desired) -> DepGraph {
        let mut graph =
            DiGraph::with_capacity(desired.resources.len(), desired.resources.len() * 3);
        let mut index = HashMap::with_capacity(desired.resources.len());
        for address in desired.resources.keys() {
            index.insert(address.clone(), graph.add_node(address.clone()));
        }
        for r in desired.resources.values() {
            let to = index[&r.address];
            for dep in &r.depends_on {
                if let Some(&from) = index.get(dep) {
                    graph.add_edge(from, to, ());
                }
            }
        }
        DepGraph { graph, index }
    }

    /// Addresses in an order where every dependency comes first. The order is deterministic:
    /// nodes are added in address order and the sort visits them in that order.
    pub fn create_order(&self) -> Result<Vec<Address>, Cycle> {
        match toposort(&self.graph, None) {
            Ok(order) => Ok(order.into_iter().map(|i| self.graph[i].clone()).collect()),
            Err(_) => Err(self.cycle()),
        }
    }

    /// The reverse of [`DepGraph::create_order`]: dependents are removed first.
    pub fn delete_order(&self) -> Result<Vec<Address>, Cycle> {
        let mut order = self.create_order()?;
        order.reverse();
        Ok(order)
    }

    /// `Ok` when the graph has no cycle, else the first cycle found.
    pub fn check(&self) -> Result<(), Cycle> {
        self.create_order().map(|_| ())
    }

    fn cycle(&self) -> Cycle {
        let mut sccs: Vec<Vec<Address>> = kosaraju_scc(&self.graph)
            .into_iter()
            .filter(|c| c.len() > 1 || self.graph.contains_edge(c[0], c[0]))
            .map(|c| c.into_iter().map(|i| self.graph[i].clone()).collect())
            .collect();
        sccs.sort();
        let mut cycle = sccs.into_iter().next().unwrap_or_default();
        cycle.sort();
        if let Some(first) = cycle.first().cloned() {
            cycle.push(first);
        }
        Cycle(cycle)
    }

    /// Whether `address` is part of the graph.
    pub fn contains(&self, address: &Address) -> bool {
        self.index.contains_key(address)
    }
}

/// The desired resources as Graphviz DOT: one cluster per deployment, edges from a resource to
/// what it needs (as `terraform graph` draws them).
pub fn dot(desired: &Desired) -> String {
    let mut out = String::from("digraph berth {\n  rankdir = \"LR\";\n  node [shape = \"box\", fontname = \"sans-serif\"];\n");
    let mut current = None;
    for address in desired.resources.keys() {
        if current.as_ref() != Some(&address.deployment) {
            if current.is_some() {
                out.push_str("  }\n");
            }
            let _ = writeln!(
                out,
                "  subgraph \"cluster_{0}\" {{\n    label = \"{0}\";",
                address.deployment
            );
            current = Some(address.deployment.clone());
        }
        let _ = writeln!(
            out,
            "    \"{address}\" [label = \"{}.{}\"];",
            address.kind, address.name
        );
    }
    if current.is_some() {
        out.push_str("  }\n");
    }
    for r in desired.resources.values() {
        for dep in &r.depends_on {
            let style = if desired.resources.contains_key(dep) {
                ""
            } else {
                " [style = \"dashed\"]"
            };
            let _ = writeln!(out, "  \"{}\" -> \"{dep}\"{style};", r.address);
        }
    }
    out.push_str("}\n");
    out
}
