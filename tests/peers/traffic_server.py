"""A pymodbus 3.7.x server that logs every request it receives, for the traffic monitor's tests.

Usage:
  traffic_server.py --log LOG [--units 1,7] [--framer socket|rtu] [--port N]   TCP (rtu = RTU over TCP)
  traffic_server.py --log LOG [--units 1,7] --serial PATH [--baud 19200 --parity E]

Every unit has 100 coils, discrete inputs, input and holding registers at addresses 0-99 (values:
the address); an address from 100 answers exception 02. Each request the server decodes is appended
to LOG, one line each, as pymodbus itself saw it (its request tracer, before executing it):

  UNIT FUNCTION ADDRESS COUNT        e.g. `1 3 0 10`; `-` where the function has no such field

COUNT is what the request asks for or carries (registers or coils written; 1 for FC 5, 6 and 22);
ADDRESS of FC 23 is its read address and COUNT its read count; FC 43/14 logs the object id as ADDRESS.
Once listening it prints `PORT <n>` (TCP, 127.0.0.1) or `READY` (serial); it exits when stdin closes.
"""

import argparse
import asyncio
import os
import sys

from pymodbus.datastore import ModbusSequentialDataBlock, ModbusServerContext, ModbusSlaveContext

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from modbus_server import add_link_arguments, serve  # noqa: E402

SIZE = 100


def fields(request):
    """(address, count) as the request carries them, or None."""
    function = request.function_code
    if function == 23:
        return request.read_address, request.read_count
    if function == 43:
        return getattr(request, "object_id", None), None
    address = getattr(request, "address", None)
    if function in (5, 6, 22):
        return address, 1
    count = getattr(request, "count", None)
    if count is None and function == 15:
        count = len(request.values)
    return address, count


def tracer(log):
    def trace(request, *_addr):
        address, count = fields(request)
        words = [request.slave_id, request.function_code, address, count]
        log.write(" ".join("-" if w is None else str(w) for w in words) + "\n")
        log.flush()

    return trace


def unit():
    block = lambda: ModbusSequentialDataBlock(0, list(range(SIZE)))  # noqa: E731
    bits = lambda: ModbusSequentialDataBlock(0, [a % 2 == 1 for a in range(SIZE)])  # noqa: E731
    return ModbusSlaveContext(zero_mode=True, co=bits(), di=bits(), hr=block(), ir=block())


async def wait_for_stdin_to_close():
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    while await reader.readline():
        pass


async def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--log", required=True)
    parser.add_argument("--units", default="1")
    add_link_arguments(parser)
    args = parser.parse_args()

    units = {int(u): unit() for u in args.units.split(",")}
    context = ModbusServerContext(slaves=units, single=False)
    log = open(args.log, "a", encoding="utf-8")

    server = await serve(context, args, request_tracer=tracer(log))

    await wait_for_stdin_to_close()
    await server.shutdown()


if __name__ == "__main__":
    asyncio.run(main())
