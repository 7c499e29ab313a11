//! `berth-bench`: the benchmarks behind the speed and memory targets in `BENCHMARKS.md`. Each
//! benchmark runs in its own process (one subcommand per run), so the peak resident memory it
//! reports (`VmHWM`) belongs to that benchmark alone. Targets are checked here and printed, never
//! asserted in tests, because timings depend on the machine.

mod cluster;
mod converge;
mod diagnostics;
mod edge;
mod lang;
mod release;
mod report;
mod state;
mod swarm;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let code = match args.first().map(String::as_str) {
        Some("lang") => lang::run(&args[1..]),
        Some("diagnostics") => diagnostics::run(&args[1..]),
        Some("deploy") => swarm::deploy(&args[1..]),
        Some("plan") => swarm::plan(&args[1..]),
        Some("edge") => edge::run(&args[1..]),
        Some("release") => release::run(&args[1..]),
        Some("converge") => converge::run_bench(&args[1..]),
        Some("state") => state::run(&args[1..]),
        _ => {
            eprintln!("usage: berth-bench lang [--projects N] [--iterations N]");
            eprintln!("       berth-bench diagnostics [--errors N] [--files N] [--iterations N]");
            eprintln!("       berth-bench deploy [--projects N] [--berth PATH]   (real swarm, vs docker stack deploy)");
            eprintln!("       berth-bench plan [--services N] [--iterations N] [--berth PATH]   (real swarm)");
            eprintln!("       berth-bench converge [--projects N] [--rounds N] [--berth PATH] [--parallelism N] [--settle-load L] [--peer]   (real swarm, waiting for convergence vs not, vs docker stack deploy --detach=false)");
            eprintln!("       berth-bench state [--services N] [--iterations N]   (real swarm: cluster backend vs local directory)");
            eprintln!(
                "       berth-bench edge [--projects N] [--berth PATH]   (real swarm and Traefik)"
            );
            eprintln!(
                "       berth-bench release [--trials N] [--requests N] [--berth PATH]   (canary releases, real swarm and Traefik)"
            );
            2
        }
    };
    std::process::exit(code);
}
