//! Snapshot tests of berth's diagnostics.
//!
//! Fixtures live in `tests/fixtures/<phase>/`, one phase per directory:
//!
//! - `syntax/`: lexer and parser errors;
//! - `check/`: type-checker errors and warnings;
//! - `valid/`: configurations that must produce no diagnostic at all, not even a warning.
//!
//! A fixture is a file `NAME.berth` or a directory `NAME/` of several `.berth` files read as one
//! configuration. An optional sidecar `NAME.vars` holds variable values, one `name=value` a line,
//! as if given with `--var`; a line `# strict` runs the check as `plan` does (variables without a
//! default must be given), and `# preview` as `plan` of a preview environment does (`pr` must be
//! given).
//!
//! Every fixture file starts with a comment line saying what it tests. The leading comment lines
//! may hold directives:
//!
//! - `# expect: E0101, W0002*2, E0104`: the codes the fixture must produce. A code alone must
//!   appear at least once, `CODE*N` exactly N times. No other code (error or warning) may appear,
//!   so a fixture cannot silently test the wrong thing. Valid fixtures write `# expect: none`.
//! - `# json`: the JSON rendering is snapshotted too.
//!
//! The human rendering of each invalid fixture is an insta snapshot in `tests/fixtures/snapshots/`
//! named `<phase>__<name>`. The fixture directories are listed, so no fixture can be forgotten, and
//! a snapshot without its fixture fails the suite. The fixtures together expect every code of
//! [`Code::ALL`], and the valid ones use every block and attribute of the schema. A last set of
//! tests covers what files cannot: no input at all, invalid UTF-8, a 50 MB file and input nested
//! 10,000 levels deep, parsed on a 256 KiB stack to show that recursion is bounded.

use berth_lang::render::{self, Style};
use berth_lang::{analyze, Analysis, Code, Input, Options, VarInput};
use std::collections::{BTreeMap, BTreeSet};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

#[path = "common/codes.rs"]
mod codes;
use codes::*;

const PHASES: [&str; 3] = ["syntax", "check", "valid"];
const STYLE: Style = Style {
    color: false,
    width: 100,
};

fn fixtures_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn snapshot_dir() -> PathBuf {
    fixtures_root().join("snapshots")
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Count {
    AtLeastOne,
    Exactly(usize),
}

#[derive(Debug)]
struct Fixture {
    phase: &'static str,
    name: String,
    /// The fixture file or directory.
    path: PathBuf,
    /// `(display name, bytes)`, in name order.
    files: Vec<(String, Vec<u8>)>,
    description: String,
    expect: BTreeMap<Code, Count>,
    json: bool,
    options: Options,
}

impl Fixture {
    fn id(&self) -> String {
        format!("{}/{}", self.phase, self.name)
    }

    fn snapshot_name(&self) -> String {
        format!("{}__{}", self.phase, self.name)
    }

    fn analyze(&self) -> Analysis {
        let inputs = self
            .files
            .iter()
            .map(|(name, bytes)| Input {
                name: name.clone(),
                bytes: bytes.clone(),
            })
            .collect();
        analyze(&format!("fixtures/{}", self.id()), inputs, &self.options)
    }
}

/// The leading `#` lines of a fixture file: its description and directives.
struct Header {
    description: String,
    expect: Option<BTreeMap<Code, Count>>,
    json: bool,
}

fn parse_header(id: &str, text: &str) -> Result<Header, String> {
    let lines: Vec<&str> = text
        .lines()
        .take_while(|l| l.starts_with('#'))
        .map(|l| l.trim_start_matches('#').trim())
        .collect();
    let Some(first) = lines.first() else {
        return Err(format!(
            "{id}: a fixture file must start with a `#` comment saying what it tests"
        ));
    };
    if first.is_empty() || first.starts_with("expect:") || *first == "json" {
        return Err(format!(
            "{id}: the first line must describe what the fixture tests"
        ));
    }
    let mut header = Header {
        description: first.to_string(),
        expect: None,
        json: false,
    };
    for line in &lines[1..] {
        if *line == "json" {
            header.json = true;
        } else if let Some(list) = line.strip_prefix("expect:") {
            let expect = header.expect.get_or_insert_with(BTreeMap::new);
            for item in list.split([',', ' ']).filter(|s| !s.is_empty()) {
                if item == "none" {
                    continue;
                }
                let (code, count) = match item.split_once('*') {
                    Some((c, n)) => (
                        c,
                        Count::Exactly(
                            n.parse()
                                .map_err(|_| format!("{id}: bad count in `{item}`"))?,
                        ),
                    ),
                    None => (item, Count::AtLeastOne),
                };
                let code = Code::parse(code)
                    .ok_or_else(|| format!("{id}: `{code}` is not a diagnostic code"))?;
                if expect.insert(code, count).is_some() {
                    return Err(format!("{id}: {code} is expected twice"));
                }
            }
        }
    }
    Ok(header)
}

fn parse_vars(id: &str, text: &str) -> Result<Options, String> {
    let mut options = Options::default();
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        if line == "# strict" {
            options.strict = true;
        } else if line == "# preview" {
            options.preview = true;
        } else if line.starts_with('#') {
            continue;
        } else {
            let (name, value) = line
                .split_once('=')
                .ok_or_else(|| format!("{id}.vars: `{line}` is not name=value"))?;
            options.vars.push(VarInput {
                name: name.trim().to_string(),
                value: value.to_string(),
                origin: "--var".into(),
            });
        }
    }
    Ok(options)
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .and_then(|n| n.to_str())
        .expect("a UTF-8 file name")
        .to_string()
}

fn sorted_entries(dir: &Path) -> Vec<PathBuf> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .map(|e| e.expect("a readable directory entry").path())
        .collect();
    entries.sort();
    entries
}

/// Reads every fixture of a phase. Errors are problems with the fixture directory itself: a file
/// that is neither a fixture nor a sidecar, a fixture without a header, a sidecar without fixture.
fn load_phase(phase: &'static str) -> Result<Vec<Fixture>, Vec<String>> {
    let dir = fixtures_root().join(phase);
    let mut errors = Vec::new();
    let mut fixtures = Vec::new();
    let mut sidecars = BTreeMap::new();
    for path in sorted_entries(&dir) {
        let entry = file_name(&path);
        if path.is_dir() {
            let mut files = Vec::new();
            for inner in sorted_entries(&path) {
                let inner_name = file_name(&inner);
                if inner.is_file() && inner_name.ends_with(".berth") {
                    files.push((
                        format!("{entry}/{inner_name}"),
                        std::fs::read(&inner).expect("a readable fixture"),
                    ));
                } else {
                    errors.push(format!("{phase}/{entry}/{inner_name}: only .berth files belong in a fixture directory"));
                }
            }
            if files.len() < 2 {
                errors.push(format!("{phase}/{entry}/: a directory fixture has at least two files (else make it a single file)"));
            }
            fixtures.push((entry, path, files));
        } else if let Some(name) = entry.strip_suffix(".berth") {
            let bytes = std::fs::read(&path).expect("a readable fixture");
            fixtures.push((name.to_string(), path, vec![(entry.clone(), bytes)]));
        } else if let Some(name) = entry.strip_suffix(".vars") {
            sidecars.insert(
                name.to_string(),
                std::fs::read_to_string(&path).expect("a readable var file"),
            );
        } else {
            errors.push(format!(
                "{phase}/{entry}: not a fixture (`NAME.berth`, `NAME/`) or a sidecar (`NAME.vars`)"
            ));
        }
    }
    let names: BTreeSet<&str> = fixtures.iter().map(|(n, _, _)| n.as_str()).collect();
    for sidecar in sidecars.keys() {
        if !names.contains(sidecar.as_str()) {
            errors.push(format!("{phase}/{sidecar}.vars: no fixture of that name"));
        }
    }
    let mut out = Vec::new();
    for (name, path, files) in fixtures {
        let id = format!("{phase}/{name}");
        let mut description = None;
        let mut expect: Option<BTreeMap<Code, Count>> = None;
        let mut json = false;
        for (file, bytes) in &files {
            let text = String::from_utf8_lossy(bytes);
            match parse_header(&format!("{phase}/{file}"), &text) {
                Ok(h) => {
                    description.get_or_insert(h.description);
                    json |= h.json;
                    if let Some(e) = h.expect {
                        let all = expect.get_or_insert_with(BTreeMap::new);
                        for (code, count) in e {
                            if all.insert(code, count).is_some() {
                                errors.push(format!("{id}: {code} is expected in two files"));
                            }
                        }
                    }
                }
                Err(e) => errors.push(e),
            }
        }
        let Some(expect) = expect else {
            errors.push(format!(
                "{id}: no `# expect:` line (valid fixtures write `# expect: none`)"
            ));
            continue;
        };
        if phase == "valid" && !expect.is_empty() {
            errors.push(format!("{id}: a valid fixture expects no diagnostic"));
        }
        if phase != "valid" && expect.is_empty() {
            errors.push(format!(
                "{id}: an invalid fixture must expect at least one code"
            ));
        }
        if phase == "valid" && json {
            errors.push(format!("{id}: a valid fixture has nothing to render"));
        }
        let options = match sidecars.get(&name).map(|t| parse_vars(&id, t)).transpose() {
            Ok(v) => v.unwrap_or_default(),
            Err(e) => {
                errors.push(e);
                continue;
            }
        };
        out.push(Fixture {
            phase,
            name,
            path,
            files,
            description: description.unwrap_or_default(),
            expect,
            json,
            options,
        });
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

fn load(phase: &'static str) -> Vec<Fixture> {
    load_phase(phase).unwrap_or_else(|errors| panic!("broken fixtures:\n  {}", errors.join("\n  ")))
}

fn all_fixtures() -> Vec<Fixture> {
    PHASES.into_iter().flat_map(load).collect()
}

/// Every span of every diagnostic lies within its file, on character boundaries.
fn check_spans(id: &str, analysis: &Analysis) -> Result<(), String> {
    for d in &analysis.diagnostics {
        let Some(primary) = d.span else {
            return Err(format!("{id}: `{}` has no span", d.message));
        };
        let spans = std::iter::once((primary, d.message.as_str()))
            .chain(d.secondary.iter().map(|l| (l.span, l.message.as_str())));
        for (span, what) in spans {
            if span.file.0 as usize >= analysis.sources.len() {
                return Err(format!(
                    "{id}: {} `{what}` points into an unknown file",
                    d.code
                ));
            }
            let text = &analysis.sources.get(span.file).text;
            let (start, end) = (span.start as usize, span.end as usize);
            if start > end || end > text.len() {
                return Err(format!(
                    "{id}: {} `{what}` has span {start}..{end} outside its file of {} bytes",
                    d.code,
                    text.len()
                ));
            }
            if !text.is_char_boundary(start) || !text.is_char_boundary(end) {
                return Err(format!(
                    "{id}: {} `{what}` has span {start}..{end}, which splits a character",
                    d.code
                ));
            }
        }
    }
    Ok(())
}

fn codes(analysis: &Analysis) -> BTreeMap<Code, usize> {
    let mut out = BTreeMap::new();
    for d in &analysis.diagnostics {
        *out.entry(d.code).or_insert(0) += 1;
    }
    out
}

/// The produced codes match the expected ones exactly (counts where given).
fn check_codes(
    id: &str,
    expect: &BTreeMap<Code, Count>,
    analysis: &Analysis,
) -> Result<(), String> {
    let got = codes(analysis);
    let mut problems = Vec::new();
    for (code, count) in expect {
        match (count, got.get(code)) {
            (_, None) => problems.push(format!("expected {code}, which did not appear")),
            (Count::Exactly(n), Some(m)) if n != m => {
                problems.push(format!("expected {code} {n} times, got it {m} times"))
            }
            _ => {}
        }
    }
    for (code, n) in &got {
        if !expect.contains_key(code) {
            problems.push(format!("unexpected {code} ({n}x)"));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{id}: {}\n{}",
            problems.join("; "),
            render::human(&analysis.diagnostics, &analysis.sources, STYLE)
        ))
    }
}

fn snapshot_settings(description: &str, input: &Path) -> insta::Settings {
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(snapshot_dir());
    settings.set_prepend_module_to_snapshot(false);
    settings.set_omit_expression(true);
    settings.set_description(description);
    settings.set_input_file(input);
    settings
}

/// Runs one fixture: codes, spans, determinism and snapshots.
fn run(fixture: &Fixture) -> Result<(), String> {
    let id = fixture.id();
    let analysis = fixture.analyze();
    check_spans(&id, &analysis)?;
    check_codes(&id, &fixture.expect, &analysis)?;
    let human = render::human(&analysis.diagnostics, &analysis.sources, STYLE);
    let again = fixture.analyze();
    if render::human(&again.diagnostics, &again.sources, STYLE) != human {
        return Err(format!("{id}: two runs rendered differently"));
    }
    if fixture.phase == "valid" {
        if !analysis.diagnostics.is_empty() || analysis.config.is_none() {
            return Err(format!(
                "{id}: a valid fixture produced diagnostics:\n{human}"
            ));
        }
        return Ok(());
    }
    if analysis.config.is_some() && analysis.has_errors() {
        return Err(format!(
            "{id}: errors were reported but a model was produced"
        ));
    }
    let settings = snapshot_settings(&fixture.description, &fixture.path);
    let name = fixture.snapshot_name();
    catch_unwind(AssertUnwindSafe(|| {
        settings.bind(|| {
            insta::assert_snapshot!(name.clone(), human);
            if fixture.json {
                let json = serde_json::to_string_pretty(&render::json(
                    &analysis.diagnostics,
                    &analysis.sources,
                ))
                .expect("JSON renders");
                insta::assert_snapshot!(format!("{name}__json"), json);
            }
        })
    }))
    .map_err(|_| format!("{id}: snapshot mismatch (see above)"))
}

fn run_phase(phase: &'static str) {
    let fixtures = load(phase);
    assert!(!fixtures.is_empty(), "no fixtures in {phase}/");
    let failures: Vec<String> = fixtures.iter().filter_map(|f| run(f).err()).collect();
    assert!(
        failures.is_empty(),
        "{} of {} {phase} fixtures failed:\n\n{}",
        failures.len(),
        fixtures.len(),
        failures.join("\n\n")
    );
}

#[test]
fn syntax_fixtures() {
    run_phase("syntax");
}

#[test]
fn check_fixtures() {
    run_phase("check");
}

#[test]
fn valid_fixtures_produce_no_diagnostics() {
    run_phase("valid");
}

#[test]
fn there_are_at_least_sixty_invalid_fixtures() {
    let invalid = load("syntax").len() + load("check").len();
    assert!(invalid >= 60, "only {invalid} invalid fixtures");
}

/// Only fixtures and sidecars live in the fixture directories, every invalid fixture has an
/// accepted snapshot, and every snapshot belongs to a fixture or a special test.
#[test]
fn no_fixture_is_forgotten_and_no_snapshot_is_orphaned() {
    let mut problems = Vec::new();
    for path in sorted_entries(&fixtures_root()) {
        let name = file_name(&path);
        // `boundary/` is the adversarial corpus, which `tests/boundary.rs` checks as a whole.
        if !(path.is_dir()
            && (PHASES.contains(&name.as_str()) || name == "snapshots" || name == "boundary"))
        {
            problems.push(format!(
                "fixtures/{name}: unexpected; fixtures live in syntax/, check/, valid/ or boundary/"
            ));
        }
    }
    let mut fixtures = Vec::new();
    for phase in PHASES {
        match load_phase(phase) {
            Ok(f) => fixtures.extend(f),
            Err(e) => problems.extend(e),
        }
    }
    let mut wanted: BTreeSet<String> = SPECIAL_SNAPSHOTS
        .iter()
        .map(|s| format!("special__{s}"))
        .collect();
    for f in fixtures.iter().filter(|f| f.phase != "valid") {
        wanted.insert(f.snapshot_name());
        if f.json {
            wanted.insert(format!("{}__json", f.snapshot_name()));
        }
    }
    let mut found = BTreeSet::new();
    for path in sorted_entries(&snapshot_dir()) {
        let name = file_name(&path);
        match name.strip_suffix(".snap") {
            Some(snap) if wanted.contains(snap) => {
                found.insert(snap.to_string());
            }
            Some(snap) => problems.push(format!(
                "snapshots/{name}: orphaned, no fixture or test `{snap}`"
            )),
            None => problems.push(format!(
                "snapshots/{name}: not an accepted snapshot (review pending snapshots)"
            )),
        }
    }
    // While snapshots are being (re)written, the fixture tests running alongside create them.
    if std::env::var("INSTA_UPDATE").as_deref() != Ok("always") {
        for snap in wanted.difference(&found) {
            problems.push(format!("snapshots/{snap}.snap is missing"));
        }
    }
    assert!(
        problems.is_empty(),
        "fixture directory problems:\n  {}",
        problems.join("\n  ")
    );
}

/// Every registered code is produced by some fixture or special test.
#[test]
fn every_code_is_exercised() {
    let mut covered: BTreeSet<Code> = SPECIAL_CODES
        .into_iter()
        .chain(PRODUCED_BY_THE_BINARY)
        .collect();
    covered.extend(PLANNER_ONLY_CODES);
    covered.extend(PLANNING_CODES);
    covered.extend(APPLY_ONLY_CODES);
    covered.extend(IMPORT_EXPORT_CODES);
    for f in all_fixtures() {
        covered.extend(f.expect.keys().copied());
        for code in RETIRED {
            assert!(
                !f.expect.contains_key(&code),
                "{}: {code} is retired; berth no longer produces it",
                f.id()
            );
        }
        for code in PLANNER_ONLY_CODES {
            assert!(
                !f.expect.contains_key(&code),
                "{}: {code} is a planner-only code; no configuration alone produces it",
                f.id()
            );
        }
    }
    covered.extend(boundary_codes());
    covered.extend(FROM_THE_FILE_SYSTEM);
    covered.extend(RETIRED);
    let all: BTreeSet<Code> = Code::ALL.iter().copied().collect();
    let missing: Vec<&str> = all.difference(&covered).map(|c| c.as_str()).collect();
    assert!(
        missing.is_empty(),
        "no fixture exercises {}",
        missing.join(", ")
    );
}

/// The codes the adversarial corpus of `tests/boundary.rs` expects (its cases' `# expect:`).
fn boundary_codes() -> BTreeSet<Code> {
    let dir = fixtures_root().join("boundary/cases");
    let mut out = BTreeSet::new();
    for entry in std::fs::read_dir(dir).expect("the boundary corpus") {
        let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        for line in text.lines().filter_map(|l| l.strip_prefix("# expect:")) {
            out.extend(line.split(',').filter_map(Code::parse));
        }
    }
    out
}

#[test]
fn spans_lie_within_their_files() {
    let mut problems = Vec::new();
    for f in all_fixtures() {
        if let Err(e) = check_spans(&f.id(), &f.analyze()) {
            problems.push(e);
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

// Special inputs that fixture files cannot express.

const SPECIAL_SNAPSHOTS: [&str; 8] = [
    "empty_input",
    "invalid_utf8",
    "file_too_large",
    "deep_lists",
    "deep_blocks",
    "deep_maps",
    "deep_unclosed",
    "deepest_allowed",
];

fn special(
    name: &str,
    description: &str,
    inputs: Vec<Input>,
    expect: &[(Code, Count)],
) -> Analysis {
    let analysis = analyze("fixtures/special", inputs, &Options::default());
    let expect: BTreeMap<Code, Count> = expect.iter().copied().collect();
    if let Err(e) = check_spans(name, &analysis).and_then(|_| check_codes(name, &expect, &analysis))
    {
        panic!("{e}");
    }
    assert!(analysis.config.is_none(), "{name}: errors but a model");
    let human = render::human(&analysis.diagnostics, &analysis.sources, STYLE);
    let settings = snapshot_settings(description, Path::new(file!()));
    settings.bind(|| insta::assert_snapshot!(format!("special__{name}"), human));
    analysis
}

#[test]
fn no_input_files_is_e0001() {
    special(
        "empty_input",
        "a directory without .berth files",
        Vec::new(),
        &[(Code::EmptyConfig, Count::Exactly(1))],
    );
}

#[test]
fn invalid_utf8_points_at_the_first_bad_byte() {
    let mut bytes = b"# Latin-1, not UTF-8\nproject caf".to_vec();
    let at = bytes.len();
    bytes.extend_from_slice(b"\xe9 {\n  service web { image = \"berth/demo:1\" }\n}\n\xff\n");
    let analysis = special(
        "invalid_utf8",
        "a Latin-1 file: the span is the first byte that is not UTF-8",
        vec![Input {
            name: "latin1.berth".into(),
            bytes,
        }],
        &[(Code::InvalidUtf8, Count::Exactly(1))],
    );
    let d = &analysis.diagnostics[0];
    assert_eq!(
        d.span.unwrap().start as usize,
        at,
        "the span starts at the first invalid byte"
    );
    // The file is shown with U+FFFD in place of invalid bytes; the span covers exactly that.
    assert_eq!(analysis.sources.snippet(d.span.unwrap()), "\u{fffd}");
    assert_eq!(
        analysis
            .sources
            .get(d.span.unwrap().file)
            .line_col(d.span.unwrap().start),
        (2, 12)
    );
}

#[test]
fn a_50_mb_file_is_e0003_and_quick() {
    let line =
        b"# this line is repeated until the file is far too large to be a real configuration\n";
    let mut bytes = Vec::with_capacity(50 << 20);
    while bytes.len() < 50 << 20 {
        bytes.extend_from_slice(line);
    }
    let started = std::time::Instant::now();
    let small = Input {
        name: "small.berth".into(),
        bytes: b"project shop {\n  service web {\n    image = \"berth/demo:1\"\n  }\n}\n".to_vec(),
    };
    special(
        "file_too_large",
        "a 50 MB file is refused before it is decoded or lexed",
        vec![
            Input {
                name: "huge.berth".into(),
                bytes,
            },
            small,
        ],
        &[(Code::FileTooLarge, Count::Exactly(1))],
    );
    let elapsed = started.elapsed();
    assert!(
        elapsed < std::time::Duration::from_secs(5),
        "took {elapsed:?}"
    );
}

/// Runs `f` on a thread with a 256 KiB stack: deep input must not need a deep stack.
fn with_small_stack(f: impl FnOnce() + Send + 'static) {
    std::thread::Builder::new()
        .stack_size(256 << 10)
        .spawn(f)
        .expect("a thread starts")
        .join()
        .expect("no stack overflow or panic");
}

const DEPTH: usize = 10_000;

#[test]
fn lists_nested_10000_deep_are_e0010() {
    with_small_stack(|| {
        let text = format!("# lists nested {DEPTH} deep\nproject shop {{\n  service web {{\n    image = \"berth/demo:1\"\n    command = {}{}\n  }}\n}}\n", "[\n".repeat(DEPTH), "]".repeat(DEPTH));
        special(
            "deep_lists",
            "a list nested 10,000 levels deep",
            vec![Input {
                name: "deep.berth".into(),
                bytes: text.into_bytes(),
            }],
            &[(Code::TooDeep, Count::Exactly(1))],
        );
    });
}

#[test]
fn blocks_nested_10000_deep_are_e0010() {
    with_small_stack(|| {
        let text = format!(
            "# blocks nested {DEPTH} deep\n{}{}",
            "a {\n".repeat(DEPTH),
            "}\n".repeat(DEPTH)
        );
        special(
            "deep_blocks",
            "blocks nested 10,000 levels deep",
            vec![Input {
                name: "deep.berth".into(),
                bytes: text.into_bytes(),
            }],
            &[(Code::TooDeep, Count::Exactly(1))],
        );
    });
}

#[test]
fn maps_nested_10000_deep_are_e0010() {
    with_small_stack(|| {
        // Each level of a map literal goes through the most parser functions.
        let text = format!(
            "# maps nested {DEPTH} deep\nx = {}1{}",
            "{ a =\n".repeat(DEPTH),
            "}\n".repeat(DEPTH)
        );
        special(
            "deep_maps",
            "map literals nested 10,000 levels deep",
            vec![Input {
                name: "deep.berth".into(),
                bytes: text.into_bytes(),
            }],
            &[(Code::TooDeep, Count::Exactly(1))],
        );
    });
}

#[test]
fn unclosed_nesting_10000_deep_is_e0010() {
    with_small_stack(|| {
        let text = format!("# never closed\nx = {}", "[\n{ a =\n".repeat(DEPTH / 2));
        special(
            "deep_unclosed",
            "lists and maps opened 10,000 times and never closed: one error, not one per open group",
            vec![Input { name: "deep.berth".into(), bytes: text.into_bytes() }],
            &[(Code::TooDeep, Count::Exactly(1))],
        );
    });
}

#[test]
fn nesting_at_the_limit_is_parsed_and_checked_with_a_small_stack() {
    with_small_stack(|| {
        // `project` and `service` are two levels; the lists fill the other 62.
        let depth = berth_lang::parser::MAX_DEPTH - 2;
        let text = format!(
            "# lists nested as deep as allowed\nproject shop {{\n  service web {{\n    image = \"berth/demo:1\"\n    resources {{ limits {{ memory = 64M }} }}\n    command = {}\"x\"{}\n  }}\n}}\n",
            "[".repeat(depth),
            "]".repeat(depth)
        );
        special(
            "deepest_allowed",
            "lists nested as deep as allowed reach the checker, which reports the wrong type",
            vec![Input {
                name: "deep.berth".into(),
                bytes: text.into_bytes(),
            }],
            &[(Code::WrongType, Count::Exactly(1))],
        );
    });
}

/// The valid fixtures together use every block and every attribute of the language, so that each
/// is known to be accepted somewhere.
#[test]
fn valid_fixtures_use_every_block_and_attribute() {
    use berth_lang::check::schema::{self, BLOCKS};
    use berth_lang::syntax::{Body, ItemKind};
    fn walk(body: &Body, kind: &str, used: &mut BTreeSet<(String, String)>) {
        for item in &body.items {
            let (name, inner) = match &item.kind {
                ItemKind::Attribute(a) => (a.key.text.as_str(), None),
                ItemKind::Block(b) => (b.kind.text.as_str(), Some(&b.body)),
            };
            used.insert((kind.to_string(), name.to_string()));
            let is_block = schema::block(name).is_some()
                && schema::block(kind).is_none_or(|s| s.blocks.contains(&name));
            if let (Some(inner), true) = (inner, is_block || kind.is_empty()) {
                walk(inner, name, used);
            }
        }
    }
    let mut used = BTreeSet::new();
    for f in load("valid") {
        for file in &f.analyze().files {
            walk(&file.body, "", &mut used);
        }
    }
    let mut missing = Vec::new();
    for b in BLOCKS {
        let parents: Vec<&str> = if schema::ROOT_BLOCKS.contains(&b.kind) {
            vec![""]
        } else {
            BLOCKS
                .iter()
                .filter(|p| p.blocks.contains(&b.kind))
                .map(|p| p.kind)
                .collect()
        };
        if !parents
            .iter()
            .any(|p| used.contains(&(p.to_string(), b.kind.to_string())))
        {
            missing.push(format!("block `{}`", b.kind));
        }
        for a in b.attrs {
            if !used.contains(&(b.kind.to_string(), a.name.to_string())) {
                missing.push(format!("`{}.{}`", b.kind, a.name));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "no valid fixture uses {}",
        missing.join(", ")
    );
}
