import Netlink
import NetPrimitives

extension Route.ProtocolTag {
    /// The flannel overlay's routes to remote node subnets (VXLAN onlink routes, host-gw and
    /// DirectRouting routes): `proto 91` in `ip route`.
    public static let flannelOverlay = Route.ProtocolTag(91)
}

/// What a ``RouteReconciler`` must change to turn the current routes into the desired ones.
public struct RoutePlan: Hashable, Sendable, CustomStringConvertible {
    /// Routes that do not exist yet (`ip route add`).
    public var additions: [Route]
    /// Routes whose destination exists with other attributes (`ip route replace`).
    public var replacements: [Route]
    /// Owned routes that are no longer desired (`ip route del`).
    public var deletions: [Route]

    public init(additions: [Route] = [], replacements: [Route] = [], deletions: [Route] = []) {
        self.additions = additions
        self.replacements = replacements
        self.deletions = deletions
    }

    /// Whether the routes already match.
    public var isEmpty: Bool { additions.isEmpty && replacements.isEmpty && deletions.isEmpty }

    /// The number of changes.
    public var count: Int { additions.count + replacements.count + deletions.count }

    public var description: String {
        "+\(additions.count) ~\(replacements.count) -\(deletions.count)"
    }

    /// The plan as requests: deletions first, then replacements and additions (both sent as
    /// `ip route replace`, so a route added concurrently by someone else is not an error).
    public func batch() -> NetlinkRequestBatch {
        var batch = NetlinkRequestBatch()
        for route in deletions { batch.deleteRoute(route) }
        for route in replacements + additions { batch.replaceRoute(route) }
        return batch
    }
}

/// The outcome of ``RouteReconciler/reconcile(_:family:handle:)``: what was planned and which
/// requests the kernel refused.
public struct RouteReconciliation: Sendable {
    public var plan: RoutePlan
    /// Requests of the plan that failed (positions in ``RoutePlan/batch()``).
    public var failures: [NetlinkBatchFailure]
    /// Whether every planned change was applied.
    public var succeeded: Bool { failures.isEmpty }
}

/// Converges the routes of one owner, identified by its protocol tag, towards a desired set,
/// and never touches a route carrying another tag (Documentation/Architecture.md, "Ownership").
///
/// ```swift
/// let reconciler = RouteReconciler(protocolTag: .flannelOverlay)
/// let desired = [Route(destination: "10.244.2.0/24", gateway: "192.168.50.12", device: "eth0")]
/// let outcome = try reconciler.reconcile(desired, handle: handle)   // idempotent
/// ```
///
/// Planning (``plan(desired:current:)``) is pure; applying sends one batch.
public struct RouteReconciler: Hashable, Sendable {
    /// The tag of the routes this reconciler owns (`proto N`).
    public var protocolTag: Route.ProtocolTag
    /// The table its routes live in.
    public var table: Route.Table

    public init(protocolTag: Route.ProtocolTag, table: Route.Table = .main) {
        self.protocolTag = protocolTag
        self.table = table
    }

    /// A desired route as this reconciler installs it: its tag and table.
    public func owned(_ route: Route) -> Route {
        var route = route
        route.protocolTag = protocolTag
        route.table = table
        return route
    }

    /// Whether a route read from the kernel belongs to this reconciler.
    public func owns(_ route: Route) -> Bool {
        route.protocolTag == protocolTag && route.table == table
    }

    /// The changes that turn `current` (routes as read from the kernel, any owner) into
    /// `desired`. Routes of other owners are ignored: never deleted, never replaced. A desired
    /// route whose destination is held by another owner's route is still planned (the
    /// kernel refuses it with "File exists" unless metrics differ). Desired routes with the
    /// same destination and metric: the last one wins.
    public func plan(desired: [Route], current: [Route]) -> RoutePlan {
        var wanted: [RouteKey: Route] = [:]
        var order: [RouteKey] = []
        for route in desired.map(owned) {
            let key = RouteKey(route)
            if wanted.updateValue(route, forKey: key) == nil { order.append(key) }
        }
        var existing: [RouteKey: Route] = [:]
        var plan = RoutePlan()
        for route in current where owns(route) {
            let key = RouteKey(route)
            if wanted[key] == nil || existing[key] != nil {
                plan.deletions.append(Self.deletion(of: route))
            } else {
                existing[key] = route
            }
        }
        for key in order {
            let route = wanted[key]!
            if let present = existing[key] {
                if !Self.matches(desired: route, current: present) { plan.replacements.append(route) }
            } else {
                plan.additions.append(route)
            }
        }
        return plan
    }

    /// Reads this owner's routes, plans and applies the plan in one batch. Running it again
    /// with the same desired set changes nothing. Throws `NetlinkError` (Netlink) only when
    /// the routes cannot be read or the socket fails; refused requests are in the outcome.
    ///
    /// `family` scopes the call to the routes of one family: only they are read, so only they
    /// can be deleted (two callers sharing a tag, one per family, as flannel's IPv4 and IPv6
    /// backends do, then never remove each other's routes, even with nothing desired). nil:
    /// the desired routes' family when they share one, else every family.
    @discardableResult
    public func reconcile(_ desired: [Route], family: IPAddress.Family? = nil, handle: NetlinkHandle) throws -> RouteReconciliation {
        let families = Set(desired.map(\.destination.family))
        let scope = family ?? (families.count == 1 ? families.first : nil)
        let current = try handle.routes(family: scope, table: table, protocolTag: protocolTag)
        let plan = self.plan(desired: family.map { family in desired.filter { $0.destination.family == family } } ?? desired, current: current)
        if plan.isEmpty { return RouteReconciliation(plan: plan, failures: []) }
        return RouteReconciliation(plan: plan, failures: try handle.apply(plan.batch()))
    }

    /// The minimal description that deletes exactly `route`: destination, table, type, tag
    /// and metric (next hops left out so a route whose device was renamed still matches).
    static func deletion(of route: Route) -> Route {
        Route(destination: route.destination.network, kind: route.kind, table: route.table,
              protocolTag: route.protocolTag, metric: route.metric)
    }

    /// Whether a kernel route already is what `desired` asks for. Attributes the desired
    /// route leaves unset (scope, source, metric, MTU) are not compared.
    static func matches(desired: Route, current: Route) -> Bool {
        guard desired.kind == current.kind, desired.nextHops.count == current.nextHops.count else { return false }
        if let scope = desired.scope, scope != current.scope { return false }
        if let source = desired.source, source != current.source { return false }
        if let mtu = desired.mtu, mtu != current.mtu { return false }
        if let mss = desired.advertisedMSS, mss != current.advertisedMSS { return false }
        for (want, have) in zip(desired.nextHops, current.nextHops) {
            guard want.gateway == have.gateway, want.isOnLink == have.isOnLink, want.weight == have.weight else { return false }
            if let device = want.device, device != have.device { return false }
            if want.device == nil, let index = want.deviceIndex, index != have.deviceIndex { return false }
        }
        return true
    }
}

/// A route's identity in its table: destination network and metric (the kernel's key for
/// `ip route replace`, type of service aside). An IPv6 route given no metric (or 0) is stored
/// by the kernel at 1024 (`IP6_RT_PRIO_USER`) and read back so: both are the same key.
struct RouteKey: Hashable {
    let destination: IPNetwork
    let metric: Int

    /// The metric the kernel gives an IPv6 route added without one.
    static let ipv6DefaultMetric = 1024

    init(_ route: Route) {
        destination = route.destination.network
        let metric = route.metric ?? 0
        self.metric = metric == 0 && destination.family == .v6 ? Self.ipv6DefaultMetric : metric
    }
}
