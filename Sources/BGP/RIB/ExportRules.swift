import NetPrimitives

/// Memo key: one exported attribute object per source attributes, target family.
struct ExportKey: Hashable {
    var source: ObjectIdentifier
    var family: IPAddress.Family
}

extension RoutingInformationBase {
    /// Turns changed prefixes into best-path changes and per-peer outbound updates.
    mutating func finish(_ changed: [(BGPPrefix, CandidatePath?)], source: Int) -> RIBResult {
        var result = RIBResult()
        guard !changed.isEmpty else { return result }
        result.changes.reserveCapacity(changed.count)
        for (prefix, _) in changed {
            if let entry = loc[prefix] {
                result.changes.append(.updated(route(for: prefix, path: entry.paths[entry.best])))
            } else {
                result.changes.append(.withdrawn(prefix))
            }
        }
        for target in tables.indices.dropFirst() where tables[target]?.established == true {
            var memo: [ExportKey: SharedAttributes?] = [:]
            var outbound = OutboundUpdates()
            var groups: [ObjectIdentifier: Int] = [:]
            for (prefix, _) in changed {
                let exported = loc[prefix].flatMap { export($0.paths[$0.best], prefix: prefix, to: target, memo: &memo) }
                let previous = tables[target]!.adjacencyOut[prefix]
                if let exported {
                    if let previous, previous.same(as: exported) { continue }
                    tables[target]!.adjacencyOut[prefix] = exported
                    append(prefix, exported, to: &outbound, groups: &groups)
                } else if previous != nil {
                    tables[target]!.adjacencyOut[prefix] = nil
                    outbound.withdrawals.append(prefix)
                }
            }
            if !outbound.isEmpty { result.outbound[target] = outbound }
        }
        return result
    }

    func append(_ prefix: BGPPrefix, _ attributes: SharedAttributes, to outbound: inout OutboundUpdates,
                groups: inout [ObjectIdentifier: Int]) {
        let key = ObjectIdentifier(attributes)
        if let index = groups[key] {
            outbound.announcements[index].1.append(prefix)
        } else {
            groups[key] = outbound.announcements.count
            outbound.announcements.append((attributes, [prefix]))
        }
    }

    /// The attributes to announce `path` with to peer `target`, or nil when it must not be
    /// announced there (RFC 4271 §9.2, RFC 1997, RFC 4456 §6).
    func export(_ path: CandidatePath, prefix: BGPPrefix, to target: Int, memo: inout [ExportKey: SharedAttributes?]) -> SharedAttributes? {
        guard path.peer != target, let targetTables = tables[target], let sourcePeer = tables[path.peer]?.peer else { return nil }
        let peer = targetTables.peer
        let family: AddressFamily = prefix.family == .v4 ? .ipv4Unicast : .ipv6Unicast
        guard peer.families.contains(family) else { return nil }
        let key = ExportKey(source: ObjectIdentifier(path.attributes), family: prefix.family)
        let exported: SharedAttributes?
        if let cached = memo[key] {
            exported = cached
        } else {
            exported = transform(path, source: sourcePeer, isLocal: path.peer == 0, family: prefix.family, to: peer)
            memo[key] = exported
        }
        guard let exported else { return nil }
        if let filter = peer.exportFilter, !filter(route(for: prefix, path: path)) { return nil }
        return exported
    }

    private func transform(_ path: CandidatePath, source: RIBPeer, isLocal: Bool, family: IPAddress.Family,
                           to peer: RIBPeer) -> SharedAttributes? {
        var attributes = path.attributes.value
        if attributes.communities.contains(PathAttributes.noAdvertise) { return nil }
        let selfHop: IPAddress? = family == .v4 ? peer.localIPv4.map { .v4($0) } : peer.localIPv6.map { .v6($0) }
        var nextHop = path.attributes.nextHop
        if !peer.isInternal {
            if attributes.communities.contains(PathAttributes.noExport) { return nil }
            attributes.asPath = attributes.asPath.prepending(localAS)
            attributes.localPreference = nil
            if !isLocal { attributes.multiExitDiscriminator = nil }
            attributes.originatorID = nil
            attributes.clusterList = []
            nextHop = selfHop
        } else {
            if source.isInternal && !isLocal {
                // iBGP-learned routes go to iBGP peers only by reflection (RFC 4456 §6).
                guard source.isRouteReflectorClient || peer.isRouteReflectorClient else { return nil }
                attributes.originatorID = attributes.originatorID ?? source.routerID
                attributes.clusterList.insert(clusterID, at: 0)
            }
            attributes.localPreference = attributes.localPreference ?? defaultLocalPreference
            if isLocal && nextHop == nil || !source.isInternal && !isLocal { nextHop = selfHop }
        }
        guard let nextHop else { return nil }
        attributes.nextHop = family == .v4 ? nextHop.ipv4 : nil
        if family == .v4 && attributes.nextHop == nil { return nil }
        return SharedAttributes(attributes, nextHop: nextHop)
    }
}
