#if canImport(Glibc)
import Netlink
import Glibc
#endif
import CNftnl
import Namespaces
import Synchronization

/// An nftables connection bound to one network namespace: applies ``NftablesTransaction``s as
/// one atomic batch each and reads tables, chains, sets, elements and rules back.
///
/// The netlink socket is opened on a dedicated thread inside the namespace
/// (`NetworkNamespace.runBlocking`) and stays bound to it, so the handle can be used from any
/// task or thread afterwards; requests on one handle are serialised.
///
/// ```swift
/// let nft = try NftablesHandle(namespace: node)
/// var transaction = NftablesTransaction()
/// transaction.add(NftablesTable(name: "swiftcni_nat"))
/// try nft.apply(transaction)             // nft -f <(transaction.nftScript)
/// ```
public final class NftablesHandle: @unchecked Sendable {
    // @unchecked Sendable: `socket` is only used while `sequence`'s mutex is held (in `apply`
    // and `dump`), and it is closed in deinit when no other reference exists.
    public let namespace: NetworkNamespace
    private let socket: OpaquePointer
    private let sequence: Mutex<UInt32>
    private static let receiveBufferSize = 1 << 18

    /// Opens an nftables netlink socket inside `namespace` (on a dedicated thread).
    public init(namespace: NetworkNamespace) throws(NetlinkError) {
        self.namespace = namespace
        let opened: Result<OpaquePointer, NetlinkError>
        do {
            opened = try namespace.runBlocking { () -> Result<OpaquePointer, NetlinkError> in
                guard let socket = mnl_socket_open(NETLINK_NETFILTER) else {
                    return .failure(NetlinkError(.socketFailed, operation: "nftables socket open", errno: errno))
                }
                guard mnl_socket_bind(socket, 0, pid_t(MNL_SOCKET_AUTOPID)) == 0 else {
                    let saved = errno
                    mnl_socket_close(socket)
                    return .failure(NetlinkError(.socketFailed, operation: "nftables socket bind", errno: saved))
                }
                return .success(socket)
            }
        } catch {
            throw NetlinkError(.socketFailed, operation: "nftables socket in \(namespace): \(error)")
        }
        socket = try opened.get()
        var one: Int32 = 1
        _ = mnl_socket_setsockopt(socket, NETLINK_EXT_ACK, &one, socklen_t(MemoryLayout<Int32>.size))
        _ = mnl_socket_setsockopt(socket, NETLINK_CAP_ACK, &one, socklen_t(MemoryLayout<Int32>.size))
        var size = Int32(4 << 20)
        let fd = mnl_socket_get_fd(socket)
        if setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, socklen_t(MemoryLayout<Int32>.size)) != 0 {
            _ = setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        }
        sequence = Mutex(UInt32(truncatingIfNeeded: time(nil)))
    }

    /// Opens the handle without blocking a pool thread.
    public static func open(in namespace: NetworkNamespace) async throws(NetlinkError) -> NftablesHandle {
        do {
            // The dedicated thread blocks while the socket is opened, not a pool thread.
            return try await namespace.run { try NftablesHandle(namespace: namespace) }
        } catch let error as NetlinkError {
            throw error
        } catch {
            throw NetlinkError(.socketFailed, operation: "nftables socket in \(namespace): \(error)")
        }
    }

    deinit { mnl_socket_close(socket) }

    // MARK: Applying

    /// Applies every operation of `transaction` in ONE netlink batch (`nft -f FILE`). Either all
    /// take effect or none does. On failure the error (code ``NetlinkError/Code/batchFailed``)
    /// names the operation the kernel refused, in `nft` syntax, with the kernel's errno and
    /// extended-ACK text. Invalid arguments are refused before anything is sent.
    public func apply(_ transaction: NftablesTransaction) throws(NetlinkError) {
        guard !transaction.isEmpty else { return }
        try sequence.withLock { (sequenceNumber: inout UInt32) throws(NetlinkError) in
            let firstSequence = sequenceNumber
            var encoder = NftablesBatchEncoder(firstSequence: firstSequence)
            for (index, operation) in transaction.operations.enumerated() {
                try encoder.encode(operation, index: index)
            }
            encoder.requestAcknowledgementOfLastOperation()
            encoder.finish()
            sequenceNumber = encoder.lastSequence
            try send(encoder.bytes, operation: "nft -f (\(transaction.operations.count) operations)")
            let replies = try collectBatchReplies(finalSequence: encoder.lastSequence &- 1)
            // Only replies to this batch count (a late reply to an earlier request is ignored).
            let failures = replies.filter { $0.sequence &- firstSequence <= encoder.lastSequence &- firstSequence }
            guard let failure = failures.min(by: { $0.sequence &- firstSequence < $1.sequence &- firstSequence }) else {
                return
            }
            let index = encoder.operationBySequence[failure.sequence]
            let operation = index.map {
                "\(transaction.operations[$0]) (operation \($0 + 1) of \(transaction.operations.count))"
            } ?? "nft -f (\(transaction.operations.count) operations)"
            throw NetlinkError(.batchFailed, operation: operation, errno: failure.errno, kernelMessage: failure.message)
        }
    }

    private func send(_ bytes: [UInt8], operation: String) throws(NetlinkError) {
        let fd = mnl_socket_get_fd(socket)
        var size = Int32(max(bytes.count * 2, 1 << 20))
        _ = setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &size, socklen_t(MemoryLayout<Int32>.size))
        let sent = bytes.withUnsafeBytes { mnl_socket_sendto(socket, $0.baseAddress, $0.count) }
        guard sent == bytes.count else {
            throw NetlinkError(.socketFailed, operation: operation, errno: sent < 0 ? errno : EMSGSIZE)
        }
    }

    /// The kernel handles a batch synchronously while sending, so every reply is queued once
    /// `sendto` returns; read them all without blocking. Returns the failures.
    private func collectBatchReplies(finalSequence: UInt32) throws(NetlinkError) -> [NetlinkReply.Failure] {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: Self.receiveBufferSize, alignment: 8)
        defer { buffer.deallocate() }
        var failures: [NetlinkReply.Failure] = []
        var acknowledged = false
        var waitedOnce = false
        while true {
            let received = recv(mnl_socket_get_fd(socket), buffer.baseAddress, buffer.count, Int32(MSG_DONTWAIT))
            if received < 0 {
                if errno == EINTR { continue }
                if errno == EAGAIN || errno == EWOULDBLOCK {
                    if acknowledged || !failures.isEmpty || waitedOnce { break }
                    var descriptor = pollfd(fd: mnl_socket_get_fd(socket), events: Int16(POLLIN), revents: 0)
                    _ = poll(&descriptor, 1, 1000)
                    waitedOnce = true
                    continue
                }
                throw NetlinkError(.socketFailed, operation: "nftables batch reply", errno: errno)
            }
            for message in NetlinkReply.messages(in: UnsafeRawBufferPointer(rebasing: buffer[0..<received])) {
                guard let failure = message.failure else { continue }
                if failure.errno == 0 {
                    if failure.sequence == finalSequence { acknowledged = true }
                } else {
                    failures.append(failure)
                }
            }
        }
        return failures
    }

    // MARK: Dumps

    /// Sends a dump request and hands each reply message to `parse`; retries a dump the kernel
    /// marks interrupted (a change happened meanwhile).
    func dump<T: Sendable>(
        _ type: nf_tables_msg_types, family: UInt16, operation: String,
        payload: (UnsafeMutablePointer<nlmsghdr>) -> Void = { _ in },
        parse: (UnsafePointer<nlmsghdr>) -> T?
    ) throws(NetlinkError) -> [T] {
        let request = UnsafeMutableRawPointer.allocate(byteCount: 1 << 16, alignment: 8)
        defer { request.deallocate() }
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: Self.receiveBufferSize, alignment: 8)
        defer { buffer.deallocate() }
        for _ in 0..<8 {
            let (results, interrupted) = try sequence.withLock {
                (sequenceNumber: inout UInt32) throws(NetlinkError) -> ([T], Bool) in
                sequenceNumber &+= 1
                let requestSequence = sequenceNumber
                request.initializeMemory(as: UInt8.self, repeating: 0, count: 1 << 16)
                let nlh = nftnl_nlmsg_build_hdr(
                    request.assumingMemoryBound(to: CChar.self), UInt16(type.rawValue), family,
                    NetlinkFlags.dump | NetlinkFlags.acknowledge, requestSequence)!
                payload(nlh)
                let bytes = Array(UnsafeRawBufferPointer(start: request, count: Int(nlh.pointee.nlmsg_len)))
                try send(bytes, operation: operation)
                var results: [T] = []
                var interrupted = false
                while true {
                    let received = mnl_socket_recvfrom(socket, buffer.baseAddress, buffer.count)
                    if received < 0 {
                        if errno == EINTR { continue }
                        throw NetlinkError(.socketFailed, operation: operation, errno: errno)
                    }
                    for message in NetlinkReply.messages(in: UnsafeRawBufferPointer(rebasing: buffer[0..<received])) {
                        guard message.sequence == requestSequence else { continue }
                        if message.flags & UInt16(NLM_F_DUMP_INTR) != 0 { interrupted = true }
                        if message.isDone { return (results, interrupted) }
                        if let failure = message.failure {
                            if failure.errno == 0 { return (results, interrupted) }
                            throw NetlinkError(
                                failure.errno == ENOENT ? .notFound : .kernelError, operation: operation,
                                errno: failure.errno, kernelMessage: failure.message)
                        }
                        if let value = parse(message.header) { results.append(value) }
                    }
                }
            }
            if !interrupted { return results }
        }
        throw NetlinkError(.dumpInterrupted, operation: operation)
    }
}

/// Walks the netlink messages of one received datagram.
enum NetlinkReply {
    struct Failure {
        var sequence: UInt32
        var errno: Int32
        var message: String?
    }

    struct Message {
        var header: UnsafePointer<nlmsghdr>
        var bytes: UnsafeRawBufferPointer
        var sequence: UInt32 { header.pointee.nlmsg_seq }
        var flags: UInt16 { header.pointee.nlmsg_flags }
        var isDone: Bool { header.pointee.nlmsg_type == UInt16(NLMSG_DONE) }

        /// For an NLMSG_ERROR message: the sequence it answers, the errno (0 for an ACK) and the
        /// extended-ACK text.
        var failure: Failure? {
            guard header.pointee.nlmsg_type == UInt16(NLMSG_ERROR), bytes.count >= 36 else { return nil }
            let error = bytes.loadUnaligned(fromByteOffset: 16, as: Int32.self)
            let originalLength = Int(bytes.loadUnaligned(fromByteOffset: 20, as: UInt32.self))
            let originalSequence = bytes.loadUnaligned(fromByteOffset: 28, as: UInt32.self)
            var text: String?
            if flags & UInt16(NLM_F_ACK_TLVS) != 0 {
                let capped = flags & UInt16(NLM_F_CAPPED) != 0
                var offset = 20 + (capped ? 16 : originalLength)
                offset = (offset + 3) & ~3
                while offset + 4 <= bytes.count {
                    let length = Int(bytes.loadUnaligned(fromByteOffset: offset, as: UInt16.self))
                    let type = bytes.loadUnaligned(fromByteOffset: offset + 2, as: UInt16.self)
                    guard length >= 4, offset + length <= bytes.count else { break }
                    if type == UInt16(NLMSGERR_ATTR_MSG.rawValue) {
                        text = String(decoding: bytes[(offset + 4)..<(offset + length)].prefix { $0 != 0 }, as: UTF8.self)
                    }
                    offset += (length + 3) & ~3
                }
            }
            return Failure(sequence: originalSequence, errno: -error, message: text)
        }
    }

    static func messages(in buffer: UnsafeRawBufferPointer) -> [Message] {
        var result: [Message] = []
        var offset = 0
        while offset + 16 <= buffer.count {
            let length = Int(buffer.loadUnaligned(fromByteOffset: offset, as: UInt32.self))
            guard length >= 16, offset + length <= buffer.count else { break }
            let header = (buffer.baseAddress! + offset).assumingMemoryBound(to: nlmsghdr.self)
            result.append(Message(header: UnsafePointer(header), bytes: UnsafeRawBufferPointer(rebasing: buffer[offset..<(offset + length)])))
            offset += (length + 3) & ~3
        }
        return result
    }
}
