//! The bytes of secrets and configs, read from their sources (files relative to the
//! configuration directory, or environment variables of the berth process) right before planning.
//! Only their sha256 digests go to the planner; the bytes go to Docker when the object is created
//! and nowhere else: never to a plan, a log or the state file.

use crate::error::ApplyError;
use berth_lang::model::{ConfigSource, Deployment, Platform, SecretSource};
use berth_planner::{DeploymentId, Digests};
use std::collections::BTreeMap;
use std::path::Path;

/// Secret and config contents by address (`shop/production/secret.db_password`).
#[derive(Default)]
pub struct Payloads {
    data: BTreeMap<String, Vec<u8>>,
}

impl std::fmt::Debug for Payloads {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the values, not even in debug output.
        f.debug_struct("Payloads")
            .field("addresses", &self.data.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl Payloads {
    pub fn get(&self, address: &str) -> Option<&[u8]> {
        self.data.get(address).map(Vec::as_slice)
    }

    /// Adds another set (the platform's to the deployments').
    pub fn extend(&mut self, other: Payloads) {
        self.data.extend(other.data);
    }
}

/// Reads the platform's files and variables: the CA its ACME client trusts, the custom
/// certificates and their keys, and the dashboard's users
/// ([`berth_planner::platform_sources`] says which, under which addresses).
pub fn read_platform(
    config_dir: &Path,
    platform: &Platform,
) -> Result<(Digests, Payloads), ApplyError> {
    let mut digests = Digests::new();
    let mut payloads = Payloads::default();
    for s in berth_planner::platform_sources(platform) {
        let fail = |message: String| ApplyError::SecretSource {
            deployment: DeploymentId::platform(),
            name: s.address.name.clone(),
            message,
        };
        let bytes = match &s.source {
            SecretSource::File(path) => std::fs::read(config_dir.join(path))
                .map_err(|e| fail(format!("cannot read `{path}`: {e}")))?,
            SecretSource::Env(var) => std::env::var(var)
                .map_err(|_| fail(format!("the environment variable `{var}` is not set")))?
                .into_bytes(),
        };
        let address = s.address.to_string();
        digests.insert(address.clone(), digest(&bytes));
        payloads.data.insert(address, bytes);
    }
    Ok((digests, payloads))
}

fn digest(bytes: &[u8]) -> String {
    berth_planner::units::sha256_hex(bytes)
}

/// Reads a project's source file, after checking that it stays inside the project's directory
/// once links are followed (the language checked the path as written).
fn read_file(
    config_dir: &Path,
    d: &Deployment,
    id: &DeploymentId,
    name: &str,
    path: &str,
) -> Result<Vec<u8>, ApplyError> {
    let fail = |message: String| ApplyError::SecretSource {
        deployment: id.clone(),
        name: name.to_string(),
        message,
    };
    let resolved = crate::sources::resolve(config_dir, d, path).map_err(|p| fail(p.to_string()))?;
    std::fs::read(&resolved).map_err(|e| fail(format!("cannot read `{path}`: {e}")))
}

/// Reads the sources of every secret and file-backed config of `deployments`.
pub fn read(
    config_dir: &Path,
    deployments: &[&Deployment],
) -> Result<(Digests, Payloads), ApplyError> {
    let mut digests = Digests::new();
    let mut payloads = Payloads::default();
    for d in deployments {
        let id = DeploymentId::new(&d.project, d.environment, d.pr);
        for s in &d.secrets {
            let bytes = match &s.source {
                SecretSource::File(path) => read_file(config_dir, d, &id, &s.name, path)?,
                SecretSource::Env(var) => std::env::var(var)
                    .map_err(|_| ApplyError::SecretSource {
                        deployment: id.clone(),
                        name: s.name.clone(),
                        message: format!("the environment variable `{var}` is not set"),
                    })?
                    .into_bytes(),
            };
            let address = format!("{id}/secret.{}", s.name);
            digests.insert(address.clone(), digest(&bytes));
            payloads.data.insert(address, bytes);
        }
        for c in &d.configs {
            let bytes = match &c.source {
                ConfigSource::File(path) => read_file(config_dir, d, &id, &c.name, path)?,
                // The compiler hashes inline content itself and puts it in the spec.
                ConfigSource::Content(_) => continue,
            };
            let address = format!("{id}/config.{}", c.name);
            digests.insert(address.clone(), digest(&bytes));
            payloads.data.insert(address, bytes);
        }
    }
    Ok((digests, payloads))
}
