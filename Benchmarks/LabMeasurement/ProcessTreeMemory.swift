import Foundation

/// The resident memory of a process and everything it started: an agent that supervises
/// another (swift-canald runs swift-flanneld) is measured with its children.
public enum ProcessTreeMemory {
    /// VmRSS (kernel's `/proc/PID/status`) of `root` plus every descendant, in KiB; nil when
    /// `root` is gone. Descendants come from each thread's `/proc/PID/task/TID/children`.
    public static func residentKibibytes(root: Int32) -> Double? {
        guard let rootSize = residentKibibytes(of: root) else { return nil }
        var total = rootSize
        var seen: Set<Int32> = [root]
        var pending = children(of: root)
        while let pid = pending.popLast() {
            guard seen.insert(pid).inserted else { continue }
            // A child that exited meanwhile counts nothing (zombies have no VmRSS line).
            total += residentKibibytes(of: pid) ?? 0
            pending += children(of: pid)
        }
        return total
    }

    /// VmRSS of one process in KiB; nil when it is gone or a zombie.
    public static func residentKibibytes(of pid: Int32) -> Double? {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
            let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") })
        else { return nil }
        return line.split(separator: " ").dropFirst().first.flatMap { Double($0) }
    }

    /// The direct children of `pid`, from every one of its threads (a child belongs to the
    /// thread that spawned it).
    public static func children(of pid: Int32) -> [Int32] {
        let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task")) ?? []
        return tasks.flatMap { task in
            ((try? String(contentsOfFile: "/proc/\(pid)/task/\(task)/children", encoding: .utf8)) ?? "")
                .split(whereSeparator: { $0 == " " || $0 == "\n" }).compactMap { Int32($0) }
        }
    }
}
