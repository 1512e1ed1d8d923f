import Namespaces
import Netlink
import Nftables
import NetPrimitives
import TestSupport
import Testing
@testable import Policy
@testable import PolicyEnforcement

/// The rendered `nft -f` text is what the library installs: nft itself loads it (SCTP, Log,
/// Pass, tiers, named ports included) into a test namespace and reads back the same table.
@Suite("Policy nftables text", .serialized)
struct NftablesTextTests {
    @Test("nft -f of the rendered text installs the same rule set as the library", .privileged)
    func nftLoadsTheRenderedText() async throws {
        let (_, contents) = try NftablesCompilerTests.compiled()
        try await NamespaceFixture.with(count: 1) { namespaces in
            let handle = try await NftablesHandle.open(in: namespaces[0])
            let output = try namespaces[0].runProcess(
                "/usr/sbin/nft", arguments: ["-f", "-"], standardInput: Array(contents.nftText.utf8), timeoutMilliseconds: 30_000)
            try #require(output.status.isSuccess, "\(String(decoding: output.standardError, as: UTF8.self))")
            let loaded = try handle.contents(of: contents.table)
            #expect(loaded.isEquivalent(to: contents))
            var transaction = NftablesTransaction()
            transaction.replace(with: contents)
            try handle.apply(transaction)
            #expect(try handle.contents(of: contents.table).isEquivalent(to: contents))
        }
    }
}
