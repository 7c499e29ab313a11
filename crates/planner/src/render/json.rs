//! The machine-readable plan, versioned from the start (`format_version`), in the shape of
//! Terraform's JSON plan: `resource_changes[]` with `address`, `type`, `name`, `change.actions`,
//! `before`, `after`, `replace_paths`, and `action_reason`, plus berth's `allocations`.
//! `schema/plan.schema.json` describes it and a test validates rendered plans against it.
//! `before` and `after` are Docker's JSON; a secret's value is never among them, nor anything
//! derived from it: a secret's name is shown without its digest part (`shop_api_token_…`, also
//! in `name`, `observed.name` and the `SecretName` of a service's secrets) and its
//! `berth.digest` label as `(sensitive value)`. Configs keep their digests.

use super::view::{json_view, shown_name, units_of};
use super::RenderOptions;
use crate::plan::{Action, Plan};
use serde_json::{json, Value};

/// The major number is bumped on any incompatible change of the JSON plan, the minor number on
/// a compatible one. 1.1: secret names without their digest part, `berth.digest` of secrets
/// shown as `(sensitive value)`. 1.2: `before_units` and `after_units`, the sizes, durations
/// and cpu amounts of `before` and `after` as the language writes them, by JSON pointer.
pub const FORMAT_VERSION: &str = "1.2";

pub fn json_value(plan: &Plan) -> Value {
    let changes: Vec<Value> = plan
        .changes
        .iter()
        .map(|c| {
            let after = c.after.as_ref().map(json_view);
            let before = match c.action {
                // A no-op's object is exactly the desired one.
                Action::NoOp => after.clone(),
                _ => c.before.as_ref().map(json_view),
            };
            let mut v = json!({
                "address": c.address.to_string(),
                "deployment": c.address.deployment.to_string(),
                "type": c.kind().as_str(),
                "name": shown_name(c.kind(), c.name()),
                "change": {
                    "actions": c.actions(),
                    "before": before,
                    "after": after,
                    "replace_paths": c.replace_paths,
                    "restarts_tasks": c.restarts_tasks,
                    "data_loss": c.data_loss,
                },
            });
            // Beside Docker's exact numbers, the same numbers as the configuration writes them.
            for (field, side) in [("before_units", &before), ("after_units", &after)] {
                let shown = side.as_ref().map(units_of).unwrap_or_default();
                if !shown.is_empty() {
                    v["change"][field] = Value::Object(shown);
                }
            }
            if let Some(r) = c.reason {
                v["action_reason"] = Value::String(r.as_str().into());
            }
            if let Some(o) = &c.observed {
                v["observed"] = json!({
                    "id": o.id,
                    "name": shown_name(c.kind(), &o.name),
                    "version": o.version,
                });
            }
            if !c.depends_on.is_empty() {
                v["depends_on"] = json!(c
                    .depends_on
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>());
            }
            v
        })
        .collect();
    let s = plan.summary();
    json!({
        "format_version": FORMAT_VERSION,
        "scope": plan.scope.iter().map(ToString::to_string).collect::<Vec<_>>(),
        "resource_changes": changes,
        "summary": { "add": s.add, "change": s.change, "destroy": s.destroy, "unchanged": s.unchanged },
        "allocations": plan.allocations,
        "notes": plan.notes,
    })
}

/// The JSON plan, pretty-printed.
pub fn json(plan: &Plan, _options: &RenderOptions) -> String {
    let mut text = serde_json::to_string_pretty(&json_value(plan)).expect("plans serialize");
    text.push('\n');
    text
}
