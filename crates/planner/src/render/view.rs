//! What a spec looks like in a plan: Docker's JSON with its field names, except that a secret
//! gets a `Data` attribute that is only ever shown as `(sensitive value)`, a config's base64
//! `Data` is decoded so that a change shows as a line diff, and nothing that derives from a
//! secret's value is shown (see [`redact`]).

use crate::compile::redacted_content_name;
use crate::resource::{label, Kind, Spec};
use crate::units;
use serde_json::Value;

/// Marks a string that is printed as it is, not quoted. What follows [`CUT`] only makes two
/// markers compare unequal (a secret's digest) and is never shown.
pub const RAW: char = '\u{1}';
pub const CUT: char = '\u{2}';

pub const SENSITIVE: &str = "(sensitive value)";

/// What a rendered plan shows instead of something derived from a secret's value.
enum Hidden {
    /// The `berth.digest` label (the value's sha256) or the value itself.
    Sensitive,
    /// A secret's content name without its digest part: `shop_api_token_…`.
    Name(String),
}

/// Hides what derives from a secret's value in Docker's JSON of `spec`: a secret's `Name` (its
/// digest part) and its `berth.digest` label, and the `SecretName` of each secret a service
/// mounts. `mark` says how a hidden value is written; `original` is what it hides. Configs are
/// not secret (their content is in the configuration) and keep their digests.
fn redact(spec: &Spec, v: &mut Value, mark: &dyn Fn(Hidden, &str) -> Value) {
    match spec.kind() {
        Kind::Secret => {
            if let Some(digest) = v
                .pointer_mut(&format!("/Labels/{}", label::DIGEST))
                .filter(|d| d.is_string())
            {
                let original = digest.as_str().unwrap_or_default().to_string();
                *digest = mark(Hidden::Sensitive, &original);
            }
            if let Some(Value::String(name)) = v.get("Name") {
                let original = name.clone();
                v["Name"] = mark(Hidden::Name(redacted_content_name(&original)), &original);
            }
        }
        Kind::Service => {
            let Some(Value::Array(refs)) = v.pointer_mut("/TaskTemplate/ContainerSpec/Secrets")
            else {
                return;
            };
            for r in refs {
                if let Some(Value::String(name)) = r.get("SecretName") {
                    let original = name.clone();
                    r["SecretName"] =
                        mark(Hidden::Name(redacted_content_name(&original)), &original);
                }
            }
        }
        _ => {}
    }
}

/// The Swarm name a rendered plan shows for an object: a secret's without its digest part.
pub fn shown_name(kind: Kind, name: &str) -> String {
    match kind {
        Kind::Secret => redacted_content_name(name),
        _ => name.to_string(),
    }
}

/// Docker's JSON of a spec as the JSON plan shows it: a hidden name becomes `shop_api_token_…`,
/// a hidden digest `(sensitive value)`.
pub fn json_view(spec: &Spec) -> Value {
    let mut v = spec.to_docker_json();
    redact(spec, &mut v, &|hidden, _| match hidden {
        Hidden::Sensitive => Value::String(SENSITIVE.into()),
        Hidden::Name(name) => Value::String(name),
    });
    v
}

/// The spec as the human (and markdown) plan shows it. A hidden value is a [`RAW`] marker that
/// carries the original after [`CUT`], so that a change still shows as a change (`~`) while
/// only the hidden form is printed.
pub fn view(spec: &Spec) -> Value {
    let mut v = spec.to_docker_json();
    redact(spec, &mut v, &|hidden, original| {
        let shown = match hidden {
            Hidden::Sensitive => SENSITIVE.to_string(),
            Hidden::Name(name) => Value::String(name).to_string(),
        };
        Value::String(format!("{RAW}{shown}{CUT}{original}"))
    });
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
