//! The plan for people, in Terraform's conventions: `+` create, `~` update in-place, `-/+`
//! replace (`+/-` when the new object comes first), `-` destroy, `# forces replacement` on the
//! attribute that forces it, unchanged attributes counted and hidden, `(sensitive value)` for
//! secrets, multi-line values and lists diffed line by line, and the closing
//! `Plan: X to add, Y to change, Z to destroy.`

use super::view::{derived_labels, shown_name, view, CUT, RAW};
use super::RenderOptions;
use crate::admission::Allocation;
use crate::edge;
use crate::plan::{Action, Change, Plan, Reason};
use crate::resource::label;
use serde_json::{Map, Value};
use similar::{capture_diff_slices, Algorithm, ChangeTag, DiffOp, TextDiff};
use std::fmt::Write;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Sym {
    Add,
    Del,
    Chg,
}

struct Writer<'a> {
    out: String,
    color: bool,
    forcing: &'a [Vec<String>],
    /// Shows a changed value as its removal and its addition (two lines) instead of
    /// `before -> after`, so that a `diff` block highlights both (the markdown plan).
    split: bool,
    /// A destroy's plan: deletes say they were asked for.
    destroy: bool,
    /// A drift check's restore plan: deletes say the recorded state lacks the object.
    restore: bool,
}

const GREEN: &str = "\x1b[32m";
const RED: &str = "\x1b[31m";
const YELLOW: &str = "\x1b[33m";
const BOLD: &str = "\x1b[1m";
const RESET: &str = "\x1b[0m";

impl Writer<'_> {
    fn paint(&self, code: &str, text: &str) -> String {
        if self.color {
            format!("{code}{text}{RESET}")
        } else {
            text.to_string()
        }
    }

    fn sym(&self, s: Sym) -> String {
        match s {
            Sym::Add => self.paint(GREEN, "+"),
            Sym::Del => self.paint(RED, "-"),
            Sym::Chg => self.paint(YELLOW, "~"),
        }
    }

    fn line(&mut self, indent: usize, s: Sym, text: &str) {
        let sym = self.sym(s);
        let _ = writeln!(self.out, "{:indent$}{sym} {text}", "");
    }

    fn comment(&mut self, indent: usize, text: &str) {
        let _ = writeln!(self.out, "{:indent$}{text}", "");
    }

    /// The annotation of an attribute whose change forces the replacement (or that holds one).
    fn forces(&self, path: &[String]) -> &'static str {
        if self.forcing.iter().any(|p| p.starts_with(path)) {
            " # forces replacement"
        } else {
            ""
        }
    }

    /// Every attribute of `map` with one symbol (a create or a delete).
    fn all(&mut self, indent: usize, s: Sym, map: &Map<String, Value>) {
        let width = key_width(map.keys().map(String::as_str));
        for (k, v) in map {
            self.value(indent, s, &format!("{:width$} = ", key(k)), v);
        }
    }

    /// One attribute (or, with an empty prefix, one element) with one symbol.
    fn value(&mut self, indent: usize, s: Sym, prefix: &str, v: &Value) {
        self.value_with(indent, s, prefix, v, "");
    }

    /// Like [`Writer::value`], with `suffix` (a comment) at the end of the first line.
    fn value_with(&mut self, indent: usize, s: Sym, prefix: &str, v: &Value, suffix: &str) {
        if let Some(text) = inline(v) {
            let comma = if prefix.is_empty() { "," } else { "" };
            self.line(indent, s, &format!("{prefix}{text}{comma}{suffix}"));
            return;
        }
        match v {
            Value::Object(m) => {
                self.line(indent, s, &format!("{prefix}{{{suffix}"));
                self.all(indent + 4, s, m);
                self.comment(indent + 2, if prefix.is_empty() { "}," } else { "}" });
            }
            Value::Array(items) => {
                self.line(indent, s, &format!("{prefix}[{suffix}"));
                for item in items {
                    self.value(indent + 4, s, "", item);
                }
                self.comment(indent + 2, if prefix.is_empty() { "]," } else { "]" });
            }
            Value::String(text) if is_multiline(text) => {
                self.line(indent, s, &format!("{prefix}<<-EOT{suffix}"));
                for l in text.lines() {
                    self.comment(indent + 4, l);
                }
                self.comment(indent + 2, "EOT");
            }
            _ => {
                let comma = if prefix.is_empty() { "," } else { "" };
                self.line(indent, s, &format!("{prefix}{}{comma}{suffix}", scalar(v)));
            }
        }
    }

    /// The differences between two objects; unchanged attributes are counted, not shown.
    fn diff_map(
        &mut self,
        indent: usize,
        before: &Map<String, Value>,
        after: &Map<String, Value>,
        path: &mut Vec<String>,
        elements: bool,
    ) {
        let mut keys: Vec<&String> = before.keys().chain(after.keys()).collect();
        keys.sort();
        keys.dedup();
        let shown = keys
            .iter()
            .filter(|k| before.get(**k) != after.get(**k))
            .map(|k| k.as_str());
        let width = key_width(shown);
        let mut unchanged = 0;
        for k in keys {
            path.push(k.clone());
            let prefix = format!("{:width$} = ", key(k));
            match (before.get(k), after.get(k)) {
                (Some(b), Some(a)) if b == a => unchanged += 1,
                (None, Some(a)) => {
                    let forces = self.forces(path);
                    self.value_with(indent, Sym::Add, &prefix, a, forces);
                }
                (Some(b), None) => {
                    let forces = self.forces(path);
                    self.value_with(indent, Sym::Del, &prefix, b, forces);
                }
                (Some(Value::Object(b)), Some(Value::Object(a))) => {
                    let forces = self.forces(path);
                    self.line(indent, Sym::Chg, &format!("{prefix}{{{forces}"));
                    self.diff_map(indent + 4, b, a, path, is_map_attr(k));
                    self.comment(indent + 2, "}");
                }
                (Some(Value::Array(b)), Some(Value::Array(a))) => {
                    let forces = self.forces(path);
                    self.line(indent, Sym::Chg, &format!("{prefix}[{forces}"));
                    self.diff_list(indent + 4, b, a);
                    self.comment(indent + 2, "]");
                }
                (Some(Value::String(b)), Some(Value::String(a)))
                    if is_multiline(b) || is_multiline(a) =>
                {
                    let forces = self.forces(path);
                    self.line(indent, Sym::Chg, &format!("{prefix}<<-EOT{forces}"));
                    self.diff_text(indent + 2, b, a);
                    self.comment(indent + 2, "EOT");
                }
                (Some(b), Some(a)) if self.split && scalar(b) != scalar(a) => {
                    let forces = self.forces(path);
                    self.line(indent, Sym::Del, &format!("{prefix}{}", scalar(b)));
                    self.line(indent, Sym::Add, &format!("{prefix}{}{forces}", scalar(a)));
                }
                (Some(b), Some(a)) => {
                    let forces = self.forces(path);
                    let text = if scalar(b) == scalar(a) {
                        scalar(a)
                    } else {
                        format!("{} -> {}", scalar(b), scalar(a))
                    };
                    self.line(indent, Sym::Chg, &format!("{prefix}{text}{forces}"));
                }
                (None, None) => {}
            }
            path.pop();
        }
        if unchanged > 0 {
            let what = if elements { "element" } else { "attribute" };
            let plural = if unchanged == 1 { "" } else { "s" };
            self.comment(
                indent + 2,
                &format!("# ({unchanged} unchanged {what}{plural} hidden)"),
            );
        }
    }

    /// A list diffed element by element (with `similar`), unchanged elements counted.
    fn diff_list(&mut self, indent: usize, before: &[Value], after: &[Value]) {
        let b: Vec<String> = before.iter().map(Value::to_string).collect();
        let a: Vec<String> = after.iter().map(Value::to_string).collect();
        let mut unchanged = 0;
        for op in capture_diff_slices(Algorithm::Myers, &b, &a) {
            match op {
                DiffOp::Equal { len, .. } => unchanged += len,
                DiffOp::Delete {
                    old_index, old_len, ..
                } => {
                    for v in &before[old_index..old_index + old_len] {
                        self.value(indent, Sym::Del, "", v);
                    }
                }
                DiffOp::Insert {
                    new_index, new_len, ..
                } => {
                    for v in &after[new_index..new_index + new_len] {
                        self.value(indent, Sym::Add, "", v);
                    }
                }
                DiffOp::Replace {
                    old_index,
                    old_len,
                    new_index,
                    new_len,
                } if old_len == new_len => {
                    // Objects replaced one for one (a secret reference to a rotated secret)
                    // show only what differs in each, not both whole objects.
                    let pairs = before[old_index..old_index + old_len]
                        .iter()
                        .zip(&after[new_index..new_index + new_len]);
                    for pair in pairs {
                        match pair {
                            (Value::Object(b), Value::Object(a)) => {
                                self.line(indent, Sym::Chg, "{");
                                self.diff_map(indent + 4, b, a, &mut Vec::new(), false);
                                self.comment(indent + 2, "},");
                            }
                            (b, a) => {
                                self.value(indent, Sym::Del, "", b);
                                self.value(indent, Sym::Add, "", a);
                            }
                        }
                    }
                }
                DiffOp::Replace {
                    old_index,
                    old_len,
                    new_index,
                    new_len,
                } => {
                    for v in &before[old_index..old_index + old_len] {
                        self.value(indent, Sym::Del, "", v);
                    }
                    for v in &after[new_index..new_index + new_len] {
                        self.value(indent, Sym::Add, "", v);
                    }
                }
            }
        }
        if unchanged > 0 {
            let plural = if unchanged == 1 { "" } else { "s" };
            self.comment(
                indent + 2,
                &format!("# ({unchanged} unchanged element{plural} hidden)"),
            );
        }
    }

    /// A multi-line text diffed line by line, with three lines of context.
    fn diff_text(&mut self, indent: usize, before: &str, after: &str) {
        let diff = TextDiff::from_lines(before, after);
        let equal_total = diff
            .iter_all_changes()
            .filter(|c| c.tag() == ChangeTag::Equal)
            .count();
        let mut equal_shown = 0;
        for group in diff.grouped_ops(3) {
            for op in &group {
                for change in diff.iter_changes(op) {
                    let text = change.value().trim_end_matches('\n');
                    match change.tag() {
                        ChangeTag::Equal => {
                            equal_shown += 1;
                            self.comment(indent + 4, text);
                        }
                        ChangeTag::Delete => self.line(indent + 2, Sym::Del, text),
                        ChangeTag::Insert => self.line(indent + 2, Sym::Add, text),
                    }
                }
            }
        }
        let hidden = equal_total - equal_shown;
        if hidden > 0 {
            let plural = if hidden == 1 { "" } else { "s" };
            self.comment(
                indent + 2,
                &format!("# ({hidden} unchanged line{plural} hidden)"),
            );
        }
    }
}

fn is_multiline(s: &str) -> bool {
    s.contains('\n')
}

/// Maps (labels, options) count "elements"; objects count "attributes".
fn is_map_attr(key: &str) -> bool {
    matches!(key, "Labels" | "Options" | "DriverOpts")
}

fn key(k: &str) -> String {
    let ident = k
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if ident {
        k.to_string()
    } else {
        Value::String(k.to_string()).to_string()
    }
}

/// The longest object or list written on one line, as HCL allows (`{ Mode = "vip" }`,
/// `["api"]`): a new or removed object's small parts then read at a glance.
const INLINE_WIDTH: usize = 72;

/// A small object or list (of scalars or small objects, no multi-line text) on one line, when it
/// fits in [`INLINE_WIDTH`]; an empty one is `{}` or `[]`.
fn inline(v: &Value) -> Option<String> {
    let text = match v {
        Value::Object(m) if m.is_empty() => "{}".to_string(),
        Value::Array(items) if items.is_empty() => "[]".to_string(),
        Value::Object(m) => {
            let parts: Option<Vec<String>> = m
                .iter()
                .map(|(k, v)| Some(format!("{} = {}", key(k), inline_part(v)?)))
                .collect();
            format!("{{ {} }}", parts?.join(", "))
        }
        Value::Array(items) => {
            let parts: Option<Vec<String>> = items.iter().map(inline_part).collect();
            format!("[{}]", parts?.join(", "))
        }
        _ => return None,
    };
    (text.chars().count() <= INLINE_WIDTH).then_some(text)
}

fn inline_part(v: &Value) -> Option<String> {
    match v {
        Value::String(text) if is_multiline(text) => None,
        Value::Object(_) | Value::Array(_) => inline(v),
        other => Some(scalar(other)),
    }
}

fn key_width<'a>(keys: impl Iterator<Item = &'a str>) -> usize {
    keys.map(|k| key(k).chars().count()).max().unwrap_or(0)
}

fn scalar(v: &Value) -> String {
    match v {
        Value::String(s) if s.starts_with(RAW) => {
            let s = &s[RAW.len_utf8()..];
            s.split(CUT).next().unwrap_or(s).to_string()
        }
        other => other.to_string(),
    }
}

/// What a change of an edge slot claim means: `# (claims edge slot 03 for shop/production)`.
fn claim_note(c: &Change) -> Option<String> {
    if !edge::is_claim(&c.address) || c.action == Action::NoOp {
        return None;
    }
    let text = |spec: Option<&crate::resource::Spec>| {
        spec.and_then(|s| {
            s.labels()
                .get(label::EDGE_SLOT)
                .cloned()
                .or_else(|| edge::slot_text_of(s.name()).map(String::from))
        })
    };
    let deployment = &c.address.deployment;
    Some(match c.action {
        Action::Delete => format!(
            "# (releases edge slot {} of {deployment})",
            text(c.before.as_ref())?
        ),
        Action::Replace => format!(
            "# (moves {deployment} from edge slot {} to edge slot {})",
            text(c.before.as_ref())?,
            text(c.after.as_ref())?
        ),
        _ => format!(
            "# (claims edge slot {} for {deployment})",
            text(c.after.as_ref())?
        ),
    })
}

/// The stable service a canary's spec belongs to, and the canary's share.
fn canary_of(spec: Option<&crate::resource::Spec>) -> Option<(String, u8)> {
    crate::swarm::release::canary_of(spec?.labels())
}

/// What a change of a canary does to its stable service's traffic:
/// `# (canary of web: receives 20% of its requests once healthy; alone at Host(`canary-…`))`.
pub(super) fn release_note(c: &Change) -> Option<String> {
    let canary = |s: Option<&crate::resource::Spec>| match s {
        Some(crate::resource::Spec::Service(s)) => {
            let (of, share) = crate::swarm::release::canary_of(&s.labels)?;
            let own = format!("traefik.http.routers.{}-", s.name);
            let previews: Vec<&str> = s
                .labels
                .iter()
                .filter(|(k, _)| k.starts_with(&own) && k.ends_with(".rule"))
                .map(|(_, v)| v.as_str())
                .collect();
            Some((of, share, previews.join(", ")))
        }
        _ => None,
    };
    let after = canary(c.after.as_ref());
    let before = canary(c.before.as_ref());
    if before.is_none() && after.is_none() {
        // The stable side: a promotion rolls its tasks under the weights they have.
        let old = c
            .before
            .as_ref()
            .map(|s| crate::swarm::release::weights(s.labels()));
        let new = c
            .after
            .as_ref()
            .map(|s| crate::swarm::release::weights(s.labels()));
        let (old, new) = (old.unwrap_or_default(), new.unwrap_or_default());
        return (c.action == Action::Update && c.restarts_tasks && !old.is_empty() && old != new)
            .then(|| {
                "# (its tasks roll under the weight they have now; the new weight follows once all run)"
                    .to_string()
            });
    }
    Some(match (c.action, before, after) {
        (Action::Delete, Some((of, share, _)), _) => format!(
            "# (canary of {of} goes: the {share}% it received returns to {of})"
        ),
        (_, Some((_, old, _)), Some((of, new, _))) if old != new => format!(
            "# (canary of {of}: its share of {of}'s requests goes from {old}% to {new}%)"
        ),
        (Action::NoOp, ..) => return None,
        (_, _, Some((of, share, previews))) => format!(
            "# (canary of {of}: receives {share}% of its requests while healthy; alone at {previews})"
        ),
        _ => return None,
    })
}

/// When a change to a job runs it, and why: a job runs when it is created and whenever its spec
/// changes; a change of only its trigger label means a service that depends on it changes.
pub(super) fn job_note(c: &Change) -> Option<String> {
    let job = |s: Option<&crate::resource::Spec>| match s {
        Some(crate::resource::Spec::Service(s)) if s.mode.replicated_job.is_some() => {
            Some(s.as_ref().clone())
        }
        _ => None,
    };
    let after = job(c.after.as_ref())?;
    Some(match (c.action, job(c.before.as_ref())) {
        (Action::Create, _) => {
            "# (the job runs once created; what depends on it waits until it exits 0)".to_string()
        }
        (_, Some(before)) if before.labels.contains_key(crate::swarm::label::JOB_LAST_RUN) => {
            "# (the job runs again: its last run did not complete; what depends on it waits until it exits 0)".to_string()
        }
        (_, Some(mut before)) => {
            let mut after = after;
            let trigger = crate::swarm::label::JOB_TRIGGER;
            let changed_trigger = before.labels.remove(trigger) != after.labels.remove(trigger);
            if changed_trigger && before == after {
                "# (the job runs again first: a service that depends on it changes)".to_string()
            } else {
                "# (the job runs again: its spec changes; what depends on it waits until it exits 0)"
                    .to_string()
            }
        }
        _ => return None,
    })
}

fn header(w: &Writer, c: &Change) -> (String, Vec<String>) {
    let addr = c.address.to_string();
    let mut notes = Vec::new();
    let (what, sym) = match c.action {
        Action::Create => {
            if let Some(note) = job_note(c) {
                notes.push(note);
            }
            (format!("# {addr} will be created"), w.sym(Sym::Add))
        }
        Action::Update if job_note(c).is_some() => {
            notes.extend(job_note(c));
            (
                format!("# {addr} will be updated in-place"),
                w.sym(Sym::Chg),
            )
        }
        Action::Update => {
            if c.reason == Some(Reason::UpdateBecauseDependencyReplaced) {
                notes.push("# (because a network or volume it uses is replaced; its tasks are attached to the new one)".into());
            }
            notes.push(if c.restarts_tasks {
                "# (replaces running tasks: the task template or endpoint changes)".to_string()
            } else {
                "# (running tasks are kept)".to_string()
            });
            (
                format!("# {addr} will be updated in-place"),
                w.sym(Sym::Chg),
            )
        }
        Action::Replace => {
            let sym = if c.create_before_destroy {
                format!("{}/{}", w.sym(Sym::Add), w.sym(Sym::Del))
            } else {
                format!("{}/{}", w.sym(Sym::Del), w.sym(Sym::Add))
            };
            if c.create_before_destroy {
                notes.push("# (the new object is created first; the old one is deleted once nothing uses it)".into());
            }
            (format!("# {addr} must be replaced"), sym)
        }
        Action::Delete => {
            notes.push(match c.reason {
                Some(Reason::DeleteBecauseStaleGeneration) => {
                    format!("# (because it is an older generation of {addr})")
                }
                _ if w.destroy => format!(
                    "# (because `berth destroy` removes {})",
                    c.address.deployment
                ),
                _ if w.restore => format!("# (because {addr} is not in the recorded state)"),
                _ => match canary_of(c.before.as_ref()) {
                    Some((of, _)) => format!("# (because service `{of}` declares no canary now)"),
                    None => format!("# (because {addr} is not in configuration)"),
                },
            });
            (format!("# {addr} will be destroyed"), w.sym(Sym::Del))
        }
        Action::NoOp => (String::new(), String::new()),
    };
    if let Some(note) = claim_note(c) {
        notes.push(note);
    }
    notes.extend(release_note(c));
    if c.data_loss {
        notes.push(format!(
            "# WARNING: this destroys the data of volume \"{}\"",
            c.observed.as_ref().map_or(c.name(), |o| &o.name)
        ));
    }
    (format!("{what}\n{sym}"), notes)
}

fn change(w: &mut Writer, c: &Change) {
    let (head, notes) = header(w, c);
    let (what, sym) = head.split_once('\n').unwrap_or((&head, ""));
    let what = w.paint(BOLD, what);
    let _ = writeln!(w.out, "  {what}");
    for n in notes {
        let _ = writeln!(w.out, "  {n}");
    }
    let pad = if sym
        .chars()
        .filter(|c| matches!(c, '+' | '-' | '~' | '/'))
        .count()
        == 3
    {
        ""
    } else {
        "  "
    };
    let _ = writeln!(
        w.out,
        "{pad}{sym} resource \"{}\" \"{}\" {{",
        c.kind(),
        shown_name(c.kind(), c.name())
    );
    let empty = Map::new();
    // The labels berth derives, from the desired spec where there is one.
    let derived = c
        .after
        .as_ref()
        .or(c.before.as_ref())
        .map(|s| derived_labels(&c.address, s))
        .unwrap_or_default();
    let view = |s: &crate::resource::Spec| view(s, &derived);
    match c.action {
        Action::Create => {
            if let Some(Value::Object(mut m)) = c.after.as_ref().map(view) {
                let hidden = route_labels_hidden(&mut m);
                w.all(6, Sym::Add, &m);
                if hidden > 0 {
                    w.comment(
                        8,
                        &format!("# ({hidden} Traefik labels derived from its routes hidden)"),
                    );
                }
            }
        }
        Action::Delete => {
            if let Some(Value::Object(m)) = c.before.as_ref().map(view) {
                let scalars: Map<String, Value> = m
                    .iter()
                    .filter(|(_, v)| !v.is_object() && !v.is_array())
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect();
                w.all(6, Sym::Del, &scalars);
                let hidden = m.len() - scalars.len();
                if hidden > 0 {
                    let plural = if hidden == 1 { "" } else { "s" };
                    w.comment(8, &format!("# ({hidden} attribute{plural} hidden)"));
                }
            }
        }
        Action::Update | Action::Replace => {
            let b = c.before.as_ref().map(view);
            let a = c.after.as_ref().map(view);
            let b = b.as_ref().and_then(Value::as_object).unwrap_or(&empty);
            let a = a.as_ref().and_then(Value::as_object).unwrap_or(&empty);
            w.diff_map(6, b, a, &mut Vec::new(), false);
        }
        Action::NoOp => {}
    }
    w.comment(4, "}");
    w.out.push('\n');
}

/// Leaves out of a new service's labels the Traefik labels berth derives from its routes, except
/// each router's rule (which host and path it answers) and each service's port. A change of any
/// of them still shows in an update's diff, which compares every label.
fn route_labels_hidden(spec: &mut Map<String, Value>) -> usize {
    let Some(Value::Object(labels)) = spec.get_mut("Labels") else {
        return 0;
    };
    let before = labels.len();
    labels.retain(|k, _| {
        !k.starts_with("traefik.")
            || k.ends_with(".rule")
            || k.ends_with(".server.port")
            || crate::swarm::release::is_weight(k)
    });
    before - labels.len()
}

/// One change as the markdown plan shows it in a `diff` block: without colour, and a changed
/// value as a removed and an added line.
pub(super) fn change_for_diff(c: &Change, options: &RenderOptions) -> String {
    let mut w = Writer {
        out: String::new(),
        color: false,
        forcing: &c.replace_paths,
        split: true,
        destroy: options.destroy,
        restore: options.restore,
    };
    change(&mut w, c);
    w.out
}

/// `shop/production  cpu 0.5 / 2 (25%) · memory 256MiB / 1GiB (25%)`.
pub(super) fn allocation_line(a: &Allocation) -> String {
    let items: Vec<String> = a
        .items
        .iter()
        .map(|i| match (i.quota, i.percent) {
            (Some(q), Some(p)) => {
                format!(
                    "{} {} / {} ({p}%)",
                    i.measure.as_str(),
                    i.measure.format_value(i.used),
                    i.measure.format_value(q)
                )
            }
            _ => format!("{} {}", i.measure.as_str(), i.measure.format_value(i.used)),
        })
        .collect();
    if items.is_empty() {
        "nothing allocated".into()
    } else {
        items.join(" · ")
    }
}

/// Renders the whole plan for a terminal.
pub fn human(plan: &Plan, options: &RenderOptions) -> String {
    let mut w = Writer {
        out: String::new(),
        color: options.color,
        forcing: &[],
        split: false,
        destroy: options.destroy,
        restore: options.restore,
    };
    if plan.is_empty() {
        let msg = w.paint(&format!("{BOLD}{GREEN}"), "No changes.");
        let _ = writeln!(
            w.out,
            "{msg} Your infrastructure matches the configuration."
        );
        let against = match options.against {
            super::Against::Cluster => "the cluster",
            super::Against::RecordedState => {
                "the recorded state (the cluster was not read: `--refresh=false`)"
            }
        };
        let _ = writeln!(w.out, "\nberth compared the configuration with {against} and found no differences, so no changes are needed.");
    } else {
        let _ = writeln!(w.out, "berth will perform the following actions:\n");
        for c in plan.actionable() {
            let mut cw = Writer {
                out: String::new(),
                color: options.color,
                forcing: &c.replace_paths,
                split: false,
                destroy: options.destroy,
                restore: options.restore,
            };
            change(&mut cw, c);
            w.out.push_str(&cw.out);
        }
        let s = plan.summary();
        let text = format!(
            "Plan: {} to add, {} to change, {} to destroy.",
            s.add, s.change, s.destroy
        );
        let text = w.paint(BOLD, &text);
        let _ = writeln!(w.out, "{text}");
    }
    let allocations: Vec<&Allocation> = plan
        .allocations
        .iter()
        .filter(|a| !a.items.is_empty())
        .collect();
    if !allocations.is_empty() {
        let _ = writeln!(w.out, "\nAllocations (used / quota):");
        let width = allocations
            .iter()
            .map(|a| a.deployment.to_string().len())
            .max()
            .unwrap_or(0);
        for a in allocations {
            let _ = writeln!(
                w.out,
                "  {:width$}  {}",
                a.deployment.to_string(),
                allocation_line(a)
            );
        }
    }
    for n in &plan.notes {
        let _ = writeln!(w.out, "\nNote: {n}");
    }
    w.out
}
