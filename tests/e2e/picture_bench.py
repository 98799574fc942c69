"""Writes the process-picture benchmark's plant: N tags on the simulator's PLC (unit 1: level, pressure,
H2S and oxygen, each read by many tags) and a generated SVG with one bound element per tag, in a grid of
the four kinds a picture uses most (a level bar, a value text, a colour by range, a rotation).

    python picture_bench.py DIR PORT [N]     # DIR/bench.toml and DIR/bench.svg, 1000 elements by default
"""

import os
import sys

REGISTERS = [("level", 0, 0.001, "m", 0, 4), ("pressure", 1, 0.01, "bar", 0, 6), ("h2s", 4, 0.1, "ppm", 0, 20), ("o2", 5, 0.1, "%", 15, 22)]


def main():
    folder, port = sys.argv[1], int(sys.argv[2])
    n = int(sys.argv[3]) if len(sys.argv) > 3 else 1000
    plant = [
        '[plant]\nname = "Picture bench"\n\n[[screens]]\nid = "bench"\ntitle = "Bound elements"\nfile = "bench.svg"\n\n'
        f'[[devices]]\nid = "plc"\ntransport = "tcp"\nhost = "127.0.0.1"\nport = {port}\nunit = 1\npoll_ms = 100\n'
    ]
    cols = 40
    rows = (n + cols - 1) // cols
    svg = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {cols * 30} {rows * 30}" font-size="8">\n']
    for i in range(n):
        name, address, scale, unit, low, high = REGISTERS[i % len(REGISTERS)]
        tag = f"{name}_{i}"
        plant.append(f'\n[[devices.tags]]\nid = "{tag}"\ntable = "input"\naddress = {address}\ntype = "u16"\nscale = {scale}\nunit = "{unit}"\n')
        x, y = (i % cols) * 30, (i // cols) * 30
        kind = (i // len(REGISTERS)) % 4
        mid = (low + high) / 2
        if kind == 0:
            svg.append(f'<rect x="{x + 2}" y="{y + 2}" width="26" height="26" fill="#28c" data-pw-level="plc/{tag} {low}..{high}"/>\n')
        elif kind == 1:
            svg.append(f'<text x="{x + 2}" y="{y + 18}" data-pw-text="plc/{tag}" data-pw-format="0.00">-</text>\n')
        elif kind == 2:
            svg.append(f'<circle cx="{x + 15}" cy="{y + 15}" r="12" fill="#999" data-pw-fill="plc/{tag}: ..{mid}=#2a2, {mid}..=#d22"/>\n')
        else:
            svg.append(f'<rect x="{x + 4}" y="{y + 13}" width="22" height="4" data-pw-rotate="plc/{tag} {low}..{high} 0..360"/>\n')
    svg.append("</svg>\n")
    with open(os.path.join(folder, "bench.toml"), "w") as f:
        f.write("".join(plant))
    with open(os.path.join(folder, "bench.svg"), "w") as f:
        f.write("".join(svg))


if __name__ == "__main__":
    main()
