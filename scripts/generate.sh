#!/usr/bin/env bash
# Regenerates every file derived from proto/ under the tree rooted at $1 (default: the repository).
#   C:     protoc-c output for proto/*.proto            -> Sources/CSanlianProto
#          protoc-c output for descriptor.proto          -> Sources/CProtoDescriptor
#   Swift: sanlian-protogen over protoc's descriptor set -> Sources/SanlianWire/Generated
#          the services' protocols and typed clients    -> Sources/SanlianContracts/Generated
#          and the test samples                          -> Tests/SanlianWireTests/Generated
# `make proto` runs it on the repository; `make check-generated` runs it into a temporary tree and
# compares. The generator binary is passed in $PROTOGEN (built by make).
set -euo pipefail

repo="$(cd "$(dirname "$0")/.." && pwd)"
out="${1:-$repo}"
protogen="${PROTOGEN:?set PROTOGEN to the sanlian-protogen binary}"
descriptor_include="${DESCRIPTOR_INCLUDE:-/usr/include}"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# protoc-c writes foo.pb-c.c and foo.pb-c.h side by side; SwiftPM wants public headers in include/.
mkdir -p "$work/c"
(cd "$repo/proto" && protoc-c --proto_path=. --c_out="$work/c" ./*.proto)
mkdir -p "$out/Sources/CSanlianProto/include"
rm -f "$out"/Sources/CSanlianProto/*.pb-c.c "$out"/Sources/CSanlianProto/include/*.pb-c.h
cp "$work"/c/*.pb-c.c "$out/Sources/CSanlianProto/"
cp "$work"/c/*.pb-c.h "$out/Sources/CSanlianProto/include/"
{
    echo "// protoc-c output for proto/*.proto. Written by scripts/generate.sh; only SanlianWire imports it."
    echo "#ifndef SANLIAN_CSANLIANPROTO_H"
    echo "#define SANLIAN_CSANLIANPROTO_H"
    for proto in "$repo"/proto/*.proto; do
        name="$(basename "$proto" .proto)"
        echo "#include \"$name.pb-c.h\""
    done
    echo "#endif"
} > "$out/Sources/CSanlianProto/include/CSanlianProto.h"

mkdir -p "$work/d"
protoc-c --proto_path="$descriptor_include" --c_out="$work/d" google/protobuf/descriptor.proto
mkdir -p "$out/Sources/CProtoDescriptor/include/google/protobuf" "$out/Sources/CProtoDescriptor/google/protobuf"
cp "$work/d/google/protobuf/descriptor.pb-c.c" "$out/Sources/CProtoDescriptor/google/protobuf/"
cp "$work/d/google/protobuf/descriptor.pb-c.h" "$out/Sources/CProtoDescriptor/include/google/protobuf/"

(cd "$repo/proto" && protoc --proto_path=. --include_source_info --descriptor_set_out="$work/set.pb" ./*.proto)
mkdir -p "$out/Sources/SanlianWire/Generated" "$out/Sources/SanlianContracts/Generated" \
    "$out/Tests/SanlianWireTests/Generated"
rm -f "$out"/Sources/SanlianWire/Generated/*.swift "$out"/Sources/SanlianContracts/Generated/*.swift \
    "$out"/Tests/SanlianWireTests/Generated/*.swift
"$protogen" --descriptor-set "$work/set.pb" \
    --messages-out "$out/Sources/SanlianWire/Generated" \
    --services-out "$out/Sources/SanlianContracts/Generated" \
    --samples-out "$out/Tests/SanlianWireTests/Generated"
