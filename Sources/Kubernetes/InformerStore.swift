/// What changed in an informer's cache.
public enum InformerEvent<Object: KubernetesObject>: Sendable {
    case added(Object)
    case updated(old: Object, new: Object)
    /// The last state the informer knew (a relist that misses an object gives the state before).
    case deleted(Object)

    public var object: Object {
        switch self {
        case .added(let object), .deleted(let object), .updated(_, let object): object
        }
    }
}

/// The local cache of an informer: objects keyed by `namespace/name`. A pure value; the
/// ``Informer`` owns one and applies list results and watch events to it.
public struct InformerStore<Object: KubernetesObject>: Sendable {
    public private(set) var objects: [ObjectKey: Object] = [:]

    public init() {}

    public subscript(key: ObjectKey) -> Object? { objects[key] }
    public var count: Int { objects.count }

    /// Replaces the whole content with a list's items; returns the events that turn the old
    /// content into the new: additions, updates (resource version changed) and the deletions
    /// of objects the list no longer has.
    public mutating func replace(with items: [Object]) -> [InformerEvent<Object>] {
        var events: [InformerEvent<Object>] = []
        var fresh: [ObjectKey: Object] = [:]
        for item in items { fresh[item.key] = item }
        for key in fresh.keys.sorted() {
            let item = fresh[key]!
            if let old = objects[key] {
                if old.resourceVersion != item.resourceVersion || old != item { events.append(.updated(old: old, new: item)) }
            } else {
                events.append(.added(item))
            }
        }
        for key in objects.keys.sorted() where fresh[key] == nil { events.append(.deleted(objects[key]!)) }
        objects = fresh
        return events
    }

    /// Applies one watch event; returns what changed (nil for a bookmark).
    public mutating func apply(_ event: WatchEvent<Object>) -> InformerEvent<Object>? {
        switch event {
        case .added(let object), .modified(let object):
            let old = objects.updateValue(object, forKey: object.key)
            return old.map { .updated(old: $0, new: object) } ?? .added(object)
        case .deleted(let object):
            let old = objects.removeValue(forKey: object.key)
            return .deleted(old ?? object)
        case .bookmark:
            return nil
        }
    }
}
