#!/bin/bash
# Fuzz/run-mesh.sh -- build the libFuzzer target for the mesh frame decoder and run it.
#
# Usage: Fuzz/run-mesh.sh [SECONDS=60] [extra libFuzzer flags...]
#   SCRATCH=.build       SwiftPM scratch path used to build NIOCore (default .build)
#   PACKAGE_DIR=.        the package whose scratch path holds NIOCore (the dev package works too)
#
# Like Fuzz/run.sh for BGP: the Mesh wire sources (Sources/Mesh/MeshError.swift,
# Sources/Mesh/Identity/PeerName.swift, Sources/Mesh/Wire/*.swift) and the entry
# (Fuzz/MeshFrameFuzz/FuzzEntry.swift) are compiled with `swiftc -sanitize=fuzzer,address` and
# linked with the objects SwiftPM built for NIOCore. The seeds in Fuzz/mesh-corpus are used and
# extended in a scratch copy (fuzz-out/mesh-corpus); crashes land in fuzz-out/mesh-*.
set -eu
cd "$(dirname "$0")/.."
. Fuzz/nio-link-inputs.sh
ROOT=$PWD
SECONDS_TO_RUN=${1:-60}; shift || true
SCRATCH=${SCRATCH:-.build}
PACKAGE_DIR=${PACKAGE_DIR:-.}
(cd "$PACKAGE_DIR" && swift build --scratch-path "$SCRATCH" --target NIOCore >/dev/null)
case "$SCRATCH" in /*) B=$SCRATCH/debug ;; *) B=$PACKAGE_DIR/$SCRATCH/debug ;; esac
CHECKOUTS=$(dirname "$B")/checkouts
nio_link_inputs "$B" "$CHECKOUTS"
mkdir -p fuzz-out/mesh-corpus
swiftc -sanitize=fuzzer,address -parse-as-library -O -module-name MeshFuzz -I "$B/Modules" "${maps[@]}" \
  "$ROOT"/Sources/Mesh/MeshError.swift "$ROOT"/Sources/Mesh/Identity/PeerName.swift "$ROOT"/Sources/Mesh/Wire/*.swift \
  "$ROOT"/Fuzz/MeshFrameFuzz/FuzzEntry.swift "${objects[@]}" -o fuzz-out/mesh-frame-fuzz
cp -n Fuzz/mesh-corpus/* fuzz-out/mesh-corpus/ 2>/dev/null || true
exec fuzz-out/mesh-frame-fuzz -max_total_time="$SECONDS_TO_RUN" -max_len=4200 -artifact_prefix=fuzz-out/mesh- "$@" fuzz-out/mesh-corpus
