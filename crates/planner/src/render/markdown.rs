//! The plan for a pull-request comment: the summary line, a table per project environment (what
//! changes, and its allocation against its quota), then one collapsible `<details>` per changed
//! resource holding the human rendering in a `diff` block, so GitHub colours it.

use super::human::{allocation_line, change_for_diff};
use super::RenderOptions;
use crate::plan::{Action, Plan};
use crate::resource::DeploymentId;
use std::collections::BTreeMap;
use std::fmt::Write;

fn action_text(c: &crate::plan::Change) -> String {
    let base = match c.action {
        Action::Create => "create",
        Action::Update if c.restarts_tasks => "update in-place, replaces tasks",
        Action::Update => "update in-place",
        Action::Replace if c.create_before_destroy => "replace (create before destroy)",
        Action::Replace => "replace",
        Action::Delete => "destroy",
        Action::NoOp => "no-op",
    };
    // A job's change says when it runs and why, and a release's what it does to the traffic, as
    // the human plan does.
    let base = match super::human::job_note(c).or_else(|| super::human::release_note(c)) {
        Some(note) => format!(
            "{base}; {}",
            note.trim_start_matches("# (").trim_end_matches(')')
        ),
        None => base.to_string(),
    };
    if c.data_loss {
        format!("{base}, **destroys data**")
    } else {
        base
    }
}

fn symbol(a: Action, cbd: bool) -> &'static str {
    match a {
        Action::Create => "+",
        Action::Update => "~",
        Action::Replace if cbd => "+/-",
        Action::Replace => "-/+",
        Action::Delete => "-",
        Action::NoOp => " ",
    }
}

/// Moves each line's leading `+`/`-` to the first column so that a `diff` block colours it.
fn diff_block(text: &str) -> String {
    let mut out = String::new();
    for line in text.lines() {
        let trimmed = line.trim_start();
        let indent = line.len() - trimmed.len();
        let first = trimmed.chars().next();
        match first {
            Some(c @ ('+' | '-'))
                if trimmed[1..].starts_with(' ') || trimmed[1..].starts_with('/') =>
            {
                let _ = writeln!(
                    out,
                    "{c}{}{}",
                    " ".repeat(indent.saturating_sub(1)),
                    &trimmed[1..]
                );
            }
            _ => {
                let _ = writeln!(out, "{line}");
            }
        }
    }
    out
}

pub fn markdown(plan: &Plan, options: &RenderOptions) -> String {
    let mut out = String::from("### berth plan\n\n");
    let s = plan.summary();
    if plan.is_empty() {
        out.push_str(match options.against {
            super::Against::Cluster => {
                "**No changes.** Your infrastructure matches the configuration.\n"
            }
            super::Against::RecordedState => {
                "**No changes.** The recorded state matches the configuration; the cluster was not read (`--refresh=false`).\n"
            }
        });
    } else {
        let _ = writeln!(
            out,
            "**Plan: {} to add, {} to change, {} to destroy.**",
            s.add, s.change, s.destroy
        );
    }
    let mut rows: BTreeMap<&DeploymentId, [usize; 4]> = BTreeMap::new();
    for d in &plan.scope {
        rows.insert(d, [0; 4]);
    }
    for c in &plan.changes {
        let r = rows.entry(&c.address.deployment).or_insert([0; 4]);
        match c.action {
            Action::Create => r[0] += 1,
            Action::Update => r[1] += 1,
            Action::Replace => {
                r[0] += 1;
                r[2] += 1;
            }
            Action::Delete => r[2] += 1,
            Action::NoOp => r[3] += 1,
        }
    }
    let allocations: BTreeMap<&DeploymentId, String> = plan
        .allocations
        .iter()
        .map(|a| (&a.deployment, allocation_line(a)))
        .collect();
    out.push_str("\n| Project environment | Add | Change | Destroy | Unchanged | Allocation (used / quota) |\n");
    out.push_str("| --- | ---: | ---: | ---: | ---: | --- |\n");
    for (d, r) in &rows {
        let alloc = allocations.get(d).map_or("", String::as_str);
        let _ = writeln!(
            out,
            "| `{d}` | {} | {} | {} | {} | {alloc} |",
            r[0], r[1], r[2], r[3]
        );
    }
    let mut current: Option<&DeploymentId> = None;
    for c in plan.actionable() {
        if current != Some(&c.address.deployment) {
            let _ = writeln!(out, "\n#### `{}`\n", c.address.deployment);
            current = Some(&c.address.deployment);
        }
        let body = change_for_diff(c, options);
        let _ =
            writeln!(
            out,
            "<details><summary><code>{} {}.{}</code> {}</summary>\n\n```diff\n{}```\n\n</details>",
            symbol(c.action, c.create_before_destroy),
            c.kind(),
            c.address.name,
            action_text(c),
            diff_block(body.trim_end_matches('\n')).trim_end_matches('\n').to_string() + "\n"
        );
    }
    for n in &plan.notes {
        let _ = writeln!(out, "\n> **Note:** {n}");
    }
    out
}
