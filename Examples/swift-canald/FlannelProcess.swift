import ChildProcess
import Logging
import ServiceLifecycle

#if canImport(Glibc)
import Glibc
#endif

/// swift-flanneld as a supervised child: started with the agent, its stderr shared, SIGTERM
/// (then SIGKILL after 5 s) on shutdown. It exiting on its own ends the agent (the overlay is
/// gone: a supervisor restarts both).
struct FlannelProcess: Service {
    struct Exited: Error, CustomStringConvertible {
        var status: ExitStatus
        var description: String { "swift-flanneld exited: \(status)" }
    }

    let executable: String
    let arguments: [String]
    let logger: Logger

    func run() async throws {
        let process = try ChildProcess.launch(executable, arguments: arguments, standardError: .inherit)
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
}
