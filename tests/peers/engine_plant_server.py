#!/usr/bin/env python3
"""A pymodbus server for the engine's collector and fault tests.

Usage:
    engine_plant_server.py SPEC.json [--framer socket|rtu] [--port N] [--serial PATH --baud N --parity E]

SPEC.json describes the units the server answers for (pymodbus 3.7 classic datastore, zero-based):

    {"units": {"1": {"holding": {"0": 10, "1": 20}, "input": {}, "coil": {"0": true}, "discrete": {},
                     "counter": {"table": "holding", "address": 0},
                     "delay_ms": 0}}}

Tables are sparse: an address not listed answers exception 02, as a device without that register does.
`counter` names a register that goes up by one before every read that covers it, so every poll of a
device sees a new value and stores a sample: the test counts polls by counting stored samples.
`delay_ms` delays every answer of that unit (without holding up the other units).

Over TCP the server binds 127.0.0.1 (port 0 unless --port) and prints `PORT <n>` once it listens; on a
serial line it prints `READY`. Commands on stdin change a unit while the server runs:
    mute UNIT          the unit stops answering (requests time out), as a powered-off device behind a gateway
    unmute UNIT        it answers again
    delay UNIT MS      answers of that unit take MS milliseconds
Each command is acknowledged with `OK <command>` on stdout.
"""

import argparse
import asyncio
import json
import sys

from pymodbus import FramerType
from pymodbus.datastore import (
    ModbusServerContext,
    ModbusSlaveContext,
    ModbusSparseDataBlock,
)
from pymodbus.exceptions import NoSuchSlaveException
from pymodbus.server import ModbusSerialServer, ModbusTcpServer

TABLE_KEYS = {"holding": "hr", "input": "ir", "coil": "co", "discrete": "di"}
# pymodbus function code -> table name, for reads and writes.
FC_TABLE = {1: "coil", 5: "coil", 15: "coil", 2: "discrete", 4: "input",
            3: "holding", 6: "holding", 16: "holding", 22: "holding", 23: "holding"}


class Unit(ModbusSlaveContext):
    """One unit id: sparse tables, an optional poll counter, a delay, and a mute switch."""

    def __init__(self, spec):
        blocks = {}
        for table, key in TABLE_KEYS.items():
            values = {int(a): v for a, v in spec.get(table, {}).items()}
            # An empty sparse block must still exist; mark it so that every address answers 02.
            blocks[key] = ModbusSparseDataBlock(values) if values else ModbusSparseDataBlock({65535: 0})
        super().__init__(zero_mode=True, **blocks)
        counter = spec.get("counter")
        self.counter = (counter["table"], int(counter["address"])) if counter else None
        self.delay = spec.get("delay_ms", 0) / 1000.0
        self.muted = False

    async def async_getValues(self, fc_as_hex, address, count=1):
        if self.muted:
            # With ignore_missing_slaves the server sends nothing: the client times out.
            raise NoSuchSlaveException("muted")
        if self.delay:
            await asyncio.sleep(self.delay)
            if self.muted:
                raise NoSuchSlaveException("muted")
        if self.counter and FC_TABLE.get(fc_as_hex) == self.counter[0]:
            table, at = self.counter
            if address <= at < address + count:
                current = self.getValues(fc_as_hex, at, 1)[0]
                self.setValues(fc_as_hex, at, [(current + 1) & 0xFFFF])
        return self.getValues(fc_as_hex, address, count)


async def commands(units):
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    while True:
        line = await reader.readline()
        if not line:
            return
        words = line.decode().split()
        if not words:
            continue
        verb, unit = words[0], units.get(int(words[1])) if len(words) > 1 else None
        if unit is None:
            print(f"ERR {line.decode().strip()}", flush=True)
            continue
        if verb == "mute":
            unit.muted = True
        elif verb == "unmute":
            unit.muted = False
        elif verb == "delay":
            unit.delay = int(words[2]) / 1000.0
        else:
            print(f"ERR {line.decode().strip()}", flush=True)
            continue
        print(f"OK {' '.join(words)}", flush=True)


async def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("spec")
    parser.add_argument("--framer", choices=["socket", "rtu"], default="socket")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--serial")
    parser.add_argument("--baud", type=int, default=19200)
    parser.add_argument("--parity", default="N")
    args = parser.parse_args()

    with open(args.spec) as f:
        spec = json.load(f)
    units = {int(u): Unit(s) for u, s in spec["units"].items()}
    context = ModbusServerContext(slaves=units, single=False)
    framer = FramerType.RTU if args.framer == "rtu" else FramerType.SOCKET

    if args.serial:
        server = ModbusSerialServer(context, framer=FramerType.RTU, port=args.serial, baudrate=args.baud,
                                    parity=args.parity, bytesize=8, stopbits=1, ignore_missing_slaves=True)
    else:
        server = ModbusTcpServer(context, framer=framer, address=("127.0.0.1", args.port),
                                 ignore_missing_slaves=True)
    serving = asyncio.create_task(server.serve_forever())
    while server.transport is None:
        if serving.done():
            serving.result()
            return
        await asyncio.sleep(0.01)
    if args.serial:
        print("READY", flush=True)
    else:
        print(f"PORT {server.transport.sockets[0].getsockname()[1]}", flush=True)
    control = asyncio.create_task(commands(units))
    await asyncio.wait([serving, control], return_when=asyncio.FIRST_COMPLETED)
    # stdin closed (the test ended): keep serving until killed, unless serving itself ended.
    await serving


if __name__ == "__main__":
    asyncio.run(main())
