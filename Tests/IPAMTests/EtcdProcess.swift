import ChildProcess
import Datastore
#if canImport(Glibc)
import Glibc
#endif

/// One real etcd (Debian's /usr/bin/etcd) on free loopback ports with a temporary data
/// directory, stopped by PID after `body`.
func withEtcd<T>(_ body: (String) async throws -> T) async throws -> T {
    try await withTemporaryDirectory { directory in
        // A port picked free can be taken by another test before etcd binds it: etcd then
        // exits at once, and a fresh pair of ports is tried (up to three times).
        for launch in 1...3 {
            let client = freeLoopbackPort()
            let peer = freeLoopbackPort()
            let log = directory + "/etcd-\(launch).log"
            let process = try ChildProcess.launch(
                "/usr/bin/etcd",
                arguments: [
                    "--name", "ipam-test", "--data-dir", directory + "/etcd-\(launch)",
                    "--listen-client-urls", "http://127.0.0.1:\(client)", "--advertise-client-urls", "http://127.0.0.1:\(client)",
                    "--listen-peer-urls", "http://127.0.0.1:\(peer)", "--initial-advertise-peer-urls", "http://127.0.0.1:\(peer)",
                    "--initial-cluster", "ipam-test=http://127.0.0.1:\(peer)",
                ],
                standardError: .file(log))
            func stop() async { _ = try? await offPool { process.terminate(graceMilliseconds: 2000) } }
            let location = "etcd:http://127.0.0.1:\(client)"
            let probe = EtcdDatastore(endpoints: [HTTPEndpoint(host: "127.0.0.1", port: client)], requestTimeoutMilliseconds: 500, operationTimeoutMilliseconds: 300)
            var exited = false
            do {
                for attempt in 0... {
                    if (try? await probe.list(prefix: "/probe")) != nil { break }
                    if process.poll() != nil { exited = true; break }
                    if attempt > 400 {
                        let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
                        throw PluginHarnessError(message: "etcd did not start in 20 s: \(text.suffix(2000))")
                    }
                    try await Task.sleep(for: .milliseconds(50))
                }
                if exited && launch < 3 { continue }
                if exited {
                    let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
                    throw PluginHarnessError(message: "etcd exited at start: \(text.suffix(2000))")
                }
                let result = try await body(location)
                await stop()
                return result
            } catch {
                await stop()
                throw error
            }
        }
        throw PluginHarnessError(message: "etcd did not start")
    }
}

func freeLoopbackPort() -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    _ = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
    }
    return Int(UInt16(bigEndian: address.sin_port))
}
