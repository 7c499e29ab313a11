//! The schedule of an apply, pure: a plan's changes become steps (create, update, delete,
//! detach) in a petgraph dependency graph, with their order and counts. Nothing here talks to
//! Docker, so every shape of plan the executor meets is tested without it.
//!
//! A change is one step, except a replacement, which is two: one that creates before it
//! destroys has its create first and its delete after its dependents' updates (they move to
//! the new object first); one that destroys first deletes, then creates. A service that uses a
//! network or volume which is destroyed and created again (same name) must leave it first: a
//! detach step moves it off every such object at once, and its planned update attaches it to
//! the new ones. The planner's `DepGraph` orders desired resources; this graph orders steps
//! (two per replacement, plus the detach steps), so it is a petgraph graph of its own, built
//! from the dependencies the planner wrote into each change.

use berth_planner::{Action, Change, Kind};
use petgraph::algo::toposort;
use petgraph::graph::{DiGraph, NodeIndex};
use petgraph::Direction;
use std::collections::HashMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StepKind {
    Create,
    Update,
    Delete,
    /// Moves a service's tasks off networks and volumes that are deleted and created again
    /// (Docker refuses to remove a network or volume a service uses).
    Detach,
}

impl StepKind {
    pub fn verb(self) -> &'static str {
        match self {
            StepKind::Create => "create",
            StepKind::Update => "update",
            StepKind::Delete => "delete",
            StepKind::Detach => "detach",
        }
    }
}

/// One step: what it does to which change (an index into the changes the schedule was built
/// from).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    pub change: usize,
    pub kind: StepKind,
    /// For a detach step: the changes (replaced networks and volumes) the service leaves.
    pub leaves: Vec<usize>,
}

/// How many steps of each kind.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    pub create: usize,
    pub update: usize,
    pub delete: usize,
    pub detach: usize,
}

/// The steps of a plan and what each waits for. Steps are numbered `0..len()` in the order
/// they were made (a change's steps in change order, detach steps after them).
#[derive(Debug)]
pub struct Schedule {
    /// Edges run from a step to the steps that wait for it.
    graph: DiGraph<Step, ()>,
}

impl Schedule {
    /// The schedule of `changes` (a plan's actionable changes, in plan order).
    pub fn build(changes: &[Change]) -> Schedule {
        let index: HashMap<_, usize> = changes
            .iter()
            .enumerate()
            .map(|(i, c)| (&c.address, i))
            .collect();
        let mut graph: DiGraph<Step, ()> = DiGraph::new();
        let push = |graph: &mut DiGraph<Step, ()>, change, kind| {
            graph.add_node(Step {
                change,
                kind,
                leaves: Vec::new(),
            })
        };
        // For each change: its first step, the step after which its new object exists, and its
        // last step.
        let mut first = Vec::with_capacity(changes.len());
        let mut ready = Vec::with_capacity(changes.len());
        let mut last = Vec::with_capacity(changes.len());
        for (i, c) in changes.iter().enumerate() {
            let (f, r, l) = match c.action {
                Action::Create => {
                    let s = push(&mut graph, i, StepKind::Create);
                    (s, s, s)
                }
                Action::Update | Action::NoOp => {
                    let s = push(&mut graph, i, StepKind::Update);
                    (s, s, s)
                }
                Action::Delete => {
                    let s = push(&mut graph, i, StepKind::Delete);
                    (s, s, s)
                }
                Action::Replace if c.create_before_destroy => {
                    let create = push(&mut graph, i, StepKind::Create);
                    let delete = push(&mut graph, i, StepKind::Delete);
                    graph.update_edge(create, delete, ());
                    (create, create, delete)
                }
                Action::Replace => {
                    let delete = push(&mut graph, i, StepKind::Delete);
                    let create = push(&mut graph, i, StepKind::Create);
                    graph.update_edge(delete, create, ());
                    (delete, create, create)
                }
            };
            first.push(f);
            ready.push(r);
            last.push(l);
        }
        // `wait(a, b)`: step `a` waits for step `b`.
        let wait = |graph: &mut DiGraph<Step, ()>, a: NodeIndex, b: NodeIndex| {
            graph.update_edge(b, a, ());
        };
        // The detach step of each service that must leave replaced objects, by change.
        let mut detach: HashMap<usize, NodeIndex> = HashMap::new();
        for (i, c) in changes.iter().enumerate() {
            for dep in &c.depends_on {
                let Some(&k) = index.get(dep) else { continue };
                // The planner lists, on an object it removes or replaces, the services that still
                // use it: they must move off it first, so only the removal waits for them.
                let k_uses_i = changes[k].depends_on.contains(&c.address);
                match c.action {
                    Action::Delete => wait(&mut graph, first[i], last[k]),
                    Action::Replace if k_uses_i => {
                        if c.create_before_destroy {
                            wait(&mut graph, last[i], last[k]);
                        } else if changes[k].action == Action::Delete {
                            // A user that goes anyway goes first.
                            wait(&mut graph, first[i], last[k]);
                        } else if changes[k].kind() == Kind::Service
                            && changes[k].observed.is_some()
                        {
                            // A replacement deleted first cannot wait for users that need the
                            // new object: they leave the old one first (a detach step), and
                            // their update attaches them to the new one once it exists.
                            let d = *detach
                                .entry(k)
                                .or_insert_with(|| push(&mut graph, k, StepKind::Detach));
                            graph[d].leaves.push(i);
                            wait(&mut graph, first[i], d);
                        }
                    }
                    _ if changes[k].action == Action::Delete => wait(&mut graph, first[i], last[k]),
                    _ => wait(&mut graph, first[i], ready[k]),
                }
                // The old generation of a replaced object goes once its users moved to the new
                // one.
                if changes[k].action == Action::Replace && changes[k].create_before_destroy {
                    wait(&mut graph, last[k], last[i]);
                }
            }
        }
        Schedule { graph }
    }

    /// How many steps there are.
    pub fn len(&self) -> usize {
        self.graph.node_count()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn step(&self, s: usize) -> &Step {
        &self.graph[NodeIndex::new(s)]
    }

    /// Every step, by number.
    pub fn steps(&self) -> impl Iterator<Item = (usize, &Step)> {
        self.graph
            .node_indices()
            .map(|n| (n.index(), &self.graph[n]))
    }

    /// The steps `s` waits for, in ascending order.
    pub fn deps(&self, s: usize) -> Vec<usize> {
        self.neighbours(s, Direction::Incoming)
    }

    /// The steps that wait for `s`, in ascending order.
    pub fn dependents(&self, s: usize) -> Vec<usize> {
        self.neighbours(s, Direction::Outgoing)
    }

    fn neighbours(&self, s: usize, direction: Direction) -> Vec<usize> {
        let mut out: Vec<usize> = self
            .graph
            .neighbors_directed(NodeIndex::new(s), direction)
            .map(|n| n.index())
            .collect();
        out.sort_unstable();
        out
    }

    /// The steps of one change.
    pub fn steps_of(&self, change: usize) -> Vec<usize> {
        self.steps()
            .filter(|(_, st)| st.change == change)
            .map(|(s, _)| s)
            .collect()
    }

    /// An order in which every step comes after what it waits for, or, when steps wait for each
    /// other in a circle (a bug: the planner refuses cyclic plans), one step of the circle.
    pub fn order(&self) -> Result<Vec<usize>, usize> {
        toposort(&self.graph, None)
            .map(|o| o.into_iter().map(|n| n.index()).collect())
            .map_err(|cycle| cycle.node_id().index())
    }

    pub fn counts(&self) -> Counts {
        let mut c = Counts::default();
        for (_, step) in self.steps() {
            match step.kind {
                StepKind::Create => c.create += 1,
                StepKind::Update => c.update += 1,
                StepKind::Delete => c.delete += 1,
                StepKind::Detach => c.detach += 1,
            }
        }
        c
    }
}

#[cfg(test)]
#[path = "schedule_tests.rs"]
mod tests;
