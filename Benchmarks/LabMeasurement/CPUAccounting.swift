import Foundation

/// The machine's CPU time so far, from the `cpu` line of `/proc/stat` (every core, in clock
/// ticks): busy is user + nice + system + irq + softirq + steal; idle is idle + iowait.
public struct MachineCPUTimes: Sendable, Equatable {
    public var busyTicks: UInt64
    public var softirqTicks: UInt64
    public var idleTicks: UInt64

    public init(busyTicks: UInt64, softirqTicks: UInt64, idleTicks: UInt64) {
        self.busyTicks = busyTicks
        self.softirqTicks = softirqTicks
        self.idleTicks = idleTicks
    }

    /// The totals of `/proc/stat`'s first line (`cpu  user nice system idle iowait irq softirq
    /// steal …`); nil when the text has no such line.
    public static func parse(procStat text: String) -> MachineCPUTimes? {
        guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix("cpu ") }) else { return nil }
        let fields = line.split(separator: " ").dropFirst().compactMap { UInt64($0) }
        guard fields.count >= 7 else { return nil }
        let steal = fields.count > 7 ? fields[7] : 0
        let busy = fields[0] + fields[1] + fields[2] + fields[5] + fields[6] + steal
        return MachineCPUTimes(busyTicks: busy, softirqTicks: fields[6], idleTicks: fields[3] + fields[4])
    }

    /// The machine's times now.
    public static func now() -> MachineCPUTimes? {
        (try? String(contentsOfFile: "/proc/stat", encoding: .utf8)).flatMap { parse(procStat: $0) }
    }
}

/// CPU time of processes, from `/proc/PID/stat` (utime + stime, in clock ticks).
public enum ProcessCPUTime {
    /// utime + stime of one `/proc/PID/stat` text: fields 14 and 15, counted after the
    /// parenthesised command name (which may itself hold spaces or parentheses).
    public static func ticks(procPIDStat text: String) -> UInt64? {
        guard let close = text.lastIndex(of: ")") else { return nil }
        // After ")": state (field 3) … utime is field 14, stime 15 → indexes 11 and 12.
        let fields = text[text.index(after: close)...].split(separator: " ")
        guard fields.count > 12, let user = UInt64(fields[11]), let system = UInt64(fields[12]) else { return nil }
        return user + system
    }

    /// utime + stime of `pid` (all its threads); nil when it is gone.
    public static func ticks(of pid: Int32) -> UInt64? {
        (try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)).flatMap { ticks(procPIDStat: $0) }
    }

    /// The ticks of `roots` and all their descendants (an agent that supervises another counts
    /// with it); processes gone meanwhile count nothing.
    public static func treeTicks(roots: [Int32]) -> UInt64 {
        var seen: Set<Int32> = []
        var pending = roots
        var total: UInt64 = 0
        while let pid = pending.popLast() {
            guard seen.insert(pid).inserted else { continue }
            total += ticks(of: pid) ?? 0
            pending += ProcessTreeMemory.children(of: pid)
        }
        return total
    }

    /// Clock ticks per second (`sysconf(_SC_CLK_TCK)`, 100 on Linux).
    public static var ticksPerSecond: Double {
        let hertz = sysconf(Int32(_SC_CLK_TCK))
        return hertz > 0 ? Double(hertz) : 100
    }
}

/// The CPU one measured transfer cost, and the arithmetic of "CPU per Gbit/s" (pure).
///
/// CPU per Gbit/s is cores kept busy per Gbit/s of throughput, which is the same number as
/// CPU seconds spent per Gbit moved: `(cpuSeconds / t) / (gigabits / t) = cpuSeconds /
/// gigabits`. Three figures, all in CPU seconds per Gbit:
/// - **machine**: every core's busy time from `/proc/stat` over the transfer (includes whatever
///   else the machine runs: on a shared machine an upper bound);
/// - **softirq**: the machine's softirq time over the transfer (the kernel's packet processing
///   that runs outside any process; also machine-wide);
/// - **processes**: the data path's own processes: both iperf3 ends (their own
///   `cpu_utilization_percent`) plus the data path's daemons (wireguard-go, tincd, the agents),
///   each utime + stime from `/proc/PID/stat`; the kernel's work done in those processes'
///   system calls is in their stime.
public struct TransferCPU: Sendable, Equatable, Codable {
    /// Gigabits moved (received bytes × 8 / 10⁹).
    public var gigabits: Double
    public var machineSeconds: Double
    public var softirqSeconds: Double
    public var processSeconds: Double

    public init(gigabits: Double, machineSeconds: Double, softirqSeconds: Double, processSeconds: Double) {
        self.gigabits = gigabits
        self.machineSeconds = machineSeconds
        self.softirqSeconds = softirqSeconds
        self.processSeconds = processSeconds
    }

    /// The CPU between two samples: the machine's deltas, the daemons' tick delta and the
    /// iperf3 ends' CPU seconds, for `receivedBytes` moved.
    public init(
        receivedBytes: Double, machineBefore: MachineCPUTimes, machineAfter: MachineCPUTimes, daemonTicks: UInt64,
        iperfSeconds: Double, ticksPerSecond: Double
    ) {
        let delta = { (after: UInt64, before: UInt64) in after >= before ? Double(after - before) / ticksPerSecond : 0 }
        self.init(
            gigabits: receivedBytes * 8 / 1e9,
            machineSeconds: delta(machineAfter.busyTicks, machineBefore.busyTicks),
            softirqSeconds: delta(machineAfter.softirqTicks, machineBefore.softirqTicks),
            processSeconds: Double(daemonTicks) / ticksPerSecond + iperfSeconds)
    }

    public var machinePerGigabit: Double? { Self.perGigabit(machineSeconds, gigabits) }
    public var softirqPerGigabit: Double? { Self.perGigabit(softirqSeconds, gigabits) }
    public var processPerGigabit: Double? { Self.perGigabit(processSeconds, gigabits) }

    /// CPU seconds per Gbit (nil when nothing moved).
    public static func perGigabit(_ seconds: Double, _ gigabits: Double) -> Double? {
        gigabits > 0 ? seconds / gigabits : nil
    }

    /// The CPU seconds of both iperf3 ends from its JSON report: `cpu_utilization_percent`
    /// `host_total` and `remote_total` are each that end's utime + stime as a percentage of
    /// the test's duration.
    public static func iperfSeconds(hostPercent: Double, remotePercent: Double, durationSeconds: Double) -> Double {
        (hostPercent + remotePercent) / 100 * durationSeconds
    }
}
