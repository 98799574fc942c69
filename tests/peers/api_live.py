"""An independent client of Plantwatch's live stream (`GET /api/v1/live`) for the system tests: the
`websockets` package, none of Plantwatch's code.

Usage:
  api_live.py stream --url URL --token T [--seconds S]
  api_live.py slow   --url URL --token T --pause S
  api_live.py record --url URL --token T --tags TAG [TAG ...] --seconds S --out FILE

`stream` checks that the upgrade needs a token, that a subscription is answered with the current values
of its tags (seq 1, snapshot), that the batches that follow have seq increasing by one and only the
subscribed tags, that plc/level changes, and that a bad subscription gets an error and leaves the
connection open for a good one. It prints `ok N` (the number of checks).
`slow` subscribes to every tag on a socket with a tiny receive buffer, prints `subscribed`, stops
reading for --pause seconds, then reads what is left: the batches in order, then `lagged` (an error
message or a close frame) or the end of the connection. It prints `lagged after seq N` (or fails).
`record` subscribes to --tags, checks that the batches follow one another (seq +1, no snapshot after the
first: a later snapshot would mean changes were skipped) and writes every value received in --seconds to
--out, one JSON object a line: {"seq", "snapshot", "tag", "value", "quality", "time"} as sent. It prints
`recorded N values in M batches`.
"""

import argparse
import json
import socket
import sys
import time
from urllib.parse import urlparse

from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect


def ws_url(url):
    return url.replace("http://", "ws://", 1).replace("https://", "wss://", 1).rstrip("/") + "/live"


def headers(token):
    return {"Authorization": f"Bearer {token}"}


def stream(args):
    checks = 0
    url = ws_url(args.url)
    try:
        connect(url, open_timeout=10).close()
        raise AssertionError("the upgrade without a token was accepted")
    except InvalidStatus as e:
        assert e.response.status_code == 401, e.response.status_code
    checks += 1

    with connect(url, additional_headers=headers(args.token), open_timeout=10) as ws:
        ws.send(json.dumps({"subscribe": ["plc/nope"]}))
        error = json.loads(ws.recv(timeout=10))
        assert error["error"] == "unknown_tag" and "plc/nope" in error["message"], error
        ws.send("not json")
        error = json.loads(ws.recv(timeout=10))
        assert error["error"] == "bad_request", error
        checks += 2

        ws.send(json.dumps({"subscribe": ["plc/*"]}))
        first = json.loads(ws.recv(timeout=10))
        assert first["seq"] == 1 and first["snapshot"] is True, first
        tags = {v["tag"] for v in first["values"]}
        assert "plc/level" in tags and all(t.startswith("plc/") for t in tags), tags
        checks += 1

        seq, levels, batches = 1, set(), 0
        deadline = time.monotonic() + args.seconds
        while time.monotonic() < deadline:
            batch = json.loads(ws.recv(timeout=10))
            assert batch["seq"] == seq + 1, f"seq {batch['seq']} after {seq}: a batch was missed"
            assert batch["snapshot"] is False, batch
            seq = batch["seq"]
            batches += 1
            for v in batch["values"]:
                assert v["tag"] in tags, f"{v['tag']} was not subscribed"
                assert set(v) == {"tag", "value", "quality", "time"}, v
                if v["tag"] == "plc/level":
                    levels.add(v["value"])
        assert batches >= 3, f"only {batches} batches in {args.seconds} s"
        assert len(levels) >= 2, f"plc/level did not change: {levels}"
        checks += 3
    print(f"ok {checks} ({batches} batches, {len(levels)} levels)")


def slow(args):
    parsed = urlparse(args.url)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    # A tiny window: the server's writes block soon after this client stops reading.
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect((parsed.hostname, parsed.port))
    ws = connect(ws_url(args.url), sock=sock, additional_headers=headers(args.token), open_timeout=10)
    ws.send(json.dumps({"subscribe": ["*"]}))
    first = json.loads(ws.recv(timeout=10))
    assert first["seq"] == 1, first
    print("subscribed", flush=True)
    time.sleep(args.pause)

    seq, lagged, size = 1, None, 0
    try:
        while True:
            text = ws.recv(timeout=10)
            size += len(text)
            message = json.loads(text)
            if "error" in message:
                assert message["error"] == "lagged", message
                lagged = message["message"]
                continue
            assert message["seq"] == seq + 1, f"seq {message['seq']} after {seq}"
            seq = message["seq"]
    except ConnectionClosed as e:
        # The notice arrives when the server's last writes fit in the socket; else the server just
        # closes it (what it had sent before still arrives first).
        reason = e.rcvd.reason if e.rcvd else ""
        if lagged is None:
            lagged = reason or f"closed without a notice ({e})"
    except TimeoutError:
        raise AssertionError(f"still connected after seq {seq}: the slow client was not dropped")
    print(f"lagged after seq {seq} ({size} bytes read after the pause): {lagged}")


def record(args):
    with connect(ws_url(args.url), additional_headers=headers(args.token), open_timeout=10) as ws, \
            open(args.out, "w", encoding="utf-8") as out:
        ws.send(json.dumps({"subscribe": args.tags}))
        seq, values = 0, 0
        deadline = time.monotonic() + args.seconds
        while time.monotonic() < deadline:
            batch = json.loads(ws.recv(timeout=10))
            assert "error" not in batch, batch
            assert batch["seq"] == seq + 1, f"seq {batch['seq']} after {seq}: a batch was missed"
            assert batch["snapshot"] == (seq == 0), f"batch {batch['seq']}: snapshot {batch['snapshot']}"
            seq = batch["seq"]
            for v in batch["values"]:
                assert v["tag"] in args.tags, f"{v['tag']} was not subscribed"
                out.write(json.dumps({"seq": seq, "snapshot": batch["snapshot"], **v}) + "\n")
                values += 1
    assert seq >= 3, f"only {seq} batches in {args.seconds} s"
    print(f"recorded {values} values in {seq} batches")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=["stream", "slow", "record"])
    parser.add_argument("--url", required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--pause", type=float, default=20.0)
    parser.add_argument("--tags", nargs="+")
    parser.add_argument("--out")
    args = parser.parse_args()
    try:
        {"stream": stream, "slow": slow, "record": record}[args.mode](args)
    except AssertionError as e:
        print(f"api_live.py {args.mode}: {e}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
