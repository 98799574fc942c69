"""A pymodbus 3.7.x server for the scanner's system tests: the units of tests/data/scan/bus.json (or
another file of that shape) and its device identification objects, answered to FC 43 / MEI 14.

Usage:
  scan_server.py --bus BUS.json [--framer socket|rtu] [--port N]
  scan_server.py --bus BUS.json --serial PATH [--baud 19200 --parity E]

The units are built by modbus_server.py's rules (an address not listed answers exception 02; a unit id
not listed answers 0B). Prints `PORT <n>` (TCP) or `READY` (serial), then runs until stdin closes.
"""

import argparse
import asyncio
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from modbus_server import add_link_arguments, build, read_commands, serve  # noqa: E402
from pymodbus.datastore import ModbusServerContext  # noqa: E402
from pymodbus.device import ModbusDeviceIdentification  # noqa: E402


async def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bus", required=True)
    add_link_arguments(parser)
    args = parser.parse_args()

    with open(args.bus, encoding="utf-8") as file:
        bus = json.load(file)
    units = build(bus)
    context = ModbusServerContext(slaves=units, single=False)
    identity = ModbusDeviceIdentification(info_name=bus["identity"])

    server = await serve(context, args, identity=identity)

    await read_commands(units)
    await server.shutdown()


if __name__ == "__main__":
    asyncio.run(main())
