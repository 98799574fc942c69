"""Vectors for the all-orders view, from an independent encoder: Python's struct module.

Writes CSV to stdout; tests/data/orders/vectors.csv is this output, committed. Regenerate with:
    python3 tests/peers/order_vectors.py > tests/data/orders/vectors.csv

Each value is packed big-endian with struct (bytes A, B, C, ... in that order), then laid out on the
wire as the order's pattern says, letter by letter: pattern "GHEFCDAB" puts byte G first, then H, E,
F, ... Registers are consecutive pairs of wire bytes, high byte first. Nothing here knows Plantwatch's
decoder.

Columns: type, pattern (the wire layout), value (as Python prints it), registers (hex, space
separated), bits (the big-endian bytes in hex, so NaN payloads and -0.0 compare exactly), plausible
(1 or 0, by the rule stated in orders.rs: exactly 0, or a finite normal float, or any integer, with a
magnitude from 1e-6 to 1e9; integers only need the upper bound).
"""

import math
import struct
import sys

ORDERS_32 = ["ABCD", "CDAB", "BADC", "DCBA"]
ORDERS_64 = ["ABCDEFGH", "GHEFCDAB", "BADCFEHG", "HGFEDCBA", "CDABGHEF", "DCBAHGFE", "EFGHABCD", "FEHGBADC"]
CODES = {"u32": ">I", "i32": ">i", "f32": ">f", "u64": ">Q", "i64": ">q", "f64": ">d"}
F32_SMALLEST_NORMAL = 2.0**-126
F64_SMALLEST_NORMAL = 2.0**-1022

VALUES = {
    "u32": [0, 1, 1000, 123456, 65536000, 4294967295, 3000000000],
    "i32": [0, -1, -1000, 123456, -2147483648, 2147483647],
    "f32": [0.0, -0.0, 123456.0, 1.1, -273.15, 49.98, 1e-7, 3.0e38, float("nan"), float("inf"),
            float("-inf"), 1e-40],
    "u64": [0, 1, 123456789012, 18446744073709551615, 9007199254740993, 1000000000],
    "i64": [0, -1, -123456789012, -9223372036854775808, 9223372036854775807, 1000000001],
    "f64": [0.0, 123456.0, 1.1, -273.15, 2.5e-6, 5e8, 2e9, float("nan"), float("-inf"), 5e-324,
            1e-310],
}


def plausible(kind, value):
    if kind.startswith("f"):
        if value == 0.0:
            return True
        if math.isnan(value) or math.isinf(value):
            return False
        smallest = F32_SMALLEST_NORMAL if kind == "f32" else F64_SMALLEST_NORMAL
        if abs(value) < smallest:
            return False
        return 1e-6 <= abs(value) <= 1e9
    return abs(value) <= 1e9


def main():
    out = sys.stdout
    out.write("type,pattern,value,registers,bits,plausible\n")
    for kind, values in VALUES.items():
        orders = ORDERS_32 if kind.endswith("32") else ORDERS_64
        for value in values:
            big_endian = struct.pack(CODES[kind], value)
            # An f32 vector's value is what the f32 holds (1.1 becomes 1.100000023841858).
            held = struct.unpack(CODES[kind], big_endian)[0]
            for pattern in orders:
                wire = bytes(big_endian[ord(letter) - ord("A")] for letter in pattern)
                registers = " ".join(wire[i : i + 2].hex().upper() for i in range(0, len(wire), 2))
                out.write(
                    f"{kind},{pattern},{held!r},{registers},{big_endian.hex().upper()},"
                    f"{int(plausible(kind, held))}\n"
                )


if __name__ == "__main__":
    main()
