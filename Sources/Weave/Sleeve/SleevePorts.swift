#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
internal import CLinuxShim
import NetPrimitives
import SystemSupport

/// A TAP device this process holds open (`ip tuntap add NAME mode tap`, but owned by the
/// descriptor: the device disappears when it is closed). Ethernet frames written to it enter
/// the kernel as if received on the device; frames the kernel sends out of it are read here.
public final class TapDevice: Sendable {
    public let name: InterfaceName
    /// The descriptor (non-blocking), for the sleeve's threads.
    let descriptor: Int32

    /// Creates (or attaches to) the TAP device `name` in the calling thread's network
    /// namespace (`open /dev/net/tun` and ioctl `TUNSETIFF` with `IFF_TAP | IFF_NO_PI`).
    public init(name: InterfaceName) throws(WeaveError) {
        let descriptor = name.value.withCString { cnishim_tap_open($0) }
        guard descriptor >= 0 else {
            throw WeaveError(.systemCall, "\(SystemCallError("creating the TAP device \(name)", errno: errno))")
        }
        self.name = name
        self.descriptor = descriptor
    }

    /// Closes the descriptor (the device goes away with it).
    public func close() { _ = Glibc.close(descriptor) }
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
        var size: Int32 = 4 << 20
        _ = setsockopt(descriptor, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        _ = setsockopt(descriptor, SOL_SOCKET, SO_SNDBUF, &size, socklen_t(MemoryLayout<Int32>.size))
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
    }

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
    static let capacity = 64
    static let headerSlot = 32
    private let datagrams: UnsafeMutablePointer<cnishim_datagram>
    private let headers: UnsafeMutableRawPointer
    private(set) var count = 0
    private var sealed: [[UInt8]] = []
    private(set) var bytes = 0

    init() {
        datagrams = .allocate(capacity: Self.capacity)
        headers = .allocate(byteCount: Self.capacity * Self.headerSlot, alignment: 8)
        sealed.reserveCapacity(Self.capacity)
    }

    deinit {
        datagrams.deallocate()
        headers.deallocate()
    }

    var isFull: Bool { count == Self.capacity }

    /// Adds a datagram of `header` then `payload` (which must stay valid until ``send(on:)``).
    mutating func append(_ header: SleeveHeader, payload: UnsafeRawBufferPointer, to neighbour: SleeveRoutes.Neighbour) {
        let slot = UnsafeMutableRawBufferPointer(start: headers + count * Self.headerSlot, count: SleeveHeader.size)
        header.write(to: slot)
        datagrams[count] = cnishim_datagram(
            header: UnsafeRawPointer(slot.baseAddress), header_length: SleeveHeader.size,
            payload: UnsafeMutableRawPointer(mutating: payload.baseAddress), payload_length: payload.count,
            address: neighbour.address.bigEndian, port: neighbour.port)
        count += 1
        bytes += SleeveHeader.size + payload.count
    }

    /// Adds a sealed datagram: the clear part of `header`, then `record` (kept by the batch).
    mutating func appendSealed(_ header: SleeveHeader, record: [UInt8], to neighbour: SleeveRoutes.Neighbour) {
        let slot = UnsafeMutableRawBufferPointer(start: headers + count * Self.headerSlot, count: SleeveHeader.size)
        header.write(to: slot)
        sealed.append(record)
        let pointer = sealed[sealed.count - 1].withUnsafeBytes { UnsafeMutableRawPointer(mutating: $0.baseAddress) }
        datagrams[count] = cnishim_datagram(
            header: UnsafeRawPointer(slot.baseAddress), header_length: SleeveHeader.clearSize,
            payload: pointer, payload_length: record.count,
            address: neighbour.address.bigEndian, port: neighbour.port)
        count += 1
        bytes += SleeveHeader.clearSize + record.count
    }

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
