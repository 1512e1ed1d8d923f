import Datastore
import Kubernetes

/// How swift-kube-sync marks what it owns, so it never changes or deletes what a plugin, an
/// agent or the lab wrote (Documentation/Datastore.md):
///
/// - a pod or node record it wrote carries the field `kubernetesUID` (the object's UID);
/// - a NetworkPolicy document it wrote carries the annotation `swiftcni.io/kube-sync` (the UID);
/// - a namespace label map cannot carry a mark (every field is a label), so the sync claims it
///   with the key `/swiftcni/sync/kubernetes/namespaces/<namespace>`, written before the map and
///   deleted after it.
public enum SyncMarks {
    /// The field of pod and node records the sync wrote.
    public static let recordField = "kubernetesUID"
    /// The annotation of NetworkPolicy documents the sync wrote.
    public static let policyAnnotation = "swiftcni.io/kube-sync"

    /// The UID a record's mark names, nil when the record is not the sync's.
    public static func mark(of fields: [String: JSONValue]) -> String? {
        guard let value = fields[recordField] else { return nil }
        if case .string(let uid) = value { return uid }
        return ""
    }

    /// The mark of a stored policy document, nil when it is not the sync's (or not JSON).
    public static func mark(ofPolicy value: [UInt8]) -> String? {
        guard let object = try? JSONValue.decodeObject(value) else { return nil }
        return object["metadata"]?["annotations"]?[policyAnnotation]?.stringValue
    }
}
