//! `berth explain CODE`: the long explanation of a diagnostic code, like `rustc --explain`.

use super::{ExplainArgs, EXIT_ERROR};
use berth_lang::Code;
use std::process::ExitCode;

pub fn run(args: &ExplainArgs) -> anyhow::Result<ExitCode> {
    let Some(text) = &args.code else {
        for code in Code::ALL {
            println!("{code}  {}", code.title());
        }
        return Ok(ExitCode::SUCCESS);
    };
    match Code::parse(text) {
        Some(code) => {
            println!("{code}: {}\n\n{}", code.title(), code.explanation());
            Ok(ExitCode::SUCCESS)
        }
        None => {
            let all: Vec<&str> = Code::ALL.iter().map(|c| c.as_str()).collect();
            eprintln!("error: `{text}` is not a berth diagnostic code");
            if let Some(best) =
                berth_lang::suggest::closest(&text.to_ascii_uppercase(), all.iter().copied())
            {
                eprintln!("help: did you mean `{best}`?");
            }
            eprintln!("help: `berth explain` lists every code");
            Ok(ExitCode::from(EXIT_ERROR))
        }
    }
}
