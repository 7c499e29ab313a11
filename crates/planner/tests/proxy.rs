//! Tests of the compiled platform: the proxy's Swarm settings, its ACME CA, custom certificates,
//! dashboard and metrics entrypoint, and the URLs routes are reached at through it.

mod support;

use berth_lang::model::Environment;
use berth_planner::resource::{label, Spec};
use berth_planner::*;
use std::collections::BTreeSet;
use support::*;

/// Shop, then blog, as applied one after the other: shop holds edge slot 00, blog 01.
fn shop_and_blog() -> Desired {
    applied(&[shop(Environment::Production, None), blog()], 1)
}

fn service<'a>(desired: &'a Desired, address: &str) -> &'a docker::ServiceSpec {
    match &desired.get(&address.parse().unwrap()).unwrap().spec {
        Spec::Service(s) => s,
        _ => panic!("{address} is not a service"),
    }
}

#[test]
fn the_proxy_is_configured_for_swarm() {
    let desired = shop_and_blog();
    let t = service(&desired, "platform/proxy/service.traefik");
    let args = &t.task_template.container_spec.args;
    for expected in [
        "--providers.swarm.exposedByDefault=false",
        "--providers.swarm.constraints=Label(`berth.managed`,`true`)",
        "--providers.swarm.refreshSeconds=2s",
        "--providers.providersThrottleDuration=200ms",
        "--serversTransport.forwardingTimeouts.dialTimeout=2s",
        "--global.checkNewVersion=false",
        "--global.sendAnonymousUsage=false",
        "--entrypoints.web.http.redirections.entrypoint.to=websecure",
        "--certificatesresolvers.acme.acme.caServer=https://127.0.0.1:14000/dir",
        "--accesslog=true",
        "--metrics.prometheus=true",
        "--ping=true",
        // The proxy joins every tenant's edge network: its internal entrypoint (ping, and here
        // metrics) listens on the container's loopback only.
        "--entrypoints.traefik.address=127.0.0.1:8080",
    ] {
        assert!(
            args.iter().any(|a| a == expected),
            "missing {expected} in {args:#?}"
        );
    }
    // Without a metrics port: no metrics entrypoint, no manual routing, no published port.
    assert!(
        !args
            .iter()
            .any(|a| a.contains("entrypoints.metrics") || a.contains("manualRouting")),
        "{args:#?}"
    );
    // Without the dashboard, Traefik's API does not exist at all.
    assert!(!args.iter().any(|a| a.starts_with("--api")), "{args:#?}");
    let sock = t
        .task_template
        .container_spec
        .mounts
        .iter()
        .find(|m| m.source == "/var/run/docker.sock")
        .unwrap();
    assert!(sock.read_only);
    let ports = &t.endpoint_spec.as_ref().unwrap().ports;
    assert!(ports.iter().all(|p| p.publish_mode == "host"));
    assert!(t
        .task_template
        .placement
        .as_ref()
        .unwrap()
        .constraints
        .contains(&"node.role == manager".to_string()));
}

fn proxy_of(desired: &Desired) -> &docker::ServiceSpec {
    service(desired, "platform/proxy/service.traefik")
}

#[test]
fn the_proxy_trusts_the_acme_ca_through_a_content_named_config() {
    let p = tls_platform();
    let desired = compile(&[], &p, &platform_digests(&p)).unwrap();
    let address: Address = "platform/proxy/config.acme-ca".parse().unwrap();
    let config = desired.get(&address).expect("the CA's config");
    let Spec::Config(c) = &config.spec else {
        panic!("{address} is not a config")
    };
    let digest = &c.labels[label::DIGEST];
    assert_eq!(c.name, format!("platform_acme-ca_{}", &digest[..10]));
    assert_eq!(
        c.data, None,
        "apply reads the file; the planner never sees it"
    );
    let proxy = proxy_of(&desired);
    let spec = &proxy.task_template.container_spec;
    assert!(spec
        .env
        .contains(&"LEGO_CA_CERTIFICATES=/etc/berth/acme-ca.pem".to_string()));
    let mounted = spec
        .configs
        .iter()
        .find(|r| r.config_name == c.name)
        .expect("mounted into the proxy");
    assert_eq!(mounted.file.name, "/etc/berth/acme-ca.pem");
    let proxy_resource = desired
        .get(&"platform/proxy/service.traefik".parse().unwrap())
        .unwrap();
    assert!(proxy_resource.depends_on.contains(&address));
    assert!(spec
        .args
        .contains(&"--certificatesresolvers.acme.acme.tlsChallenge=true".to_string()));
    assert!(!spec.args.iter().any(|a| a.contains("httpChallenge")));

    // Without the attribute: no config, no variable, and the HTTP challenge.
    let plain = compile(&[], &platform(), &Digests::new()).unwrap();
    assert!(plain.get(&address).is_none());
    let spec = &proxy_of(&plain).task_template.container_spec;
    assert!(spec.env.is_empty() && spec.configs.is_empty() && spec.secrets.is_empty());
    assert!(spec
        .args
        .contains(&"--certificatesresolvers.acme.acme.httpChallenge.entryPoint=web".to_string()));
}

#[test]
fn custom_certificates_are_proxy_only_secrets_listed_in_a_dynamic_file() {
    let p = tls_platform();
    let ds = [shop(Environment::Production, None)];
    let mut digests = digests(&ds, 1);
    digests.extend(platform_digests(&p));
    let desired = compile(&ds, &p, &digests).unwrap();
    let proxy = proxy_of(&desired);
    let spec = &proxy.task_template.container_spec;
    for name in ["shop", "billing"] {
        for (secret, file) in [
            (format!("tls-{name}-cert"), format!("tls-{name}-cert")),
            (format!("tls-{name}-key"), format!("tls-{name}-key")),
        ] {
            let address: Address = format!("platform/proxy/secret.{secret}").parse().unwrap();
            let r = desired.get(&address).expect("a secret per file");
            let digest = r.spec.labels()[label::DIGEST].clone();
            assert_eq!(
                digests[&address.to_string()],
                digest,
                "named by the digest the caller gave"
            );
            assert_eq!(r.name(), format!("platform_{secret}_{}", &digest[..10]));
            let mounted = spec
                .secrets
                .iter()
                .find(|s| s.secret_name == r.name())
                .expect("mounted into the proxy");
            assert_eq!(mounted.file.name, file);
            assert_eq!(mounted.file.mode, 0o444);
        }
    }
    // No tenant's service mounts a platform secret.
    for (r, s) in desired.services() {
        if !r.address.deployment.is_platform() {
            assert!(s
                .task_template
                .container_spec
                .secrets
                .iter()
                .all(|x| !x.secret_name.starts_with("platform_")));
        }
    }
    // The dynamic file lists the mounted paths, nothing more.
    let Spec::Config(file) = &desired
        .get(&"platform/proxy/config.tls".parse().unwrap())
        .unwrap()
        .spec
    else {
        panic!("not a config")
    };
    let text = String::from_utf8(
        berth_planner::units::base64_decode(file.data.as_deref().unwrap()).unwrap(),
    )
    .unwrap();
    assert!(text.contains(
        "    - certFile: /run/secrets/tls-shop-cert\n      keyFile: /run/secrets/tls-shop-key\n"
    ));
    assert!(text.contains("keyFile: /run/secrets/tls-billing-key"));
    assert!(spec
        .configs
        .iter()
        .any(|c| c.config_name == file.name && c.file.name == "/etc/berth/tls.yml"));
    assert!(spec
        .args
        .contains(&"--providers.file.filename=/etc/berth/tls.yml".to_string()));
    // Plans, state and output hold digests, never the values the caller read.
    let everything = serde_json::to_string(
        &desired
            .resources
            .values()
            .map(|r| &r.spec)
            .collect::<Vec<_>>(),
    )
    .unwrap();
    assert!(!everything.contains("not-a-real-password"));
    // A missing digest of a platform file is an error naming it.
    let e = compile(&[], &p, &Digests::new()).unwrap_err();
    assert!(e.0.iter().any(|e| matches!(e, PlanError::MissingDigest { address } if address.to_string() == "platform/proxy/secret.tls-shop-key")), "{e}");
}

#[test]
fn the_dashboard_is_routed_on_the_proxy_behind_basic_authentication() {
    let p = tls_platform();
    let desired = compile(&[], &p, &platform_digests(&p)).unwrap();
    let proxy = proxy_of(&desired);
    let l = &proxy.labels;
    let r = "traefik.http.routers.platform_dashboard";
    assert_eq!(l["traefik.enable"], "true");
    assert_eq!(
        l[&format!("{r}.rule")],
        "Host(`traefik.example.test`) && (PathPrefix(`/api`) || PathPrefix(`/dashboard`))"
    );
    assert_eq!(l[&format!("{r}.service")], "api@internal");
    assert_eq!(l[&format!("{r}.entrypoints")], "websecure");
    assert_eq!(l[&format!("{r}.tls.certresolver")], "acme");
    assert_eq!(l[&format!("{r}.middlewares")], "platform_dashboard-auth");
    assert_eq!(
        l["traefik.http.middlewares.platform_dashboard-auth.basicauth.usersfile"],
        "/run/secrets/dashboard-users"
    );
    let users = desired
        .get(&"platform/proxy/secret.dashboard-users".parse().unwrap())
        .expect("the users' secret");
    assert!(proxy
        .task_template
        .container_spec
        .secrets
        .iter()
        .any(|s| s.secret_name == users.name() && s.file.name == "dashboard-users"));
    assert!(proxy
        .task_template
        .container_spec
        .args
        .contains(&"--api.dashboard=true".to_string()));

    // Off: no router, no users' secret, even when users are given.
    let mut off = tls_platform();
    off.proxy.dashboard = false;
    let desired = compile(&[], &off, &platform_digests(&off)).unwrap();
    assert!(!proxy_of(&desired)
        .labels
        .keys()
        .any(|k| k.starts_with("traefik.")));
    assert!(desired
        .get(&"platform/proxy/secret.dashboard-users".parse().unwrap())
        .is_none());
}

#[test]
fn metrics_port_serves_prometheus_only_to_the_allowed_ranges() {
    let mut p = platform();
    p.proxy.metrics_port = Some(18082);
    p.proxy.metrics_allow = vec!["192.0.2.10/32".into(), "198.51.100.0/24".into()];
    let desired = compile(&[], &p, &platform_digests(&p)).unwrap();
    let proxy = proxy_of(&desired);
    let args = &proxy.task_template.container_spec.args;
    for expected in [
        "--metrics.prometheus=true",
        "--metrics.prometheus.manualRouting=true",
        "--entrypoints.metrics.address=:8082",
        "--entrypoints.traefik.address=127.0.0.1:8080",
    ] {
        assert!(
            args.iter().any(|a| a == expected),
            "missing {expected} in {args:#?}"
        );
    }
    let ports = &proxy.endpoint_spec.as_ref().unwrap().ports;
    let metrics = ports
        .iter()
        .find(|port| port.target_port == 8082)
        .expect("the metrics entrypoint is published");
    assert_eq!(
        (metrics.published_port, metrics.publish_mode.as_str()),
        (Some(18082), "host")
    );
    let l = &proxy.labels;
    let r = "traefik.http.routers.platform_metrics";
    assert_eq!(l["traefik.enable"], "true");
    assert_eq!(l[&format!("{r}.rule")], "Path(`/metrics`)");
    assert_eq!(l[&format!("{r}.service")], "prometheus@internal");
    assert_eq!(l[&format!("{r}.entrypoints")], "metrics");
    assert_eq!(l[&format!("{r}.middlewares")], "platform_metrics-allow");
    assert_eq!(
        l["traefik.http.middlewares.platform_metrics-allow.ipallowlist.sourcerange"],
        "192.0.2.10/32,198.51.100.0/24"
    );
    // The placeholder port the Swarm provider wants, on the network it reads the task's
    // address from; nothing is sent to it.
    assert_eq!(
        l["traefik.http.services.platform_metrics.loadbalancer.server.port"],
        "8080"
    );
    assert_eq!(l["traefik.swarm.network"], "platform_edge-00");

    // With the dashboard too, both routers share the dashboard's placeholder.
    let mut both = tls_platform();
    both.proxy.metrics_port = Some(18082);
    both.proxy.metrics_allow = vec!["192.0.2.10/32".into()];
    let desired = compile(&[], &both, &platform_digests(&both)).unwrap();
    let l = &proxy_of(&desired).labels;
    assert_eq!(
        l["traefik.http.routers.platform_metrics.service"],
        "prometheus@internal"
    );
    assert_eq!(
        l["traefik.http.routers.platform_dashboard.service"],
        "api@internal"
    );
    let placeholders: Vec<&String> = l
        .keys()
        .filter(|k| k.starts_with("traefik.http.services."))
        .collect();
    assert_eq!(
        placeholders,
        ["traefik.http.services.platform_dashboard.loadbalancer.server.port"]
    );

    // `metrics = false` wins over a port: no metrics anywhere, nothing published for them.
    p.proxy.metrics = false;
    let desired = compile(&[], &p, &platform_digests(&p)).unwrap();
    let proxy = proxy_of(&desired);
    assert!(!proxy
        .task_template
        .container_spec
        .args
        .iter()
        .any(|a| a.contains("metrics")));
    assert!(!proxy.labels.keys().any(|k| k.starts_with("traefik.")));
    assert_eq!(proxy.endpoint_spec.as_ref().unwrap().ports.len(), 2);
}

#[test]
fn route_urls_carry_a_port_that_is_not_the_schemes_default() {
    let desired = shop_and_blog();
    let mut proxy = platform().proxy;
    let urls = |proxy: &berth_lang::model::Proxy| {
        desired
            .deployments
            .values()
            .flat_map(|d| d.routes.iter().map(|r| r.url(proxy)))
            .collect::<BTreeSet<_>>()
    };
    let found = urls(&proxy);
    assert!(
        found.contains("https://api-berthfx-shop.example.test:18443/v1"),
        "{found:#?}"
    );
    assert!(
        found.contains("http://berthfx-blog.example.test:18080/"),
        "{found:#?}"
    );
    proxy.http_port = 80;
    proxy.https_port = 443;
    let found = urls(&proxy);
    assert!(
        found.contains("https://api-berthfx-shop.example.test/v1"),
        "{found:#?}"
    );
    assert!(
        found.contains("http://berthfx-blog.example.test/"),
        "{found:#?}"
    );
}
