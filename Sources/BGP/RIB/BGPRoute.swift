import NetPrimitives

/// A route as the speaker hands it to its user: a prefix, where to send its traffic, and
/// the attributes it was learned with.
public struct BGPRoute: Hashable, Sendable, CustomStringConvertible {
    public var prefix: BGPPrefix
    /// The BGP next hop; nil for a route this speaker originates without one.
    public var nextHop: IPAddress?
    public var attributes: PathAttributes
    /// The peer it was learned from; nil when this speaker originates it.
    public var peer: IPAddress?
    /// Learned over iBGP.
    public var isInternal: Bool
    /// Kept from a restarting peer (graceful restart), not yet refreshed.
    public var isStale: Bool

    public init(prefix: BGPPrefix, nextHop: IPAddress?, attributes: PathAttributes, peer: IPAddress?, isInternal: Bool, isStale: Bool = false) {
        self.prefix = prefix
        self.nextHop = nextHop
        self.attributes = attributes
        self.peer = peer
        self.isInternal = isInternal
        self.isStale = isStale
    }

    public var description: String {
        "\(prefix) via \(nextHop.map { "\($0)" } ?? "self") path [\(attributes.asPath)] from \(peer.map { "\($0)" } ?? "local")"
    }
}

/// One change of the Loc-RIB's best path for a prefix.
public enum BestPathChange: Hashable, Sendable {
    /// The prefix has a new or changed best route.
    case updated(BGPRoute)
    /// The prefix has no route any more.
    case withdrawn(BGPPrefix)

    public var prefix: BGPPrefix {
        switch self {
        case .updated(let route): route.prefix
        case .withdrawn(let prefix): prefix
        }
    }
}

/// Attributes shared by many prefixes of one UPDATE: one reference, not one copy per prefix.
final class SharedAttributes: Sendable {
    let value: PathAttributes
    let nextHop: IPAddress?

    init(_ value: PathAttributes, nextHop: IPAddress?) {
        self.value = value
        self.nextHop = nextHop
    }

    func same(as other: SharedAttributes) -> Bool {
        self === other || (nextHop == other.nextHop && value == other.value)
    }
}

/// One candidate path for a prefix in the Loc-RIB.
struct CandidatePath {
    var peer: Int
    var attributes: SharedAttributes
    var stale: Bool
}
