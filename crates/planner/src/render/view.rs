//! What a spec looks like in a plan: Docker's JSON with its field names, except that a secret
//! gets a `Data` attribute that is only ever shown as `(sensitive value)`, a config's base64
//! `Data` is decoded so that a change shows as a line diff, and nothing that derives from a
//! secret's value is shown (see [`redact`]). For people (human and markdown plans) the spec is
//! also made reviewable ([`reviewable`]): sizes, durations and cpu read as the language writes
//! them, and what berth derives (its own labels, a volume's labels repeated in every mount) is
//! left out. The JSON plan keeps Docker's exact numbers and every field.

use crate::compile::redacted_content_name;
use crate::docker::Labels;
use crate::resource::{berth_labels, label, Address, Kind, Spec};
use crate::units;
use serde_json::{Map, Value};

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

/// The labels berth derives from an object's address and stack, which every object carries
/// (`berth.address`, `berth.project`, ..., `com.docker.stack.namespace`, and a network's
/// `project.id` and `project.environment`). The stack is read from `reference`, the desired
/// spec where there is one, so that a label changed by hand on the observed side still shows.
pub fn derived_labels(address: &Address, reference: &Spec) -> Labels {
    let stack = reference
        .labels()
        .get(label::STACK)
        .cloned()
        .unwrap_or_default();
    let mut labels = berth_labels(address, &stack);
    labels.insert(label::PROJECT_ID.into(), address.deployment.project.clone());
    labels.insert(
        label::PROJECT_ENVIRONMENT.into(),
        address.deployment.environment_label().to_string(),
    );
    labels
}

/// The spec as the human (and markdown) plan shows it: [`raw_view`] made [`reviewable`] with
/// the labels berth derives for it.
pub fn view(spec: &Spec, derived: &Labels) -> Value {
    let mut v = raw_view(spec);
    reviewable(&mut v, derived);
    v
}

/// A value printed as `shown` whose comparison still sees `original`.
fn marked(shown: &str, original: &Value) -> Value {
    Value::String(format!("{RAW}{shown}{CUT}{original}"))
}

/// Makes Docker's JSON of a spec readable in a review, without losing any difference between
/// two specs that matters: a number in Swarm's units is shown in the language's (`64MiB`, `2s`,
/// `0.25`) and still compares by its exact value; a label equal to the one berth derives, and a
/// mount's copy of its volume's labels (berth creates every volume itself, so Docker never
/// reads them), are left out; a label that differs from the derived one stays.
pub fn reviewable(v: &mut Value, derived: &Labels) {
    if let Value::Object(map) = v {
        drop_derived(map, "Labels", derived);
        drop_repeated(map);
        if let Some(Value::Object(spec)) = map
            .get_mut("TaskTemplate")
            .and_then(|t| t.get_mut("ContainerSpec"))
        {
            drop_derived(spec, "Labels", derived);
            if let Some(Value::Array(mounts)) = spec.get_mut("Mounts") {
                for mount in mounts.iter_mut().filter_map(Value::as_object_mut) {
                    if let Some(Value::Object(options)) = mount.get_mut("VolumeOptions") {
                        options.remove("Labels");
                        if options.is_empty() {
                            mount.remove("VolumeOptions");
                        }
                    }
                }
            }
        }
        if let Some(Value::String(size)) =
            map.get_mut("Labels").and_then(|l| l.get_mut(label::SIZE))
        {
            if let Ok(bytes) = size.parse::<u64>() {
                let original = Value::String(size.clone());
                *size = format!("{RAW}{}{CUT}{original}", exact_bytes(bytes));
            }
        }
    }
    in_units(v, "");
}

/// What a marked value stands for: the original after [`CUT`], else the value itself.
fn original(text: &str) -> &str {
    match text.strip_prefix(RAW) {
        Some(rest) => rest.split_once(CUT).map_or(rest, |(_, o)| o),
        None => text,
    }
}

/// Leaves out the labels that repeat the object's name: a secret's or config's `berth.digest`,
/// whose first ten digits end its content name (and whose change shows as a change of `Data`
/// and `Name`), and an edge slot claim's `berth.edge-slot`, which ends the claim's name. A
/// label that does not match its name stays.
fn drop_repeated(map: &mut Map<String, Value>) {
    let name = map
        .get("Name")
        .and_then(Value::as_str)
        .map(|n| original(n).to_string())
        .unwrap_or_default();
    let Some(Value::Object(labels)) = map.get_mut("Labels") else {
        return;
    };
    labels.retain(|k, v| {
        let value = original(v.as_str().unwrap_or_default());
        let repeats = match k.as_str() {
            label::DIGEST => value.len() >= 10 && name.ends_with(&value[..10]),
            label::EDGE_SLOT => !value.is_empty() && name.ends_with(&format!("-{value}")),
            _ => false,
        };
        !repeats
    });
    if labels.is_empty() {
        map.remove("Labels");
    }
}

/// Removes the labels of `map[key]` that equal the derived ones, and the map when it is empty.
fn drop_derived(map: &mut Map<String, Value>, key: &str, derived: &Labels) {
    let Some(Value::Object(labels)) = map.get_mut(key) else {
        return;
    };
    labels.retain(|k, v| derived.get(k).map(String::as_str) != v.as_str());
    if labels.is_empty() {
        map.remove(key);
    }
}

/// The unit of a number by the attribute that holds it and the object around it.
#[derive(Clone, Copy)]
enum Unit {
    Bytes,
    Duration,
    Cpu,
    /// A file's permission bits, shown in octal as `chmod` writes them.
    Mode,
}

fn unit_of(parent: &str, key: &str) -> Option<Unit> {
    Some(match (parent, key) {
        ("Limits" | "Reservations", "NanoCPUs") => Unit::Cpu,
        ("Limits" | "Reservations", "MemoryBytes") => Unit::Bytes,
        ("TmpfsOptions", "SizeBytes") => Unit::Bytes,
        ("Healthcheck", "Interval" | "Timeout" | "StartPeriod" | "StartInterval") => Unit::Duration,
        ("ContainerSpec", "StopGracePeriod") => Unit::Duration,
        ("File", "Mode") => Unit::Mode,
        ("RestartPolicy", "Delay" | "Window") => Unit::Duration,
        ("UpdateConfig" | "RollbackConfig", "Delay" | "Monitor") => Unit::Duration,
        _ => return None,
    })
}

/// A number in its unit as the language writes it.
fn shown_in(unit: Unit, n: u64) -> String {
    match unit {
        Unit::Bytes => exact_bytes(n),
        Unit::Duration => units::duration(n),
        Unit::Cpu => units::cpus(n),
        Unit::Mode => format!("0{n:o}"),
    }
}

/// The numbers of Docker's JSON of a spec whose unit is known, in the language's units, by
/// their JSON pointer (`/TaskTemplate/Resources/Limits/MemoryBytes` → `64MiB`): what the JSON
/// plan gives beside Docker's exact numbers.
pub fn units_of(v: &Value) -> Map<String, Value> {
    fn walk(v: &Value, parent: &str, pointer: &str, out: &mut Map<String, Value>) {
        match v {
            Value::Object(map) => {
                for (k, child) in map {
                    let here = format!("{pointer}/{}", k.replace('~', "~0").replace('/', "~1"));
                    match (unit_of(parent, k), child.as_u64()) {
                        (Some(unit), Some(n)) => {
                            out.insert(here, Value::String(shown_in(unit, n)));
                        }
                        _ => walk(child, k, &here, out),
                    }
                }
            }
            Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    walk(item, parent, &format!("{pointer}/{i}"), out);
                }
            }
            _ => {}
        }
    }
    let mut out = Map::new();
    walk(v, "", "", &mut out);
    let size = v
        .pointer(&format!("/Labels/{}", label::SIZE))
        .and_then(Value::as_str)
        .and_then(|s| s.parse::<u64>().ok());
    if let Some(bytes) = size {
        out.insert(
            format!("/Labels/{}", label::SIZE),
            Value::String(exact_bytes(bytes)),
        );
    }
    out
}

/// Shows every number whose unit is known in the language's units.
fn in_units(v: &mut Value, parent: &str) {
    match v {
        Value::Object(map) => {
            for (k, child) in map.iter_mut() {
                if let (Some(unit), Some(n)) = (unit_of(parent, k), child.as_u64()) {
                    let shown = shown_in(unit, n);
                    *child = marked(&shown, child);
                } else {
                    in_units(child, k);
                }
            }
        }
        Value::Array(items) => {
            for item in items {
                in_units(item, parent);
            }
        }
        _ => {}
    }
}

/// Bytes in the largest binary unit that shows them exactly (`64MiB`, `1.5GiB`, `1000B`), so
/// that two sizes that differ never read the same.
pub fn exact_bytes(n: u64) -> String {
    const UNITS: [(&str, u64); 4] = [
        ("TiB", 1 << 40),
        ("GiB", 1 << 30),
        ("MiB", 1 << 20),
        ("KiB", 1 << 10),
    ];
    for (unit, size) in UNITS {
        if n < size {
            continue;
        }
        let whole = n / size;
        let rest = n % size;
        if rest == 0 {
            return format!("{whole}{unit}");
        }
        // Up to three decimals when they are exact (sizes are powers of two).
        let scaled = u128::from(rest) * 1000;
        if scaled % u128::from(size) == 0 {
            let frac = format!("{:03}", scaled / u128::from(size));
            return format!("{whole}.{}{unit}", frac.trim_end_matches('0'));
        }
    }
    format!("{n}B")
}

/// The spec as the human (and markdown) plan shows it, before it is made reviewable. A hidden
/// value is a [`RAW`] marker that carries the original after [`CUT`], so that a change still
/// shows as a change (`~`) while only the hidden form is printed.
fn raw_view(spec: &Spec) -> Value {
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

#[cfg(test)]
mod tests {
    use super::exact_bytes;

    #[test]
    fn sizes_read_exactly() {
        assert_eq!(exact_bytes(64 << 20), "64MiB");
        assert_eq!(exact_bytes(3 << 29), "1.5GiB");
        assert_eq!(exact_bytes((1 << 30) + (1 << 20)), "1025MiB");
        assert_eq!(exact_bytes(1000), "1000B");
        assert_eq!(exact_bytes(1500), "1500B");
        // Two sizes that differ never read the same.
        assert_ne!(exact_bytes((1 << 30) + 1), exact_bytes((1 << 30) + 2));
    }
}
