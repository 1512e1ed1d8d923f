#if canImport(Glibc)
import Glibc
#endif
internal import CNetlink
internal import SystemSupport
import Namespaces

/// Which changes to subscribe to (`ip monitor link address route neigh`).
public struct NetlinkEventGroups: OptionSet, Hashable, Sendable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    public static let links = NetlinkEventGroups(rawValue: 1 << 0)
    public static let ipv4Addresses = NetlinkEventGroups(rawValue: 1 << 1)
    public static let ipv6Addresses = NetlinkEventGroups(rawValue: 1 << 2)
    public static let ipv4Routes = NetlinkEventGroups(rawValue: 1 << 3)
    public static let ipv6Routes = NetlinkEventGroups(rawValue: 1 << 4)
    public static let neighbors = NetlinkEventGroups(rawValue: 1 << 5)
    public static let addresses: NetlinkEventGroups = [.ipv4Addresses, .ipv6Addresses]
    public static let routes: NetlinkEventGroups = [.ipv4Routes, .ipv6Routes]
    public static let all: NetlinkEventGroups = [.links, .addresses, .routes, .neighbors]

    var kernelGroups: [Int] {
        typealias K = RouteNetlinkConstant
        let table: [(NetlinkEventGroups, Int)] = [
            (.links, K.RTNLGRP_LINK), (.ipv4Addresses, K.RTNLGRP_IPV4_IFADDR), (.ipv6Addresses, K.RTNLGRP_IPV6_IFADDR),
            (.ipv4Routes, K.RTNLGRP_IPV4_ROUTE), (.ipv6Routes, K.RTNLGRP_IPV6_ROUTE), (.neighbors, K.RTNLGRP_NEIGH),
        ]
        return table.filter { contains($0.0) }.map(\.1)
    }
}

/// One change reported by the kernel.
public enum NetlinkEvent: Sendable {
    case linkChanged(Link)
    case linkRemoved(Link)
    case addressAdded(Address)
    case addressRemoved(Address)
    case routeAdded(Route)
    case routeRemoved(Route)
    case neighborChanged(Neighbor)
    case neighborRemoved(Neighbor)

    init?(reply: NetlinkReply) {
        typealias K = RouteNetlinkConstant
        switch reply.type {
        case K.RTM_NEWLINK: guard let link = Link(reply: reply) else { return nil }; self = .linkChanged(link)
        case K.RTM_DELLINK: guard let link = Link(reply: reply) else { return nil }; self = .linkRemoved(link)
        case K.RTM_NEWADDR: guard let address = Address(reply: reply) else { return nil }; self = .addressAdded(address)
        case K.RTM_DELADDR: guard let address = Address(reply: reply) else { return nil }; self = .addressRemoved(address)
        case K.RTM_NEWROUTE: guard let route = Route(reply: reply) else { return nil }; self = .routeAdded(route)
        case K.RTM_DELROUTE: guard let route = Route(reply: reply) else { return nil }; self = .routeRemoved(route)
        case K.RTM_NEWNEIGH: guard let entry = Neighbor(reply: reply) else { return nil }; self = .neighborChanged(entry)
        case K.RTM_DELNEIGH: guard let entry = Neighbor(reply: reply) else { return nil }; self = .neighborRemoved(entry)
        default: return nil
        }
    }
}

extension NetlinkError.Code {
    /// The kernel dropped events because the reader fell behind (ENOBUFS on the event socket).
    public static let eventsLost = NetlinkError.Code("netlink events lost")
}

extension NetlinkHandle {
    /// Subscribes to changes in this handle's namespace (`ip -n NS monitor link address route neigh`).
    ///
    /// The subscription socket is opened inside the namespace on a dedicated thread; a reader
    /// thread (no SwiftNIO) polls it and yields decoded events. Ending the iteration or
    /// cancelling the consuming task wakes the reader through an eventfd; it closes the socket
    /// and exits. When the kernel drops events (the consumer is too slow), the sequence ends
    /// with ``NetlinkError/Code/eventsLost``: re-list the state and subscribe again.
    public func events(_ groups: NetlinkEventGroups = .all) throws -> AsyncThrowingStream<NetlinkEvent, any Error> {
        let socket: NetlinkSocket
        do {
            socket = try namespace.runBlocking { try NetlinkSocket(groups: groups.kernelGroups) }
        } catch let error as NetlinkError {
            throw error
        } catch {
            throw NetlinkError(.socketFailed, operation: "ip monitor in \(namespace)", kernelMessage: "\(error)")
        }
        let wakeup = eventfd(0, Int32(EFD_CLOEXEC))
        guard wakeup >= 0 else { throw NetlinkError(.socketFailed, operation: "eventfd", errno: errno) }
        let (stream, continuation) = AsyncThrowingStream<NetlinkEvent, any Error>.makeStream(bufferingPolicy: .unbounded)
        let reader = NetlinkEventReader(socket: socket, wakeup: wakeup, continuation: continuation)
        continuation.onTermination = { _ in reader.stop() }
        try reader.start()
        return stream
    }
}

/// The reader thread of one subscription.
final class NetlinkEventReader: @unchecked Sendable {
    // Unchecked: `socket` is used only by the reader thread once started; `wakeup` is an
    // eventfd written by `stop()` from any thread (a write to an eventfd is thread-safe) and
    // closed in deinit, after both the thread and the termination handler released this object.
    private let socket: NetlinkSocket
    private let wakeup: Int32
    private let continuation: AsyncThrowingStream<NetlinkEvent, any Error>.Continuation

    init(socket: NetlinkSocket, wakeup: Int32, continuation: AsyncThrowingStream<NetlinkEvent, any Error>.Continuation) {
        self.socket = socket
        self.wakeup = wakeup
        self.continuation = continuation
    }

    deinit { close(wakeup) }

    func stop() { _ = eventfd_write(wakeup, 1) }

    func start() throws {
        let context = Unmanaged.passRetained(self).toOpaque()
        var thread = pthread_t()
        let result = pthread_create(&thread, nil, { raw in
            Unmanaged<NetlinkEventReader>.fromOpaque(raw!).takeRetainedValue().loop()
            return nil
        }, context)
        guard result == 0 else {
            Unmanaged<NetlinkEventReader>.fromOpaque(context).release()
            throw NetlinkError(.socketFailed, operation: "start netlink event reader", errno: result)
        }
        pthread_detach(thread)
    }

    private func loop() {
        var descriptors = [pollfd(fd: socket.descriptor, events: Int16(POLLIN), revents: 0),
                           pollfd(fd: wakeup, events: Int16(POLLIN), revents: 0)]
        while true {
            let ready = SystemCall.retryingInterrupts { poll(&descriptors, 2, -1) }
            if ready < 0 || descriptors[1].revents != 0 { break }
            guard descriptors[0].revents != 0 else { continue }
            do {
                for reply in try socket.receive(operation: "ip monitor") {
                    if let event = NetlinkEvent(reply: reply) { continuation.yield(event) }
                }
            } catch let error as NetlinkError {
                let lost = error.errno == ENOBUFS
                continuation.finish(throwing: lost ? NetlinkError(.eventsLost, operation: "ip monitor", errno: ENOBUFS) : error)
                return
            } catch {
                continuation.finish(throwing: error)
                return
            }
        }
        continuation.finish()
    }
}
