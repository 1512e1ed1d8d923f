#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
internal import CLinuxShim
import Synchronization
import SystemSupport

/// Heartbeats over the fast path, to tell per peer whether it works: full-size frames sent
/// through the peer's kernel VXLAN (UDP 6784, the fast path's VNI) to the peer's bridge, whose
/// MAC is the peer's name, and acknowledged the same way back. A peer whose heartbeats are
/// acknowledged has a working fast path both ways at the pods' MTU.
///
/// The frames use EtherType 0x88B5 (local experimental): the peer's bridge hands them to its
/// own host, where its agent reads them from a packet socket on the bridge; nothing else sees
/// them. One dedicated thread sends every ``interval`` and answers/records what arrives.
public final class FastPathHeartbeat: Sendable {
    public static let etherType: UInt16 = 0x88B5
    static let magic: [UInt8] = [0x57, 0x48]  // "WH"

    public let local: UInt64
    public let interval: Duration
    private let frameSize: Int
    private let identifier: UInt32
    private let port: UInt16
    private let packetSocket: Int32
    private let udpSocket: Int32
    private let targets = Mutex<[UInt64: UInt32]>([:])
    private let acknowledged = Mutex<[UInt64: ContinuousClock.Instant]>([:])
    private let sentCount = Atomic<Int>(0)
    private let running = Atomic<Bool>(false)
    private let thread = Mutex<pthread_t?>(nil)

    /// `bridgeIndex`: the local bridge (whose MAC must be `local`); `frameSize`: the Ethernet
    /// frame size to test (the pods' MTU plus 14); `identifier` and `port`: the fast path's VNI
    /// and UDP port.
    public init(local: UInt64, bridgeIndex: Int, frameSize: Int, identifier: UInt32, port: UInt16,
                interval: Duration = .milliseconds(500)) throws(WeaveError) {
        let packetSocket = cnishim_packet_socket(Int32(bridgeIndex), Self.etherType)
        guard packetSocket >= 0 else {
            throw WeaveError(.systemCall, "\(SystemCallError("a packet socket on the bridge for fast-path heartbeats", errno: errno))")
        }
        let udpSocket = socket(AF_INET, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
        guard udpSocket >= 0 else {
            _ = Glibc.close(packetSocket)
            throw WeaveError(.systemCall, "\(SystemCallError("a socket for fast-path heartbeats", errno: errno))")
        }
        self.local = local
        self.frameSize = max(frameSize, 64)
        self.identifier = identifier
        self.port = port
        self.interval = interval
        self.packetSocket = packetSocket
        self.udpSocket = udpSocket
    }

    /// The peers to send heartbeats to (peer → underlay IPv4, host order).
    public func update(targets new: [UInt64: UInt32]) {
        targets.withLock { $0 = new }
        acknowledged.withLock { acknowledged in acknowledged = acknowledged.filter { new[$0.key] != nil } }
    }

    /// When each peer last acknowledged a heartbeat.
    public var lastAcknowledged: [UInt64: ContinuousClock.Instant] { acknowledged.withLock { $0 } }

    public var heartbeatsSent: Int { sentCount.load(ordering: .relaxed) }

    public func start() throws(WeaveError) {
        guard !running.exchange(true, ordering: .acquiringAndReleasing) else { return }
        let context = Unmanaged.passRetained(self).toOpaque()
        var created = pthread_t()
        let result = pthread_create(&created, nil, { raw in
            let heartbeat = Unmanaged<FastPathHeartbeat>.fromOpaque(raw!).takeRetainedValue()
            heartbeat.run()
            return nil
        }, context)
        guard result == 0 else {
            Unmanaged<FastPathHeartbeat>.fromOpaque(context).release()
            running.store(false, ordering: .releasing)
            throw WeaveError(.systemCall, "\(SystemCallError("starting the heartbeat thread", errno: result))")
        }
        thread.withLock { $0 = created }
    }

    public func stop() {
        running.store(false, ordering: .releasing)
        if let joined = thread.withLock({ thread in defer { thread = nil }; return thread }) { pthread_join(joined, nil) }
    }

    public func close() {
        _ = Glibc.close(packetSocket)
        _ = Glibc.close(udpSocket)
    }

    // MARK: - The thread

    private func run() {
        _ = cnishim_set_thread_name("weave-heartbeat")
        // VXLAN header (8) + Ethernet header (14) + payload, padded to the frame size.
        let datagramSize = 8 + frameSize
        let outgoing = UnsafeMutableRawBufferPointer.allocate(byteCount: datagramSize, alignment: 8)
        let incoming = UnsafeMutableRawBufferPointer.allocate(byteCount: 65_536, alignment: 8)
        defer {
            outgoing.deallocate()
            incoming.deallocate()
        }
        outgoing.initializeMemory(as: UInt8.self, repeating: 0)
        outgoing[0] = 0x08  // VNI present
        for index in 0..<3 { outgoing[4 + index] = UInt8(truncatingIfNeeded: identifier >> UInt32(16 - 8 * index)) }
        let clock = ContinuousClock()
        var nextSend = clock.now
        var sequence: UInt64 = 0
        while running.load(ordering: .acquiring) {
            if clock.now >= nextSend {
                sequence += 1
                for (peer, address) in targets.withLock({ $0 }) {
                    fill(outgoing, to: peer, kind: 1, sequence: sequence)
                    send(outgoing, to: address)
                    sentCount.add(1, ordering: .relaxed)
                }
                nextSend = clock.now + interval
            }
            guard waitReadable(packetSocket, milliseconds: 50) else { continue }
            while true {
                let length = recv(packetSocket, incoming.baseAddress, incoming.count, Int32(MSG_DONTWAIT))
                guard length >= 2 + 1 + 6 + 8 else { break }
                guard incoming[0] == Self.magic[0], incoming[1] == Self.magic[1] else { continue }
                let kind = incoming[2]
                let sender = SleeveHeader.readPeer(UnsafeRawBufferPointer(incoming), at: 3)
                var received: UInt64 = 0
                for index in 0..<8 { received = received << 8 | UInt64(incoming[9 + index]) }
                if kind == 1, let address = targets.withLock({ $0[sender] }) {
                    fill(outgoing, to: sender, kind: 2, sequence: received)
                    send(outgoing, to: address)
                } else if kind == 2 {
                    acknowledged.withLock { $0[sender] = clock.now }
                }
            }
        }
    }

    /// The inner frame: to `peer`'s bridge from ours, EtherType 0x88B5, then magic, kind,
    /// sender, sequence.
    private func fill(_ buffer: UnsafeMutableRawBufferPointer, to peer: UInt64, kind: UInt8, sequence: UInt64) {
        let frame = UnsafeMutableRawBufferPointer(rebasing: buffer[8...])
        SleeveHeader.writePeer(peer, to: frame, at: 0)
        SleeveHeader.writePeer(local, to: frame, at: 6)
        frame[12] = UInt8(Self.etherType >> 8)
        frame[13] = UInt8(Self.etherType & 0xff)
        frame[14] = Self.magic[0]
        frame[15] = Self.magic[1]
        frame[16] = kind
        SleeveHeader.writePeer(local, to: frame, at: 17)
        for index in 0..<8 { frame[23 + index] = UInt8(truncatingIfNeeded: sequence >> UInt64(56 - 8 * index)) }
    }

    private func send(_ buffer: UnsafeMutableRawBufferPointer, to address: UInt32) {
        var destination = sockaddr_in()
        destination.sin_family = sa_family_t(AF_INET)
        destination.sin_port = port.bigEndian
        destination.sin_addr.s_addr = address.bigEndian
        _ = withUnsafePointer(to: &destination) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                sendto(udpSocket, buffer.baseAddress, buffer.count, 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
    }
}
