import BGP
import Logging
import Netlink
import NetPrimitives
import Synchronization

/// Installs the speaker's best paths learned from peers as kernel routes `proto bgp` (186),
/// through one ``NetlinkRequestBatch`` per batch of best-path changes, and deletes them when
/// withdrawn (a Cease from the peer, or the graceful-restart timer sweeping stale routes).
///
/// Routes `proto bgp` left by a previous run are kept while peers come back (the
/// graceful-restart window) and swept after it unless learned again.
final class RouteInstaller: Sendable {
    static let bgpProtocol = Netlink.Route.ProtocolTag(186)

    let speaker: BGPSpeaker
    let netlink: NetlinkHandle
    let logger: Logger
    let leftoverSweepDelay: Duration
    /// Pools whose routes the VXLAN overlay programs (``CalicoVXLAN``): learned routes inside
    /// them are not installed.
    let excluded: [IPNetwork]
    /// Installed prefixes and their next hop (read by the status and metrics endpoints).
    private let installed = Mutex<[IPNetwork: IPAddress]>([:])
    private let failures = Mutex<Int>(0)
    private let pending = Mutex<[BestPathChange]>([])

    init(speaker: BGPSpeaker, netlink: NetlinkHandle, logger: Logger, leftoverSweepDelay: Duration, excluded: [IPNetwork] = []) {
        self.excluded = excluded
        self.speaker = speaker
        self.netlink = netlink
        self.logger = logger
        self.leftoverSweepDelay = leftoverSweepDelay
    }

    var installedRoutes: [IPNetwork: IPAddress] { installed.withLock { $0 } }
    var failedRequests: Int { failures.withLock { $0 } }

    func run() async throws {
        let leftovers = Set(
            try netlink.routes(family: .v4, protocolTag: Self.bgpProtocol).map(\.destination)
                + netlink.routes(family: .v6, protocolTag: Self.bgpProtocol).map(\.destination))
        let sweeper = Task {
            try await Task.sleep(for: leftoverSweepDelay)
            let current = Set(self.installedRoutes.keys)
            var batch = NetlinkRequestBatch()
            for prefix in leftovers.subtracting(current) {
                batch.deleteRoute(Netlink.Route(destination: prefix, protocolTag: Self.bgpProtocol))
            }
            if !batch.isEmpty {
                self.logger.info("swept \(batch.count) routes left by a previous run")
                _ = try? self.netlink.apply(batch)
            }
        }
        defer { sweeper.cancel() }
        // Changes are queued as they arrive and applied in as few batches as possible: while one
        // batch is in the kernel, the next UPDATEs accumulate.
        let (wakeups, wake) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
        let speaker = self.speaker
        let collector = Task {
            for await changes in speaker.bestPathChanges() {
                if changes.count < 1000 { self.logger.trace("best-path changes: \(changes.count)") }
                self.pending.withLock { $0.append(contentsOf: changes) }
                wake.yield()
            }
            wake.finish()
        }
        defer { collector.cancel() }
        for await _ in wakeups {
            let changes = pending.withLock { pending in
                defer { pending.removeAll(keepingCapacity: true) }
                return pending
            }
            if !changes.isEmpty { apply(changes) }
        }
    }

    func apply(_ changes: [BestPathChange]) {
        var batch = NetlinkRequestBatch()
        installed.withLock { installed in
            for change in changes {
                switch change {
                case .updated(let route):
                    let prefix = route.prefix.network
                    guard route.peer != nil, let nextHop = route.nextHop,
                        !excluded.contains(where: { $0.contains(prefix.address) })
                    else {
                        // Our own origination became best, or the VXLAN overlay routes it.
                        if installed.removeValue(forKey: prefix) != nil {
                            batch.deleteRoute(Netlink.Route(destination: prefix, protocolTag: Self.bgpProtocol))
                        }
                        continue
                    }
                    if installed[prefix] == nextHop { continue }
                    installed[prefix] = nextHop
                    batch.replaceRoute(Netlink.Route(destination: prefix, gateway: nextHop, protocolTag: Self.bgpProtocol))
                case .withdrawn(let key):
                    let prefix = key.network
                    if installed.removeValue(forKey: prefix) != nil {
                        batch.deleteRoute(Netlink.Route(destination: prefix, protocolTag: Self.bgpProtocol))
                    }
                }
            }
        }
        guard !batch.isEmpty else { return }
        do {
            let start = ContinuousClock.now
            let failed = try netlink.apply(batch)
            logger.debug("applied \(batch.count) route requests (\(changes.count) changes) in \(ContinuousClock.now - start)")
            if !failed.isEmpty {
                failures.withLock { $0 += failed.count }
                logger.warning("\(failed.count) of \(batch.count) route requests failed, first: \(failed[0])")
            }
        } catch {
            failures.withLock { $0 += batch.count }
            logger.error("route batch failed: \(error)")
        }
    }
}
