//! The resource model: what berth manages in Swarm, and how each object is identified.
//!
//! Every object has a stable [`Address`] (`shop/production/service.web`) that survives changes of
//! its Swarm name (secrets and configs are renamed on every content change). The address is stored
//! on the object itself in the `berth.address` label, so reading the cluster back needs no state.

use crate::docker::{ConfigSpec, Labels, NetworkSpec, SecretSpec, ServiceSpec, VolumeSpec};
use berth_lang::model::Environment;
use berth_lang::Span;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::str::FromStr;

// berth's label keys and the platform's and deployments' reserved names live in the bottom
// layer; they are re-exported here, where callers have always found them.
use crate::swarm::slot;
pub use crate::swarm::{
    label, DEFAULT_NETWORK, EDGE_CLAIM, EDGE_NETWORK, PLATFORM_ENV, PLATFORM_PROJECT,
    PLATFORM_STACK,
};

/// One project environment, the unit of planning: `shop/production`, `shop/preview-123`, or the
/// platform, `platform/proxy`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DeploymentId {
    pub project: String,
    /// `production`, `staging`, `development`, `preview-<pr>`, or `proxy` for the platform.
    pub env: String,
}

impl DeploymentId {
    pub fn new(project: &str, environment: Environment, pr: Option<u64>) -> Self {
        let env = match environment {
            Environment::Preview => format!("preview-{}", pr.unwrap_or(0)),
            other => other.as_str().to_string(),
        };
        DeploymentId {
            project: project.to_string(),
            env,
        }
    }

    pub fn platform() -> Self {
        DeploymentId {
            project: PLATFORM_PROJECT.into(),
            env: PLATFORM_ENV.into(),
        }
    }

    pub fn is_platform(&self) -> bool {
        self.project == PLATFORM_PROJECT && self.env == PLATFORM_ENV
    }

    /// The environment's name as the `berth.environment` label records it (`preview`, not
    /// `preview-123`).
    pub fn environment_label(&self) -> &str {
        self.env.split('-').next().unwrap_or(&self.env)
    }

    pub fn address(&self, kind: Kind, name: &str) -> Address {
        Address {
            deployment: self.clone(),
            kind,
            name: name.to_string(),
        }
    }
}

impl fmt::Display for DeploymentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.project, self.env)
    }
}

impl FromStr for DeploymentId {
    type Err = AddressError;
    fn from_str(s: &str) -> Result<Self, AddressError> {
        match s.split_once('/') {
            Some((p, e)) if !p.is_empty() && !e.is_empty() && !e.contains('/') => {
                Ok(DeploymentId {
                    project: p.into(),
                    env: e.into(),
                })
            }
            _ => Err(AddressError(s.to_string())),
        }
    }
}

impl Serialize for DeploymentId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for DeploymentId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}

/// The kinds of Swarm object berth manages, in the order they are created.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Network,
    Volume,
    Secret,
    Config,
    Service,
}

impl Kind {
    pub const ALL: [Kind; 5] = [
        Kind::Network,
        Kind::Volume,
        Kind::Secret,
        Kind::Config,
        Kind::Service,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Network => "network",
            Kind::Volume => "volume",
            Kind::Secret => "secret",
            Kind::Config => "config",
            Kind::Service => "service",
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A stable resource address: `<project>/<env>/<kind>.<name>`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Address {
    pub deployment: DeploymentId,
    pub kind: Kind,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a berth address (expected `<project>/<env>/<kind>.<name>`)")]
pub struct AddressError(pub String);

impl Address {
    /// The platform's proxy service, `platform/proxy/service.traefik` (in Swarm,
    /// `platform_traefik`): whether it exists decides whether a project's first apply includes
    /// the platform ([`crate::Scope::chosen`]).
    pub fn proxy() -> Address {
        DeploymentId::platform().address(Kind::Service, "traefik")
    }
}

/// The address of an edge slot's network: `platform/proxy/network.edge-03`.
pub fn network_address(slot_text: &str) -> Address {
    DeploymentId::platform().address(Kind::Network, &slot::network_short_name(slot_text))
}

/// The address of a deployment's claim of an edge slot: `shop/production/config.edge-slot`.
pub fn claim_address(deployment: &DeploymentId) -> Address {
    deployment.address(Kind::Config, EDGE_CLAIM)
}

/// Whether an address is a deployment's claim of an edge slot.
pub fn is_claim(address: &Address) -> bool {
    address.kind == Kind::Config && address.name == EDGE_CLAIM
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}.{}", self.deployment, self.kind, self.name)
    }
}

impl FromStr for Address {
    type Err = AddressError;
    fn from_str(s: &str) -> Result<Self, AddressError> {
        let err = || AddressError(s.to_string());
        let (dep, rest) = s.rsplit_once('/').ok_or_else(err)?;
        let (kind, name) = rest.split_once('.').ok_or_else(err)?;
        let kind = Kind::ALL
            .into_iter()
            .find(|k| k.as_str() == kind)
            .ok_or_else(err)?;
        if name.is_empty() {
            return Err(err());
        }
        Ok(Address {
            deployment: dep.parse().map_err(|_| err())?,
            kind,
            name: name.to_string(),
        })
    }
}

impl Serialize for Address {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Address {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}

/// The Docker API shape of one object.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "spec", rename_all = "lowercase")]
pub enum Spec {
    Network(NetworkSpec),
    Volume(VolumeSpec),
    Secret(SecretSpec),
    Config(ConfigSpec),
    Service(Box<ServiceSpec>),
}

impl Spec {
    pub fn kind(&self) -> Kind {
        match self {
            Spec::Network(_) => Kind::Network,
            Spec::Volume(_) => Kind::Volume,
            Spec::Secret(_) => Kind::Secret,
            Spec::Config(_) => Kind::Config,
            Spec::Service(_) => Kind::Service,
        }
    }

    /// The Swarm name.
    pub fn name(&self) -> &str {
        match self {
            Spec::Network(s) => &s.name,
            Spec::Volume(s) => &s.name,
            Spec::Secret(s) => &s.name,
            Spec::Config(s) => &s.name,
            Spec::Service(s) => &s.name,
        }
    }

    pub fn labels(&self) -> &Labels {
        match self {
            Spec::Network(s) => &s.labels,
            Spec::Volume(s) => &s.labels,
            Spec::Secret(s) => &s.labels,
            Spec::Config(s) => &s.labels,
            Spec::Service(s) => &s.labels,
        }
    }

    /// The object as Docker's JSON, without the kind tag: what the JSON plan shows as
    /// `before`/`after` and what apply sends.
    pub fn to_docker_json(&self) -> serde_json::Value {
        let v = match self {
            Spec::Network(s) => serde_json::to_value(s),
            Spec::Volume(s) => serde_json::to_value(s),
            Spec::Secret(s) => serde_json::to_value(s),
            Spec::Config(s) => serde_json::to_value(s),
            Spec::Service(s) => serde_json::to_value(s),
        };
        v.expect("Docker specs always serialize")
    }
}

/// One desired object: its address, Swarm spec and what must exist before it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Resource {
    pub address: Address,
    pub spec: Spec,
    /// Addresses this object needs first, sorted. An address that is not among the desired
    /// resources (another project's shared network, the platform's edge slot network) is
    /// expected to exist already.
    pub depends_on: Vec<Address>,
    /// Where the object is declared, for diagnostics.
    #[serde(skip)]
    pub span: Option<Span>,
}

impl Resource {
    pub fn name(&self) -> &str {
        self.spec.name()
    }
}

/// The labels every berth object carries.
pub fn berth_labels(address: &Address, stack: &str) -> Labels {
    let mut labels = Labels::new();
    labels.insert(label::MANAGED.into(), "true".into());
    labels.insert(label::PROJECT.into(), address.deployment.project.clone());
    labels.insert(
        label::ENVIRONMENT.into(),
        address.deployment.environment_label().to_string(),
    );
    labels.insert(label::ADDRESS.into(), address.to_string());
    labels.insert(label::STACK.into(), stack.to_string());
    labels
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_round_trip() {
        for text in [
            "shop/production/service.web",
            "shop/preview-12/network.default",
            "platform/proxy/volume.acme",
        ] {
            let a: Address = text.parse().unwrap();
            assert_eq!(a.to_string(), text);
        }
        assert!("shop/service.web".parse::<Address>().is_err());
        assert!("shop/production/thing.web".parse::<Address>().is_err());
        let id = DeploymentId::new("shop", Environment::Preview, Some(7));
        assert_eq!(id.to_string(), "shop/preview-7");
        assert_eq!(id.environment_label(), "preview");
    }
}
