import CNISpec
import Foundation
import Testing
import TestSupport

/// The fixtures copied from the CNI specification (see Fixtures/README.md).
enum Fixture {
    static func bytes(_ name: String) throws -> [UInt8] {
        let url = try #require(Bundle.module.url(forResource: "Fixtures/\(name)", withExtension: nil))
        return Array(try Data(contentsOf: url))
    }

    static func json(_ name: String) throws -> JSONValue {
        try CNIJSON.decode(JSONValue.self, from: bytes(name))
    }
}

/// Compares two documents as JSON values (key order and spacing do not matter).
func sameJSON(_ bytes: [UInt8], _ expected: JSONValue) throws -> Bool {
    try CNIJSON.decode(JSONValue.self, from: bytes) == expected
}

/// A temporary directory removed by the caller (`defer { remove(dir) }`).
func temporaryDirectory() throws -> String { try TestDirectories.temporary(prefix: "swcni-cnispec-") }

func removeDirectory(_ path: String) { TestDirectories.remove(path) }

/// The directory holding this test bundle's sibling products (the test plugin executables).
func productsDirectory() -> String { TestDirectories.products }

import ChildProcess

/// Runs a program to completion (for running the test plugin binaries by hand).
enum ChildProcessRun {
    struct Output {
        var status: Int32
        var stdout: [UInt8]
        var stderr: String
    }

    static func run(_ executable: String, environment: [String: String], input: String) throws -> Output {
        let output = PluginProcessOutput(
            try ChildProcess.run(executable, environment: environment, standardInput: Array(input.utf8), timeoutMilliseconds: 10_000))
        return Output(status: output.exitStatus, stdout: output.standardOutput, stderr: String(decoding: output.standardError, as: UTF8.self))
    }
}
