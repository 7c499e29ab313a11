//! What a spec looks like in a plan: Docker's JSON with its field names, except that a secret
//! gets a `Data` attribute that is only ever shown as `(sensitive value)`, and a config's base64
//! `Data` is decoded so that a change shows as a line diff.

use crate::resource::{label, Spec};
use crate::units;
use serde_json::Value;

/// Marks a string that is printed as it is, not quoted. What follows [`CUT`] only makes two
/// markers compare unequal (a secret's digest) and is never shown.
pub const RAW: char = '\u{1}';
pub const CUT: char = '\u{2}';

pub const SENSITIVE: &str = "(sensitive value)";

pub fn view(spec: &Spec) -> Value {
    let mut v = spec.to_docker_json();
    match spec {
        Spec::Secret(s) => {
            let digest = s.labels.get(label::DIGEST).cloned().unwrap_or_default();
            v["Data"] = Value::String(format!("{RAW}{SENSITIVE}{CUT}{digest}"));
        }
        Spec::Config(c) => {
            if let Some(text) = c
                .data
                .as_deref()
                .and_then(units::base64_decode)
                .and_then(|b| String::from_utf8(b).ok())
            {
                v["Data"] = Value::String(text);
            }
        }
        _ => {}
    }
    v
}
