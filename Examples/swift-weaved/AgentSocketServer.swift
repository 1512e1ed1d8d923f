#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import Foundation
import Synchronization
import Weave

/// The agent's side of the local socket: a dedicated thread accepts connections and reads each
/// request (bounded in size and time); the answer is computed by `handler` in a task and written
/// back. A malformed request is answered with an error, never a crash.
final class AgentSocketServer: Sendable {
    typealias Handler = @Sendable (WeaveAgentRequest) async -> WeaveAgentResponse

    let path: String
    private let handler: Handler
    private let listener = Mutex<Int32>(-1)
    private let finished = DispatchSemaphore(value: 0)

    init(path: String, handler: @escaping Handler) {
        self.path = path
        self.handler = handler
    }

    /// Creates the socket (its directory too) and starts accepting.
    func start() throws(WeaveError) {
        let directory = (path as NSString).deletingLastPathComponent
        if !directory.isEmpty { try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true) }
        let descriptor = try UnixSocket.listen(path)
        listener.withLock { $0 = descriptor }
        let thread = Thread { [self] in
            acceptLoop(descriptor)
            close(descriptor)
            finished.signal()
        }
        thread.name = "weave-socket"
        thread.start()
    }

    /// Stops accepting and removes the socket file (answers in flight still complete).
    func stop() {
        let descriptor = listener.withLock { descriptor in
            defer { descriptor = -1 }
            return descriptor
        }
        guard descriptor >= 0 else { return }
        shutdown(descriptor, Int32(SHUT_RDWR))
        finished.wait()
        unlink(path)
    }

    private func acceptLoop(_ descriptor: Int32) {
        while true {
            let connection = accept(descriptor, nil, nil)
            if connection < 0 {
                if errno == EINTR || errno == ECONNABORTED { continue }
                if errno == EMFILE || errno == ENFILE {
                    usleep(100_000)
                    continue
                }
                return  // shut down
            }
            _ = fcntl(connection, F_SETFD, FD_CLOEXEC)
            UnixSocket.setTimeout(connection, seconds: 5)
            let request: Result<WeaveAgentRequest, WeaveError>
            do throws(WeaveError) {
                let bytes = try UnixSocket.readMessage(connection, limit: 1 << 20, what: "request")
                request = .success(try WeaveAgentCoding.decode(WeaveAgentRequest.self, bytes))
            } catch {
                request = .failure(error)
            }
            let handler = self.handler
            Task {
                let response: WeaveAgentResponse
                switch request {
                case .success(let request): response = await handler(request)
                case .failure(let error): response = .failure(error.message)
                }
                // The answer to a large status can take a while: a slow reader gets 60 s.
                UnixSocket.setTimeout(connection, seconds: 60)
                if let bytes = try? WeaveAgentCoding.encode(response) {
                    try? UnixSocket.writeMessage(connection, bytes, what: "answer")
                }
                close(connection)
            }
        }
    }
}
