import NetPrimitives

/// Many link, route and neighbour changes sent with few system calls
/// (the equivalent of feeding `ip -batch` a file of `route add` / `neigh replace` lines).
///
/// ```swift
/// var batch = NetlinkRequestBatch()
/// for network in try IPNetwork(parsing: "10.96.0.0/20").subnets(prefixLength: 32) {
///     batch.addRoute(Route(destination: network, device: "veth0"))
/// }
/// let failures = try handle.apply(batch)      // each failure names its request's index
/// ```
public struct NetlinkRequestBatch: Sendable {
    enum Operation: Sendable {
        case route(Route, RouteRequest.Verb)
        case neighbor(Neighbor, InterfaceName, NeighborRequest.Verb)
        case createLink(LinkSpecification)
        case deleteLink(InterfaceName)
    }

    var operations: [Operation] = []

    public init() {}

    /// The number of requests queued.
    public var count: Int { operations.count }
    public var isEmpty: Bool { operations.isEmpty }

    /// Queues `ip route add ROUTE` (exclusive).
    public mutating func addRoute(_ route: Route) { operations.append(.route(route, .add)) }
    /// Queues `ip route replace ROUTE`.
    public mutating func replaceRoute(_ route: Route) { operations.append(.route(route, .replace)) }
    /// Queues `ip route del ROUTE`.
    public mutating func deleteRoute(_ route: Route) { operations.append(.route(route, .delete)) }
    /// Queues `ip neigh add ...` / `bridge fdb add ...` (exclusive).
    public mutating func addNeighbor(_ neighbor: Neighbor, device: InterfaceName) {
        operations.append(.neighbor(neighbor, device, .add))
    }
    /// Queues `ip neigh replace ...` / `bridge fdb replace ...`.
    public mutating func replaceNeighbor(_ neighbor: Neighbor, device: InterfaceName) {
        operations.append(.neighbor(neighbor, device, .replace))
    }
    /// Queues `bridge fdb append ...`.
    public mutating func appendForwardingEntry(_ entry: Neighbor, device: InterfaceName) {
        operations.append(.neighbor(entry, device, .append))
    }
    /// Queues `ip neigh del ...` / `bridge fdb del ...`.
    public mutating func deleteNeighbor(_ neighbor: Neighbor, device: InterfaceName) {
        operations.append(.neighbor(neighbor, device, .delete))
    }
    /// Queues `ip link add ...` (exclusive). Names it refers to (master, underlay) must exist
    /// before ``NetlinkHandle/apply(_:)`` is called.
    public mutating func addLink(_ specification: LinkSpecification) { operations.append(.createLink(specification)) }
    /// Queues `ip link del NAME`.
    public mutating func deleteLink(named name: InterfaceName) { operations.append(.deleteLink(name)) }
}

/// One request of a batch that failed: its position in the batch and the kernel's answer.
public struct NetlinkBatchFailure: Sendable, CustomStringConvertible {
    /// The index of the request in the order it was queued.
    public let index: Int
    public let error: NetlinkError
    public var description: String { "#\(index): \(error)" }
}

extension NetlinkHandle {
    /// Sends every request of `batch`: requests are packed many to a `sendmsg`, and only the
    /// last of each datagram asks for an acknowledgement, so a successful batch of 100,000
    /// routes costs a few hundred system calls. Requests are applied in order and
    /// independently (a failure does not stop the rest, as `ip -batch -force`); the failures
    /// are returned, each mapped back to its request. Device names are resolved once per
    /// batch. Throws only when the socket itself fails.
    public func apply(_ batch: NetlinkRequestBatch) throws -> [NetlinkBatchFailure] {
        var indexes: [InterfaceName: Int] = [:]
        func resolve(_ name: InterfaceName) throws -> Int {
            if let known = indexes[name] { return known }
            let index = try self.index(of: name)
            indexes[name] = index
            return index
        }
        var failures: [NetlinkBatchFailure] = []
        var requests: [NetlinkRequest] = []
        var positions: [Int] = []
        requests.reserveCapacity(batch.count)
        positions.reserveCapacity(batch.count)
        for (position, operation) in batch.operations.enumerated() {
            do {
                let request: NetlinkRequest
                switch operation {
                case .route(let route, let verb): request = try RouteRequest.build(route, verb: verb, resolve: resolve)
                case .neighbor(let neighbor, let device, let verb):
                    request = try NeighborRequest.build(neighbor, index: try resolve(device), verb: verb)
                case .createLink(let specification): request = try LinkRequest.create(specification, resolve: resolve)
                case .deleteLink(let name): request = try LinkRequest.delete(name)
                }
                requests.append(request)
                positions.append(position)
            } catch let error as NetlinkError {
                failures.append(NetlinkBatchFailure(index: position, error: error))
            }
        }
        let kernelFailures = try withSocket { try $0.performBatch(requests) }
        failures += kernelFailures.map { NetlinkBatchFailure(index: positions[$0.index], error: $0.error) }
        return failures.sorted { $0.index < $1.index }
    }
}
