//! A tiny command-line parser: each subcommand needs only a few positional arguments and
//! `--name value` options, and the static binary stays small without an argument-parsing crate.

use std::str::FromStr;

/// The arguments of one subcommand, split into positionals and options.
#[derive(Debug, Default)]
pub struct Args {
    positionals: Vec<String>,
    options: Vec<(String, String)>,
}

impl Args {
    /// Splits `args` into positionals and options. Every option takes a value, given as
    /// `--name value` or `--name=value`; `known` lists the accepted names without dashes.
    pub fn parse(args: impl IntoIterator<Item = String>, known: &[&str]) -> Result<Args, String> {
        let mut parsed = Args::default();
        let mut args = args.into_iter();
        while let Some(arg) = args.next() {
            let Some(option) = arg.strip_prefix("--") else {
                parsed.positionals.push(arg);
                continue;
            };
            let (name, value) = match option.split_once('=') {
                Some((name, value)) => (name.to_string(), value.to_string()),
                None => {
                    let value = args
                        .next()
                        .ok_or_else(|| format!("--{option} needs a value"))?;
                    (option.to_string(), value)
                }
            };
            if !known.contains(&name.as_str()) {
                return Err(format!("unknown option --{name}"));
            }
            parsed.options.push((name, value));
        }
        Ok(parsed)
    }

    pub fn positionals(&self) -> &[String] {
        &self.positionals
    }

    /// The value of an option; when it is given twice, the last one wins.
    pub fn value(&self, name: &str) -> Option<&str> {
        self.options
            .iter()
            .rev()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The value of a numeric option, or `default` when it is absent.
    pub fn number<T: FromStr>(&self, name: &str, default: T) -> Result<T, String> {
        match self.value(name) {
            None => Ok(default),
            Some(text) => text
                .parse()
                .map_err(|_| format!("--{name} must be a number, not {text:?}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Args, String> {
        Args::parse(args.iter().map(|s| s.to_string()), &["count", "host"])
    }

    #[test]
    fn splits_positionals_and_options() {
        let args = parse(&["http://a/", "--count", "3", "--host=demo.test"]).unwrap();
        assert_eq!(args.positionals(), ["http://a/"]);
        assert_eq!(args.number("count", 1u32), Ok(3));
        assert_eq!(args.value("host"), Some("demo.test"));
        assert_eq!(args.number("timeout-ms", 7u64), Ok(7));
    }

    #[test]
    fn reports_mistakes() {
        assert_eq!(parse(&["--count"]).unwrap_err(), "--count needs a value");
        assert_eq!(
            parse(&["--bogus", "1"]).unwrap_err(),
            "unknown option --bogus"
        );
        assert!(parse(&["--count", "x"])
            .unwrap()
            .number("count", 1u32)
            .is_err());
    }
}
