"""An independent client of Plantwatch's write endpoints for the system tests: Python `requests`, none of
Plantwatch's code.

Usage:
  api_write.py --url URL --write W --read R --viewer V

W is a write token acting as an operator, R a read token, V a write token acting as a viewer. Checks:
a write in range lands (200, read back) and `GET /values` shows it; a read token gets 403; out of range
gets 400 naming the range; a boolean for a number tag 400; an unknown tag 404; a viewer's write 403;
an alarm action on an unknown alarm 409 and by a viewer 403; an unknown action 400; taking an alarm out
of service and back 200. Prints `ok N`.
"""

import argparse
import sys
import time

import requests


class Client:
    def __init__(self, url):
        self.url = url.rstrip("/") + "/"
        self.checks = 0

    def post(self, path, token, body, status, code=None, mentions=()):
        r = requests.post(self.url + path, json=body, headers={"Authorization": f"Bearer {token}"},
                          timeout=30)
        answer = r.json()
        where = f"POST {path} {body}"
        assert r.status_code == status, f"{where}: status {r.status_code}, wanted {status}: {answer}"
        if status >= 400:
            assert set(answer) == {"code", "message"}, f"{where}: error shape {answer}"
            if code is not None:
                assert answer["code"] == code, f"{where}: code {answer['code']}, wanted {code}"
            for word in mentions:
                assert word in answer["message"], f"{where}: {word!r} not in {answer['message']!r}"
        self.checks += 1
        return answer

    def value(self, tag, token):
        r = requests.get(self.url + "values", params={"tag": tag},
                         headers={"Authorization": f"Bearer {token}"}, timeout=30)
        assert r.status_code == 200, r.text
        return r.json()["values"][0]["value"]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--write", required=True)
    parser.add_argument("--read", required=True)
    parser.add_argument("--viewer", required=True)
    args = parser.parse_args()
    c = Client(args.url)
    try:
        path = "tags/plc/stop_level/write"
        done = c.post(path, args.write, {"value": 0.75, "comment": "from the MES"}, 200)
        assert done["readback"] == 0.75 and done["user"] == "otto", done
        deadline = time.monotonic() + 10
        while c.value("plc/stop_level", args.read) != 0.75:
            assert time.monotonic() < deadline, "GET /values never showed the written value"
            time.sleep(0.1)
        c.checks += 1
        c.post(path, args.read, {"value": 0.8}, 403, "forbidden", ["write"])
        c.post(path, args.write, {"value": 9.5}, 400, "out_of_range", ["0.1", "3"])
        c.post(path, args.write, {"value": True}, 400, "bad_parameter", ["a number"])
        c.post(path, args.write, {"valeu": 1}, 400, "bad_parameter", ["valeu"])
        c.post("tags/plc/nope/write", args.write, {"value": 1}, 404, "unknown_tag", ["plc/nope"])
        c.post(path, args.viewer, {"value": 0.8}, 403, "denied", ["operator", "vera"])
        c.post("alarms/ack", args.write, {"alarms": ["plc/nope:hi"]}, 409, "refused")
        c.post("alarms/ack", args.viewer, {"alarms": ["plc/level:hi"]}, 403, "denied", ["operator"])
        c.post("alarms/silence", args.write, {"alarms": ["plc/level:hi"]}, 400, "bad_parameter",
               ["ack, shelve"])
        c.post("alarms/shelve", args.write, {"alarms": ["plc/level:hi"]}, 400, "bad_parameter",
               ["comment"])
        done = c.post("alarms/out-of-service", args.write,
                      {"alarms": ["plc/level:hi"], "comment": "sensor maintenance"}, 200)
        assert done == {"action": "out-of-service", "alarms": ["plc/level:hi"], "user": "otto"}, done
        c.post("alarms/return-to-service", args.write, {"alarms": ["plc/level:hi"]}, 200)
    except AssertionError as e:
        print(f"api_write.py: {e}", file=sys.stderr)
        sys.exit(1)
    print(f"ok {c.checks}")


if __name__ == "__main__":
    main()
