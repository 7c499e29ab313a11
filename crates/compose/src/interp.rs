//! Compose's interpolation: `${VAR}`, `${VAR:-default}`, `${VAR-default}`, `${VAR?error}`,
//! `${VAR:?error}`, `$VAR` and `$$` for a literal `$`, as the Compose Specification defines
//! them. A string becomes a [`Text`] of literal parts and variables; the importer writes a
//! variable as a berth variable where berth takes a string, and fixes it to its value where
//! berth needs a fixed one.

use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Part {
    Lit(String),
    /// A compose variable, by its compose name.
    Var(String),
}

/// An interpolated string.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Text(pub Vec<Part>);

impl Text {
    pub fn literal(s: &str) -> Text {
        Text(vec![Part::Lit(s.to_string())])
    }

    pub fn has_vars(&self) -> bool {
        self.0.iter().any(|p| matches!(p, Part::Var(_)))
    }

    /// The text with every variable replaced by its value, or the first variable without one.
    pub fn resolve(&self, vars: &Vars) -> Result<String, String> {
        let mut out = String::new();
        for p in &self.0 {
            match p {
                Part::Lit(s) => out.push_str(s),
                Part::Var(v) => match vars.value(v) {
                    Some(value) => out.push_str(value),
                    None => return Err(v.clone()),
                },
            }
        }
        Ok(out)
    }
}

/// What the compose files say of one variable.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Var {
    /// From `.env` (which wins) or the first `${VAR:-default}`.
    pub default: Option<String>,
    /// From `.env`.
    pub from_env_file: bool,
    /// The message of `${VAR?message}`.
    pub required: Option<String>,
}

/// Every variable the compose files interpolate.
#[derive(Debug, Clone, Default)]
pub struct Vars(pub BTreeMap<String, Var>);

impl Vars {
    /// Values of a `.env` file: `NAME=value` lines, `#` comments, optional quotes and `export`.
    pub fn with_env_file(text: &str) -> Vars {
        let mut vars = Vars::default();
        for line in text.lines() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let line = line.strip_prefix("export ").unwrap_or(line);
            let Some((name, value)) = line.split_once('=') else {
                continue;
            };
            let value = value.trim();
            let value = if value.len() >= 2
                && ((value.starts_with('"') && value.ends_with('"'))
                    || (value.starts_with('\'') && value.ends_with('\'')))
            {
                value[1..value.len() - 1].to_string()
            } else {
                // An unquoted value ends at ` #`.
                value.split(" #").next().unwrap_or("").trim().to_string()
            };
            vars.0.insert(
                name.trim().to_string(),
                Var {
                    default: Some(value),
                    from_env_file: true,
                    required: None,
                },
            );
        }
        vars
    }

    pub fn value(&self, name: &str) -> Option<&str> {
        self.0.get(name).and_then(|v| v.default.as_deref())
    }

    fn note(&mut self, name: &str, default: Option<&str>, required: Option<&str>) {
        let v = self.0.entry(name.to_string()).or_default();
        if v.default.is_none() {
            v.default = default.map(str::to_string);
        }
        if v.required.is_none() {
            v.required = required.map(str::to_string);
        }
    }
}

fn is_name_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_'
}

fn is_name(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// Reads the interpolations of `s`, noting each variable (with its default) in `vars`.
pub fn parse(s: &str, vars: &mut Vars) -> Result<Text, String> {
    let mut parts = Vec::new();
    let mut lit = String::new();
    let mut rest = s;
    while let Some(pos) = rest.find('$') {
        lit.push_str(&rest[..pos]);
        let after = &rest[pos + 1..];
        if let Some(r) = after.strip_prefix('$') {
            lit.push('$');
            rest = r;
        } else if let Some(inner) = after.strip_prefix('{') {
            let end = closing(inner).ok_or_else(|| format!("`${{` without its `}}` in `{s}`"))?;
            let body = &inner[..end];
            let name_len = body.find(|c: char| !is_name(c)).unwrap_or(body.len());
            let name = &body[..name_len];
            if name.is_empty() || !name.starts_with(is_name_start) {
                return Err(format!("`${{{body}}}` does not start with a variable name"));
            }
            let op = &body[name_len..];
            let (default, required) = if op.is_empty() {
                (None, None)
            } else if let Some(d) = op.strip_prefix(":-").or_else(|| op.strip_prefix('-')) {
                (Some(d), None)
            } else if let Some(e) = op.strip_prefix(":?").or_else(|| op.strip_prefix('?')) {
                (None, Some(if e.is_empty() { "required" } else { e }))
            } else if op.starts_with(":+") || op.starts_with('+') {
                return Err(format!(
                    "`${{{body}}}` (a value only when the variable is set) has no berth equivalent"
                ));
            } else {
                return Err(format!("`${{{body}}}` is not a compose interpolation"));
            };
            if default.is_some_and(|d| d.contains('$')) {
                return Err(format!(
                    "`${{{body}}}` nests an interpolation in its default"
                ));
            }
            vars.note(name, default, required);
            if !lit.is_empty() {
                parts.push(Part::Lit(std::mem::take(&mut lit)));
            }
            parts.push(Part::Var(name.to_string()));
            rest = &inner[end + 1..];
        } else if after.starts_with(is_name_start) {
            let len = after.find(|c: char| !is_name(c)).unwrap_or(after.len());
            vars.note(&after[..len], None, None);
            if !lit.is_empty() {
                parts.push(Part::Lit(std::mem::take(&mut lit)));
            }
            parts.push(Part::Var(after[..len].to_string()));
            rest = &after[len..];
        } else {
            // A `$` followed by anything else is literal.
            lit.push('$');
            rest = after;
        }
    }
    lit.push_str(rest);
    if !lit.is_empty() {
        parts.push(Part::Lit(lit));
    }
    Ok(Text(parts))
}

/// The position of the `}` closing an interpolation, braces nested.
fn closing(s: &str) -> Option<usize> {
    let mut depth = 0usize;
    for (i, c) in s.char_indices() {
        match c {
            '{' => depth += 1,
            '}' if depth == 0 => return Some(i),
            '}' => depth -= 1,
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> (Text, Vars) {
        let mut vars = Vars::default();
        let t = parse(s, &mut vars).unwrap();
        (t, vars)
    }

    #[test]
    fn every_form_of_the_specification() {
        let (t, vars) = p("a${X}b${Y:-1}c${Z-2}d${W?need}e${V:?}f$$g$U h$");
        assert_eq!(
            t.0,
            vec![
                Part::Lit("a".into()),
                Part::Var("X".into()),
                Part::Lit("b".into()),
                Part::Var("Y".into()),
                Part::Lit("c".into()),
                Part::Var("Z".into()),
                Part::Lit("d".into()),
                Part::Var("W".into()),
                Part::Lit("e".into()),
                Part::Var("V".into()),
                Part::Lit("f$g".into()),
                Part::Var("U".into()),
                Part::Lit(" h$".into()),
            ]
        );
        assert_eq!(vars.value("Y"), Some("1"));
        assert_eq!(vars.value("Z"), Some("2"));
        assert_eq!(vars.0["W"].required.as_deref(), Some("need"));
        assert_eq!(vars.value("X"), None);
    }

    #[test]
    fn env_file_values_win_over_defaults() {
        let mut vars = Vars::with_env_file("# c\nexport TAG=\"1.2\"\nPORT=80 # web\n");
        let t = parse("app:${TAG:-latest}", &mut vars).unwrap();
        assert_eq!(t.resolve(&vars).unwrap(), "app:1.2");
        assert_eq!(vars.value("PORT"), Some("80"));
    }

    #[test]
    fn malformed_interpolations_are_errors() {
        let mut vars = Vars::default();
        assert!(parse("${X", &mut vars).is_err());
        assert!(parse("${1X}", &mut vars).is_err());
        assert!(parse("${X:+y}", &mut vars).is_err());
        assert!(parse("${X/y}", &mut vars).is_err());
    }
}
