#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A child started with ``ChildProcess/launch(_:arguments:environment:standardOutput:standardError:)``.
///
/// Holds only the pid, so it is a plain value; waiting reaps the child once.
public struct RunningProcess: Hashable, Sendable {
    public let pid: Int32
    public let executable: String

    public init(pid: Int32, executable: String) {
        self.pid = pid
        self.executable = executable
    }

    /// Sends `signal` (SIGTERM by default). Returns false when the process is gone.
    @discardableResult
    public func signal(_ signal: Int32 = SIGTERM) -> Bool { kill(pid, signal) == 0 }

    /// Blocks until the child exits and reaps it.
    public func wait() throws(ChildProcessError) -> ExitStatus {
        try ChildProcess.waitFor(pid, executable: executable)
    }

    /// Reaps the child if it has exited; nil while it runs.
    public func poll() -> ExitStatus? {
        var status: Int32 = 0
        let result = waitpid(pid, &status, WNOHANG)
        return result == pid ? ExitStatus(waitStatus: status) : nil
    }

    /// SIGTERM, up to `graceMilliseconds` for it to exit, then SIGKILL; reaps the child.
    @discardableResult
    public func terminate(graceMilliseconds: Int = 5000) -> ExitStatus? {
        guard signal(SIGTERM) else { return poll() }
        let deadline = monotonicMilliseconds() + graceMilliseconds
        while monotonicMilliseconds() < deadline {
            if let status = poll() { return status }
            usleep(10_000)
        }
        kill(pid, SIGKILL)
        return try? wait()
    }
}
