import Foundation
import NetPrimitives
import Testing
import Mesh

// The code of the DocC article "Three peers on loopback" (Sources/Mesh/Mesh.docc/
// ThreePeersOnLoopback.md), verbatim between the markers, so CI compiles and runs it.

// article-begin
/// Three peers in one process on 127.0.0.1, connected as a line 1 – 2 – 3. Returns the next
/// hop peer 1 uses towards peer 3 and the text peer 3 received from peer 1.
func threePeersOnLoopback() async throws -> (nextHop: PeerName?, received: String?) {
    let secret = MeshSecret.generate()  // in production: MeshSecret(contentsOfFile:)
    var routers: [MeshRouter] = []
    for index in 1...3 {
        let identity = PeerIdentity(
            name: PeerName(rawValue: 0x02aa_0000_0000 + UInt64(index))!, nickname: "peer\(index)",
            uid: UInt64.random(in: 1...UInt64.max))
        let node = MeshConfiguration(
            identity: identity, listen: MeshPeerAddress(try IPAddress(parsing: "127.0.0.1"), port: 0), secret: secret)
        let router = MeshRouter(configuration: MeshRouterConfiguration(node: node, discovery: false))
        try await router.start()
        routers.append(router)
    }

    // Peer 1 dials peer 2, peer 2 dials peer 3: peer 1 reaches peer 3 only through peer 2.
    await routers[0].connect(to: await routers[1].node.listeningAddress()!)
    await routers[1].connect(to: await routers[2].node.listeningAddress()!)
    let third = routers[2].localName
    for _ in 0..<200 where await routers[0].nextHop(to: third) == nil {
        try await Task.sleep(for: .milliseconds(50))
    }

    // A message for peer 3, relayed by peer 2.
    let inbox = await routers[2].messages(channel: "greetings")
    try await routers[0].send(Array("hello from peer 1".utf8), channel: "greetings", to: third)
    var received: String?
    for await message in inbox {
        received = String(decoding: message.payload, as: UTF8.self)
        break
    }
    let nextHop = await routers[0].nextHop(to: third)
    for router in routers { await router.stop() }
    return (nextHop, received)
}
// article-end

@Suite struct ThreePeersArticleTests {
    @Test func articleCodeRuns() async throws {
        let result = try await withThrowingTaskGroup(of: (nextHop: PeerName?, received: String?)?.self) { group in
            group.addTask { try await threePeersOnLoopback() }
            group.addTask { try? await Task.sleep(for: .seconds(30)); return nil }
            defer { group.cancelAll() }
            return try await group.next() ?? nil
        }
        #expect(result != nil, "the article's code finished within 30 s")
        #expect(result?.nextHop == PeerName(rawValue: 0x02aa_0000_0002))
        #expect(result?.received == "hello from peer 1")
    }

    /// The article shows exactly the code above.
    @Test func articleShowsThisCode() throws {
        let here = URL(fileURLWithPath: #filePath)
        let root = here.deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let source = try String(contentsOf: here, encoding: .utf8)
        let article = try String(contentsOf: root.appendingPathComponent("Sources/Mesh/Mesh.docc/ThreePeersOnLoopback.md"), encoding: .utf8)
        guard let begin = source.range(of: "// article-begin\n"), let end = source.range(of: "// article-end") else {
            Issue.record("markers missing")
            return
        }
        let code = String(source[begin.upperBound..<end.lowerBound])
        #expect(article.contains("```swift\n" + code + "```"), "Mesh.docc/ThreePeersOnLoopback.md shows the code between the markers")
    }
}
