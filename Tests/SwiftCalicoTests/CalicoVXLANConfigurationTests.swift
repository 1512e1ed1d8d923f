import Foundation
import Testing
@testable import swift_calico_node

/// A pool's `vxlanMode` in Calico's names; anything else is rejected (issue 16 item 2).
struct CalicoVXLANConfigurationTests {
    func pool(_ mode: String) -> Data {
        Data(#"{"bgp":{"asNumber":64512},"ipPools":[{"cidr":"10.244.0.0/16","blockSize":26,"vxlanMode":"\#(mode)"}]}"#.utf8)
    }

    @Test func calicosModeNamesDecode() throws {
        for (text, mode) in [("Never", CalicoVXLAN.Mode.never), ("Always", .always), ("CrossSubnet", .crossSubnet)] {
            let configuration = try JSONDecoder().decode(NodeConfiguration.self, from: pool(text))
            #expect(configuration.ipPools?.first?.vxlanMode == mode)
        }
        let none = try JSONDecoder().decode(NodeConfiguration.self, from: Data(#"{"bgp":{"asNumber":64512},"ipPools":[{"cidr":"10.244.0.0/16"}]}"#.utf8))
        #expect(none.ipPools?.first?.vxlanMode == nil)
    }

    @Test func otherModesAreRejected() {
        for text in ["never", "Sometimes", ""] {
            #expect(throws: (any Error).self, "\(text)") { try JSONDecoder().decode(NodeConfiguration.self, from: pool(text)) }
        }
    }
}
