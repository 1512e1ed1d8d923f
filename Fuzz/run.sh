#!/bin/bash
# Fuzz/run.sh -- build the libFuzzer target for the BGP message decoder and run it.
#
# Usage: Fuzz/run.sh [SECONDS=60] [extra libFuzzer flags...]
#   SCRATCH=.build-fuzz  SwiftPM scratch path used to build NIOCore/NetPrimitives (default .build)
#
# The BGP codec sources (Sources/BGP/BGPError.swift, Sources/BGP/Codec/*.swift) and the fuzz
# entry (Fuzz/BGPDecoderFuzz/FuzzEntry.swift) are compiled with
# `swiftc -sanitize=fuzzer,address` and linked with the objects SwiftPM built for NIOCore and
# NetPrimitives. The corpus in Fuzz/corpus is used and extended in a scratch copy
# (fuzz-out/corpus); crashes land in fuzz-out/ (gitignored). Copy interesting new inputs
# into Fuzz/corpus by hand and keep it small.
set -eu
cd "$(dirname "$0")/.."
. Fuzz/nio-link-inputs.sh
SECONDS_TO_RUN=${1:-60}; shift || true
SCRATCH=${SCRATCH:-.build}
swift build --scratch-path "$SCRATCH" --target BGP >/dev/null
B=$SCRATCH/debug
nio_link_inputs "$B" "$SCRATCH/checkouts" NetPrimitives
mkdir -p fuzz-out/corpus
swiftc -sanitize=fuzzer,address -parse-as-library -O -module-name BGPFuzz -I "$B/Modules" "${maps[@]}" \
  Sources/BGP/BGPError.swift Sources/BGP/Codec/*.swift Fuzz/BGPDecoderFuzz/FuzzEntry.swift \
  "${objects[@]}" -o fuzz-out/bgp-decoder-fuzz
cp -n Fuzz/corpus/* fuzz-out/corpus/ 2>/dev/null || true
exec fuzz-out/bgp-decoder-fuzz -max_total_time="$SECONDS_TO_RUN" -max_len=4200 -artifact_prefix=fuzz-out/ "$@" fuzz-out/corpus
