# Fuzz/nio-link-inputs.sh -- sourced by Fuzz/run*.sh: what a `swiftc -sanitize=fuzzer` target
# needs to link with the objects SwiftPM built for NIOCore.
#
# nio_link_inputs BUILD CHECKOUTS [MODULE...]: sets the arrays `maps` (-Xcc -fmodule-map-file=…
# for every module map in BUILD, the debug build directory, and for swift-atomics' shims in
# CHECKOUTS) and `objects` (the .o files of NIOCore, its dependencies and each MODULE in BUILD).
nio_link_inputs() {
  local build=$1 checkouts=$2 map atomics module object
  shift 2
  maps=()
  for map in "$build"/*.build/module.modulemap; do maps+=(-Xcc "-fmodule-map-file=$map"); done
  atomics=$(find "$checkouts/swift-atomics" -path '*_AtomicsShims/include/module.modulemap' | head -1)
  if [ -n "$atomics" ]; then maps+=(-Xcc "-fmodule-map-file=$atomics"); fi
  local directories=()
  for module in NIOCore _NIODataStructures _NIOBase64 NIOConcurrencyHelpers Atomics _AtomicsShims "$@" DequeModule \
    InternalCollectionsUtilities ContainersPreview; do
    directories+=("$build/$module.build")
  done
  objects=()
  while IFS= read -r -d '' object; do objects+=("$object"); done < <(
    find "${directories[@]}" "$build"/CNIO*.build -name '*.o' -print0 2>/dev/null)
}
