//! A routed service's Traefik labels: per route a router and a service named after the stack and
//! the service, its rule, entrypoint and TLS, the retry middleware, and the edge slot network
//! Traefik reaches it through.

use super::*;

/// The resolver name every TLS route uses.
pub const CERT_RESOLVER: &str = "acme";

/// How often the proxy retries a request that a backend task did not answer (it was stopped
/// since the proxy's last poll), and the first wait of the exponential backoff between tries.
pub const RETRY_ATTEMPTS: u32 = 3;
pub const RETRY_INTERVAL: &str = "100ms";

/// `Host(`shop.example.com`)`, with `&& PathPrefix(`/api`)` when the route has a path.
pub fn route_rule(host: &str, path: Option<&str>) -> String {
    match path {
        Some(p) if p != "/" => format!("Host(`{host}`) && PathPrefix(`{p}`)"),
        _ => format!("Host(`{host}`)"),
    }
}

impl DeploymentCompiler<'_> {
    pub(super) fn traefik_labels(&mut self, s: &model::Service, address: &Address) -> Labels {
        let mut labels = Labels::new();
        if s.routes.is_empty() {
            return labels;
        }
        labels.insert("traefik.enable".into(), "true".into());
        labels.insert(
            label::TRAEFIK_NETWORK.into(),
            slot::network_name(slot::UNASSIGNED),
        );
        for (n, route) in s.routes.iter().enumerate() {
            // The stack and service are DNS labels without `_`, and `-<n>` ends the name, so the
            // router name is unique per tenant, service and route.
            let router = self.router_name(&s.name, n);
            let rule = route_rule(&route.host, route.path.as_deref());
            let r = format!("traefik.http.routers.{router}");
            labels.insert(format!("{r}.rule"), rule.clone());
            labels.insert(format!("{r}.service"), router.clone());
            // Traefik polls Swarm: until its next poll it may still send a request to a task
            // that Swarm has just stopped (a rolling update, a scale down). The retry middleware
            // sends such a request, which got no answer, to another task.
            let retry = format!("{router}-retry");
            let m = format!("traefik.http.middlewares.{retry}.retry");
            labels.insert(format!("{m}.attempts"), RETRY_ATTEMPTS.to_string());
            labels.insert(format!("{m}.initialinterval"), RETRY_INTERVAL.into());
            labels.insert(format!("{r}.middlewares"), retry);
            if route.tls {
                labels.insert(format!("{r}.entrypoints"), "websecure".into());
                labels.insert(format!("{r}.tls"), "true".into());
                if self.tls {
                    labels.insert(format!("{r}.tls.certresolver"), CERT_RESOLVER.into());
                }
            } else {
                labels.insert(format!("{r}.entrypoints"), "web".into());
            }
            labels.insert(
                format!("traefik.http.services.{router}.loadbalancer.server.port"),
                route.port.to_string(),
            );
            self.routes.push(RouteInfo {
                host: route.host.clone(),
                path: route.path.clone(),
                tls: route.tls,
                acme: route.tls && self.tls,
                service: address.clone(),
                router,
                rule,
                span: route.span,
            });
        }
        labels
    }
}
