//! Who owns what in a configuration. In a shared configuration (one with `platform.berth`), the
//! platform's file declares the platform and every other file `<name>.berth` belongs to project
//! `<name>`; otherwise a diagnostic belongs to the project block it lies in. Ownership lets a
//! plan of one project leave out other projects whose errors are their own, so that one tenant's
//! broken file never blocks another tenant.

use super::PLATFORM_FILE;
use crate::diagnostic::Diagnostic;
use crate::span::{SourceMap, Span};
use crate::syntax::{File, ItemKind};
use std::collections::BTreeSet;

/// Whether the configuration is shared by tenants: it has a `platform.berth`.
pub(crate) fn shared(files: &[File], sources: &SourceMap) -> bool {
    files.iter().any(|f| file_name(f, sources) == PLATFORM_FILE)
}

pub(crate) fn file_name<'s>(f: &File, sources: &'s SourceMap) -> &'s str {
    let name = sources.get(f.id).name.as_str();
    name.rsplit('/').next().unwrap_or(name)
}

/// The project a file belongs to in a shared configuration: `shop` for `shop.berth`.
pub(crate) fn file_project(f: &File, sources: &SourceMap) -> Option<String> {
    let name = file_name(f, sources);
    (name != PLATFORM_FILE).then(|| name.strip_suffix(".berth").unwrap_or(name).to_string())
}

/// The project a diagnostic at `span` belongs to: in a shared configuration the project its
/// file belongs to, otherwise the project block it lies in. `None` for the platform's
/// declarations and whatever belongs to no project.
pub(crate) fn owner(span: Span, files: &[File], sources: &SourceMap) -> Option<String> {
    let file = files.iter().find(|f| f.id == span.file)?;
    if shared(files, sources) {
        return file_project(file, sources);
    }
    file.body.items.iter().find_map(|item| match &item.kind {
        ItemKind::Block(b)
            if b.kind.text == "project"
                && item.span.start <= span.start
                && span.end <= item.span.end =>
        {
            b.label.as_ref().map(|l| l.text.clone())
        }
        _ => None,
    })
}

/// The other projects to leave out when every error belongs to one of them and not to the
/// selected project or the platform.
pub(crate) fn others_to_leave_out(
    diagnostics: &[Diagnostic],
    files: &[File],
    sources: &SourceMap,
    selected: &str,
) -> Option<BTreeSet<String>> {
    let mut out = BTreeSet::new();
    for d in diagnostics.iter().filter(|d| d.is_error()) {
        match d.span.and_then(|span| owner(span, files, sources)) {
            Some(p) if p != selected => {
                out.insert(p);
            }
            _ => return None,
        }
    }
    Some(out)
}

/// A file without the blocks of the projects in `exclude` (in a shared configuration, without
/// anything at all when the file belongs to one of them).
pub(crate) fn without_projects(f: &File, exclude: &BTreeSet<String>, sources: &SourceMap) -> File {
    let mut f = f.clone();
    let whole = file_project(&f, sources).is_some_and(|p| exclude.contains(&p));
    f.body.items.retain(|item| match &item.kind {
        _ if whole => false,
        ItemKind::Block(b) if b.kind.text == "project" => {
            !b.label.as_ref().is_some_and(|l| exclude.contains(&l.text))
        }
        _ => true,
    });
    f
}
