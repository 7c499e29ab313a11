//! The planner's modules form layers without an import cycle (`docs/planner.md`, "Layers").
//! This test reads that table and the crate's sources, and fails when a module is in no layer,
//! imports a module of a layer above its own, or takes part in a cycle. The table is the one list:
//! moving a module to another layer is a change of the documentation that this test then enforces.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The layers table of `docs/planner.md`: module name → layer number.
fn documented_layers() -> BTreeMap<String, u32> {
    let text = std::fs::read_to_string(root().join("../../docs/planner.md")).expect("planner.md");
    let section = text
        .split("\n### Layers\n")
        .nth(1)
        .expect("docs/planner.md has a `### Layers` section");
    let section = section.split("\n### ").next().unwrap_or(section);
    let mut layers = BTreeMap::new();
    for line in section.lines() {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        // `| 0 | `docker`, `swarm` | ... |` splits into ["", "0", "`docker`, `swarm`", ..., ""].
        let Some(Ok(layer)) = cells.get(1).map(|c| c.parse::<u32>()) else {
            continue;
        };
        for module in cells[2].split(',') {
            let module = module.trim().trim_matches('`');
            assert!(!module.is_empty(), "an empty module name in layer {layer}");
            assert!(
                layers.insert(module.to_string(), layer).is_none(),
                "`{module}` is listed in two layers"
            );
        }
    }
    assert!(
        layers.len() > 5,
        "the layers table was not found: {layers:?}"
    );
    layers
}

/// Every source file of the crate with the top-level module it belongs to (`render/human.rs`
/// belongs to `render`); `lib.rs` is the crate root, above every layer, and is left out.
fn sources() -> Vec<(String, PathBuf)> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    let src = root().join("src");
    let mut files = Vec::new();
    walk(&src, &mut files);
    files.sort();
    files
        .into_iter()
        .filter(|f| f != &src.join("lib.rs"))
        .map(|f| {
            let first = f.strip_prefix(&src).unwrap().components().next().unwrap();
            let first = first.as_os_str().to_str().unwrap();
            (first.trim_end_matches(".rs").to_string(), f)
        })
        .collect()
}

/// The crate's top-level modules a source text refers to: `crate::compile::Desired`, and each
/// item of `use crate::{edge, plan::Plan}`. Comment lines (doc links among them) are skipped.
fn references(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for line in text.lines().filter(|l| !l.trim_start().starts_with("//")) {
        let mut rest = line;
        while let Some(at) = rest.find("crate::") {
            rest = &rest[at + "crate::".len()..];
            if let Some(group) = rest.strip_prefix('{') {
                let inner = group.split('}').next().unwrap_or(group);
                for item in inner.split(',') {
                    let name = item.trim().split("::").next().unwrap_or("").trim();
                    if !name.is_empty() {
                        out.insert(name.to_string());
                    }
                }
            } else {
                let name: String = rest
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                if !name.is_empty() {
                    out.insert(name);
                }
            }
        }
    }
    out
}

/// Module → the other top-level modules it refers to (the crate's root items, which `lib.rs`
/// re-exports, are named by their modules in the sources, so every reference is a module).
fn imports() -> BTreeMap<String, BTreeSet<String>> {
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (module, file) in sources() {
        let text = std::fs::read_to_string(&file).unwrap();
        let refs = graph.entry(module.clone()).or_default();
        refs.extend(references(&text).into_iter().filter(|r| *r != module));
    }
    graph
}

#[test]
fn every_module_is_in_one_documented_layer() {
    let layers = documented_layers();
    let modules: BTreeSet<String> = sources().into_iter().map(|(m, _)| m).collect();
    let documented: BTreeSet<String> = layers.keys().cloned().collect();
    assert_eq!(
        modules, documented,
        "the modules of crates/planner/src and the layers table of docs/planner.md differ"
    );
}

#[test]
fn no_module_imports_a_layer_above_its_own() {
    let layers = documented_layers();
    let mut violations = Vec::new();
    for (module, refs) in imports() {
        let Some(&own) = layers.get(&module) else {
            continue;
        };
        for r in refs {
            match layers.get(&r) {
                Some(&layer) if layer > own => violations.push(format!(
                    "`{module}` (layer {own}) imports `{r}` (layer {layer})"
                )),
                Some(_) => {}
                None => violations.push(format!("`{module}` imports `{r}`, which is no module")),
            }
        }
    }
    assert!(violations.is_empty(), "{}", violations.join("\n"));
}

#[test]
fn no_import_cycle() {
    let graph = imports();
    // Depth-first search with colours; a grey module reached again closes a cycle.
    fn visit<'a>(
        m: &'a str,
        graph: &'a BTreeMap<String, BTreeSet<String>>,
        state: &mut BTreeMap<&'a str, bool>,
        path: &mut Vec<&'a str>,
    ) -> Option<Vec<String>> {
        match state.get(m) {
            Some(true) => return None,
            Some(false) => {
                let from = path.iter().position(|p| *p == m).unwrap();
                let mut cycle: Vec<String> = path[from..].iter().map(|s| s.to_string()).collect();
                cycle.push(m.to_string());
                return Some(cycle);
            }
            None => {}
        }
        state.insert(m, false);
        path.push(m);
        for next in graph.get(m).into_iter().flatten() {
            if let Some(cycle) = visit(next, graph, state, path) {
                return Some(cycle);
            }
        }
        path.pop();
        state.insert(m, true);
        None
    }
    let mut state = BTreeMap::new();
    for m in graph.keys() {
        if let Some(cycle) = visit(m, &graph, &mut state, &mut Vec::new()) {
            panic!("import cycle: {}", cycle.join(" → "));
        }
    }
}

#[test]
fn the_reader_finds_imports_in_every_form() {
    // The checks above are only as good as this reader: it must see each form the sources use.
    let text = "use crate::docker::*;\nuse crate::{edge, plan::Plan};\n    let x = crate::units::sha256_hex(b);\n// [`crate::diff`] in a comment\n";
    let refs = references(text);
    let expected: BTreeSet<String> = ["docker", "edge", "plan", "units"]
        .into_iter()
        .map(String::from)
        .collect();
    assert_eq!(refs, expected);
    // And the real sources have imports to check: the compiler imports the bottom layer.
    let graph = imports();
    assert!(graph["compile"].contains("swarm"), "{graph:?}");
    assert!(graph["diff"].contains("plan"), "{graph:?}");
}
