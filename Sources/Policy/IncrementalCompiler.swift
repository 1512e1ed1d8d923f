/// Keeps a ``PolicyProgram`` current while endpoints come, go and change labels, without
/// recompiling policies: each update re-evaluates the changed endpoint against every
/// endpoint-derived set and recomputes its own tiers, and returns the ``ProgramChanges``
/// (usually set elements only) to apply.
///
/// The result is always equal to compiling the current policies and cluster from scratch;
/// policy changes need a new compiler (compile, then ``PolicyProgram/changes(to:)``), and so do
/// changes of node addresses. A namespace label change is an upsert of each endpoint of the
/// namespace (endpoints carry their namespace's labels).
public struct IncrementalCompiler: Sendable {
    public let policies: PolicySet
    public let node: String?
    public private(set) var cluster: ClusterState
    public private(set) var program: PolicyProgram
    private let memberships: [String: SetMembership]
    private let index: PolicyIndex
    private let chainNames: [PolicyReference: String]
    private var addressSetPositions: [String: Int] = [:]
    private var namedPortSetPositions: [String: Int] = [:]

    public init(policies: PolicySet, cluster: ClusterState, node: String? = nil) {
        let result = PolicyCompiler.compile(policies, cluster: cluster, node: node)
        self.policies = policies
        self.node = node
        self.cluster = cluster
        program = result.program
        memberships = result.memberships
        index = result.index
        chainNames = result.chainNames
        for (position, set) in program.addressSets.enumerated() { addressSetPositions[set.name] = position }
        for (position, set) in program.namedPortSets.enumerated() { namedPortSetPositions[set.name] = position }
    }

    /// Adds `endpoint` or replaces the endpoint with its identity (labels, addresses, ports…).
    /// Throws a `duplicate` ``PolicyError`` when one of its addresses belongs to another endpoint.
    @discardableResult
    public mutating func upsert(_ endpoint: Endpoint) throws -> ProgramChanges {
        let previous = cluster[endpoint.id]
        try cluster.insert(endpoint)
        return update(from: previous, to: endpoint)
    }

    /// Removes the endpoint; no change when it is unknown.
    @discardableResult
    public mutating func remove(_ id: EndpointID) -> ProgramChanges {
        guard let previous = cluster[id] else { return ProgramChanges() }
        cluster.remove(id)
        return update(from: previous, to: nil)
    }

    private mutating func update(from previous: Endpoint?, to current: Endpoint?) -> ProgramChanges {
        var changes = ProgramChanges()
        for (name, membership) in memberships {
            if let position = addressSetPositions[name] {
                let removed = previous.map(membership.addressElements(of:)) ?? []
                let added = current.map(membership.addressElements(of:)) ?? []
                guard removed != added else { continue }
                var elements = program.addressSets[position].elements.filter { !removed.contains($0) }
                elements.append(contentsOf: added)
                program.addressSets[position].elements = Array(Set(elements)).sorted()
                changes.addressSetElements.append(SetElementChange(
                    name: name, added: added.filter { !removed.contains($0) }, removed: removed.filter { !added.contains($0) }))
            } else if let position = namedPortSetPositions[name] {
                let removed = previous.map(membership.namedPortElements(of:)) ?? []
                let added = current.map(membership.namedPortElements(of:)) ?? []
                guard removed != added else { continue }
                var elements = program.namedPortSets[position].elements.filter { !removed.contains($0) }
                elements.append(contentsOf: added)
                program.namedPortSets[position].elements = Array(Set(elements)).sorted()
                changes.namedPortSetElements.append(SetElementChange(
                    name: name, added: added.filter { !removed.contains($0) }, removed: removed.filter { !added.contains($0) }))
            }
        }
        changes.addressSetElements.sort { $0.name < $1.name }
        changes.namedPortSetElements.sort { $0.name < $1.name }

        let id = (current ?? previous)!.id
        let oldPosition = program.endpoints.firstIndex { $0.id == id }
        let old = oldPosition.map { program.endpoints[$0] }
        if let oldPosition { program.endpoints.remove(at: oldPosition) }
        if let current, node == nil || current.node == node {
            let compiled = PolicyCompiler.compiledEndpoint(current, index: index, chainNames: chainNames, cluster: cluster)
            let position = program.endpoints.firstIndex { $0.id > id } ?? program.endpoints.count
            program.endpoints.insert(compiled, at: position)
            if let old {
                if old != compiled { changes.changedEndpoints.append(compiled) }
            } else {
                changes.addedEndpoints.append(compiled)
            }
        } else if let old {
            changes.removedEndpoints.append(old)
        }
        return changes
    }
}
