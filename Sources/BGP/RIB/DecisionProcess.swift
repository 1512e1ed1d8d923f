import NetPrimitives

extension RoutingInformationBase {
    /// The BGP decision process (RFC 4271 §9.1.2, RFC 4456 §9): whether `a` beats `b`.
    /// Order: highest LOCAL_PREF; locally originated; shortest AS_PATH; lowest ORIGIN; lowest
    /// MED among routes from the same neighbouring AS; eBGP over iBGP; lowest router ID (the
    /// ORIGINATOR_ID for reflected routes); shortest CLUSTER_LIST; lowest peer address.
    func isBetter(_ a: CandidatePath, than b: CandidatePath) -> Bool {
        let left = a.attributes.value
        let right = b.attributes.value
        let leftPreference = left.localPreference ?? defaultLocalPreference
        let rightPreference = right.localPreference ?? defaultLocalPreference
        if leftPreference != rightPreference { return leftPreference > rightPreference }
        if (a.peer == 0) != (b.peer == 0) { return a.peer == 0 }
        let leftLength = left.asPath.length
        let rightLength = right.asPath.length
        if leftLength != rightLength { return leftLength < rightLength }
        let leftOrigin = left.origin ?? .incomplete
        let rightOrigin = right.origin ?? .incomplete
        if leftOrigin != rightOrigin { return leftOrigin < rightOrigin }
        if left.asPath.firstAS == right.asPath.firstAS {
            let leftMED = left.multiExitDiscriminator ?? 0
            let rightMED = right.multiExitDiscriminator ?? 0
            if leftMED != rightMED { return leftMED < rightMED }
        }
        guard let leftPeer = tables[a.peer]?.peer, let rightPeer = tables[b.peer]?.peer else { return a.peer < b.peer }
        if leftPeer.isInternal != rightPeer.isInternal { return !leftPeer.isInternal }
        let leftID = left.originatorID ?? leftPeer.routerID
        let rightID = right.originatorID ?? rightPeer.routerID
        if leftID != rightID { return leftID < rightID }
        if left.clusterList.count != right.clusterList.count { return left.clusterList.count < right.clusterList.count }
        return leftPeer.address < rightPeer.address
    }

    /// The index of the best of `paths`.
    func selectBest(_ paths: [CandidatePath]) -> Int {
        var best = 0
        for index in paths.indices.dropFirst() where isBetter(paths[index], than: paths[best]) { best = index }
        return best
    }
}
