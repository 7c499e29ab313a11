//! A project environment's own objects: its networks (its `default` and the declared ones),
//! volumes, content-named secrets and configs, and the claim of an edge slot when a service is
//! routed. Its services are `service.rs`'s, their Traefik labels `routes.rs`'s.

use super::*;

pub(super) struct DeploymentCompiler<'a> {
    pub(super) d: &'a Deployment,
    pub(super) id: DeploymentId,
    pub(super) tls: bool,
    pub(super) digests: &'a Digests,
    pub(super) out: Vec<Resource>,
    pub(super) errors: &'a mut Vec<PlanError>,
    pub(super) routes: Vec<RouteInfo>,
    pub(super) reservation_spans: Vec<(Address, model::ReservationSpans)>,
}

impl DeploymentCompiler<'_> {
    pub(super) fn stack(&self) -> &str {
        &self.d.stack
    }

    pub(super) fn object(&self, name: &str) -> String {
        naming::object(self.stack(), name)
    }

    pub(super) fn labels(&self, address: &Address) -> Labels {
        berth_labels(address, self.stack())
    }

    /// A volume of the deployment as berth creates it.
    pub(super) fn volume(&self, v: &model::Volume) -> VolumeSpec {
        let address = self.id.address(Kind::Volume, &v.name);
        let mut labels = v.labels.clone();
        labels.extend(self.labels(&address));
        if let Some(size) = v.size {
            labels.insert(label::SIZE.into(), size.to_string());
        }
        VolumeSpec {
            name: self.object(&v.name),
            driver: v.driver.clone(),
            driver_opts: v.driver_opts.clone(),
            labels,
        }
    }

    pub(super) fn push(
        &mut self,
        address: Address,
        spec: Spec,
        depends_on: BTreeSet<Address>,
        span: Option<Span>,
    ) {
        self.out.push(Resource {
            address,
            spec,
            depends_on: depends_on.into_iter().collect(),
            span,
        });
    }

    pub(super) fn run(&mut self) {
        let d = self.d;
        self.network(DEFAULT_NETWORK, false, false, false, Some(d.span));
        for n in &d.networks {
            if n.name == DEFAULT_NETWORK || n.name == EDGE_NETWORK {
                self.errors.push(PlanError::ReservedName {
                    deployment: self.id.clone(),
                    kind: Kind::Network,
                    name: n.name.clone(),
                    span: n.span,
                });
                continue;
            }
            self.network(&n.name, n.internal, n.encrypted, n.attachable, Some(n.span));
        }
        if d.services.iter().any(|s| !s.routes.is_empty()) {
            self.claim();
        }
        for v in &d.volumes {
            let address = self.id.address(Kind::Volume, &v.name);
            let spec = self.volume(v);
            self.push(address, Spec::Volume(spec), BTreeSet::new(), Some(v.span));
        }
        for s in &d.secrets {
            let address = self.id.address(Kind::Secret, &s.name);
            let Some(digest) = self.digest(&address, None) else {
                continue;
            };
            let mut labels = self.labels(&address);
            labels.insert(label::DIGEST.into(), digest.clone());
            let spec = SecretSpec {
                name: content_name(self.stack(), &s.name, &digest),
                labels,
            };
            self.push(address, Spec::Secret(spec), BTreeSet::new(), Some(s.span));
        }
        for c in &d.configs {
            if c.name == EDGE_CLAIM {
                self.errors.push(PlanError::ReservedName {
                    deployment: self.id.clone(),
                    kind: Kind::Config,
                    name: c.name.clone(),
                    span: c.span,
                });
                continue;
            }
            let address = self.id.address(Kind::Config, &c.name);
            let content = match &c.source {
                model::ConfigSource::Content(text) => Some(text.as_bytes()),
                model::ConfigSource::File(_) => None,
            };
            let Some(digest) = self.digest(&address, content) else {
                continue;
            };
            let mut labels = self.labels(&address);
            labels.insert(label::DIGEST.into(), digest.clone());
            let spec = ConfigSpec {
                name: content_name(self.stack(), &c.name, &digest),
                labels,
                data: content.map(units::base64_encode),
            };
            self.push(address, Spec::Config(spec), BTreeSet::new(), Some(c.span));
        }
        for s in &d.services {
            self.service(s);
            self.canary(s);
        }
        self.job_triggers();
    }

    pub(super) fn digest(&mut self, address: &Address, content: Option<&[u8]>) -> Option<String> {
        if let Some(content) = content {
            return Some(units::sha256_hex(content));
        }
        match self.digests.get(&address.to_string()) {
            Some(d) => Some(d.to_ascii_lowercase()),
            None => {
                self.errors.push(PlanError::MissingDigest {
                    address: address.clone(),
                });
                None
            }
        }
    }

    pub(super) fn network(
        &mut self,
        name: &str,
        internal: bool,
        encrypted: bool,
        attachable: bool,
        span: Option<Span>,
    ) {
        let address = self.id.address(Kind::Network, name);
        let mut labels = self.labels(&address);
        labels.insert(label::PROJECT_ID.into(), self.d.project.clone());
        labels.insert(
            label::PROJECT_ENVIRONMENT.into(),
            self.d.environment.to_string(),
        );
        let mut options = Labels::new();
        if encrypted {
            options.insert("encrypted".into(), String::new());
        }
        let spec = NetworkSpec {
            name: self.object(name),
            driver: "overlay".into(),
            internal,
            attachable,
            ipam: None,
            options,
            labels,
        };
        self.push(address, Spec::Network(spec), BTreeSet::new(), span);
    }

    /// The claim of an edge slot: a config named like the slot's network, holding the
    /// deployment's id. The slot is a placeholder until `plan()` assigns one.
    pub(super) fn claim(&mut self) {
        let address = claim_address(&self.id);
        let mut labels = self.labels(&address);
        slot::slot_labels(&mut labels, slot::UNASSIGNED);
        let spec = ConfigSpec {
            name: slot::network_name(slot::UNASSIGNED),
            labels,
            data: Some(units::base64_encode(self.id.to_string().as_bytes())),
        };
        self.push(
            address,
            Spec::Config(spec),
            BTreeSet::new(),
            Some(self.d.span),
        );
    }

    /// The Swarm name of a secret or config of this deployment, for references.
    pub(super) fn content_object_name(&self, kind: Kind, name: &str) -> String {
        let address = self.id.address(kind, name);
        self.out
            .iter()
            .find(|r| r.address == address)
            .map(|r| r.name().to_string())
            .unwrap_or_else(|| self.object(name))
    }
}
