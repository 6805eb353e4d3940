#!/bin/sh
# Coverage-guided fuzzing of the frame paths (Tests/FrameFuzzing) with libFuzzer and
# AddressSanitizer: `make fuzz`, FUZZ_SECONDS long (default 300). A crashing input is written to
# .build-fuzz/findings/ and the run fails; new inputs found grow .build-fuzz/corpus (the seeds in
# Tests/FrameFuzzing/corpus stay as committed).
set -eu
SCRATCH=.build-fuzz
SECONDS_TO_RUN=${FUZZ_SECONDS:-300}
swift build --scratch-path "$SCRATCH" --target FrameFuzzing \
    -Xswiftc -sanitize=fuzzer,address -Xcc -fsanitize=fuzzer-no-link
# SwiftPM links executables with a main of their own; libFuzzer brings main, so the fuzzer is
# linked here from the objects of FrameFuzzing and of what it depends on.
OBJECTS="$SCRATCH/fuzz-objects.txt"
: > "$OBJECTS"
for module in FrameFuzzing SanlianWire CSanlianProto NIOCore _NIOBase64 _NIODataStructures \
    NIOConcurrencyHelpers CNIOAtomics Atomics _AtomicsShims DequeModule InternalCollectionsUtilities \
    ContainersPreview BasicContainers CNIOLinux CNIODarwin CNIOWindows CNIOWASI CNIOOpenBSD CNIOFreeBSD; do
    directory="$SCRATCH/debug/$module.build"
    [ -d "$directory" ] || continue
    find "$directory" -name '*.o' | sed 's/.*/"&"/' >> "$OBJECTS"
done
swiftc -sanitize=fuzzer,address @"$OBJECTS" -lprotobuf-c -o "$SCRATCH/fuzz-frames"
mkdir -p "$SCRATCH/corpus" "$SCRATCH/findings"
# Swift's backtracer would report the fuzzer's own stack as a second, spurious error after a finding.
SWIFT_BACKTRACE=enable=no "$SCRATCH/fuzz-frames" "$SCRATCH/corpus" Tests/FrameFuzzing/corpus -max_total_time="$SECONDS_TO_RUN" \
    -max_len=1024 -print_final_stats=1 -artifact_prefix="$SCRATCH/findings/"
