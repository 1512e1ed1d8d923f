import AgentHTTP
import CoreMetrics
import Foundation
import Logging
import ServiceLifecycle
import Synchronization
import Testing

#if canImport(Glibc)
import Glibc
#endif

@Suite("StatusServer")
struct StatusServerTests {
    @Test func listenAddressParsing() throws {
        #expect(try ListenAddress(parsing: "127.0.0.1:9099") == ListenAddress(host: "127.0.0.1", port: 9099))
        #expect(try ListenAddress(parsing: ":8080") == ListenAddress(host: "0.0.0.0", port: 8080))
        #expect(try ListenAddress(parsing: "[::1]:80") == ListenAddress(host: "::1", port: 80))
        #expect(try ListenAddress(parsing: "[::1]:80").description == "[::1]:80")
        for bad in ["9099", "host:", "host:port", "1.2.3.4:70000", "::1:80", ""] {
            #expect(throws: AgentError.self, "\(bad)") { try ListenAddress(parsing: bad) }
        }
    }

    @Test func exposition() {
        let exposition = PrometheusExposition()
        let counter = exposition.factory.makeCounter(label: "test_requests_total", dimensions: [("path", "/x")])
        counter.increment(by: 3)
        let gauge = exposition.factory.makeRecorder(label: "test_peers", dimensions: [], aggregate: false)
        gauge.record(Int64(2))
        let timer = exposition.factory.makeTimer(label: "test_duration_seconds", dimensions: [])
        timer.recordNanoseconds(2_000_000)
        let text = exposition.render()
        #expect(text.contains("# TYPE test_requests_total counter"), "\(text)")
        #expect(text.contains("test_requests_total{path=\"/x\"} 3"), "\(text)")
        #expect(text.contains("# TYPE test_peers gauge") && text.contains("test_peers 2"), "\(text)")
        #expect(text.contains("test_duration_seconds_count 1"), "\(text)")
        #expect(exposition.response.contentType.hasPrefix("text/plain; version=0.0.4"))
    }

    @Test func routing() async {
        let health = AgentHealth()
        let server = StatusServer(
            listen: nil, health: health, metrics: PrometheusExposition(), routes: ["/status": { .json("{}") }],
            logger: Logger(label: "test"))
        #expect(await server.respond(method: "GET", uri: "/healthz").status == 503)
        #expect(await server.respond(method: "GET", uri: "/healthz").body.contains("starting"))
        health.update(ready: true, detail: "programmed")
        #expect(await server.respond(method: "GET", uri: "/healthz?verbose=1") == .text("ok\n"))
        #expect(await server.respond(method: "GET", uri: "/status").contentType == "application/json")
        #expect(await server.respond(method: "GET", uri: "/nothing") == .notFound)
        #expect(await server.respond(method: "POST", uri: "/healthz") == .methodNotAllowed)
    }

    /// A real server on a unix socket in a temporary directory and on TCP loopback: HTTP/1.0
    /// and HTTP/1.1 requests, a scrape refreshing a gauge, a malformed request answered 400.
    @Test(.timeLimit(.minutes(1))) func servesOverSockets() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("swcni-agenthttp-\(getpid())").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let socketPath = directory + "/status.sock"
        let exposition = PrometheusExposition()
        let gauge = exposition.factory.makeRecorder(label: "test_scrapes", dimensions: [], aggregate: false)
        let scrapes = ScrapeCounter()
        let port = Int.random(in: 20_000..<30_000)
        let server = StatusServer(
            listen: ListenAddress(host: "127.0.0.1", port: port), unixSocketPath: socketPath, health: AgentHealth(ready: true),
            metrics: exposition, routes: ["/status": { .json("{\"ok\":true}") }],
            beforeScrape: { gauge.record(Int64(scrapes.next())) }, logger: Logger(label: "test"))
        let group = ServiceGroup(services: [server], logger: Logger(label: "test"))
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            var answer = ""
            for _ in 0..<100 where !answer.contains("200") {
                try await Task.sleep(for: .milliseconds(20))
                answer = (try? await Self.requestOffPool("GET /status HTTP/1.0\r\n\r\n", unixSocket: socketPath)) ?? ""
            }
            #expect(answer.hasPrefix("HTTP/1.0 200 OK") && answer.hasSuffix("{\"ok\":true}"), "\(answer)")
            let first = try await Self.requestOffPool("GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", unixSocket: socketPath)
            #expect(first.contains("test_scrapes 1"), "\(first)")
            let second = try await Self.requestOffPool("GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", tcpPort: port)
            #expect(second.hasPrefix("HTTP/1.1 200 OK") && second.contains("test_scrapes 2"), "\(second)")
            let bad = try await Self.requestOffPool("this is not http\r\n\r\n", unixSocket: socketPath)
            #expect(bad.hasPrefix("HTTP/1.1 400"), "\(bad)")
            // The agents' client, over both endpoints.
            let status = try await StatusClient(.unixSocket(socketPath)).get("/status")
            #expect(status == .json("{\"ok\":true}"), "\(status)")
            let missing = try await StatusClient(.tcp(ListenAddress(host: "127.0.0.1", port: port))).get("/nothing")
            #expect(missing.status == 404 && missing.body == "not found\n", "\(missing)")
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
        #expect(!FileManager.default.fileExists(atPath: socketPath), "the socket file is removed on shutdown")
    }

    /// No agent behind the socket: an `unreachable` error naming it, within the bound.
    @Test(.timeLimit(.minutes(1))) func clientWithoutAgent() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("swcni-agenthttp-none-\(getpid()).sock").path
        do {
            _ = try await StatusClient(.unixSocket(path), timeout: .seconds(5)).get("/status")
            Issue.record("answered without a server")
        } catch {
            #expect(error.code == .unreachable && error.message.contains(path), "\(error)")
        }
    }

    final class ScrapeCounter: Sendable {
        private let count = Mutex(0)
        func next() -> Int { count.withLock { $0 += 1; return $0 } }
    }

    /// ``request(_:unixSocket:tcpPort:)`` on a thread of its own: its blocking reads must not
    /// hold a thread of the cooperative pool, where the server's scrape hook runs (on 2 cores
    /// a full parallel run left the hook no thread until the 5 s receive timeout).
    static func requestOffPool(_ text: String, unixSocket path: String? = nil, tcpPort: Int? = nil) async throws -> String {
        try await withCheckedThrowingContinuation { continuation in
            let thread = Thread {
                continuation.resume(with: Result { try request(text, unixSocket: path, tcpPort: tcpPort) })
            }
            thread.start()
        }
    }

    /// Sends `text`, reads until the server closes (bounded by a 5 s receive timeout).
    static func request(_ text: String, unixSocket path: String? = nil, tcpPort: Int? = nil) throws -> String {
        let descriptor = socket(path != nil ? AF_UNIX : AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { throw POSIXError(.EIO) }
        defer { close(descriptor) }
        var timeout = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let connected: Int32
        if let path {
            var address = sockaddr_un()
            address.sun_family = sa_family_t(AF_UNIX)
            withUnsafeMutableBytes(of: &address.sun_path) { raw in
                for (index, byte) in path.utf8.enumerated() { raw[index] = byte }
            }
            connected = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
            }
        } else {
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = in_port_t(UInt16(tcpPort ?? 0).bigEndian)
            address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
            connected = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
        }
        guard connected == 0 else { throw POSIXError(.ECONNREFUSED) }
        let bytes = Array(text.utf8)
        _ = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
        var response: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count <= 0 { break }
            response += chunk[0..<count]
        }
        return String(decoding: response, as: UTF8.self)
    }
}
