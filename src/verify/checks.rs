//! The pass/fail checks the flags ask for. Each failed check names what was expected.

use serde::Serialize;

use crate::verify::Plan;
use crate::verify::diagnostics::closest;
use crate::verify::fetch::Snapshot;
use crate::verify::stats::Stats;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Check {
    pub name: String,
    pub ok: bool,
    pub message: String,
}

impl Check {
    fn new(name: &str, ok: bool, message: String) -> Check {
        Check {
            name: name.to_owned(),
            ok,
            message,
        }
    }
}

/// Every check the plan asks for, in a stable order: existence first, then traces.
pub fn evaluate(plan: &Plan, snap: &Snapshot) -> Vec<Check> {
    let mut checks = Vec::new();
    let group_names: Vec<&str> = snap.groups.iter().map(|g| g.name.as_str()).collect();
    let rule_names: Vec<&str> = snap
        .rules
        .iter()
        .filter_map(|r| r.rule.rule_name.as_deref())
        .collect();

    for name in &plan.groups {
        checks.push(exists("group", "group", name, &group_names));
    }
    for name in &plan.expect_groups {
        checks.push(exists("expect-group", "group", name, &group_names));
    }
    for name in &plan.expect_rules {
        checks.push(exists("expect-rule", "sampling rule", name, &rule_names));
    }

    let when = plan.window.describe();
    // The traces the trace checks look at: each --group's own, or the whole window.
    let scopes: Vec<(String, &Stats)> = if plan.groups.is_empty() {
        vec![(String::new(), &snap.all)]
    } else {
        plan.groups
            .iter()
            .filter_map(|g| snap.by_group.get(g).map(|s| (format!(" in group {g}"), s)))
            .collect()
    };
    for (scope, stats) in &scopes {
        if let Some(min) = plan.min_traces {
            let n = stats.count;
            let ok = n >= min;
            let message = if ok {
                format!("{n} {}{scope} {when}, at least {min} expected", traces(n))
            } else {
                format!("{n} {}{scope} {when}, expected at least {min}", traces(n))
            };
            checks.push(Check::new("min-traces", ok, message));
        }
        if let Some(max) = plan.max_fault_rate {
            let check = match stats.fault_rate() {
                None => Check::new(
                    "max-fault-rate",
                    true,
                    format!("no traces{scope} {when}, so no fault rate to check"),
                ),
                Some(rate) => {
                    let ok = rate <= max;
                    let (f, n) = (stats.fault, stats.count);
                    let what = format!(
                        "fault rate {} ({f} of {n} {}){scope} {when}",
                        percent(rate),
                        traces(n)
                    );
                    let message = if ok {
                        format!("{what}, at most {} allowed", percent(max))
                    } else {
                        format!("{what}, expected at most {}", percent(max))
                    };
                    Check::new("max-fault-rate", ok, message)
                }
            };
            checks.push(check);
        }
        if let Some(max) = plan.max_p95 {
            let check = match stats.p95() {
                None => Check::new(
                    "max-p95",
                    true,
                    format!("no response times{scope} {when}, so no p95 to check"),
                ),
                Some(p95) => {
                    let ok = p95 <= max;
                    let what = format!("p95 response time {}{scope} {when}", seconds(p95));
                    let message = if ok {
                        format!("{what}, at most {} allowed", seconds(max))
                    } else {
                        format!("{what}, expected at most {}", seconds(max))
                    };
                    Check::new("max-p95", ok, message)
                }
            };
            checks.push(check);
        }
    }

    for id in &plan.trace_ids {
        let found = snap.found_trace_ids.iter().any(|f| f == id);
        let mut message = if found {
            format!("trace {id} exists")
        } else {
            format!("trace {id} was not found (BatchGetTraces returned nothing for it)")
        };
        if found && !plan.groups.is_empty() {
            let (matched, not): (Vec<&String>, Vec<&String>) = plan
                .groups
                .iter()
                .filter(|g| snap.by_group.contains_key(*g))
                .partition(|g| snap.by_group[*g].seen_ids.contains(id));
            if !matched.is_empty() {
                message.push_str(&format!("; it matched group {}", join(&matched)));
            }
            if !not.is_empty() {
                message.push_str(&format!(
                    "; it is not among the traces of group {} {when}",
                    join(&not)
                ));
            }
        }
        checks.push(Check::new("trace-id", found, message));
    }
    checks
}

fn exists(check: &str, kind: &str, name: &str, names: &[&str]) -> Check {
    if names.contains(&name) {
        return Check::new(check, true, format!("{kind} {name:?} exists"));
    }
    let hint = match closest(name, names.iter().copied()) {
        Some(near) => format!("; did you mean {near:?}?"),
        None if names.is_empty() => String::new(),
        None => format!(
            " (there are: {})",
            names
                .iter()
                .map(|n| format!("{n:?}"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    Check::new(
        check,
        false,
        format!("{kind} {name:?} does not exist{hint}"),
    )
}

fn join(names: &[&String]) -> String {
    names
        .iter()
        .map(|s| s.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

fn traces(n: u64) -> &'static str {
    if n == 1 { "trace" } else { "traces" }
}

/// `1.7%`, `0%`, `12.5%`.
pub fn percent(rate: f64) -> String {
    let p = rate * 100.0;
    if (p - p.round()).abs() < 1e-9 {
        format!("{}%", p.round())
    } else {
        format!("{p:.1}%")
    }
}

/// `0.123s`, `2s`.
pub fn seconds(s: f64) -> String {
    if (s - s.round()).abs() < 1e-9 {
        format!("{}s", s.round())
    } else {
        format!("{s:.3}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_print_briefly() {
        assert_eq!(percent(0.05), "5%");
        assert_eq!(percent(1.0 / 60.0), "1.7%");
        assert_eq!(percent(0.0), "0%");
        assert_eq!(seconds(2.0), "2s");
        assert_eq!(seconds(0.1234), "0.123s");
    }
}
