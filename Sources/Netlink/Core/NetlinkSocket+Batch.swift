/// A run of netlink messages in one buffer, each a complete message whose sequence number the
/// socket stamps when it sends them (``NetlinkSocket/performTransaction(_:acknowledging:operation:)``).
/// Built from bytes, so a module that encodes its messages with its own C library (Nftables
/// with libnftnl) hands them over without any C type crossing the module boundary.
package struct NetlinkMessageBuffer: Sendable {
    package private(set) var bytes: [UInt8] = []
    /// The offset of each message in ``bytes``.
    package private(set) var starts: [Int] = []

    package init() {}

    package var count: Int { starts.count }

    /// Appends one message (a netlink header and its payload; `nlmsg_len` bytes).
    package mutating func append(_ message: UnsafeRawBufferPointer) {
        starts.append(bytes.count)
        bytes.append(contentsOf: message)
        let padding = RouteNetlinkBytes.aligned(message.count) - message.count
        if padding > 0 { bytes.append(contentsOf: repeatElement(0, count: padding)) }
    }
}

extension NetlinkSocket {
    /// Sends many independent requests with few system calls: requests are packed into
    /// datagrams of about ``batchChunkSize`` bytes; only the last request of each datagram asks
    /// for an ACK, so a successful datagram costs one `send` and one `recv`. Failed requests
    /// still get their error message; each is mapped back to its index by sequence number.
    package func performBatch(_ requests: [NetlinkRequest]) throws -> [(index: Int, error: NetlinkError)] {
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
                Self.stamp(&chunk, at: offset, sequence: sequence, acknowledge: isLast)
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

    /// Sends `messages` as ONE datagram, for a family that applies a datagram as a unit (an
    /// nfnetlink batch: BATCH_BEGIN, the messages, BATCH_END; all take effect or none does).
    /// The message at index `acknowledging` asks for an ACK, so success is confirmed
    /// explicitly; the kernel answers the whole datagram before `send` returns, so after the
    /// ACK or the first error every other answer is already queued and is read without
    /// blocking. Returns the refused messages by index, in order; `operation` names one.
    package func performTransaction(
        _ messages: NetlinkMessageBuffer, acknowledging: Int, operation: (Int) -> String
    ) throws -> [(index: Int, error: NetlinkError)] {
        guard messages.count > 0 else { return [] }
        var bytes = messages.bytes
        var sequences: [UInt32] = []
        sequences.reserveCapacity(messages.count)
        for (index, start) in messages.starts.enumerated() {
            let sequence = nextSequence()
            sequences.append(sequence)
            Self.stamp(&bytes, at: start, sequence: sequence, acknowledge: index == acknowledging)
        }
        let first = sequences[0]
        let span = sequences[sequences.count - 1] &- first
        let acknowledgement = sequences[min(max(acknowledging, 0), sequences.count - 1)]
        try bytes.withUnsafeBytes { try send($0, operation: operation(acknowledging)) }
        var failures: [(index: Int, error: NetlinkError)] = []
        var acknowledged = false
        var wait = true
        // Wait for the ACK or an error; then read what else is queued without blocking.
        while let replies = try receive(operation: operation(acknowledging), wait: wait) {
            for reply in replies
            where reply.type == RouteNetlinkConstant.NLMSG_ERROR && reply.sequence &- first <= span {
                let index = Int(reply.sequence &- first)
                if let error = Self.error(in: reply, operation: { operation(index) }) {
                    failures.append((index, error))
                } else if reply.sequence == acknowledgement {
                    acknowledged = true
                }
            }
            if acknowledged || !failures.isEmpty { wait = false }
        }
        return failures.sorted { $0.index < $1.index }
    }

    /// Writes `sequence` into the message at `offset` and, when asked, sets NLM_F_ACK.
    /// In place, without allocating (a batch stamps one message per route).
    private static func stamp(_ bytes: inout [UInt8], at offset: Int, sequence: UInt32, acknowledge: Bool) {
        bytes.withUnsafeMutableBytes { raw in
            var flags = UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: offset + 6, as: UInt16.self))
            if acknowledge { flags |= UInt16(RouteNetlinkConstant.NLM_F_ACK) }
            raw.storeBytes(of: flags.littleEndian, toByteOffset: offset + 6, as: UInt16.self)
            raw.storeBytes(of: sequence.littleEndian, toByteOffset: offset + 8, as: UInt32.self)
        }
    }
}
