import ChildProcess
import Foundation
import Namespaces
import NetPrimitives
import TestSupport
import Testing

@testable import Netlink

/// Runs `ip ARGUMENTS` (or `bridge`) inside `namespace` and returns its JSON output.
func inspect(_ namespace: NetworkNamespace, _ arguments: [String], tool: String = "ip") throws -> [[String: Any]] {
    let output = try namespace.runProcess("/usr/sbin/\(tool)", arguments: ["-j"] + arguments, timeoutMilliseconds: 5000)
    guard output.status.isSuccess else {
        throw NetlinkError(.kernelError, operation: "\(tool) \(arguments.joined(separator: " ")): \(output.standardErrorText)")
    }
    let text = output.standardOutputText.trimmingCharacters(in: .whitespacesAndNewlines)
    if text.isEmpty { return [] }
    return try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [[String: Any]] ?? []
}

/// Runs a program inside `namespace` and returns whether it exited 0.
@discardableResult
func run(_ namespace: NetworkNamespace, _ path: String, _ arguments: [String]) throws -> ChildProcess.Output {
    try namespace.runProcess(path, arguments: arguments, timeoutMilliseconds: 5000)
}

extension InterfaceName {
    static func checked(_ text: String) -> InterfaceName { try! InterfaceName(text) }
}
