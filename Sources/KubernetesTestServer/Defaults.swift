import Kubernetes

/// The defaults kube-apiserver 1.20 writes into objects (its scheme defaulting on every write,
/// plus the default admission plugins on create: `TaintNodesByCondition`,
/// `DefaultTolerationSeconds`, `Priority`), and the pod validation the fixture applies. Only
/// fields the golden exchanges show (Tests/KubernetesTests/Fixtures/golden).
enum Defaults {
    /// Pod defaults. `creating`: also what admission adds (tolerations, priority).
    static func pod(_ object: JSONObject, creating: Bool) -> JSONObject {
        var object = object
        var spec = object[object: "spec"]
        let scalars: [(String, JSONValue)] = [
            ("dnsPolicy", "ClusterFirst"), ("restartPolicy", "Always"), ("schedulerName", "default-scheduler"),
            ("securityContext", .object([:])), ("terminationGracePeriodSeconds", 30), ("enableServiceLinks", true),
        ]
        for (field, value) in scalars where spec[field] == nil { spec[field] = value }
        for list in ["containers", "initContainers"] {
            guard let containers = spec[list]?.arrayValue else { continue }
            spec[list] = .array(containers.map { .object(container($0.objectValue ?? [:])) })
        }
        if creating {
            if spec["priority"] == nil { spec["priority"] = 0 }
            if spec["preemptionPolicy"] == nil { spec["preemptionPolicy"] = "PreemptLowerPriority" }
            spec["tolerations"] = .array(tolerations(spec["tolerations"]?.arrayValue ?? []))
        }
        object["spec"] = .object(spec)
        var status = object[object: "status"]
        if status["phase"] == nil { status["phase"] = "Pending" }
        if status["qosClass"] == nil, creating { status["qosClass"] = .string(qosClass(spec)) }
        object["status"] = .object(status)
        return object
    }

    static func container(_ container: JSONObject) -> JSONObject {
        var container = container
        if container["imagePullPolicy"] == nil {
            let image = container["image"]?.stringValue ?? ""
            let name = image.split(separator: "/").last.map(String.init) ?? image
            let tag = name.contains("@") ? "digest" : (name.split(separator: ":").dropFirst().first.map(String.init) ?? "latest")
            container["imagePullPolicy"] = tag == "latest" ? "Always" : "IfNotPresent"
        }
        if container["resources"] == nil { container["resources"] = .object([:]) }
        if container["terminationMessagePath"] == nil { container["terminationMessagePath"] = "/dev/termination-log" }
        if container["terminationMessagePolicy"] == nil { container["terminationMessagePolicy"] = "File" }
        if let ports = container["ports"]?.arrayValue {
            container["ports"] = .array(ports.map { port in
                var port = port.objectValue ?? [:]
                if port["protocol"] == nil { port["protocol"] = "TCP" }
                return .object(port)
            })
        }
        return container
    }

    /// `DefaultTolerationSeconds`: tolerate not-ready and unreachable for 300 s unless the pod
    /// already says how.
    static func tolerations(_ given: [JSONValue]) -> [JSONValue] {
        var result = given
        for key in ["node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable"] {
            let covered = given.contains { toleration in
                let effect = toleration["effect"]?.stringValue ?? ""
                return toleration["key"]?.stringValue == key && (effect.isEmpty || effect == "NoExecute")
            }
            if !covered {
                result.append(["effect": "NoExecute", "key": .string(key), "operator": "Exists", "tolerationSeconds": 300])
            }
        }
        return result
    }

    /// BestEffort without any request or limit, Guaranteed when every container's limits
    /// cover cpu and memory and equal its requests, Burstable otherwise.
    static func qosClass(_ spec: JSONObject) -> String {
        let containers = (spec["containers"]?.arrayValue ?? []).compactMap { $0.objectValue?[object: "resources"] }
        let empty = containers.allSatisfy { ($0["requests"]?.objectValue ?? [:]).isEmpty && ($0["limits"]?.objectValue ?? [:]).isEmpty }
        if empty { return "BestEffort" }
        let guaranteed = !containers.isEmpty && containers.allSatisfy { resources in
            let limits = resources[object: "limits"]
            let requests = resources[object: "requests"]
            return limits["cpu"] != nil && limits["memory"] != nil && requests.allSatisfy { limits[$0.key] == $0.value }
        }
        return guaranteed ? "Guaranteed" : "Burstable"
    }

    /// Node defaults on create: the not-ready taint (`TaintNodesByCondition`) and the zero
    /// status fields the real server always writes.
    static func node(_ object: JSONObject) -> JSONObject {
        var object = object
        var spec = object[object: "spec"]
        var taints = spec["taints"]?.arrayValue ?? []
        if !taints.contains(where: { $0["key"]?.stringValue == "node.kubernetes.io/not-ready" }) {
            taints.append(["effect": "NoSchedule", "key": "node.kubernetes.io/not-ready"])
        }
        spec["taints"] = .array(taints)
        object["spec"] = .object(spec)
        object["status"] = .object(nodeStatus(object[object: "status"]))
        return object
    }

    static func nodeStatus(_ status: JSONObject) -> JSONObject {
        var status = status
        if status["daemonEndpoints"] == nil { status["daemonEndpoints"] = ["kubeletEndpoint": ["Port": 0]] }
        var info = status[object: "nodeInfo"]
        for field in ["architecture", "bootID", "containerRuntimeVersion", "kernelVersion", "kubeProxyVersion", "kubeletVersion",
                      "machineID", "operatingSystem", "osImage", "systemUUID"] where info[field] == nil {
            info[field] = ""
        }
        status["nodeInfo"] = .object(info)
        return status
    }

    /// The pod validation of the golden exchanges: `spec.containers` may not be empty. (A pod
    /// without a `containers` field at all is accepted: the lab and many tests create such
    /// bare pods, which a real server refuses with the same cause.)
    static func validatePod(_ object: JSONObject, name: String) throws {
        if let containers = object[object: "spec"]["containers"]?.arrayValue, containers.isEmpty {
            throw APIError.invalid(.pods, name, field: "spec.containers", cause: "FieldValueRequired", detail: "Required value")
        }
    }

    /// What a watch's BOOKMARK carries: the resource's empty object as the Go server encodes it
    /// (zero structs kept, `creationTimestamp: null`), with only a resourceVersion.
    static func bookmarkObject(_ resource: ResourceType, revision: Int64) -> JSONObject {
        var object: JSONObject = [
            "kind": .string(resource.kind), "apiVersion": .string(resource.apiVersion),
            "metadata": ["resourceVersion": .string(String(revision)), "creationTimestamp": .null],
        ]
        switch resource {
        case .pods: object["spec"] = ["containers": .null]; object["status"] = .object([:])
        case .nodes: object["spec"] = .object([:]); object["status"] = .object(nodeStatus([:]))
        case .namespaces: object["spec"] = .object([:]); object["status"] = .object([:])
        case .networkPolicies: object["spec"] = ["podSelector": .object([:])]
        default: break
        }
        return object
    }
}
