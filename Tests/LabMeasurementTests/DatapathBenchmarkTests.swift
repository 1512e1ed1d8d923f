import Foundation
import Lab
import LabMeasurement
import Testing

/// The pure pieces of `cnilab bench datapath`: the `--modes` list, the CPU accounting and the
/// report's medians and per-round ratios (no lab, no throughput assertions).
struct DatapathBenchmarkTests {
    @Test func modeList() throws {
        #expect(try DatapathMode.parseList(nil) == DatapathMode.allCases)
        #expect(try DatapathMode.parseList("  ") == DatapathMode.allCases)
        #expect(try DatapathMode.parseList(" weave-fast, vxlan ,weave-fast") == [.weaveFast, .vxlan])
        #expect(try DatapathMode.parseList("tinc,wireguard-go,weave-encrypted,weave-sleeve,flannel,flannel-baseline")
            == [.tinc, .wireguardGo, .weaveEncrypted, .weaveSleeve, .flannel, .flannelBaseline])
        #expect(throws: LabError.self) { _ = try DatapathMode.parseList("weave-fast,openvpn") }
        #expect(throws: LabError.self) { _ = try DatapathMode.parseList("weave-fast,,vxlan") }
        // The references and the labs: the hand-built paths share the reference lab.
        #expect(DatapathMode.weaveFast.reference == .vxlan && DatapathMode.weaveEncrypted.reference == .wireguardGo)
        #expect(DatapathMode.flannel.reference == .flannelBaseline && DatapathMode.tinc.reference == nil)
        #expect(Set([DatapathMode.vxlan, .wireguardGo, .tinc, .flannelBaseline].map(\.lab)) == [.reference])
        #expect(Set(DatapathLab.allCases.map(\.suffix)).count == DatapathLab.allCases.count)
    }

    @Test func machineAndProcessTimes() throws {
        let stat = "cpu  191869 7 29991 29775 854 3 225 545 0 0\ncpu0 94116 0 14668 17195 349 0 12 261 0 0\n"
        let machine = try #require(MachineCPUTimes.parse(procStat: stat))
        #expect(machine == MachineCPUTimes(busyTicks: 191869 + 7 + 29991 + 3 + 225 + 545, softirqTicks: 225, idleTicks: 29775 + 854))
        #expect(MachineCPUTimes.parse(procStat: "intr 1 2 3\n") == nil)
        #expect(MachineCPUTimes.parse(procStat: "cpu  1 2 3\n") == nil)
        // utime (14) and stime (15), counted after a command name with spaces and parentheses.
        let process = "1702 (tinc (d) x) S 1698 1698 16024 0 -1 4194304 101 0 0 0 250 40 0 0 20 0 1 0 126841 3133440 407"
        #expect(ProcessCPUTime.ticks(procPIDStat: process) == 290)
        #expect(ProcessCPUTime.ticks(procPIDStat: "1702 (cat) R 1") == nil)
        // This process is alive and has spent some CPU; a pid that does not exist counts nothing.
        #expect(ProcessCPUTime.ticks(of: getpid()) != nil)
        #expect(ProcessCPUTime.treeTicks(roots: [Int32.max]) == 0)
        #expect(MachineCPUTimes.now() != nil)
    }

    @Test func cpuPerGigabit() {
        // 2.5 GB received (20 Gbit) while the machine was busy 600 ticks (6 s at 100 Hz), 100 of
        // them softirq; the daemons spent 150 ticks and the iperf3 ends 80 % + 50 % of 4 s.
        let before = MachineCPUTimes(busyTicks: 1_000, softirqTicks: 10, idleTicks: 5_000)
        let after = MachineCPUTimes(busyTicks: 1_600, softirqTicks: 110, idleTicks: 5_200)
        let iperf = TransferCPU.iperfSeconds(hostPercent: 80, remotePercent: 50, durationSeconds: 4)
        #expect(abs(iperf - 5.2) < 1e-9)
        let cpu = TransferCPU(
            receivedBytes: 2.5e9, machineBefore: before, machineAfter: after, daemonTicks: 150, iperfSeconds: iperf, ticksPerSecond: 100)
        #expect(cpu.gigabits == 20 && cpu.machineSeconds == 6 && cpu.softirqSeconds == 1)
        #expect(abs(cpu.processSeconds - 6.7) < 1e-9)
        #expect(cpu.machinePerGigabit == 0.3 && cpu.softirqPerGigabit == 0.05)
        #expect(abs((cpu.processPerGigabit ?? 0) - 0.335) < 1e-9)
        // Nothing moved: no figure rather than infinity; counters that went backwards count 0.
        #expect(TransferCPU(gigabits: 0, machineSeconds: 1, softirqSeconds: 0, processSeconds: 0).machinePerGigabit == nil)
        let wrapped = TransferCPU(receivedBytes: 1e9, machineBefore: after, machineAfter: before, daemonTicks: 0, iperfSeconds: 0, ticksPerSecond: 100)
        #expect(wrapped.machineSeconds == 0 && wrapped.softirqSeconds == 0)
    }

    static func sample(_ round: Int, _ mode: DatapathMode, _ gbps: Double, rtt: Double = 0.1) -> DatapathSample {
        DatapathSample(
            round: round, mode: mode, podMTU: 1409, throughputGbps: gbps, roundTripMilliseconds: rtt,
            cpu: TransferCPU(gigabits: gbps * 3, machineSeconds: 3, softirqSeconds: 1, processSeconds: 2))
    }

    @Test func reportMediansAndRatios() throws {
        let samples = [
            Self.sample(1, .weaveFast, 9), Self.sample(1, .vxlan, 10), Self.sample(1, .weaveEncrypted, 0.5), Self.sample(1, .wireguardGo, 0.4),
            Self.sample(2, .weaveFast, 6), Self.sample(2, .vxlan, 5), Self.sample(2, .weaveEncrypted, 0.6), Self.sample(2, .wireguardGo, 0.3),
            Self.sample(3, .weaveFast, 10),  // vxlan failed in round 3: no ratio from it
        ]
        let report = DatapathReport(
            samples: samples, errors: ["round 3 vxlan: x"], modes: [.weaveFast, .vxlan, .weaveEncrypted, .wireguardGo, .tinc],
            rounds: 3, seconds: 3, pings: 20)
        #expect(report.median(.weaveFast) { $0.throughputGbps } == 9)
        #expect(report.median(.tinc) { $0.throughputGbps } == nil)
        // Per-round ratios 0.9 and 1.2: median 1.05 (the ratio of medians would be 9 / 7.5 = 1.2).
        let fast = try #require(report.ratio(.weaveFast, .vxlan) { $0.throughputGbps })
        #expect(abs(fast - 1.05) < 1e-9)
        let encrypted = try #require(report.ratio(.weaveEncrypted, .wireguardGo) { $0.throughputGbps })
        #expect(abs(encrypted - (1.25 + 2.0) / 2) < 1e-9)
        #expect(report.ratio(.weaveEncrypted, .tinc) { $0.throughputGbps } == nil)
        let metrics = Dictionary(uniqueKeysWithValues: report.document.metrics.map { ($0.name, $0) })
        #expect(metrics["weave_fast_tcp_throughput_gbps"]?.ours == 9 && metrics["weave_fast_tcp_throughput_gbps"]?.reference == 7.5)
        #expect(abs((metrics["ratio_weave_fast_vs_vxlan_tcp_throughput"]?.speedup ?? 0) - 1.05) < 1e-9)
        #expect(metrics["vxlan_tcp_throughput_gbps"]?.speedup == 1)
        #expect(metrics["tinc_tcp_throughput_gbps"] == nil && metrics["tcp_throughput_gbps"] == nil)
        let text = report.text
        #expect(text.contains("weave-fast ÷ vxlan: 1.050") && text.contains("round 3 vxlan: x"))
        #expect(DatapathReport.median([4, 1, 3, 2]) == 2.5 && DatapathReport.median([.nan]) == nil)
    }
}
