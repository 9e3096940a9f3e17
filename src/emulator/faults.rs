//! Fault injection, to test how clients cope with a misbehaving service.
//!
//! A fault is `KIND=VALUE[@Operation[,Operation...]]`; without `@` it applies to every
//! operation. Kinds:
//! - `throttle=P`: with probability P, answer 429 ThrottledException (nothing is done).
//! - `error=P`: with probability P, answer 503 ServiceUnavailableException (nothing is done).
//! - `drop=P`: with probability P, do the operation, then close the connection without an
//!   answer (the client cannot know whether it happened).
//! - `malformed=P`: with probability P, do the operation, then answer 200 with a truncated
//!   JSON body.
//! - `latency=DURATION` (e.g. `200ms`, `1s`): wait this long before answering, always.
//!
//! Faults come from `--fault` flags and from `CRUDDUR_XRAY_EMULATOR_FAULTS` (the same specs
//! separated by spaces or `;`). Each request draws one number per applicable fault, in
//! order, from one generator seeded by `--fault-seed`; a sequential client therefore sees
//! the same faults on every run with the same seed.

use std::sync::Mutex;
use std::time::Duration;

use crate::model::model;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultKind {
    Throttle,
    Error,
    Drop,
    Malformed,
    Latency,
}

/// One parsed `--fault` spec.
#[derive(Debug, Clone, PartialEq)]
pub struct FaultRule {
    pub kind: FaultKind,
    /// For every kind but latency: the chance, 0..=1.
    pub probability: f64,
    pub latency: Duration,
    /// Empty: every operation.
    pub operations: Vec<String>,
}

impl FaultRule {
    fn applies_to(&self, operation: &str) -> bool {
        self.operations.is_empty() || self.operations.iter().any(|o| o == operation)
    }
}

/// Parse one spec such as `throttle=0.3`, `error=1.0@CreateGroup,GetGroups`, `latency=200ms`.
pub fn parse_rule(spec: &str) -> Result<FaultRule, String> {
    let spec = spec.trim();
    let (main, ops) = match spec.split_once('@') {
        Some((m, o)) => (m, Some(o)),
        None => (spec, None),
    };
    let Some((kind, value)) = main.split_once('=') else {
        return Err(format!(
            "fault {spec:?} must look like KIND=VALUE[@Operation,...], e.g. throttle=0.3"
        ));
    };
    let kind = match kind.trim() {
        "throttle" => FaultKind::Throttle,
        "error" => FaultKind::Error,
        "drop" => FaultKind::Drop,
        "malformed" => FaultKind::Malformed,
        "latency" => FaultKind::Latency,
        other => {
            return Err(format!(
                "unknown fault kind {other:?}, must be one of: throttle, error, drop, malformed, latency"
            ));
        }
    };
    let value = value.trim();
    let (probability, latency) = if kind == FaultKind::Latency {
        let d = humantime::parse_duration(value)
            .map_err(|e| format!("latency must be a duration such as 200ms ({e}): {value:?}"))?;
        if d > Duration::from_secs(600) {
            return Err(format!("latency must be at most 10m (got {value})"));
        }
        (1.0, d)
    } else {
        let p: f64 = value
            .parse()
            .ok()
            .filter(|p: &f64| (0.0..=1.0).contains(p))
            .ok_or_else(|| format!("fault probability must be within 0..=1 (got {value:?})"))?;
        (p, Duration::ZERO)
    };
    let mut operations = Vec::new();
    if let Some(ops) = ops {
        for op in ops.split(',').map(str::trim) {
            if !model().operations.contains_key(op) {
                return Err(format!(
                    "unknown operation {op:?} in fault {spec:?} (operation names look like CreateGroup)"
                ));
            }
            operations.push(op.to_owned());
        }
    }
    Ok(FaultRule {
        kind,
        probability,
        latency,
        operations,
    })
}

/// Parse the environment variable's list: specs separated by whitespace or `;`.
pub fn parse_list(list: &str) -> Result<Vec<FaultRule>, String> {
    list.split(|c: char| c == ';' || c.is_whitespace())
        .filter(|s| !s.is_empty())
        .map(parse_rule)
        .collect()
}

/// What to do to one request.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Decision {
    pub latency: Duration,
    pub throttle: bool,
    pub error: bool,
    pub drop: bool,
    pub malformed: bool,
}

/// The configured faults and their seeded generator.
#[derive(Debug)]
pub struct Faults {
    rules: Vec<FaultRule>,
    rng: Mutex<fastrand::Rng>,
}

impl Faults {
    pub fn new(rules: Vec<FaultRule>, seed: u64) -> Faults {
        Faults {
            rules,
            rng: Mutex::new(fastrand::Rng::with_seed(seed)),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    pub fn decide(&self, operation: &str) -> Decision {
        let mut d = Decision::default();
        if self.rules.is_empty() {
            return d;
        }
        let mut rng = self.rng.lock().unwrap_or_else(|p| p.into_inner());
        for rule in self.rules.iter().filter(|r| r.applies_to(operation)) {
            let hit = rng.f64() < rule.probability;
            match rule.kind {
                FaultKind::Latency => d.latency += rule.latency,
                FaultKind::Throttle => d.throttle |= hit,
                FaultKind::Error => d.error |= hit,
                FaultKind::Drop => d.drop |= hit,
                FaultKind::Malformed => d.malformed |= hit,
            }
        }
        d
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_parse() {
        let r = parse_rule("error=1.0@CreateGroup,GetGroups").unwrap();
        assert_eq!(r.kind, FaultKind::Error);
        assert_eq!(r.probability, 1.0);
        assert_eq!(r.operations, vec!["CreateGroup", "GetGroups"]);
        let r = parse_rule("latency=200ms").unwrap();
        assert_eq!(r.latency, Duration::from_millis(200));
        assert!(r.operations.is_empty());
        assert_eq!(
            parse_list("throttle=0.3; drop=0.1 malformed=0")
                .unwrap()
                .len(),
            3
        );
    }

    #[test]
    fn bad_specs_say_what_is_wrong() {
        assert!(parse_rule("throttle").unwrap_err().contains("KIND=VALUE"));
        assert!(
            parse_rule("slow=1")
                .unwrap_err()
                .contains("unknown fault kind")
        );
        assert!(parse_rule("error=1.5").unwrap_err().contains("0..=1"));
        assert!(
            parse_rule("error=1@MakeCoffee")
                .unwrap_err()
                .contains("MakeCoffee")
        );
        assert!(parse_rule("latency=soon").unwrap_err().contains("duration"));
    }

    #[test]
    fn decisions_follow_the_seed_and_the_operation() {
        let rules = parse_list("throttle=0.5 error=1@CreateGroup").unwrap();
        let a = Faults::new(rules.clone(), 42);
        let b = Faults::new(rules, 42);
        let run = |f: &Faults| {
            (0..50)
                .map(|_| f.decide("GetGroups").throttle)
                .collect::<Vec<_>>()
        };
        let (ra, rb) = (run(&a), run(&b));
        assert_eq!(ra, rb);
        assert!(ra.iter().any(|&t| t) && ra.iter().any(|&t| !t), "{ra:?}");
        assert!(a.decide("CreateGroup").error);
        assert!(!a.decide("GetGroups").error);
    }
}
