//! Trace statistics computed while pages stream in, in bounded memory.
//!
//! Counts (traces, fault, error, throttle, per service) are exact. Response-time quantiles
//! come from a log-bucketed histogram: bucket `i` holds values in
//! `(MIN·γ^(i-1), MIN·γ^i]` with γ = 1.02 and is reported as `2·MIN·γ^i/(γ+1)`, so every
//! quantile is within a relative error of (γ−1)/(γ+1) < 1% of the exact nearest-rank value
//! for response times between 1 µs and 10⁶ s (below 1 µs the error is under 1 µs). The
//! histogram holds at most [`BUCKETS`] counters whatever the number of traces. The maximum
//! is exact, and every quantile is clamped to the exact minimum and maximum.
//!
//! Quantiles use the nearest-rank definition: p-quantile of n values = the ⌈p·n⌉-th smallest.
//!
//! The slowest URLs are the top [`SLOWEST`] distinct URLs (query string dropped) by their
//! largest response time, kept exactly with a map of at most [`SLOWEST`] entries: a URL that
//! is pushed out has [`SLOWEST`] others at least as slow, whose maxima only grow, so it can
//! never be among the slowest again.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::xray::TraceSummary;

/// The histogram's growth factor between buckets.
pub const GAMMA: f64 = 1.02;
/// Response times at or below this (seconds) share one bucket.
pub const MIN_VALUE: f64 = 1e-6;
/// Response times above this land in the last bucket (the exact maximum is kept anyway).
pub const MAX_VALUE: f64 = 1e6;
/// ⌈ln(MAX/MIN)/ln γ⌉ + 1.
pub const BUCKETS: usize = 1397;
/// The relative error bound of every reported quantile: (γ−1)/(γ+1).
pub const RELATIVE_ERROR: f64 = (GAMMA - 1.0) / (GAMMA + 1.0);
/// How many slowest URLs are reported.
pub const SLOWEST: usize = 5;

/// A bounded log-bucketed histogram of positive values.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Histogram {
    /// Bucket index → count; at most [`BUCKETS`] entries. Index 0 is everything ≤ MIN_VALUE.
    buckets: BTreeMap<u16, u64>,
    n: u64,
    min: f64,
    max: f64,
}

fn bucket_of(x: f64) -> u16 {
    if x <= MIN_VALUE {
        return 0;
    }
    let i = ((x / MIN_VALUE).ln() / GAMMA.ln()).ceil();
    i.clamp(1.0, (BUCKETS - 1) as f64) as u16
}

fn representative(i: u16) -> f64 {
    if i == 0 {
        return 0.0;
    }
    2.0 * MIN_VALUE * GAMMA.powi(i32::from(i)) / (GAMMA + 1.0)
}

impl Histogram {
    /// Record one value. Negative, NaN and infinite values are ignored.
    pub fn record(&mut self, x: f64) {
        if !x.is_finite() || x < 0.0 {
            return;
        }
        *self.buckets.entry(bucket_of(x)).or_default() += 1;
        if self.n == 0 || x < self.min {
            self.min = x;
        }
        if self.n == 0 || x > self.max {
            self.max = x;
        }
        self.n += 1;
    }

    pub fn merge(&mut self, other: &Histogram) {
        if other.n == 0 {
            return;
        }
        for (i, c) in &other.buckets {
            *self.buckets.entry(*i).or_default() += c;
        }
        if self.n == 0 || other.min < self.min {
            self.min = other.min;
        }
        if self.n == 0 || other.max > self.max {
            self.max = other.max;
        }
        self.n += other.n;
    }

    pub fn len(&self) -> u64 {
        self.n
    }

    pub fn is_empty(&self) -> bool {
        self.n == 0
    }

    pub fn max(&self) -> Option<f64> {
        (self.n > 0).then_some(self.max)
    }

    pub fn min(&self) -> Option<f64> {
        (self.n > 0).then_some(self.min)
    }

    /// The nearest-rank `p`-quantile (0 < p ≤ 1), within [`RELATIVE_ERROR`].
    pub fn quantile(&self, p: f64) -> Option<f64> {
        if self.n == 0 {
            return None;
        }
        let rank = ((p * self.n as f64).ceil() as u64).clamp(1, self.n);
        // The smallest and the largest are known exactly.
        if rank == 1 {
            return Some(self.min);
        }
        if rank == self.n {
            return Some(self.max);
        }
        let mut seen = 0;
        for (i, c) in &self.buckets {
            seen += c;
            if seen >= rank {
                return Some(representative(*i).clamp(self.min, self.max));
            }
        }
        Some(self.max)
    }

    /// Counts in `bins` equal log-width bins between the minimum and the maximum, for a
    /// sparkline. Empty when there are no values.
    pub fn shape(&self, bins: usize) -> Vec<u64> {
        if self.n == 0 || bins == 0 {
            return Vec::new();
        }
        let mut out = vec![0u64; bins];
        let (lo, hi) = (bucket_of(self.min), bucket_of(self.max));
        let span = f64::from(hi - lo) + 1.0;
        for (i, c) in &self.buckets {
            let k = ((f64::from(i - lo) / span) * bins as f64) as usize;
            out[k.min(bins - 1)] += c;
        }
        out
    }
}

/// The top [`SLOWEST`] distinct URLs by their largest response time.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SlowestUrls {
    top: BTreeMap<String, f64>,
}

impl SlowestUrls {
    pub fn record(&mut self, url: &str, rt: f64) {
        if let Some(m) = self.top.get_mut(url) {
            if rt > *m {
                *m = rt;
            }
            return;
        }
        if self.top.len() < SLOWEST {
            self.top.insert(url.to_owned(), rt);
            return;
        }
        let Some((fastest, fastest_rt)) = self
            .top
            .iter()
            .min_by(|a, b| a.1.total_cmp(b.1))
            .map(|(k, v)| (k.clone(), *v))
        else {
            return;
        };
        if rt > fastest_rt {
            self.top.remove(&fastest);
            self.top.insert(url.to_owned(), rt);
        }
    }

    pub fn merge(&mut self, other: &SlowestUrls) {
        for (url, rt) in &other.top {
            self.record(url, *rt);
        }
    }

    /// Slowest first; ties by URL.
    pub fn list(&self) -> Vec<SlowUrl> {
        let mut v: Vec<SlowUrl> = self
            .top
            .iter()
            .map(|(url, rt)| SlowUrl {
                url: url.clone(),
                max_response_time: *rt,
            })
            .collect();
        v.sort_by(|a, b| {
            b.max_response_time
                .total_cmp(&a.max_response_time)
                .then_with(|| a.url.cmp(&b.url))
        });
        v
    }
}

/// Everything verify computes over a set of traces.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Stats {
    pub count: u64,
    pub fault: u64,
    pub error: u64,
    pub throttle: u64,
    pub response_time: Histogram,
    /// Service name → traces that include it.
    pub services: BTreeMap<String, u64>,
    pub slowest: SlowestUrls,
    /// Those of the watched trace IDs (`--trace-id`) seen among these traces.
    pub seen_ids: BTreeSet<String>,
}

/// The URL without its query string or fragment, so `/api/x?id=1` and `/api/x?id=2` count
/// as one URL.
pub fn url_key(url: &str) -> &str {
    let end = url.find(['?', '#']).unwrap_or(url.len());
    &url[..end]
}

impl Stats {
    /// Count one summary. `watch` lists trace IDs whose presence is remembered.
    pub fn observe(&mut self, t: &TraceSummary, watch: &[String]) {
        self.count += 1;
        self.fault += u64::from(t.has_fault);
        self.error += u64::from(t.has_error);
        self.throttle += u64::from(t.has_throttle);
        // ResponseTime is what X-Ray sorts and filters on; Duration is the fallback when a
        // summary has none.
        let rt = t.response_time.or(t.duration);
        if let Some(rt) = rt {
            self.response_time.record(rt);
        }
        let mut names: Vec<&str> = t.services.iter().map(String::as_str).collect();
        names.sort_unstable();
        names.dedup();
        for name in names {
            *self.services.entry(name.to_owned()).or_default() += 1;
        }
        if let (Some(url), Some(rt)) = (&t.http_url, rt)
            && rt.is_finite()
        {
            self.slowest.record(url_key(url), rt);
        }
        if watch.iter().any(|w| w == &t.id) {
            self.seen_ids.insert(t.id.clone());
        }
    }

    pub fn merge(&mut self, other: &Stats) {
        self.count += other.count;
        self.fault += other.fault;
        self.error += other.error;
        self.throttle += other.throttle;
        self.response_time.merge(&other.response_time);
        for (name, c) in &other.services {
            *self.services.entry(name.clone()).or_default() += c;
        }
        self.slowest.merge(&other.slowest);
        self.seen_ids.extend(other.seen_ids.iter().cloned());
    }

    /// `fault / count`, or `None` without traces.
    pub fn fault_rate(&self) -> Option<f64> {
        (self.count > 0).then(|| self.fault as f64 / self.count as f64)
    }

    pub fn p95(&self) -> Option<f64> {
        self.response_time.quantile(0.95)
    }

    pub fn report(&self) -> TraceStats {
        let mut services: Vec<ServiceCount> = self
            .services
            .iter()
            .map(|(name, count)| ServiceCount {
                name: name.clone(),
                count: *count,
            })
            .collect();
        services.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.name.cmp(&b.name)));
        TraceStats {
            count: self.count,
            fault: self.fault,
            error: self.error,
            throttle: self.throttle,
            response_time: ResponseTimes {
                p50: self.response_time.quantile(0.50),
                p95: self.response_time.quantile(0.95),
                p99: self.response_time.quantile(0.99),
                max: self.response_time.max(),
            },
            services,
            slowest_urls: self.slowest.list(),
        }
    }
}

/// The `traces` object of the JSON report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TraceStats {
    pub count: u64,
    pub fault: u64,
    pub error: u64,
    pub throttle: u64,
    pub response_time: ResponseTimes,
    pub services: Vec<ServiceCount>,
    pub slowest_urls: Vec<SlowUrl>,
}

/// Seconds; `null` when no trace had a response time. JSON carries them rounded to the
/// microsecond: segment timestamps are epoch seconds in an f64, so digits past that are
/// noise.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ResponseTimes {
    #[serde(serialize_with = "micros_opt")]
    pub p50: Option<f64>,
    #[serde(serialize_with = "micros_opt")]
    pub p95: Option<f64>,
    #[serde(serialize_with = "micros_opt")]
    pub p99: Option<f64>,
    #[serde(serialize_with = "micros_opt")]
    pub max: Option<f64>,
}

fn round_micros(x: f64) -> f64 {
    (x * 1e6).round() / 1e6
}

fn micros_opt<S: serde::Serializer>(v: &Option<f64>, s: S) -> Result<S::Ok, S::Error> {
    match v {
        Some(x) => s.serialize_some(&round_micros(*x)),
        None => s.serialize_none(),
    }
}

fn micros<S: serde::Serializer>(v: &f64, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(round_micros(*v))
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ServiceCount {
    pub name: String,
    pub count: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SlowUrl {
    pub url: String,
    /// Seconds.
    #[serde(serialize_with = "micros")]
    pub max_response_time: f64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn json_carries_seconds_to_the_microsecond() {
        let rt = ResponseTimes {
            p50: Some(0.050_000_190_734_863_28),
            p95: None,
            p99: Some(1.0),
            max: Some(1.234_567_89),
        };
        assert_eq!(
            serde_json::to_string(&rt).unwrap(),
            r#"{"p50":0.05,"p95":null,"p99":1.0,"max":1.234568}"#
        );
    }

    fn close(got: Option<f64>, want: f64) {
        let got = got.expect("a value");
        assert!(
            (got - want).abs() <= want * RELATIVE_ERROR * 1.0001,
            "got {got}, want {want} within {RELATIVE_ERROR}"
        );
    }

    fn summary(id: &str, rt: f64, url: &str, services: &[&str]) -> TraceSummary {
        TraceSummary {
            id: id.into(),
            response_time: Some(rt),
            http_url: Some(url.into()),
            services: services.iter().map(|s| s.to_string()).collect(),
            ..Default::default()
        }
    }

    #[test]
    fn the_bucket_count_covers_the_range() {
        let needed = ((MAX_VALUE / MIN_VALUE).ln() / GAMMA.ln()).ceil() as usize + 1;
        assert_eq!(BUCKETS, needed);
        assert_eq!(bucket_of(MAX_VALUE) as usize, BUCKETS - 1);
        assert_eq!(bucket_of(1e12) as usize, BUCKETS - 1);
        const { assert!(RELATIVE_ERROR < 0.01) };
    }

    #[test]
    fn quantiles_match_nearest_rank_by_hand() {
        // 0.1 s, 0.2 s, ..., 2.0 s. Nearest rank over 20 values: p50 is the 10th (1.0 s),
        // p95 the 19th (1.9 s), p99 the 20th (2.0 s).
        let mut h = Histogram::default();
        for i in (1..=20).rev() {
            h.record(f64::from(i) / 10.0);
        }
        close(h.quantile(0.50), 1.0);
        close(h.quantile(0.95), 1.9);
        close(h.quantile(0.99), 2.0);
        assert_eq!(h.max(), Some(2.0));
        assert_eq!(h.min(), Some(0.1));
        // The first and last ranks are the exact extremes.
        assert_eq!(h.quantile(1.0), Some(2.0));
        assert_eq!(h.quantile(0.01), Some(0.1));
        assert_eq!(h.len(), 20);
    }

    #[test]
    fn one_slow_outlier_moves_p99_but_not_p50() {
        // 99 requests at 50 ms and one at 3 s: p50 = p95 = 0.05, p99 = the 99th = 0.05,
        // max = 3.
        let mut h = Histogram::default();
        for _ in 0..99 {
            h.record(0.05);
        }
        h.record(3.0);
        close(h.quantile(0.5), 0.05);
        close(h.quantile(0.99), 0.05);
        assert_eq!(h.max(), Some(3.0));
        // With a second outlier the 99th value is 3 s.
        h.record(3.0);
        close(h.quantile(0.99), 3.0);
    }

    #[test]
    fn empty_histograms_report_nothing_and_bad_values_are_ignored() {
        let mut h = Histogram::default();
        assert_eq!(h.quantile(0.5), None);
        h.record(f64::NAN);
        h.record(-1.0);
        h.record(f64::INFINITY);
        assert!(h.is_empty());
        h.record(0.0);
        assert_eq!(h.quantile(0.5), Some(0.0));
    }

    #[test]
    fn merging_equals_recording_everything_in_one() {
        let values: Vec<f64> = (1..=500).map(|i| f64::from(i) * 0.013).collect();
        let mut one = Histogram::default();
        let (mut a, mut b) = (Histogram::default(), Histogram::default());
        for (i, v) in values.iter().enumerate() {
            one.record(*v);
            if i % 3 == 0 {
                a.record(*v)
            } else {
                b.record(*v)
            }
        }
        a.merge(&b);
        assert_eq!(a, one);
    }

    #[test]
    fn counts_services_and_slowest_urls_by_hand() {
        let mut s = Stats::default();
        let mut t = summary("1-a", 0.5, "http://x/api/a?id=1", &["web", "db", "web"]);
        t.has_fault = true;
        s.observe(&t, &[]);
        let mut t = summary("1-b", 2.0, "http://x/api/a?id=2", &["web"]);
        t.has_error = true;
        s.observe(&t, &["1-b".to_string()]);
        let mut t = summary("1-c", 1.0, "http://x/api/b", &["web"]);
        t.has_throttle = true;
        t.has_error = true;
        s.observe(&t, &[]);
        for (i, rt) in [0.1, 0.2, 0.3, 0.4, 0.05].iter().enumerate() {
            s.observe(
                &summary(&format!("1-u{i}"), *rt, &format!("/u{i}"), &[]),
                &[],
            );
        }
        let r = s.report();
        assert_eq!((r.count, r.fault, r.error, r.throttle), (8, 1, 2, 1));
        assert_eq!(
            r.services,
            vec![
                ServiceCount {
                    name: "web".into(),
                    count: 3
                },
                ServiceCount {
                    name: "db".into(),
                    count: 1
                },
            ]
        );
        let urls: Vec<(&str, f64)> = r
            .slowest_urls
            .iter()
            .map(|u| (u.url.as_str(), u.max_response_time))
            .collect();
        assert_eq!(
            urls,
            vec![
                ("http://x/api/a", 2.0),
                ("http://x/api/b", 1.0),
                ("/u3", 0.4),
                ("/u2", 0.3),
                ("/u1", 0.2)
            ]
        );
        assert_eq!(s.seen_ids, BTreeSet::from(["1-b".to_string()]));
        assert_eq!(s.fault_rate(), Some(0.125));
        assert_eq!(r.response_time.max, Some(2.0));
    }

    #[test]
    fn a_pushed_out_url_that_comes_back_slower_is_kept_at_its_true_maximum() {
        let mut s = SlowestUrls::default();
        for (u, rt) in [("a", 1.0), ("b", 2.0), ("c", 3.0), ("d", 4.0), ("e", 5.0)] {
            s.record(u, rt);
        }
        s.record("f", 6.0); // pushes out a (1.0)
        s.record("a", 0.5); // a's true max is 1.0 < every kept max: stays out
        assert!(!s.list().iter().any(|u| u.url == "a"));
        s.record("a", 9.0);
        assert_eq!(s.list()[0].url, "a");
        assert_eq!(s.list().len(), SLOWEST);
    }

    #[test]
    fn shape_puts_every_value_in_a_bin() {
        let mut h = Histogram::default();
        for i in 1..=100 {
            h.record(f64::from(i) / 100.0);
        }
        let shape = h.shape(10);
        assert_eq!(shape.len(), 10);
        assert_eq!(shape.iter().sum::<u64>(), 100);
        // Log-width bins: the top bin (the slowest tenth of the log range) holds more
        // values than the bottom one.
        assert!(shape[9] > shape[0]);
    }

    proptest! {
        #[test]
        fn quantiles_stay_within_the_error_bound(
            values in proptest::collection::vec(1e-5f64..1e4, 1..400),
            p in 0.01f64..1.0,
        ) {
            let mut h = Histogram::default();
            for v in &values { h.record(*v); }
            let mut sorted = values.clone();
            sorted.sort_by(f64::total_cmp);
            let rank = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
            let exact = sorted[rank - 1];
            let got = h.quantile(p).unwrap();
            prop_assert!((got - exact).abs() <= exact * RELATIVE_ERROR * 1.0001,
                "p={p} got={got} exact={exact}");
        }
    }
}
