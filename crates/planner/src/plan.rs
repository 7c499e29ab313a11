//! The plan model: one [`Change`] per resource address, with the action, the normalised before
//! and after specs, and the facts a reviewer needs (what forces a replacement, whether tasks
//! restart, whether data is lost). Every renderer reads this one model; apply executes it.

use crate::admission::Allocation;
use crate::resource::{Address, DeploymentId, Kind, Spec};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    Create,
    Update,
    /// Delete and create, or create then delete when [`Change::create_before_destroy`].
    Replace,
    Delete,
    NoOp,
}

/// Why a change is what it is, in the words of Terraform's `action_reason`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    /// An attribute Swarm cannot change in place differs (see `replace_paths`).
    ReplaceBecauseCannotUpdate,
    /// A secret's or config's content changed: it gets a new content name.
    ReplaceBecauseContentChanged,
    /// The configuration no longer has this resource (an orphan).
    DeleteBecauseNoResourceConfig,
    /// An older generation of a secret or config, left by an earlier rotation.
    DeleteBecauseStaleGeneration,
    /// The service's spec is unchanged, but a network or volume it uses is replaced: Swarm
    /// refers to networks by ID, so its tasks must be detached and attached again.
    UpdateBecauseDependencyReplaced,
}

impl Reason {
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::ReplaceBecauseCannotUpdate => "replace_because_cannot_update",
            Reason::ReplaceBecauseContentChanged => "replace_because_content_changed",
            Reason::DeleteBecauseNoResourceConfig => "delete_because_no_resource_config",
            Reason::DeleteBecauseStaleGeneration => "delete_because_stale_generation",
            Reason::UpdateBecauseDependencyReplaced => "update_because_dependency_replaced",
        }
    }
}

/// The existing object a change acts on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObservedRef {
    pub id: String,
    pub name: String,
    pub version: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Change {
    pub address: Address,
    pub action: Action,
    /// The normalised observed spec (absent for a create and a no-op).
    pub before: Option<Spec>,
    /// The normalised desired spec, ready to send (absent for a delete). Secret and config
    /// references carry names only: apply fills in the IDs.
    pub after: Option<Spec>,
    /// The object acted on (absent for a create).
    pub observed: Option<ObservedRef>,
    /// Paths into the spec (Docker's field names) whose change forces the replacement.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub replace_paths: Vec<Vec<String>>,
    /// A replacement that creates the new object before deleting the old one.
    #[serde(default)]
    pub create_before_destroy: bool,
    /// A service update that replaces running tasks (its task template or endpoint changed).
    #[serde(default)]
    pub restarts_tasks: bool,
    /// Destroys a volume's data.
    #[serde(default)]
    pub data_loss: bool,
    pub reason: Option<Reason>,
    /// Changes at these addresses must be done first (for a delete: the services that still
    /// use the object).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub depends_on: Vec<Address>,
}

impl Change {
    pub fn kind(&self) -> Kind {
        self.address.kind
    }

    /// The Swarm name the change results in (for a delete, the name removed).
    pub fn name(&self) -> &str {
        self.after
            .as_ref()
            .or(self.before.as_ref())
            .map(Spec::name)
            .unwrap_or_default()
    }

    /// Terraform's `change.actions`.
    pub fn actions(&self) -> &'static [&'static str] {
        match self.action {
            Action::Create => &["create"],
            Action::Update => &["update"],
            Action::Replace if self.create_before_destroy => &["create", "delete"],
            Action::Replace => &["delete", "create"],
            Action::Delete => &["delete"],
            Action::NoOp => &["no-op"],
        }
    }
}

/// Counts for `Plan: X to add, Y to change, Z to destroy.`
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    pub add: usize,
    pub change: usize,
    pub destroy: usize,
    pub unchanged: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    /// The project environments this plan covers; nothing outside them changes.
    pub scope: Vec<DeploymentId>,
    /// One change per object, sorted by address, no-ops included.
    pub changes: Vec<Change>,
    /// Each deployment's resource use against its quota.
    pub allocations: Vec<Allocation>,
    /// Things the reviewer should know that are not changes (capacity not checked, volumes
    /// kept, ...).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

impl Plan {
    pub fn summary(&self) -> Summary {
        let mut s = Summary::default();
        for c in &self.changes {
            match c.action {
                Action::Create => s.add += 1,
                Action::Update => s.change += 1,
                Action::Replace => {
                    s.add += 1;
                    s.destroy += 1;
                }
                Action::Delete => s.destroy += 1,
                Action::NoOp => s.unchanged += 1,
            }
        }
        s
    }

    /// True when applying would change nothing.
    pub fn is_empty(&self) -> bool {
        self.changes.iter().all(|c| c.action == Action::NoOp)
    }

    /// The changes that do something.
    pub fn actionable(&self) -> impl Iterator<Item = &Change> {
        self.changes.iter().filter(|c| c.action != Action::NoOp)
    }
}
