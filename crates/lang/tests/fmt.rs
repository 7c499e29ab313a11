//! Tests of `berth fmt`'s formatter. Every fixture `tests/fmt/<name>.in.berth` is formatted into
//! an insta snapshot under `tests/fmt/snapshots/`, formatted twice to check idempotency, and
//! checked to keep its comments and its meaning; a property test does the same for random files
//! from a small grammar. The fixture directory is listed, so no fixture can be left out.

use berth_lang::fmt::{collect_comments, format_file, format_source};
use berth_lang::parser::parse;
use berth_lang::syntax::{Body, Expr, ExprKind, File, ItemKind, Name, StrPart};
use berth_lang::{FileId, Sink};
use proptest::prelude::*;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

const FIXTURE_SUFFIX: &str = ".in.berth";

fn fixture_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fmt")
}

/// Every fixture as `(name, text)`, sorted by name.
fn fixtures() -> Vec<(String, String)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(fixture_dir()).expect("the fixture directory exists") {
        let path = entry.expect("a readable directory entry").path();
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .expect("a UTF-8 file name")
            .to_string();
        if name.ends_with(FIXTURE_SUFFIX) {
            let text = std::fs::read_to_string(&path).expect("a readable fixture");
            out.push((name, text));
        }
    }
    out.sort();
    out
}

/// Parses `text`, failing the test on any syntax error.
fn parse_ok(name: &str, text: &str) -> File {
    let mut sink = Sink::new();
    let file = parse(FileId(0), text, &mut sink);
    assert!(
        !sink.has_errors(),
        "{name} does not parse: {:#?}",
        sink.into_sorted()
    );
    file
}

fn format_ok(name: &str, text: &str) -> String {
    format_source(FileId(0), text)
        .unwrap_or_else(|errors| panic!("{name} was refused: {errors:#?}"))
}

fn sorted_comments(file: &File) -> Vec<String> {
    let mut comments = collect_comments(file);
    comments.sort();
    comments
}

/// The tree without comments, blank lines and spans: what formatting must not change.
fn shape(file: &File) -> String {
    let mut out = String::new();
    shape_body(&file.body, &mut out);
    out
}

fn shape_name(name: &Name) -> String {
    format!("{:?}{}", name.text, if name.quoted { "q" } else { "" })
}

fn shape_body(body: &Body, out: &mut String) {
    out.push('{');
    for item in &body.items {
        match &item.kind {
            ItemKind::Attribute(attribute) => {
                out.push_str(&shape_name(&attribute.key));
                out.push('=');
                shape_expr(&attribute.value, out);
            }
            ItemKind::Block(block) => {
                out.push_str(&shape_name(&block.kind));
                if let Some(label) = &block.label {
                    out.push_str(&shape_name(label));
                }
                shape_body(&block.body, out);
            }
        }
        out.push(';');
    }
    out.push('}');
}

fn shape_expr(expr: &Expr, out: &mut String) {
    match &expr.kind {
        ExprKind::Str(string) => {
            out.push_str(if string.triple { "s3(" } else { "s(" });
            for part in &string.parts {
                match part {
                    StrPart::Lit(text) => write!(out, "{text:?}").unwrap(),
                    StrPart::Interp(reference) => {
                        write!(out, "${{{}}}", reference.dotted()).unwrap()
                    }
                }
            }
            out.push(')');
        }
        ExprKind::Number(n) => write!(out, "n({n:?})").unwrap(),
        ExprKind::Quantity(q) => write!(out, "q({q})").unwrap(),
        ExprKind::Bool(b) => write!(out, "b({b})").unwrap(),
        ExprKind::Ref(reference) => write!(out, "r({})", reference.dotted()).unwrap(),
        ExprKind::List(list) => {
            out.push('[');
            for element in &list.elements {
                shape_expr(&element.value, out);
                out.push(',');
            }
            out.push(']');
        }
        ExprKind::Map(body) => shape_body(body, out),
        ExprKind::Error => out.push_str("error"),
    }
}

/// Formats `text` (which must parse) and checks the properties every input must have: the result
/// parses, formatting it again changes nothing, and comments and meaning are kept.
fn check_properties(name: &str, text: &str) -> Result<String, String> {
    let before = parse_ok(name, text);
    let once = format_ok(name, text);
    let after = {
        let mut sink = Sink::new();
        let file = parse(FileId(0), &once, &mut sink);
        if sink.has_errors() {
            return Err(format!(
                "the formatted {name} does not parse:\n{once}\n{:#?}",
                sink.into_sorted()
            ));
        }
        file
    };
    let twice = format_file(&after, &once);
    if twice != once {
        return Err(format!(
            "formatting {name} is not idempotent:\n--- once ---\n{once}\n--- twice ---\n{twice}"
        ));
    }
    if sorted_comments(&before) != sorted_comments(&after) {
        return Err(format!(
            "formatting {name} changed the comments:\n{:#?}\n{:#?}",
            collect_comments(&before),
            collect_comments(&after)
        ));
    }
    if shape(&before) != shape(&after) {
        return Err(format!(
            "formatting {name} changed the meaning:\n{}\n{}\n{once}",
            shape(&before),
            shape(&after)
        ));
    }
    Ok(once)
}

#[test]
fn formats_fixtures() {
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path("fmt/snapshots");
    settings.set_prepend_module_to_snapshot(false);
    settings.bind(|| {
        insta::glob!("fmt/*.in.berth", |path| {
            let text = std::fs::read_to_string(path).expect("a readable fixture");
            insta::assert_snapshot!(format_ok(&path.display().to_string(), &text));
        });
    });
}

/// Only fixtures live in the fixture directory, each has an accepted snapshot, and each snapshot
/// belongs to a fixture, so none is silently skipped or left behind.
#[test]
fn every_fixture_is_exercised() {
    let fixture_names: Vec<String> = fixtures().into_iter().map(|(name, _)| name).collect();
    assert!(
        fixture_names.len() >= 12,
        "expected at least 12 fixtures, found {}",
        fixture_names.len()
    );
    for entry in std::fs::read_dir(fixture_dir()).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name().into_string().unwrap();
        if entry.file_type().unwrap().is_dir() {
            assert_eq!(name, "snapshots", "unexpected directory tests/fmt/{name}");
        } else {
            assert!(
                name.ends_with(FIXTURE_SUFFIX),
                "tests/fmt/{name} is not named `*{FIXTURE_SUFFIX}`, so no test reads it"
            );
        }
    }
    let snapshot_dir = fixture_dir().join("snapshots");
    let mut snapshots = Vec::new();
    for entry in std::fs::read_dir(&snapshot_dir).expect("the snapshot directory exists") {
        let name = entry.unwrap().file_name().into_string().unwrap();
        let fixture = name
            .strip_prefix("formats_fixtures@")
            .and_then(|rest| rest.strip_suffix(".snap"))
            .unwrap_or_else(|| panic!("unexpected file tests/fmt/snapshots/{name}"));
        assert!(
            fixture_names.iter().any(|f| f == fixture),
            "snapshot {name} has no fixture"
        );
        snapshots.push(fixture.to_string());
    }
    for fixture in &fixture_names {
        assert!(
            snapshots.contains(fixture),
            "fixture {fixture} has no accepted snapshot"
        );
    }
}

#[test]
fn fixtures_format_idempotently_and_keep_comments_and_meaning() {
    for (name, text) in fixtures() {
        if let Err(problem) = check_properties(&name, &text) {
            panic!("{problem}");
        }
    }
}

#[test]
fn formatting_keeps_every_comment_of_every_fixture() {
    for (name, text) in fixtures() {
        let before = collect_comments(&parse_ok(&name, &text));
        let formatted = format_ok(&name, &text);
        let mut after = collect_comments(&parse_ok(&name, &formatted));
        let mut expected = before.clone();
        expected.sort();
        after.sort();
        assert_eq!(expected, after, "{name} lost or gained comments");
        for comment in &before {
            assert!(
                formatted.contains(comment.as_str()),
                "{name}: `{comment}` is not in the output verbatim"
            );
        }
    }
}

/// The example configurations of the repository are real-world input: every one that parses must
/// format with the same properties as the fixtures.
#[test]
fn examples_format_idempotently_and_keep_comments_and_meaning() {
    fn berth_files(dir: &Path, out: &mut Vec<PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                berth_files(&path, out);
            } else if path.extension().is_some_and(|e| e == "berth") {
                out.push(path);
            }
        }
    }
    let mut files = Vec::new();
    berth_files(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples"),
        &mut files,
    );
    for path in files {
        let name = path.display().to_string();
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        if format_source(FileId(0), &text).is_err() {
            continue;
        }
        if let Err(problem) = check_properties(&name, &text) {
            panic!("{problem}");
        }
    }
}

#[test]
fn comments_are_collected_in_source_order() {
    let text = "# a\nx = [ /* b */ 1, # c\n # d\n] # e\nblock { # f\n  y = { z = 1 # g\n  } # h\n  # i\n}\n# j   \n";
    let file = parse_ok("inline", text);
    let expected = [
        "# a", "/* b */", "# c", "# d", "# e", "# f", "# g", "# h", "# i", "# j",
    ];
    assert_eq!(collect_comments(&file), expected);
}

#[test]
fn files_with_syntax_errors_are_refused() {
    let errors = format_source(FileId(0), "service web {\n  image = \n").unwrap_err();
    assert!(!errors.is_empty());
    assert!(errors.iter().all(|d| d.is_error()));
    assert!(format_source(FileId(0), "a = 'x'\n").is_err());
}

#[test]
fn empty_and_blank_files_format_to_nothing() {
    assert_eq!(format_ok("empty", ""), "");
    assert_eq!(format_ok("blank", "\n  \n\t\n"), "");
}

#[test]
fn windows_line_endings_become_unix_ones() {
    let text =
        "# Header.\r\n\r\nservice web {\r\n  image = \"x\" # Trailing.\r\n  replicas=2\r\n}\r\n";
    let expected =
        "# Header.\n\nservice web {\n  image    = \"x\" # Trailing.\n  replicas = 2\n}\n";
    assert_eq!(format_ok("crlf", text), expected);
}

#[test]
fn a_list_takes_one_line_up_to_exactly_the_width_limit() {
    // Around the string's content, `x = ["` and `"]` take 8 columns.
    let fits = format!("x = [\"{}\"]\n", "a".repeat(100 - 8));
    assert_eq!(format_ok("fits", &fits), fits);
    let too_long = format!("x = [\"{}\"]\n", "a".repeat(100 - 7));
    assert_eq!(
        format_ok("too long", &too_long),
        format!("x = [\n  \"{}\",\n]\n", "a".repeat(100 - 7))
    );
}

// A small grammar of berth files for the property test. Each node carries its comments and a
// style number that picks separators and spacing when it is written out as source.

#[derive(Debug, Clone)]
struct Deco {
    blank: bool,
    leading: Vec<String>,
    trailing: Option<String>,
    style: u8,
}

#[derive(Debug, Clone)]
enum GItem {
    Attr(String, GValue),
    Block(String, Option<String>, GBody),
}

#[derive(Debug, Clone)]
struct GBody {
    items: Vec<(Deco, GItem)>,
    closing: Vec<String>,
}

#[derive(Debug, Clone)]
enum GValue {
    Leaf(String),
    List(Vec<(Deco, GValue)>, Vec<String>),
    Map(GBody),
}

fn comment() -> impl Strategy<Value = String> {
    prop_oneof![
        "# [a-z ]{0,10}",
        "// [a-z]{0,8}",
        // No empty line inside, so that the checks on blank lines below hold for the output.
        "/\\* [a-z]{0,6}( ?\n ?[a-z]{1,6}){0,2} \\*/",
    ]
}

fn deco() -> impl Strategy<Value = Deco> {
    let leading = prop_oneof![3 => Just(Vec::new()), 1 => prop::collection::vec(comment(), 1..3)];
    let trailing = prop_oneof![3 => Just(None), 1 => comment().prop_map(Some)];
    (prop::bool::weighted(0.2), leading, trailing, any::<u8>()).prop_map(
        |(blank, leading, trailing, style)| Deco {
            blank,
            leading,
            trailing,
            style,
        },
    )
}

fn closing_comments() -> impl Strategy<Value = Vec<String>> {
    prop_oneof![4 => Just(Vec::new()), 1 => prop::collection::vec(comment(), 1..3)]
}

fn key() -> impl Strategy<Value = String> {
    prop_oneof![4 => "[a-z][a-z0-9_]{0,10}", 1 => "\"[a-z][a-z. -]{0,10}\""]
}

fn leaf() -> impl Strategy<Value = String> {
    prop_oneof![
        "\"[a-z ]{0,12}\"",
        "\"[a-z]{0,4}\\$\\{var\\.[a-z]{1,4}\\}\"",
        "\"[a-z]{30,70}\"",
        "-?[0-9]{1,4}(\\.[0-9]{1,2})?",
        "[0-9]{1,3}(M|G|s|ms|m30s)",
        Just("true".to_string()),
        Just("false".to_string()),
        "(var|db|secret)\\.[a-z]{1,8}",
        "\"\"\"\n {0,4}[a-z]{1,6}\n {0,4}[a-z]{1,6}\n  \"\"\"",
        "\"\"\"[a-z ]{0,8}\"\"\"",
    ]
}

fn value() -> impl Strategy<Value = GValue> {
    leaf()
        .prop_map(GValue::Leaf)
        .prop_recursive(3, 24, 5, |inner| {
            prop_oneof![
                (
                    prop::collection::vec((deco(), inner.clone()), 0..6),
                    closing_comments()
                )
                    .prop_map(|(elements, closing)| GValue::List(elements, closing)),
                (
                    prop::collection::vec(
                        (deco(), (key(), inner).prop_map(|(k, v)| GItem::Attr(k, v))),
                        0..5
                    ),
                    closing_comments()
                )
                    .prop_map(|(items, closing)| GValue::Map(GBody { items, closing })),
            ]
        })
}

fn item() -> impl Strategy<Value = GItem> {
    let attribute = (key(), value()).prop_map(|(k, v)| GItem::Attr(k, v));
    attribute.prop_recursive(3, 32, 5, |inner| {
        let label = prop_oneof![Just(None), "[a-z][a-z0-9-]{0,8}".prop_map(Some), "\"[a-z ]{1,8}\"".prop_map(Some)];
        prop_oneof![
            2 => (key(), value()).prop_map(|(k, v)| GItem::Attr(k, v)),
            1 => ("[a-z][a-z_]{0,8}", label, prop::collection::vec((deco(), inner), 0..5), closing_comments())
                .prop_map(|(kind, label, items, closing)| GItem::Block(kind, label, GBody { items, closing })),
        ]
    })
}

fn file() -> impl Strategy<Value = GBody> {
    (
        prop::collection::vec((deco(), item()), 0..6),
        closing_comments(),
    )
        .prop_map(|(items, closing)| GBody { items, closing })
}

/// Writes a comment; a line comment always ends its line.
fn write_comment(out: &mut String, comment: &str, pad: &str, same_line_allowed: bool) {
    out.push_str(comment);
    if comment.starts_with("/*") && same_line_allowed {
        out.push(' ');
    } else {
        out.push('\n');
        out.push_str(pad);
    }
}

fn write_body(out: &mut String, body: &GBody, depth: usize) {
    let pad = " ".repeat(depth * 3 % 7);
    for (deco, item) in &body.items {
        if deco.blank {
            out.push_str("\n\n");
        }
        out.push_str(&pad);
        for comment in &deco.leading {
            write_comment(out, comment, &pad, deco.style & 1 == 1);
            if deco.style & 2 == 2 {
                out.push_str("\n\n");
            }
        }
        match item {
            GItem::Attr(key, value) => {
                out.push_str(key);
                out.push_str(if deco.style & 4 == 4 { "=" } else { " = " });
                write_value(out, value, depth + 1);
            }
            GItem::Block(kind, label, inner) => {
                out.push_str(kind);
                if let Some(label) = label {
                    out.push(' ');
                    out.push_str(label);
                }
                out.push_str(" {");
                if deco.style & 8 == 8 {
                    out.push('\n');
                }
                write_body(out, inner, depth + 1);
                out.push('}');
            }
        }
        let ends_line = match &deco.trailing {
            Some(comment) => {
                out.push(' ');
                out.push_str(comment);
                !comment.starts_with("/*")
            }
            None => false,
        };
        out.push_str(match (ends_line, deco.style >> 4 & 3) {
            (true, _) => "\n",
            (false, 0) => ", ",
            (false, 1) => ",\n",
            _ => "\n",
        });
    }
    for comment in &body.closing {
        out.push_str(&pad);
        out.push_str(comment);
        out.push('\n');
    }
}

fn write_value(out: &mut String, value: &GValue, depth: usize) {
    match value {
        GValue::Leaf(text) => out.push_str(text),
        GValue::Map(body) => {
            out.push('{');
            write_body(out, body, depth);
            out.push('}');
        }
        GValue::List(elements, closing) => {
            out.push('[');
            for (index, (deco, element)) in elements.iter().enumerate() {
                if deco.blank {
                    out.push_str("\n\n");
                }
                for comment in &deco.leading {
                    write_comment(out, comment, " ", deco.style & 1 == 1);
                }
                write_value(out, element, depth + 1);
                if index + 1 < elements.len() || deco.style & 2 == 2 {
                    out.push(',');
                }
                if let Some(comment) = &deco.trailing {
                    out.push(' ');
                    write_comment(out, comment, " ", false);
                } else if deco.style & 4 == 4 {
                    out.push('\n');
                } else {
                    out.push(' ');
                }
            }
            for comment in closing {
                write_comment(out, comment, "", false);
            }
            out.push(']');
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn random_files_format_idempotently_and_keep_comments(body in file()) {
        let mut text = String::new();
        write_body(&mut text, &body, 0);
        let mut sink = Sink::new();
        parse(FileId(0), &text, &mut sink);
        prop_assert!(!sink.has_errors(), "the generator wrote a file that does not parse:\n{}\n{:#?}", text, sink.into_sorted());
        let formatted = check_properties("the generated file", &text).map_err(TestCaseError::fail)?;
        prop_assert!(!formatted.starts_with('\n'), "a blank line at the start:\n{}", formatted);
        prop_assert!(formatted.is_empty() || (formatted.ends_with('\n') && !formatted.ends_with("\n\n")), "bad end:\n{}", formatted);
        prop_assert!(!formatted.contains("\n\n\n"), "two blank lines in a row:\n{}", formatted);
        prop_assert!(!formatted.contains("{\n\n") && !formatted.contains("[\n\n"), "a blank line after an opening delimiter:\n{}", formatted);
        for line in formatted.lines() {
            prop_assert_eq!(line.trim_end(), line, "trailing white space in:\n{}", formatted);
        }
    }
}
