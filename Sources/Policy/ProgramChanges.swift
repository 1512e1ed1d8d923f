/// Elements added to and removed from one named set.
public struct SetElementChange<Element: Hashable & Sendable>: Hashable, Sendable {
    public var name: String
    public var added: [Element]
    public var removed: [Element]
}

/// What differs between two programs, in the shape an incremental apply needs: set element
/// deltas, and whole sets, policy chains and endpoint chains added, removed or rewritten.
///
/// When only elements change (``isElementOnly``), one transaction of element additions and
/// deletions is the whole update: no rule is touched.
public struct ProgramChanges: Hashable, Sendable {
    public var addedAddressSets: [AddressSet] = []
    public var removedAddressSets: [AddressSet] = []
    public var addressSetElements: [SetElementChange<AddressRange>] = []
    public var addedNamedPortSets: [NamedPortSet] = []
    public var removedNamedPortSets: [NamedPortSet] = []
    public var namedPortSetElements: [SetElementChange<NamedPortElement>] = []
    public var addedPolicies: [CompiledPolicy] = []
    public var removedPolicies: [CompiledPolicy] = []
    /// Policies whose rules (or tier/order) changed: rewrite their chains.
    public var changedPolicies: [CompiledPolicy] = []
    public var addedEndpoints: [CompiledEndpoint] = []
    public var removedEndpoints: [CompiledEndpoint] = []
    /// Endpoints whose tiers, interface, addresses or node addresses changed: rewrite their
    /// chains (and dispatch entries).
    public var changedEndpoints: [CompiledEndpoint] = []

    public init() {}

    public var isEmpty: Bool { self == ProgramChanges() }

    /// True when the update consists of set element changes only.
    public var isElementOnly: Bool {
        var structural = self
        structural.addressSetElements = []
        structural.namedPortSetElements = []
        return structural.isEmpty
    }

    /// The number of set elements added or removed.
    public var elementChangeCount: Int {
        addressSetElements.reduce(0) { $0 + $1.added.count + $1.removed.count }
            + namedPortSetElements.reduce(0) { $0 + $1.added.count + $1.removed.count }
    }
}

extension PolicyProgram {
    /// The changes that turn this program into `newer`.
    public func changes(to newer: PolicyProgram) -> ProgramChanges {
        var changes = ProgramChanges()
        (changes.addedAddressSets, changes.removedAddressSets, changes.addressSetElements) =
            Self.diffSets(addressSets, newer.addressSets, name: \.name, elements: \.elements)
        (changes.addedNamedPortSets, changes.removedNamedPortSets, changes.namedPortSetElements) =
            Self.diffSets(namedPortSets, newer.namedPortSets, name: \.name, elements: \.elements)
        (changes.addedPolicies, changes.removedPolicies, changes.changedPolicies) =
            Self.diffItems(policies, newer.policies, key: \.chainName)
        (changes.addedEndpoints, changes.removedEndpoints, changes.changedEndpoints) =
            Self.diffItems(endpoints, newer.endpoints, key: \.chainName)
        return changes
    }

    private static func diffSets<SetType, Element: Hashable & Sendable>(
        _ old: [SetType], _ new: [SetType], name: KeyPath<SetType, String>, elements: KeyPath<SetType, [Element]>
    ) -> ([SetType], [SetType], [SetElementChange<Element>]) {
        let oldByName = Dictionary(old.map { ($0[keyPath: name], $0) }, uniquingKeysWith: { first, _ in first })
        let newNames = Set(new.map { $0[keyPath: name] })
        var added: [SetType] = []
        var elementChanges: [SetElementChange<Element>] = []
        for set in new {
            guard let previous = oldByName[set[keyPath: name]] else {
                added.append(set)
                continue
            }
            let before = previous[keyPath: elements], after = set[keyPath: elements]
            guard before != after else { continue }
            let beforeSet = Set(before), afterSet = Set(after)
            elementChanges.append(SetElementChange(
                name: set[keyPath: name], added: after.filter { !beforeSet.contains($0) },
                removed: before.filter { !afterSet.contains($0) }))
        }
        let removed = old.filter { !newNames.contains($0[keyPath: name]) }
        return (added, removed, elementChanges)
    }

    private static func diffItems<Item: Equatable>(
        _ old: [Item], _ new: [Item], key: KeyPath<Item, String>
    ) -> ([Item], [Item], [Item]) {
        let oldByKey = Dictionary(old.map { ($0[keyPath: key], $0) }, uniquingKeysWith: { first, _ in first })
        let newKeys = Set(new.map { $0[keyPath: key] })
        var added: [Item] = []
        var changed: [Item] = []
        for item in new {
            if let previous = oldByKey[item[keyPath: key]] {
                if previous != item { changed.append(item) }
            } else {
                added.append(item)
            }
        }
        return (added, old.filter { !newKeys.contains($0[keyPath: key]) }, changed)
    }
}
