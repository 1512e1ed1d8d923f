import CNISpec
import NetPrimitives
import Testing
@testable import IPAM
@testable import IPAMCore

@Suite struct HostLocalPlanningTests {
    @Test func defaultsMatchHostLocal() throws {
        let v4 = try HostLocalRange(subnet: "10.1.2.0/24").canonicalized()
        #expect(v4.start == "10.1.2.1" && v4.end == "10.1.2.254" && v4.gateway == "10.1.2.1")
        let v6 = try HostLocalRange(subnet: "fd00::/120").canonicalized()
        #expect(v6.start == "fd00::1" && v6.end == "fd00::ff" && v6.gateway == "fd00::1")
        let custom = try HostLocalRange(subnet: "10.1.2.7/24", rangeStart: "10.1.2.10", rangeEnd: "10.1.2.20", gateway: "10.1.2.254").canonicalized()
        #expect(custom.subnet == "10.1.2.0/24" && custom.start == "10.1.2.10" && custom.gateway == "10.1.2.254")
    }

    @Test(arguments: [
        HostLocalRange(subnet: "10.0.0.0/31"), HostLocalRange(subnet: "10.0.0.0/24", gateway: "10.0.1.1"),
        HostLocalRange(subnet: "10.0.0.0/24", rangeStart: "10.0.0.9", rangeEnd: "10.0.0.3"),
        HostLocalRange(subnet: "10.0.0.0/24", rangeEnd: "fd00::1"),
    ])
    func rejectsBadRanges(_ range: HostLocalRange) {
        #expect(throws: IPAMError.self) { try range.canonicalized() }
    }

    @Test func rejectsOverlapsAndMixedSets() {
        let overlapping = HostLocalConfiguration(ranges: [[HostLocalRange(subnet: "10.0.0.0/24")], [HostLocalRange(subnet: "10.0.0.128/25")]])
        #expect(throws: IPAMError.self) { try overlapping.canonicalRangeSets() }
        let mixed = HostLocalConfiguration(ranges: [[HostLocalRange(subnet: "10.0.0.0/24"), HostLocalRange(subnet: "fd00::/64")]])
        #expect(throws: IPAMError.self) { try mixed.canonicalRangeSets() }
        #expect(throws: IPAMError.self) { try HostLocalConfiguration().canonicalRangeSets() }
    }

    @Test func iteratesRoundRobinSkippingTheGateway() throws {
        let ranges = [
            try HostLocalRange(subnet: "10.0.0.0/29").canonicalized(),  // .1 gateway, .1-.6
            try HostLocalRange(subnet: "10.0.1.0/30").canonicalized(),  // .1 gateway, .1-.2
        ]
        let fresh = RangeSetIterator(ranges: ranges, lastReserved: nil).map(\.address.description)
        #expect(fresh == ["10.0.0.2", "10.0.0.3", "10.0.0.4", "10.0.0.5", "10.0.0.6", "10.0.1.2"])
        let resumed = RangeSetIterator(ranges: ranges, lastReserved: "10.0.0.5").map(\.address.description)
        #expect(resumed == ["10.0.0.6", "10.0.1.2", "10.0.0.2", "10.0.0.3", "10.0.0.4", "10.0.0.5"])
        let outside = RangeSetIterator(ranges: ranges, lastReserved: "192.168.0.1").map(\.address.description)
        #expect(outside == fresh)
    }

    @Test func parsesResolvConf() {
        let dns = DNS(resolvConf: "# c\nnameserver 10.0.0.10\nnameserver fd00::a\nsearch a.svc b.svc\ndomain example\noptions ndots:5\n")
        #expect(dns.nameservers == ["10.0.0.10", "fd00::a"] && dns.search == ["a.svc", "b.svc"] && dns.domain == "example" && dns.options == ["ndots:5"])
    }

    @Test(arguments: ["", ".", "..", "a/b", "../x", "x\u{0}y"])
    func networkNamesCannotEscape(_ name: String) {
        #expect(throws: IPAMError.self) { try Identifier.validateNetworkName(name) }
    }

    @Test(arguments: ["", "../etc", "a/b", ".hidden", "-x", "a b"])
    func containerIDsCannotEscape(_ id: String) {
        #expect(throws: IPAMError.self) { try Identifier.validateContainerID(id) }
    }
}

@Suite struct HostLocalAllocatorTests {
    func configuration(_ directory: String, _ sets: [[HostLocalRange]]) -> HostLocalConfiguration {
        HostLocalConfiguration(ranges: sets, routes: [CNIRoute(destination: "0.0.0.0/0")], dataDir: directory)
    }

    @Test func allocatesWritesHostLocalFilesAndReleases() async throws {
        try await withTemporaryDirectory { directory in
            let allocator = try HostLocalAllocator(
                network: "net1", configuration: configuration(directory, [[HostLocalRange(subnet: "10.22.0.0/24")], [HostLocalRange(subnet: "fd00:22::/120")]]))
            let first = try allocator.allocate(containerID: "c1", interfaceName: "eth0")
            #expect(first.addresses.map(\.address.description) == ["10.22.0.2/24", "fd00:22::2/120"])
            #expect(first.addresses.map(\.gateway) == ["10.22.0.1", "fd00:22::1"])
            #expect(first.routes == [CNIRoute(destination: "0.0.0.0/0")])
            #expect(readText("\(directory)/net1/10.22.0.2") == "c1\r\neth0")
            #expect(readText("\(directory)/net1/last_reserved_ip.0") == "10.22.0.2")
            #expect(readText("\(directory)/net1/last_reserved_ip.1") == "fd00:22::2")
            #expect(listDirectory("\(directory)/net1").contains("lock"))
            let second = try allocator.allocate(containerID: "c2", interfaceName: "eth0")
            #expect(second.addresses[0].address.address == "10.22.0.3")
            #expect(throws: IPAMError.self) { try allocator.allocate(containerID: "c1", interfaceName: "eth0") }
            #expect(try allocator.check(containerID: "c1", interfaceName: "eth0").count == 2)
            #expect(try allocator.release(containerID: "c1", interfaceName: "eth0").count == 2)
            #expect(try allocator.release(containerID: "c1", interfaceName: "eth0").isEmpty)
            #expect(throws: IPAMError.self) { try allocator.check(containerID: "c1", interfaceName: "eth0") }
            // Round robin: the next allocation continues after .3, not at the freed .2.
            #expect(try allocator.allocate(containerID: "c3", interfaceName: "eth0").addresses[0].address.address == "10.22.0.4")
        }
    }

    @Test func honoursRequestedAddressesAndRollsBack() async throws {
        try await withTemporaryDirectory { directory in
            let allocator = try HostLocalAllocator(
                network: "n", configuration: configuration(directory, [[HostLocalRange(subnet: "10.0.0.0/29")], [HostLocalRange(subnet: "10.0.1.0/29")]]))
            let allocation = try allocator.allocate(containerID: "a", interfaceName: "eth0", requested: ["10.0.1.5"])
            #expect(allocation.addresses.map(\.address.address) == ["10.0.0.2", "10.0.1.5"])
            #expect(throws: IPAMError.self) { try allocator.allocate(containerID: "b", interfaceName: "eth0", requested: ["10.0.1.5"]) }
            #expect(throws: IPAMError.self) { try allocator.allocate(containerID: "b", interfaceName: "eth0", requested: ["10.0.1.1"]) }
            #expect(throws: IPAMError.self) { try allocator.allocate(containerID: "b", interfaceName: "eth0", requested: ["192.168.0.1"]) }
            // The failed calls left nothing behind: only a's two files.
            #expect(listDirectory("\(directory)/n").filter { IPAddress($0) != nil } == ["10.0.0.2", "10.0.1.5"])
        }
    }

    @Test func readsResolvConfIntoTheResult() async throws {
        try await withTemporaryDirectory { directory in
            try POSIX.writeFile("\(directory)/resolv.conf", Array("nameserver 10.96.0.10\nsearch default.svc cluster.local\noptions ndots:5\n".utf8), exclusive: true)
            var configuration = configuration(directory, [[HostLocalRange(subnet: "10.0.0.0/24")]])
            configuration.resolvConf = "\(directory)/resolv.conf"
            let allocation = try HostLocalAllocator(network: "n", configuration: configuration).allocate(containerID: "a", interfaceName: "eth0")
            #expect(allocation.dns.nameservers == ["10.96.0.10"] && allocation.dns.search == ["default.svc", "cluster.local"])
            configuration.resolvConf = "\(directory)/missing"
            #expect(throws: IPAMError.self) { try HostLocalAllocator(network: "n", configuration: configuration).allocate(containerID: "b", interfaceName: "eth0") }
            // The failed ADD released its address.
            #expect(try HostLocalDiskStore(network: "n", dataDirectory: directory).reservations().map(\.containerID) == ["a"])
        }
    }

    @Test func exhaustsCleanly() async throws {
        try await withTemporaryDirectory { directory in
            let allocator = try HostLocalAllocator(network: "n", configuration: configuration(directory, [[HostLocalRange(subnet: "10.0.0.0/30")]]))
            _ = try allocator.allocate(containerID: "a", interfaceName: "eth0")
            do {
                _ = try allocator.allocate(containerID: "b", interfaceName: "eth0")
                Issue.record("must be exhausted")
            } catch let error as IPAMError {
                #expect(error.code == .exhausted)
            }
        }
    }

    @Test func garbageCollectsInvalidAttachmentsAndLeftovers() async throws {
        try await withTemporaryDirectory { directory in
            let allocator = try HostLocalAllocator(network: "n", configuration: configuration(directory, [[HostLocalRange(subnet: "10.0.0.0/24")]]))
            for id in ["a", "b", "c"] { _ = try allocator.allocate(containerID: id, interfaceName: "eth0") }
            // A legacy ID-only file, an empty file (crash after create) and a dead process's temp file.
            try POSIX.writeFile("\(directory)/n/10.0.0.50", Array("legacy".utf8), exclusive: true)
            try POSIX.writeFile("\(directory)/n/10.0.0.51", [], exclusive: true)
            try POSIX.writeFile("\(directory)/n/.swiftcni-tmp-999999-10.0.0.52", Array("x\r\neth0".utf8), exclusive: true)
            let freed = try allocator.garbageCollect(validAttachments: [Attachment(containerID: "b", interfaceName: "eth0")])
            #expect(Set(freed.map(\.description)) == ["10.0.0.2", "10.0.0.4", "10.0.0.50"])
            #expect(listDirectory("\(directory)/n") == ["10.0.0.3", "last_reserved_ip.0", "lock"])
            // Another node's subnet in a shared dataDir is not touched when GC is limited to the ranges.
            try POSIX.writeFile("\(directory)/n/10.1.0.9", Array("other\r\neth0".utf8), exclusive: true)
            #expect(try allocator.garbageCollect(validAttachments: [], onlyConfiguredRanges: true).map(\.description) == ["10.0.0.3"])
            #expect(listDirectory("\(directory)/n").contains("10.1.0.9"))
        }
    }
}
