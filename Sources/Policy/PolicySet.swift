import Yams

/// Every policy the evaluator and the compiler consider: Kubernetes NetworkPolicies, Calico
/// (Global)NetworkPolicies and Calico tiers.
public struct PolicySet: Hashable, Sendable {
    public var networkPolicies: [NetworkPolicy]
    public var calicoPolicies: [CalicoPolicy]
    public var tiers: [CalicoTier]

    public init(networkPolicies: [NetworkPolicy] = [], calicoPolicies: [CalicoPolicy] = [], tiers: [CalicoTier] = []) {
        self.networkPolicies = networkPolicies
        self.calicoPolicies = calicoPolicies
        self.tiers = tiers
    }

    /// Parses YAML or JSON text holding any number of documents: YAML documents separated by
    /// `---`, a JSON object, a JSON array of objects, or a `kind: List` (or `…List`) with
    /// `items`. Understood kinds: `networking.k8s.io/v1` NetworkPolicy and
    /// `projectcalico.org/v3` NetworkPolicy, GlobalNetworkPolicy and Tier. Empty documents are
    /// skipped; unknown fields are ignored; anything else is a ``PolicyError`` naming the
    /// document index and field.
    public init(parsing text: String) throws {
        self.init()
        var roots: [Yams.Node] = []
        do {
            // The sequence stops at the first bad document and keeps the error: check it, or a
            // broken document would silently drop itself and everything after it.
            var documents = try Yams.compose_all(yaml: text)
            while let root = documents.next() { roots.append(root) }
            if let error = documents.error { throw error }
        } catch {
            throw PolicyError(.malformedDocument, "the text is neither valid YAML nor JSON", documentIndex: roots.count,
                              underlying: "\(error)")
        }
        for (index, root) in roots.enumerated() {
            let field = DocumentField(node: root, documentIndex: index, path: "")
            if field.isNull { continue }
            try add(document: field)
        }
    }

    /// Adds the policies of `other` (same identity: `other` wins).
    public mutating func merge(_ other: PolicySet) {
        for policy in other.networkPolicies {
            networkPolicies.removeAll { $0.namespace == policy.namespace && $0.name == policy.name }
            networkPolicies.append(policy)
        }
        for policy in other.calicoPolicies {
            calicoPolicies.removeAll { $0.scope == policy.scope && $0.name == policy.name }
            calicoPolicies.append(policy)
        }
        for tier in other.tiers {
            tiers.removeAll { $0.name == tier.name }
            tiers.append(tier)
        }
    }

    private mutating func add(document field: DocumentField) throws {
        if field.node.sequence != nil {
            for item in try field.elements() { try add(document: item) }
            return
        }
        guard field.node.mapping != nil else {
            throw field.error(.invalidValue, "expected an object with apiVersion and kind, found \(field.describedValue)")
        }
        let kind = try field.required("kind").string()
        let hasItems = try field.child("items") != nil
        if kind == "List" || (kind.hasSuffix("List") && hasItems) {
            for item in try field.list("items") { try add(document: item) }
            return
        }
        let apiVersion = try field.required("apiVersion").string()
        switch (apiVersion, kind) {
        case ("networking.k8s.io/v1", "NetworkPolicy"):
            let policy = try NetworkPolicy(decoding: field)
            guard !networkPolicies.contains(where: { $0.namespace == policy.namespace && $0.name == policy.name }) else {
                throw field.error(.duplicate, "NetworkPolicy \(policy.namespace)/\(policy.name) appears twice")
            }
            networkPolicies.append(policy)
        case ("projectcalico.org/v3", "NetworkPolicy"), ("projectcalico.org/v3", "GlobalNetworkPolicy"),
             ("crd.projectcalico.org/v1", "NetworkPolicy"), ("crd.projectcalico.org/v1", "GlobalNetworkPolicy"):
            let policy = try CalicoPolicy(decoding: field, global: kind == "GlobalNetworkPolicy")
            guard !calicoPolicies.contains(where: { $0.scope == policy.scope && $0.name == policy.name }) else {
                throw field.error(.duplicate, "\(kind) \(policy.name) appears twice")
            }
            calicoPolicies.append(policy)
        case ("projectcalico.org/v3", "Tier"), ("crd.projectcalico.org/v1", "Tier"):
            let name = try field.required("metadata").required("name").string()
            let order = try field.child("spec")?.child("order")?.number()
            guard !tiers.contains(where: { $0.name == name }) else {
                throw field.error(.duplicate, "Tier \(name) appears twice")
            }
            tiers.append(CalicoTier(name: name, order: order))
        default:
            throw field.error(.unsupportedKind, "\(apiVersion) \(kind) is not a network policy this module understands")
        }
    }
}
