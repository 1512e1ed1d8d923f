// The mesh benchmark behind `cnilab bench mesh` (see Documentation/Performance-Mesh.md): N
// MeshRouters in one process on loopback, each dialing a few others (a ring plus random
// chords), measured for convergence time, gossip bytes per topology change and resident
// memory; plus the same change in the gossip engine's pure simulation. Needs no root.
#if canImport(Glibc)
import Glibc
#endif
import Mesh
import NIOCore
import NIOPosix

/// Runs the benchmark. Progress lines go to `log`; nothing is printed.
public enum MeshBenchmark {
    public struct Options: Sendable {
        /// Mesh sizes, one row each.
        public var peerCounts = [100, 300]
        /// Connections each peer dials (the first to the next peer on a ring, the others random).
        public var dialsPerPeer = 3
        /// Loopback address every peer listens on (port 0: the kernel picks one per peer).
        public var address = "127.0.0.1"
        /// Also measure the change in the gossip engine's simulation (no sockets).
        public var simulation = true
        /// Give up on convergence after this long.
        public var timeout: Duration = .seconds(120)
        public var seed: UInt64 = 1
        /// After the change, leave the converged mesh idle this long and measure its resident
        /// memory and CPU use (zero: not measured).
        public var idle: Duration = .zero

        public init() {}
    }

    /// One measured mesh.
    public struct Row: Sendable, Codable {
        /// "runtime" (MeshRouters over TCP on loopback) or "simulation" (engines, no sockets).
        public var kind: String
        public var peers: Int
        public var connections: Int
        /// From the first dial until every peer has a route to every other (runtime); the
        /// simulation's cold start wall time (simulation).
        public var convergenceMilliseconds: Double
        /// Gossip bytes network-wide caused by adding one connection to the converged mesh.
        public var changeBytes: Int
        public var changeMessages: Int
        /// The whole topology encoded once: what a full-state gossip would send per message.
        public var fullTopologyBytes: Int
        /// Resident memory of the process after convergence (runtime only; 0 for the simulation).
        public var residentMiB: Double
        /// Resident memory of the process before the first dial, the routers created and
        /// listening (runtime only): what the host binary and earlier rows hold, so that
        /// ``residentMiB`` minus this is what the converged mesh adds.
        public var residentBeforeDialingMiB: Double = 0
        /// Peers whose next hops differ from an independent BFS (0 when correct).
        public var wrongRoutes: Int
        /// Resident memory at the end of the idle period (``Options/idle``; nil: not measured).
        public var idleResidentMiB: Double? = nil
        /// CPU time of the whole process during the idle period, in percent of one core.
        public var idleCPUPercent: Double? = nil
    }

    public struct Report: Sendable, Codable {
        public var rows: [Row]
    }

    public static func run(_ options: Options, log: @escaping @Sendable (String) -> Void = { _ in }) async throws -> Report {
        try raiseOpenFileLimit(to: max(4096, (options.peerCounts.max() ?? 0) * (options.dialsPerPeer * 2 + 2) * 2))
        var rows: [Row] = []
        for count in options.peerCounts {
            let row = try await runtimeRow(peers: count, options: options, log: log)
            log("runtime \(count) peers: converged in \(Int(row.convergenceMilliseconds)) ms, change \(row.changeBytes) B, \(oneDecimal(row.residentMiB)) MiB")
            if let idleResident = row.idleResidentMiB, let idleCPU = row.idleCPUPercent {
                log("runtime \(count) peers: idle \(options.idle): \(oneDecimal(idleResident)) MiB resident, \(oneDecimal(idleCPU)) % of one core")
            }
            rows.append(row)
            if options.simulation {
                let simulated = try simulationRow(peers: count, options: options)
                log("simulation \(count) peers: change \(simulated.changeBytes) B")
                rows.append(simulated)
            }
        }
        return Report(rows: rows)
    }

    // MARK: - The simulation row

    static func simulationRow(peers: Int, options: Options) throws -> Row {
        let degree = options.dialsPerPeer * 2
        let cold = try MeshSimulation.measureColdStart(peerCount: peers, shape: .random(degree: degree), seed: options.seed)
        let change = try MeshSimulation.measureConnectionChange(peerCount: peers, shape: .random(degree: degree), seed: options.seed)
        var simulation = MeshSimulation(peerCount: peers, seed: options.seed, distinctShortIDs: true)
        simulation.bootstrap(.random(degree: degree), seed: options.seed)
        let full = GossipMessage(entries: Array(simulation.engines.values.first!.entries.values))
        return Row(
            kind: "simulation", peers: peers, connections: change.linkCount,
            convergenceMilliseconds: milliseconds(cold.elapsed), changeBytes: change.traffic.bytes,
            changeMessages: change.traffic.messages, fullTopologyBytes: full.encodedSize, residentMiB: 0,
            wrongRoutes: change.converged ? 0 : -1)
    }

    // MARK: - Helpers

    static func oneDecimal(_ value: Double) -> String {
        let tenths = Int((value * 10).rounded())
        return "\(tenths / 10).\(tenths % 10)"
    }

    static func milliseconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) * 1000 + Double(duration.components.attoseconds) / 1e15
    }

    /// Resident set size of this process, from /proc/self/statm (pages; second field).
    static func residentMiB() -> Double {
        guard let file = fopen("/proc/self/statm", "r") else { return 0 }
        defer { fclose(file) }
        var buffer = [CChar](repeating: 0, count: 256)
        guard fgets(&buffer, Int32(buffer.count), file) != nil else { return 0 }
        let fields = String(cString: buffer).split(separator: " ")
        guard fields.count >= 2, let pages = Int(fields[1]) else { return 0 }
        return Double(pages * Int(sysconf(Int32(_SC_PAGESIZE)))) / 1_048_576
    }

    /// CPU time (user + system) this process has used so far.
    static func processCPUTime() -> Duration {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        let microseconds = (Int64(usage.ru_utime.tv_sec) + Int64(usage.ru_stime.tv_sec)) * 1_000_000
            + Int64(usage.ru_utime.tv_usec) + Int64(usage.ru_stime.tv_usec)
        return .microseconds(microseconds)
    }

    /// Each connection costs two descriptors in one process (both ends): raise the soft limit.
    static func raiseOpenFileLimit(to wanted: Int) throws {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return }
        let target = rlim_t(wanted)
        guard limit.rlim_cur < target else { return }
        limit.rlim_cur = min(target, limit.rlim_max)
        guard setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else {
            throw MeshBenchmarkError(description: "cannot raise the open file limit to \(wanted) (hard limit \(limit.rlim_max))")
        }
    }
}

struct MeshBenchmarkError: Error, CustomStringConvertible {
    var description: String
}

extension MeshBenchmark {
    /// The report as a text table (what `cnilab bench mesh` prints).
    public static func table(_ report: Report) -> String {
        func cell(_ text: String, _ width: Int) -> String {
            text.count >= width ? text + " " : text + String(repeating: " ", count: width - text.count)
        }
        var lines = [
            cell("kind", 12) + cell("peers", 7) + cell("links", 7) + cell("converge ms", 13) + cell("change B", 10)
                + cell("change msgs", 13) + cell("full topo B", 13) + cell("RSS MiB", 9) + cell("mesh MiB", 10) + "wrong routes"
        ]
        for row in report.rows {
            lines.append(
                cell(row.kind, 12) + cell(String(row.peers), 7) + cell(String(row.connections), 7)
                    + cell(String(Int(row.convergenceMilliseconds.rounded())), 13) + cell(String(row.changeBytes), 10)
                    + cell(String(row.changeMessages), 13) + cell(String(row.fullTopologyBytes), 13)
                    + cell(row.kind == "runtime" ? String(Int(row.residentMiB.rounded())) : "-", 9)
                    + cell(row.kind == "runtime" ? String(Int((row.residentMiB - row.residentBeforeDialingMiB).rounded())) : "-", 10)
                    + String(row.wrongRoutes))
        }
        return lines.joined(separator: "\n")
    }
}
