#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Kubernetes

/// The resources the fixture serves.
enum ResourceCatalog {
    static let all: [ResourceType] = [.namespaces, .nodes, .pods, .networkPolicies]

    static func resource(groupVersionPath: String, plural: String) -> ResourceType? {
        all.first { $0.groupVersionPath == groupVersionPath && $0.plural == plural }
    }
}

/// What kube-apiserver's registry strategies do to objects on create and update, for the
/// fields the fixture's clients touch: defaults, identity fields kept, status kept apart from
/// spec, and the validations tests rely on (a node's podCIDR may be set once).
enum ObjectRules {
    static func prepareCreate(_ resource: ResourceType, namespace: String?, body: JSONObject) throws -> JSONObject {
        var object = body
        if let kind = object["kind"]?.stringValue, kind != resource.kind {
            throw APIError.badRequest("the API version in the data (\(object["apiVersion"]?.stringValue ?? "")) does not match the expected API version (\(resource.apiVersion)) or kind \(kind) is not \(resource.kind)")
        }
        object["kind"] = .string(resource.kind)
        object["apiVersion"] = .string(resource.apiVersion)
        var metadata = object[object: "metadata"]
        var name = metadata["name"]?.stringValue ?? ""
        if name.isEmpty, let prefix = metadata["generateName"]?.stringValue, !prefix.isEmpty {
            let alphabet = Array("bcdfghjklmnpqrstvwxz2456789")
            name = prefix + String((0..<5).map { _ in alphabet.randomElement()! })
        }
        guard !name.isEmpty else {
            throw APIError.invalid(resource, "", field: "metadata.name", cause: "FieldValueRequired",
                                   detail: "Required value: name or generateName is required")
        }
        guard isValidName(name) else {
            throw APIError.invalid(resource, name, field: "metadata.name", cause: "FieldValueInvalid",
                                   detail: "Invalid value: \"\(name)\": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.'")
        }
        metadata["name"] = .string(name)
        if resource.namespaced {
            if let given = metadata["namespace"]?.stringValue, !given.isEmpty, given != namespace {
                throw APIError.badRequest("the namespace of the provided object does not match the namespace sent on the request")
            }
            metadata["namespace"] = namespace.map { .string($0) }
        } else {
            metadata["namespace"] = nil
        }
        metadata["uid"] = .string(UUID().uuidString.lowercased())
        metadata["creationTimestamp"] = .string(Date.now.formatted(.iso8601))
        metadata["resourceVersion"] = nil
        metadata["deletionTimestamp"] = nil
        object["metadata"] = .object(metadata)
        switch resource {
        case .namespaces:
            object[object: "status"] = ["phase": "Active"]
            var spec = object[object: "spec"]
            if spec["finalizers"] == nil { spec["finalizers"] = ["kubernetes"] }
            object["spec"] = .object(spec)
        case .pods:
            try Defaults.validatePod(object, name: name)
            object = Defaults.pod(object, creating: true)
        case .nodes:
            try validatePodCIDRs(resource, name: name, old: nil, new: object)
            object = Defaults.node(object)
        case .networkPolicies:
            object[object: "metadata"]["generation"] = 1
        default: break
        }
        return object
    }

    static func prepareUpdate(
        _ resource: ResourceType, name: String, namespace: String?, old: JSONObject, new body: JSONObject, statusOnly: Bool
    ) throws -> JSONObject {
        if let bodyName = body[object: "metadata"]["name"]?.stringValue, !bodyName.isEmpty, bodyName != name {
            throw APIError.badRequest("the name of the object (\(bodyName)) does not match the name on the URL (\(name))")
        }
        var object: JSONObject
        if statusOnly {
            // The status subresource changes only status (and nothing else of the body), except
            // that kube-apiserver's node status strategy resets only the spec: a node's labels
            // and annotations may be changed through nodes/NAME/status (flannel's kube subnet
            // manager writes its annotations that way).
            object = old
            object["status"] = body["status"]
            if resource == .nodes, let metadata = body["metadata"] { object["metadata"] = metadata }
        } else {
            object = body
            if resource.hasStatus { object["status"] = old["status"] }
        }
        object["kind"] = .string(resource.kind)
        object["apiVersion"] = .string(resource.apiVersion)
        var metadata = object[object: "metadata"]
        let oldMetadata = old[object: "metadata"]
        for field in ["name", "namespace", "uid", "creationTimestamp", "deletionTimestamp", "generateName"] {
            metadata[field] = oldMetadata[field]
        }
        object["metadata"] = .object(metadata)
        switch resource {
        case .nodes: try validatePodCIDRs(resource, name: name, old: old, new: object)
        case .pods: object = Defaults.pod(object, creating: false)
        case .networkPolicies:
            // metadata.generation counts spec changes.
            let generation = oldMetadata["generation"]?.integerValue ?? 1
            object[object: "metadata"]["generation"] = .integer(object["spec"] == old["spec"] ? generation : generation + 1)
        default: break
        }
        return object
    }

    /// kube-apiserver's node validation: `spec.podCIDR(s)` may go from empty to a value, never
    /// change after; `podCIDR` must equal the first of `podCIDRs`.
    static func validatePodCIDRs(_ resource: ResourceType, name: String, old: JSONObject?, new: JSONObject) throws {
        let spec = new[object: "spec"]
        var cidrs = spec["podCIDRs"]?.arrayValue?.compactMap(\.stringValue) ?? []
        let single = spec["podCIDR"]?.stringValue ?? ""
        if cidrs.isEmpty, !single.isEmpty { cidrs = [single] }
        if let old {
            let oldSpec = old[object: "spec"]
            var oldCIDRs = oldSpec["podCIDRs"]?.arrayValue?.compactMap(\.stringValue) ?? []
            let oldSingle = oldSpec["podCIDR"]?.stringValue ?? ""
            if oldCIDRs.isEmpty, !oldSingle.isEmpty { oldCIDRs = [oldSingle] }
            if !oldCIDRs.isEmpty && (oldCIDRs != cidrs || oldSingle != single) {
                // kube-apiserver reports the podCIDR rule and, because the spec then differs in
                // a field a node update may not touch, the general node-update rule on "[]".
                throw APIError.invalid(resource, name, causes: [
                    .init(field: "spec.podCIDRs", reason: "FieldValueForbidden",
                          message: "Forbidden: node updates may not change podCIDR except from \"\" to valid"),
                    .init(field: "[]", reason: "FieldValueForbidden",
                          message: "Forbidden: node updates may only change labels, taints, or capacity (or configSource, if the DynamicKubeletConfig feature gate is enabled)"),
                ])
            }
        }
        if !single.isEmpty, cidrs.first != single {
            throw APIError.invalid(resource, name, field: "spec.podCIDRs", cause: "FieldValueInvalid",
                                   detail: "Invalid value: \"\(cidrs)\": must match the first element of podCIDRs")
        }
        for cidr in cidrs where !isCIDR(cidr) {
            throw APIError.invalid(resource, name, field: "spec.podCIDRs", cause: "FieldValueInvalid",
                                   detail: "Invalid value: \"\(cidr)\": must be a valid CIDR")
        }
    }

    static func isValidName(_ name: String) -> Bool {
        func alphanumeric(_ character: Character) -> Bool { ("a"..."z").contains(character) || ("0"..."9").contains(character) }
        guard name.count <= 253, let first = name.first, let last = name.last, alphanumeric(first), alphanumeric(last) else {
            return false
        }
        return name.allSatisfy { alphanumeric($0) || $0 == "-" || $0 == "." }
    }

    static func isCIDR(_ text: String) -> Bool {
        let parts = text.split(separator: "/")
        guard parts.count == 2, let length = Int(parts[1]) else { return false }
        let address = parts[0]
        if address.contains(":") { return length <= 128 && address.allSatisfy { $0.isHexDigit || $0 == ":" } }
        let octets = address.split(separator: ".", omittingEmptySubsequences: false)
        return length <= 32 && octets.count == 4 && octets.allSatisfy { UInt8($0) != nil }
    }
}
