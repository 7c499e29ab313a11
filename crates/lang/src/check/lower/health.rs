//! Lowering of what watches and restarts a service's tasks: its `health` check, its `update` and
//! `rollback` policies (whose monitor window follows from the health check) and its `restart`
//! policy.

use super::*;

pub(super) fn health(lw: &mut Lower, b: &Block) -> Option<Health> {
    let body = &b.body;
    let command = attr(body, "command").map(|e| (e.span, lw.str_list(e)));
    let shell = attr(body, "shell").map(|e| (e.span, lw.string(e)));
    let disable = attr(body, "disable")
        .and_then(|e| lw.bool(e))
        .unwrap_or(false);
    let given = [command.is_some(), shell.is_some(), disable]
        .iter()
        .filter(|x| **x)
        .count();
    if given != 1 {
        let message = if given == 0 {
            "a health check needs a test"
        } else {
            "a health check takes one test"
        };
        lw.sink.push(
            Diagnostic::new(
                if given == 0 {
                    Code::MissingAttribute
                } else {
                    Code::ConflictingAttributes
                },
                b.kind.span,
                message,
            )
            .with_label(if given == 0 {
                "no `command`, `shell` or `disable`"
            } else {
                "more than one of `command`, `shell`, `disable`"
            })
            .with_help(
                "set exactly one of `command = [...]`, `shell = \"...\"` or `disable = true`",
            ),
        );
        return None;
    }
    let test = if disable {
        vec!["NONE".to_string()]
    } else if let Some((span, cmd)) = command {
        let cmd: Vec<String> = cmd?.into_iter().map(|(s, _)| s).collect();
        if cmd.is_empty() {
            lw.sink.push(
                Diagnostic::new(
                    Code::MissingAttribute,
                    span,
                    "the health check command is empty",
                )
                .with_label("empty command"),
            );
            return None;
        }
        std::iter::once("CMD".to_string()).chain(cmd).collect()
    } else {
        vec!["CMD-SHELL".to_string(), shell.and_then(|(_, s)| s)?]
    };
    let interval_e = attr(body, "interval");
    let timeout_e = attr(body, "timeout");
    let interval_ns = interval_e
        .and_then(|e| lw.duration(e))
        .unwrap_or_else(|| default_ns("health", "interval"));
    let timeout_ns = timeout_e
        .and_then(|e| lw.duration(e))
        .unwrap_or_else(|| default_ns("health", "timeout"));
    let retries_e = attr(body, "retries");
    let start_period_e = attr(body, "start_period");
    let retries = retries_e
        .and_then(|e| lw.int_in(e, declared("health", "retries")))
        .unwrap_or_else(|| default_int("health", "retries"));
    let start_period_ns = start_period_e
        .and_then(|e| lw.duration(e))
        .unwrap_or_else(|| default_ns("health", "start_period"));
    if !disable && timeout_ns >= interval_ns {
        let span = timeout_e.or(interval_e).map_or(b.kind.span, |e| e.span);
        let mut d = Diagnostic::new(
            Code::HealthTimeout,
            span,
            format!(
                "health check timeout ({}) is not below its interval ({})",
                crate::units::format_duration(timeout_ns),
                crate::units::format_duration(interval_ns)
            ),
        )
        .with_label("timeout")
        .with_help("make the timeout shorter than the interval");
        if let (Some(i), Some(_)) = (interval_e, timeout_e) {
            d = d.with_secondary(i.span, "interval");
        }
        lw.sink.push(d);
    }
    let health = Health {
        test,
        interval_ns,
        timeout_ns,
        retries,
        start_period_ns,
    };
    if health.monitor_window().is_none() {
        let span = interval_e
            .or(start_period_e)
            .or(retries_e)
            .map_or(b.kind.span, |e| e.span);
        let mut d = Diagnostic::new(
            Code::NumberOverflow,
            span,
            format!(
                "the update's monitor window (start_period + interval x retries = {} + {} x {retries}) is beyond what Swarm can store (about 292 years)",
                crate::units::format_duration(start_period_ns),
                crate::units::format_duration(interval_ns),
            ),
        )
        .with_label("too large to watch for")
        .with_help("write a shorter interval, start period or fewer retries, or set the update's `monitor`");
        for (e, what) in [(start_period_e, "start period"), (retries_e, "retries")] {
            if let Some(e) = e.filter(|e| e.span != span) {
                d = d.with_secondary(e.span, what);
            }
        }
        lw.sink.push(d);
    }
    Some(health)
}

pub(super) fn policy(
    lw: &mut Lower,
    b: Option<&Block>,
    health: Option<&Health>,
    host_ports: bool,
    default_action: FailureAction,
    base: Option<&UpdatePolicy>,
) -> UpdatePolicy {
    // A window too large to store was refused where the health check is lowered (E0190); the
    // model still needs a value, so it saturates at the largest Swarm can store.
    let monitor_default = health.map_or(MIN_MONITOR_NS, |h| {
        h.monitor_window().unwrap_or(crate::units::MAX_UNITS)
    });
    let default_order = if host_ports {
        UpdateOrder::StopFirst
    } else {
        UpdateOrder::StartFirst
    };
    // The update block's defaults, or the rollback block's (the same numbers, stated for each).
    let kind = if base.is_some() { "rollback" } else { "update" };
    let mut p = UpdatePolicy {
        parallelism: default_int(kind, "parallelism"),
        delay_ns: default_ns(kind, "delay"),
        order: base.map_or(default_order, |u| u.order),
        failure_action: default_action,
        monitor_ns: base.map_or(monitor_default, |u| u.monitor_ns),
        max_failure_ratio: declared(kind, "max_failure_ratio")
            .default_float()
            .unwrap_or_default(),
    };
    let Some(b) = b else { return p };
    let body = &b.body;
    if let Some(v) =
        attr(body, "parallelism").and_then(|e| lw.int_in(e, declared(kind, "parallelism")))
    {
        p.parallelism = v;
    }
    if let Some(v) = attr(body, "delay").and_then(|e| lw.duration(e)) {
        p.delay_ns = v;
    }
    if let Some(v) = attr(body, "order").and_then(|e| lw.choice(e, &["start-first", "stop-first"]))
    {
        p.order = if v == "start-first" {
            UpdateOrder::StartFirst
        } else {
            UpdateOrder::StopFirst
        };
    }
    let actions: &'static [&'static str] = if base.is_some() {
        &["pause", "continue"]
    } else {
        &["rollback", "pause", "continue"]
    };
    if let Some(v) = attr(body, "failure_action").and_then(|e| lw.choice(e, actions)) {
        p.failure_action = match v {
            "rollback" => FailureAction::Rollback,
            "pause" => FailureAction::Pause,
            _ => FailureAction::Continue,
        };
    }
    if let Some(v) = attr(body, "monitor").and_then(|e| lw.duration(e)) {
        p.monitor_ns = v;
    }
    if let Some(v) = attr(body, "max_failure_ratio")
        .and_then(|e| lw.float_in(e, declared(kind, "max_failure_ratio")))
    {
        p.max_failure_ratio = v;
    }
    p
}

/// The restart policy of a `restart` block, or of none (`body` empty): the schema's defaults.
pub(super) fn restart(lw: &mut Lower, body: &Body) -> RestartPolicy {
    let condition =
        match attr(body, "condition").and_then(|e| lw.choice(e, &["any", "on-failure", "none"])) {
            Some("on-failure") => RestartCondition::OnFailure,
            Some("none") => RestartCondition::None,
            _ => RestartCondition::Any,
        };
    RestartPolicy {
        condition,
        delay_ns: attr(body, "delay")
            .and_then(|e| lw.duration(e))
            .unwrap_or_else(|| default_ns("restart", "delay")),
        max_attempts: attr(body, "max_attempts")
            .and_then(|e| lw.int_in(e, declared("restart", "max_attempts"))),
        window_ns: attr(body, "window").and_then(|e| lw.duration(e)),
    }
}
