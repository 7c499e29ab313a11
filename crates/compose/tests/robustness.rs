//! No input panics the importer: arbitrary text, and the corpus's real files mutated (lines cut,
//! repeated and shuffled, characters inserted). Each import ends with a project or with coded
//! errors.

use berth_compose::{import, Fs, ImportOptions};
use proptest::prelude::*;
use std::path::{Path, PathBuf};

struct One(String);

impl Fs for One {
    fn read(&self, path: &Path) -> Option<String> {
        (path.file_name()? == "compose.yaml").then(|| self.0.clone())
    }
    fn is_file(&self, path: &Path) -> bool {
        path.file_name().is_some_and(|n| n != "compose.yaml")
    }
}

fn corpus_texts() -> Vec<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus");
    let mut out = Vec::new();
    for case in std::fs::read_dir(root).unwrap().flatten() {
        if !case.path().is_dir() {
            continue;
        }
        for f in std::fs::read_dir(case.path()).unwrap().flatten() {
            let p = f.path();
            if p.extension().is_some_and(|e| e == "yml" || e == "yaml") {
                out.push(std::fs::read_to_string(p).unwrap());
            }
        }
    }
    out.sort();
    out
}

fn check(text: String) -> Result<(), TestCaseError> {
    let imported = import(
        &[PathBuf::from("/c/compose.yaml")],
        &One(text),
        &ImportOptions {
            project: Some("p".into()),
            domain: None,
        },
    );
    let errors = imported.diagnostics.iter().any(|d| d.is_error());
    prop_assert!(
        imported.text.is_some() != errors,
        "a project and errors, or neither"
    );
    Ok(())
}

#[derive(Debug, Clone)]
enum Edit {
    Cut(usize),
    Repeat(usize),
    Swap(usize, usize),
    Insert(usize, String),
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        any::<usize>().prop_map(Edit::Cut),
        any::<usize>().prop_map(Edit::Repeat),
        (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Edit::Swap(a, b)),
        (any::<usize>(), "[-:{}\\[\\]&*<$ \"'a-z0-9\n]{1,6}").prop_map(|(a, s)| Edit::Insert(a, s)),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_text_never_panics(text in "[-:{}\\[\\]&*<$ \"'a-z0-9_.\n]{0,200}") {
        check(text)?;
    }

    #[test]
    fn mutated_real_files_never_panic(pick in any::<prop::sample::Index>(), edits in prop::collection::vec(edit(), 1..6)) {
        let texts = corpus_texts();
        let text = pick.get(&texts);
        let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
        for e in edits {
            if lines.is_empty() {
                break;
            }
            let n = lines.len();
            match e {
                Edit::Cut(i) => {
                    lines.remove(i % n);
                }
                Edit::Repeat(i) => {
                    let l = lines[i % n].clone();
                    lines.insert(i % n, l);
                }
                Edit::Swap(a, b) => lines.swap(a % n, b % n),
                Edit::Insert(i, s) => {
                    let line = &mut lines[i % n];
                    let at = (i / n.max(1)) % (line.len() + 1);
                    if line.is_char_boundary(at) {
                        line.insert_str(at, &s);
                    }
                }
            }
        }
        check(lines.join("\n"))?;
    }
}
