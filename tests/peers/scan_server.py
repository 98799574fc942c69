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

from modbus_server import build, read_commands  # noqa: E402
from pymodbus.datastore import ModbusServerContext  # noqa: E402
from pymodbus.device import ModbusDeviceIdentification  # noqa: E402
from pymodbus.framer import FramerType  # noqa: E402
from pymodbus.server import ModbusSerialServer, ModbusTcpServer  # noqa: E402


async def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bus", required=True)
    parser.add_argument("--framer", choices=["socket", "rtu"], default="socket")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--serial")
    parser.add_argument("--baud", type=int, default=19200)
    parser.add_argument("--parity", choices=["N", "E", "O"], default="E")
    args = parser.parse_args()

    with open(args.bus, encoding="utf-8") as file:
        bus = json.load(file)
    units = build(bus)
    context = ModbusServerContext(slaves=units, single=False)
    identity = ModbusDeviceIdentification(info_name=bus["identity"])

    if args.serial:
        server = ModbusSerialServer(
            context, framer=FramerType.RTU, identity=identity, port=args.serial,
            baudrate=args.baud, parity=args.parity, bytesize=8, stopbits=1,
        )
        await server.listen()
        print("READY", flush=True)
    else:
        framer = FramerType.RTU if args.framer == "rtu" else FramerType.SOCKET
        server = ModbusTcpServer(context, framer=framer, identity=identity, address=("127.0.0.1", args.port))
        await server.listen()
        print(f"PORT {server.transport.sockets[0].getsockname()[1]}", flush=True)

    await read_commands(units)
    await server.shutdown()


if __name__ == "__main__":
    asyncio.run(main())
