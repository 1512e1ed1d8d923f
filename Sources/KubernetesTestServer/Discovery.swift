import Kubernetes

/// The discovery documents kubectl reads before anything else (legacy discovery: a plain
/// JSON answer to `/api` and `/apis` makes kubectl 1.32 fall back from aggregated discovery).
enum Discovery {
    static func document(path: String, serverAddress: String) -> JSONObject? {
        switch path {
        case "/api":
            return [
                "kind": "APIVersions", "versions": ["v1"],
                "serverAddressByClientCIDRs": [["clientCIDR": "0.0.0.0/0", "serverAddress": .string(serverAddress)]],
            ]
        case "/apis":
            return ["kind": "APIGroupList", "apiVersion": "v1", "groups": .array(groups.map { .object(group($0)) })]
        case "/version":
            return [
                "major": "1", "minor": "32", "gitVersion": "v1.32.0-swiftcni-fixture", "gitCommit": "", "gitTreeState": "clean",
                "buildDate": "2026-01-01T00:00:00Z", "goVersion": "none", "compiler": "swift", "platform": "linux/amd64",
            ]
        default:
            for name in groups where path == "/apis/\(name)" {
                return group(name).merging(["kind": "APIGroup", "apiVersion": "v1"]) { $1 }
            }
            let served = Set(ResourceCatalog.all.map(\.groupVersionPath))
            guard served.contains(path) else { return nil }
            return resourceList(groupVersionPath: path)
        }
    }

    static var groups: [String] { Array(Set(ResourceCatalog.all.map(\.group).filter { !$0.isEmpty })).sorted() }

    static func group(_ name: String) -> JSONObject {
        let version: JSONObject = ["groupVersion": .string("\(name)/v1"), "version": "v1"]
        return ["name": .string(name), "versions": [.object(version)], "preferredVersion": .object(version)]
    }

    /// kube-apiserver 1.20's `storageVersionHash` of each served resource (what clients such as
    /// the storage migrator compare), and its verbs and categories.
    static let storageVersionHashes = [
        "namespaces": "Q3oi5N2YM8M=", "nodes": "XwShjMxG9Fs=", "pods": "xPOwRZ+Yhw8=", "networkpolicies": "YpfwF18m1G8=",
    ]

    static func resourceList(groupVersionPath: String) -> JSONObject {
        var resources: [JSONValue] = []
        for resource in ResourceCatalog.all where resource.groupVersionPath == groupVersionPath {
            var verbs: [JSONValue] = ["create", "delete", "get", "list", "patch", "update", "watch"]
            if resource != .namespaces { verbs.insert("deletecollection", at: 2) }
            var entry: JSONObject = [
                "name": .string(resource.plural), "singularName": "", "namespaced": .bool(resource.namespaced),
                "kind": .string(resource.kind), "verbs": .array(verbs), "shortNames": .array(resource.shortNames.map { .string($0) }),
            ]
            if let hash = storageVersionHashes[resource.plural] { entry["storageVersionHash"] = .string(hash) }
            if resource == .pods { entry["categories"] = ["all"] }
            resources.append(.object(entry))
            if resource.hasStatus {
                resources.append([
                    "name": .string("\(resource.plural)/status"), "singularName": "", "namespaced": .bool(resource.namespaced),
                    "kind": .string(resource.kind), "verbs": ["get", "patch", "update"],
                ])
            }
        }
        let groupVersion = ResourceCatalog.all.first { $0.groupVersionPath == groupVersionPath }?.apiVersion ?? ""
        var list: JSONObject = ["kind": "APIResourceList", "groupVersion": .string(groupVersion), "resources": .array(resources)]
        // The core group's list has no apiVersion, the named groups' have (as 1.20 answers).
        if groupVersion.contains("/") { list["apiVersion"] = "v1" }
        return list
    }
}

/// A request path split into what it addresses.
struct ResourcePath {
    var resource: ResourceType
    var namespace: String?
    var name: String?
    var subresource: String?

    /// Parses `/api/v1/namespaces/NS/pods/NAME/status` and the like; nil when the path is not
    /// a resource the fixture serves.
    init?(_ path: String) {
        var segments = path.split(separator: "/").map(String.init)
        let groupVersion: String
        if segments.first == "api", segments.count >= 3 {
            groupVersion = "/api/\(segments[1])"
            segments.removeFirst(2)
        } else if segments.first == "apis", segments.count >= 4 {
            groupVersion = "/apis/\(segments[1])/\(segments[2])"
            segments.removeFirst(3)
        } else {
            return nil
        }
        if segments.count >= 3, segments[0] == "namespaces",
            let namespaced = ResourceCatalog.resource(groupVersionPath: groupVersion, plural: segments[2]), namespaced.namespaced
        {
            namespace = segments[1]
            segments.removeFirst(2)
        }
        guard let resource = ResourceCatalog.resource(groupVersionPath: groupVersion, plural: segments[0]),
            segments.count <= 3
        else { return nil }
        if resource.namespaced == false, namespace != nil { return nil }
        self.resource = resource
        name = segments.count > 1 ? segments[1] : nil
        subresource = segments.count > 2 ? segments[2] : nil
        if let subresource, subresource != "status" || !resource.hasStatus { return nil }
    }
}
