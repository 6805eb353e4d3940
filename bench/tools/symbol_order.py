#!/usr/bin/env python3
"""Writes the link order of the daemons' functions from a profile of the benchmark's workload.

usage: symbol_order.py BIN_DIR C_DIR OUTPUT      (make symbol-order runs it)

Runs sanlian-bench once with sanlian-broker and sanlian-echo under valgrind's callgrind (small
counts: the set of functions a workload runs does not depend on how long it runs), then lists
every function of the two executables that ran, one mangled name per line: first those that ran
while they served (the most instructions first), then those only their start-up ran. Callgrind
cuts each profile in two where start-up ends, when the daemon releases its start-up pages
(`CSanlianSystem_releaseReadOnlyImagePages`). lld's --symbol-ordering-file (Package.swift,
`daemonLinkerSettings`) lays the functions out in that order, side by side: the code a serving
daemon runs sits on a few hundred pages at the front of .text instead of being spread over its
21 MiB, each touch of which the kernel answers by mapping 64 KiB around it
(docs/PERFORMANCE.md, "Decisions that stand", memory).

Functions the toolchain's static libraries (the standard library, Foundation, …) define in a
plain `.text`, their objects being compiled without function sections, are left out: ordering
one of them would move its object's whole `.text`, megabytes of code, into the ordered part and
spread the daemons' own serving code around it (a measured choice; the history is in git).

Valgrind 3.19 cannot read the DWARF 5 the Swift toolchain writes, so it profiles copies of the
executables without debug information (objcopy --strip-debug); the symbols stay.
"""
import collections
import glob
import json
import os
import re
import subprocess
import sys
import tempfile

REPOSITORY = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DAEMONS = ("sanlian-broker", "sanlian-echo")
# Where a daemon's start-up ends (ServiceSupport's StartupCodeRelease calls it).
START_UP_ENDS = "CSanlianSystem_releaseReadOnlyImagePages"
# How a name is introduced in a callgrind file: `fn=(12) name`, later just `fn=(12)`.
NAME_LINE = re.compile(r"^(c?)(ob|fn|fl|fi|fe)=(?:\((\d+)\))?\s*(.*)$")


def whole_section_functions():
    """Names the toolchain's static libraries define in a plain `.text` section (objdump -t)."""
    info = json.loads(subprocess.run(["swiftc", "-print-target-info"], capture_output=True, text=True, check=True).stdout)
    resources = info["paths"]["runtimeResourcePath"]  # …/usr/lib/swift
    archives = sorted(glob.glob(os.path.join(os.path.dirname(resources), "swift_static", "linux", "*.a")))
    if not archives:
        return set()
    table = subprocess.run(["objdump", "-t", *archives], capture_output=True, text=True).stdout
    names = set()
    for line in table.splitlines():
        # "ADDRESS FLAGS SECTION<TAB>SIZE NAME"
        head, tab, tail = line.partition("\t")
        if tab and head.split()[-1:] == [".text"] and tail.split():
            names.add(tail.split()[-1])
    return names


def self_costs(path, costs):
    """Adds each function's own instructions in one callgrind output to `costs[(object, name)]`."""
    names = {"ob": {}, "fn": {}, "fl": {}}
    current_object = function = None
    function_object = {}
    after_calls = False
    with open(path, errors="replace") as lines:
        for line in lines:
            match = NAME_LINE.match(line)
            if match:
                callee, kind, index, name = match.groups()
                table = "fl" if kind in ("fi", "fe") else kind
                if index is not None:
                    if name:
                        names[table][index] = name
                    else:
                        name = names[table].get(index, "?")
                if not callee:
                    if kind == "ob":
                        current_object = name
                    elif kind == "fn":
                        function = name
                        function_object.setdefault(function, current_object)
                continue
            if line.startswith("calls="):
                # The cost line after `calls=` is the callee's inclusive cost, not this function's.
                after_calls = True
                continue
            if line[:1].isdigit() or line[:1] in "+-*":
                if after_calls:
                    after_calls = False
                    continue
                fields = line.split()
                if len(fields) >= 2 and function:
                    costs[(function_object.get(function), function)] += int(fields[1])


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    bin_dir, c_dir, output = sys.argv[1:]
    with tempfile.TemporaryDirectory(prefix="sl-order-") as work:
        profiled = os.path.join(work, "bin")
        os.mkdir(profiled)
        for daemon in DAEMONS:
            subprocess.run(
                ["objcopy", "--strip-debug", os.path.join(bin_dir, daemon), os.path.join(profiled, daemon)],
                check=True,
            )
        wrapper = (
            "valgrind --tool=callgrind --demangle=no --dump-instr=no --log-file=/dev/null "
            f"--dump-after={START_UP_ENDS} --callgrind-out-file={work}/callgrind.%p"
        )
        print("symbol-order: running the benchmark's workload under callgrind (a few minutes)", file=sys.stderr)
        subprocess.run(
            [
                os.path.join(bin_dir, "sanlian-bench"), "--bin-dir", profiled, "--c-dir", c_dir,
                "--compose", os.path.join(REPOSITORY, "compose", "township.yaml"),
                "--daemon-wrapper", wrapper, "--rounds", "1", "--seconds", "1", "--round-trips", "300",
                "--alerts", "2000", "--output", os.path.join(work, "figures.json"),
                # The profile is of Sanlian's daemons; the SwiftNIO floor is not in `profiled`.
                "--no-nio-floor",
                "--no-patrol",
            ],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        # callgrind.PID.1, .2, … are a daemon's start-up, dumped as each phase of it ended (the
        # broker releases its pages after each); callgrind.PID, written as it exits, what it ran
        # while serving.
        parts = collections.defaultdict(dict)
        for name in os.listdir(work):
            match = re.fullmatch(r"callgrind\.(\d+)(?:\.(\d+))?", name)
            if match:
                parts[match[1]][int(match[2] or 0)] = os.path.join(work, name)
        if len(parts) != len(DAEMONS) or any(0 not in part or 1 not in part for part in parts.values()):
            sys.exit(f"symbol-order: expected a start-up and a serving profile of each daemon, found {sorted(os.listdir(work))}")
        start_up, serving = collections.Counter(), collections.Counter()
        for part in parts.values():
            for number, path in part.items():
                self_costs(path, serving if number == 0 else start_up)

    def functions(costs):
        """The daemons' own functions in `costs`, with their instructions."""
        named = collections.Counter()
        for (binary, function), cost in costs.items():
            if binary and os.path.basename(binary) in DAEMONS and not function.startswith("0x"):
                # Callgrind marks recursion levels with 'N; the symbol is the same.
                named[re.sub(r"'\d+$", "", function)] += cost
        return named

    whole_sections = whole_section_functions()
    served = functions(serving)
    serving_order = [function for function, _ in served.most_common() if function not in whole_sections]
    start_up_order = [
        function
        for function, _ in functions(start_up).most_common()
        if function not in served and function not in whole_sections
    ]
    ordered = serving_order + start_up_order
    with open(output, "w") as file:
        file.write(
            "# The daemons' functions in link order (lld --symbol-ordering-file): those that run while they\n"
            "# serve, the most run first, then those only their start-up runs.\n"
            "# Generated by `make symbol-order` (bench/tools/symbol_order.py) from a callgrind profile\n"
            "# of the benchmark's workload; regenerate when the hot path changes. Names that no longer\n"
            "# exist are skipped by the linker; new functions are laid out after these.\n"
        )
        for function in ordered:
            file.write(function + "\n")
    print(
        f"symbol-order: {len(serving_order)} functions that serve and {len(start_up_order)} of start-up "
        f"written to {output} ({len(served) - len(serving_order)} that serve left out: whole-section)",
        file=sys.stderr,
    )


if __name__ == "__main__":
    main()
