"""A pymodbus 3.7.x Modbus server for Plantwatch's system tests (an independent peer, not ours).

Usage:
  modbus_server.py --spec SPEC.json [--framer socket|rtu] [--port N]            TCP (rtu framer = RTU over TCP)
  modbus_server.py --spec SPEC.json --serial PATH [--baud 19200 --parity E]   RTU on a serial port

The spec gives every unit id its tables; an address that is not listed answers exception 02:

  {"units": {"1": {"holding": {"0": 17, "10": [1, 2, 3]},   # a list fills consecutive addresses
                   "input": {}, "coil": {"0": true}, "discrete": {},
                   "delay_ms": 0,                            # answer this much later
                   "mute": false}}}                          # never answer

Once listening it prints `PORT <n>` (TCP, bound to 127.0.0.1, port 0 = any free one) or `READY` (serial)
on stdout. It then takes commands on stdin, one a line, and answers `ok` or `error ...`:
  set UNIT TABLE ADDRESS VALUE [VALUE...]     change values (tables: holding input coil discrete)
  delay UNIT MS | mute UNIT | unmute UNIT     make a unit slow, silent, or normal again
It exits when stdin closes or on SIGTERM.
"""

import argparse
import asyncio
import json
import sys

from pymodbus.datastore import ModbusServerContext, ModbusSlaveContext, ModbusSparseDataBlock
from pymodbus.framer import FramerType
from pymodbus.server import ModbusSerialServer, ModbusTcpServer

# Table name -> (ModbusSlaveContext keyword, key of its `store`).
TABLES = {"coil": ("co", "c"), "discrete": ("di", "d"), "holding": ("hr", "h"), "input": ("ir", "i")}


class Unit(ModbusSlaveContext):
    """A unit whose answers can be delayed or withheld."""

    def __init__(self, blocks, delay_ms=0, mute=False):
        super().__init__(zero_mode=True, **blocks)
        self.delay_ms = delay_ms
        self.mute = mute

    async def _hold(self):
        if self.mute:
            # Never answer: the request waits until the client gives up and disconnects.
            await asyncio.Event().wait()
        if self.delay_ms:
            await asyncio.sleep(self.delay_ms / 1000)

    async def async_getValues(self, fc_as_hex, address, count=1):
        await self._hold()
        return await super().async_getValues(fc_as_hex, address, count)

    async def async_setValues(self, fc_as_hex, address, values):
        await self._hold()
        return await super().async_setValues(fc_as_hex, address, values)


def sparse(table, spec):
    values = {}
    for key, value in spec.items():
        start = int(key)
        for offset, item in enumerate(value if isinstance(value, list) else [value]):
            values[start + offset] = bool(item) if table in ("coil", "discrete") else int(item) & 0xFFFF
    return ModbusSparseDataBlock(values)


def build(spec):
    units = {}
    for unit_id, unit in spec["units"].items():
        blocks = {keyword: sparse(name, unit.get(name, {})) for name, (keyword, _) in TABLES.items()}
        units[int(unit_id)] = Unit(blocks, unit.get("delay_ms", 0), unit.get("mute", False))
    return units


def command(units, line):
    words = line.split()
    if not words:
        return "ok"
    try:
        verb, unit = words[0], units[int(words[1])]
        if verb == "set":
            table, address = words[2], int(words[3])
            values = [int(w, 0) for w in words[4:]]
            block = unit.store[TABLES[table][1]]
            for offset, value in enumerate(values):
                block.values[address + offset] = bool(value) if table in ("coil", "discrete") else value & 0xFFFF
        elif verb == "delay":
            unit.delay_ms = int(words[2])
        elif verb == "mute":
            unit.mute = True
        elif verb == "unmute":
            unit.mute = False
        else:
            return f"error unknown command {verb}"
    except (IndexError, KeyError, ValueError) as exc:
        return f"error {exc!r}"
    return "ok"


async def read_commands(units):
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    while line := await reader.readline():
        print(command(units, line.decode()), flush=True)


def add_link_arguments(parser):
    """The link options every peer server takes: TCP (MBAP, or RTU framing over TCP) on a port (0: any
    free one), or a serial line (a socat pty) with its baud rate and parity."""
    parser.add_argument("--framer", choices=["socket", "rtu"], default="socket")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--serial")
    parser.add_argument("--baud", type=int, default=19200)
    parser.add_argument("--parity", choices=["N", "E", "O"], default="E")


async def serve(context, args, **options):
    """Starts the server the link options ask for and tells the test it is ready: `READY` on a serial
    line, `PORT n` on TCP. `options` go to pymodbus's server (identity, request_tracer)."""
    if args.serial:
        server = ModbusSerialServer(
            context, framer=FramerType.RTU, port=args.serial, baudrate=args.baud, parity=args.parity,
            bytesize=8, stopbits=1, **options,
        )
        await server.listen()
        print("READY", flush=True)
    else:
        framer = FramerType.RTU if args.framer == "rtu" else FramerType.SOCKET
        server = ModbusTcpServer(context, framer=framer, address=("127.0.0.1", args.port), **options)
        await server.listen()
        print(f"PORT {server.transport.sockets[0].getsockname()[1]}", flush=True)
    return server


async def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--spec", required=True)
    add_link_arguments(parser)
    args = parser.parse_args()

    with open(args.spec, encoding="utf-8") as file:
        units = build(json.load(file))
    context = ModbusServerContext(slaves=units, single=False)

    server = await serve(context, args)

    # Stop when the test closes stdin (or dies, which closes it too).
    await read_commands(units)
    await server.shutdown()


if __name__ == "__main__":
    asyncio.run(main())
