import CNISpec
import Datastore
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import NetPrimitives
import Testing
@testable import IPAM
@testable import IPAMCore

@Suite struct SubnetEnvironmentTests {
    @Test func parsesAndRendersFlannelsFormat() throws {
        let text = "FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.1.1/24\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=true\n"
        let environment = try SubnetEnvironment(parsing: text)
        #expect(environment.network == IPNetwork("10.244.0.0/16") && environment.subnet == IPNetwork("10.244.1.1/24"))
        #expect(environment.mtu == 1450 && environment.ipMasquerade)
        #expect(environment.text == text)
        #expect(try environment.ipv4PodSubnet() == IPNetwork("10.244.1.0/24"))
        // flanneld's writer passes the network form of its lease: the file says the first host.
        let written = SubnetEnvironment(network: "10.244.0.0/16", subnet: "10.244.1.0/24", mtu: 1450, ipMasquerade: true)
        #expect(written.text == text)
    }

    @Test func toleratesCommentsQuotesBlanksAndOtherKeys() throws {
        let text = "# written by flanneld\nFLANNEL_IPV6_NETWORK=fd00::/48\n\nFLANNEL_NETWORK=\"10.0.0.0/8\"\r\n  FLANNEL_SUBNET=10.3.4.1/24  \n"
        let environment = try SubnetEnvironment(parsing: text)
        #expect(environment.network == IPNetwork("10.0.0.0/8") && environment.subnet?.network == IPNetwork("10.3.4.0/24"))
        #expect(environment.ipv6Network == nil, "an incomplete IPv6 pair is ignored")
        #expect(environment.mtu == nil && !environment.ipMasquerade)
    }

    @Test(arguments: [
        ("FLANNEL_SUBNET=10.244.1.1/24", "has no FLANNEL_NETWORK"),
        ("FLANNEL_NETWORK=10.244.0.0/16", "has no FLANNEL_SUBNET"),
        ("FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=banana", "line 2: FLANNEL_SUBNET=banana"),
        ("FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.9.1.1/24", "line 2: FLANNEL_SUBNET 10.9.1.1/24 is not inside"),
        ("FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.1.1/24\nFLANNEL_MTU=nine", "line 3: FLANNEL_MTU=nine"),
        ("FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.1.1/24\nFLANNEL_IPMASQ=yes", "line 3: FLANNEL_IPMASQ=yes"),
        ("FLANNEL_NETWORK=10.244.0.0/16\ngarbage\nFLANNEL_SUBNET=10.244.1.1/24", "line 2: \"garbage\" is not KEY=VALUE"),
        ("FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_NETWORK=10.0.0.0/8", "line 2: FLANNEL_NETWORK repeats line 1"),
    ])
    func badFilesAreErrorsNamingTheLine(text: String, message: String) {
        do throws(IPAMError) {
            _ = try SubnetEnvironment(parsing: text, path: "/run/x/subnet.env")
            Issue.record("parsed \(text)")
        } catch {
            #expect(error.code == .invalidConfiguration && error.message.contains(message) && error.message.hasPrefix("/run/x/subnet.env"), "\(error)")
            #expect(CNIError(error).code == .invalidNetworkConfig)
        }
    }

    @Test func podSubnetMustBeIPv4WithRoomForPods() throws {
        #expect(throws: IPAMError.self) { try SubnetEnvironment(network: "10.244.0.0/16", subnet: "10.244.1.1/31").ipv4PodSubnet() }
        #expect(throws: IPAMError.self) { try SubnetEnvironment(network: "fd00::/48", subnet: "fd00:0:0:1::1/64").ipv4PodSubnet() }
    }

    @Test func writesAtomicallyAndLoads() async throws {
        try await withTemporaryDirectory { directory in
            let path = directory + "/run/flannel/subnet.env"
            do throws(IPAMError) {
                _ = try SubnetEnvironment.load(path: path)
                Issue.record("loaded a missing file")
            } catch {
                #expect(error.code == .notReady && CNIError(error).code == .tryAgainLater)
            }
            let environment = SubnetEnvironment(network: "10.244.0.0/16", subnet: "10.244.2.1/24", mtu: 1400)
            try environment.write(to: path)
            #expect(try SubnetEnvironment.load(path: path) == environment)
            #expect(try FileManager.default.contentsOfDirectory(atPath: directory + "/run/flannel") == ["subnet.env"])
        }
    }
}

@Suite struct IPAMErrorTableTests {
    @Test func mapsToTheSpecCodes() {
        let table: [(IPAMError.Code, CNIError.Code)] = [
            (.invalidConfiguration, .invalidNetworkConfig), (.invalidIdentifier, .invalidEnvironmentVariables),
            (.ioFailed, .ioFailure), (.datastoreFailed, .tryAgainLater), (.contention, .tryAgainLater),
            (.notReady, .tryAgainLater), (.exhausted, .internal), (.malformedRecord, .internal),
        ]
        for (code, expected) in table { #expect(CNIError(IPAMError(code, "x")).code == expected, "\(code)") }
        #expect(CNIError.fromIPAM(DatastoreError(.unavailable, "down")).code == .tryAgainLater)
        let corrupt = CNIError.fromIPAM(DatastoreError(.malformedRecord, "bad", key: "/swiftcni/pods/x/a"))
        #expect(corrupt.code == .internal && corrupt.message.contains("/swiftcni/pods/x/a"))
        #expect(CNIError.fromIPAM(CNIError(.unknownContainer, "gone")).code == .unknownContainer)
    }
}

@Suite struct CorruptRecordTests {
    @Test func aCorruptBlockIsAnErrorNamingItsKeyNotContention() async throws {
        try await withTemporaryDirectory { directory in
            let store = try FileDatastore(directory: directory)
            try await store.put("/swiftcni/ipam/blocks/10.244.0.0-26", string: #"{"cidr":"10.244.0.0/26","allocations":7}"#)
            let allocator = try BlockAllocator(store: store, node: "n1", pools: [BlockPool(cidr: "10.244.0.0/24", blockSize: 26)])
            do {
                _ = try await allocator.allocate(handle: "net.c1")
                Issue.record("allocated over a corrupt block")
            } catch let error as IPAMError {
                #expect(error.code == .malformedRecord && "\(error)".contains("/swiftcni/ipam/blocks/10.244.0.0-26"), "\(error)")
            }
            await #expect(throws: IPAMError.self) { try await allocator.garbageCollect(network: "net", validContainerIDs: []) }
        }
    }

    @Test func aCorruptHandleOrLeaseIsAnErrorNamingItsKey() async throws {
        try await withTemporaryDirectory { directory in
            let store = try FileDatastore(directory: directory)
            try await store.put("/swiftcni/ipam/handles/net.c9", string: "[]")
            let allocator = try BlockAllocator(store: store, node: "n1", pools: [BlockPool(cidr: "10.244.0.0/24", blockSize: 26)])
            do {
                _ = try await allocator.garbageCollect(network: "net", validContainerIDs: [])
                Issue.record("collected over a corrupt handle")
            } catch let error as IPAMError {
                #expect(error.code == .malformedRecord && "\(error)".contains("/swiftcni/ipam/handles/net.c9"), "\(error)")
            }
            try await store.put("/coreos.com/network/subnets/10.244.1.0-24", string: #"{"PublicIP":5}"#)
            do {
                _ = try await SubnetLeaseManager(store: store).leases()
                Issue.record("listed a corrupt lease")
            } catch let error as IPAMError {
                #expect(error.code == .malformedRecord && "\(error)".contains("/coreos.com/network/subnets/10.244.1.0-24"), "\(error)")
            }
        }
    }
}
