import CNISpec
import NetPrimitives
import Testing

/// Result conversions on the specification's own example result (the final ADD result of
/// SPEC.md's appendix, containernetworking/cni, written in each version's layout in
/// Fixtures/result-<version>.json), checked against the reference library's converters.
@Suite struct ResultConversionTests {
    static let versions = CNIVersion.all

    /// What converting `from` to `to` must give: the fixture in the target layout; a 0.1/0.2
    /// source has no interfaces and no `ips[].interface`, so those are absent in the target.
    func expected(from: CNIVersion, to: CNIVersion) throws -> AnyCNIResult {
        let target = try AnyCNIResult(decoding: Fixture.bytes("result-\(to).json"))
        guard from.resultFamily == .ip4ip6 else { return target }
        switch target {
        case .ip4ip6: return target
        case .ipsWithVersion(var result):
            result.interfaces = []
            result.ips = result.ips.map { var ip = $0; ip.interface = nil; return ip }
            return .ipsWithVersion(result)
        case .current(var result):
            result.interfaces = []
            result.ips = result.ips.map { var ip = $0; ip.interface = nil; return ip }
            return .current(result)
        }
    }

    @Test(arguments: versions, versions)
    func convertsSpecExample(from: CNIVersion, to: CNIVersion) throws {
        let source = try AnyCNIResult(decoding: Fixture.bytes("result-\(from).json"))
        #expect(source.version == from)
        let converted = try source.converted(to: to)
        #expect(converted.version == to)
        #expect(converted == (try expected(from: from, to: to)))
        // The encoded document is the fixture document (modulo what a 0.1/0.2 source lacks).
        #expect(try sameJSON(converted.encoded(), try expected(from: from, to: to).jsonValue()))
    }

    @Test(arguments: versions)
    func fixtureRoundTripsByteForByteAsJSON(version: CNIVersion) throws {
        let bytes = try Fixture.bytes("result-\(version).json")
        let result = try AnyCNIResult(decoding: bytes)
        #expect(try sameJSON(result.encoded(), try Fixture.json("result-\(version).json")))
    }

    @Test func specIPAMResultWithoutVersionTakesTheConfigurationVersion() throws {
        let bytes = try Fixture.bytes("spec-add-hostlocal-result.json")
        let result = try AnyCNIResult(decoding: bytes, assumingVersion: .v1_1_0)
        let current = try result.current()
        #expect(current.interfaces.isEmpty)
        #expect(current.ips == [.init(address: try IPNetwork(parsing: "10.1.0.5/16"), gateway: IPAddress("10.1.0.1"))])
        #expect(current.dns.nameservers == ["10.1.0.1"])
        let old = try result.converted(to: .v0_2_0)
        guard case .ip4ip6(let legacy) = old else { Issue.record("not 0.2 layout"); return }
        #expect(legacy.ip4?.ip.description == "10.1.0.5/16")
        #expect(legacy.ip4?.routes.map(\.destination.description) == ["0.0.0.0/0"])
    }

    @Test func currentFieldsDropOrRideAlongAsTheReferenceLibraryDoes() throws {
        let result = CNIResult(
            cniVersion: .v1_1_0,
            interfaces: [.init(name: "eth0", mac: try MACAddress(parsing: "99:88:77:66:55:44"), mtu: 1450, sandbox: "/var/run/netns/a", socketPath: "/run/s.sock", pciID: "0000:00:1f.0")],
            ips: [.init(address: try IPNetwork(parsing: "10.1.0.5/16"), gateway: IPAddress("10.1.0.1"), interface: 0),
                  .init(address: try IPNetwork(parsing: "fd00::5/64"), interface: 0)],
            routes: [.init(destination: try IPNetwork(parsing: "10.2.0.0/16"), gateway: IPAddress("10.1.0.1"), mtu: 1400, advertisedMSS: 1360, priority: 5, table: 100, scope: 0),
                     .init(destination: try IPNetwork(parsing: "::/0"))])
        guard case .ipsWithVersion(let v040) = try AnyCNIResult(result).converted(to: .v0_4_0) else {
            Issue.record("not 0.4 layout"); return
        }
        #expect(v040.interfaces == [.init(name: "eth0", mac: try MACAddress(parsing: "99:88:77:66:55:44"), sandbox: "/var/run/netns/a")])
        #expect(v040.ips.map(\.version) == ["4", "6"])
        #expect(v040.routes == result.routes)  // route extras ride along (shared Go Route type)
        guard case .ip4ip6(let v020) = try AnyCNIResult(result).converted(to: .v0_2_0) else {
            Issue.record("not 0.2 layout"); return
        }
        #expect(v020.ip4?.routes == [CNIRoute(destination: try IPNetwork(parsing: "10.2.0.0/16"), gateway: IPAddress("10.1.0.1"))])
        #expect(v020.ip6?.routes == [CNIRoute(destination: try IPNetwork(parsing: "::/0"))])
        // 1.1.0 -> 1.0.0 keeps everything.
        #expect(try AnyCNIResult(result).converted(to: .v1_0_0) == .current({ var r = result; r.cniVersion = .v1_0_0; return r }()))
    }

    @Test func resultWithoutAddressesCannotBecomeALegacyResult() throws {
        let empty = AnyCNIResult(CNIResult(cniVersion: .v1_0_0, interfaces: [.init(name: "eth0")]))
        #expect(throws: CNIError.self) { try empty.converted(to: .v0_2_0) }
    }

    @Test func unknownTargetVersionIsIncompatible() throws {
        let result = try AnyCNIResult(decoding: Fixture.bytes("result-1.0.0.json"))
        let error = try #require(throws: CNIError.self) { try result.converted(to: CNIVersion(2, 0, 0)) }
        #expect(error.code == .incompatibleVersion)
    }
}
