#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
internal import CLinuxShim
import Synchronization
import SystemSupport

/// Weave's "sleeve": user-space forwarding between the bridge's TAP port and UDP 6783, for the
/// peers the fast path does not reach (no direct connection, or its fast path failed) and for
/// encrypted pairs. Frames are relayed hop by hop along the mesh's unicast routes; the owner
/// of each remote MAC is learned from the frames received, so unicast goes to that peer only,
/// while broadcasts and unknown unicast go to every sleeve peer once.
///
/// Two dedicated OS threads, never the Swift concurrency pool: one reads the TAP port and sends
/// batches (sendmmsg), one receives batches (recvmmsg), delivers into the TAP port and relays.
/// Buffers are allocated once; only sealing allocates (one record per datagram).
public final class Sleeve: Sendable {
    /// The largest datagram the sleeve receives (a jumbo underlay MTU fits).
    public static let bufferSize = 10_240
    /// Bytes the sleeve adds to a frame on the wire, sealed: IPv4 and UDP headers, the sleeve
    /// header and a sealed record's header and tag.
    public static let overhead = 20 + 8 + SleeveHeader.size + 28
    /// The IP MTU pods get so that their frames fit a sleeve datagram at `underlayMTU`.
    public static func podMTU(underlayMTU: Int) -> Int { underlayMTU - overhead - EthernetFrame.headerSize }

    public let local: UInt64
    public let tap: TapDevice
    public let socket: SleeveSocket
    private let routes: Mutex<SleeveRoutes>
    private let owners = Mutex<[UInt64: UInt64]>([:])
    private let counts = Mutex(SleeveCounters())
    private let running = Atomic<Bool>(false)
    private let threads = Mutex<[pthread_t]>([])

    public init(local: UInt64, tap: TapDevice, socket: SleeveSocket) {
        self.local = local
        self.tap = tap
        self.socket = socket
        routes = Mutex(SleeveRoutes(local: local))
    }

    /// Replaces the routes (the threads use them from their next batch on). Learned MAC owners
    /// that are no longer reachable are forgotten.
    public func update(_ new: SleeveRoutes) {
        routes.withLock { $0 = new }
        owners.withLock { owners in owners = owners.filter { new.nextHops[$0.value] != nil } }
    }

    public var currentRoutes: SleeveRoutes { routes.withLock { $0 } }

    /// The learned owners of remote MACs (MAC → peer).
    public var learnedOwners: [UInt64: UInt64] { owners.withLock { $0 } }

    public var counters: SleeveCounters { counts.withLock { $0 } }

    /// Starts the two threads.
    public func start() throws(WeaveError) {
        guard !running.exchange(true, ordering: .acquiringAndReleasing) else { return }
        var started: [pthread_t] = []
        for body in [{ [self] in self.runTransmitter() }, { [self] in self.runReceiver() }] as [@Sendable () -> Void] {
            let context = Unmanaged.passRetained(ThreadBody(body)).toOpaque()
            var thread = pthread_t()
            let result = pthread_create(&thread, nil, { raw in
                let body = Unmanaged<ThreadBody>.fromOpaque(raw!).takeRetainedValue()
                body.run()
                return nil
            }, context)
            guard result == 0 else {
                Unmanaged<ThreadBody>.fromOpaque(context).release()
                stop()
                throw WeaveError(.systemCall, "\(SystemCallError("starting a sleeve thread", errno: result))")
            }
            started.append(thread)
        }
        threads.withLock { $0 += started }
    }

    /// Stops and joins the threads (within a fifth of a second); the descriptors stay open.
    public func stop() {
        running.store(false, ordering: .releasing)
        let joined = threads.withLock { threads in
            defer { threads = [] }
            return threads
        }
        for thread in joined { pthread_join(thread, nil) }
    }

    private var isRunning: Bool { running.load(ordering: .acquiring) }

    // MARK: - TAP → UDP

    private func runTransmitter() {
        _ = cnishim_set_thread_name("weave-sleeve-tx")
        let capacity = DatagramBatch.capacity
        let buffers = UnsafeMutableRawPointer.allocate(byteCount: capacity * Self.bufferSize, alignment: 16)
        defer { buffers.deallocate() }
        var batch = DatagramBatch()
        var counted = SleeveCounters()
        while isRunning {
            guard waitReadable(tap.descriptor, milliseconds: 200) else { continue }
            let table = routes.withLock { $0 }
            let known = owners.withLock { $0 }
            var frames = 0
            while frames < capacity {
                let buffer = buffers + frames * Self.bufferSize
                let length = read(tap.descriptor, buffer, Self.bufferSize)
                guard length > 0 else { break }
                frames += 1
                let frame = UnsafeRawBufferPointer(start: buffer, count: length)
                guard let mac = EthernetFrame.destination(frame) else { counted.drop(.malformed); continue }
                switch table.destinations(destinationMAC: mac, owner: known[mac]) {
                case .none:
                    counted.ignored += 1
                case .one(let peer):
                    enqueue(frame, to: peer, table: table, batch: &batch, counted: &counted)
                case .all:
                    for peer in table.sleevePeers { enqueue(frame, to: peer, table: table, batch: &batch, counted: &counted) }
                }
            }
            flush(&batch, counted: &counted)
            counts.withLock { $0.add(counted) }
            counted = SleeveCounters()
        }
    }

    private func enqueue(_ frame: UnsafeRawBufferPointer, to peer: UInt64, table: SleeveRoutes,
                         batch: inout DatagramBatch, counted: inout SleeveCounters) {
        guard let (_, neighbour) = table.hop(towards: peer) else { counted.drop(.noRoute); return }
        if batch.isFull { flush(&batch, counted: &counted) }
        let header = SleeveHeader(kind: .frame, sender: local, origin: local, destination: peer)
        append(header, frame: frame, to: neighbour, batch: &batch)
        counted.framesSent += 1
    }

    /// Adds `frame` with `header`, sealed for `neighbour` when it has a cipher.
    private func append(_ header: SleeveHeader, frame: UnsafeRawBufferPointer, to neighbour: SleeveRoutes.Neighbour,
                        batch: inout DatagramBatch) {
        guard let cipher = neighbour.cipher else {
            batch.append(header, payload: frame, to: neighbour)
            return
        }
        var sealedHeader = header
        sealedHeader.kind = .sealedFrame
        // The sealed part: origin, destination, frame.
        let plaintext = [UInt8](unsafeUninitializedCapacity: 12 + frame.count) { buffer, count in
            let raw = UnsafeMutableRawBufferPointer(buffer)
            SleeveHeader.writePeer(header.origin, to: raw, at: 0)
            SleeveHeader.writePeer(header.destination, to: raw, at: 6)
            if frame.count > 0 { raw.baseAddress!.advanced(by: 12).copyMemory(from: frame.baseAddress!, byteCount: frame.count) }
            count = 12 + frame.count
        }
        let record = plaintext.withUnsafeBytes { cipher.seal($0) }
        batch.appendSealed(sealedHeader, record: record, to: neighbour)
    }

    private func flush(_ batch: inout DatagramBatch, counted: inout SleeveCounters) {
        guard batch.count > 0 else { return }
        counted.bytesSent += batch.bytes
        counted.datagramsSent += batch.count
        let failed = batch.send(on: socket)
        for _ in 0..<failed { counted.drop(.sendFailed) }
    }

    // MARK: - UDP → TAP (and relays)

    private func runReceiver() {
        _ = cnishim_set_thread_name("weave-sleeve-rx")
        let capacity = DatagramBatch.capacity
        let buffers = UnsafeMutableRawPointer.allocate(byteCount: capacity * Self.bufferSize, alignment: 16)
        let slots = UnsafeMutablePointer<cnishim_datagram>.allocate(capacity: capacity)
        defer {
            buffers.deallocate()
            slots.deallocate()
        }
        var batch = DatagramBatch()
        var counted = SleeveCounters()
        while isRunning {
            guard waitReadable(socket.descriptor, milliseconds: 200) else { continue }
            for index in 0..<capacity {
                slots[index] = cnishim_datagram(header: nil, header_length: 0, payload: buffers + index * Self.bufferSize,
                                                payload_length: Self.bufferSize, address: 0, port: 0)
            }
            let received = SystemCall.retryingInterrupts { cnishim_receive_batch(socket.descriptor, slots, UInt32(capacity)) }
            guard received > 0 else { continue }
            let table = routes.withLock { $0 }
            var learned: [(UInt64, UInt64)] = []
            for index in 0..<Int(received) {
                let datagram = UnsafeRawBufferPointer(start: slots[index].payload, count: slots[index].payload_length)
                counted.datagramsReceived += 1
                counted.bytesReceived += datagram.count
                handle(datagram, from: UInt32(bigEndian: slots[index].address), table: table,
                       batch: &batch, counted: &counted, learned: &learned)
            }
            flush(&batch, counted: &counted)
            if !learned.isEmpty {
                owners.withLock { owners in for (mac, peer) in learned where owners[mac] != peer { owners[mac] = peer } }
            }
            counts.withLock { $0.add(counted) }
            counted = SleeveCounters()
        }
    }

    private func handle(_ datagram: UnsafeRawBufferPointer, from address: UInt32, table: SleeveRoutes,
                        batch: inout DatagramBatch, counted: inout SleeveCounters, learned: inout [(UInt64, UInt64)]) {
        guard var header = SleeveHeader(reading: datagram) else { counted.drop(.malformed); return }
        guard let sender = table.neighbour(header.sender, at: address) else { counted.drop(.unknownSender); return }
        var opened: [UInt8] = []
        let frame: UnsafeRawBufferPointer
        switch header.kind {
        case .frame:
            guard sender.cipher == nil else { counted.drop(.encryptionMismatch); return }
            frame = UnsafeRawBufferPointer(rebasing: datagram[SleeveHeader.size...])
        case .sealedFrame:
            guard let cipher = sender.cipher else { counted.drop(.encryptionMismatch); return }
            switch cipher.open(UnsafeRawBufferPointer(rebasing: datagram[SleeveHeader.clearSize...])) {
            case .failure(let reason): counted.drop(reason); return
            case .success(let plaintext): opened = plaintext
            }
            guard opened.count >= 12 else { counted.drop(.malformed); return }
            opened.withUnsafeBytes { raw in
                header.origin = SleeveHeader.readPeer(raw, at: 0)
                header.destination = SleeveHeader.readPeer(raw, at: 6)
            }
            frame = UnsafeRawBufferPointer(start: nil, count: 0)  // set below from `opened`
        case .heartbeat, .heartbeatAcknowledgement:
            return
        }
        if header.kind == .sealedFrame {
            opened.withUnsafeBytes { raw in
                forward(header, frame: UnsafeRawBufferPointer(rebasing: raw[12...]), table: table, batch: &batch,
                        counted: &counted, learned: &learned)
            }
        } else {
            forward(header, frame: frame, table: table, batch: &batch, counted: &counted, learned: &learned)
        }
    }

    /// Delivers a frame for the local peer into the TAP port, relays any other.
    private func forward(_ header: SleeveHeader, frame: UnsafeRawBufferPointer, table: SleeveRoutes,
                         batch: inout DatagramBatch, counted: inout SleeveCounters, learned: inout [(UInt64, UInt64)]) {
        guard let source = EthernetFrame.source(frame) else { counted.drop(.malformed); return }
        if header.destination == local {
            guard table.sleevePeers.contains(header.origin) else { counted.drop(.wrongPath); return }
            if !EthernetFrame.isGroup(source) { learned.append((source, header.origin)) }
            let written = write(tap.descriptor, frame.baseAddress, frame.count)
            if written == frame.count { counted.framesDelivered += 1 } else { counted.drop(.sendFailed) }
            return
        }
        guard header.hopsLeft > 1 else { counted.drop(.hopLimit); return }
        guard let (_, neighbour) = table.hop(towards: header.destination) else { counted.drop(.noRoute); return }
        if batch.isFull { flush(&batch, counted: &counted) }
        var relayed = header
        relayed.kind = .frame
        relayed.hopsLeft -= 1
        relayed.sender = local
        append(relayed, frame: frame, to: neighbour, batch: &batch)
        counted.framesRelayed += 1
    }
}

/// The sleeve's counters since start.
public struct SleeveCounters: Hashable, Sendable, Codable {
    /// Frames from the local bridge sent into the sleeve (one per destination peer).
    public var framesSent = 0
    /// Frames delivered into the local bridge.
    public var framesDelivered = 0
    /// Frames passed on towards another peer.
    public var framesRelayed = 0
    /// Frames from the local bridge that were not for the sleeve (their owner is on the fast path).
    public var ignored = 0
    public var datagramsSent = 0
    public var datagramsReceived = 0
    public var bytesSent = 0
    public var bytesReceived = 0
    public var drops: [String: Int] = [:]

    public init() {}

    mutating func drop(_ reason: SleeveDrop) { drops[reason.rawValue, default: 0] += 1 }

    mutating func add(_ other: SleeveCounters) {
        framesSent += other.framesSent
        framesDelivered += other.framesDelivered
        framesRelayed += other.framesRelayed
        ignored += other.ignored
        datagramsSent += other.datagramsSent
        datagramsReceived += other.datagramsReceived
        bytesSent += other.bytesSent
        bytesReceived += other.bytesReceived
        for (reason, count) in other.drops { drops[reason, default: 0] += count }
    }
}

/// A closure handed to a new thread exactly once.
private final class ThreadBody: @unchecked Sendable {
    // Unchecked: created, handed to pthread_create and run once on that thread.
    let body: @Sendable () -> Void
    init(_ body: @escaping @Sendable () -> Void) { self.body = body }
    func run() { body() }
}
