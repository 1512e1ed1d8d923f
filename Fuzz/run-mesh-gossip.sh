#!/bin/bash
# Fuzz/run-mesh-gossip.sh -- build the libFuzzer target for the Mesh gossip decoder and run it.
#
# Usage: Fuzz/run-mesh-gossip.sh [SECONDS=60] [extra libFuzzer flags...]
#   SCRATCH=.build   SwiftPM scratch path used to build NIOCore (absolute or relative to the repo)
#   PACKAGE=.        package whose NIOCore is built (any package depending on swift-nio)
#
# Compiles the gossip sources (Sources/Mesh/MeshError.swift, Identity/PeerName.swift,
# Identity/ShortID.swift, Gossip/*.swift, Routes/*.swift) and the entry
# (Fuzz/MeshGossipFuzz/FuzzEntry.swift) with `swiftc -sanitize=fuzzer,address`, linked with the
# objects SwiftPM built for NIOCore. Each input is decoded; what decodes must encode to the same
# bytes and is fed to a GossipEngine. Seeds: Fuzz/corpus-mesh-gossip, copied to
# fuzz-out/corpus-mesh-gossip (gitignored) where crashes land too.
set -eu
cd "$(dirname "$0")/.."
. Fuzz/nio-link-inputs.sh
SECONDS_TO_RUN=${1:-60}; shift || true
SCRATCH=${SCRATCH:-.build}
PACKAGE=${PACKAGE:-.}
swift build --package-path "$PACKAGE" --scratch-path "$SCRATCH" --target NIOCore >/dev/null
B=$SCRATCH/debug
nio_link_inputs "$B" "$SCRATCH/checkouts"
mkdir -p fuzz-out/corpus-mesh-gossip
swiftc -sanitize=fuzzer,address -parse-as-library -O -module-name MeshGossipFuzz -I "$B/Modules" "${maps[@]}" \
  Sources/Mesh/MeshError.swift Sources/Mesh/Identity/PeerName.swift Sources/Mesh/Identity/ShortID.swift \
  Sources/Mesh/Gossip/*.swift Sources/Mesh/Routes/*.swift Fuzz/MeshGossipFuzz/FuzzEntry.swift \
  "${objects[@]}" -o fuzz-out/mesh-gossip-fuzz
cp -n Fuzz/corpus-mesh-gossip/* fuzz-out/corpus-mesh-gossip/ 2>/dev/null || true
exec fuzz-out/mesh-gossip-fuzz -max_total_time="$SECONDS_TO_RUN" -max_len=8192 -artifact_prefix=fuzz-out/mesh-gossip- "$@" fuzz-out/corpus-mesh-gossip
