//! `send-test-trace`: send one synthetic segment and print its trace ID, to check that
//! credentials, region, group filters and sampling all line up end to end.

use std::collections::BTreeMap;

use crate::commands::{Context, Outcome};
use crate::error::{Error, Result};
use crate::output::{self, TraceReport};
use crate::trace::{AnnotationValue, Http, HttpRequest, HttpResponse, Segment};
use crate::xray::XRay;

#[derive(Debug, clap::Args)]
#[command(after_help = "\
Annotation values: true/false become booleans, finite numbers become numbers, anything \
else is a string. Keys are letters, digits and underscores.")]
pub struct Args {
    /// The segment's service name (what service("...") filters match)
    #[arg(long, value_name = "NAME", default_value = "backend-flask")]
    pub service: String,
    /// An annotation KEY=VALUE; repeat for more
    #[arg(long = "annotation", value_name = "KEY=VALUE")]
    pub annotations: Vec<String>,
}

/// Segment names: at most 200 characters of letters, digits, whitespace and `_.:/%&#=+\-@`.
pub fn check_service_name(name: &str) -> Result<()> {
    let len = name.chars().count();
    if len == 0 || len > 200 {
        return Err(Error::invalid(format!(
            "--service must be 1..=200 characters long (got {len})"
        )));
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_alphanumeric() || *c == ' ' || "_.:/%&#=+\\-@".contains(*c)))
    {
        return Err(Error::invalid(format!(
            "--service may hold letters, digits, spaces and _.:/%&#=+\\-@ (found {c:?})"
        )));
    }
    Ok(())
}

/// Parse `KEY=VALUE` annotations.
pub fn parse_annotations(raw: &[String]) -> Result<BTreeMap<String, AnnotationValue>> {
    let mut out = BTreeMap::new();
    for a in raw {
        let Some((k, v)) = a.split_once('=') else {
            return Err(Error::invalid(format!(
                "--annotation must be KEY=VALUE (got {a:?})"
            )));
        };
        if k.is_empty()
            || k.len() > 500
            || !k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        {
            return Err(Error::invalid(format!(
                "--annotation key must be 1..=500 letters, digits or underscores (got {k:?})"
            )));
        }
        if v.chars().count() > 1000 {
            return Err(Error::invalid(format!(
                "--annotation {k}: value must be at most 1000 characters long"
            )));
        }
        let value = match v {
            "true" => AnnotationValue::Bool(true),
            "false" => AnnotationValue::Bool(false),
            _ => match v.parse::<f64>() {
                Ok(n) if n.is_finite() && !v.is_empty() => AnnotationValue::Number(n),
                _ => AnnotationValue::String(v.to_owned()),
            },
        };
        if out.insert(k.to_owned(), value).is_some() {
            return Err(Error::invalid(format!("--annotation {k} is given twice")));
        }
    }
    Ok(out)
}

fn random_hex(digits: usize) -> String {
    (0..digits)
        .map(|_| char::from_digit(fastrand::u32(0..16), 16).unwrap_or('0'))
        .collect()
}

/// `1-<8 hex digits of epoch seconds>-<24 random hex digits>`.
pub fn new_trace_id(epoch_secs: u64) -> String {
    format!("1-{:08x}-{}", epoch_secs & 0xffff_ffff, random_hex(24))
}

/// One complete segment: a GET that took 50 ms and returned 200.
pub fn test_segment(
    service: &str,
    annotations: BTreeMap<String, AnnotationValue>,
    now: f64,
) -> Segment {
    Segment {
        id: random_hex(16),
        name: service.to_owned(),
        trace_id: Some(new_trace_id(now as u64)),
        start_time: now - 0.05,
        end_time: Some(now),
        in_progress: false,
        parent_id: None,
        kind: None,
        origin: Some("AWS::EC2::Instance".into()),
        user: None,
        namespace: None,
        http: Some(Http {
            request: Some(HttpRequest {
                method: Some("GET".into()),
                url: Some("http://localhost/cruddur-xray/test-trace".into()),
                user_agent: Some(concat!("cruddur-xray/", env!("CARGO_PKG_VERSION")).into()),
                client_ip: Some("127.0.0.1".into()),
            }),
            response: Some(HttpResponse {
                status: Some(200),
                content_length: Some(0),
            }),
        }),
        error: false,
        fault: false,
        throttle: false,
        annotations,
        aws: None,
        cause: None,
        subsegments: Vec::new(),
    }
}

/// Send the segment; a segment the service refuses is an error with its code and message.
pub async fn execute(xray: &impl XRay, segment: &Segment) -> Result<TraceReport> {
    let doc = serde_json::to_string(segment)
        .map_err(|e| Error::Other(format!("cannot encode the segment: {e}")))?;
    let unprocessed = xray.put_trace_segments(vec![doc]).await?;
    if let Some(u) = unprocessed.first() {
        return Err(Error::Service {
            operation: "PutTraceSegments",
            code: u
                .error_code
                .clone()
                .unwrap_or_else(|| "UnprocessedTraceSegment".into()),
            message: format!(
                "segment {} was not processed: {}",
                u.id.as_deref().unwrap_or(&segment.id),
                u.message.as_deref().unwrap_or("(no message)")
            ),
        });
    }
    Ok(TraceReport {
        trace_id: segment.trace_id.clone().unwrap_or_default(),
        service: segment.name.clone(),
    })
}

pub async fn run(args: Args, ctx: &Context) -> Result<Outcome> {
    check_service_name(&args.service)?;
    let annotations = parse_annotations(&args.annotations)?;
    let segment = test_segment(&args.service, annotations, crate::trace::now());
    let xray = ctx.xray().await?;
    let report = execute(&xray, &segment).await?;
    output::emit(&report, ctx.global.output)?;
    Ok(Outcome::Ok)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::xray::fake::FakeXRay;

    #[test]
    fn trace_ids_have_the_xray_shape() {
        let id = new_trace_id(0x5f84_c7a1);
        let parts: Vec<&str> = id.split('-').collect();
        assert_eq!(parts.len(), 3);
        assert_eq!(parts[0], "1");
        assert_eq!(parts[1], "5f84c7a1");
        assert_eq!(parts[2].len(), 24);
        assert!(parts[2].chars().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(new_trace_id(1), new_trace_id(1), "random part differs");
    }

    #[test]
    fn the_segment_is_complete_and_round_trips() {
        let mut ann = BTreeMap::new();
        ann.insert("env".to_owned(), AnnotationValue::String("ci".into()));
        let s = test_segment("backend-flask", ann, 1_700_000_000.5);
        assert_eq!(s.id.len(), 16);
        assert!(s.id.chars().all(|c| c.is_ascii_hexdigit()));
        assert!(s.trace_id.as_deref().unwrap().starts_with("1-6553f100-"));
        assert!(s.end_time.unwrap() > s.start_time);
        let json = serde_json::to_value(&s).unwrap();
        assert_eq!(json["http"]["request"]["method"], "GET");
        assert_eq!(json["http"]["response"]["status"], 200);
        assert_eq!(json["origin"], "AWS::EC2::Instance");
        assert_eq!(json["annotations"]["env"], "ci");
        let back: Segment = serde_json::from_value(json).unwrap();
        assert_eq!(back, s);
    }

    #[test]
    fn annotations_are_typed() {
        let a = parse_annotations(&[
            "ok=true".into(),
            "n=1.5".into(),
            "s=hello".into(),
            "e=".into(),
        ])
        .unwrap();
        assert_eq!(a["ok"], AnnotationValue::Bool(true));
        assert_eq!(a["n"], AnnotationValue::Number(1.5));
        assert_eq!(a["s"], AnnotationValue::String("hello".into()));
        assert_eq!(a["e"], AnnotationValue::String(String::new()));
        assert_eq!(
            parse_annotations(&["x=inf".into()]).unwrap()["x"],
            AnnotationValue::String("inf".into())
        );
        for (bad, msg) in [
            (
                "novalue",
                "--annotation must be KEY=VALUE (got \"novalue\")",
            ),
            (
                "a-b=1",
                "--annotation key must be 1..=500 letters, digits or underscores (got \"a-b\")",
            ),
            (
                "=1",
                "--annotation key must be 1..=500 letters, digits or underscores (got \"\")",
            ),
        ] {
            let e = parse_annotations(&[bad.into()]).unwrap_err();
            assert_eq!(e.to_string(), msg);
            assert_eq!(e.exit().code(), 252);
        }
        assert_eq!(
            parse_annotations(&["a=1".into(), "a=2".into()])
                .unwrap_err()
                .to_string(),
            "--annotation a is given twice"
        );
    }

    #[test]
    fn service_names_are_checked() {
        assert!(check_service_name("backend-flask").is_ok());
        assert!(check_service_name("api.example.com:443/v1").is_ok());
        assert_eq!(
            check_service_name("").unwrap_err().to_string(),
            "--service must be 1..=200 characters long (got 0)"
        );
        assert_eq!(
            check_service_name("a\"b").unwrap_err().to_string(),
            "--service may hold letters, digits, spaces and _.:/%&#=+\\-@ (found '\"')"
        );
    }

    #[tokio::test]
    async fn the_segment_is_sent_and_its_trace_id_reported() {
        let fake = FakeXRay::new();
        let s = test_segment("backend-flask", BTreeMap::new(), 1_700_000_000.0);
        let report = execute(&fake, &s).await.unwrap();
        assert_eq!(report.trace_id, s.trace_id.clone().unwrap());
        assert_eq!(report.service, "backend-flask");
        assert_eq!(fake.calls(), ["PutTraceSegments"]);
        let sent = fake.state.lock().unwrap().segments.clone();
        assert_eq!(sent.len(), 1);
        let back: Segment = serde_json::from_str(&sent[0]).unwrap();
        assert_eq!(back, s);
    }

    #[tokio::test]
    async fn an_unprocessed_segment_is_a_service_error() {
        let fake = FakeXRay::new();
        fake.state.lock().unwrap().unprocessed = vec![crate::xray::UnprocessedSegment {
            id: Some("abc".into()),
            error_code: Some("InvalidTraceId".into()),
            message: Some("trace id is too old".into()),
        }];
        let s = test_segment("backend-flask", BTreeMap::new(), 1_700_000_000.0);
        let e = execute(&fake, &s).await.unwrap_err();
        assert_eq!(e.exit().code(), 254);
        assert_eq!(
            e.to_string(),
            "PutTraceSegments failed: InvalidTraceId: segment abc was not processed: trace id is too old"
        );
    }

    #[test]
    fn flags_parse() {
        use clap::Parser;
        let cli = crate::cli::Cli::try_parse_from([
            "cruddur-xray",
            "send-test-trace",
            "--annotation",
            "a=1",
            "--annotation",
            "b=x",
        ])
        .unwrap();
        let crate::cli::Command::SendTestTrace(args) = cli.command else {
            panic!("parsed as another command");
        };
        assert_eq!(args.service, "backend-flask");
        assert_eq!(args.annotations, ["a=1", "b=x"]);
    }
}
