/// One kind of API resource: where it lives in the API and how it is named.
public struct ResourceType: Hashable, Sendable, CustomStringConvertible {
    /// The API group; empty for the core group (`/api/v1`).
    public var group: String
    public var version: String
    /// The plural lower-case name in paths (`pods`, `networkpolicies`).
    public var plural: String
    public var kind: String
    /// Whether objects live in a namespace (pods) or in the cluster (nodes, namespaces).
    public var namespaced: Bool
    /// Short names `kubectl` accepts (`no`, `po`, `ns`, `netpol`).
    public var shortNames: [String]
    /// Whether the resource has a `/status` subresource.
    public var hasStatus: Bool

    public init(
        group: String, version: String, plural: String, kind: String, namespaced: Bool,
        shortNames: [String] = [], hasStatus: Bool = false
    ) {
        self.group = group
        self.version = version
        self.plural = plural
        self.kind = kind
        self.namespaced = namespaced
        self.shortNames = shortNames
        self.hasStatus = hasStatus
    }

    /// `v1`, `networking.k8s.io/v1`.
    public var apiVersion: String { group.isEmpty ? version : "\(group)/\(version)" }
    /// `/api/v1`, `/apis/networking.k8s.io/v1`.
    public var groupVersionPath: String { group.isEmpty ? "/api/\(version)" : "/apis/\(group)/\(version)" }
    /// The singular name (`pod`).
    public var singular: String { kind.lowercased() }
    public var description: String { group.isEmpty ? plural : "\(plural).\(group)" }

    /// The URL path of a collection or of one object (`/api/v1/namespaces/NS/pods/NAME/status`).
    /// A nil namespace on a namespaced resource means "across all namespaces" (lists, watches).
    public func path(namespace: String?, name: String? = nil, subresource: String? = nil) -> String {
        var path = groupVersionPath
        if namespaced, let namespace { path += "/namespaces/\(namespace)" }
        path += "/\(plural)"
        if let name { path += "/\(name)" }
        if let subresource { path += "/\(subresource)" }
        return path
    }

    public static let nodes = ResourceType(
        group: "", version: "v1", plural: "nodes", kind: "Node", namespaced: false, shortNames: ["no"], hasStatus: true)
    public static let pods = ResourceType(
        group: "", version: "v1", plural: "pods", kind: "Pod", namespaced: true, shortNames: ["po"], hasStatus: true)
    public static let namespaces = ResourceType(
        group: "", version: "v1", plural: "namespaces", kind: "Namespace", namespaced: false, shortNames: ["ns"], hasStatus: true)
    public static let networkPolicies = ResourceType(
        group: "networking.k8s.io", version: "v1", plural: "networkpolicies", kind: "NetworkPolicy", namespaced: true,
        shortNames: ["netpol"])
}

/// Where one object lives: `namespace/name` for namespaced objects, `name` otherwise (the key
/// client-go's `MetaNamespaceKeyFunc` gives, and the key of an ``InformerStore``).
public struct ObjectKey: Hashable, Sendable, Comparable, CustomStringConvertible {
    public var namespace: String?
    public var name: String

    public init(namespace: String?, name: String) {
        self.namespace = (namespace?.isEmpty ?? true) ? nil : namespace
        self.name = name
    }

    public var description: String { namespace.map { "\($0)/\(name)" } ?? name }
    public static func < (lhs: ObjectKey, rhs: ObjectKey) -> Bool { lhs.description < rhs.description }
}

/// An API object kept as its JSON, with typed accessors: fields this module does not model
/// round-trip unchanged through a get, a change and an update.
public protocol KubernetesObject: Hashable, Sendable {
    static var resourceType: ResourceType { get }
    /// The whole object as the API sent it (or as it will be sent).
    var json: JSONObject { get set }
    init(json: JSONObject)
}

extension KubernetesObject {
    /// A new object with `apiVersion`, `kind` and the name (and namespace) set.
    public init(name: String, namespace: String? = nil) {
        var metadata: JSONObject = ["name": .string(name)]
        if let namespace { metadata["namespace"] = .string(namespace) }
        self.init(json: [
            "apiVersion": .string(Self.resourceType.apiVersion), "kind": .string(Self.resourceType.kind),
            "metadata": .object(metadata),
        ])
    }

    /// Decodes an object from JSON text.
    public init(jsonBytes: some Collection<UInt8>) throws {
        self.init(json: try JSONValue.decodeObject(jsonBytes))
    }

    public var metadata: ObjectMeta {
        get { ObjectMeta(json: json[object: "metadata"]) }
        set { json[object: "metadata"] = newValue.json }
    }
    public var name: String { metadata.name }
    public var namespace: String? { metadata.namespace }
    public var resourceVersion: String? { metadata.resourceVersion }
    public var key: ObjectKey { ObjectKey(namespace: metadata.namespace, name: metadata.name) }
    public var labels: [String: String] {
        get { metadata.labels }
        set { metadata.labels = newValue }
    }
    public var annotations: [String: String] {
        get { metadata.annotations }
        set { metadata.annotations = newValue }
    }

    /// The object as compact JSON text.
    public func encoded() -> [UInt8] { json.encodedJSON() }
}

/// `metadata` of an object, as a view over its JSON.
public struct ObjectMeta: Hashable, Sendable {
    public var json: JSONObject
    public init(json: JSONObject = [:]) { self.json = json }

    public var name: String {
        get { json["name"]?.stringValue ?? "" }
        set { json["name"] = .string(newValue) }
    }
    public var namespace: String? {
        get { json["namespace"]?.stringValue }
        set { json["namespace"] = newValue.map { .string($0) } }
    }
    public var resourceVersion: String? {
        get { json["resourceVersion"]?.stringValue }
        set { json["resourceVersion"] = newValue.map { .string($0) } }
    }
    public var uid: String? { json["uid"]?.stringValue }
    public var generation: Int64? { json["generation"]?.integerValue }
    public var creationTimestamp: String? { json["creationTimestamp"]?.stringValue }
    public var deletionTimestamp: String? { json["deletionTimestamp"]?.stringValue }
    public var labels: [String: String] {
        get { json.stringMap("labels") }
        set { json.setStringMap("labels", newValue) }
    }
    public var annotations: [String: String] {
        get { json.stringMap("annotations") }
        set { json.setStringMap("annotations", newValue) }
    }
    public var finalizers: [String] {
        get { json["finalizers"]?.arrayValue?.compactMap(\.stringValue) ?? [] }
        set { json["finalizers"] = newValue.isEmpty ? nil : .array(newValue.map { .string($0) }) }
    }
}
