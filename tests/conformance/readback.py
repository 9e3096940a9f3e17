"""botocore (the AWS CLI's own client, from ./.venv) as the e2e tests' second opinion.

Reads a JSON list of calls from stdin, each `[operation_in_snake_case, params]`, makes
them in order against AWS_ENDPOINT_URL_XRAY with one client, and prints one JSON list:
per call the response (ResponseMetadata removed, timestamps as epoch seconds) or
`{"Error": {"Code": ..., "Message": ...}}`. botocore checks every response against the
service model, so a shape the emulator got wrong fails here too.

Run by the tests in tests/e2e_*.rs (see tests/common/mod.rs), one process per batch.
"""

import datetime
import json
import os
import sys

import awscli  # noqa: F401  (makes the CLI's bundled botocore importable as `botocore`)
import botocore.session
from botocore.config import Config
from botocore.exceptions import ClientError


def plain(v):
    if isinstance(v, dict):
        return {k: plain(x) for k, x in v.items() if k != "ResponseMetadata"}
    if isinstance(v, list):
        return [plain(x) for x in v]
    if isinstance(v, datetime.datetime):
        return v.timestamp()
    return v


def main():
    calls = json.load(sys.stdin)
    client = botocore.session.get_session().create_client(
        "xray",
        region_name=os.environ["AWS_DEFAULT_REGION"],
        endpoint_url=os.environ["AWS_ENDPOINT_URL_XRAY"],
        config=Config(retries={"max_attempts": 1, "mode": "standard"}),
    )
    out = []
    for op, params in calls:
        try:
            out.append(plain(getattr(client, op)(**params)))
        except ClientError as e:
            err = e.response.get("Error", {})
            out.append({"Error": {"Code": err.get("Code"), "Message": err.get("Message")}})
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
