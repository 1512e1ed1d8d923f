import ChildProcess
import Foundation
import Logging
import ServiceLifecycle

#if canImport(Glibc)
import Glibc
#endif

/// swift-flanneld as a supervised child: started with the agent, its stderr shared, SIGTERM
/// (then SIGKILL after 5 s) on shutdown. It exiting on its own ends the agent (the overlay is
/// gone: a supervisor restarts both). It dies with the agent too, even when the agent is killed
/// with SIGKILL: it gets `--parent-pid` and asks the kernel for SIGTERM when its parent dies.
struct FlannelProcess: Service {
    struct Exited: Error, CustomStringConvertible {
        var status: ExitStatus
        var description: String { "swift-flanneld exited: \(status)" }
    }

    let executable: String
    let arguments: [String]
    let logger: Logger

    func run() async throws {
        let release = DispatchSemaphore(value: 0)
        defer { release.signal() }
        let process = try await Self.launchFromOwnThread(
            executable, arguments: arguments + ["--parent-pid", String(getpid())], release: release)
        logger.info("started swift-flanneld", metadata: ["pid": "\(process.pid)"])
        let status: ExitStatus? = await withGracefulShutdownHandler {
            while !Task.isCancelled && !Task.isShuttingDownGracefully {
                if let status = process.poll() { return status }
                try? await Task.sleep(for: .milliseconds(200))
            }
            return nil
        } onGracefulShutdown: {}
        if let status { throw Exited(status: status) }
        _ = process.terminate(graceMilliseconds: 5000)
        logger.info("stopped swift-flanneld")
    }

    /// Spawns the child from a new thread that then waits for `release`. The kernel's
    /// parent-death signal follows the thread that spawned a child, not its process, and the
    /// threads of Swift's concurrency pool may exit while the agent runs: this one stays until
    /// the child has been reaped (`release` is signalled after that).
    static func launchFromOwnThread(
        _ executable: String, arguments: [String], release: DispatchSemaphore
    ) async throws -> RunningProcess {
        try await withCheckedThrowingContinuation { continuation in
            let thread = Thread {
                do {
                    continuation.resume(returning: try ChildProcess.launch(executable, arguments: arguments, standardError: .inherit))
                } catch {
                    continuation.resume(throwing: error)
                    return
                }
                release.wait()
            }
            thread.name = "flanneld-parent"
            thread.start()
        }
    }
}
