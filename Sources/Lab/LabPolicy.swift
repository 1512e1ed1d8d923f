import Datastore
import Foundation
import Policy
import Yams

/// One policy as the lab stores it: the JSON of ONE policy document under its Datastore key
/// (Documentation/Datastore.md):
///
/// - `/swiftcni/policies/k8s/<ns>/<name>`: a `networking.k8s.io/v1` NetworkPolicy;
/// - `/swiftcni/policies/calico/<ns>/<name>`: a `projectcalico.org/v3` NetworkPolicy;
/// - `/swiftcni/policies/calico/global/<name>`: a `projectcalico.org/v3` GlobalNetworkPolicy.
public struct LabPolicy: Codable, Hashable, Sendable {
    public enum Kind: String, Codable, Hashable, Sendable {
        /// `networking.k8s.io/v1` NetworkPolicy.
        case kubernetes = "NetworkPolicy"
        /// `projectcalico.org/v3` NetworkPolicy (namespaced).
        case calico = "CalicoNetworkPolicy"
        /// `projectcalico.org/v3` GlobalNetworkPolicy.
        case calicoGlobal = "GlobalNetworkPolicy"
    }

    public var kind: Kind
    /// `nil` for global policies.
    public var namespace: String?
    public var name: String
    /// The policy's Datastore key.
    public var key: String
    /// The policy document as compact JSON with sorted keys (the stored value).
    public var document: String

    /// `ns/name`, or the name of a global policy.
    public var qualifiedName: String { namespace.map { "\($0)/\(name)" } ?? name }

    /// Every policy key starts with this.
    public static let keyPrefix = KeyLayout.policies

    /// The key of a Kubernetes NetworkPolicy.
    public static func kubernetesKey(namespace: String, name: String) -> String { KeyLayout.kubernetesPolicy(namespace: namespace, name: name) }
    /// The key of a namespaced Calico NetworkPolicy.
    public static func calicoKey(namespace: String, name: String) -> String { KeyLayout.calicoPolicy(namespace: namespace, name: name) }
    /// The key of a Calico GlobalNetworkPolicy.
    public static func globalKey(name: String) -> String { KeyLayout.calicoGlobalPolicy(name: name) }

    /// Splits YAML or JSON text (several documents, `---` separated YAML, a JSON array, or a
    /// `List` with `items`) into one stored policy per document. The whole text is checked with
    /// `PolicySet(parsing:)` first, so a bad document anywhere rejects the text before anything
    /// is stored. Tiers have no key in the layout and are refused.
    public static func documents(parsing text: String) throws(LabError) -> [LabPolicy] {
        let whole: PolicySet
        do { whole = try PolicySet(parsing: text) } catch {
            throw LabError(.invalidArgument, "the policy file is not valid", underlying: error)
        }
        guard whole.tiers.isEmpty else {
            throw LabError(
                .invalidArgument, "Tier \(whole.tiers[0].name): the lab stores no tiers (no key in the Datastore layout); remove the Tier document")
        }
        var roots: [Node] = []
        do {
            var sequence = try Yams.compose_all(yaml: text)
            while let root = sequence.next() { roots.append(root) }
            if let error = sequence.error { throw error }
        } catch {
            throw LabError(.invalidArgument, "the policy file is neither valid YAML nor JSON", underlying: error)
        }
        var documents: [Node] = []
        for root in roots { expand(root, into: &documents) }
        var result: [LabPolicy] = []
        for node in documents {
            let policy = try policy(from: try json(node))
            guard !result.contains(where: { $0.key == policy.key }) else {
                throw LabError(.invalidArgument, "\(policy.kind.rawValue) \(policy.qualifiedName) appears twice in the file")
            }
            result.append(policy)
        }
        guard !result.isEmpty else { throw LabError(.invalidArgument, "the policy file holds no policy document") }
        guard result.count == whole.networkPolicies.count + whole.calicoPolicies.count else {
            throw LabError(.invalidArgument, "the policy file holds \(result.count) documents but \(whole.networkPolicies.count + whole.calicoPolicies.count) policies")
        }
        return result
    }

    /// The stored policy of ONE JSON policy document (as read back from the store, at `key`).
    public static func policy(from document: String, key expectedKey: String? = nil) throws(LabError) -> LabPolicy {
        let set: PolicySet
        do { set = try PolicySet(parsing: document) } catch {
            throw LabError(.invalidArgument, "policy document \(expectedKey ?? "") is not valid", underlying: error)
        }
        let policy: LabPolicy
        if set.networkPolicies.count == 1, set.calicoPolicies.isEmpty, let only = set.networkPolicies.first {
            policy = LabPolicy(
                kind: .kubernetes, namespace: only.namespace, name: only.name,
                key: kubernetesKey(namespace: only.namespace, name: only.name), document: document)
        } else if set.calicoPolicies.count == 1, set.networkPolicies.isEmpty, let only = set.calicoPolicies.first {
            switch only.scope {
            case .global:
                policy = LabPolicy(kind: .calicoGlobal, namespace: nil, name: only.name, key: globalKey(name: only.name), document: document)
            case let .namespaced(namespace):
                guard namespace != "global" else {
                    throw LabError(
                        .invalidName, "Calico NetworkPolicy global/\(only.name): namespace 'global' would collide with the key of global policies")
                }
                policy = LabPolicy(
                    kind: .calico, namespace: namespace, name: only.name, key: calicoKey(namespace: namespace, name: only.name),
                    document: document)
            }
        } else {
            throw LabError(.invalidArgument, "a stored policy value holds exactly one policy document \(expectedKey ?? "")")
        }
        // A value found under another key (written by another tool with another layout below
        // the prefix) is listed, and deleted, under the key it was found at.
        var found = policy
        if let expectedKey { found.key = expectedKey }
        return found
    }

    /// Flattens JSON arrays and `…List` documents with `items`, as `PolicySet(parsing:)` does.
    static func expand(_ node: Node, into documents: inout [Node]) {
        if let sequence = node.sequence {
            for item in sequence { expand(item, into: &documents) }
            return
        }
        guard let mapping = node.mapping else { return }  // null documents: skipped (PolicySet accepted them)
        if let kind = mapping["kind"]?.string, let items = mapping["items"], kind == "List" || kind.hasSuffix("List") {
            if let sequence = items.sequence { for item in sequence { expand(item, into: &documents) } }
            return
        }
        documents.append(node)
    }

    /// Compact JSON with sorted keys of one YAML node.
    static func json(_ node: Node) throws(LabError) -> String {
        do {
            let data = try JSONSerialization.data(
                withJSONObject: try foundationValue(node), options: [.sortedKeys, .withoutEscapingSlashes])
            return String(decoding: data, as: UTF8.self)
        } catch let error as LabError { throw error } catch {
            throw LabError(.invalidArgument, "a policy document cannot be written as JSON", underlying: error)
        }
    }

    private static func foundationValue(_ node: Node) throws -> Any {
        if let mapping = node.mapping {
            var object: [String: Any] = [:]
            for (key, value) in mapping {
                guard let name = key.string else { throw LabError(.invalidArgument, "a mapping key is not a string: \(key)") }
                object[name] = try foundationValue(value)
            }
            return object
        }
        if let sequence = node.sequence { return try sequence.map { try foundationValue($0) } }
        guard let scalar = node.scalar else { throw LabError(.invalidArgument, "unsupported YAML node \(node)") }
        switch node.tag.rawValue {
        case Tag.Name.null.rawValue: return NSNull()
        case Tag.Name.bool.rawValue: return node.bool ?? scalar.string
        case Tag.Name.int.rawValue: return node.int ?? scalar.string
        case Tag.Name.float.rawValue:
            guard let value = node.float, value.isFinite else { return scalar.string }
            return value
        default: return scalar.string
        }
    }
}
