#!/usr/bin/env python3
"""How much of each ELF section of a running program's binary is resident.

usage: resident_sections.py PID [BINARY]   (as root: /proc/PID/pagemap needs CAP_SYS_ADMIN)

Reads the section addresses with `readelf -SW` and asks /proc/PID/pagemap which of their pages
are present. Sections smaller than 50 KB are left out. See docs/PERFORMANCE.md ("Measuring").
"""
import os
import struct
import subprocess
import sys


def main():
    pid = int(sys.argv[1])
    binary = sys.argv[2] if len(sys.argv) > 2 else os.readlink(f"/proc/{pid}/exe")
    name = os.path.basename(binary)
    mappings = [line.split() for line in open(f"/proc/{pid}/maps")]
    mine = [m for m in mappings if len(m) >= 6 and os.path.basename(m[5]) == name]
    if not mine:
        sys.exit(f"{binary} is not mapped by process {pid}")
    # The first mapping starts at file offset 0: its address is where the file's addresses start.
    load_base = int(mine[0][0].split("-")[0], 16) - int(mine[0][2], 16)
    pagemap = open(f"/proc/{pid}/pagemap", "rb")

    def present(address):
        pagemap.seek(address // 4096 * 8)
        return struct.unpack("Q", pagemap.read(8))[0] >> 63

    sections = subprocess.run(["readelf", "-SW", binary], capture_output=True, text=True, check=True).stdout
    total = 0
    for line in sections.splitlines():
        fields = line.replace("[ ", "[").split()
        if len(fields) < 7 or not fields[0].startswith("[") or fields[2] == "NOBITS":
            continue
        try:
            section, address, size = fields[1], int(fields[3], 16), int(fields[5], 16)
        except ValueError:
            continue
        if address == 0 or size < 50_000:
            continue
        first = (load_base + address) // 4096
        last = (load_base + address + size - 1) // 4096
        resident = sum(present(page * 4096) for page in range(first, last + 1))
        total += resident
        print(f"{section:28s} {size / 1048576:7.2f} MiB, resident {resident * 4 / 1024:7.2f} MiB")
    print(f"{'listed sections':28s}          resident {total * 4 / 1024:7.2f} MiB")


if __name__ == "__main__":
    main()
