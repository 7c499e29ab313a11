//! `berth explain CODE`: the long explanation of a diagnostic code, like `rustc --explain`.

use super::failure::Failure;
use super::ExplainArgs;
use berth_lang::{Code, Diagnostic};
use std::process::ExitCode;

pub fn run(args: &ExplainArgs) -> Result<ExitCode, Failure> {
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
            let help =
                match berth_lang::suggest::closest(&text.to_ascii_uppercase(), all.iter().copied())
                {
                    Some(best) => {
                        format!("did you mean `{best}`? `berth explain` lists every code")
                    }
                    None => "`berth explain` lists every code".into(),
                };
            Err(Failure::Found(Box::new(
                Diagnostic::unlocated(
                    Code::Usage,
                    format!("`{text}` is not a berth diagnostic code"),
                )
                .with_help(help),
            )))
        }
    }
}
