//! Parses a corpus of realistic filter expressions many times and prints throughput.
//!
//! `cargo bench --bench filter_parse` (std::time only; no harness). Pass a number to change
//! the iteration count: `cargo bench --bench filter_parse -- 20000`.

use std::hint::black_box;
use std::time::{Duration, Instant};

use cruddur_xray::filter;

const CORPUS: &[&str] = &[
    r#"service("backend-flask")"#,
    r#"service("api.example.com") { fault }"#,
    "service() { fault OR error }",
    r#"edge("api.example.com", "backend.example.com") { error }"#,
    r#"http.url BEGINSWITH "http://api.example.com/" AND http.url CONTAINS "/v2/" AND !service("api.example.com")"#,
    "http.url AND responseTime > 2",
    r#"annotation.gameid = "817DL6VO""#,
    "!annotation.age",
    r#"group.name = "high_response_time" AND user = "alice""#,
    r#"service(id(name: "random-name", type: "AWS::Lambda::Function")) { error }"#,
    "ok !partial duration <3",
    "responsetime > 5 AND http.status >= 500 AND http.status < 600",
    r#"(http.method = "POST" OR http.method = "PUT") AND http.url CONTAINS "/api/messages""#,
    r#"rootcause.fault.service { name = "Auth" AND type = "AWS::ECS::Container" AND index = 1 }"#,
    r#"rootcause.responsetime.entity { remote AND name = "DynamoDB" AND coverage > 0.5 }"#,
    r#"rootcause.json = #[{ "Services": [ { "Name": "GetWeatherData", "EntityPath": [{ "Name": "GetWeatherData" }, { "Name": "get_temperature" } ] } ] }]"#,
    r#"annotation.user_id = "andrewbrown" AND annotation.latency_ms > 250 AND !error"#,
    r#"service(id(name: "backend-flask", type: "AWS::ECS::Container", account.id: "123456789012")) { responsetime > 1 OR throttle }"#,
    r#"availabilityzone = "us-east-1a" AND instance.id BEGINSWITH "i-" AND fault = false"#,
    r#"!(ok) AND (fault OR error OR throttle) AND http.useragent CONTAINS "Mozilla""#,
];

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    // `cargo bench` passes `--bench`; `cargo test --all-targets` does not, and then one round
    // is enough to check that the benchmark still runs.
    let default = if args.iter().any(|a| a == "--bench") {
        20_000
    } else {
        1
    };
    let iterations: usize = args.iter().find_map(|a| a.parse().ok()).unwrap_or(default);
    // Every expression must parse, or the numbers would measure error paths.
    for src in CORPUS {
        if let Err(errors) = filter::parse(src) {
            eprintln!("corpus expression does not parse: {src}\n{errors:?}");
            std::process::exit(1);
        }
    }
    let bytes_per_round: usize = CORPUS.iter().map(|s| s.len()).sum();

    // Warm up.
    for src in CORPUS {
        black_box(filter::parse(black_box(src)).is_ok());
    }

    let start = Instant::now();
    for _ in 0..iterations {
        for src in CORPUS {
            black_box(filter::parse(black_box(src)).is_ok());
        }
    }
    report(
        "valid corpus",
        start.elapsed(),
        iterations * CORPUS.len(),
        iterations * bytes_per_round,
    );

    // One large expression: a megabyte of ANDed comparisons.
    let big = format!("{}ok", r#"http.url CONTAINS "/api/" AND "#.repeat(35_000));
    let start = Instant::now();
    let rounds = if iterations > 1 { 5 } else { 1 };
    for _ in 0..rounds {
        black_box(filter::parse(black_box(&big)).is_ok());
    }
    report(
        "1 MB expression",
        start.elapsed(),
        rounds,
        rounds * big.len(),
    );

    // Error path: rendering every problem of invalid expressions.
    let invalid = [
        "resposetime > 5 AND http.url > 5",
        r#"service(backend) { fault } AND (ok "x") AND duration"#,
        r#"annotation.x = 1 AND service("a") AND first"#,
    ];
    let start = Instant::now();
    let rounds = (iterations / 10).max(1);
    for _ in 0..rounds {
        for src in invalid {
            if let Err(errors) = filter::parse(black_box(src)) {
                for e in &errors {
                    black_box(e.render(src, false));
                }
            }
        }
    }
    let bytes: usize = invalid.iter().map(|s| s.len()).sum();
    report(
        "invalid + render",
        start.elapsed(),
        rounds * invalid.len(),
        rounds * bytes,
    );
}

fn report(label: &str, elapsed: Duration, expressions: usize, bytes: usize) {
    let secs = elapsed.as_secs_f64();
    println!(
        "{label:<18} {expressions:>9} expressions in {secs:>7.3} s: {:>12.0} expr/s, {:>8.2} MB/s",
        expressions as f64 / secs,
        bytes as f64 / secs / 1e6
    );
}
