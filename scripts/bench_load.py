"""Load N synthetic backend-flask traces into an X-Ray endpoint, for scripts/bench.sh.

One botocore client in one process, PutTraceSegments with BATCH documents per call, every
trace ID stamped with a time spread evenly over [START, END) so `verify --start/--end` and
`aws xray get-trace-summaries` see exactly N traces. About 1 in 20 traces is a fault.

usage: bench_load.py N START END   (epoch seconds; endpoint, region and credentials come
from AWS_ENDPOINT_URL_XRAY, AWS_DEFAULT_REGION and the AWS_* key variables)
"""

import json
import os
import sys

import awscli  # noqa: F401  (makes the CLI's bundled botocore importable)
import botocore.session
from botocore.config import Config

BATCH = 50
PATHS = ["/api/activities/home", "/api/activities/notifications", "/api/message_groups"]


def documents(n, start, end):
    span = max(end - start, 1)
    for i in range(n):
        at = start + (span * i) // n
        trace_id = f"1-{at:08x}-{i:024x}"
        fault = i % 20 == 0
        doc = {
            "id": f"{i:016x}",
            "trace_id": trace_id,
            "name": "backend-flask",
            "start_time": at + 0.001,
            "end_time": at + 0.001 + 0.005 + (i % 97) / 1000.0,
            "http": {
                "request": {"method": "GET", "url": "http://localhost:4567" + PATHS[i % 3]},
                "response": {"status": 500 if fault else 200},
            },
            "fault": fault,
        }
        yield json.dumps(doc, separators=(",", ":"))


def main():
    n, start, end = (int(a) for a in sys.argv[1:4])
    client = botocore.session.get_session().create_client(
        "xray",
        region_name=os.environ["AWS_DEFAULT_REGION"],
        endpoint_url=os.environ["AWS_ENDPOINT_URL_XRAY"],
        config=Config(retries={"max_attempts": 3, "mode": "standard"}),
    )
    batch = []
    sent = 0
    for doc in documents(n, start, end):
        batch.append(doc)
        if len(batch) == BATCH:
            sent += put(client, batch)
            batch = []
    if batch:
        sent += put(client, batch)
    print(f"loaded {sent} traces", file=sys.stderr)


def put(client, batch):
    out = client.put_trace_segments(TraceSegmentDocuments=batch)
    refused = out.get("UnprocessedTraceSegments") or []
    if refused:
        sys.exit(f"PutTraceSegments refused {len(refused)} documents: {refused[0]}")
    return len(batch)


if __name__ == "__main__":
    main()
