import ChildProcess
import Foundation
import Lab
import LabMeasurement
import LabProfiles
import Testing

/// The pure helpers of the measurements: documents, parsers, the comparison plan.
struct MeasurementSupportTests {
    @Test func benchMetrics() throws {
        let metric = BenchDocument.Metric.time("add_median_ms", ours: 2, reference: 5)
        #expect(metric == BenchDocument.Metric(name: "add_median_ms", ours: 2, reference: 5, speedup: 2.5))
        #expect(BenchDocument.Metric.time("x", ours: 0, reference: 5).speedup == 0)
        #expect(BenchDocument.metricName("veth pairs created") == "veth_pairs_created_ms")
        #expect(BenchDocument.metricName("/32 routes") == "32_routes_ms")
        #expect(BenchDocument.milliseconds(.milliseconds(1500)) == 1500)
        #expect(BenchDocument.milliseconds(.microseconds(250)) == 0.25)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let text = String(decoding: try encoder.encode(BenchDocument(scenario: "cni-add", metrics: [metric])), as: UTF8.self)
        #expect(text == #"{"metrics":[{"name":"add_median_ms","ours":2,"reference":5,"speedup":2.5}],"scenario":"cni-add"}"#)
    }

    @Test func bgpTable() {
        let text = LabBench.bgpText(prefixes: 1000, runs: ["swift": [10.2, 30, 20], "gobgp": [90, 110, 100.4]])
        #expect(text.split(separator: "\n").map(String.init) == [
            "receiver   median ms   runs (ms)",
            "BGPSpeaker 20          10, 30, 20",
            "gobgpd     100         90, 110, 100",
            "gobgpd / BGPSpeaker: 5.0x (1000 prefixes)",
        ])
        // One receiver: no ratio.
        #expect(!LabBench.bgpText(prefixes: 5, runs: ["swift": [1]]).contains("gobgpd /"))
    }

    @Test func mtuAndMedian() {
        #expect(ComparisonMeasurement.mtu(of: "2: eth0@if5: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1450 qdisc noqueue state UP") == 1450)
        #expect(ComparisonMeasurement.mtu(of: "no such field") == nil)
        #expect(ComparisonMeasurement.mtu(of: "… mtu") == nil)
        #expect(ComparisonMeasurement.median([]) == nil)
        #expect(ComparisonMeasurement.median([3, 1, 2]) == 2)
        #expect(ComparisonMeasurement.median([4, 1, 2, 3]) == 2.5)
    }

    @Test func comparisonPlan() throws {
        #expect(ComparisonPlan.availableNames == ["flannel", "calico", "canal", "weave", "weave-encrypted"])
        let chosen = try ComparisonPlan.profiles(named: " canal ,flannel")
        #expect(chosen.map(\.name) == ["canal", "flannel"])
        #expect(chosen[0].enforcesPolicy && !chosen[1].enforcesPolicy)
        #expect((chosen[1] as? FlannelProfile)?.backend == .vxlan)
        #expect(throws: LabError.self) { _ = try ComparisonPlan.profiles(named: "flannel,nope") }
        let weave = try ComparisonPlan.profiles(named: "weave,weave-encrypted")
        #expect(weave.map(ComparisonPlan.columnName(of:)) == ["weave", "weave-encrypted"])
        #expect((weave[1] as? WeaveProfile)?.secretFile == ComparisonPlan.weaveSecretFileName)
        #expect(throws: LabError.self) { _ = try ComparisonPlan.profiles(named: "") }
    }

    /// weave-encrypted's secret goes into the run's own directory, fresh each time, and goes
    /// with it; other profiles are left as they are.
    @Test func comparisonSecretInTheRunsDirectory() throws {
        let first = try RunDirectory.make(prefix: "cnilab-compare-test-")
        let second = try RunDirectory.make(prefix: "cnilab-compare-test-")
        defer { [first, second].forEach(RunDirectory.remove) }
        #expect(first != second)
        let encrypted = try #require(ComparisonPlan.profile(named: "weave-encrypted"))
        let a = try #require(try ComparisonPlan.prepareSecret(for: encrypted, in: first) as? WeaveProfile)
        let b = try #require(try ComparisonPlan.prepareSecret(for: encrypted, in: second) as? WeaveProfile)
        #expect(a.secretFile == first + "/weave.secret" && b.secretFile == second + "/weave.secret")
        let secrets = try [a, b].map { try String(contentsOfFile: try #require($0.secretFile), encoding: .utf8) }
        #expect(!secrets[0].isEmpty && secrets[0] != secrets[1])
        #expect(ComparisonPlan.columnName(of: a) == "weave-encrypted")
        let flannel = try ComparisonPlan.prepareSecret(for: FlannelProfile(backend: .vxlan), in: first)
        #expect((flannel as? FlannelProfile)?.backend == .vxlan)
        RunDirectory.remove(first)
        #expect(!FileManager.default.fileExists(atPath: first))
    }

    @Test func cniAddPlugins() throws {
        #expect(try CNIAddBench.executableName(plugin: "canal") == "swift-canal")
        #expect(throws: LabError.self) { _ = try CNIAddBench.executableName(plugin: "weave") }
        #expect(try CNIAddBench.pluginBinary(plugin: "flannel", directory: nil, binary: "/x/swift-flannel") == "/x/swift-flannel")
        #expect(throws: LabError.self) { _ = try CNIAddBench.pluginBinary(plugin: "weave", directory: nil, binary: "/x/swift-weave") }
    }

    /// An ELF header with one program header: PT_LOAD only is static, PT_INTERP is not.
    static func elf(programHeaderType: UInt32) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: 64 + 56)
        bytes[0...4] = [0x7f, 0x45, 0x4c, 0x46, 2][...]
        func put(_ value: Int, at offset: Int, size: Int) {
            for index in 0..<size { bytes[offset + index] = UInt8((value >> (8 * index)) & 0xff) }
        }
        put(64, at: 0x20, size: 8)  // e_phoff
        put(56, at: 0x36, size: 2)  // e_phentsize
        put(1, at: 0x38, size: 2)  // e_phnum
        put(Int(programHeaderType), at: 64, size: 4)
        return bytes
    }

    @Test func staticExecutables() throws {
        let directory = NSTemporaryDirectory() + "labmeasurement-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try Data(Self.elf(programHeaderType: 1)).write(to: URL(fileURLWithPath: directory + "/static"))
        try Data(Self.elf(programHeaderType: 3)).write(to: URL(fileURLWithPath: directory + "/dynamic"))
        try Data("#!/bin/sh\n".utf8).write(to: URL(fileURLWithPath: directory + "/script"))
        #expect(CNIAddBench.isStaticExecutable(directory + "/static"))
        #expect(!CNIAddBench.isStaticExecutable(directory + "/dynamic"))
        #expect(!CNIAddBench.isStaticExecutable(directory + "/script"))
        #expect(!CNIAddBench.isStaticExecutable(directory + "/missing"))
        // This test process is a dynamically linked executable.
        #expect(!CNIAddBench.isStaticExecutable("/proc/self/exe"))
        #expect(CNIAddBench.linkageNote(directory + "/static") == "plugin: \(directory)/static (static)")
    }
}

/// `cnilab bench exec`: every stand-alone benchmark has a name, and an unknown one is refused.
struct ExternalBenchmarkTests {
    @Test func names() throws {
        #expect(ExternalBenchmark.all.map(\.name) == ["overlay", "calico-bgp", "calico-cni", "policy-agent", "policy-layers", "nftables"])
        #expect(try ExternalBenchmark.named("nftables").executable == "NftablesBenchmark")
        #expect(throws: LabError.self) { _ = try ExternalBenchmark.named("weave") }
    }
}
