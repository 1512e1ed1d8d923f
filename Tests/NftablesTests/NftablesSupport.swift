import ChildProcess
import Namespaces
import NetPrimitives
import Testing

@testable import Netlink
@testable import Nftables

/// Helpers shared by the nftables tests: run `nft` inside a test namespace.
enum NftablesTestSupport {
    static let nft = "/usr/sbin/nft"

    /// `nft ARGS` inside `namespace`; fails the test (throws) when nft fails.
    @discardableResult
    static func nft(_ namespace: NetworkNamespace, _ arguments: [String], input: String = "") throws -> String {
        let output = try namespace.runProcess(
            nft, arguments: arguments, standardInput: Array(input.utf8), timeoutMilliseconds: 10_000)
        let text = String(decoding: output.standardOutput, as: UTF8.self)
        guard output.status.isSuccess else {
            throw NftCommandFailed(
                arguments: arguments, message: String(decoding: output.standardError, as: UTF8.self))
        }
        return text
    }

    struct NftCommandFailed: Error, CustomStringConvertible {
        var arguments: [String]
        var message: String
        var description: String { "nft \(arguments.joined(separator: " ")) failed: \(message)" }
    }
}
