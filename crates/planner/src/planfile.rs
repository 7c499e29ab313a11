//! A saved plan: the plan itself plus what it was planned against, so that `berth apply FILE`
//! executes exactly what was reviewed, and refuses when the world moved on in between: another
//! apply wrote the state (lineage or serial differ), or the objects in the plan's scope changed
//! (the fingerprint of the normalised observed objects differs).

use crate::observed::Observed;
use crate::plan::Plan;
use crate::resource::{DeploymentId, Spec};
use crate::units::sha256_hex;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

pub const PLANFILE_FORMAT: &str = "1";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlanFile {
    pub format_version: String,
    /// The state's lineage and serial the plan was made against (given by the caller).
    pub lineage: String,
    pub serial: u64,
    /// sha256 of the normalised observed objects in the plan's scope.
    pub observed_fingerprint: String,
    /// sha256 of the configuration the plan was made from (given by the caller).
    pub config_digest: String,
    /// The changes, with the desired specs needed to execute them.
    pub plan: Plan,
    /// Which configuration the plan was made from (given by the caller), so that applying the
    /// plan file from another directory finds it. Absent in plan files of older versions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin: Option<Origin>,
}

/// Where a saved plan's configuration is and which part of it was planned: what `berth apply
/// FILE` needs to read the same configuration again from anywhere.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Origin {
    /// The configuration directory, as an absolute path.
    pub dir: String,
    /// `--project` of the plan, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project: Option<String>,
    /// `--env` of the plan, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment: Option<String>,
}

/// Why a saved plan cannot be applied any more.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Stale {
    #[error("the plan was made for state lineage {planned}, but the state has lineage {current}")]
    Lineage { planned: String, current: String },
    #[error("the state changed since the plan was made (serial {planned} then, {current} now); plan again")]
    Serial { planned: u64, current: u64 },
    #[error("the cluster changed since the plan was made (objects of {scope} differ); plan again")]
    Observed { scope: String },
    #[error("the plan file has format {found}, this berth reads format {PLANFILE_FORMAT}")]
    Format { found: String },
}

/// A fingerprint of the observed objects of some deployments: their addresses, names and
/// normalised specs, without what Swarm chooses by itself (IDs, versions, allocated subnets),
/// which changes without any difference in meaning.
pub fn fingerprint(observed: &Observed, scope: &BTreeSet<DeploymentId>) -> String {
    let items: Vec<_> = observed
        .resources
        .iter()
        .filter(|r| scope.contains(&r.address.deployment))
        .map(|r| {
            let mut spec = r.spec.clone();
            if let Spec::Network(n) = &mut spec {
                n.ipam = None;
            }
            (&r.address, r.name(), spec)
        })
        .collect();
    let json = serde_json::to_vec(&items).expect("observed resources serialize");
    sha256_hex(&json)
}

impl PlanFile {
    pub fn new(
        plan: Plan,
        lineage: impl Into<String>,
        serial: u64,
        observed: &Observed,
        config_digest: impl Into<String>,
    ) -> Self {
        let scope: BTreeSet<DeploymentId> = plan.scope.iter().cloned().collect();
        PlanFile {
            format_version: PLANFILE_FORMAT.into(),
            lineage: lineage.into(),
            serial,
            observed_fingerprint: fingerprint(observed, &scope),
            config_digest: config_digest.into(),
            plan,
            origin: None,
        }
    }

    /// `Ok` when the plan can still be applied to this state and cluster.
    pub fn check_fresh(
        &self,
        lineage: &str,
        serial: u64,
        observed: &Observed,
    ) -> Result<(), Stale> {
        if self.format_version != PLANFILE_FORMAT {
            return Err(Stale::Format {
                found: self.format_version.clone(),
            });
        }
        if self.lineage != lineage {
            return Err(Stale::Lineage {
                planned: self.lineage.clone(),
                current: lineage.to_string(),
            });
        }
        if self.serial != serial {
            return Err(Stale::Serial {
                planned: self.serial,
                current: serial,
            });
        }
        let scope: BTreeSet<DeploymentId> = self.plan.scope.iter().cloned().collect();
        if fingerprint(observed, &scope) != self.observed_fingerprint {
            let names: Vec<String> = scope.iter().map(ToString::to_string).collect();
            return Err(Stale::Observed {
                scope: names.join(", "),
            });
        }
        Ok(())
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("plan files serialize")
    }

    pub fn from_json(text: &str) -> Result<PlanFile, serde_json::Error> {
        serde_json::from_str(text)
    }
}
