//! Benchmark: plan 5,000 services against 5,000 observed ones, once all unchanged and once with
//! 10% changed. The observed side is Docker's JSON for the same objects (built as the Engine
//! reports them), so parsing and normalising it is measured too. Prints min and median of each
//! phase over the runs, and the peak resident memory (VmHWM).
//!
//! `cargo run --release -p berth-planner --example plan_bench [-- RUNS]`

#[path = "../tests/support/mod.rs"]
mod support;

use berth_lang::model::{Deployment, EnvValue, Environment, Quota};
use berth_planner::render::{self, RenderOptions};
use berth_planner::{compile, plan, Observed, PlanOptions};
use std::time::{Duration, Instant};

const SERVICES: usize = 5_000;
const PER_DEPLOYMENT: usize = 50;

fn deployments(changed_every: Option<usize>) -> Vec<Deployment> {
    let mut out = Vec::new();
    for p in 0..SERVICES / PER_DEPLOYMENT {
        let mut d = support::shop(Environment::Production, None);
        d.project = format!("bench{p:03}");
        d.stack = d.project.clone();
        d.quota = Quota {
            replicas: Some(500),
            cpu: Some(100_000_000_000),
            ..Quota::default()
        };
        let template = d.services[1].clone();
        d.services.clear();
        for s in 0..PER_DEPLOYMENT {
            let mut svc = template.clone();
            svc.name = format!("svc{s:02}");
            svc.routes[0].host = format!("svc{s:02}-bench{p:03}.example.test");
            svc.depends_on.clear();
            svc.env
                .insert("INDEX".into(), EnvValue::Plain(s.to_string()));
            if changed_every.is_some_and(|n| (p * PER_DEPLOYMENT + s).is_multiple_of(n)) {
                svc.image = "berth/demo:2".into();
            }
            d.services.push(svc);
        }
        out.push(d);
    }
    out
}

fn peak_rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kb: f64 = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0);
    kb / 1024.0
}

fn stats(mut samples: Vec<Duration>) -> String {
    samples.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    format!(
        "min {:7.1} ms  median {:7.1} ms",
        ms(samples[0]),
        ms(samples[samples.len() / 2])
    )
}

fn main() {
    let runs: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(10);
    let mut platform = support::platform();
    // One edge slot per routed deployment, and room to spare.
    platform.proxy.edge_slots = 128;
    let base = deployments(None);
    let digests = support::digests(&base, 1);
    let desired = compile(&base, &platform, &digests).unwrap();
    // The cluster as applying it left it: every deployment holds its edge slot.
    let snapshot = {
        let applied = berth_planner::edge::resolve(&desired, &Observed::empty()).unwrap();
        support::echo::snapshot(&applied, 7)
    };
    let bytes = snapshot.services.len() + snapshot.networks.len() + snapshot.volumes.len();
    println!(
        "{} services in {} deployments, {} objects; observed JSON {:.1} MiB",
        SERVICES,
        base.len(),
        desired.resources.len(),
        bytes as f64 / (1 << 20) as f64
    );
    let changed = deployments(Some(10));

    for (label, input) in [("all unchanged", &base), ("10% changed", &changed)] {
        let (mut parse, mut comp, mut planning, mut render_t, mut total) =
            (vec![], vec![], vec![], vec![], vec![]);
        let mut summary = None;
        for _ in 0..runs {
            let t0 = Instant::now();
            let observed = Observed::from_docker(&snapshot).unwrap();
            let t1 = Instant::now();
            let desired = compile(input, &platform, &digests).unwrap();
            let t2 = Instant::now();
            let p = plan(&desired, &observed, &PlanOptions::default()).unwrap();
            let t3 = Instant::now();
            let text = render::human(&p, &RenderOptions::default());
            let t4 = Instant::now();
            parse.push(t1 - t0);
            comp.push(t2 - t1);
            planning.push(t3 - t2);
            render_t.push(t4 - t3);
            total.push(t4 - t0);
            summary = Some((p.summary(), text.len()));
        }
        let (s, len) = summary.unwrap();
        println!(
            "\n{label}: {} to add, {} to change, {} to destroy ({} bytes of plan text)",
            s.add, s.change, s.destroy, len
        );
        println!("  parse observed   {}", stats(parse));
        println!("  compile          {}", stats(comp));
        println!("  plan             {}", stats(planning));
        println!("  render human     {}", stats(render_t));
        println!("  total            {}", stats(total));
    }
    println!("\npeak RSS (VmHWM): {:.1} MiB", peak_rss_mib());
}
