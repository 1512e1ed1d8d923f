/// Names a policy in explanations and in the compiled program.
public struct PolicyReference: Hashable, Comparable, Sendable, Encodable, CustomStringConvertible {
    public enum Kind: String, Hashable, Sendable, Comparable {
        /// `networking.k8s.io/v1` NetworkPolicy.
        case kubernetes
        /// `projectcalico.org/v3` NetworkPolicy.
        case calico
        /// `projectcalico.org/v3` GlobalNetworkPolicy.
        case calicoGlobal

        public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }
    }

    public var kind: Kind
    /// `nil` for global policies.
    public var namespace: String?
    public var name: String

    public init(kind: Kind, namespace: String?, name: String) {
        self.kind = kind
        self.namespace = namespace
        self.name = name
    }

    public var description: String {
        switch kind {
        case .kubernetes: "NetworkPolicy \(namespace ?? "")/\(name)"
        case .calico: "Calico NetworkPolicy \(namespace ?? "")/\(name)"
        case .calicoGlobal: "GlobalNetworkPolicy \(name)"
        }
    }

    public static func < (lhs: Self, rhs: Self) -> Bool {
        (lhs.namespace ?? "", lhs.name, lhs.kind) < (rhs.namespace ?? "", rhs.name, rhs.kind)
    }
}

/// Names one rule: policy, direction and 0-based index in that direction's rule list.
public struct RuleReference: Hashable, Sendable, Encodable, CustomStringConvertible {
    public var policy: PolicyReference
    public var direction: PolicyDirection
    public var index: Int

    public init(policy: PolicyReference, direction: PolicyDirection, index: Int) {
        self.policy = policy
        self.direction = direction
        self.index = index
    }

    public var description: String { "\(policy) \(direction.rawValue.lowercased()) rule \(index)" }
}

/// One policy in evaluation order, Kubernetes or Calico. A class: it is shared by every
/// per-endpoint list and never copied (immutable, so `Sendable`).
final class OrderedPolicy: Sendable {
    enum Body: Sendable {
        case kubernetes(NetworkPolicy)
        case calico(CalicoPolicy)
    }

    /// Calico places Kubernetes NetworkPolicies at this order in the default tier.
    static let kubernetesOrder = 1000.0

    let reference: PolicyReference
    let tier: String
    let order: Double
    let body: Body

    init(_ policy: NetworkPolicy) {
        reference = PolicyReference(kind: .kubernetes, namespace: policy.namespace, name: policy.name)
        tier = CalicoTier.defaultName
        order = Self.kubernetesOrder
        body = .kubernetes(policy)
    }

    init(_ policy: CalicoPolicy) {
        switch policy.scope {
        case let .namespaced(namespace): reference = PolicyReference(kind: .calico, namespace: namespace, name: policy.name)
        case .global: reference = PolicyReference(kind: .calicoGlobal, namespace: nil, name: policy.name)
        }
        tier = policy.tier
        order = policy.order ?? .infinity
        body = .calico(policy)
    }

    /// Whether the policy selects `endpoint` and governs `direction`.
    func applies(to endpoint: Endpoint, direction: PolicyDirection) -> Bool {
        switch body {
        case let .kubernetes(policy):
            return policy.policyTypes.contains(direction) && policy.namespace == endpoint.namespace
                && policy.podSelector.matches(endpoint.labels)
        case let .calico(policy):
            guard policy.types.contains(direction), policy.selector.matches(endpoint.calicoLabels) else { return false }
            switch policy.scope {
            case let .namespaced(namespace): return namespace == endpoint.namespace
            case .global: return policy.namespaceSelector?.matches(endpoint.effectiveNamespaceLabels) ?? true
            }
        }
    }

    var ruleCount: (ingress: Int, egress: Int) {
        switch body {
        case let .kubernetes(policy): (policy.ingress.count, policy.egress.count)
        case let .calico(policy): (policy.ingress.count, policy.egress.count)
        }
    }
}

/// The policies of one tier that apply to an endpoint in one direction, in evaluation order.
struct AppliedTier: Sendable {
    let name: String
    let policies: [OrderedPolicy]
}

extension PolicySet {
    /// Every policy in evaluation order, grouped by tier. Tiers sort by order (a tier without a
    /// `Tier` document, or with no order, sorts last; `default` has order 1,000,000 unless a
    /// `Tier` document says otherwise) then name; policies by order (none: last) then name.
    var orderedTiers: [AppliedTier] {
        var byTier: [String: [OrderedPolicy]] = [:]
        for policy in networkPolicies { byTier[CalicoTier.defaultName, default: []].append(OrderedPolicy(policy)) }
        for policy in calicoPolicies { byTier[policy.tier, default: []].append(OrderedPolicy(policy)) }
        func tierOrder(_ name: String) -> Double {
            if let tier = tiers.first(where: { $0.name == name }), let order = tier.order { return order }
            return name == CalicoTier.defaultName ? 1_000_000 : .infinity
        }
        return byTier.keys.sorted { (tierOrder($0), $0) < (tierOrder($1), $1) }.map { name in
            let sorted = byTier[name, default: []].sorted { ($0.order, $0.reference) < ($1.order, $1.reference) }
            return AppliedTier(name: name, policies: sorted)
        }
    }
}

/// The ordered tiers with the policies of each tier indexed by namespace, so finding the
/// policies that apply to an endpoint looks only at its namespace's policies and the global ones.
struct PolicyIndex: Sendable {
    let tiers: [AppliedTier]
    private let namespaced: [[String: [Int]]]
    private let global: [[Int]]

    init(_ policies: PolicySet) {
        tiers = policies.orderedTiers
        var namespaced: [[String: [Int]]] = []
        var global: [[Int]] = []
        for tier in tiers {
            var byNamespace: [String: [Int]] = [:]
            var everywhere: [Int] = []
            for (position, policy) in tier.policies.enumerated() {
                if let namespace = policy.reference.namespace {
                    byNamespace[namespace, default: []].append(position)
                } else {
                    everywhere.append(position)
                }
            }
            namespaced.append(byNamespace)
            global.append(everywhere)
        }
        self.namespaced = namespaced
        self.global = global
    }

    /// The tiers with at least one policy applying to `endpoint` in `direction`, each holding
    /// only those policies, in order. Empty: the endpoint is not isolated in that direction.
    func appliedTiers(for endpoint: Endpoint, direction: PolicyDirection) -> [AppliedTier] {
        var result: [AppliedTier] = []
        for (tierIndex, tier) in tiers.enumerated() {
            let local = namespaced[tierIndex][endpoint.namespace] ?? []
            let everywhere = global[tierIndex]
            var applying: [OrderedPolicy] = []
            var (localPosition, globalPosition) = (0, 0)
            while localPosition < local.count || globalPosition < everywhere.count {
                let next: Int
                if globalPosition == everywhere.count
                    || (localPosition < local.count && local[localPosition] < everywhere[globalPosition]) {
                    next = local[localPosition]
                    localPosition += 1
                } else {
                    next = everywhere[globalPosition]
                    globalPosition += 1
                }
                let policy = tier.policies[next]
                if policy.applies(to: endpoint, direction: direction) { applying.append(policy) }
            }
            if !applying.isEmpty { result.append(AppliedTier(name: tier.name, policies: applying)) }
        }
        return result
    }
}
