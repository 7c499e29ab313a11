//! Lowering of `job` blocks: a job is a service that runs one task to completion (a Swarm
//! replicated job), so it is lowered by the service's own code (image, command, env, secrets,
//! mounts, resources, placement, security: the blocks a job may have) and then made a job: its
//! mode carries the timeout, and Swarm never restarts its task, so a failed run fails the apply
//! instead of running again on its own.

use super::*;

pub(super) fn lower_jobs(
    lw: &mut Lower,
    body: &Body,
    cx: &Context,
    services: &mut Vec<Service>,
    disabled: &mut Vec<String>,
) {
    for b in blocks(body, "job") {
        let Some(label) = &b.label else { continue };
        // A job is a Swarm service named like the project's services: one name, one object.
        if let Some(first) = blocks(body, "service")
            .filter_map(|s| s.label.as_ref())
            .find(|l| l.text == label.text)
        {
            lw.sink.push(
                Diagnostic::new(
                    Code::DuplicateName,
                    label.span,
                    format!("job `{}` has the name of a service", label.text),
                )
                .with_label("declared again here")
                .with_secondary(first.span, "the service is declared here")
                .with_help("jobs and services share one namespace; rename one of them"),
            );
            continue;
        }
        let enabled = attr(&b.body, "enabled")
            .and_then(|e| lw.bool(e))
            .unwrap_or(true);
        if !enabled {
            disabled.push(label.text.clone());
        }
        let timeout_ns = attr(&b.body, "timeout")
            .and_then(|e| lw.duration(e))
            .unwrap_or_else(|| default_ns("job", "timeout"));
        // Only what a job may have is lowered: the structural check already reported the rest
        // (a `route`, `replicas`), which must not add diagnostics of its own.
        let body = job_body(&b.body);
        if let Some(mut job) = service(lw, label, &body, cx) {
            job.mode = ServiceMode::Job { timeout_ns };
            job.restart = RestartPolicy {
                condition: RestartCondition::None,
                delay_ns: 0,
                max_attempts: None,
                window_ns: None,
            };
            if enabled {
                services.push(job);
            }
        }
    }
}

/// The items of a `job` block that the job schema allows.
fn job_body(body: &Body) -> Body {
    let Some(schema) = schema::block("job") else {
        return body.clone();
    };
    let mut out = body.clone();
    out.items.retain(|item| match &item.kind {
        ItemKind::Attribute(a) => schema.attrs.iter().any(|s| s.name == a.key.text),
        // A map attribute (`env { ... }`, `labels { ... }`) is written as a block.
        ItemKind::Block(b) => {
            schema.blocks.contains(&b.kind.text.as_str())
                || schema.attrs.iter().any(|s| s.name == b.kind.text)
        }
    });
    out
}
