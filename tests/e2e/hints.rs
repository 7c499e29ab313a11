//! Every command hint berth prints is tested by following it (issue 14). A hint is a command or
//! flag that a message of berth's code tells the user to run or pass: a backticked `berth …`,
//! `docker …` or `--flag …` inside a string literal, or an unquoted "pass --flag" / "run --flag".
//! The scan below finds them in the code of the binary and of the language, planner and apply
//! crates (not in tests, comments, the long explanations of `codes.rs` or the schema's
//! reference text), and [`REGISTRY`] must name, for each, the end-to-end test that produces the
//! situation and runs the hint; a new hint fails [`every_hint_berth_prints_is_registered`]
//! until it has an entry. Adding one is one line.
//!
//! A few entries are not followed (`NOT_RUN`), each with its reason: a flag named in a message
//! that is not a suggestion, or a hint that cannot be followed on this shared engine. They are
//! listed, not hidden, so a reviewer sees them.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Not followed by a test: the reason.
const NOT_RUN: &str = "not run";

/// Hint (placeholders written `{}`) -> the test (`module::name`) that produces its situation
/// and follows it, or [`NOT_RUN`] with the reason after `: `.
const REGISTRY: &[(&str, &str)] = &[
    ("--actor NAME", "cli::access_roles_refuse_an_apply_without_an_actor_or_by_a_viewer_and_admit_an_owner"),
    ("--allow-data-loss", "truth::a_destroy_plan_says_why_it_deletes"),
    ("--auto-approve", "truth::a_destroy_plan_says_why_it_deletes"),
    ("--dir DIR", "everyday::a_saved_plan_applies_from_another_directory_without_asking_again"),
    ("--lock-timeout 5m", "truth::the_lock_hints_work_when_followed"),
    ("--no-verify", "edge::a_route_that_does_not_answer_fails_the_apply_and_its_hints_work_when_followed"),
    ("--out", "import::import_refuses_what_the_grant_refuses_and_export_what_is_not_deployed"),
    ("--pr", "not run: named in usage errors (`--pr` names a preview), not a suggestion"),
    ("--pr 123", "truth::selections_that_match_nothing_fail_and_a_preview_has_one_name"),
    ("--project", "import::import_refuses_what_the_grant_refuses_and_export_what_is_not_deployed"),
    ("--refresh=false", "not run: names how the plan was made, in the plan itself"),
    ("--state-dir", "truth::selections_that_match_nothing_fail_and_a_preview_has_one_name"),
    ("--state-dir {}", "state::local_state_is_moved_to_the_cluster_with_push"),
    ("--var NAME=VALUE", "truth::hints_that_need_no_engine_work_when_followed"),
    ("--var pr=123", "truth::hints_that_need_no_engine_work_when_followed"),
    ("--var {}", "not run: repeats the malformed argument the user gave"),
    ("--var {}=...", "truth::hints_that_need_no_engine_work_when_followed"),
    ("berth access codeowners", "cli::codeowners_of_the_tenants_example_and_its_check"),
    ("berth access codeowners > {}", "truth::hints_that_need_no_engine_work_when_followed"),
    ("berth apply", "edge::a_tenants_apply_leaves_the_platforms_serial_and_a_platform_change_moves_only_its_own"),
    ("berth apply {}", "truth::an_apply_moves_only_the_serials_of_what_changed"),
    ("berth destroy", "not run: a destroy's plan names the command that made it"),
    ("berth explain", "truth::hints_that_need_no_engine_work_when_followed"),
    ("berth help <command>", "truth::hints_that_need_no_engine_work_when_followed"),
    ("berth import compose", "import::compose_files_where_berth_files_belong_are_imported_as_the_hints_say"),
    ("berth import compose FILE --out DIR", "import::compose_files_where_berth_files_belong_are_imported_as_the_hints_say"),
    ("berth import compose {} --out {}", "import::compose_files_where_berth_files_belong_are_imported_as_the_hints_say"),
    ("berth init", "everyday::init_writes_a_project_that_validates_and_plans"),
    ("berth plan", "truth::an_apply_moves_only_the_serials_of_what_changed"),
    ("berth plan --out", "everyday::a_saved_plan_applies_from_another_directory_without_asking_again"),
    ("berth state history {}", "state::rollback_returns_to_a_serial_and_refuses_a_changed_secret"),
    ("berth state list", "state::local_state_is_moved_to_the_cluster_with_push"),
    ("berth state push {}", "state::local_state_is_moved_to_the_cluster_with_push"),
    ("berth state unlock {}", "truth::the_lock_hints_work_when_followed"),
    ("berth status", "edge::a_route_that_does_not_answer_fails_the_apply_and_its_hints_work_when_followed"),
    ("berth validate", "truth::hints_that_need_no_engine_work_when_followed"),
    ("berth validate {}", "import::compose_files_where_berth_files_belong_are_imported_as_the_hints_say"),
    ("docker info", "truth::the_docker_info_hint_shows_the_same_problem"),
    ("docker swarm init --advertise-addr <address>", "noswarm::the_swarm_init_hint_works_when_followed_on_an_engine_without_swarm"),
];

/// The directories whose code prints messages, and the files that are reference text.
const SCANNED: &[&str] = &[
    "src",
    "crates/lang/src",
    "crates/planner/src",
    "crates/apply/src",
];
const REFERENCE_TEXT: &[&str] = &["codes.rs", "schema.rs"];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The contents of the string literals on one line of code (escapes kept as written).
fn literals(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current: Option<String> = None;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match (&mut current, c) {
            (None, '"') => current = Some(String::new()),
            (None, _) => {}
            (Some(s), '\\') => {
                s.push('\\');
                if let Some(n) = chars.next() {
                    s.push(n);
                }
            }
            (Some(_), '"') => out.extend(current.take()),
            (Some(s), c) => s.push(c),
        }
    }
    // A literal that goes on to the next line still counts up to here.
    out.extend(current);
    out
}

/// A hint with its placeholders (`{name}`, `{0}`) written `{}`.
fn normalise(hint: &str) -> String {
    let mut out = String::new();
    let mut depth = 0;
    for c in hint.chars() {
        match c {
            '{' => {
                if depth == 0 {
                    out.push_str("{}");
                }
                depth += 1;
            }
            '}' if depth > 0 => depth -= 1,
            c if depth == 0 => out.push(c),
            _ => {}
        }
    }
    // `{{`, a literal brace in a format string, normalises to `{}{}`; keep one.
    out.replace("{}{}", "{}")
}

/// The hints in one string literal.
fn hints_in(literal: &str) -> Vec<String> {
    let mut out = Vec::new();
    // Backticked commands and flags.
    let parts: Vec<&str> = literal.split('`').collect();
    for (i, part) in parts.iter().enumerate() {
        if i % 2 == 1
            && i + 1 < parts.len()
            && (part.starts_with("berth ")
                || part.starts_with("docker ")
                || (part.starts_with("--")
                    && part[2..].starts_with(|c: char| c.is_ascii_lowercase())))
        {
            out.push(normalise(part));
        }
    }
    // Unquoted "pass --flag" / "run --flag" suggestions.
    for verb in ["pass ", "run ", "Pass ", "Run "] {
        for (at, _) in literal.match_indices(verb) {
            let rest = &literal[at + verb.len()..];
            if rest.starts_with("--") {
                let flag: String = rest
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
                    .collect();
                out.push(flag);
            }
        }
    }
    out
}

/// Every hint in the code that prints messages: hint -> where it is.
fn hints() -> BTreeMap<String, Vec<String>> {
    let mut found: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for dir in SCANNED {
        let mut files = Vec::new();
        rust_files(&root().join(dir), &mut files);
        for file in files {
            let name = file.file_name().unwrap().to_string_lossy().to_string();
            if REFERENCE_TEXT.contains(&name.as_str()) || name.ends_with("_tests.rs") {
                continue;
            }
            let text = std::fs::read_to_string(&file).unwrap();
            for (n, line) in text.lines().enumerate() {
                let code = line.trim_start();
                // Unit tests close a file; they print nothing to users.
                if code.starts_with("#[cfg(test)]") {
                    break;
                }
                if code.starts_with("//") {
                    continue;
                }
                for literal in literals(line) {
                    for hint in hints_in(&literal) {
                        let at =
                            format!("{}:{}", file.strip_prefix(root()).unwrap().display(), n + 1);
                        found.entry(hint).or_default().push(at);
                    }
                }
            }
        }
    }
    found
}

/// The source of the end-to-end test `module::name`, if it exists.
fn test_source(target: &str) -> Option<String> {
    let (module, name) = target.split_once("::")?;
    let dir = root().join("tests/e2e");
    let mut files = vec![dir.join(format!("{module}.rs"))];
    if dir.join(module).is_dir() {
        rust_files(&dir.join(module), &mut files);
    }
    for file in files {
        let Ok(text) = std::fs::read_to_string(&file) else {
            continue;
        };
        if let Some(start) = text.find(&format!("fn {name}(")) {
            // The test's body: up to the next top-level item.
            let body = &text[start..];
            let end = body[1..].find("\n#[test]").map_or(body.len(), |e| e + 1);
            return Some(body[..end].to_string());
        }
    }
    None
}

#[test]
fn every_hint_berth_prints_is_registered() {
    let found = hints();
    let registry: BTreeMap<&str, &str> = REGISTRY.iter().copied().collect();
    assert_eq!(registry.len(), REGISTRY.len(), "a hint is registered twice");
    let missing: Vec<String> = found
        .iter()
        .filter(|(hint, _)| !registry.contains_key(hint.as_str()))
        .map(|(hint, at)| format!("`{hint}` at {}", at.join(", ")))
        .collect();
    assert!(
        missing.is_empty(),
        "hints without an entry in tests/e2e/hints.rs's REGISTRY (name the e2e test that \
         produces the situation and follows the hint):\n  {}",
        missing.join("\n  ")
    );
    let found_keys: BTreeSet<&str> = found.keys().map(String::as_str).collect();
    let stale: Vec<&str> = registry
        .keys()
        .copied()
        .filter(|h| !found_keys.contains(h))
        .collect();
    assert!(
        stale.is_empty(),
        "registered hints berth no longer prints: {stale:?}"
    );
}

/// Each registered test exists and runs the hint: its body holds every word of the hint that
/// is not a placeholder (the command's words, the flag and its value).
#[test]
fn every_registered_test_exists_and_runs_its_hint() {
    let mut problems = Vec::new();
    for (hint, target) in REGISTRY {
        if let Some(reason) = target.strip_prefix(NOT_RUN) {
            assert!(
                reason.starts_with(": ") && reason.len() > 10,
                "`{hint}` is not run without a reason"
            );
            continue;
        }
        let Some(body) = test_source(target) else {
            problems.push(format!("`{hint}`: no test {target}"));
            continue;
        };
        // Placeholders (`{}`, `<id>`, `NAME`, `...`) and example values (`123`) are not words
        // the test must pass as written.
        for word in hint.split_whitespace().filter(|w| {
            !w.contains('{')
                && !w.starts_with('<')
                && *w != ">"
                && !w.ends_with("...")
                && !w.bytes().all(|b| b.is_ascii_uppercase())
                && !w.bytes().all(|b| b.is_ascii_digit())
        }) {
            let word = word.split('=').next().unwrap_or(word);
            if !body.contains(&format!("\"{word}")) && !body.contains(&format!(" {word}")) {
                problems.push(format!("`{hint}`: {target} never passes `{word}`"));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_scan_finds_hints_however_they_are_spelled() {
    assert_eq!(
        hints_in("wait for it (`--lock-timeout 5m`), or `berth state unlock {id}`"),
        ["--lock-timeout 5m", "berth state unlock {}"]
    );
    assert_eq!(
        hints_in("review the plan and pass --auto-approve"),
        ["--auto-approve"]
    );
    assert_eq!(
        hints_in("a `service` block, not `--`"),
        Vec::<String>::new()
    );
    assert_eq!(
        literals(r#"format!("a \"b\" `berth plan`", x) + "c""#),
        [r#"a \"b\" `berth plan`"#, "c"]
    );
}
