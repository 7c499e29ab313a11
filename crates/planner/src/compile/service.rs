//! A service's spec: image, command, env, mounts, resources, networks, health check, update and
//! rollback configs, restart policy, placement, security and ports, with berth's secure and
//! zero-downtime defaults.

use super::*;

impl DeploymentCompiler<'_> {
    pub(super) fn service(&mut self, s: &model::Service) {
        let address = self.id.address(Kind::Service, &s.name);
        let mut deps = BTreeSet::new();

        let mut env = Vec::with_capacity(s.env.len());
        let mut secrets: BTreeSet<SecretReference> = BTreeSet::new();
        for (key, value) in &s.env {
            match value {
                model::EnvValue::Plain(v) => env.push(format!("{key}={v}")),
                model::EnvValue::SecretFile { secret, path } => {
                    env.push(format!("{key}={path}"));
                    deps.insert(self.id.address(Kind::Secret, secret));
                    secrets.insert(SecretReference {
                        file: file_target(path.strip_prefix("/run/secrets/").unwrap_or(path)),
                        secret_id: String::new(),
                        secret_name: self.content_object_name(Kind::Secret, secret),
                    });
                }
            }
        }

        let mut mounts = Vec::new();
        let mut configs = BTreeSet::new();
        for m in &s.mounts {
            match &m.source {
                model::MountSource::Volume(v) => {
                    deps.insert(self.id.address(Kind::Volume, v));
                    let spec = match self.d.volumes.iter().find(|x| &x.name == v) {
                        Some(volume) => self.volume(volume),
                        // The checker refuses a mount of an undeclared volume; should one
                        // get here, the mount still names the volume.
                        None => VolumeSpec {
                            name: self.object(v),
                            driver: "local".into(),
                            ..VolumeSpec::default()
                        },
                    };
                    mounts.push(volume_mount(&spec, &m.target, m.read_only));
                }
                model::MountSource::Tmpfs => mounts.push(Mount {
                    kind: "tmpfs".into(),
                    source: String::new(),
                    target: m.target.clone(),
                    read_only: m.read_only,
                    tmpfs_options: m.tmpfs_size.map(|size_bytes| TmpfsOptions { size_bytes }),
                    volume_options: None,
                }),
                model::MountSource::Secret(name) => {
                    deps.insert(self.id.address(Kind::Secret, name));
                    secrets.insert(SecretReference {
                        file: file_target(
                            m.target.strip_prefix("/run/secrets/").unwrap_or(&m.target),
                        ),
                        secret_id: String::new(),
                        secret_name: self.content_object_name(Kind::Secret, name),
                    });
                }
                model::MountSource::Config(name) => {
                    deps.insert(self.id.address(Kind::Config, name));
                    configs.insert(ConfigReference {
                        file: file_target(&m.target),
                        config_id: String::new(),
                        config_name: self.content_object_name(Kind::Config, name),
                    });
                }
            }
        }
        mounts.sort_by(|a, b| a.target.cmp(&b.target));

        let mut networks = vec![self.attachment(DEFAULT_NETWORK, &s.name, &mut deps)];
        for n in &s.networks {
            match n {
                model::NetworkRef::Own { name } => {
                    networks.push(self.attachment(name, &s.name, &mut deps))
                }
                model::NetworkRef::Shared { project, name } => {
                    let other = DeploymentId::new(project, self.d.environment, self.d.pr);
                    let stack = naming::stack(project, self.d.environment, self.d.pr);
                    deps.insert(other.address(Kind::Network, name));
                    networks.push(NetworkAttachment {
                        target: naming::object(&stack, name),
                        aliases: Vec::new(),
                    });
                }
            }
        }
        if !s.routes.is_empty() {
            // The slot's network belongs to the platform: like a shared network, it is expected
            // to exist. The claim comes first, so no two deployments ever share the network.
            deps.insert(claim_address(&self.id));
            deps.insert(network_address(slot::UNASSIGNED));
            networks.push(NetworkAttachment {
                target: slot::network_name(slot::UNASSIGNED),
                aliases: Vec::new(),
            });
        }
        networks.sort();
        networks.dedup();

        for dep in &s.depends_on {
            deps.insert(self.id.address(Kind::Service, dep));
        }

        let mut labels = s.labels.clone();
        labels.extend(self.traefik_labels(s, &address));
        labels.extend(self.stable_labels(s));
        labels.extend(self.labels(&address));
        if let model::ServiceMode::Job { timeout_ns } = s.mode {
            labels.insert(
                label::JOB_TIMEOUT.into(),
                timeout_ns.div_ceil(1_000_000_000).to_string(),
            );
        }

        let mut container_labels = Labels::new();
        container_labels.insert(label::STACK.into(), self.stack().to_string());

        let spec = ServiceSpec {
            name: self.object(&s.name),
            labels,
            task_template: TaskSpec {
                container_spec: ContainerSpec {
                    image: s.image.clone(),
                    labels: container_labels,
                    command: s.command.clone().unwrap_or_default(),
                    args: s.args.clone().unwrap_or_default(),
                    dir: s.workdir.clone().unwrap_or_default(),
                    user: s.security.user.clone().unwrap_or_default(),
                    env,
                    read_only: s.security.read_only,
                    mounts,
                    stop_grace_period: s.stop_grace_period_ns,
                    health_check: s.health.as_ref().map(|h| HealthConfig {
                        test: h.test.clone(),
                        interval: h.interval_ns,
                        timeout: h.timeout_ns,
                        retries: h.retries,
                        start_period: h.start_period_ns,
                    }),
                    secrets: secrets.into_iter().collect(),
                    configs: configs.into_iter().collect(),
                    capability_add: capabilities(&s.security.cap_add),
                    capability_drop: capabilities(&s.security.cap_drop),
                },
                resources: resources(&s.resources),
                restart_policy: Some(restart_policy(&s.restart)),
                placement: placement(&s.placement),
                networks,
            },
            mode: mode(s.mode),
            // A job has no rolling update: a new spec is a new run.
            update_config: (!s.is_job())
                .then(|| update_config(&s.update, s.health.as_ref(), false)),
            rollback_config: (!s.is_job())
                .then(|| update_config(&s.rollback, s.health.as_ref(), true)),
            endpoint_spec: Some(EndpointSpec {
                mode: match s.endpoint_mode {
                    model::EndpointMode::Vip => "vip".into(),
                    model::EndpointMode::Dnsrr => "dnsrr".into(),
                },
                ports: ports(&s.publish),
            }),
        };
        self.reservation_spans
            .push((address.clone(), s.resources.reservation_spans));
        self.push(address, Spec::Service(Box::new(spec)), deps, Some(s.span));
    }

    /// A network of this deployment, where the service is also known by its short name.
    pub(super) fn attachment(
        &self,
        network: &str,
        service: &str,
        deps: &mut BTreeSet<Address>,
    ) -> NetworkAttachment {
        deps.insert(self.id.address(Kind::Network, network));
        NetworkAttachment {
            target: self.object(network),
            aliases: vec![service.to_string()],
        }
    }
}

/// File mode of mounted secrets and configs (0444), as `docker stack deploy` uses.
pub(super) const FILE_MODE: u32 = 0o444;

pub(super) fn file_target(name: &str) -> FileTarget {
    FileTarget {
        name: name.to_string(),
        uid: "0".into(),
        gid: "0".into(),
        mode: FILE_MODE,
    }
}

/// Docker's API takes capability names with the `CAP_` prefix; `ALL` stays as it is.
pub(super) fn capabilities(caps: &[String]) -> Vec<String> {
    let mut out: Vec<String> = caps
        .iter()
        .map(|c| {
            if c == "ALL" {
                c.clone()
            } else {
                format!("CAP_{}", c.trim_start_matches("CAP_"))
            }
        })
        .collect();
    out.sort();
    out.dedup();
    out
}

pub(super) fn resources(r: &model::Resources) -> Option<ResourceRequirements> {
    let limits = ResourceSet {
        nano_cpus: r.limits.nano_cpus.unwrap_or(0),
        memory_bytes: r.limits.memory_bytes.unwrap_or(0),
        pids: r.limits.pids.unwrap_or(0),
    };
    let reservations = ResourceSet {
        nano_cpus: r.reservations.nano_cpus.unwrap_or(0),
        memory_bytes: r.reservations.memory_bytes.unwrap_or(0),
        pids: 0,
    };
    if limits.is_empty() && reservations.is_empty() {
        return None;
    }
    Some(ResourceRequirements {
        limits: (!limits.is_empty()).then_some(limits),
        reservations: (!reservations.is_empty()).then_some(reservations),
    })
}

pub(super) fn restart_policy(r: &model::RestartPolicy) -> RestartPolicy {
    RestartPolicy {
        condition: match r.condition {
            model::RestartCondition::None => "none",
            model::RestartCondition::OnFailure => "on-failure",
            model::RestartCondition::Any => "any",
        }
        .into(),
        delay: Some(r.delay_ns),
        max_attempts: Some(r.max_attempts.unwrap_or(0)),
        window: Some(r.window_ns.unwrap_or(0)),
    }
}

pub(super) fn placement(p: &model::Placement) -> Option<Placement> {
    let mut constraints: Vec<String> = p
        .constraints
        .iter()
        .map(|c| crate::normalize::constraint(c))
        .collect();
    constraints.sort();
    constraints.dedup();
    let placement = Placement {
        constraints,
        preferences: p
            .spread
            .iter()
            .map(|s| PlacementPreference {
                spread: SpreadOver {
                    spread_descriptor: s.clone(),
                },
            })
            .collect(),
        max_replicas: p.max_replicas_per_node.unwrap_or(0),
    };
    (placement != Placement::default()).then_some(placement)
}

pub(super) fn mode(m: model::ServiceMode) -> ServiceMode {
    match m {
        model::ServiceMode::Replicated { replicas } => ServiceMode {
            replicated: Some(Replicated {
                replicas: Some(replicas),
            }),
            global: None,
            replicated_job: None,
        },
        model::ServiceMode::Global => ServiceMode {
            replicated: None,
            global: Some(Global {}),
            replicated_job: None,
        },
        model::ServiceMode::Job { .. } => ServiceMode {
            replicated: None,
            global: None,
            replicated_job: Some(ReplicatedJob {
                max_concurrent: 1,
                total_completions: 1,
            }),
        },
    }
}

/// The update (or rollback) config berth sends. A model monitor of zero means "long enough":
/// the health check's start period plus interval x retries, and at least Swarm's 5 s, so that
/// Swarm watches a new task until its health check could first report it unhealthy. An explicit
/// monitor is sent as it is. Swarm accepts only `pause` and `continue` as a rollback's failure
/// action, so `rollback` there becomes `pause`.
pub fn update_config(
    p: &model::UpdatePolicy,
    health: Option<&model::Health>,
    rollback: bool,
) -> UpdateConfig {
    let monitor = if p.monitor_ns == 0 {
        swarm::auto_monitor(health)
    } else {
        p.monitor_ns
    };
    let failure_action = match (p.failure_action, rollback) {
        (model::FailureAction::Rollback, false) => "rollback",
        (model::FailureAction::Rollback, true) | (model::FailureAction::Pause, _) => "pause",
        (model::FailureAction::Continue, _) => "continue",
    };
    UpdateConfig {
        parallelism: p.parallelism,
        delay: p.delay_ns,
        failure_action: failure_action.into(),
        monitor,
        max_failure_ratio: p.max_failure_ratio,
        order: match p.order {
            model::UpdateOrder::StartFirst => "start-first",
            model::UpdateOrder::StopFirst => "stop-first",
        }
        .into(),
    }
}

pub(super) fn ports(publish: &[model::Publish]) -> Vec<PortConfig> {
    let mut ports: Vec<PortConfig> = publish
        .iter()
        .map(|p| PortConfig {
            protocol: match p.protocol {
                model::Protocol::Tcp => "tcp",
                model::Protocol::Udp => "udp",
            }
            .into(),
            target_port: p.target,
            published_port: p.published,
            publish_mode: match p.mode {
                model::PublishMode::Host => "host",
                model::PublishMode::Ingress => "ingress",
            }
            .into(),
        })
        .collect();
    ports.sort();
    ports
}

/// A service's mount of a volume, carrying what the engine needs to create the volume exactly as
/// berth would (labels, driver and its options) should a task start while it is missing.
pub(super) fn volume_mount(volume: &VolumeSpec, target: &str, read_only: bool) -> Mount {
    let driver_config =
        (volume.driver != "local" || !volume.driver_opts.is_empty()).then(|| DriverConfig {
            name: volume.driver.clone(),
            options: volume.driver_opts.clone(),
        });
    Mount {
        kind: "volume".into(),
        source: volume.name.clone(),
        target: target.into(),
        read_only,
        tmpfs_options: None,
        volume_options: Some(VolumeOptions {
            no_copy: false,
            labels: volume.labels.clone(),
            driver_config,
        }),
    }
}
