import CNISpec
import Foundation
import Testing

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
func temporaryDirectory() throws -> String {
    var template = Array("/tmp/swcni-cnispec-XXXXXX".utf8CString)
    let created = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
    try #require(created != nil)
    return String(cString: template.withUnsafeBufferPointer { $0.baseAddress! })
}

func removeDirectory(_ path: String) {
    try? FileManager.default.removeItem(atPath: path)
}

/// The directory holding this test bundle's sibling products (the test plugin executables).
func productsDirectory() -> String {
    let executable = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    return (executable as NSString).deletingLastPathComponent
}

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
