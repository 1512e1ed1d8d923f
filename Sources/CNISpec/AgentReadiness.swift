#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
internal import SystemSupport

/// A node agent's readiness as its CNI plugin's STATUS reads it: a small JSON file the agent
/// writes atomically (``publish(to:)``) whenever its readiness changes and removes on a clean
/// stop (``withdraw(from:)``). A plugin checks it in microseconds (``check(path:agent:)``), as
/// STATUS is polled every few seconds by containerd and CRI-O: the file must exist, name a
/// process that is still alive (its pid *and* its start time, so a reused pid or a zombie left
/// by a SIGKILL is not mistaken for the agent), and say ready.
///
/// ```json
/// {"agent":"swift-flanneld","pid":4242,"startTime":1234567,"ready":true,"detail":"subnet 10.244.1.0/24"}
/// ```
///
/// `limited` marks an agent that runs but whose connectivity is degraded (STATUS code 51).
public struct AgentReadiness: Codable, Hashable, Sendable {
    /// The agent's name (`swift-flanneld`), quoted in STATUS messages.
    public var agent: String
    /// The agent's process.
    public var pid: Int32
    /// The process's start time (`/proc/PID/stat` field 22, clock ticks since boot).
    public var startTime: UInt64
    /// Whether the agent has configured the node for pods.
    public var ready: Bool
    /// Running but with limited connectivity (STATUS code 51 rather than success).
    public var limited: Bool?
    /// Why it is (not) ready, for people.
    public var detail: String
    /// The MTU the agent worked out for its node's pods (the underlay interface's MTU minus
    /// the encapsulation's overhead), for a plugin whose configuration gives none, as Calico's
    /// node leaves `/var/lib/calico/mtu` for its plugin. Nil: the agent does not say.
    public var podMTU: Int?

    public init(agent: String, pid: Int32, startTime: UInt64, ready: Bool, limited: Bool? = nil, detail: String) {
        self.agent = agent
        self.pid = pid
        self.startTime = startTime
        self.ready = ready
        self.limited = limited
        self.detail = detail
    }

    /// The readiness of the calling process.
    public static func current(agent: String, ready: Bool, limited: Bool? = nil, detail: String) throws(CNIError) -> AgentReadiness {
        let pid = getpid()
        guard let process = ProcessIdentity(pid: pid) else {
            throw CNIError(.ioFailure, "cannot read /proc/\(pid)/stat for the readiness of \(agent)")
        }
        return AgentReadiness(agent: agent, pid: pid, startTime: process.startTime, ready: ready, limited: limited, detail: detail)
    }

    /// Writes the record to `path` atomically (its directory is created), mode 0644.
    public func publish(to path: String) throws(CNIError) {
        let directory = Self.directory(of: path)
        do {
            try SystemFile.makeDirectories(directory)
            try SystemFile.writeAtomically(try CNIJSON.encode(self), to: path, directory: directory, synchronous: false)
        } catch let error as CNIError {
            throw error
        } catch {
            throw CNIError(.ioFailure, "cannot write the readiness file \(path) of \(agent)", details: "\(error)")
        }
    }

    /// Removes `path` when it is this record's (another process's file is left alone).
    public func withdraw(from path: String) {
        guard let bytes = try? SystemFile.readIfPresent(path), let existing = try? CNIJSON.decode(Self.self, from: bytes),
            existing.pid == pid, existing.startTime == startTime
        else { return }
        unlink(path)
    }

    /// The record at `path`; nil when there is none; a file that is not one is an error naming it.
    public static func read(path: String) throws(CNIError) -> AgentReadiness? {
        let bytes: [UInt8]
        do {
            guard let read = try SystemFile.readIfPresent(path, chunkSize: 4096) else { return nil }
            bytes = read
        } catch {
            throw CNIError(.ioFailure, "cannot read the readiness file \(path)", details: "\(error)")
        }
        do { return try CNIJSON.decode(Self.self, from: bytes) } catch {
            throw CNIError(.decodingFailure, "the readiness file \(path) is not an agent readiness record", details: error.message)
        }
    }

    /// Whether the process the record names is still that process (same pid, same start time,
    /// not a zombie).
    public var isAlive: Bool {
        guard let process = ProcessIdentity(pid: pid) else { return false }
        return process.startTime == startTime && !process.isZombie
    }

    /// STATUS: succeeds when `agent`'s record at `path` names a live process that is ready;
    /// otherwise code 50 (plugin not available) saying why — no file (the agent never started
    /// or stopped cleanly), a dead or replaced process (it crashed), not ready yet, a corrupt
    /// file — or code 51 (limited connectivity) when the agent says so.
    public static func check(path: String, agent: String) throws(CNIError) {
        let record: AgentReadiness?
        do { record = try read(path: path) } catch {
            throw CNIError(.pluginNotAvailable, "\(agent) readiness unknown: \(error.message)", details: error.details)
        }
        guard let record else {
            throw CNIError(.pluginNotAvailable, "\(agent) is not running on this node (no readiness file \(path))")
        }
        guard record.isAlive else {
            throw CNIError(
                .pluginNotAvailable,
                "\(record.agent) (pid \(record.pid)) is no longer running; its readiness file \(path) is stale")
        }
        guard record.ready else {
            throw CNIError(.pluginNotAvailable, "\(record.agent) has not configured this node yet: \(record.detail)")
        }
        if record.limited == true {
            throw CNIError(.limitedConnectivity, "\(record.agent) has limited connectivity: \(record.detail)")
        }
    }

    /// `path`'s directory (`.` for a bare name).
    static func directory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }

    /// The default readiness path of an agent that already shares a file or socket with its
    /// plugin (flannel's subnet.env, weave's socket): that path + `.ready`, or +
    /// `.<agent>.ready` for a second agent beside the first. Two nodes on one machine with
    /// their own subnet.env get their own readiness files.
    public static func path(beside path: String, agent: String? = nil) -> String {
        path + (agent.map { "." + $0 } ?? "") + ".ready"
    }
}

/// What `/proc/PID/stat` says of a process: its start time and whether it is a zombie.
struct ProcessIdentity {
    var startTime: UInt64
    var isZombie: Bool

    init?(pid: Int32) {
        guard pid > 0, let bytes = try? SystemFile.read("/proc/\(pid)/stat", chunkSize: 1024) else { return nil }
        // `pid (comm) state ppid …`: comm may hold spaces and parentheses; the fields after the
        // last `)` start with the state (field 3); the start time is field 22.
        guard let close = bytes.lastIndex(of: UInt8(ascii: ")")) else { return nil }
        let fields = bytes[(close + 1)...].split(separator: UInt8(ascii: " "))
        guard fields.count > 19, let start = UInt64(String(decoding: fields[19], as: UTF8.self)) else { return nil }
        startTime = start
        isZombie = fields[0].first == UInt8(ascii: "Z") || fields[0].first == UInt8(ascii: "X")
    }
}
