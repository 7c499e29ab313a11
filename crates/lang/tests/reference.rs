//! `schema/LANGUAGE.md` is held to the code: the block reference and the list of diagnostic codes
//! between its generated markers must equal what the schema table and the code registry say.
//! Run with `BERTH_BLESS=1` to rewrite the generated sections after changing the schema.

use berth_lang::check::schema::{self, LabelRule};
use berth_lang::Code;
use std::path::PathBuf;

fn reference_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../schema/LANGUAGE.md")
}

fn blocks_section() -> String {
    let mut out = String::new();
    for b in schema::BLOCKS {
        let label = if b.label == LabelRule::Required {
            " <name>"
        } else {
            ""
        };
        out.push_str(&format!("### `{}{label}`\n\n{}", b.kind, b.doc));
        let parents: Vec<&str> = schema::BLOCKS
            .iter()
            .filter(|p| p.blocks.contains(&b.kind))
            .map(|p| p.kind)
            .collect();
        if schema::ROOT_BLOCKS.contains(&b.kind) {
            out.push_str(" Top level.");
        } else if !parents.is_empty() {
            out.push_str(&format!(
                " Inside: {}.",
                parents
                    .iter()
                    .map(|p| format!("`{p}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        if b.repeatable && b.label == LabelRule::None {
            out.push_str(" May appear more than once.");
        }
        out.push_str("\n\n");
        if !b.attrs.is_empty() {
            out.push_str("| attribute | type | default | meaning |\n| --- | --- | --- | --- |\n");
            for a in b.attrs {
                let default = if a.required {
                    "required".to_string()
                } else if a.default.is_empty() {
                    "—".to_string()
                } else {
                    a.default.replace('|', "\\|")
                };
                out.push_str(&format!(
                    "| `{}` | {} | {} | {} |\n",
                    a.name,
                    a.ty.describe(),
                    default,
                    a.doc
                ));
            }
            out.push('\n');
        }
        if !b.blocks.is_empty() {
            out.push_str(&format!(
                "Blocks: {}.\n\n",
                b.blocks
                    .iter()
                    .map(|k| format!("`{k}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
    }
    out
}

fn codes_section() -> String {
    let mut out = String::from("| code | severity | rule |\n| --- | --- | --- |\n");
    for c in Code::ALL {
        let sev = if c.as_str().starts_with('W') {
            "warning"
        } else {
            "error"
        };
        out.push_str(&format!(
            "| `{c}` | {sev} | {} |\n",
            c.title().replace('|', "\\|")
        ));
    }
    out.push('\n');
    out
}

fn replace_between(text: &str, begin: &str, end: &str, body: &str) -> Option<String> {
    let start = text.find(begin)? + begin.len();
    let stop = text[start..].find(end)? + start;
    Some(format!("{}\n{}{}", &text[..start], body, &text[stop..]))
}

#[test]
fn language_reference_matches_the_schema_and_the_codes() {
    let path = reference_path();
    let text = std::fs::read_to_string(&path).expect("schema/LANGUAGE.md exists");
    let want = replace_between(
        &text,
        "<!-- blocks:begin -->",
        "<!-- blocks:end -->",
        &blocks_section(),
    )
    .expect("blocks markers");
    let want = replace_between(
        &want,
        "<!-- codes:begin -->",
        "<!-- codes:end -->",
        &codes_section(),
    )
    .expect("codes markers");
    if std::env::var_os("BERTH_BLESS").is_some() {
        std::fs::write(&path, &want).unwrap();
        return;
    }
    if want != text {
        let diff = similar_lines(&text, &want);
        panic!("schema/LANGUAGE.md is out of date with the schema or the code registry; run `BERTH_BLESS=1 cargo test -p berth-lang --test reference`\n{diff}");
    }
    // Every code is listed exactly once (the generated table), and no stale code is mentioned.
    for c in Code::ALL {
        assert!(
            text.contains(&format!("| `{c}` |")),
            "{c} missing from the reference"
        );
    }
    for word in text.split(|c: char| !c.is_ascii_alphanumeric()) {
        let looks_like_code = word.len() == 5
            && (word.starts_with('E') || word.starts_with('W'))
            && word[1..].chars().all(|c| c.is_ascii_digit());
        if looks_like_code {
            assert!(
                Code::parse(word).is_some(),
                "the reference mentions {word}, which is not a code"
            );
        }
    }
}

fn similar_lines(a: &str, b: &str) -> String {
    a.lines()
        .zip(b.lines())
        .enumerate()
        .find(|(_, (x, y))| x != y)
        .map(|(i, (x, y))| {
            format!(
                "first difference at line {}:\n  file: {x}\n  want: {y}",
                i + 1
            )
        })
        .unwrap_or_else(|| "the files differ in length".into())
}
