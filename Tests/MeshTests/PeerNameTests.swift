import Testing
@testable import Mesh

@Suite struct PeerNameTests {
    @Test func parsesAndPrints() throws {
        let name = try PeerName(parsing: "6a:1f:00:00:00:01")
        #expect(name.rawValue == 0x6a1f_0000_0001)
        #expect(name.description == "6a:1f:00:00:00:01")
        #expect(name.bytes == [0x6a, 0x1f, 0, 0, 0, 1])
    }

    @Test func rejectsMalformedNames() {
        for text in ["", "6a:1f:00:00:00", "6a:1f:00:00:00:01:02", "6a:1f:00:00:00:zz", "6a1f:00:00:00:00:1"] {
            #expect(throws: MeshError.self) { try PeerName(parsing: text) }
        }
        #expect(PeerName(rawValue: 1 << 48) == nil)
    }
}
