//! Reading what verify needs from X-Ray: groups, rules, and the trace summaries of the
//! window (whole and per group), every page, chunked and fetched with bounded concurrency.

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::task::Poll;

use crate::error::Result;
use crate::spec::DEFAULT_NAME;
use crate::trace::trace_id_time;
use crate::verify::Plan;
use crate::verify::stats::Stats;
use crate::verify::window::Window;
use crate::xray::{Group, Pager, SamplingRuleRecord, SummaryQuery, XRay};

/// BatchGetTraces takes at most five IDs per call.
const TRACE_IDS_PER_CALL: usize = 5;

/// One poll's worth of facts.
#[derive(Debug, Clone)]
pub struct Snapshot {
    pub window: Window,
    pub groups: Vec<Group>,
    /// Sorted by priority, then name (the order the SDKs evaluate them in).
    pub rules: Vec<SamplingRuleRecord>,
    /// Every trace in the window.
    pub all: Stats,
    /// Each group's own traces, by group name. `Default` (no filter) is `all`.
    pub by_group: BTreeMap<String, Stats>,
    /// Of the `--trace-id`s, those BatchGetTraces found.
    pub found_trace_ids: Vec<String>,
}

/// The FilterExpression selecting a group's own traces.
pub fn group_filter(name: &str) -> String {
    let escaped = name.replace('\\', "\\\\").replace('"', "\\\"");
    format!("group.name = \"{escaped}\"")
}

/// Read groups, rules, every summary of `window` (and of each group), and the trace IDs.
pub async fn collect<X: XRay>(plan: &Plan, client: &X, window: Window) -> Result<Snapshot> {
    let (groups, rules) = tokio::join!(client.get_groups(), client.get_sampling_rules());
    let groups = groups?;
    let mut rules = rules?;
    rules.sort_by(|a, b| {
        a.rule
            .priority
            .cmp(&b.rule.priority)
            .then_with(|| a.rule.rule_name.cmp(&b.rule.rule_name))
    });

    let chunks = window.chunks();
    let all = read_window(plan, client, &chunks, &[None])
        .await?
        .pop()
        .unwrap_or_default();
    // A group's traces are a subset of all traces: with none in the window, every group has
    // none either, and their queries are skipped.
    let custom: Vec<&Group> = groups.iter().filter(|g| g.name != DEFAULT_NAME).collect();
    let filters: Vec<Option<String>> = if all.count == 0 {
        Vec::new()
    } else {
        custom.iter().map(|g| Some(group_filter(&g.name))).collect()
    };
    let mut per_group = read_window(plan, client, &chunks, &filters)
        .await?
        .into_iter();
    let mut by_group = BTreeMap::new();
    for g in &groups {
        let stats = if g.name == DEFAULT_NAME {
            all.clone()
        } else {
            per_group.next().unwrap_or_default()
        };
        by_group.insert(g.name.clone(), stats);
    }

    let mut found_trace_ids = Vec::new();
    for batch in plan.trace_ids.chunks(TRACE_IDS_PER_CALL) {
        found_trace_ids.extend(client.batch_get_trace_ids(batch).await?);
    }
    Ok(Snapshot {
        window,
        groups,
        rules,
        all,
        by_group,
        found_trace_ids,
    })
}

/// For each filter, every summary in `chunks` that matches it; all (filter, chunk) queries
/// share one pool of at most `plan.concurrency` in flight.
async fn read_window<X: XRay>(
    plan: &Plan,
    client: &X,
    chunks: &[Window],
    filters: &[Option<String>],
) -> Result<Vec<Stats>> {
    let watch = plan.trace_ids.as_slice();
    let last = chunks.len().saturating_sub(1);
    let tasks = filters.iter().enumerate().flat_map(|(i, filter)| {
        chunks.iter().enumerate().map(move |(k, c)| {
            let query = SummaryQuery {
                start: c.start,
                end: c.end,
                filter_expression: filter.clone(),
            };
            // Adjacent chunks share a boundary, and the service may return a trace placed
            // exactly on it from both: every chunk but the last leaves its end to the next.
            let before = (k < last).then_some(c.end);
            async move { Ok((i, read_all_pages(client, &query, watch, before).await?)) }
        })
    });
    let mut stats = vec![Stats::default(); filters.len()];
    for_each_bounded(tasks, plan.concurrency, |(i, s): (usize, Stats)| {
        stats[i].merge(&s);
    })
    .await?;
    Ok(stats)
}

/// Follow NextToken to the end, folding each page into one [`Stats`] as it arrives.
/// With `before`, traces placed at or after it are skipped (the next chunk counts them).
async fn read_all_pages<X: XRay>(
    client: &X,
    query: &SummaryQuery,
    watch: &[String],
    before: Option<f64>,
) -> Result<Stats> {
    let mut stats = Stats::default();
    let mut pager = Pager::new("GetTraceSummaries");
    let mut token = None;
    loop {
        let page = client.get_trace_summaries_page(query, token).await?;
        for t in &page.summaries {
            if let (Some(limit), Some(at)) = (before, trace_id_time(&t.id))
                && at >= limit
            {
                continue;
            }
            stats.observe(t, watch);
        }
        token = pager.next(page.next_token)?;
        if token.is_none() {
            return Ok(stats);
        }
    }
}

/// Run `futures` with at most `limit` in flight at once, handing each result to `each` as
/// it completes; stop at the first error (the others are dropped, which cancels them).
///
/// The futures borrow the client, so this polls them in place instead of spawning tasks.
pub async fn for_each_bounded<T, F>(
    futures: impl IntoIterator<Item = F>,
    limit: usize,
    mut each: impl FnMut(T),
) -> Result<()>
where
    F: Future<Output = Result<T>>,
{
    let limit = limit.max(1);
    let mut pending = futures.into_iter();
    let mut active: Vec<Pin<Box<F>>> = Vec::new();
    std::future::poll_fn(|cx| {
        loop {
            while active.len() < limit {
                match pending.next() {
                    Some(f) => active.push(Box::pin(f)),
                    None => break,
                }
            }
            if active.is_empty() {
                return Poll::Ready(Ok(()));
            }
            let mut finished_any = false;
            let mut k = 0;
            while k < active.len() {
                match active[k].as_mut().poll(cx) {
                    Poll::Ready(Ok(v)) => {
                        each(v);
                        drop(active.swap_remove(k));
                        finished_any = true;
                    }
                    Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                    Poll::Pending => k += 1,
                }
            }
            if !finished_any {
                return Poll::Pending;
            }
        }
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Error;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[tokio::test]
    async fn at_most_limit_futures_run_at_once_and_every_result_arrives() {
        let in_flight = AtomicUsize::new(0);
        let peak = AtomicUsize::new(0);
        let tasks = (0..10).map(|i| {
            let (in_flight, peak) = (&in_flight, &peak);
            async move {
                let now = in_flight.fetch_add(1, Ordering::SeqCst) + 1;
                peak.fetch_max(now, Ordering::SeqCst);
                for _ in 0..(i % 3 + 1) {
                    tokio::task::yield_now().await;
                }
                in_flight.fetch_sub(1, Ordering::SeqCst);
                Ok::<_, Error>(i)
            }
        });
        let mut got = Vec::new();
        for_each_bounded(tasks, 4, |i| got.push(i)).await.unwrap();
        got.sort();
        assert_eq!(got, (0..10).collect::<Vec<_>>());
        assert_eq!(peak.load(Ordering::SeqCst), 4);
    }

    #[tokio::test]
    async fn the_first_error_stops_the_rest() {
        let started = AtomicUsize::new(0);
        let tasks = (0..10).map(|i| {
            let started = &started;
            async move {
                started.fetch_add(1, Ordering::SeqCst);
                tokio::task::yield_now().await;
                if i == 1 {
                    Err(Error::Other("boom".into()))
                } else {
                    Ok(i)
                }
            }
        });
        let err = for_each_bounded(tasks, 2, |_| {}).await.unwrap_err();
        assert_eq!(err.to_string(), "boom");
        assert!(started.load(Ordering::SeqCst) < 10);
    }

    #[test]
    fn group_filters_quote_the_name() {
        assert_eq!(group_filter("Cruddur"), r#"group.name = "Cruddur""#);
        assert_eq!(group_filter(r#"a"b"#), r#"group.name = "a\"b""#);
    }
}
