#if canImport(Glibc)
import Glibc
#endif
import ChildProcess
import Namespaces

/// A long-running process the lab started, identified by pid and by the command name the
/// kernel shows for it (`/proc/PID/comm`), so a recycled pid is never signalled.
struct ProcessRecord: Codable, Hashable, Sendable {
    var role: String
    var pid: Int32
    var comm: String
    var namespace: String
    var log: String
}

/// Starts processes inside lab namespaces and stops them by pid, never by name.
enum ProcessSupervisor {
    /// The name the kernel gives a process started from `executable` (its first 15 bytes).
    static func commandName(of executable: String) -> String {
        let base = executable.split(separator: "/").last.map(String.init) ?? executable
        return String(decoding: Array(base.utf8.prefix(15)), as: UTF8.self)
    }

    static func launch(
        role: String, executable: String, arguments: [String], in namespace: NetworkNamespace,
        namespaceName: String, log: String, environment: [String: String]? = nil
    ) throws(LabError) -> ProcessRecord {
        do {
            let process = try namespace.launchProcess(
                executable, arguments: arguments, environment: environment,
                standardOutput: .file(log), standardError: .file(log))
            let record = ProcessRecord(
                role: role, pid: process.pid, comm: commandName(of: executable), namespace: namespaceName, log: log)
            writePidFile(record)
            return record
        } catch let error as LabError {
            throw error
        } catch {
            throw LabError(.process, "cannot start \(role) \(executable) in \(namespaceName)", underlying: error)
        }
    }

    /// `<log without .log>.pid` holds `PID COMM`: a second record that survives a lost state file.
    static func pidFilePath(log: String) -> String {
        (log.hasSuffix(".log") ? String(log.dropLast(4)) : log) + ".pid"
    }

    static func writePidFile(_ record: ProcessRecord) {
        let path = pidFilePath(log: record.log)
        let text = Array("\(record.pid) \(record.comm)\n".utf8)
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { return }
        _ = text.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        close(fd)
    }

    /// The records of every pid file under `directory` (recursively).
    static func pidFiles(under directory: String) -> [ProcessRecord] {
        guard let directoryHandle = opendir(directory) else { return [] }
        defer { closedir(directoryHandle) }
        var records: [ProcessRecord] = []
        while let entry = readdir(directoryHandle) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(cString: raw.bindMemory(to: CChar.self).baseAddress!)
            }
            if name == "." || name == ".." { continue }
            let path = directory + "/" + name
            if entry.pointee.d_type == UInt8(DT_DIR) {
                records += pidFiles(under: path)
            } else if name.hasSuffix(".pid"), let text = read(path) {
                let fields = text.trimmingSuffixNewline.split(separator: " ", maxSplits: 1)
                if fields.count == 2, let pid = Int32(fields[0]) {
                    records.append(ProcessRecord(role: "pid file", pid: pid, comm: String(fields[1]), namespace: "", log: path))
                }
            }
        }
        return records
    }

    /// Whether the process still runs (a zombie does not count; a child of ours is reaped).
    /// A live child of ours is running whatever `/proc/PID/comm` says: its pid cannot be
    /// recycled before we reap it, and just after a spawn the kernel may release the parent
    /// before the child's exec has set the new name. Other processes (a record another cnilab
    /// left) must still show the recorded name.
    static func isRunning(_ record: ProcessRecord) -> Bool {
        var status: Int32 = 0
        switch waitpid(record.pid, &status, WNOHANG) {
        case record.pid: return false
        case 0: return true
        default: break
        }
        guard let comm = read("/proc/\(record.pid)/comm"), comm.trimmingSuffixNewline == record.comm else { return false }
        guard let stat = read("/proc/\(record.pid)/stat"), let close = stat.lastIndex(of: ")") else { return false }
        let state = stat[stat.index(after: close)...].trimmingLeadingSpaces.first
        return state != "Z" && state != "X"
    }

    /// SIGTERM (or `signal`), then SIGKILL after `graceMilliseconds`. Returns once it is gone.
    @discardableResult
    static func stop(_ record: ProcessRecord, signal first: Int32 = SIGTERM, graceMilliseconds: Int = 5_000) -> Bool {
        guard isRunning(record) else { return false }
        kill(record.pid, first)
        var waited = 0
        var killed = first == SIGKILL
        while isRunning(record) {
            if !killed && waited >= graceMilliseconds {
                kill(record.pid, SIGKILL)
                killed = true
                waited = 0
            } else if killed && waited >= 3_000 {
                break
            }
            usleep(10_000)
            waited += 10
        }
        return true
    }

    /// Kills every process whose network namespace is `namespace` (found through
    /// `/proc/PID/ns/net`): after a crash these are the lab's own leftovers. Those that are
    /// this process's children are reaped too (for up to 2 s): a zombie's `/proc/PID/ns/net`
    /// is gone, so the scan no longer finds it, and without the wait it would stay a zombie
    /// for as long as this process lives.
    static func killAll(in namespace: NetworkNamespace) {
        var killed: Set<Int32> = []
        for _ in 0..<50 {
            let pids = processes(inNamespaceWithInode: namespace.inode)
            for pid in pids {
                kill(pid, SIGKILL)
                killed.insert(pid)
            }
            reap(&killed)
            if pids.isEmpty { break }
            usleep(20_000)
        }
        for _ in 0..<200 where !killed.isEmpty {
            usleep(10_000)
            reap(&killed)
        }
    }

    /// Removes from `pids` every process that is gone: reaped now (a child of ours) or not ours
    /// to reap (`ECHILD`).
    static func reap(_ pids: inout Set<Int32>) {
        for pid in pids {
            var status: Int32 = 0
            let result = waitpid(pid, &status, WNOHANG)
            if result == pid || (result == -1 && errno == ECHILD) { pids.remove(pid) }
        }
    }

    static func processes(inNamespaceWithInode inode: UInt64) -> [Int32] {
        guard let directory = opendir("/proc") else { return [] }
        defer { closedir(directory) }
        var result: [Int32] = []
        let own = getpid()
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(cString: raw.bindMemory(to: CChar.self).baseAddress!)
            }
            guard let pid = Int32(name), pid != own else { continue }
            var info = stat()
            guard stat("/proc/\(pid)/ns/net", &info) == 0, UInt64(info.st_ino) == inode else { continue }
            if let stat = read("/proc/\(pid)/stat"), let close = stat.lastIndex(of: ")"),
                stat[stat.index(after: close)...].trimmingLeadingSpaces.first == "Z"
            {
                var status: Int32 = 0
                _ = waitpid(pid, &status, WNOHANG)
                continue
            }
            result.append(pid)
        }
        return result
    }

    static func read(_ path: String) -> String? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if count <= 0 { break }
            bytes.append(contentsOf: buffer[0..<count])
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}

extension StringProtocol {
    var trimmingSuffixNewline: String {
        var text = String(self)
        while text.last == "\n" { text.removeLast() }
        return text
    }
    var trimmingLeadingSpaces: Substring {
        let string = Substring(self)
        return string.drop { $0 == " " }
    }
}
