#if canImport(Glibc)
import Glibc
#endif
import CNetlink

/// A NETLINK_ROUTE socket (libnl `nl_sock`) and the request/acknowledgement core on top of it:
/// single requests, dumps (retried when the kernel marks them interrupted) and batches
/// (many requests per `sendmsg`, acknowledgements collected afterwards).
///
/// Not thread-safe: ``NetlinkHandle`` confines each socket behind its lock. The socket must be
/// created on a thread inside the target namespace; it stays bound to that namespace.
final class RouteNetlinkSocket {
    private let socket: OpaquePointer
    let descriptor: Int32
    private let buffer: UnsafeMutableRawBufferPointer
    static let bufferSize = 1 << 20
    /// How many interrupted dumps are retried before giving up.
    static let dumpRetries = 10
    /// Bytes of requests per sendmsg in a batch.
    static let batchChunkSize = 128 * 1024

    /// Opens and connects the socket, asks for extended ACKs and large buffers, and joins the
    /// given multicast groups (RTNLGRP_*), for event sockets.
    init(groups: [Int] = []) throws {
        guard let socket = nl_socket_alloc() else {
            throw NetlinkError(.socketFailed, operation: "nl_socket_alloc", errno: ENOMEM)
        }
        let connected = nl_connect(socket, Int32(NETLINK_ROUTE))
        guard connected == 0 else {
            nl_socket_free(socket)
            throw NetlinkError(.socketFailed, operation: "nl_connect(NETLINK_ROUTE)",
                               kernelMessage: String(cString: nl_geterror(connected)))
        }
        self.socket = socket
        self.descriptor = nl_socket_get_fd(socket)
        self.buffer = .allocate(byteCount: Self.bufferSize, alignment: 8)
        let constant = RouteNetlinkConstant.self
        try setOption(SOL_SOCKET, SO_SNDBUFFORCE, 4 << 20, fallback: SO_SNDBUF)
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

    private func nextSequence() -> UInt32 { nl_socket_use_seq(socket) }

    // MARK: Sending and receiving

    private func send(_ bytes: UnsafeRawBufferPointer, operation: @autoclosure () -> String) throws {
        while true {
            let sent = Glibc.send(descriptor, bytes.baseAddress, bytes.count, 0)
            if sent == bytes.count { return }
            if sent < 0 && errno == EINTR { continue }
            throw NetlinkError(.socketFailed, operation: operation(), errno: sent < 0 ? errno : EMSGSIZE)
        }
    }

    /// Receives one datagram and splits it into messages.
    func receive(operation: @autoclosure () -> String) throws -> [RouteNetlinkReply] {
        while true {
            let count = recv(descriptor, buffer.baseAddress, buffer.count, Int32(MSG_TRUNC))
            if count < 0 && errno == EINTR { continue }
            guard count >= 0 else { throw NetlinkError(.socketFailed, operation: operation(), errno: errno) }
            guard count <= buffer.count else {
                throw NetlinkError(.malformedReply, operation: operation() + " (reply truncated)")
            }
            let bytes = Array(UnsafeRawBufferPointer(rebasing: buffer[0..<count]))
            return RouteNetlinkReply.split(bytes[...])
        }
    }

    /// The error carried by an NLMSG_ERROR message (nil for an acknowledgement), with the
    /// kernel's extended-ACK text.
    static func error(in reply: RouteNetlinkReply, operation: () -> String) -> NetlinkError? {
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
    func perform(_ request: RouteNetlinkRequest) throws -> [RouteNetlinkReply] {
        var bytes = request.bytes
        let sequence = nextSequence()
        stamp(&bytes, sequence: sequence, addFlags: RouteNetlinkConstant.NLM_F_ACK)
        try bytes.withUnsafeBytes { try send($0, operation: request.operation()) }
        var replies: [RouteNetlinkReply] = []
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
    func dump(_ request: RouteNetlinkRequest) throws -> [RouteNetlinkReply] {
        for _ in 0..<Self.dumpRetries {
            var bytes = request.bytes
            let sequence = nextSequence()
            stamp(&bytes, sequence: sequence, addFlags: RouteNetlinkConstant.NLM_F_DUMP)
            try bytes.withUnsafeBytes { try send($0, operation: request.operation()) }
            var collector = RouteNetlinkDumpCollector(sequence: sequence)
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

    /// Sends many requests with few system calls: requests are packed into datagrams of about
    /// ``batchChunkSize`` bytes; only the last request of each datagram asks for an ACK, so a
    /// successful datagram costs one `send` and one `recv`. Failed requests still get their
    /// error message; each is mapped back to its index by sequence number.
    func performBatch(_ requests: [RouteNetlinkRequest]) throws -> [(index: Int, error: NetlinkError)] {
        var failures: [(index: Int, error: NetlinkError)] = []
        var chunk: [UInt8] = []
        chunk.reserveCapacity(Self.batchChunkSize + 4096)
        var start = 0
        while start < requests.count {
            chunk.removeAll(keepingCapacity: true)
            var end = start
            var firstSequence: UInt32 = 0
            var lastSequence: UInt32 = 0
            while end < requests.count && (end == start || chunk.count + requests[end].bytes.count <= Self.batchChunkSize) {
                let sequence = nextSequence()
                if end == start { firstSequence = sequence }
                lastSequence = sequence
                let offset = chunk.count
                chunk.append(contentsOf: requests[end].bytes)
                let isLast = end + 1 == requests.count
                    || chunk.count + requests[end + 1].bytes.count > Self.batchChunkSize
                var flags = Int(RouteNetlinkBytes.uint16(chunk[offset...], at: 6))
                if isLast { flags |= RouteNetlinkConstant.NLM_F_ACK }
                chunk.replaceSubrange((offset + 6)..<(offset + 8), with: RouteNetlinkBytes.encode(UInt16(flags)))
                chunk.replaceSubrange((offset + 8)..<(offset + 12), with: RouteNetlinkBytes.encode(sequence))
                end += 1
            }
            let lastOperation = requests[end - 1].operation
            try chunk.withUnsafeBytes { try send($0, operation: lastOperation()) }
            var finished = false
            while !finished {
                for reply in try receive(operation: lastOperation())
                where reply.type == RouteNetlinkConstant.NLMSG_ERROR
                    && reply.sequence &- firstSequence <= lastSequence &- firstSequence {
                    let index = start + Int(reply.sequence &- firstSequence)
                    if let error = Self.error(in: reply, operation: requests[index].operation) {
                        failures.append((index, error))
                    }
                    if reply.sequence == lastSequence { finished = true }
                }
            }
            start = end
        }
        return failures
    }
}

/// Collects the messages of one dump: those of its sequence number up to NLMSG_DONE, noting
/// whether any carried NLM_F_DUMP_INTR. Pure, so the retry rule is unit-tested.
struct RouteNetlinkDumpCollector {
    let sequence: UInt32
    private(set) var replies: [RouteNetlinkReply] = []
    private(set) var wasInterrupted = false
    private(set) var isFinished = false

    init(sequence: UInt32) { self.sequence = sequence }

    mutating func consume(_ batch: [RouteNetlinkReply], operation: () -> String) throws {
        for reply in batch where reply.sequence == sequence && !isFinished {
            if reply.flags & RouteNetlinkConstant.NLM_F_DUMP_INTR != 0 { wasInterrupted = true }
            switch reply.type {
            case RouteNetlinkConstant.NLMSG_DONE: isFinished = true
            case RouteNetlinkConstant.NLMSG_ERROR:
                if let error = RouteNetlinkSocket.error(in: reply, operation: operation) { throw error }
                isFinished = true
            default: replies.append(reply)
            }
        }
    }
}
