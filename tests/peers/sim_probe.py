"""A pymodbus 3.7.x client that probes the simulated plant for Plantwatch's system tests.

Usage:
  sim_probe.py --tcp PORT [--rtu-framer]          Modbus TCP (or RTU over TCP) on 127.0.0.1
  sim_probe.py --serial PATH [--baud 19200]       Modbus RTU on a serial port, 8N1

Reads a JSON list of requests on stdin and prints a JSON list of results on stdout, one per request:

  {"unit": 1, "fc": 4, "address": 0, "count": 6}        FC1-4 reads
  {"unit": 1, "fc": 6, "address": 0, "value": 900}      FC6 write single register
  {"unit": 1, "fc": 5, "address": 2, "value": true}     FC5 write single coil
  {"unit": 1, "fc": 43}                                 read device identification (MEI 0x0E)

  -> {"registers": [...]} | {"bits": [...]} | {"ok": true} | {"exception": 2} | {"error": "..."}

pymodbus 3.7 needs retries >= 1 to read the rest of a frame after its header, so a silent device is
asked twice. "error" means no usable answer at all (a timeout on a silent line, a closed connection).
"""

import argparse
import json
import sys

from pymodbus import FramerType
from pymodbus.client import ModbusSerialClient, ModbusTcpClient
from pymodbus.exceptions import ModbusException


def run(client, request):
    unit = request["unit"]
    fc = request["fc"]
    address = request.get("address", 0)
    count = request.get("count", 1)
    if fc == 1:
        return client.read_coils(address, count=count, slave=unit), "bits", count
    if fc == 2:
        return client.read_discrete_inputs(address, count=count, slave=unit), "bits", count
    if fc == 3:
        return client.read_holding_registers(address, count=count, slave=unit), "registers", count
    if fc == 4:
        return client.read_input_registers(address, count=count, slave=unit), "registers", count
    if fc == 5:
        return client.write_coil(address, bool(request["value"]), slave=unit), "ok", 0
    if fc == 6:
        return client.write_register(address, int(request["value"]), slave=unit), "ok", 0
    if fc == 43:
        return client.read_device_information(slave=unit), "ok", 0
    raise ValueError(f"sim_probe.py does not know function {fc}")


def answer(client, request):
    try:
        response, kind, count = run(client, request)
    except ModbusException as e:
        return {"error": str(e)}
    if response.isError():
        code = getattr(response, "exception_code", None)
        if code is None:
            return {"error": str(response)}
        return {"exception": code}
    if kind == "bits":
        return {"bits": [bool(b) for b in response.bits[:count]]}
    if kind == "registers":
        return {"registers": list(response.registers)}
    return {"ok": True}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--tcp", type=int)
    parser.add_argument("--rtu-framer", action="store_true")
    parser.add_argument("--serial")
    parser.add_argument("--baud", type=int, default=19200)
    parser.add_argument("--timeout", type=float, default=1.0)
    args = parser.parse_args()
    if args.serial:
        client = ModbusSerialClient(
            port=args.serial, baudrate=args.baud, parity="N", stopbits=1, bytesize=8,
            timeout=args.timeout, retries=1,
        )
    else:
        framer = FramerType.RTU if args.rtu_framer else FramerType.SOCKET
        client = ModbusTcpClient("127.0.0.1", port=args.tcp, framer=framer, timeout=args.timeout, retries=1)
    if not client.connect():
        print(json.dumps([{"error": "cannot connect"}]))
        return 1
    results = []
    for request in json.load(sys.stdin):
        results.append(answer(client, request))
        if "error" in results[-1]:
            # After a timeout or a dropped link the connection may hold a late answer: start afresh.
            client.close()
            client.connect()
    client.close()
    print(json.dumps(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
