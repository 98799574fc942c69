"""Decoding vectors from an independent implementation: pymodbus 3.7.4's register conversion.

Prints JSON (one vector a line) to stdout; tests/data/decode/vectors.json is this output, committed.
Regenerate with:  target/pyenv/bin/python tests/peers/modbus_decode_vectors.py > tests/data/decode/vectors.json

Sources of truth, none of them Plantwatch's code:
- ABCD (big-endian) registers: ModbusClientMixin.convert_to_registers, cross-checked against
  BinaryPayloadBuilder with byteorder=BIG, wordorder=BIG.
- CDAB, BADC, DCBA: pymodbus's BinaryPayloadBuilder with (byteorder, wordorder) = (BIG, LITTLE),
  (LITTLE, BIG), (LITTLE, LITTLE). For 64-bit types that gives GHEFCDAB, BADCFEHG and HGFEDCBA, the
  layouts domain.md names after Telegraf; the script checks that against struct.pack bytes too.
- Expected values: the value that was packed, read back with ModbusClientMixin.convert_from_registers
  from the ABCD registers (so a float32 vector carries the float32 value, as a Python float).
Every vector: {"type", "order", "registers", "expected"} and optionally "scale", "offset", "bit", "length".
Non-finite floats are written as the strings "nan", "inf", "-inf". Every float expectation also carries
"expected_bits", the IEEE 754 double as 16 hex digits, so that a reader's float parsing cannot blur it.
"""

import json
import math
import random
import struct
import warnings

from pymodbus.client.mixin import ModbusClientMixin
from pymodbus.constants import Endian

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # BinaryPayloadBuilder is deprecated in 3.7 but still the reference.
    from pymodbus.payload import BinaryPayloadBuilder

DT = ModbusClientMixin.DATATYPE
ORDERS = {
    "ABCD": (Endian.BIG, Endian.BIG),
    "CDAB": (Endian.BIG, Endian.LITTLE),
    "BADC": (Endian.LITTLE, Endian.BIG),
    "DCBA": (Endian.LITTLE, Endian.LITTLE),
}
# Plantwatch type -> (pymodbus DATATYPE, BinaryPayloadBuilder method, struct code)
WIDE = {
    "u32": (DT.UINT32, "add_32bit_uint", "I"),
    "i32": (DT.INT32, "add_32bit_int", "i"),
    "f32": (DT.FLOAT32, "add_32bit_float", "f"),
    "u64": (DT.UINT64, "add_64bit_uint", "Q"),
    "i64": (DT.INT64, "add_64bit_int", "q"),
    "f64": (DT.FLOAT64, "add_64bit_float", "d"),
}


def builder_registers(method, value, order):
    byteorder, wordorder = ORDERS[order]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        builder = BinaryPayloadBuilder(byteorder=byteorder, wordorder=wordorder)
        getattr(builder, method)(value)
        return builder.to_registers()


def layout_from_bytes(code, value, order):
    """domain.md's layouts spelled out from struct.pack bytes, as a cross-check of the builder."""
    big = struct.pack(">" + code, value)
    regs = [big[i:i + 2] for i in range(0, len(big), 2)]
    if order in ("CDAB", "DCBA"):
        regs.reverse()
    if order in ("BADC", "DCBA"):
        regs = [r[::-1] for r in regs]
    return [int.from_bytes(r, "big") for r in regs]


def json_number(value):
    if isinstance(value, float) and not math.isfinite(value):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
    return value


def candidates(rng, type_name):
    if type_name in ("f32", "f64"):
        fixed = [0.0, -0.0, 1.0, -1.5, 123456.0, 3.14159, 1e-7, -2.5e30, float("inf"), float("-inf"), float("nan")]
        if type_name == "f64":
            fixed += [1e300, 2.0 ** -1070]
        return fixed + [rng.uniform(-1e6, 1e6) for _ in range(6)]
    bits = 32 if type_name in ("u32", "i32") else 64
    if type_name.startswith("u"):
        lo, hi = 0, 2 ** bits - 1
    else:
        lo, hi = -(2 ** (bits - 1)), 2 ** (bits - 1) - 1
    return [lo, hi, 0, 1, hi // 2, 0x01020304 % (hi + 1)] + [rng.randint(lo, hi) for _ in range(6)]


def wide_vectors(rng):
    for type_name, (data_type, method, code) in WIDE.items():
        for value in candidates(rng, type_name):
            abcd = ModbusClientMixin.convert_to_registers(value, data_type)
            expected = ModbusClientMixin.convert_from_registers(abcd, data_type)
            for order in ORDERS:
                regs = builder_registers(method, value, order)
                assert regs == layout_from_bytes(code, value, order), (type_name, value, order)
                if order == "ABCD":
                    assert regs == abcd, (type_name, value)
                yield {"type": type_name, "order": order, "registers": regs, "expected": json_number(expected)}


def narrow_vectors(rng):
    for value in [0, 1, 0x7FFF, 0x8000, 0xFFFF] + [rng.randint(0, 0xFFFF) for _ in range(5)]:
        regs = ModbusClientMixin.convert_to_registers(value, DT.UINT16)
        yield {"type": "u16", "order": "ABCD", "registers": regs,
               "expected": ModbusClientMixin.convert_from_registers(regs, DT.UINT16)}
        yield {"type": "i16", "order": "ABCD", "registers": regs,
               "expected": ModbusClientMixin.convert_from_registers(regs, DT.INT16)}
        yield {"type": "bool", "order": "ABCD", "registers": regs, "expected": value != 0}
    for bit in (0, 3, 7, 8, 15):
        for value in (0, 0xFFFF, 1 << bit, 0xFFFF ^ (1 << bit), rng.randint(0, 0xFFFF)):
            yield {"type": "bit", "bit": bit, "order": "ABCD", "registers": [value],
                   "expected": bool(value >> bit & 1)}


def string_vectors():
    for text, length in [("PUMP-1", 3), ("PUMP-1", 5), ("ABC", 2), ("ABC", 4), ("Lift station 4", 7), ("", 2)]:
        regs = ModbusClientMixin.convert_to_registers(text, DT.STRING) if text else []
        regs = regs + [0] * (length - len(regs))  # the device pads the rest of the field with NULs
        yield {"type": "string", "length": length, "order": "ABCD", "registers": regs, "expected": text}


def scaled_vectors(rng):
    # Integer raw values scaled like meters do: raw * scale + offset, in double precision.
    for type_name, data_type in [("u16", DT.UINT16), ("i16", DT.INT16), ("u32", DT.UINT32), ("i32", DT.INT32)]:
        for scale, offset in [(0.001, 0.0), (0.1, -40.0), (0.01, 0.0), (2.0, 5.0)]:
            bits = 16 if type_name.endswith("16") else 32
            lo = 0 if type_name.startswith("u") else -(2 ** (bits - 1))
            raw = rng.randint(lo, lo + 2 ** bits - 1)
            regs = ModbusClientMixin.convert_to_registers(raw, data_type)
            decoded = ModbusClientMixin.convert_from_registers(regs, data_type)
            yield {"type": type_name, "order": "ABCD", "registers": regs, "scale": scale, "offset": offset,
                   "expected": decoded * scale + offset}


def main():
    rng = random.Random(20261125)
    vectors = [*narrow_vectors(rng), *wide_vectors(rng), *string_vectors(), *scaled_vectors(rng)]
    for vector in vectors:
        expected = vector["expected"]
        if isinstance(expected, float) or (isinstance(expected, str) and vector["type"] != "string"):
            value = float(expected)
            vector["expected_bits"] = struct.pack(">d", value).hex()
            vector["expected"] = json_number(value)
    print("[")
    print(",\n".join(json.dumps(v, sort_keys=True) for v in vectors))
    print("]")


if __name__ == "__main__":
    main()
