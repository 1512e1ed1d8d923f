#if canImport(Glibc)
import Glibc
#endif
import Netlink
internal import CNftnl
import Namespaces
import Synchronization

/// An nftables connection bound to one network namespace: applies ``NftablesTransaction``s as
/// one atomic batch each and reads tables, chains, sets, elements and rules back.
///
/// The netlink socket is opened on a dedicated thread inside the namespace
/// (`NetworkNamespace.runBlocking`) and stays bound to it, so the handle can be used from any
/// task or thread afterwards; requests on one handle are serialised. The socket, its
/// sequence numbers, acknowledgements and extended-ACK errors are Netlink's netlink core
/// (the same as Netlink's `NetlinkHandle`); this module encodes and decodes the nftables
/// objects with libnftnl.
///
/// ```swift
/// let nft = try NftablesHandle(namespace: node)
/// var transaction = NftablesTransaction()
/// transaction.add(NftablesTable(name: "swiftcni_nat"))
/// try nft.apply(transaction)             // nft -f <(transaction.nftScript)
/// ```
public final class NftablesHandle: @unchecked Sendable {
    // @unchecked Sendable: `socket` is only used while `lock` is held (`withSocket`), and it
    // is closed in deinit when no other reference exists.
    public let namespace: NetworkNamespace
    private let socket: NetlinkSocket
    private let lock = Mutex<Void>(())

    /// Opens an nftables netlink socket inside `namespace` (on a dedicated thread).
    public init(namespace: NetworkNamespace) throws(NetlinkError) {
        self.namespace = namespace
        let opened: Result<NetlinkSocket, NetlinkError>
        do {
            opened = try namespace.runBlocking { () -> Result<NetlinkSocket, NetlinkError> in
                do {
                    return .success(try NetlinkSocket(.netfilter))
                } catch let error as NetlinkError {
                    return .failure(error)
                } catch {
                    return .failure(NetlinkError(.socketFailed, operation: "nftables socket open: \(error)"))
                }
            }
        } catch {
            throw NetlinkError(.socketFailed, operation: "nftables socket in \(namespace): \(error)")
        }
        socket = try opened.get()
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

    /// Runs `body` with exclusive use of the socket; any error becomes a `NetlinkError`.
    private func withSocket<T>(_ body: (NetlinkSocket) throws -> T) throws(NetlinkError) -> T {
        do {
            return try lock.withLock { _ in try body(socket) }
        } catch let error as NetlinkError {
            throw error
        } catch {
            throw NetlinkError(.socketFailed, operation: "nftables: \(error)")
        }
    }

    // MARK: Applying

    /// Applies every operation of `transaction` in ONE netlink batch (`nft -f FILE`). Either all
    /// take effect or none does. On failure the error (code `NetlinkError.Code.batchFailed`)
    /// names the operation the kernel refused, in `nft` syntax, with the kernel's errno and
    /// extended-ACK text. Invalid arguments are refused before anything is sent.
    public func apply(_ transaction: NftablesTransaction) throws(NetlinkError) {
        guard !transaction.isEmpty else { return }
        var encoder = NftablesBatchEncoder()
        for (index, operation) in transaction.operations.enumerated() {
            try encoder.encode(operation, index: index)
        }
        encoder.finish()
        let operations = transaction.operations
        let operationByMessage = encoder.operationByMessage
        func name(_ message: Int) -> String {
            guard let index = operationByMessage[message] else { return "nft -f (\(operations.count) operations)" }
            return "\(operations[index]) (operation \(index + 1) of \(operations.count))"
        }
        let messages = encoder.messages
        let acknowledging = encoder.lastOperationMessage
        let failures = try withSocket { try $0.performTransaction(messages, acknowledging: acknowledging, operation: name) }
        // The first refused message is the cause; the kernel may report later ones too.
        guard let failure = failures.first else { return }
        throw NetlinkError(
            .batchFailed, operation: name(failure.index), errno: failure.error.errno,
            kernelMessage: failure.error.kernelMessage)
    }

    // MARK: Dumps

    /// Sends a dump request and hands each reply message to `parse` (a libnftnl decoder);
    /// the core retries a dump the kernel marks interrupted (a change happened meanwhile).
    func dump<T: Sendable>(
        _ type: nf_tables_msg_types, family: UInt16, operation: String,
        payload: (UnsafeMutablePointer<nlmsghdr>) -> Void = { _ in },
        parse: (UnsafePointer<nlmsghdr>) -> T?
    ) throws(NetlinkError) -> [T] {
        let scratch = UnsafeMutableRawPointer.allocate(byteCount: 1 << 16, alignment: 8)
        defer { scratch.deallocate() }
        scratch.initializeMemory(as: UInt8.self, repeating: 0, count: 1 << 16)
        let header = nftnl_nlmsg_build_hdr(
            scratch.assumingMemoryBound(to: CChar.self), UInt16(type.rawValue), family, 0, 0)!
        payload(header)
        let bytes = Array(UnsafeRawBufferPointer(start: scratch, count: Int(header.pointee.nlmsg_len)))
        let replies: [NetlinkReply]
        do {
            replies = try withSocket { try $0.dump(NetlinkRequest(bytes: bytes, operation: { operation })) }
        } catch where error.code == .kernelError && error.errno == ENOENT {
            throw NetlinkError(.notFound, operation: operation, errno: ENOENT, kernelMessage: error.kernelMessage)
        }
        var results: [T] = []
        for reply in replies {
            // Replies are 4-byte aligned in the receive buffer, as an nlmsghdr needs.
            let value = reply.message.withUnsafeBytes { raw in
                parse(raw.baseAddress!.assumingMemoryBound(to: nlmsghdr.self))
            }
            if let value { results.append(value) }
        }
        return results
    }
}
