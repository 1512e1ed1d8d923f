#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
internal import CLinuxShim
import NetPrimitives
import SystemSupport

/// The sleeve's TAP device (`ip tuntap add NAME mode tap`), opened with offloads: every read
/// and write carries a virtio_net_hdr before the Ethernet frame, and the kernel hands over
/// GSO super-frames (TCP segments of up to 64 KiB with their checksum left to finish) instead
/// of one MTU-sized frame per read. Frames written to it enter the kernel as if received on
/// the device; frames the kernel sends out of it are read here.
///
/// Persistent by default: the device, its bridge port and its settings stay while the agent is
/// stopped, and the next agent attaches to it again (or creates it when it was deleted).
public final class TapDevice: Sendable {
    public let name: InterfaceName
    /// The descriptor (non-blocking), for the sleeve's threads.
    let descriptor: Int32

    /// Creates (or attaches to) the TAP device `name` in the calling thread's network
    /// namespace (`open /dev/net/tun`; ioctls `TUNSETIFF` with `IFF_TAP | IFF_NO_PI |
    /// IFF_VNET_HDR`, `TUNSETOFFLOAD` with checksum and TSO offloads, `TUNSETPERSIST`).
    public init(name: InterfaceName, persistent: Bool = true) throws(WeaveError) {
        let descriptor = name.value.withCString { cnishim_tap_open_offload($0, persistent ? 1 : 0) }
        guard descriptor >= 0 else {
            throw WeaveError(.systemCall, "\(SystemCallError("creating the TAP device \(name)", errno: errno))")
        }
        self.name = name
        self.descriptor = descriptor
    }

    /// Closes the descriptor; a persistent device stays (without a reader).
    public func close() { _ = Glibc.close(descriptor) }

    /// Makes the device go away with the descriptor, then closes it.
    public func remove() {
        _ = cnishim_tap_set_persist(descriptor, 0)
        close()
    }
}

/// The sleeve's UDP socket (IPv4), bound to a port on every address of the namespace it was
/// created in.
public final class SleeveSocket: Sendable {
    public let port: UInt16
    let descriptor: Int32

    public init(port: UInt16) throws(WeaveError) {
        let descriptor = socket(AF_INET, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
        guard descriptor >= 0 else { throw WeaveError(.systemCall, "\(SystemCallError("socket for the sleeve", errno: errno))") }
        var reuse: Int32 = 1
        _ = setsockopt(descriptor, SOL_SOCKET, SO_REUSEADDR, &reuse, socklen_t(MemoryLayout<Int32>.size))
        // Room for bursts of chunks: 4 MiB each way, past the namespace's rmem_max/wmem_max when
        // the process may (SO_RCVBUFFORCE needs CAP_NET_ADMIN), else as much as allowed.
        var size: Int32 = 4 << 20
        let length = socklen_t(MemoryLayout<Int32>.size)
        if setsockopt(descriptor, SOL_SOCKET, SO_RCVBUFFORCE, &size, length) != 0 {
            _ = setsockopt(descriptor, SOL_SOCKET, SO_RCVBUF, &size, length)
        }
        if setsockopt(descriptor, SOL_SOCKET, SO_SNDBUFFORCE, &size, length) != 0 {
            _ = setsockopt(descriptor, SOL_SOCKET, SO_SNDBUF, &size, length)
        }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard result == 0 else {
            let error = errno
            _ = Glibc.close(descriptor)
            throw WeaveError(.systemCall, "\(SystemCallError("binding the sleeve to UDP port \(port)", errno: error))")
        }
        self.port = port
        self.descriptor = descriptor
        coalescesReceived = cnishim_udp_set_gro(descriptor, 1) == 0
    }

    /// Whether the kernel hands over several datagrams of one sender at once (UDP_GRO).
    public let coalescesReceived: Bool

    public func close() { _ = Glibc.close(descriptor) }
}

/// Waits until `descriptor` is readable or `milliseconds` passed; true when readable.
func waitReadable(_ descriptor: Int32, milliseconds: Int32) -> Bool {
    var entry = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
    return SystemCall.retryingInterrupts { poll(&entry, 1, milliseconds) } > 0
}

/// One batch of outgoing datagrams over preallocated header slots (no allocation per
/// datagram; sealed payloads are kept alive until the batch is sent).
struct DatagramBatch: ~Copyable {
    /// Datagrams per batch (sent in sendmmsg calls of up to 64): two 64 KiB units of chunks.
    static let capacity = 128
    static let headerSlot = 32
    private let datagrams: UnsafeMutablePointer<cnishim_datagram>
    private let headers: UnsafeMutableRawPointer
    private(set) var count = 0
    private var sealed: [[UInt8]] = []
    private(set) var bytes = 0

    /// Where the chunks of one unit are laid out back to back for a segmented send.
    let staging: UnsafeMutableRawPointer
    static let stagingSize = 65_536

    init() {
        staging = .allocate(byteCount: Self.stagingSize, alignment: 16)
        datagrams = .allocate(capacity: Self.capacity)
        headers = .allocate(byteCount: Self.capacity * Self.headerSlot, alignment: 8)
        sealed.reserveCapacity(Self.capacity)
    }

    deinit {
        staging.deallocate()
        datagrams.deallocate()
        headers.deallocate()
    }

    var isFull: Bool { count == Self.capacity }

    /// Adds a chunk datagram: `chunk`'s header, then `payload` (which must stay valid until
    /// ``send(on:)``: memory of the caller, or a record kept by ``keep(_:)``).
    mutating func append(_ chunk: SleeveChunk, payload: UnsafeRawBufferPointer, to neighbour: SleeveRoutes.Neighbour) {
        let slot = UnsafeMutableRawBufferPointer(start: headers + count * Self.headerSlot, count: SleeveChunk.size)
        chunk.write(to: slot)
        datagrams[count] = cnishim_datagram(
            header: UnsafeRawPointer(slot.baseAddress), header_length: SleeveChunk.size,
            payload: UnsafeMutableRawPointer(mutating: payload.baseAddress), payload_length: payload.count,
            address: neighbour.address.bigEndian, port: neighbour.port)
        count += 1
        bytes += SleeveChunk.size + payload.count
    }

    /// Records kept until the batch is sent (at most one per queued datagram: a record is kept
    /// only for the datagrams that point into it).
    var keptRecords: Int { sealed.count }

    /// Keeps `record` until the batch is sent; returns its bytes. Only for a record that
    /// datagrams appended next point into (one sent another way must not be kept: nothing
    /// would release it before the next send).
    mutating func keep(_ record: [UInt8]) -> UnsafeRawBufferPointer {
        sealed.append(record)
        return sealed[sealed.count - 1].withUnsafeBytes { UnsafeRawBufferPointer(start: $0.baseAddress, count: $0.count) }
    }

    /// Room for `more` datagrams.
    func hasRoom(for more: Int) -> Bool { count + more <= Self.capacity }

    /// Sends the batch (sendmmsg, retried for the rest after a partial send); returns how many
    /// datagrams the kernel refused.
    mutating func send(on socket: SleeveSocket) -> Int {
        var sent = 0
        var failed = 0
        while sent < count {
            let result = SystemCall.retryingInterrupts { cnishim_send_batch(socket.descriptor, datagrams + sent, UInt32(count - sent)) }
            if result > 0 {
                sent += Int(result)
            } else if errno == EAGAIN || errno == ENOBUFS {
                if !waitWritable(socket.descriptor) { failed += count - sent; break }
            } else {
                // The first datagram failed (e.g. no route to that neighbour): skip it.
                failed += 1
                sent += 1
            }
        }
        count = 0
        bytes = 0
        sealed.removeAll(keepingCapacity: true)
        return failed
    }

    private func waitWritable(_ descriptor: Int32) -> Bool {
        var entry = pollfd(fd: descriptor, events: Int16(POLLOUT), revents: 0)
        return SystemCall.retryingInterrupts { poll(&entry, 1, 100) } > 0
    }
}
