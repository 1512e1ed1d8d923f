#if canImport(Glibc)
import Glibc
#endif
internal import CNetlink
internal import SystemSupport

/// The netlink families this package speaks.
package enum NetlinkFamily: Sendable {
    /// NETLINK_ROUTE: links, addresses, routes, neighbours (``NetlinkHandle``).
    case route
    /// NETLINK_NETFILTER: nftables (the Nftables module).
    case netfilter

    var number: Int32 {
        switch self {
        case .route: 0  // NETLINK_ROUTE
        case .netfilter: 12  // NETLINK_NETFILTER
        }
    }

    var name: String {
        switch self {
        case .route: "NETLINK_ROUTE"
        case .netfilter: "NETLINK_NETFILTER"
        }
    }
}

/// The one netlink core of the package, shared by Netlink (rtnetlink) and Nftables
/// (nfnetlink): a libnl-3 socket (`nl_sock`: open, bind, sequence numbers, groups) and the
/// request/acknowledgement protocol on top of it: single requests, dumps (retried when the
/// kernel marks them interrupted), independent batches (many requests per `sendmsg`) and
/// atomic transactions (an nfnetlink batch in one datagram). Errors carry the kernel's
/// extended-ACK text.
///
/// Messages cross the module boundary as bytes (``NetlinkRequest``, ``NetlinkReply``), never
/// as C types. Not thread-safe: the owner (``NetlinkHandle``, `NftablesHandle`) confines each
/// socket behind its lock. The socket must be created on a thread inside the target
/// namespace; it stays bound to that namespace.
package final class NetlinkSocket {
    private let socket: OpaquePointer
    let descriptor: Int32
    let family: NetlinkFamily
    private let buffer: UnsafeMutableRawBufferPointer
    static let bufferSize = 1 << 20
    /// How many interrupted dumps are retried before giving up.
    static let dumpRetries = 10
    /// Bytes of requests per sendmsg in a batch.
    static let batchChunkSize = 128 * 1024
    /// The send buffer asked for at first; a larger transaction grows it (it is one datagram).
    private var sendBufferSize: Int32 = 4 << 20

    /// Opens and connects the socket, asks for extended ACKs and large buffers, and joins the
    /// given multicast groups (RTNLGRP_*), for event sockets.
    package init(_ family: NetlinkFamily = .route, groups: [Int] = []) throws {
        guard let socket = nl_socket_alloc() else {
            throw NetlinkError(.socketFailed, operation: "nl_socket_alloc", errno: ENOMEM)
        }
        let connected = nl_connect(socket, family.number)
        guard connected == 0 else {
            nl_socket_free(socket)
            throw NetlinkError(.socketFailed, operation: "nl_connect(\(family.name))",
                               kernelMessage: String(cString: nl_geterror(connected)))
        }
        self.socket = socket
        self.family = family
        self.descriptor = nl_socket_get_fd(socket)
        self.buffer = .allocate(byteCount: Self.bufferSize, alignment: 8)
        let constant = RouteNetlinkConstant.self
        try setOption(SOL_SOCKET, SO_SNDBUFFORCE, sendBufferSize, fallback: SO_SNDBUF)
        try setOption(SOL_SOCKET, SO_RCVBUFFORCE, 8 << 20, fallback: SO_RCVBUF)
        try setOption(Int32(constant.SOL_NETLINK), Int32(constant.NETLINK_EXT_ACK), 1)
        try setOption(Int32(constant.SOL_NETLINK), Int32(constant.NETLINK_CAP_ACK), 1)
        for group in groups {
            let result = nl_socket_add_membership(socket, Int32(group))
            guard result == 0 else {
                throw NetlinkError(.socketFailed, operation: "join netlink group \(group)",
                                   kernelMessage: String(cString: nl_geterror(result)))
            }
        }
    }

    deinit {
        nl_socket_free(socket)
        buffer.deallocate()
    }

    private func setOption(_ level: Int32, _ name: Int32, _ value: Int32, fallback: Int32? = nil) throws {
        var value = value
        let size = socklen_t(MemoryLayout<Int32>.size)
        if setsockopt(descriptor, level, name, &value, size) == 0 { return }
        if let fallback, setsockopt(descriptor, level, fallback, &value, size) == 0 { return }
        throw NetlinkError(.socketFailed, operation: "setsockopt(\(level), \(name))", errno: errno)
    }

    func nextSequence() -> UInt32 { nl_socket_use_seq(socket) }

    // MARK: Sending and receiving

    func send(_ bytes: UnsafeRawBufferPointer, operation: @autoclosure () -> String) throws {
        if bytes.count * 2 > Int(sendBufferSize) {
            // One datagram must fit the send buffer (an nftables transaction can be large).
            sendBufferSize = Int32(clamping: bytes.count * 2)
            try setOption(SOL_SOCKET, SO_SNDBUFFORCE, sendBufferSize, fallback: SO_SNDBUF)
        }
        let sent = SystemCall.retryingInterrupts { Glibc.send(descriptor, bytes.baseAddress, bytes.count, 0) }
        if sent == bytes.count { return }
        throw NetlinkError(.socketFailed, operation: operation(), errno: sent < 0 ? errno : EMSGSIZE)
    }

    /// Receives one datagram and splits it into messages; with `wait: false`, nil when none
    /// is queued.
    func receive(operation: @autoclosure () -> String, wait: Bool) throws -> [NetlinkReply]? {
        while true {
            let count = SystemCall.retryingInterrupts {
                recv(descriptor, buffer.baseAddress, buffer.count, Int32(MSG_TRUNC) | (wait ? 0 : Int32(MSG_DONTWAIT)))
            }
            if count < 0 && !wait && (errno == EAGAIN || errno == EWOULDBLOCK) { return nil }
            guard count >= 0 else { throw NetlinkError(.socketFailed, operation: operation(), errno: errno) }
            guard count <= buffer.count else {
                throw NetlinkError(.malformedReply, operation: operation() + " (reply truncated)")
            }
            let bytes = Array(UnsafeRawBufferPointer(rebasing: buffer[0..<count]))
            return NetlinkReply.split(bytes[...])
        }
    }

    /// Receives one datagram, waiting for it.
    func receive(operation: @autoclosure () -> String) throws -> [NetlinkReply] {
        try receive(operation: operation(), wait: true) ?? []
    }

    /// The error carried by an NLMSG_ERROR message (nil for an acknowledgement), with the
    /// kernel's extended-ACK text.
    static func error(in reply: NetlinkReply, operation: () -> String) -> NetlinkError? {
        let code = RouteNetlinkBytes.int32(reply.payload)
        guard code != 0 else { return nil }
        var message: String?
        if reply.flags & RouteNetlinkConstant.NLM_F_ACK_TLVS != 0 {
            let innerLength = reply.flags & RouteNetlinkConstant.NLM_F_CAPPED != 0
                ? 16 : Int(RouteNetlinkBytes.uint32(reply.payload, at: 4))
            let start = reply.payload.startIndex + 4 + RouteNetlinkBytes.aligned(innerLength)
            if start <= reply.payload.endIndex {
                message = RouteNetlinkAttributes(reply.payload[start...]).string(RouteNetlinkConstant.NLMSGERR_ATTR_MSG)
            }
        }
        return NetlinkError(.kernelError, operation: operation(), errno: -code, kernelMessage: message)
    }

    private func stamp(_ bytes: inout [UInt8], sequence: UInt32, addFlags: Int) {
        let flags = Int(RouteNetlinkBytes.uint16(bytes[...], at: 6)) | addFlags
        bytes.replaceSubrange(6..<8, with: RouteNetlinkBytes.encode(UInt16(flags)))
        bytes.replaceSubrange(8..<12, with: RouteNetlinkBytes.encode(sequence))
    }

    // MARK: Request kinds

    /// Sends one request with NLM_F_ACK and returns the replies that came before the ACK
    /// (a GET's answer); throws the kernel's error.
    @discardableResult
    package func perform(_ request: NetlinkRequest) throws -> [NetlinkReply] {
        var bytes = request.bytes
        let sequence = nextSequence()
        stamp(&bytes, sequence: sequence, addFlags: RouteNetlinkConstant.NLM_F_ACK)
        try bytes.withUnsafeBytes { try send($0, operation: request.operation()) }
        var replies: [NetlinkReply] = []
        while true {
            for reply in try receive(operation: request.operation()) where reply.sequence == sequence {
                if reply.type == RouteNetlinkConstant.NLMSG_ERROR {
                    if let error = Self.error(in: reply, operation: request.operation) { throw error }
                    return replies
                }
                replies.append(reply)
            }
        }
    }

    /// Runs a dump request (NLM_F_DUMP) and returns every message of it. A dump the kernel
    /// marks interrupted (NLM_F_DUMP_INTR: the table changed meanwhile) is run again, up to
    /// ``dumpRetries`` times.
    package func dump(_ request: NetlinkRequest) throws -> [NetlinkReply] {
        for _ in 0..<Self.dumpRetries {
            var bytes = request.bytes
            let sequence = nextSequence()
            stamp(&bytes, sequence: sequence, addFlags: RouteNetlinkConstant.NLM_F_DUMP)
            try bytes.withUnsafeBytes { try send($0, operation: request.operation()) }
            var collector = NetlinkDumpCollector(sequence: sequence)
            while !collector.isFinished {
                try collector.consume(try receive(operation: request.operation()), operation: request.operation)
            }
            if !collector.wasInterrupted { return collector.replies }
            interruptedDumps += 1
        }
        throw NetlinkError(.dumpInterrupted, operation: request.operation())
    }

    /// How many dumps were re-run because the kernel marked them interrupted.
    private(set) var interruptedDumps = 0
}

/// Collects the messages of one dump: those of its sequence number up to NLMSG_DONE, noting
/// whether any carried NLM_F_DUMP_INTR. Pure, so the retry rule is unit-tested.
struct NetlinkDumpCollector {
    let sequence: UInt32
    private(set) var replies: [NetlinkReply] = []
    private(set) var wasInterrupted = false
    private(set) var isFinished = false

    init(sequence: UInt32) { self.sequence = sequence }

    mutating func consume(_ batch: [NetlinkReply], operation: () -> String) throws {
        for reply in batch where reply.sequence == sequence && !isFinished {
            if reply.flags & RouteNetlinkConstant.NLM_F_DUMP_INTR != 0 { wasInterrupted = true }
            switch reply.type {
            case RouteNetlinkConstant.NLMSG_DONE: isFinished = true
            case RouteNetlinkConstant.NLMSG_ERROR:
                if let error = NetlinkSocket.error(in: reply, operation: operation) { throw error }
                isFinished = true
            default: replies.append(reply)
            }
        }
    }
}
