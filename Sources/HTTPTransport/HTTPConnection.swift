#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
internal import SystemSupport

/// A minimal blocking HTTP/1.1 client on POSIX sockets, shared by etcd's JSON gateway (the
/// Datastore) and a plugin's reads of the Kubernetes API (KubernetesCore): one request per
/// connection (`Connection: close`) unless the caller asks to keep it alive and then
/// ``reuse(timeoutMilliseconds:)``s it, responses with Content-Length, chunked encoding or
/// read-to-end. It keeps plugin binaries free of an HTTP stack. An `https://` endpoint runs the
/// same exchange over TLS (OpenSSL, ``TLSContext``); a plain one never touches OpenSSL.
///
/// Blocking I/O, always bounded: the connect by the timeout, and the whole exchange (sending
/// the request and receiving the entire response) by a deadline one timeout after the
/// connection is up, however slowly the server trickles bytes. Only a watch stream lifts the
/// deadline (the Datastore's etcd watch), and relies on connection closure, TCP keep-alive and cancellation
/// instead. Callers run it on a thread they may block, never on the Swift concurrency pool.
///
/// ```swift
/// let context = try TLSContext(TLSConfiguration(certificateAuthority: .file("/etc/kubernetes/ca.crt")))
/// var connection = try HTTPConnection(endpoint: HTTPEndpoint(parsing: "https://10.0.0.1:6443"),
///                                     timeoutMilliseconds: 3000, tls: context)
/// try connection.send(method: "GET", path: "/version", headers: [("Accept", "application/json")])
/// let head = try connection.readHead()
/// let body = try connection.readBody(head)
/// ```
public struct HTTPConnection: ~Copyable {
    public let endpoint: HTTPEndpoint
    private let descriptor: Int32
    private let tls: TLSSession?
    private var buffer: [UInt8] = []
    private var position = 0
    private var finished = false
    /// Responses begun on this connection (a kept-alive one carries several).
    private var responses = 0
    /// The last request asked the server to keep the connection open.
    private var keepAliveRequested = false
    /// The last response was read completely and the server keeps the connection open.
    private var responseCompleteAndPersistent = false
    /// When the exchange must be over (monotonic milliseconds); nil for a stream.
    public private(set) var deadline: Int64?

    /// Whether the request could have reached the server (false: it certainly did not).
    public enum Stage: Sendable { case connecting, exchanging }

    /// A failed connection or exchange, and whether the request could have reached the server.
    public struct Failure: Error, Sendable {
        public var stage: Stage
        public var error: HTTPTransportError
        public init(stage: Stage, error: HTTPTransportError) {
            self.stage = stage
            self.error = error
        }
    }

    public init(endpoint: HTTPEndpoint, timeoutMilliseconds: Int, tls context: TLSContext? = nil) throws(Failure) {
        self.endpoint = endpoint
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_family = AF_UNSPEC
        var list: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(endpoint.host, String(endpoint.port), &hints, &list)
        guard status == 0, let first = list else {
            throw Failure(stage: .connecting, error: HTTPTransportError(
                .unavailable, "cannot resolve \(endpoint.host)", endpoint: endpoint.description))
        }
        defer { freeaddrinfo(list) }
        // Every resolved address in turn ("localhost" may give ::1 before 127.0.0.1).
        var candidate: UnsafeMutablePointer<addrinfo>? = first
        var lastError: Int32 = ECONNREFUSED
        var connected: (fd: Int32, flags: Int32)?
        while let info = candidate, connected == nil {
            candidate = info.pointee.ai_next
            let fd = socket(info.pointee.ai_family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
            guard fd >= 0 else {
                lastError = errno
                continue
            }
            // Non-blocking connect bounded by the timeout, then blocking I/O with SO_RCVTIMEO/SNDTIMEO.
            let flags = fcntl(fd, F_GETFL)
            _ = fcntl(fd, F_SETFL, flags | O_NONBLOCK)
            var result = connect(fd, info.pointee.ai_addr, info.pointee.ai_addrlen)
            var code = result == 0 ? 0 : errno
            if result != 0 && code == EINPROGRESS {
                var poller = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
                if poll(&poller, 1, Int32(timeoutMilliseconds)) == 1 {
                    var socketError: Int32 = 0
                    var length = socklen_t(MemoryLayout<Int32>.size)
                    getsockopt(fd, SOL_SOCKET, SO_ERROR, &socketError, &length)
                    result = socketError == 0 ? 0 : -1
                    code = socketError
                } else {
                    code = ETIMEDOUT
                }
            }
            if result == 0 {
                connected = (fd, flags)
            } else {
                lastError = code
                close(fd)
            }
        }
        guard let (fd, flags) = connected else {
            throw Failure(stage: .connecting, error: HTTPTransportError(
                .unavailable, "connect failed: \(String(cString: strerror(lastError)))", errno: lastError,
                endpoint: endpoint.description))
        }
        if endpoint.usesTLS {
            // TLS stays non-blocking: every OpenSSL wait is a poll bounded by the deadline.
            guard let context else {
                close(fd)
                throw Failure(stage: .connecting, error: HTTPTransportError(
                    .tlsFailed, "an https endpoint needs TLS settings", endpoint: endpoint.description))
            }
            let session: TLSSession
            do {
                session = try context.session(descriptor: fd, host: endpoint.host, endpoint: endpoint)
                try session.handshake(
                    descriptor: fd, deadline: MonotonicClock.milliseconds() + Int64(max(1, timeoutMilliseconds)))
            } catch {
                close(fd)
                throw error
            }
            tls = session
        } else {
            tls = nil
            _ = fcntl(fd, F_SETFL, flags)
        }
        var timeout = timeval(tv_sec: timeoutMilliseconds / 1000, tv_usec: (timeoutMilliseconds % 1000) * 1000)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        Self.enableKeepAlive(fd)
        descriptor = fd
        deadline = MonotonicClock.milliseconds() + Int64(max(1, timeoutMilliseconds))
    }

    /// TCP keep-alive probes after 5 s of silence, every 2 s, 3 unanswered ones drop the
    /// connection: a server whose host vanished (no FIN, no RST) ends a stream within ~11 s
    /// instead of never.
    ///
    /// And no Nagle delay (`TCP_NODELAY`): over TLS the handshake's last flight and the request
    /// are two writes, and Nagle held the request until the server's delayed ACK (about 40 ms
    /// per request, measured with the fixture API server).
    private static func enableKeepAlive(_ fd: Int32) {
        var on: Int32 = 1, idle: Int32 = 5, interval: Int32 = 2, count: Int32 = 3
        let size = socklen_t(MemoryLayout<Int32>.size)
        setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, size)
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &on, size)
        #if os(Linux)
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_KEEPIDLE, &idle, size)
        #else
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_KEEPALIVE, &idle, size)
        #endif
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_KEEPINTVL, &interval, size)
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_KEEPCNT, &count, size)
    }

    /// Lifts the exchange deadline and the receive timeout: a watch stream is idle between
    /// events for as long as nothing changes. It still ends on connection closure, on a dead
    /// peer (keep-alive), or when ``interrupt(descriptor:)`` shuts it down.
    public mutating func makeStream() {
        deadline = nil
        var timeout = timeval(tv_sec: 0, tv_usec: 0)
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    /// Waits until the socket is readable or the deadline passes.
    private func awaitReadable() throws(Failure) {
        guard let deadline else { return }
        while true {
            let remaining = deadline - MonotonicClock.milliseconds()
            guard remaining > 0 else { throw timedOut() }
            var poller = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
            let ready = poll(&poller, 1, Int32(min(remaining, Int64(Int32.max))))
            if ready > 0 { return }
            if ready == 0 { throw timedOut() }
            if errno != EINTR { throw failure("poll failed: \(String(cString: strerror(errno)))", code: errno) }
        }
    }

    private func timedOut() -> Failure {
        Failure(stage: .exchanging, error: HTTPTransportError(
            .timedOut, "no complete response within the request timeout", errno: ETIMEDOUT, endpoint: endpoint.description))
    }

    deinit { close(descriptor) }

    /// Unblocks a reader on another thread (used to stop a watch).
    public static func interrupt(descriptor: Int32) { _ = shutdown(descriptor, Int32(SHUT_RDWR)) }
    public var socketDescriptor: Int32 { descriptor }

    private func failure(_ message: String, code: Int32? = nil) -> Failure {
        Failure(stage: .exchanging, error: HTTPTransportError(
            code == EAGAIN || code == EWOULDBLOCK ? .timedOut : .unavailable, message, errno: code,
            endpoint: endpoint.description))
    }

    /// Sends a POST with a JSON body.
    public mutating func sendPost(path: String, body: [UInt8], authorization: String? = nil, keepAlive: Bool = false) throws(Failure) {
        var headers = [("Content-Type", "application/json")]
        if let authorization { headers.insert(("Authorization", authorization), at: 0) }
        try send(method: "POST", path: path, headers: headers, body: body, keepAlive: keepAlive)
    }

    /// Sends a request: the request line, `Host`, the given headers, `Content-Length` when
    /// there is a body, `Connection: close` (unless `keepAlive`), then the body.
    ///
    /// With `keepAlive` the connection may carry another request once this response has been
    /// read in full: see ``reuse(timeoutMilliseconds:)``.
    public mutating func send(
        method: String, path: String, headers: [(String, String)] = [], body: [UInt8] = [], keepAlive: Bool = false
    ) throws(Failure) {
        keepAliveRequested = keepAlive
        responseCompleteAndPersistent = false
        var request = Array("\(method) \(path) HTTP/1.1\r\nHost: \(endpoint.host):\(endpoint.port)\r\n".utf8)
        for (name, value) in headers { request += Array("\(name): \(value)\r\n".utf8) }
        if !body.isEmpty || method == "POST" || method == "PUT" || method == "PATCH" {
            request += Array("Content-Length: \(body.count)\r\n".utf8)
        }
        request += Array((keepAlive ? "\r\n" : "Connection: close\r\n\r\n").utf8)
        request += body
        if let tls { return try tls.write(request, descriptor: descriptor, deadline: deadline) }
        var offset = 0
        while offset < request.count {
            if let deadline, MonotonicClock.milliseconds() >= deadline { throw timedOut() }
            let sent = SystemCall.retryingInterrupts {
                request.withUnsafeBytes { Glibc.send(descriptor, $0.baseAddress! + offset, $0.count - offset, Int32(MSG_NOSIGNAL)) }
            }
            if sent < 0 {
                throw failure("send failed: \(String(cString: strerror(errno)))", code: errno)
            }
            offset += sent
        }
    }

    /// Reads more bytes into the buffer; false at end of stream.
    private mutating func fill() throws(Failure) -> Bool {
        if finished { return false }
        if position > 0 && position == buffer.count {
            buffer.removeAll(keepingCapacity: true)
            position = 0
        }
        var chunk = [UInt8](repeating: 0, count: 16384)
        if let tls {
            let descriptor = descriptor, deadline = deadline
            let count = try chunk.withUnsafeMutableBytes { raw in
                Result { () throws(Failure) -> Int in try tls.read(into: raw, descriptor: descriptor, deadline: deadline) }
            }.get()
            if count == 0 { finished = true; return false }
            buffer += chunk[0..<count]
            return true
        }
        while true {
            try awaitReadable()
            let count = SystemCall.retryingInterrupts { chunk.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) } }
            if count < 0 {
                throw failure("receive failed: \(String(cString: strerror(errno)))", code: errno)
            }
            if count == 0 { finished = true; return false }
            buffer += chunk[0..<count]
            return true
        }
    }

    private mutating func readLine() throws(Failure) -> String {
        while true {
            if let newline = buffer[position...].firstIndex(of: UInt8(ascii: "\n")) {
                var end = newline
                if end > position && buffer[end - 1] == UInt8(ascii: "\r") { end -= 1 }
                let line = String(decoding: buffer[position..<end], as: UTF8.self)
                position = newline + 1
                return line
            }
            guard try fill() else { throw failure("connection closed in the middle of a response") }
        }
    }

    private mutating func read(exactly count: Int) throws(Failure) -> [UInt8] {
        while buffer.count - position < count {
            guard try fill() else { throw failure("connection closed in the middle of a body") }
        }
        let bytes = Array(buffer[position..<position + count])
        position += count
        return bytes
    }

    /// The response head: status code and (lowercased) headers.
    public struct Head: Sendable {
        public var status: Int
        public var headers: [String: String]
        /// `HTTP/1.1` or `HTTP/1.0`, from the status line.
        public var version: String = "HTTP/1.1"
        /// Whether the server keeps the connection open after this response (HTTP/1.1 without
        /// `Connection: close`).
        public var keepsConnectionOpen: Bool {
            version == "HTTP/1.1" && !(headers["connection"]?.lowercased().contains("close") ?? false)
        }
        public var isChunked: Bool { headers["transfer-encoding"]?.lowercased().contains("chunked") ?? false }
        public var contentLength: Int? { headers["content-length"].flatMap { Int($0) } }
    }

    public mutating func readHead() throws(Failure) -> Head {
        if position == buffer.count, tls == nil {
            guard try fill() else {
                // Closed without a byte: a TLS-only server does that to plain HTTP (etcd). A
                // connection that answered before is plain HTTP: no probe.
                guard responses == 0 else { throw failure("the server closed the connection without answering") }
                let probeTime = Int(max(200, min(2_000, (deadline ?? 0) - MonotonicClock.milliseconds())))
                if TLSProbe.answersWithTLS(endpoint, timeoutMilliseconds: probeTime) {
                    throw Failure(stage: .exchanging, error: HTTPTransportError(
                        .tlsFailed, "the server speaks TLS only: use https://\(endpoint.host):\(endpoint.port) with its CA",
                        endpoint: endpoint.description))
                }
                throw failure("the server closed the connection without answering")
            }
        }
        responses += 1
        let statusLine = try readLine()
        let parts = statusLine.split(separator: " ", maxSplits: 2)
        guard parts.count >= 2, parts[0].hasPrefix("HTTP/1."), let status = Int(parts[1]) else {
            throw Failure(stage: .exchanging, error: HTTPTransportError(
                .protocolError, "bad status line \"\(statusLine)\"", endpoint: endpoint.description))
        }
        var headers: [String: String] = [:]
        while true {
            let line = try readLine()
            if line.isEmpty { break }
            if let colon = line.firstIndex(of: ":") {
                headers[line[..<colon].lowercased()] = String(line[line.index(after: colon)...]).trimmingWhitespace()
            }
        }
        return Head(status: status, headers: headers, version: String(parts[0]))
    }

    /// The next piece of the body: one chunk (chunked), or whatever arrived; nil at the end.
    public mutating func nextBodyPiece(_ head: Head, remaining: inout Int?) throws(Failure) -> [UInt8]? {
        if head.isChunked {
            let sizeLine = try readLine()
            guard let size = Int(sizeLine.split(separator: ";").first ?? "", radix: 16) else {
                throw Failure(stage: .exchanging, error: HTTPTransportError(
                    .protocolError, "bad chunk size \"\(sizeLine)\"", endpoint: endpoint.description))
            }
            if size == 0 {
                // The trailer section ends with an empty line; a kept-alive connection must
                // consume it before the next response.
                if keepAliveRequested { while try !readLine().isEmpty {} }
                return nil
            }
            let bytes = try read(exactly: size)
            _ = try readLine()
            return bytes
        }
        if let left = remaining {
            if left == 0 { return nil }
            if position == buffer.count { guard try fill() else { throw failure("body truncated") } }
            let take = min(left, buffer.count - position)
            let bytes = Array(buffer[position..<position + take])
            position += take
            remaining = left - take
            return bytes
        }
        if position == buffer.count { guard try fill() else { return nil } }
        let bytes = Array(buffer[position...])
        position = buffer.count
        return bytes
    }

    /// Reads the whole body.
    public mutating func readBody(_ head: Head) throws(Failure) -> [UInt8] {
        var remaining = head.contentLength
        var body: [UInt8] = []
        while let piece = try nextBodyPiece(head, remaining: &remaining) { body += piece }
        // Framed by length or chunks (not by the end of the stream): the next response can
        // follow on the same connection.
        responseCompleteAndPersistent = keepAliveRequested && head.keepsConnectionOpen
            && (head.isChunked || head.contentLength != nil) && !finished
        return body
    }

    /// Prepares the connection for another request after a response read in full with
    /// ``readBody(_:)``, with a fresh exchange deadline `timeoutMilliseconds` from now.
    ///
    /// False (and the connection must be dropped) unless the request asked for keep-alive, the
    /// server agreed, nothing is left unread, and the socket is still open with nothing waiting
    /// on it: a server that closed an idle connection shows end of stream here, before a request
    /// is risked on it.
    public mutating func reuse(timeoutMilliseconds: Int) -> Bool {
        guard responseCompleteAndPersistent, position == buffer.count, !finished, deadline != nil else { return false }
        responseCompleteAndPersistent = false
        var byte: UInt8 = 0
        let peeked = recv(descriptor, &byte, 1, Int32(MSG_PEEK) | Int32(MSG_DONTWAIT))
        guard peeked < 0, errno == EAGAIN || errno == EWOULDBLOCK else { return false }
        if let pending = tls?.pendingBytes, pending > 0 { return false }
        deadline = MonotonicClock.milliseconds() + Int64(max(1, timeoutMilliseconds))
        return true
    }
}
