//! The language benchmark: parse and check a generated configuration of N projects x 2
//! environments x 5 services (N = 1,000 by default). Target: under 250 ms, under 200 MB.

use crate::report;
use berth_lang::{Input, Options};
use std::fmt::Write;
use std::time::{Duration, Instant};

/// A realistic project: quota, volume, secret, five services with resources, health, routes,
/// references between them, and a staging overlay.
pub fn generate(projects: usize) -> String {
    let mut out = String::with_capacity(projects * 2600);
    // The platform grants every project what its quota asks for, over both environments.
    out.push_str("platform {\n  domain = \"bench.example.com\"\n");
    for p in 0..projects {
        let _ = write!(
            out,
            "\n  grant p{p} {{\n    quota {{\n      cpu      = 16\n      memory   = 16G\n      storage  = 100G\n      replicas = 80\n    }}\n  }}\n"
        );
    }
    out.push_str("}\n\n");
    for p in 0..projects {
        let _ = write!(
            out,
            r#"project p{p} {{
  quota {{
    cpu      = 8
    memory   = 8G
    storage  = 50G
    replicas = 40
  }}

  volume data {{
    size = 10G
  }}

  secret db_password {{
    env = "BERTH_P{p}_DB_PASSWORD"
  }}
"#
        );
        for s in 0..5 {
            let routed = s < 2;
            let _ = write!(
                out,
                r#"
  service s{s} {{
    image    = "registry.example.com/p{p}/s{s}:1.{s}.0"
    replicas = 2

    env {{
      NAME             = "p{p}-s{s}"
      NEXT_HOST        = "{next}"
      DB_PASSWORD_FILE = secret.db_password
    }}

    resources {{
      limits {{
        cpu    = 0.5
        memory = 256M
      }}
      reservations {{
        cpu    = 100m
        memory = 64M
      }}
    }}

    health {{
      command  = ["/bin/check", "http://127.0.0.1:8080/health"]
      interval = 10s
      timeout  = 2s
    }}
{route}  }}
"#,
                // Each service refers to the next; the last keeps a literal (a reference back to
                // the first would be a cycle).
                next = if s < 4 {
                    format!("${{s{}.host}}", s + 1)
                } else {
                    "none".to_string()
                },
                route = if routed {
                    format!(
                        "\n    route {{\n      primary = {}\n      port    = 8080\n    }}\n",
                        s == 0
                    )
                } else {
                    String::new()
                },
            );
        }
        out.push_str("\n  environment production {}\n\n  environment staging {\n    service s0 {\n      replicas = 1\n    }\n  }\n}\n\n");
    }
    out
}

pub fn run(args: &[String]) -> i32 {
    let projects = report::flag(args, "--projects", 1000usize);
    let iterations = report::flag(args, "--iterations", 10usize).max(1);
    let source = generate(projects);
    println!("lang: {projects} projects x 2 environments x 5 services, {:.1} MiB of source, {iterations} iterations", source.len() as f64 / (1 << 20) as f64);
    let mut samples = Vec::new();
    let mut deployments = 0;
    for _ in 0..iterations {
        let input = vec![Input {
            name: "bench.berth".into(),
            bytes: source.clone().into_bytes(),
        }];
        let start = Instant::now();
        let analysis = berth_lang::analyze("bench", input, &Options::default());
        samples.push(start.elapsed());
        if analysis.has_errors() {
            eprintln!(
                "the generated configuration has errors: {:?}",
                analysis.diagnostics.first()
            );
            return 1;
        }
        deployments = analysis.config.map_or(0, |c| c.deployments.len());
    }
    println!("lang: checked {deployments} project environments per iteration");
    let ok = report::print(
        "lang parse+check",
        &report::summarize(samples),
        Duration::from_millis(250),
        200 << 20,
    );
    if ok {
        0
    } else {
        3
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn generated_configuration_is_valid() {
        let source = super::generate(3);
        let input = vec![berth_lang::Input {
            name: "g.berth".into(),
            bytes: source.into_bytes(),
        }];
        let analysis = berth_lang::analyze("g", input, &Default::default());
        assert!(
            analysis.diagnostics.is_empty(),
            "{:?}",
            analysis.diagnostics
        );
        assert_eq!(analysis.config.unwrap().deployments.len(), 6);
    }
}
