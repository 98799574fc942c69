"""A pymodbus 3.7.x Modbus TCP server for Plantwatch's write tests: it logs every request's function
code, can clamp holding registers the way drives clamp a setpoint, can lack the mask write (FC 22), and
decodes what it holds with pymodbus's own payload decoder, so a test compares with an independent
implementation rather than with Plantwatch's decoding.

Usage:
  write_server.py --spec SPEC.json [--port N]

The spec, as modbus_server.py's, plus two keys:
  {"mask_write": true,                                   # false: FC 22 answers exception 01
   "units": {"1": {"holding": {"0": [0, 0]}, "coil": {"0": false},
                   "clamp": {"5": [0, 1000]}}}}          # holding 5 keeps writes within 0-1000

Once listening on 127.0.0.1 it prints `PORT <n>`, then answers commands on stdin, one line each:
  requests                        ok FC FC ...   function codes of every request since the last clear
  clear                           ok
  get UNIT TABLE ADDRESS COUNT    ok V V ...     raw values (registers, or 0/1 for bits)
  set UNIT TABLE ADDRESS V [V...] ok
  mute UNIT | unmute UNIT         ok             the unit stops answering, or answers again
  value UNIT ADDRESS TYPE ORDER [LENGTH]  ok V   holding registers decoded by pymodbus: TYPE u16 i16 u32
                                                 i32 u64 i64 f32 f64 string (LENGTH registers)
It exits when stdin closes or on SIGTERM.
"""

import argparse
import asyncio
import json
import sys
import warnings

from pymodbus.constants import Endian
from pymodbus.datastore import ModbusServerContext, ModbusSlaveContext, ModbusSparseDataBlock
from pymodbus.framer import FramerType
from pymodbus.pdu import ModbusExceptions
from pymodbus.pdu.register_write_message import MaskWriteRegisterRequest
from pymodbus.server import ModbusTcpServer

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # BinaryPayloadDecoder is deprecated in 3.7 but still the reference.
    from pymodbus.payload import BinaryPayloadDecoder

TABLES = {"coil": ("co", "c"), "discrete": ("di", "d"), "holding": ("hr", "h"), "input": ("ir", "i")}
ORDERS = {
    "ABCD": (Endian.BIG, Endian.BIG),
    "CDAB": (Endian.BIG, Endian.LITTLE),
    "BADC": (Endian.LITTLE, Endian.BIG),
    "DCBA": (Endian.LITTLE, Endian.LITTLE),
}
# Plantwatch type -> (registers, BinaryPayloadDecoder method)
TYPES = {
    "u16": (1, "decode_16bit_uint"),
    "i16": (1, "decode_16bit_int"),
    "u32": (2, "decode_32bit_uint"),
    "i32": (2, "decode_32bit_int"),
    "f32": (2, "decode_32bit_float"),
    "u64": (4, "decode_64bit_uint"),
    "i64": (4, "decode_64bit_int"),
    "f64": (4, "decode_64bit_float"),
}
WRITE_HOLDING = (0x06, 0x10, 0x16)


class Unit(ModbusSlaveContext):
    """A unit that clamps writes to some holding registers, and can be made silent."""

    def __init__(self, blocks, clamp):
        super().__init__(zero_mode=True, **blocks)
        self.clamp = clamp
        self.mute = False

    async def _hold(self):
        if self.mute:
            # Never answer: the request waits until the client gives up.
            await asyncio.Event().wait()

    async def async_getValues(self, fc_as_hex, address, count=1):
        await self._hold()
        return await super().async_getValues(fc_as_hex, address, count)

    async def async_setValues(self, fc_as_hex, address, values):
        await self._hold()
        if fc_as_hex in WRITE_HOLDING:
            values = [self._clamped(address + i, v) for i, v in enumerate(values)]
        return await super().async_setValues(fc_as_hex, address, values)

    def _clamped(self, address, value):
        limits = self.clamp.get(address)
        return value if limits is None else min(max(value, limits[0]), limits[1])


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
        clamp = {int(a): limits for a, limits in unit.get("clamp", {}).items()}
        units[int(unit_id)] = Unit(blocks, clamp)
    return units


def decode(registers, type_name, order):
    byteorder, wordorder = ORDERS[order]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        decoder = BinaryPayloadDecoder.fromRegisters(registers, byteorder=byteorder, wordorder=wordorder)
        if type_name == "string":
            return decoder.decode_string(2 * len(registers)).rstrip(b"\0").decode("utf-8", "replace")
        return getattr(decoder, TYPES[type_name][1])()


def command(units, log, line):
    words = line.split()
    if not words:
        return "ok"
    try:
        verb = words[0]
        if verb == "requests":
            return " ".join(["ok"] + [str(fc) for fc in log])
        if verb == "clear":
            log.clear()
            return "ok"
        unit = units[int(words[1])]
        if verb == "get":
            table, address, count = words[2], int(words[3]), int(words[4])
            block = unit.store[TABLES[table][1]]
            return " ".join(["ok"] + [str(int(block.values[address + i])) for i in range(count)])
        if verb == "set":
            table, address = words[2], int(words[3])
            block = unit.store[TABLES[table][1]]
            for offset, word in enumerate(words[4:]):
                value = int(word, 0)
                block.values[address + offset] = bool(value) if table in ("coil", "discrete") else value & 0xFFFF
            return "ok"
        if verb in ("mute", "unmute"):
            unit.mute = verb == "mute"
            return "ok"
        if verb == "value":
            address, type_name, order = int(words[2]), words[3], words[4]
            count = int(words[5]) if type_name == "string" else TYPES[type_name][0]
            block = unit.store["h"]
            registers = [block.values[address + i] for i in range(count)]
            return f"ok {decode(registers, type_name, order)!r}"
        return f"error unknown command {verb}"
    except (IndexError, KeyError, ValueError) as exc:
        return f"error {exc!r}"


async def read_commands(units, log):
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    while line := await reader.readline():
        print(command(units, log, line.decode()), flush=True)


async def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--spec", required=True)
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()

    with open(args.spec, encoding="utf-8") as file:
        spec = json.load(file)
    units = build(spec)
    if not spec.get("mask_write", True):
        # A device without FC 22: pymodbus knows the request, so refuse it as such a device would.
        async def illegal_function(self, _context):
            return self.doException(ModbusExceptions.IllegalFunction)

        MaskWriteRegisterRequest.update_datastore = illegal_function

    log = []

    def trace(request, *_addr):
        log.append(request.function_code)

    context = ModbusServerContext(slaves=units, single=False)
    server = ModbusTcpServer(
        context, framer=FramerType.SOCKET, address=("127.0.0.1", args.port), request_tracer=trace
    )
    await server.listen()
    print(f"PORT {server.transport.sockets[0].getsockname()[1]}", flush=True)
    await read_commands(units, log)
    await server.shutdown()


if __name__ == "__main__":
    asyncio.run(main())
