"""A Modbus TCP device that answers every read with a malformed reply frame.

Usage: bad_reply_server.py MODE [--port N]
MODE is what is wrong with each reply:
  tid       the transaction id is not the request's
  unit      the unit id is not the request's
  function  the function code is not the request's (an FC4 reply to an FC3 request)
  length    the byte count disagrees with the registers asked for

Prints `PORT <n>` once listening on 127.0.0.1 (port 0 picks a free one). Plain sockets, no Modbus
library: a library would refuse to send these frames.
"""

import socket
import struct
import sys
import threading

MODES = ("tid", "unit", "function", "length")


def read_exact(conn, n):
    data = b""
    while len(data) < n:
        part = conn.recv(n - len(data))
        if not part:
            return None
        data += part
    return data


def reply(mode, tid, unit, pdu):
    function = pdu[0]
    count = struct.unpack(">H", pdu[3:5])[0] if len(pdu) >= 5 else 1
    if function in (1, 2):
        body = bytes([function, (count + 7) // 8]) + b"\x00" * ((count + 7) // 8)
    else:
        body = bytes([function, 2 * count]) + b"\x00\x2a" * count
    if mode == "tid":
        tid = (tid + 1) & 0xFFFF
    elif mode == "unit":
        unit = (unit + 1) & 0xFF
    elif mode == "function":
        body = bytes([4 if function == 3 else 3]) + body[1:]
    elif mode == "length":
        # Says one register more than it carries (and than was asked for).
        body = bytes([function, body[1] + 2]) + body[2:] + b"\x00\x2a"
    return struct.pack(">HHHB", tid, 0, len(body) + 1, unit) + body


def serve(conn, mode):
    with conn:
        while True:
            header = read_exact(conn, 7)
            if header is None:
                return
            tid, _proto, length, unit = struct.unpack(">HHHB", header)
            pdu = read_exact(conn, length - 1)
            if pdu is None:
                return
            try:
                conn.sendall(reply(mode, tid, unit, pdu))
            except OSError:
                return


def main():
    args = sys.argv[1:]
    if not args or args[0] not in MODES:
        sys.exit(f"usage: bad_reply_server.py {{{'|'.join(MODES)}}} [--port N]")
    mode = args[0]
    port = int(args[args.index("--port") + 1]) if "--port" in args else 0
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", port))
    listener.listen()
    print(f"PORT {listener.getsockname()[1]}", flush=True)
    while True:
        conn, _ = listener.accept()
        threading.Thread(target=serve, args=(conn, mode), daemon=True).start()


if __name__ == "__main__":
    main()
