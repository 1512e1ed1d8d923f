import Datastore
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// A TCP server on 127.0.0.1 that misbehaves on purpose (never answers, closes or resets in the
/// middle of a response, trickles bytes), one thread per connection, to prove the etcd client
/// gives up in bounded time whatever a server does. Everything is closed by ``stop()``.
final class ScriptedServer: Sendable {
    enum Behaviour: Sendable {
        /// Reads the request, then never answers (the connection stays open).
        case silent
        /// Sends a head announcing 100 bytes of body, 10 of them, then closes.
        case closeMidBody
        /// Like ``closeMidBody`` but resets the connection (RST) instead of closing it.
        case resetMidBody
        /// Sends a chunked head, then one byte of a never-ending chunk every 50 ms.
        case trickle
        /// Sends a chunked head (a stream), then nothing.
        case streamThenSilence
        /// Answers every request with an empty range response on a kept-alive connection, until
        /// ``closeConnections()``.
        case answerKeepingAlive
        /// Answers the first request of each connection (kept alive) and closes the connection,
        /// unanswered, when a second request arrives on it: a server hanging up just as a
        /// kept connection is used.
        case answerOnceThenDropNext
    }

    let port: Int
    private let listener: Int32
    private let behaviour: Behaviour
    private let state = Mutex<(connections: [Int32], accepted: Int, stopped: Bool)>(([], 0, false))

    var endpoint: HTTPEndpoint { HTTPEndpoint(host: "127.0.0.1", port: port) }
    var acceptedConnections: Int { state.withLock { $0.accepted } }

    init(_ behaviour: Behaviour) throws {
        self.behaviour = behaviour
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        guard fd >= 0, bound, listen(fd, 16) == 0 else {
            if fd >= 0 { close(fd) }
            throw DatastoreError(.unavailable, "test server: cannot listen", errno: errno)
        }
        listener = fd
        port = Int(UInt16(bigEndian: address.sin_port))
        let server = self
        Self.spawn { server.acceptLoop() }
    }

    /// Closes every accepted connection (the server hangs up on idle kept-alive connections);
    /// the listener stays.
    func closeConnections() {
        let connections = state.withLock { $0.connections }
        for fd in connections { shutdown(fd, Int32(SHUT_RDWR)) }
    }

    /// Closes the listener and every connection (their threads then end).
    func stop() {
        let connections = state.withLock { state in
            state.stopped = true
            defer { state.connections = [] }
            return state.connections
        }
        shutdown(listener, Int32(SHUT_RDWR))
        for fd in connections { shutdown(fd, Int32(SHUT_RDWR)) }
    }

    deinit { close(listener) }

    private func acceptLoop() {
        while true {
            let fd = accept(listener, nil, nil)
            if fd < 0 {
                if errno == EINTR { continue }
                return
            }
            let accepted = state.withLock { state -> Bool in
                guard !state.stopped else { return false }
                state.connections.append(fd)
                state.accepted += 1
                return true
            }
            guard accepted else {
                close(fd)
                return
            }
            let server = self
            Self.spawn { server.serve(fd) }
        }
    }

    private func serve(_ fd: Int32) {
        defer {
            state.withLock { $0.connections.removeAll { $0 == fd } }
            close(fd)
        }
        switch behaviour {
        case .answerKeepingAlive, .answerOnceThenDropNext:
            return serveKeptAlive(fd)
        default: break
        }
        // The request: headers and a small JSON body, enough to know it arrived.
        var request: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while !request.contains(UInt8(ascii: "}")) {
            let count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            guard count > 0 else { return }
            request += chunk[0..<count]
        }
        switch behaviour {
        case .silent:
            waitForClose(fd)
        case .closeMidBody, .resetMidBody:
            send(fd, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"header\":")
            if case .resetMidBody = behaviour {
                var linger = Glibc.linger(l_onoff: 1, l_linger: 0)
                setsockopt(fd, SOL_SOCKET, SO_LINGER, &linger, socklen_t(MemoryLayout<Glibc.linger>.size))
            }
        case .trickle:
            send(fd, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nfffff\r\n")
            while send(fd, "{") {
                usleep(50_000)
                if state.withLock({ $0.stopped }) { return }
            }
        case .streamThenSilence:
            send(fd, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
            waitForClose(fd)
        case .answerKeepingAlive, .answerOnceThenDropNext:
            break
        }
    }

    /// Requests framed by Content-Length, one after another on the connection.
    private func serveKeptAlive(_ fd: Int32) {
        var pending: [UInt8] = []
        var answered = 0
        while let _ = readRequest(fd, &pending) {
            if case .answerOnceThenDropNext = behaviour, answered == 1 { return }
            let body = #"{"header":{"revision":"1"},"count":"0"}"#
            guard send(fd, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)")
            else { return }
            answered += 1
        }
    }

    /// The next request's head and body (by its Content-Length); nil when the client closed.
    private func readRequest(_ fd: Int32, _ pending: inout [UInt8]) -> [UInt8]? {
        let separator = Array("\r\n\r\n".utf8)
        var chunk = [UInt8](repeating: 0, count: 4096)
        func receive() -> Bool {
            let count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            guard count > 0 else { return false }
            pending += chunk[0..<count]
            return true
        }
        while true {
            if let end = pending.indices.first(where: { pending[$0...].starts(with: separator) }) {
                let head = String(decoding: pending[..<end], as: UTF8.self).lowercased()
                let length = head.split(separator: "\r\n").first { $0.hasPrefix("content-length:") }
                    .flatMap { Int(String($0.dropFirst("content-length:".count)).filter { $0 != " " }) } ?? 0
                let total = end + separator.count + length
                while pending.count < total { guard receive() else { return nil } }
                let request = Array(pending[..<total])
                pending.removeFirst(total)
                return request
            }
            guard receive() else { return nil }
        }
    }

    /// Blocks until the client closes or ``stop()`` shuts the connection down.
    private func waitForClose(_ fd: Int32) {
        var byte: UInt8 = 0
        while recv(fd, &byte, 1, 0) > 0 {}
    }

    @discardableResult
    private func send(_ fd: Int32, _ text: String) -> Bool {
        let bytes = Array(text.utf8)
        return bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) } == bytes.count
    }

    private static func spawn(_ body: @escaping @Sendable () -> Void) {
        final class Box { let body: @Sendable () -> Void; init(_ body: @escaping @Sendable () -> Void) { self.body = body } }
        var thread = pthread_t()
        let box = Unmanaged.passRetained(Box(body)).toOpaque()
        if pthread_create(&thread, nil, { raw in
            Unmanaged<Box>.fromOpaque(raw!).takeRetainedValue().body()
            return nil
        }, box) == 0 {
            pthread_detach(thread)
        } else {
            Unmanaged<Box>.fromOpaque(box).release()
        }
    }
}
