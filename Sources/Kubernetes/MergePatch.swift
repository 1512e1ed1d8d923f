/// JSON merge patch (RFC 7386): `kubectl patch --type merge`, `Content-Type:
/// application/merge-patch+json`.
///
/// Objects merge member by member; `null` deletes a member; any other value (arrays included)
/// replaces the target's.
public enum JSONMergePatch {
    public static func apply(_ patch: JSONValue, to target: JSONValue) -> JSONValue {
        guard case .object(let patchObject) = patch else { return patch }
        var result = target.objectValue ?? [:]
        for (key, value) in patchObject {
            if value == .null {
                result[key] = nil
            } else {
                result[key] = apply(value, to: result[key] ?? .null)
            }
        }
        return .object(result)
    }
}

/// Kubernetes' strategic merge patch for the built-in types this module models
/// (`kubectl patch`, `kubectl label`/`annotate` use it; `Content-Type:
/// application/strategic-merge-patch+json`).
///
/// Like a JSON merge patch, except that lists with a merge key merge element by element on
/// that key (conditions by `type`, containers by `name`, addresses by `type`, ports by
/// `containerPort`…), primitive lists with the merge strategy (`finalizers`) merge as sets,
/// and the directives `$patch: delete` / `$patch: replace` on an element or object and
/// `$retainKeys`, `$deleteFromPrimitiveList/<field>` and `$setElementOrder/<field>` are
/// understood. Lists not in the table are replaced, as with a merge patch.
public enum StrategicMergePatch {
    /// Merge keys of the lists of Node, Pod, Namespace and NetworkPolicy (by member name).
    public static let mergeKeys: [String: String] = [
        "conditions": "type",
        "addresses": "type",
        "containers": "name",
        "initContainers": "name",
        "ephemeralContainers": "name",
        "volumes": "name",
        "volumeMounts": "mountPath",
        "env": "name",
        "ports": "containerPort",
        "containerStatuses": "name",
        "initContainerStatuses": "name",
        "taints": "key",
        "tolerations": "key",
        "podIPs": "ip",
        "hostIPs": "ip",
        "ownerReferences": "uid",
        "imagePullSecrets": "name",
    ]
    /// Primitive lists merged as sets.
    public static let setLists: Set<String> = ["finalizers"]

    public static func apply(_ patch: JSONValue, to target: JSONValue) -> JSONValue {
        guard case .object(var patchObject) = patch else { return patch }
        if patchObject["$patch"]?.stringValue == "replace" {
            patchObject["$patch"] = nil
            return .object(patchObject)
        }
        if patchObject["$patch"]?.stringValue == "delete" { return .null }
        var result = target.objectValue ?? [:]
        if case .array(let retain)? = patchObject.removeValue(forKey: "$retainKeys") {
            let kept = Set(retain.compactMap(\.stringValue))
            result = result.filter { kept.contains($0.key) }
        }
        for key in patchObject.keys.sorted() {
            let value = patchObject[key]!
            if key.hasPrefix("$setElementOrder/") { continue }
            if key.hasPrefix("$deleteFromPrimitiveList/") {
                let field = String(key.dropFirst("$deleteFromPrimitiveList/".count))
                let removed = Set(value.arrayValue ?? [])
                if let list = result[field]?.arrayValue { result[field] = .array(list.filter { !removed.contains($0) }) }
                continue
            }
            if value == .null { result[key] = nil; continue }
            switch value {
            case .object:
                let merged = apply(value, to: result[key] ?? .null)
                result[key] = merged == .null ? nil : merged
            case .array(let elements):
                result[key] = mergeList(key: key, patch: elements, target: result[key]?.arrayValue ?? [])
            default:
                result[key] = value
            }
        }
        return .object(result)
    }

    private static func mergeList(key: String, patch: [JSONValue], target: [JSONValue]) -> JSONValue {
        if setLists.contains(key) {
            var merged = target
            for element in patch where !merged.contains(element) { merged.append(element) }
            return .array(merged)
        }
        guard let mergeKey = mergeKeys[key] else { return .array(patch) }
        if patch.contains(where: { $0["$patch"]?.stringValue == "replace" }) {
            return .array(patch.filter { $0["$patch"] == nil })
        }
        var merged = target
        for element in patch {
            guard let id = element[mergeKey] else { merged.append(element); continue }
            let index = merged.firstIndex { $0[mergeKey] == id }
            if element["$patch"]?.stringValue == "delete" {
                if let index { merged.remove(at: index) }
            } else if let index {
                merged[index] = apply(element, to: merged[index])
            } else {
                merged.append(apply(element, to: .object([:])))
            }
        }
        return .array(ordered(merged, patch: patch, target: target, mergeKey: mergeKey))
    }

    /// The order kube-apiserver gives a merged list: the patched elements in the patch's order,
    /// the elements only the server had in its order, interleaved by the server's order where
    /// both sides know an element (a new element goes before the server-only ones).
    private static func ordered(_ merged: [JSONValue], patch: [JSONValue], target: [JSONValue], mergeKey: String) -> [JSONValue] {
        let patchIDs = patch.filter { $0["$patch"]?.stringValue != "delete" }.compactMap { $0[mergeKey] }
        var fromPatch: [JSONValue] = []
        for id in patchIDs where !fromPatch.contains(where: { $0[mergeKey] == id }) {
            if let element = merged.first(where: { $0[mergeKey] == id }) { fromPatch.append(element) }
        }
        let serverOnly = merged.filter { element in
            guard let id = element[mergeKey] else { return false }
            return !patchIDs.contains(id)
        }
        let keyless = merged.filter { $0[mergeKey] == nil }
        let serverOrder = target.compactMap { $0[mergeKey] }
        var result: [JSONValue] = []
        var left = serverOnly[...]
        var right = fromPatch[...]
        while let next = left.first ?? right.first {
            if let l = left.first, let r = right.first {
                let li = serverOrder.firstIndex(of: l[mergeKey]!)
                let ri = r[mergeKey].flatMap { serverOrder.firstIndex(of: $0) }
                if let li, let ri, li < ri { result.append(l); left.removeFirst() } else { result.append(r); right.removeFirst() }
            } else if left.first != nil {
                result.append(next)
                left.removeFirst()
            } else {
                result.append(next)
                right.removeFirst()
            }
        }
        return result + keyless
    }
}
