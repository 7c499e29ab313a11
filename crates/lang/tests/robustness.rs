//! No input makes the lexer, parser or checker panic, recurse without bound or point outside its
//! file: arbitrary bytes, arbitrary strings over the language's alphabet, and mutations of real
//! configurations (the examples) are all analysed and every diagnostic span is checked.

use berth_lang::{analyze, Input, Options, VarInput};
use proptest::prelude::*;
use std::path::Path;

fn examples() -> Vec<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples");
    let mut out = Vec::new();
    for dir in std::fs::read_dir(root).unwrap().flatten() {
        if let Ok(files) = std::fs::read_dir(dir.path()) {
            for f in files.flatten() {
                if f.path().extension().is_some_and(|e| e == "berth") {
                    out.push(std::fs::read_to_string(f.path()).unwrap());
                }
            }
        }
    }
    out.sort();
    assert!(!out.is_empty());
    out
}

fn check(bytes: Vec<u8>, strict: bool) {
    let vars = vec![VarInput {
        name: "pr".into(),
        value: "7".into(),
        origin: "--var".into(),
    }];
    let analysis = analyze(
        "prop",
        vec![Input {
            name: "prop.berth".into(),
            bytes,
        }],
        &Options {
            vars,
            strict,
            ..Options::default()
        },
    );
    for d in &analysis.diagnostics {
        // Every diagnostic of the language points at the configuration.
        let span = d
            .span
            .unwrap_or_else(|| panic!("a language diagnostic without a span: {d:?}"));
        let len = analysis.sources.get(span.file).text.len() as u32;
        assert!(
            span.start <= span.end && span.end <= len,
            "span out of bounds: {d:?}"
        );
        for l in &d.secondary {
            let len = analysis.sources.get(l.span.file).text.len() as u32;
            assert!(l.span.end <= len, "secondary span out of bounds: {d:?}");
        }
    }
    // Rendering must not panic either.
    let _ = berth_lang::render::human(&analysis.diagnostics, &analysis.sources, Default::default());
}

/// Pieces of the language, so random strings hit interesting paths rather than only E0004.
fn token() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("{".to_string()),
        Just("}".to_string()),
        Just("[".to_string()),
        Just("]".to_string()),
        Just("=".to_string()),
        Just(",".to_string()),
        Just(".".to_string()),
        Just("\n".to_string()),
        Just("\"".to_string()),
        Just("\"\"\"".to_string()),
        Just("${".to_string()),
        Just("# c\n".to_string()),
        Just("/*".to_string()),
        Just("*/".to_string()),
        Just("project".to_string()),
        Just("service".to_string()),
        Just("environment".to_string()),
        Just("route".to_string()),
        Just("var.pr".to_string()),
        Just("512M".to_string()),
        Just("1m30s".to_string()),
        Just("500m".to_string()),
        "[a-z_]{1,8}",
        "[0-9]{1,4}",
        "\"[a-z${}. ]{0,10}\"",
        " ",
    ]
}

fn mutate(text: &str, edits: &[(usize, usize, u8)]) -> Vec<u8> {
    let mut bytes = text.as_bytes().to_vec();
    for &(pos, len, op) in edits {
        if bytes.is_empty() {
            break;
        }
        let pos = pos % bytes.len();
        let end = (pos + len % 40).min(bytes.len());
        match op % 4 {
            0 => {
                bytes.drain(pos..end);
            }
            1 => {
                let chunk = bytes[pos..end].to_vec();
                bytes.splice(pos..pos, chunk);
            }
            2 => bytes.insert(pos, b"{}[]=\",.$\n#"[len % 11]),
            _ => bytes[pos] = (len as u8).wrapping_mul(37),
        }
    }
    bytes
}

/// A number as a user might write one at the edges: small, near Swarm's limits, or far beyond.
fn huge_number() -> impl Strategy<Value = String> {
    prop_oneof![
        (0u64..10).prop_map(|n| n.to_string()),
        Just("100".to_string()),
        Just("10000".to_string()),
        Just("9223372036854775807".to_string()),
        Just("18446744073709551615".to_string()),
        Just("1e300".to_string()),
        any::<u64>().prop_map(|n| n.to_string()),
    ]
}

/// A unit literal whose value is near or beyond what Swarm stores (`i64` nanoseconds or bytes).
fn huge_quantity(units: &'static [&'static str]) -> impl Strategy<Value = String> {
    (
        prop_oneof![
            Just(1u64),
            Just(1_000_000),
            Just(2_562_047),
            Just(9_000_000_000),
            any::<u64>()
        ],
        proptest::sample::select(units),
    )
        .prop_map(|(n, unit)| format!("{n}{unit}"))
}

/// A project whose numbers are all placeholders (`{interval}`), so that the same text is checked
/// with numbers at the edges and, once, with ordinary ones.
const EXTREME_TEMPLATE: &str = r#"project shop {
  quota {
    replicas = {quota_replicas}
    storage  = {storage}
    memory   = {quota_memory}
  }
  volume data { size = {volume} }
  service web {
    image    = "berth/demo:1"
    replicas = {replicas}
    resources {
      limits { memory = {memory}, cpu = {cpu} }
      reservations { memory = {reserve} }
    }
    health {
      command      = ["/bin/check"]
      interval     = {interval}
      timeout      = {timeout}
      retries      = {retries}
      start_period = {start}
    }
    update {
      parallelism = {parallelism}
      delay       = {delay}
    }
    rollback { monitor = {monitor} }
    restart {
      delay        = {delay}
      max_attempts = {max_attempts}
      window       = {monitor}
    }
    mount {
      source = volume.data
      target = "/data"
    }
  }
  service api {
    image    = "berth/demo:1"
    replicas = {replicas}
    resources {
      limits { memory = {memory} }
      reservations { memory = {reserve} }
    }
    health {
      command  = ["/bin/check"]
      interval = {interval}
      retries  = {retries}
    }
  }
}
"#;

/// The placeholders of [`EXTREME_TEMPLATE`], in the order [`extreme_project`] draws them.
const PLACEHOLDERS: [&str; 15] = [
    "interval",
    "start",
    "timeout",
    "retries",
    "monitor",
    "delay",
    "parallelism",
    "replicas",
    "memory",
    "reserve",
    "cpu",
    "max_attempts",
    "storage",
    "quota_replicas",
    "volume",
];

fn fill(values: &[String]) -> String {
    let mut text = EXTREME_TEMPLATE.to_string();
    for (key, value) in PLACEHOLDERS.iter().zip(values) {
        text = text.replace(&format!("{{{key}}}"), value);
    }
    text.replace("{quota_memory}", &values[12])
}

/// The template filled with numbers drawn from the edges, each placeholder on its own.
fn extreme_project() -> impl Strategy<Value = String> {
    let duration = || huge_quantity(&["h", "m", "s", "ms", "ns"]).boxed();
    let size = || huge_quantity(&["B", "K", "M", "G", "T"]).boxed();
    let number = || huge_number().boxed();
    vec![
        duration(),
        duration(),
        duration(),
        number(),
        duration(),
        duration(),
        number(),
        number(),
        size(),
        size(),
        number(),
        number(),
        size(),
        number(),
        size(),
    ]
    .prop_map(|values| fill(&values))
}

/// With ordinary numbers the template checks cleanly, so the edges above reach the lowering and
/// the rules instead of stopping at a syntax or structure error.
#[test]
fn the_extreme_template_is_valid_with_ordinary_numbers() {
    let ordinary = [
        "10s", "0s", "5s", "3", "10s", "5s", "1", "2", "64M", "32M", "1", "3", "1G", "10", "100M",
    ];
    let text = fill(&ordinary.map(String::from));
    let analysis = analyze(
        "prop",
        vec![Input {
            name: "prop.berth".into(),
            bytes: text.into_bytes(),
        }],
        &Options::default(),
    );
    let errors: Vec<_> = analysis
        .diagnostics
        .iter()
        .filter(|d| d.severity == berth_lang::Severity::Error)
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
    assert!(analysis.config.is_some());
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn extreme_numbers_never_panic(text in extreme_project(), strict in any::<bool>()) {
        check(text.into_bytes(), strict);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        check(bytes, false);
    }

    #[test]
    fn token_soup_never_panics(tokens in proptest::collection::vec(token(), 0..120), strict in any::<bool>()) {
        check(tokens.concat().into_bytes(), strict);
    }

    #[test]
    fn mutated_examples_never_panic(which in 0usize..64, edits in proptest::collection::vec((any::<usize>(), any::<usize>(), any::<u8>()), 1..8)) {
        let examples = examples();
        let text = &examples[which % examples.len()];
        check(mutate(text, &edits), true);
    }
}

/// The reproduction from issue 11: this monitor window overflowed u64 and panicked `validate` in
/// a debug build (wrapping silently in release). It is a diagnostic with the interval's span.
#[test]
fn monitor_window_overflow_is_a_diagnostic() {
    let text = r#"project shop {
  service web {
    image = "berth/demo:1"
    health {
      command  = ["/bin/check"]
      interval = 1000000h
      retries  = 6
    }
  }
}
"#;
    let analysis = analyze(
        "repro",
        vec![Input {
            name: "repro.berth".into(),
            bytes: text.as_bytes().to_vec(),
        }],
        &Options::default(),
    );
    let overflow: Vec<_> = analysis
        .diagnostics
        .iter()
        .filter(|d| d.code == berth_lang::Code::NumberOverflow)
        .collect();
    assert_eq!(overflow.len(), 1, "{:?}", analysis.diagnostics);
    let span = overflow[0].span.expect("a span");
    assert_eq!(
        &text[span.start as usize..span.end as usize],
        "1000000h",
        "the diagnostic points at the interval"
    );
    assert!(
        analysis.config.is_none(),
        "an overflowing configuration does not check"
    );
}

#[test]
fn deep_nesting_is_bounded_in_a_small_stack() {
    let handle = std::thread::Builder::new()
        .stack_size(1024 * 1024)
        .spawn(|| {
            for text in [
                "a = ".to_string() + &"[".repeat(20_000),
                "a { ".repeat(20_000),
                "a = ".to_string() + &"{ b = ".repeat(20_000),
            ] {
                let analysis = analyze(
                    "deep",
                    vec![Input {
                        name: "deep.berth".into(),
                        bytes: text.into_bytes(),
                    }],
                    &Options::default(),
                );
                assert!(analysis
                    .diagnostics
                    .iter()
                    .any(|d| d.code == berth_lang::Code::TooDeep));
            }
        })
        .unwrap();
    handle.join().expect("no stack overflow");
}
