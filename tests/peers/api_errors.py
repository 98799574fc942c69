"""An independent client of Plantwatch's local API for the error answers 409 and 503 (the system tests):
Python `requests`, none of Plantwatch's code.

Usage:
  api_errors.py conflict    --url URL --write W
  api_errors.py failed      --url URL --write W
  api_errors.py unavailable --url URL --read R
  api_errors.py recovered   --url URL --read R

W is a write token acting as an engineer, R a read token; the plant is the demo plant on
`plantwatch simulate` (scenario normal). Each mode prints `ok N` (the number of checks) or exits 1 with the
reason on stderr.

`conflict`: the simulated PLC refuses a lead start level above the lag start level (Modbus exception 03):
  409 `refused` naming the exception; it clamps a speed setpoint of 55 Hz to 50 Hz: 409 `mismatch`
  naming both values. A write it takes (2.25 m) is 200, so the 409s are about the values, not the path.
`failed`: with the simulator stopped, a write has nobody to answer it: 503 `failed`, well within the
  device's timeout and the client's patience.
`unavailable`: with the plant's database file moved away under the running collector, the history and
  the alarm journal cannot be read: 503 `unavailable` naming the history or journal; the live values
  (`GET /values`, from the engine, not the file) still answer 200.
`recovered`: with the file back, the same reads answer 200.
"""

import argparse
import sys
import time

import requests


class Client:
    def __init__(self, url):
        self.url = url.rstrip("/") + "/"
        self.checks = 0

    def check(self, r, where, status, code=None, mentions=()):
        answer = r.json()
        assert r.status_code == status, f"{where}: status {r.status_code}, wanted {status}: {answer}"
        assert r.headers.get("content-type", "").startswith("application/json"), where
        if status >= 400:
            assert set(answer) == {"code", "message"}, f"{where}: error shape {answer}"
            if code is not None:
                assert answer["code"] == code, f"{where}: code {answer['code']}, wanted {code}: {answer}"
            for word in mentions:
                assert word in answer["message"], f"{where}: {word!r} not in {answer['message']!r}"
        self.checks += 1
        return answer

    def post(self, path, token, body, status, code=None, mentions=()):
        r = requests.post(self.url + path, json=body, headers={"Authorization": f"Bearer {token}"},
                          timeout=30)
        return self.check(r, f"POST {path} {body}", status, code, mentions)

    def get(self, path, token, params, status, code=None, mentions=()):
        r = requests.get(self.url + path, params=params, headers={"Authorization": f"Bearer {token}"},
                         timeout=30)
        return self.check(r, f"GET {path} {params}", status, code, mentions)


def conflict(c, args):
    lead = "tags/plc/lead_start_level/write"
    done = c.post(lead, args.write, {"value": 2.25, "comment": "within the lag start level"}, 200)
    assert done["readback"] == 2.25, done
    # Above the lag start level (2.6 m) the controller would not work: the PLC answers exception 03.
    c.post(lead, args.write, {"value": 3.0, "comment": "above the lag start"}, 409, "refused",
           ["exception 03"])
    # The PLC clamps its speed setpoints to 20-50 Hz: 55 Hz reads back as 50 Hz.
    c.post("tags/plc/max_speed/write", args.write, {"value": 55, "comment": "test the limit"}, 409,
           "mismatch", ["55", "50"])


def failed(c, args):
    started = time.monotonic()
    c.post("tags/plc/stop_level/write", args.write, {"value": 0.8, "comment": "simulator stopped"}, 503,
           "failed")
    took = time.monotonic() - started
    # The device's timeout is 1 s; a write waits for at most one poll in progress and its own exchange.
    assert took < 10, f"the failed write took {took:.1f} s"
    c.checks += 1


READS = [
    ("history/raw", {"tag": "plc/level", "from": "-10m"}, "history"),
    ("history/aggregate", {"tag": "plc/level", "from": "-10m", "every": "1m", "agg": "max"}, "history"),
    ("history/thinned", {"tag": "plc/level", "from": "-10m", "columns": "10"}, "history"),
    ("alarms/journal", {"from": "-1h"}, "journal"),
    ("alarms/health", {"from": "-1h"}, "journal"),
]


def unavailable(c, args):
    for path, params, what in READS:
        c.get(path, args.read, params, 503, "unavailable", [what, "cannot be read now"])
    values = c.get("values", args.read, {"tag": "plc/level"}, 200)
    assert values["values"][0]["tag"] == "plc/level", values


def recovered(c, args):
    for path, params, _ in READS:
        c.get(path, args.read, params, 200)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=["conflict", "failed", "unavailable", "recovered"])
    parser.add_argument("--url", required=True)
    parser.add_argument("--write")
    parser.add_argument("--read")
    args = parser.parse_args()
    c = Client(args.url)
    try:
        {"conflict": conflict, "failed": failed, "unavailable": unavailable,
         "recovered": recovered}[args.mode](c, args)
    except AssertionError as e:
        print(f"api_errors.py {args.mode}: {e}", file=sys.stderr)
        sys.exit(1)
    print(f"ok {c.checks}")


if __name__ == "__main__":
    main()
