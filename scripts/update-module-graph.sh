#!/bin/sh
# Regenerates the module graph in Documentation/Architecture.md from Package.swift (the
# ArchitectureTests' ModuleGraph suite writes it when SWIFTCNI_UPDATE_MODULE_GRAPH=1).
set -e
cd "$(dirname "$0")/.."
SWIFTCNI_UPDATE_MODULE_GRAPH=1 swift test --filter ArchitectureTests.ModuleGraphTests "$@"
