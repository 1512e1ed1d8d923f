#if canImport(Glibc)
import Glibc
#endif
import ChildProcess
import Namespaces
import NetPrimitives
import Netlink

/// The Netlink benchmark: the library's batch path against `ip -batch`, in the same run,
/// inside namespaces it creates and removes. The logic lives here so that both the
/// `netlink-bench` executable and `cnilab bench netlink` can call it.
public enum NetlinkBenchmark {
    /// One comparison.
    public struct Measurement: Sendable, CustomStringConvertible {
        public let name: String
        public let count: Int
        public let library: Duration
        public let ipBatch: Duration
        /// How many times faster the library was (`ip -batch` time / library time).
        public var ratio: Double { seconds(ipBatch) / max(seconds(library), 1e-9) }

        public var description: String {
            func format(_ value: Double, _ digits: Int) -> String {
                var text = String(Int((value * pow(10, Double(digits))).rounded()))
                while text.count <= digits { text = "0" + text }
                text.insert(".", at: text.index(text.endIndex, offsetBy: -digits))
                return text
            }
            return "\(name) x\(count): library \(format(seconds(library), 3)) s, ip -batch \(format(seconds(ipBatch), 3)) s, ratio \(format(ratio, 2))x"
        }
    }

    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    /// Where `ip` lives.
    public static var ipPath: String { ChildProcess.find("ip", in: ["/usr/sbin", "/sbin", "/usr/bin", "/bin"]) ?? "/usr/sbin/ip" }

    /// Runs both comparisons: `veths` veth pairs created and deleted, then `routes` /32 routes.
    /// (Veths first: tearing down a namespace with 100,000 routes keeps the kernel's RTNL lock
    /// busy for seconds and would slow whatever is measured next.)
    public static func run(routes: Int = 100_000, veths: Int = 1_000) throws -> [Measurement] {
        var results = try measureVeths(count: veths)
        settle()
        results.append(try measureRoutes(count: routes))
        return results
    }

    /// Installs `count` /32 routes through ``NetlinkHandle/apply(_:)`` in one namespace and
    /// through `ip -batch` in another, both on a veth that is up.
    public static func measureRoutes(count: Int) throws -> Measurement {
        try withNamespaces(2) { namespaces in
            for namespace in namespaces {
                let handle = try NetlinkHandle(namespace: namespace)
                try handle.addLink(.veth("bench0", peer: "bench1"))
                try handle.setLinkUp("bench0")
                try handle.setLinkUp("bench1")
            }
            let base = try IPNetwork(parsing: "10.64.0.0/10")
            let hosts = try base.subnets(prefixLength: 32).prefix(count)

            let handle = try NetlinkHandle(namespace: namespaces[0])
            let clock = ContinuousClock()
            let libraryStart = clock.now
            var batch = NetlinkRequestBatch()
            for host in hosts { batch.addRoute(Route(destination: host, device: "bench0", protocolTag: Route.ProtocolTag(91))) }
            let failures = try handle.apply(batch)
            let library = clock.now - libraryStart
            guard failures.isEmpty else { throw Failure(description: "library route batch: \(failures.prefix(3))") }

            var script = ""
            script.reserveCapacity(count * 40)
            for host in hosts { script += "route add \(host) dev bench0 proto 91\n" }
            let ipBatch = try timeIPBatch(script, in: namespaces[1])

            let installed = try handle.routes(protocolTag: Route.ProtocolTag(91)).count
            let viaIP = try NetlinkHandle(namespace: namespaces[1]).routes(protocolTag: Route.ProtocolTag(91)).count
            guard installed == count, viaIP == count else {
                throw Failure(description: "routes installed: library \(installed), ip \(viaIP), expected \(count)")
            }
            return Measurement(name: "/32 routes", count: count, library: library, ipBatch: ipBatch)
        }
    }

    /// Creates `count` veth pairs and deletes them again, through the library's batch path
    /// and through `ip -batch`.
    public static func measureVeths(count: Int) throws -> [Measurement] {
        try withNamespaces(2) { namespaces in
            let handle = try NetlinkHandle(namespace: namespaces[0])
            let names = try (0..<count).map { (try InterfaceName("bv\($0)"), try InterfaceName("bp\($0)")) }
            let clock = ContinuousClock()

            var create = NetlinkRequestBatch()
            for (name, peer) in names { create.addLink(.veth(name, peer: peer)) }
            var start = clock.now
            var failures = try handle.apply(create)
            let libraryCreate = clock.now - start
            guard failures.isEmpty else { throw Failure(description: "library veth batch: \(failures.prefix(3))") }

            var delete = NetlinkRequestBatch()
            for (name, _) in names { delete.deleteLink(named: name) }
            start = clock.now
            failures = try handle.apply(delete)
            let libraryDelete = clock.now - start
            guard failures.isEmpty else { throw Failure(description: "library veth delete: \(failures.prefix(3))") }

            let ipCreate = try timeIPBatch(names.map { "link add \($0.0) type veth peer name \($0.1)\n" }.joined(), in: namespaces[1])
            let ipDelete = try timeIPBatch(names.map { "link del \($0.0)\n" }.joined(), in: namespaces[1])
            return [
                Measurement(name: "veth pairs created", count: count, library: libraryCreate, ipBatch: ipCreate),
                Measurement(name: "veth pairs deleted", count: count, library: libraryDelete, ipBatch: ipDelete),
            ]
        }
    }

    /// Deleted namespaces are torn down by a kernel worker that holds the RTNL lock for a
    /// while (100,000 routes, 1,000 devices); waiting keeps that out of the next measurement.
    static func settle() { usleep(3_000_000) }

    /// Writes `script` to a file and times `ip -batch FILE` run inside `namespace`
    /// (process start included, as a user of `ip -batch` pays it).
    static func timeIPBatch(_ script: String, in namespace: NetworkNamespace) throws -> Duration {
        let path = "/tmp/swcni-bench-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).batch"
        guard let file = fopen(path, "w") else { throw Failure(description: "cannot write \(path)") }
        defer { unlink(path) }
        let bytes = Array(script.utf8)
        let written = fwrite(bytes, 1, bytes.count, file)
        fclose(file)
        guard written == bytes.count else { throw Failure(description: "short write to \(path)") }
        let clock = ContinuousClock()
        let start = clock.now
        let output = try namespace.runProcess(ipPath, arguments: ["-batch", path])
        let elapsed = clock.now - start
        guard output.status.isSuccess else {
            throw Failure(description: "ip -batch failed: \(output.status) \(output.standardErrorText.prefix(300))")
        }
        return elapsed
    }

    /// Creates `count` namespaces named `swcni-bench-PID-…`, runs `body`, deletes them.
    static func withNamespaces<T>(_ count: Int, _ body: ([NetworkNamespace]) throws -> T) throws -> T {
        let tag = String(UInt32.random(in: 0...UInt32.max), radix: 36)
        let names = (0..<count).map { "swcni-bench-\(getpid())-\(tag)-\($0)" }
        defer { for name in names { try? NetworkNamespace.delete(name: name) } }
        let namespaces = try names.map { try NetworkNamespace.create(name: $0) }
        return try body(namespaces)
    }
}

private func seconds(_ duration: Duration) -> Double {
    let parts = duration.components
    return Double(parts.seconds) + Double(parts.attoseconds) / 1e18
}
