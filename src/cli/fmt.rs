//! `berth fmt`: rewrite files in canonical layout; `--check` only reports.

use super::failure::Failure;
use super::{load, FmtArgs, EXIT_ERROR};
use berth_lang::{FileId, SourceFile, SourceMap};
use std::process::ExitCode;

pub fn run(args: &FmtArgs) -> Result<ExitCode, Failure> {
    let files = if args.path.is_dir() {
        load::berth_files(&args.path)?
    } else {
        vec![args.path.clone()]
    };
    let check = args.check || args.diff;
    let mut unformatted = 0;
    let mut failed = false;
    for path in files {
        let name = load::display(&path);
        let bytes = std::fs::read(&path).map_err(|source| load::LoadError::Io {
            path: path.clone(),
            source,
        })?;
        let Ok(text) = String::from_utf8(bytes.clone()) else {
            let analysis = berth_lang::analyze(
                &name,
                vec![berth_lang::Input {
                    name: name.clone(),
                    bytes,
                }],
                &Default::default(),
            );
            load::report(&analysis, super::Format::Human);
            failed = true;
            continue;
        };
        match berth_lang::fmt::format_source(FileId(0), &text) {
            Ok(formatted) => {
                if formatted == text {
                    continue;
                }
                unformatted += 1;
                if check {
                    println!("{name}");
                    if args.diff {
                        let diff = similar::TextDiff::from_lines(&text, &formatted);
                        print!(
                            "{}",
                            diff.unified_diff()
                                .header(&name, &format!("{name} (formatted)"))
                        );
                    }
                } else {
                    std::fs::write(&path, formatted).map_err(|source| load::LoadError::Io {
                        path: path.clone(),
                        source,
                    })?;
                    eprintln!("formatted {name}");
                }
            }
            Err(diagnostics) => {
                let mut sources = SourceMap::new();
                sources.add(SourceFile::new(name.clone(), text));
                eprint!(
                    "{}",
                    berth_lang::render::human(
                        &diagnostics,
                        &sources,
                        berth_lang::render::Style {
                            color: super::output::color_stderr(),
                            width: 100
                        }
                    )
                );
                failed = true;
            }
        }
    }
    if failed || (check && unformatted > 0) {
        return Ok(ExitCode::from(EXIT_ERROR));
    }
    Ok(ExitCode::SUCCESS)
}
