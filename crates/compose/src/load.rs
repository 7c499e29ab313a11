//! Reading compose files into one document, as Compose does before it looks at services: each
//! file parsed as YAML (anchors, aliases and `<<` merge keys resolved), `include`d files first,
//! later files merged over earlier ones, and every service's `extends` resolved. Also where a
//! key is written, so that diagnostics point at the compose file.

use crate::Fs;
use berth_lang::{Code, Diagnostic, SourceFile, SourceMap, Span};
use serde_yaml::{Mapping, Value};
use std::collections::BTreeSet;
use std::path::{Component, Path, PathBuf};

/// The compose files read, and where their keys are.
pub struct Sources {
    pub map: SourceMap,
    /// The path of each file of `map`, by file id.
    pub paths: Vec<PathBuf>,
    /// The directory relative paths are resolved against: the first file's.
    pub dir: PathBuf,
}

impl Sources {
    pub fn new(dir: PathBuf) -> Sources {
        Sources {
            map: SourceMap::new(),
            paths: Vec::new(),
            dir,
        }
    }

    pub fn add(&mut self, path: &Path, text: &str) -> berth_lang::FileId {
        self.paths.push(path.to_path_buf());
        self.map.add(SourceFile::new(
            path.display().to_string(),
            text.to_string(),
        ))
    }

    /// Where the key at `path` (`["services", "web", "privileged"]`) is written, in the last
    /// file that writes it; `None` when no file does in a way this finds.
    pub fn span(&self, path: &[&str]) -> Option<Span> {
        for (id, file) in self.map.files().collect::<Vec<_>>().into_iter().rev() {
            if let Some((start, len)) = locate(&file.text, path) {
                return Some(Span::new(id, start, start + len));
            }
        }
        None
    }

    /// A diagnostic at the key `path`, unlocated when it cannot be found.
    pub fn at(&self, code: Code, path: &[&str], message: impl Into<String>) -> Diagnostic {
        match self.span(path) {
            Some(span) => Diagnostic::new(code, span, message),
            None => Diagnostic::unlocated(code, message),
        }
    }

    /// `rel` (a path written in a compose file) inside the compose file's directory, or `None`
    /// when it is absolute or leaves the directory.
    pub fn inside(&self, rel: &str) -> Option<PathBuf> {
        let p = Path::new(rel);
        let mut clean = PathBuf::new();
        for c in p.components() {
            match c {
                Component::Normal(part) => clean.push(part),
                Component::CurDir => {}
                _ => return None,
            }
        }
        (!clean.as_os_str().is_empty()).then(|| self.dir.join(clean))
    }
}

/// The byte offset and length of the last segment of `path` written as a YAML key, each key
/// under the one before (by indentation). List items (`- key: ...`) count as keys too.
fn locate(text: &str, path: &[&str]) -> Option<(usize, usize)> {
    let mut start = 0;
    let mut parent: Option<usize> = None;
    let mut found = None;
    for seg in path {
        let mut off = start;
        let mut hit = None;
        // Keys directly under the parent share the indentation of its first child.
        let mut child: Option<usize> = None;
        for line in text[start..].split_inclusive('\n') {
            let content = line.trim_end_matches(['\n', '\r']);
            let t = content.trim_start();
            let indent = content.len() - t.len();
            if t.is_empty() || t.starts_with('#') {
                off += line.len();
                continue;
            }
            if parent.is_some_and(|p| indent <= p) {
                break;
            }
            let item = t.strip_prefix("- ").unwrap_or(t);
            let lead = t.len() - item.len();
            let level = *child.get_or_insert(indent);
            if indent != level {
                off += line.len();
                continue;
            }
            let bare = item.trim_start_matches(['"', '\'']);
            let quote = item.len() - bare.len();
            if let Some(after) = bare.strip_prefix(seg) {
                let after = after.trim_start_matches(['"', '\'']);
                if after.starts_with(':') {
                    hit = Some((off + indent + lead + quote, seg.len(), indent + lead));
                    start = off + line.len();
                    break;
                }
            }
            off += line.len();
        }
        let (at, len, indent) = hit?;
        parent = Some(indent);
        found = Some((at, len));
    }
    found
}

/// Parses one compose file: YAML with merge keys applied, a mapping at the top.
pub fn parse(id: berth_lang::FileId, text: &str) -> Result<Mapping, Box<Diagnostic>> {
    let mut value: Value = serde_yaml::from_str(text).map_err(|e| {
        let at = e.location().map(|l| l.index()).unwrap_or(0).min(text.len());
        let end = (at + 1).min(text.len());
        Box::new(Diagnostic::new(
            Code::ComposeUnreadable,
            Span::new(id, at, end),
            format!("not valid YAML: {}", first_line(&e.to_string())),
        ))
    })?;
    value.apply_merge().map_err(|e| {
        Box::new(Diagnostic::new(
            Code::ComposeUnreadable,
            Span::new(id, 0, 0),
            format!("a `<<` merge key cannot be applied: {e}"),
        ))
    })?;
    merge_nested(&mut value);
    match value {
        Value::Mapping(m) => Ok(m),
        Value::Null => Ok(Mapping::new()),
        _ => Err(Box::new(Diagnostic::new(
            Code::ComposeShape,
            Span::new(id, 0, 0),
            "a compose file is a mapping of top-level keys (`services:` ...)",
        ))),
    }
}

/// `apply_merge` leaves merge keys inside sequences and tagged values alone on some inputs;
/// apply it to every mapping, however deep.
fn merge_nested(v: &mut Value) {
    match v {
        Value::Mapping(m) => {
            if m.contains_key("<<") {
                let mut tmp = Value::Mapping(std::mem::take(m));
                let _ = tmp.apply_merge();
                if let Value::Mapping(done) = tmp {
                    *m = done;
                }
            }
            for (_, child) in m.iter_mut() {
                merge_nested(child);
            }
        }
        Value::Sequence(s) => s.iter_mut().for_each(merge_nested),
        Value::Tagged(t) => merge_nested(&mut t.value),
        _ => {}
    }
}

fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or(s)
}

/// Keys whose lists replace the earlier file's instead of adding to them.
const REPLACED_LISTS: [&str; 4] = ["command", "entrypoint", "test", "args"];

/// Merges `over` into `base` as Compose merges several files and `extends`: mappings key by key,
/// lists appended (without repeats), except commands, which replace.
pub fn merge(base: &mut Value, over: Value, key: &str) {
    match (base, over) {
        (Value::Mapping(b), Value::Mapping(o)) => {
            for (k, v) in o {
                let name = k.as_str().unwrap_or("").to_string();
                match b.get_mut(&k) {
                    Some(existing) => merge(existing, v, &name),
                    None => {
                        b.insert(k, v);
                    }
                }
            }
        }
        (Value::Sequence(b), Value::Sequence(o)) if !REPLACED_LISTS.contains(&key) => {
            for v in o {
                if !b.contains(&v) {
                    b.push(v);
                }
            }
        }
        (b, o) => *b = o,
    }
}

/// Reads the files of `paths` (the first names the project's directory) with their includes,
/// merged in order.
pub fn read(
    paths: &[PathBuf],
    fs: &dyn Fs,
    sources: &mut Sources,
    diags: &mut Vec<Diagnostic>,
) -> Option<Mapping> {
    let mut doc = Value::Mapping(Mapping::new());
    for path in paths {
        let Some(text) = fs.read(path) else {
            diags.push(Diagnostic::unlocated(
                Code::ComposeUnreadable,
                format!("cannot read `{}`", path.display()),
            ));
            continue;
        };
        let id = sources.add(path, &text);
        match parse(id, &text) {
            Ok(mut m) => {
                if let Some(inc) = m.remove("include") {
                    for file in include_paths(&inc) {
                        match sources.inside(&file) {
                            Some(p) => {
                                if let Some(included) = read(&[p], fs, sources, diags) {
                                    merge(&mut doc, Value::Mapping(included), "");
                                }
                            }
                            None => diags.push(sources.at(
                                Code::ComposeFileOutside,
                                &["include"],
                                format!(
                                    "`include: {file}` is outside the compose file's directory"
                                ),
                            )),
                        }
                    }
                }
                merge(&mut doc, Value::Mapping(m), "")
            }
            Err(d) => diags.push(*d),
        }
    }
    match doc {
        Value::Mapping(m) => Some(m),
        _ => None,
    }
}

fn include_paths(v: &Value) -> Vec<String> {
    let items = match v {
        Value::Sequence(s) => s.clone(),
        other => vec![other.clone()],
    };
    let mut out = Vec::new();
    for item in items {
        match item {
            Value::String(s) => out.push(s),
            Value::Mapping(m) => match m.get("path") {
                Some(Value::String(s)) => out.push(s.clone()),
                Some(Value::Sequence(list)) => {
                    out.extend(list.iter().filter_map(|v| v.as_str().map(str::to_string)))
                }
                _ => {}
            },
            _ => {}
        }
    }
    out
}

/// Resolves every service's `extends` in `services`, in place.
pub fn extends(
    services: &mut Mapping,
    fs: &dyn Fs,
    sources: &mut Sources,
    diags: &mut Vec<Diagnostic>,
) {
    let names: Vec<String> = services
        .keys()
        .filter_map(|k| k.as_str().map(str::to_string))
        .collect();
    let snapshot = services.clone();
    for name in names {
        let mut seen = BTreeSet::new();
        if let Some(done) = resolve(&name, &snapshot, None, fs, sources, diags, &mut seen) {
            services.insert(Value::String(name), done);
        }
    }
}

/// The service `name` of `services` with its `extends` chain merged in.
fn resolve(
    name: &str,
    services: &Mapping,
    file: Option<&str>,
    fs: &dyn Fs,
    sources: &mut Sources,
    diags: &mut Vec<Diagnostic>,
    seen: &mut BTreeSet<(String, String)>,
) -> Option<Value> {
    let key = (file.unwrap_or("").to_string(), name.to_string());
    let here = ["services", name, "extends"];
    if !seen.insert(key) || seen.len() > 32 {
        diags.push(sources.at(
            Code::ComposeExtends,
            &here,
            format!("service `{name}` extends itself through `extends`"),
        ));
        return None;
    }
    let mut svc = services.get(name)?.clone();
    let Some(Value::Mapping(m)) = Some(&mut svc) else {
        return Some(svc);
    };
    let Some(ext) = m.remove("extends") else {
        return Some(svc);
    };
    let (base_name, base_file) = match &ext {
        Value::String(s) => (s.clone(), None),
        Value::Mapping(e) => (
            e.get("service")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string(),
            e.get("file").and_then(Value::as_str).map(str::to_string),
        ),
        _ => (String::new(), None),
    };
    let base = match &base_file {
        None => resolve(&base_name, services, file, fs, sources, diags, seen),
        Some(f) => {
            let Some(path) = sources.inside(f) else {
                diags.push(sources.at(
                    Code::ComposeFileOutside,
                    &here,
                    format!("`extends` reads `{f}`, outside the compose file's directory"),
                ));
                return None;
            };
            let Some(text) = fs.read(&path) else {
                diags.push(sources.at(
                    Code::ComposeExtends,
                    &here,
                    format!("`extends` reads `{f}`, which cannot be read"),
                ));
                return None;
            };
            let id = sources.add(&path, &text);
            let other = match parse(id, &text) {
                Ok(m) => m,
                Err(d) => {
                    diags.push(*d);
                    return None;
                }
            };
            let other_services = match other.get("services") {
                Some(Value::Mapping(s)) => s.clone(),
                _ => Mapping::new(),
            };
            resolve(
                &base_name,
                &other_services,
                Some(f),
                fs,
                sources,
                diags,
                seen,
            )
        }
    };
    let Some(mut base) = base else {
        if !diags.iter().any(|d| d.code == Code::ComposeExtends) {
            diags.push(sources.at(
                Code::ComposeExtends,
                &here,
                format!("service `{name}` extends `{base_name}`, which does not exist"),
            ));
        }
        return None;
    };
    merge(&mut base, Value::Mapping(m.clone()), "");
    Some(base)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locates_nested_keys_under_their_parent() {
        let text = "services:\n  db:\n    image: x\n  web:\n    image: y\n    privileged: true\n";
        let (at, len) = locate(text, &["services", "web", "privileged"]).unwrap();
        assert_eq!(&text[at..at + len], "privileged");
        assert!(locate(text, &["services", "db", "privileged"]).is_none());
        // A key of the same name deeper down is not the service.
        let text = "services:\n  web:\n    depends_on:\n      db:\n        condition: x\n  db:\n    healthcheck: {}\n";
        let (at, _) = locate(text, &["services", "db", "healthcheck"]).unwrap();
        assert!(text[..at].ends_with("  db:\n    "));
    }

    #[test]
    fn anchors_and_merge_keys_are_resolved() {
        let text = "x-base: &base\n  image: a\n  restart: always\nservices:\n  web:\n    <<: *base\n    image: b\n";
        let m = parse(berth_lang::FileId(0), text).unwrap();
        let web = &m["services"]["web"];
        assert_eq!(web["image"], Value::from("b"));
        assert_eq!(web["restart"], Value::from("always"));
    }
}
