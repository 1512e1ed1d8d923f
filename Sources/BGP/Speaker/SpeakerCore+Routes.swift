import Logging
import NIOCore
import NetPrimitives

extension SpeakerCore {
    /// Hands a RIB result out: best-path changes to subscribers, UPDATEs to peers.
    func deliver(_ result: RIBResult) {
        if !result.changes.isEmpty {
            for continuation in subscribers.values { continuation.yield(result.changes) }
        }
        for (index, outbound) in result.outbound {
            guard let peer = peersByIndex[index], peer.machine.state == .established else { continue }
            send(Self.messages(for: outbound), to: peer)
        }
    }

    func process(_ update: UpdateMessage, from peer: PeerRuntime) {
        if !update.problems.isEmpty {
            logger.notice("malformed UPDATE handled per RFC 7606", metadata: [
                "peer": "\(peer.configuration.address)", "action": "\(update.errorAction.map { "\($0)" } ?? "none")",
                "problems": "\(update.problems.joined(separator: "; "))",
            ])
        }
        if let family = update.endOfRIBFamily {
            deliver(rib.sweepStale(peer.ribIndex, family: family))
            if rib.tables[peer.ribIndex]?.stale.isEmpty ?? true {
                peer.staleTimer?.cancel()
                peer.staleTimer = nil
            }
            return
        }
        let result = rib.apply(update, from: peer.ribIndex)
        deliver(result)
        if result.prefixLimitExceeded {
            logger.warning("maximum prefixes exceeded", metadata: ["peer": "\(peer.configuration.address)"])
            peer.lastError = "maximum prefixes (\(peer.configuration.maximumPrefixes ?? 0)) exceeded"
            handle(.stop(NotificationMessage(errorCode: 6, errorSubcode: NotificationMessage.CeaseSubcode.maximumPrefixesReached)), for: peer)
        }
    }

    /// ROUTE-REFRESH: send the Adj-RIB-Out of the family again.
    func resend(_ family: AddressFamily, to peer: PeerRuntime) {
        guard let tables = rib.tables[peer.ribIndex] else { return }
        let wanted: IPAddress.Family = family == .ipv6Unicast ? .v6 : .v4
        var outbound = OutboundUpdates()
        var groups: [ObjectIdentifier: Int] = [:]
        for (prefix, attributes) in tables.adjacencyOut where prefix.family == wanted {
            rib.append(prefix, attributes, to: &outbound, groups: &groups)
        }
        send(Self.messages(for: outbound) + [.update(.endOfRIB(family))], to: peer)
    }

    /// Splits outbound announcements and withdrawals into UPDATEs of at most 4096 bytes.
    static func messages(for outbound: OutboundUpdates) -> [BGPMessage] {
        var messages: [BGPMessage] = []
        let budget = BGPMessage.maximumLength - 64
        let withdrawnV4 = outbound.withdrawals.filter { $0.family == .v4 }
        let withdrawnV6 = outbound.withdrawals.filter { $0.family == .v6 }
        for chunk in chunks(withdrawnV4, budget: budget) {
            messages.append(.update(UpdateMessage(withdrawnRoutes: chunk, attributes: PathAttributes(origin: nil))))
        }
        for chunk in chunks(withdrawnV6, budget: budget) {
            messages.append(.update(UpdateMessage(attributes: PathAttributes(origin: nil),
                                                  multiprotocolUnreach: MultiprotocolUnreach(family: .ipv6Unicast, prefixes: chunk))))
        }
        for (shared, prefixes) in outbound.announcements {
            let template: UpdateMessage
            if prefixes.first?.family == .v6, let nextHop = shared.nextHop {
                var attributes = shared.value
                attributes.nextHop = nil
                template = UpdateMessage(attributes: attributes, multiprotocolReach: MultiprotocolReach(
                    family: .ipv6Unicast, nextHops: [nextHop], prefixes: []))
            } else {
                template = UpdateMessage(attributes: shared.value)
            }
            let overhead = (try? BGPMessage.update(template).encoded().count) ?? 1024
            for chunk in chunks(prefixes, budget: BGPMessage.maximumLength - overhead - 4) {
                var update = template
                if update.multiprotocolReach != nil {
                    update.multiprotocolReach!.prefixes = chunk
                } else {
                    update.reachableRoutes = chunk
                }
                messages.append(.update(update))
            }
        }
        return messages
    }

    private static func chunks(_ prefixes: [BGPPrefix], budget: Int) -> [[BGPPrefix]] {
        var result: [[BGPPrefix]] = []
        var current: [BGPPrefix] = []
        var size = 0
        for prefix in prefixes {
            if size + prefix.encodedSize > budget, !current.isEmpty {
                result.append(current)
                current = []
                size = 0
            }
            current.append(prefix)
            size += prefix.encodedSize
        }
        if !current.isEmpty { result.append(current) }
        return result
    }

    // MARK: Subscribers

    func subscribe(_ continuation: AsyncStream<[BestPathChange]>.Continuation) {
        guard !stopped else { return continuation.finish() }
        let identifier = nextSubscriber
        nextSubscriber += 1
        let snapshot = rib.bestRoutes().map { BestPathChange.updated($0) }
        if !snapshot.isEmpty { continuation.yield(snapshot) }
        subscribers[identifier] = continuation
        continuation.onTermination = { [weak self] _ in
            guard let self else { return }
            self.loop.execute { self.subscribers[identifier] = nil }
        }
    }
}
