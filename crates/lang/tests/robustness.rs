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

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

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
