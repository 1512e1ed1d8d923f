/// A node (`kubectl get nodes`): its pod CIDRs, addresses and conditions.
public struct Node: KubernetesObject {
    public static let resourceType = ResourceType.nodes
    public var json: JSONObject
    public init(json: JSONObject) { self.json = json }

    /// `spec.podCIDR` (the first of `podCIDRs`).
    public var podCIDR: String? {
        get { json[object: "spec"]["podCIDR"]?.stringValue }
        set { json[object: "spec"]["podCIDR"] = newValue.map { .string($0) } }
    }
    /// `spec.podCIDRs` (one per address family).
    public var podCIDRs: [String] {
        get { json[object: "spec"]["podCIDRs"]?.arrayValue?.compactMap(\.stringValue) ?? podCIDR.map { [$0] } ?? [] }
        set { json[object: "spec"]["podCIDRs"] = newValue.isEmpty ? nil : .array(newValue.map { .string($0) }) }
    }
    /// `status.addresses`: (type, address) pairs such as (`InternalIP`, `10.0.0.1`).
    public var addresses: [NodeAddress] {
        json[object: "status"]["addresses"]?.arrayValue?.compactMap { entry in
            guard let type = entry["type"]?.stringValue, let address = entry["address"]?.stringValue else { return nil }
            return NodeAddress(type: type, address: address)
        } ?? []
    }
    /// The first `InternalIP` address.
    public var internalIP: String? { addresses.first { $0.type == "InternalIP" }?.address }
    /// `status.conditions`.
    public var conditions: [Condition] {
        get { json[object: "status"]["conditions"]?.arrayValue?.compactMap { $0.objectValue.map(Condition.init(json:)) } ?? [] }
        set { json[object: "status"]["conditions"] = .array(newValue.map { .object($0.json) }) }
    }
    /// The condition of `type`, if present.
    public func condition(_ type: String) -> Condition? { conditions.first { $0.type == type } }
    /// Replaces or adds the condition with `condition.type`.
    public mutating func setCondition(_ condition: Condition) {
        var all = conditions
        if let index = all.firstIndex(where: { $0.type == condition.type }) { all[index] = condition } else { all.append(condition) }
        conditions = all
    }
}

/// One entry of a node's `status.addresses`.
public struct NodeAddress: Hashable, Sendable {
    public var type: String
    public var address: String
    public init(type: String, address: String) {
        self.type = type
        self.address = address
    }
}

/// A condition (`status.conditions[]` of nodes and pods), as a view over its JSON.
public struct Condition: Hashable, Sendable {
    public var json: JSONObject
    public init(json: JSONObject) { self.json = json }
    public init(type: String, status: String, reason: String? = nil, message: String? = nil, time: String? = nil) {
        json = ["type": .string(type), "status": .string(status)]
        if let reason { json["reason"] = .string(reason) }
        if let message { json["message"] = .string(message) }
        if let time {
            json["lastTransitionTime"] = .string(time)
            json["lastHeartbeatTime"] = .string(time)
        }
    }
    public var type: String { json["type"]?.stringValue ?? "" }
    /// `True`, `False` or `Unknown`.
    public var status: String { json["status"]?.stringValue ?? "" }
    public var reason: String? { json["reason"]?.stringValue }
    public var message: String? { json["message"]?.stringValue }
}

/// A pod: where it runs, whether it uses the host's network, its addresses.
public struct Pod: KubernetesObject {
    public static let resourceType = ResourceType.pods
    public var json: JSONObject
    public init(json: JSONObject) { self.json = json }

    /// `spec.nodeName` (nil until scheduled).
    public var nodeName: String? {
        get { json[object: "spec"]["nodeName"]?.stringValue }
        set { json[object: "spec"]["nodeName"] = newValue.map { .string($0) } }
    }
    /// `spec.hostNetwork`.
    public var hostNetwork: Bool { json[object: "spec"]["hostNetwork"]?.boolValue ?? false }
    /// `status.phase` (`Pending`, `Running`, `Succeeded`, `Failed`).
    public var phase: String? {
        get { json[object: "status"]["phase"]?.stringValue }
        set { json[object: "status"]["phase"] = newValue.map { .string($0) } }
    }
    /// `status.podIPs[].ip`, or `status.podIP`.
    public var podIPs: [String] {
        get {
            let ips = json[object: "status"]["podIPs"]?.arrayValue?.compactMap { $0["ip"]?.stringValue } ?? []
            if !ips.isEmpty { return ips }
            return json[object: "status"]["podIP"]?.stringValue.map { [$0] } ?? []
        }
        set {
            json[object: "status"]["podIP"] = newValue.first.map { .string($0) }
            json[object: "status"]["podIPs"] = newValue.isEmpty ? nil : .array(newValue.map { .object(["ip": .string($0)]) })
        }
    }
    /// `status.hostIP`.
    public var hostIP: String? { json[object: "status"]["hostIP"]?.stringValue }
    /// Named container ports: name → (port, protocol), for network policies' named ports.
    public var namedPorts: [String: (port: Int, protocol: String)] {
        var ports: [String: (port: Int, protocol: String)] = [:]
        for container in json[object: "spec"]["containers"]?.arrayValue ?? [] {
            for port in container["ports"]?.arrayValue ?? [] {
                guard let name = port["name"]?.stringValue, let number = port["containerPort"]?.integerValue else { continue }
                ports[name] = (Int(number), port["protocol"]?.stringValue ?? "TCP")
            }
        }
        return ports
    }
}

/// A namespace.
public struct Namespace: KubernetesObject {
    public static let resourceType = ResourceType.namespaces
    public var json: JSONObject
    public init(json: JSONObject) { self.json = json }
    /// `status.phase` (`Active`, `Terminating`).
    public var phase: String? { json[object: "status"]["phase"]?.stringValue }
}

/// A NetworkPolicy (networking.k8s.io/v1). `spec` is kept as JSON; the Policy module owns the
/// semantics.
public struct NetworkPolicy: KubernetesObject {
    public static let resourceType = ResourceType.networkPolicies
    public var json: JSONObject
    public init(json: JSONObject) { self.json = json }
    public var spec: JSONObject {
        get { json[object: "spec"] }
        set { json[object: "spec"] = newValue }
    }
    /// `spec.policyTypes` (`Ingress`, `Egress`).
    public var policyTypes: [String] { spec["policyTypes"]?.arrayValue?.compactMap(\.stringValue) ?? [] }
}

/// The API's `Status` object: the body of every error answer and of a watch's ERROR event.
public struct Status: Hashable, Sendable {
    public var json: JSONObject
    public init(_ json: JSONObject) { self.json = json }

    /// A failure status (`status: Failure`) as the API server writes it.
    public init(code: Int, reason: String, message: String, details: JSONObject? = nil) {
        json = [
            "kind": "Status", "apiVersion": "v1", "metadata": .object([:]), "status": "Failure",
            "message": .string(message), "reason": .string(reason), "code": .integer(Int64(code)),
        ]
        if let details { json["details"] = .object(details) }
    }

    /// `Success` or `Failure`.
    public var status: String? { json["status"]?.stringValue }
    public var message: String? { json["message"]?.stringValue }
    /// `NotFound`, `AlreadyExists`, `Conflict`, `Expired`, `Gone`, `Invalid`, `TooManyRequests`…
    public var reason: String? { json["reason"]?.stringValue }
    public var code: Int? { json["code"]?.integerValue.map(Int.init) }
    public var retryAfterSeconds: Int? { json[object: "details"]["retryAfterSeconds"]?.integerValue.map(Int.init) }
    /// `details.causes`: (reason, message, field) triples.
    public var causes: [(reason: String?, message: String?, field: String?)] {
        (json[object: "details"]["causes"]?.arrayValue ?? []).map {
            ($0["reason"]?.stringValue, $0["message"]?.stringValue, $0["field"]?.stringValue)
        }
    }

    public static func == (lhs: Status, rhs: Status) -> Bool { lhs.json == rhs.json }
    public func hash(into hasher: inout Hasher) { hasher.combine(json) }
}

/// A list answer: the items, the version they were read at and the paging token.
public struct ObjectList<Object: KubernetesObject>: Sendable {
    public var items: [Object]
    /// `metadata.resourceVersion`: watch from here to see every later change.
    public var resourceVersion: String
    /// `metadata.continue`: pass to the next ``ListOptions`` to read the next page.
    public var continueToken: String?
    /// `metadata.remainingItemCount`, when the server knows it.
    public var remainingItemCount: Int64?

    public init(items: [Object], resourceVersion: String, continueToken: String? = nil, remainingItemCount: Int64? = nil) {
        self.items = items
        self.resourceVersion = resourceVersion
        self.continueToken = continueToken
        self.remainingItemCount = remainingItemCount
    }

    public init(json: JSONObject) throws {
        guard case .array(let items)? = json["items"] ?? .array([]) else {
            throw KubernetesError(.protocolError, "list has no items array")
        }
        self.items = items.compactMap { $0.objectValue.map(Object.init(json:)) }
        let metadata = json[object: "metadata"]
        resourceVersion = metadata["resourceVersion"]?.stringValue ?? ""
        let token = metadata["continue"]?.stringValue
        continueToken = (token?.isEmpty ?? true) ? nil : token
        remainingItemCount = metadata["remainingItemCount"]?.integerValue
    }
}

/// One event of a watch.
public enum WatchEvent<Object: KubernetesObject>: Sendable {
    case added(Object)
    case modified(Object)
    case deleted(Object)
    /// Carries only a resource version: everything up to it has been sent.
    case bookmark(resourceVersion: String)

    /// Decodes one line of a watch stream. An ERROR event is thrown as the error its Status
    /// stands for (410 → ``KubernetesError/Code/expired``).
    public init(json: JSONObject, server: String?) throws {
        let type = json["type"]?.stringValue ?? ""
        guard let object = json["object"]?.objectValue else {
            throw KubernetesError(.protocolError, "watch event \(type) has no object", server: server)
        }
        switch type {
        case "ADDED": self = .added(Object(json: object))
        case "MODIFIED": self = .modified(Object(json: object))
        case "DELETED": self = .deleted(Object(json: object))
        case "BOOKMARK":
            self = .bookmark(resourceVersion: object[object: "metadata"]["resourceVersion"]?.stringValue ?? "")
        case "ERROR":
            let status = Status(object)
            throw KubernetesError.fromStatus(status, httpStatus: status.code ?? 500, server: server)
        default:
            throw KubernetesError(.protocolError, "unknown watch event type '\(type)'", server: server)
        }
    }

    /// The resource version the event brings the watcher to.
    public var resourceVersion: String? {
        switch self {
        case .added(let object), .modified(let object), .deleted(let object): object.resourceVersion
        case .bookmark(let version): version
        }
    }
}
