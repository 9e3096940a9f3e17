"""Conformance: the real AWS CLI and botocore (from PyPI) against the cruddur-xray emulator.

botocore validates every response against the service model that nobody here wrote, so a
wrong member name or type fails here even where our own Rust tests agree with our server.

Run by tests/conformance.rs, which starts the emulator and passes AWS_ENDPOINT_URL_XRAY,
test credentials, a region and empty config files. Prints one line per failed check and
a closing `N passed, N failed`; exits 1 when any check failed.
"""

import json
import os
import subprocess
import sys
import time

import awscli  # noqa: F401  (makes the CLI's bundled botocore importable as `botocore`)
import botocore
import botocore.session
from botocore.config import Config
from botocore.exceptions import ClientError

ENDPOINT = os.environ["AWS_ENDPOINT_URL_XRAY"]
REGION = os.environ["AWS_DEFAULT_REGION"]
AWS = os.path.join(os.path.dirname(sys.executable), "aws")
REPO = os.environ.get("CRUDDUR_XRAY_REPO", os.getcwd())

passed = 0
failed = []


def check(name, cond, detail=""):
    global passed
    if cond:
        passed += 1
    else:
        failed.append(f"{name}: {detail}")
        print(f"FAIL {name}: {detail}", file=sys.stderr)


def eq(name, got, want):
    check(name, got == want, f"got {got!r}, want {want!r}")


def client(region=REGION, **config):
    session = botocore.session.get_session()
    return session.create_client(
        "xray",
        region_name=region,
        endpoint_url=ENDPOINT,
        config=Config(retries={"max_attempts": 1, "mode": "standard"}, **config),
    )


def error_of(fn, **kwargs):
    """(code, message, status) of the ClientError fn raises, or None when it succeeds."""
    try:
        fn(**kwargs)
    except ClientError as e:
        err = e.response["Error"]
        return (err.get("Code"), err.get("Message"), e.response["ResponseMetadata"]["HTTPStatusCode"])
    return None


def cli(*args):
    """Run the real `aws` CLI; returns (exit code, parsed stdout or None, stderr)."""
    proc = subprocess.run(
        [AWS, "--output", "json", *args], capture_output=True, text=True, cwd=REPO, timeout=120
    )
    try:
        out = json.loads(proc.stdout) if proc.stdout.strip() else None
    except ValueError:
        out = None
    return proc.returncode, out, proc.stderr


def rule(name, **over):
    r = {
        "RuleName": name, "ResourceARN": "*", "Priority": 9000, "FixedRate": 0.1,
        "ReservoirSize": 5, "ServiceName": "backend-flask", "ServiceType": "*", "Host": "*",
        "HTTPMethod": "*", "URLPath": "*", "Version": 1,
    }
    r.update(over)
    return r


def all_pages(x, op, key):
    items, pages = [], 0
    for page in x.get_paginator(op).paginate():
        pages += 1
        items.extend(page[key])
    return items, pages


def cli_seed_commands():
    code, out, err = cli("xray", "create-group", "--group-name", "Cruddur",
                         "--filter-expression", 'service("backend-flask")')
    eq("cli create-group exit", code, 0)
    group = (out or {}).get("Group", {})
    eq("cli create-group name", group.get("GroupName"), "Cruddur")
    eq("cli create-group filter", group.get("FilterExpression"), 'service("backend-flask")')
    check("cli create-group arn", str(group.get("GroupARN", "")).startswith(
        f"arn:aws:xray:{REGION}:000000000000:group/Cruddur/"), group)

    code, out, err = cli("xray", "create-sampling-rule", "--cli-input-json", "file://aws/json/xray.json")
    eq("cli create-sampling-rule exit", code, 0)
    r = (out or {}).get("SamplingRuleRecord", {}).get("SamplingRule", {})
    for k, v in json.load(open(os.path.join(REPO, "aws/json/xray.json")))["SamplingRule"].items():
        eq(f"cli create-sampling-rule {k}", r.get(k), v)
    eq("cli create-sampling-rule arn", r.get("RuleARN"),
       f"arn:aws:xray:{REGION}:000000000000:sampling-rule/Cruddur")

    # Re-running the seed commands fails the way AWS does (what cruddur-xray exists to fix).
    code, out, err = cli("xray", "create-sampling-rule", "--cli-input-json", "file://aws/json/xray.json")
    check("cli duplicate rule fails", code != 0 and "InvalidRequestException" in err
          and "Sampling rule already exists" in err, f"exit {code}, stderr {err!r}")
    code, out, err = cli("xray", "create-group", "--group-name", "Cruddur")
    check("cli duplicate group fails", code != 0 and "InvalidRequestException" in err, f"exit {code}, {err!r}")

    code, out, err = cli("xray", "get-groups")
    names = [g["GroupName"] for g in (out or {}).get("Groups", [])]
    eq("cli get-groups", names, ["Default", "Cruddur"])


def groups(x):
    g = x.get_group(GroupName="Cruddur")["Group"]
    eq("get-group filter", g["FilterExpression"], 'service("backend-flask")')
    eq("get-group insights", g["InsightsConfiguration"],
       {"InsightsEnabled": False, "NotificationsEnabled": False})
    eq("get-group by arn", x.get_group(GroupARN=g["GroupARN"])["Group"]["GroupName"], "Cruddur")

    u = x.update_group(GroupName="Cruddur", FilterExpression='service("backend-flask") { fault }',
                       InsightsConfiguration={"InsightsEnabled": True, "NotificationsEnabled": True})["Group"]
    eq("update-group filter", u["FilterExpression"], 'service("backend-flask") { fault }')
    eq("update-group insights", u["InsightsConfiguration"],
       {"InsightsEnabled": True, "NotificationsEnabled": True})
    eq("update-group keeps arn", u["GroupARN"], g["GroupARN"])

    e = error_of(x.get_group, GroupName="Nope")
    eq("missing group", e, ("InvalidRequestException", "Group not found", 400))
    e = error_of(x.delete_group, GroupName="Default")
    eq("Default group undeletable", e and e[0], "InvalidRequestException")
    e = error_of(x.create_group, GroupName="Notify",
                 InsightsConfiguration={"InsightsEnabled": False, "NotificationsEnabled": True})
    check("notifications need insights", e and e[0] == "InvalidRequestException"
          and "NotificationsEnabled" in e[1], e)
    e = error_of(x.create_group, GroupName="Tagged", Tags=[{"Key": "aws:reserved", "Value": "x"}])
    check("aws: tag prefix refused", e and e[0] == "InvalidRequestException" and "aws:" in e[1], e)

    created = x.create_group(GroupName="Temp", Tags=[{"Key": "env", "Value": "test"}])["Group"]
    eq("create-group tags", x.list_tags_for_resource(ResourceARN=created["GroupARN"])["Tags"],
       [{"Key": "env", "Value": "test"}])
    x.tag_resource(ResourceARN=created["GroupARN"], Tags=[{"Key": "team", "Value": "x"}])
    x.untag_resource(ResourceARN=created["GroupARN"], TagKeys=["env"])
    eq("tag and untag", x.list_tags_for_resource(ResourceARN=created["GroupARN"])["Tags"],
       [{"Key": "team", "Value": "x"}])
    eq("delete-group", x.delete_group(GroupName="Temp")["ResponseMetadata"]["HTTPStatusCode"], 200)
    e = error_of(x.list_tags_for_resource, ResourceARN=created["GroupARN"])
    eq("tags of a deleted group", e and (e[0], e[2]), ("ResourceNotFoundException", 404))

    for i in range(24):
        x.create_group(GroupName=f"g{i:02d}")
    e = error_of(x.create_group, GroupName="one-too-many")
    check("26th group refused", e and e[0] == "InvalidRequestException" and "limit" in e[1], e)
    items, pages = all_pages(x, "get_groups", "Groups")
    eq("get-groups pages", pages, 3)
    eq("get-groups all", len(items), 26)
    eq("get-groups Default first", items[0], {
        "GroupName": "Default", "GroupARN": f"arn:aws:xray:{REGION}:000000000000:group/Default",
        "InsightsConfiguration": {"InsightsEnabled": False, "NotificationsEnabled": False}})


def sampling_rules(x):
    recs, _ = all_pages(x, "get_sampling_rules", "SamplingRuleRecords")
    by_name = {r["SamplingRule"]["RuleName"]: r for r in recs}
    d = by_name["Default"]["SamplingRule"]
    eq("Default rule", {k: d[k] for k in ("Priority", "FixedRate", "ReservoirSize", "Version",
                                          "ServiceName", "Host", "HTTPMethod", "URLPath")},
       {"Priority": 10000, "FixedRate": 0.05, "ReservoirSize": 1, "Version": 1,
        "ServiceName": "*", "Host": "*", "HTTPMethod": "*", "URLPath": "*"})
    c = by_name["Cruddur"]
    eq("Cruddur rule rate", c["SamplingRule"]["FixedRate"], 0.1)
    check("CreatedAt is a datetime", hasattr(c["CreatedAt"], "year"), c["CreatedAt"])

    e = error_of(x.update_sampling_rule, SamplingRuleUpdate={"RuleName": "Default", "ServiceName": "api"})
    eq("Default rule non-rate update refused", e and e[0], "InvalidRequestException")
    r = x.update_sampling_rule(SamplingRuleUpdate={"RuleName": "Default", "FixedRate": 0.2,
                                                   "ReservoirSize": 2})["SamplingRuleRecord"]["SamplingRule"]
    eq("Default rule rate update", (r["FixedRate"], r["ReservoirSize"]), (0.2, 2))
    e = error_of(x.delete_sampling_rule, RuleName="Default")
    eq("Default rule undeletable", e and e[0], "InvalidRequestException")

    e = error_of(x.create_sampling_rule, SamplingRule=rule("Bad", FixedRate=1.5))
    eq("bad FixedRate", e, ("InvalidRequestException", "SamplingRule.FixedRate must be within 0..=1 (got 1.5)", 400))
    e = error_of(x.create_sampling_rule, SamplingRule=rule("Bad", Version=2))
    eq("Version must be 1", e and e[1], "SamplingRule.Version must be 1 (got 2)")
    e = error_of(x.update_sampling_rule, SamplingRuleUpdate={"RuleName": "Nope", "FixedRate": 0.1})
    eq("missing rule", e and e[0], "InvalidRequestException")

    u = x.update_sampling_rule(SamplingRuleUpdate={"RuleName": "Cruddur", "Priority": 8000})
    eq("update rule priority", u["SamplingRuleRecord"]["SamplingRule"]["Priority"], 8000)

    for i in range(24):
        x.create_sampling_rule(SamplingRule=rule(f"r{i:02d}"))
    e = error_of(x.create_sampling_rule, SamplingRule=rule("r24"))
    eq("26th rule", e and (e[0], e[2]), ("RuleLimitExceededException", 400))
    recs, pages = all_pages(x, "get_sampling_rules", "SamplingRuleRecords")
    eq("get-sampling-rules all", len(recs), 26)
    check("get-sampling-rules paged", pages > 1, pages)
    t = x.get_sampling_targets(SamplingStatisticsDocuments=[{
        "RuleName": "Cruddur", "ClientID": "0123456789abcdef01234567", "Timestamp": time.time(),
        "RequestCount": 10, "SampledCount": 1}])
    eq("sampling targets", [(d["RuleName"], d["FixedRate"], d["ReservoirQuota"], d["Interval"])
                            for d in t["SamplingTargetDocuments"]], [("Cruddur", 0.1, 5, 10)])
    d = x.delete_sampling_rule(RuleName="r00")["SamplingRuleRecord"]["SamplingRule"]
    eq("delete-sampling-rule returns the rule", d["RuleName"], "r00")


def unsigned():
    x = botocore.session.get_session().create_client(
        "xray", region_name=REGION, endpoint_url=ENDPOINT,
        config=Config(signature_version=botocore.UNSIGNED, retries={"max_attempts": 1}))
    e = error_of(x.get_groups)
    eq("unsigned request", e, ("MissingAuthenticationTokenException", "Missing Authentication Token", 403))


def trace_id(at, n):
    return "1-%08x-%024x" % (int(at), n)


def traces(x):
    now = time.time()
    docs = []
    for i in range(150):
        at = now - 600 + i
        tid = trace_id(at, i)
        doc = {"trace_id": tid, "id": "%016x" % (i + 1), "name": "backend-flask" if i % 2 else "frontend",
               "start_time": at, "end_time": at + 0.5, "origin": "AWS::ECS::Container",
               "http": {"request": {"method": "GET", "url": f"http://localhost/api/{i}"},
                        "response": {"status": 500 if i % 10 == 0 else 200}},
               "fault": i % 10 == 0, "annotations": {"n": i, "env": "dev"}, "user": "andrew",
               "subsegments": [{"id": "%016x" % (1000 + i), "name": "dynamodb", "namespace": "aws",
                                "start_time": at + 0.1, "end_time": at + 0.2}]}
        docs.append(json.dumps(doc))
    put = x.put_trace_segments(TraceSegmentDocuments=docs[:100])
    eq("put 100 segments", put["UnprocessedTraceSegments"], [])
    put = x.put_trace_segments(TraceSegmentDocuments=docs[100:] + ["{nope", json.dumps({"id": "zz"})])
    bad = put["UnprocessedTraceSegments"]
    eq("unprocessed count", len(bad), 2)
    eq("unprocessed id", bad[1].get("Id"), "zz")
    eq("unprocessed codes", [b.get("ErrorCode") for b in bad], ["InvalidJson", "InvalidId"])
    check("unprocessed message", all(b.get("Message", "").startswith("Invalid segment.") for b in bad), bad)

    summaries, pages, processed = [], 0, 0
    for page in x.get_paginator("get_trace_summaries").paginate(StartTime=now - 700, EndTime=now):
        pages += 1
        summaries.extend(page["TraceSummaries"])
        processed += page["TracesProcessedCount"]
        check("ApproximateTime", hasattr(page["ApproximateTime"], "year"), page.get("ApproximateTime"))
    eq("summary pages", pages, 2)
    eq("summaries", len(summaries), 150)
    eq("processed adds up", processed, 150)
    eq("newest first", summaries[0]["Id"], trace_id(now - 600 + 149, 149))
    s = next(s for s in summaries if s["Id"] == trace_id(now - 600 + 10, 10))
    eq("summary http", s["Http"], {"HttpURL": "http://localhost/api/10", "HttpMethod": "GET", "HttpStatus": 500})
    eq("summary fault", (s["HasFault"], s["HasError"], s["HasThrottle"], s["IsPartial"]), (True, False, False, False))
    check("summary duration", abs(s["Duration"] - 0.5) < 1e-3, s.get("Duration"))
    check("summary response time", abs(s["ResponseTime"] - 0.5) < 1e-3, s.get("ResponseTime"))
    eq("summary entry point", s["EntryPoint"], {"Name": "frontend", "Names": ["frontend"], "Type": "AWS::ECS::Container"})
    eq("summary services", [i["Name"] for i in s["ServiceIds"]], ["frontend", "dynamodb"])
    eq("summary annotation", s["Annotations"]["n"][0]["AnnotationValue"], {"NumberValue": 10.0})
    eq("summary user", s["Users"][0]["UserName"], "andrew")

    e = error_of(x.get_trace_summaries, StartTime=now - 60, EndTime=now, FilterExpression='service("unclosed')
    eq("unparsable filter", e and e[0], "InvalidRequestException")
    e = error_of(x.get_trace_summaries, StartTime=now, EndTime=now - 60)
    eq("window backwards", e and e[0], "InvalidRequestException")

    got = x.batch_get_traces(TraceIds=[trace_id(now - 600, 0), trace_id(now, 999)])
    eq("batch-get found", [t["Id"] for t in got["Traces"]], [trace_id(now - 600, 0)])
    eq("batch-get segment doc", json.loads(got["Traces"][0]["Segments"][0]["Document"])["name"], "frontend")
    eq("batch-get unprocessed", got["UnprocessedTraceIds"], [trace_id(now, 999)])

    graph = x.get_service_graph(StartTime=now - 700, EndTime=now)
    names = sorted(s["Name"] for s in graph["Services"])
    eq("service graph names", names, ["backend-flask", "dynamodb", "frontend"])
    flask = next(s for s in graph["Services"] if s["Name"] == "backend-flask")
    db = next(s for s in graph["Services"] if s["Name"] == "dynamodb")
    eq("service graph edge", [e["ReferenceId"] for e in flask["Edges"]], [db["ReferenceId"]])

    eq("destination", {k: v for k, v in x.get_trace_segment_destination().items() if k != "ResponseMetadata"},
       {"Destination": "XRay", "Status": "ACTIVE"})
    rules = x.get_indexing_rules()["IndexingRules"]
    eq("indexing rule", (rules[0]["Name"], rules[0]["Rule"]["Probabilistic"]["DesiredSamplingPercentage"]),
       ("Default", 1.0))
    return now


def retries():
    """botocore's standard retry mode treats the emulator's 429 and 503 as retryable."""
    faulty = botocore.session.get_session().create_client(
        "xray", region_name=REGION, endpoint_url=os.environ["CRUDDUR_XRAY_FAULTY_ENDPOINT"],
        config=Config(retries={"max_attempts": 10, "mode": "standard"}))
    retried, codes = 0, set()

    def seen(response=None, **_):
        code = response and response[1].get("Error", {}).get("Code")
        if code:
            codes.add(code)

    faulty.meta.events.register("needs-retry.xray", seen)
    for i in range(8):
        out = faulty.create_group(GroupName=f"retry{i}")
        retried += out["ResponseMetadata"]["RetryAttempts"]
    names = [g["GroupName"] for g in faulty.get_groups()["Groups"]]
    eq("every create landed once", names, ["Default"] + [f"retry{i}" for i in range(8)])
    check("faults fired and were retried", retried > 0, retried)
    eq("fault codes seen", codes, {"ThrottledException", "ServiceUnavailableException"})


def filters(x, now):
    """FilterExpression through the emulator's real filter-language parser and evaluator."""
    window = {"StartTime": now - 700, "EndTime": now}

    def summaries(expr):
        ids, processed = [], 0
        for page in x.get_paginator("get_trace_summaries").paginate(FilterExpression=expr, **window):
            ids.extend(s["Id"] for s in page["TraceSummaries"])
            processed += page["TracesProcessedCount"]
        return ids, processed

    ids, processed = summaries('service("backend-flask")')
    eq("filter service() count", len(ids), 75)
    eq("filter processed counts unmatched too", processed, 150)
    eq("filter newest first", ids[0], trace_id(now - 600 + 149, 149))
    eq("filter service() {fault}", len(summaries('service("frontend") { fault }')[0]), 15)
    eq("filter annotation", len(summaries("annotation.n >= 140")[0]), 10)
    eq("filter http.url", summaries('http.url ENDSWITH "/api/7"')[0], [trace_id(now - 600 + 7, 7)])
    eq("filter group.name Default", len(summaries('group.name = "Default"')[0]), 150)
    x.delete_group(GroupName="g00")  # the region is at its 25-group quota
    x.create_group(GroupName="Frontend", FilterExpression='service("frontend")')
    eq("filter group.name uses the group's filter", len(summaries('group.name = "Frontend" AND fault')[0]), 15)
    e = error_of(x.get_trace_summaries, FilterExpression="service(", **window)
    check("filter error names a column", e and e[0] == "InvalidRequestException" and "column" in e[1], e)

    code, out, err = cli("xray", "get-trace-summaries", "--start-time", str(int(now - 700)),
                         "--end-time", str(int(now)), "--filter-expression", 'service("backend-flask")')
    eq("cli get-trace-summaries exit", code, 0)
    eq("cli get-trace-summaries count", len((out or {}).get("TraceSummaries", [])), 75)


def regions():
    other = client(region="ap-southeast-2")
    eq("regions are separate", [g["GroupName"] for g in other.get_groups()["Groups"]], ["Default"])


def section(fn, *args):
    """Run one group of checks; an exception fails it without hiding the others."""
    try:
        return fn(*args)
    except Exception as e:  # noqa: BLE001 - reported as a failed check
        check(f"{fn.__name__} raised", False, f"{type(e).__name__}: {e}")
        return None


def main():
    section(cli_seed_commands)
    x = client()
    section(groups, x)
    section(sampling_rules, x)
    section(unsigned)
    now = section(traces, x)
    if now is not None:  # traces() failing is already a failed check
        section(filters, x, now)
    section(regions)
    section(retries)
    print(f"{passed} passed, {len(failed)} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
