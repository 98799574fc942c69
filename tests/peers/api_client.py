"""An independent client of Plantwatch's local API for the system tests: Python `requests`, and
`openapi-spec-validator` for the OpenAPI document. It uses none of Plantwatch's code.

Usage:
  api_client.py full --url URL --token T --revoked R --expired E --from TIME --to TIME --out FILE
  api_client.py tls  --url URL --token T --cafile CERT.pem

`full` calls every endpoint and every error path and asserts what comes back (a failed check raises, and
the script exits 1 with the reason on stderr). It writes to --out the `history/raw` samples of plc/level
in [--from, --to) for the Rust side to compare with `plantwatch export`, and ends with the failed-auth rate
limit (which blocks this address for a minute, so it must come last).
`tls` checks that the certificate in --cafile is trusted and the default trust store refuses it.
Both print `ok N` (the number of checks) on success.
"""

import argparse
import json
import sys

import requests
from openapi_spec_validator import validate

ENDPOINTS = [
    "/api/v1/plant",
    "/api/v1/values",
    "/api/v1/devices",
    "/api/v1/history/raw",
    "/api/v1/history/aggregate",
    "/api/v1/history/thinned",
    "/api/v1/alarms/active",
    "/api/v1/alarms/journal",
    "/api/v1/alarms/health",
]


class Client:
    def __init__(self, url, token, verify=True):
        self.url = url.rstrip("/") + "/"
        self.token = token
        self.verify = verify
        self.checks = 0

    def get(self, path, params=None, token="default", status=200, code=None, mentions=()):
        """GETs `path` and checks the status, the error code and words of the error message."""
        headers = {}
        token = self.token if token == "default" else token
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        r = requests.get(self.url + path, params=params, headers=headers, timeout=30, verify=self.verify)
        body = r.json()
        where = f"GET {path} {params or ''}"
        shown = json.dumps(body)[:300]
        assert r.status_code == status, f"{where}: status {r.status_code}, wanted {status}: {shown}"
        assert r.headers.get("content-type", "").startswith("application/json"), where
        if status >= 400:
            assert set(body) == {"code", "message"}, f"{where}: error shape {body}"
            if code is not None:
                assert body["code"] == code, f"{where}: code {body['code']}, wanted {code}"
            for word in mentions:
                assert word in body["message"], f"{where}: {word!r} not in {body['message']!r}"
        self.checks += 1
        return body


def full(args):
    c = Client(args.url, args.token)

    # The OpenAPI document: no token needed, valid 3.1, every endpoint listed with the bearer scheme.
    doc = c.get("openapi.json", token=None)
    validate(doc)
    assert doc["openapi"].startswith("3.1"), doc["openapi"]
    missing = [p for p in ENDPOINTS if p not in doc["paths"]]
    assert not missing, f"not in the OpenAPI document: {missing}"
    assert doc["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"

    # Authentication: none, malformed, revoked, expired: all 401 alike.
    for token in (None, "nonsense", "pwt_" + "0" * 64, args.revoked, args.expired):
        c.get("plant", token=token, status=401, code="unauthorized", mentions=("Bearer",))

    # The plant.
    plant = c.get("plant")
    tags = {t["id"]: t for d in plant["devices"] for t in d["tags"]}
    assert tags["plc/level"]["unit"] == "m" and tags["plc/level"]["type"] == "u16", tags["plc/level"]
    assert [d["id"] for d in plant["devices"]] == ["plc", "drive1", "drive2", "meter"], plant["devices"]

    # Current values: all, named in order, by pattern; errors.
    values = c.get("values")["values"]
    assert [v["tag"] for v in values] == list(tags), "every tag, in config order"
    two = c.get("values", params=[("tag", "plc/flow"), ("tag", "plc/level")])["values"]
    assert [v["tag"] for v in two] == ["plc/flow", "plc/level"], two
    for v in two:
        assert v["quality"]["level"] == "good" and "cause" not in v["quality"], v
        assert isinstance(v["value"], (int, float)) and v["time"].endswith("Z"), v
    plc = c.get("values", params={"pattern": "plc/*"})["values"]
    assert [v["tag"] for v in plc] == [t for t in tags if t.startswith("plc/")], plc
    c.get("values", params={"tag": "plc/nope"}, status=404, code="unknown_tag", mentions=("plc/nope",))
    c.get("values", params={"pattern": "nothing/*"}, status=404, code="unknown_tag")
    c.get("values", params={"tag": "plc/level", "pattern": "plc/*"}, status=400, code="bad_parameter")
    c.get("values", params={"colour": "red"}, status=400, code="bad_parameter",
          mentions=("colour", "allowed: tag, pattern"))

    # No CORS headers for an origin the plant does not list (it lists none here).
    r = requests.get(c.url + "plant", headers={"Authorization": f"Bearer {c.token}",
                                               "Origin": "https://elsewhere.example"}, timeout=30)
    assert r.status_code == 200 and not any(h.lower().startswith("access-control-") for h in r.headers), \
        dict(r.headers)
    c.checks += 1

    # Devices.
    devices = c.get("devices")["devices"]
    assert [d["id"] for d in devices] == ["plc", "drive1", "drive2", "meter"], devices
    assert all(d["state"] == "online" and d["counters"]["responses"] > 0 for d in devices), devices

    # History, raw: the window the Rust side compares with export; errors.
    window = {"tag": "plc/level", "from": args.from_, "to": args.to}
    raw = c.get("history/raw", params=window)
    assert raw["samples"], "the window holds samples"
    c.get("history/raw", params={**window, "tag": "plc/nope"}, status=404, code="unknown_tag")
    c.get("history/raw", params={**window, "from": args.to, "to": args.from_}, status=400,
          code="bad_parameter", mentions=("'to'", "after 'from'"))
    c.get("history/raw", params={"tag": "plc/level"}, status=400, code="bad_parameter",
          mentions=("missing parameter 'from'",))
    c.get("history/raw", params={**window, "from": "yesterday-ish"}, status=400, code="bad_parameter",
          mentions=("'from'",))

    # History, aggregated.
    agg = c.get("history/aggregate", params={**window, "every": "1s", "agg": "max"})
    assert agg["agg"] == "max" and agg["every_ms"] == 1000 and agg["intervals"], agg
    top = max(s["value"] for s in raw["samples"] if s["quality"]["level"] == "good")
    assert max(i["value"] for i in agg["intervals"]) == top, "the max of the intervals is the max of the samples"
    c.get("history/aggregate", params={**window, "every": "1s", "agg": "mean"}, status=400,
          code="bad_parameter", mentions=("avg, min, max, first, last, count", "mean"))
    c.get("history/aggregate", params={"tag": "plc/level", "from": "-30d", "every": "1ms", "agg": "avg"},
          status=400, code="too_much", mentions=("100000",))
    c.get("history/aggregate", params={**window, "agg": "avg"}, status=400, mentions=("'every'",))

    # History, thinned.
    thin = c.get("history/thinned", params={**window, "columns": "4"})
    assert len(thin["columns"]) == 4, thin
    counted = sum(col["count"] for col in thin["columns"])
    good = sum(1 for s in raw["samples"] if s["quality"]["level"] == "good")
    assert counted == good, f"the columns hold every good sample: {counted} != {good}"
    c.get("history/thinned", params={**window, "columns": "0"}, status=400, mentions=("1 to 10000",))
    c.get("history/thinned", params={**window, "columns": "20000"}, status=400, mentions=("1 to 10000",))

    # Alarms.
    active = c.get("alarms/active")
    assert isinstance(active["alarms"], list)
    journal = c.get("alarms/journal", params={"from": "-1h"})
    assert isinstance(journal["entries"], list)
    health = c.get("alarms/health", params={"from": "-1h"})
    assert health["activations"] == sum(p["alarms"] for p in health["per_10_minutes"]), health
    c.get("alarms/journal", params={"from": "-1h", "to": "-2h"}, status=400, code="bad_parameter")

    # No such endpoint.
    c.get("nothing-here", status=404, code="not_found")

    with open(args.out, "w") as out:
        json.dump(raw["samples"], out)

    # Last: the failed-auth rate limit. The earlier failures count too; after 10 in a minute every
    # request from this address, even with a good token, gets 429 for the rest of the minute.
    limited = None
    for attempt in range(12):
        r = requests.get(c.url + "plant", headers={"Authorization": "Bearer wrong"}, timeout=30)
        if r.status_code == 429:
            limited = attempt
            break
        assert r.status_code == 401, r.status_code
    assert limited is not None, "no 429 after 12 failures"
    c.get("plant", status=429, code="rate_limited", mentions=("try again",))
    print(f"ok {c.checks}")


def tls(args):
    c = Client(args.url, args.token, verify=args.cafile)
    plant = c.get("plant")
    assert plant["devices"], plant
    try:
        requests.get(c.url + "plant", timeout=30)
    except requests.exceptions.SSLError:
        c.checks += 1
    else:
        raise AssertionError("a self-signed certificate must not be trusted by default")
    plain = c.url.replace("https://", "http://")
    try:
        r = requests.get(plain + "plant", timeout=30)
        raise AssertionError(f"plain HTTP to the TLS port answered {r.status_code}")
    except requests.exceptions.ConnectionError:
        c.checks += 1
    print(f"ok {c.checks}")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=["full", "tls"])
    parser.add_argument("--url", required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--revoked")
    parser.add_argument("--expired")
    parser.add_argument("--from", dest="from_")
    parser.add_argument("--to")
    parser.add_argument("--out")
    parser.add_argument("--cafile")
    args = parser.parse_args()
    try:
        {"full": full, "tls": tls}[args.mode](args)
    except AssertionError as e:
        print(f"check failed: {e}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
