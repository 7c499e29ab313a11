//! The diagnostics benchmark: how long rendering N diagnostics takes for a person (miette's
//! graphical reports) against the JSON form, for one analysis of a generated configuration with N
//! errors (N = 3,000 by default) spread over several files. Target: the human rendering within 3x
//! the JSON time. Before the renderer borrowed the source and found lines with the line index,
//! each report copied and scanned its whole file, which made the human form quadratic.

use crate::report;
use berth_lang::render::{self, Style};
use berth_lang::{Input, Options};
use std::fmt::Write;
use std::time::{Duration, Instant};

/// `files` files of projects whose services each carry one misspelt attribute: one error
/// (E0101, with a suggestion) per service.
fn generate(errors: usize, files: usize) -> Vec<Input> {
    let per_file = errors.div_ceil(files);
    (0..files)
        .map(|f| {
            let mut text = String::new();
            let _ = writeln!(text, "project p{f} {{");
            for s in 0..per_file.min(errors - f * per_file) {
                let _ = write!(
                    text,
                    "  service s{s} {{\n    image    = \"registry.example.com/p{f}/s{s}:1\"\n    replicas = 1\n    imagge   = \"typo\"\n\n    resources {{\n      limits {{\n        memory = 64M\n      }}\n    }}\n  }}\n\n"
                );
            }
            text.push_str("}\n");
            Input {
                name: format!("p{f}.berth"),
                bytes: text.into_bytes(),
            }
        })
        .collect()
}

pub fn run(args: &[String]) -> i32 {
    let errors: usize = report::flag(args, "--errors", 3000);
    let files: usize = report::flag(args, "--files", 10).max(1);
    let iterations: usize = report::flag(args, "--iterations", 5).max(1);
    let analysis = berth_lang::analyze("bench", generate(errors, files), &Options::default());
    let count = analysis.diagnostics.len();
    let time = |f: &dyn Fn() -> usize| {
        let mut samples = Vec::new();
        let mut bytes = 0;
        for _ in 0..iterations {
            let t = Instant::now();
            bytes = f();
            samples.push(t.elapsed());
        }
        (report::summarize(samples), bytes)
    };
    let (human, human_bytes) =
        time(&|| render::human(&analysis.diagnostics, &analysis.sources, Style::default()).len());
    let (json, json_bytes) = time(&|| {
        serde_json::to_string(&render::json(&analysis.diagnostics, &analysis.sources))
            .map_or(0, |s| s.len())
    });
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let ratio = human.median.as_secs_f64() / json.median.as_secs_f64().max(1e-9);
    println!("diagnostics: {count} rendered ({files} files), median of {iterations}");
    println!(
        "  human: {:.1} ms (min {:.1} ms, {human_bytes} bytes)",
        ms(human.median),
        ms(human.min)
    );
    println!(
        "  json:  {:.1} ms (min {:.1} ms, {json_bytes} bytes)",
        ms(json.median),
        ms(json.min)
    );
    let ok = ratio <= 3.0;
    println!(
        "  human / json: {ratio:.2} (target: at most 3) {}",
        if ok { "OK" } else { "MISSED" }
    );
    if count != errors {
        eprintln!("expected {errors} diagnostics, the analysis produced {count}");
        return 1;
    }
    i32::from(!ok)
}
