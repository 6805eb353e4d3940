#!/usr/bin/env bash
# Regenerates every file derived from proto/ under the tree rooted at $1 (default: the repository).
#   C:     protoc-c output for proto/*.proto            -> Sources/CSanlianProto
#          a department's (patrol, hazards, residents, station) -> Sources/C<Department>Proto
#          protoc-c output for descriptor.proto          -> Sources/CProtoDescriptor
#   Swift: sanlian-protogen over protoc's descriptor set -> Sources/SanlianWire/Generated
#          the services' protocols and typed clients    -> Sources/SanlianContracts/Generated
#          a department's messages and services         -> Sources/<Department>Contract/Generated
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

# A department's contract is a module of its own, over its own protoc-c output, so that what does
# not use it (the broker) does not build it: proto file, Swift module, C module.
contracts=(
    "patrol PatrolContract CPatrolProto"
    "hazards HazardsContract CHazardsProto"
    "residents ResidentsContract CResidentsProto"
    "station StationContract CStationProto"
)

# protoc-c writes foo.pb-c.c and foo.pb-c.h side by side; SwiftPM wants public headers in include/.
mkdir -p "$work/c"
(cd "$repo/proto" && protoc-c --proto_path=. --c_out="$work/c" ./*.proto)

# umbrella MODULE FILES...: the header that includes a C module's protoc-c headers.
umbrella() {
    local module=$1 guard
    shift
    guard="SANLIAN_$(echo "$module" | tr '[:lower:]' '[:upper:]')_H"
    echo "// protoc-c output for proto/{$(echo "$@" | tr ' ' ',')}.proto. Written by scripts/generate.sh; only"
    echo "// the Swift module generated over it imports it."
    echo "#ifndef $guard"
    echo "#define $guard"
    for name in "$@"; do echo "#include \"$name.pb-c.h\""; done
    echo "#endif"
}

core=()
for proto in "$repo"/proto/*.proto; do
    name="$(basename "$proto" .proto)"
    is_contract=0
    for contract in "${contracts[@]}"; do
        [[ ${contract%% *} == "$name" ]] && is_contract=1
    done
    [[ $is_contract == 0 ]] && core+=("$name")
done
mkdir -p "$out/Sources/CSanlianProto/include"
rm -f "$out"/Sources/CSanlianProto/*.pb-c.c "$out"/Sources/CSanlianProto/include/*.pb-c.h
for name in "${core[@]}"; do
    cp "$work/c/$name.pb-c.c" "$out/Sources/CSanlianProto/"
    cp "$work/c/$name.pb-c.h" "$out/Sources/CSanlianProto/include/"
done
umbrella CSanlianProto "${core[@]}" > "$out/Sources/CSanlianProto/include/CSanlianProto.h"
contract_arguments=()
for contract in "${contracts[@]}"; do
    read -r name module cmodule <<< "$contract"
    mkdir -p "$out/Sources/$cmodule/include" "$out/Sources/$module/Generated"
    rm -f "$out/Sources/$cmodule"/*.pb-c.c "$out/Sources/$cmodule"/include/*.h "$out/Sources/$module"/Generated/*.swift
    cp "$work/c/$name.pb-c.c" "$out/Sources/$cmodule/"
    cp "$work/c/$name.pb-c.h" "$out/Sources/$cmodule/include/"
    umbrella "$cmodule" "$name" > "$out/Sources/$cmodule/include/$cmodule.h"
    contract_arguments+=(--contract "$name.proto=$module:$out/Sources/$module/Generated:$cmodule")
done

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
    --samples-out "$out/Tests/SanlianWireTests/Generated" \
    "${contract_arguments[@]}"
