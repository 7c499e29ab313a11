//! What the demo service answers, kept apart from sockets and HTTP framing.
//!
//! berth's examples and end-to-end tests depend on these answers (the version line shows which
//! image a request reached, and the health endpoint drives Swarm health checks and rollbacks), so
//! the routing lives here where unit tests can reach it without a network.

use std::sync::atomic::{AtomicBool, Ordering};

/// An answer of the service: small bodies, always `text/plain`, sent with a `Content-Length`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(&'static str, String)>,
    pub body: Vec<u8>,
}

impl Response {
    /// A `text/plain` response.
    pub fn text(status: u16, body: impl Into<String>) -> Response {
        Response {
            status,
            headers: vec![("Content-Type", "text/plain; charset=utf-8".to_string())],
            body: body.into().into_bytes(),
        }
    }

    pub fn with_header(mut self, name: &'static str, value: impl Into<String>) -> Response {
        self.headers.push((name, value.into()));
        self
    }
}

/// The service's identity and its switchable health.
#[derive(Debug)]
pub struct App {
    version: String,
    hostname: String,
    project: String,
    healthy: AtomicBool,
}

impl App {
    pub fn new(version: String, hostname: String, project: String, healthy: bool) -> App {
        App {
            version,
            hostname,
            project,
            healthy: AtomicBool::new(healthy),
        }
    }

    /// Reads the configuration from the environment, as a container receives it:
    /// `BERTH_DEMO_VERSION`, `BERTH_DEMO_PROJECT` and `BERTH_DEMO_HEALTHY`.
    pub fn from_env() -> App {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        let healthy = var("BERTH_DEMO_HEALTHY")
            .is_none_or(|v| !(v.eq_ignore_ascii_case("false") || v == "0"));
        App::new(
            var("BERTH_DEMO_VERSION").unwrap_or_else(|| env!("CARGO_PKG_VERSION").to_string()),
            hostname(),
            var("BERTH_DEMO_PROJECT").unwrap_or_else(|| "-".to_string()),
            healthy,
        )
    }

    pub fn version(&self) -> &str {
        &self.version
    }

    pub fn is_healthy(&self) -> bool {
        self.healthy.load(Ordering::SeqCst)
    }

    /// Answers one request for `path` (without its query). `HEAD` is routed like `GET`; the
    /// server leaves out the body.
    pub fn handle(&self, method: &str, path: &str) -> Response {
        let method = if method == "HEAD" { "GET" } else { method };
        let allowed = match path {
            "/" | "/health" | "/version" => "GET, HEAD",
            "/admin/fail" | "/admin/recover" => "POST",
            _ => return Response::text(404, "not found\n"),
        };
        match (method, path) {
            ("GET", "/") => Response::text(
                200,
                format!(
                    "berth-demo version={} host={} project={}\n",
                    self.version, self.hostname, self.project
                ),
            ),
            ("GET", "/health") if self.is_healthy() => Response::text(200, "ok\n"),
            ("GET", "/health") => Response::text(503, "unhealthy\n"),
            ("GET", "/version") => Response::text(200, format!("{}\n", self.version)),
            ("POST", "/admin/fail") => {
                self.healthy.store(false, Ordering::SeqCst);
                Response::text(200, "healthy=false\n")
            }
            ("POST", "/admin/recover") => {
                self.healthy.store(true, Ordering::SeqCst);
                Response::text(200, "healthy=true\n")
            }
            _ => Response::text(405, "method not allowed\n").with_header("Allow", allowed),
        }
    }
}

/// The container's host name, which Docker sets to the container ID unless told otherwise, so that
/// answers show which replica served them. A scratch image has no `hostname` tool, but it does
/// have `/proc`.
fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|name| name.trim().to_string())
        .filter(|name| !name.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "-".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn app(healthy: bool) -> App {
        App::new("2".into(), "task-1".into(), "shop".into(), healthy)
    }

    fn body(response: &Response) -> &str {
        std::str::from_utf8(&response.body).unwrap()
    }

    #[test]
    fn root_names_version_host_and_project() {
        let response = app(true).handle("GET", "/");
        assert_eq!(response.status, 200);
        assert_eq!(
            body(&response),
            "berth-demo version=2 host=task-1 project=shop\n"
        );
        assert_eq!(app(true).handle("HEAD", "/").status, 200);
    }

    #[test]
    fn health_follows_the_admin_switch() {
        let app = app(true);
        assert_eq!(
            (
                app.handle("GET", "/health").status,
                body(&app.handle("GET", "/health"))
            ),
            (200, "ok\n")
        );
        assert_eq!(app.handle("POST", "/admin/fail").status, 200);
        assert_eq!(app.handle("GET", "/health").status, 503);
        assert_eq!(app.handle("POST", "/admin/recover").status, 200);
        assert_eq!(app.handle("GET", "/health").status, 200);
    }

    #[test]
    fn starts_unhealthy_when_configured() {
        assert_eq!(app(false).handle("GET", "/health").status, 503);
    }

    #[test]
    fn version_is_just_the_version() {
        assert_eq!(body(&app(true).handle("GET", "/version")), "2\n");
    }

    #[test]
    fn unknown_paths_and_methods() {
        assert_eq!(app(true).handle("GET", "/nope").status, 404);
        assert_eq!(app(true).handle("GET", "/healthz").status, 404);
        let response = app(true).handle("GET", "/admin/fail");
        assert_eq!(response.status, 405);
        assert!(response.headers.contains(&("Allow", "POST".to_string())));
        assert_eq!(app(true).handle("DELETE", "/").status, 405);
    }
}
