//! Jobs: when a job runs. Swarm runs a replicated job again whenever its spec changes, so a job
//! runs when its own spec changes by itself; for it to run also before a service that depends on
//! it changes (a new application image runs its migration first), each job carries a digest of
//! the compiled specs of its dependants in the label `berth.job.trigger`. A change to any of them
//! changes the label, so the plan updates the job (which runs it) as well as the dependant, and
//! the dependant waits for the job in the plan's order.

use super::*;

impl DeploymentCompiler<'_> {
    /// Labels every job of the deployment with the digest of its dependants' specs.
    pub(super) fn job_triggers(&mut self) {
        let d = self.d;
        for job in d.services.iter().filter(|s| s.is_job()) {
            let mut dependants: Vec<&model::Service> = d
                .services
                .iter()
                .filter(|s| s.depends_on.contains(&job.name))
                .collect();
            if dependants.is_empty() {
                continue;
            }
            dependants.sort_by(|a, b| a.name.cmp(&b.name));
            let mut text = String::new();
            for s in dependants {
                let address = self.id.address(Kind::Service, &s.name);
                if let Some(Spec::Service(spec)) = self
                    .out
                    .iter()
                    .find(|r| r.address == address)
                    .map(|r| &r.spec)
                {
                    // ServiceSpec is made of structs and BTreeMaps: its JSON is deterministic.
                    text.push_str(&s.name);
                    text.push('\n');
                    text.push_str(&serde_json::to_string(spec).unwrap_or_default());
                    text.push('\n');
                }
            }
            let digest = units::sha256_hex(text.as_bytes());
            let address = self.id.address(Kind::Service, &job.name);
            if let Some(Spec::Service(spec)) = self
                .out
                .iter_mut()
                .find(|r| r.address == address)
                .map(|r| &mut r.spec)
            {
                spec.labels
                    .insert(label::JOB_TRIGGER.into(), digest[..16].to_string());
            }
        }
    }
}
