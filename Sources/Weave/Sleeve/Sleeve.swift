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
/// The TAP port has offloads (``TapDevice``): one read returns a GSO super-frame of up to
/// 64 KiB, carried across as one *unit* cut into datagram-sized chunks (``SleeveChunk``),
/// sealed once per unit between encrypting neighbours, reassembled at the other end
/// (``SleeveReassembly``) and written into its TAP port whole, so the kernel, the bridge and
/// the pod's veth pass it on as one GSO packet.
///
/// Two dedicated OS threads, never the Swift concurrency pool: one reads the TAP port and sends
/// batches (sendmmsg), one receives batches (recvmmsg), reassembles, delivers into the TAP port
/// and relays. Buffers are allocated once; only sealing and opening allocate (one record per
/// unit, through the mesh's data channel).
public final class Sleeve: Sendable {
    /// The largest datagram the sleeve receives (a jumbo underlay MTU fits).
    public static let bufferSize = 10_240
    /// Bytes below the pods' MTU on the underlay, as in wire format version 1 (IPv4 20, UDP 8,
    /// clear header 9, origin and destination 12, sealed record 28), so pods keep their MTU: a
    /// full-size frame that is not a super-frame fits one plain chunk (IPv4, UDP, chunk header
    /// 25, prefix 12, virtio header 10: 75 bytes) and two sealed ones.
    public static let overhead = 20 + 8 + SleeveHeader.size + 28
    /// The IP MTU pods get at `underlayMTU`.
    public static func podMTU(underlayMTU: Int) -> Int { underlayMTU - overhead - EthernetFrame.headerSize }

    public let local: UInt64
    public let tap: TapDevice
    public let socket: SleeveSocket
    /// The largest UDP payload sent (the underlay MTU less IPv4 and UDP headers).
    public let datagramSize: Int
    let routes: Mutex<SleeveRoutes>
    let owners = Mutex<[UInt64: UInt64]>([:])
    let counts = Mutex(SleeveCounters())
    private let running = Atomic<Bool>(false)
    private let threads = Mutex<[pthread_t]>([])
    private let units = Atomic<UInt32>(0)
    /// Whether sends use UDP segmentation offload (until the kernel refuses it once).
    private let segments = Atomic<Bool>(true)

    /// `underlayMTU`: of the underlay device; chunks are cut so that each datagram fits it.
    public init(local: UInt64, tap: TapDevice, socket: SleeveSocket, underlayMTU: Int = 1_500) {
        self.local = local
        self.tap = tap
        self.socket = socket
        datagramSize = min(max(underlayMTU - 28, 576), Self.bufferSize)
        routes = Mutex(SleeveRoutes(local: local))
    }

    /// Bytes of a unit per chunk.
    var chunkSize: Int { datagramSize - SleeveChunk.size }

    /// A new unit number (shared by both threads: a relayed unit and a local one never share one).
    func nextUnit() -> UInt32 { units.wrappingAdd(1, ordering: .relaxed).oldValue }

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

    var isRunning: Bool { running.load(ordering: .acquiring) }

    /// Queues `unit` (prefix written) for `destination` through its next hop: sealed once when
    /// that neighbour encrypts, cut into chunks. The caller keeps `unit` valid until `batch` is
    /// sent. Returns false when it was dropped.
    @discardableResult
    func enqueue(unit: UnsafeRawBufferPointer, towards destination: UInt64, hopsLeft: UInt8, table: SleeveRoutes,
                 batch: inout DatagramBatch, counted: inout SleeveCounters) -> Bool {
        guard let (_, neighbour) = table.hop(towards: destination) else {
            counted.drop(.noRoute)
            return false
        }
        let sealedLength = unit.count + (neighbour.cipher?.overhead ?? 0)
        let chunks = SleeveChunk.count(unitLength: sealedLength, chunkSize: chunkSize)
        guard sealedLength <= SleeveChunk.maximumUnit, chunks <= SleeveChunk.maximumCount else {
            counted.drop(.tooLarge)
            return false
        }
        let segmented = chunks > 1 && segments.load(ordering: .relaxed)
        // Datagrams queued before stay in order.
        if segmented || !batch.hasRoom(for: chunks) { flush(&batch, counted: &counted) }
        let record = neighbour.cipher.map { $0.seal(unit) }
        let total = record?.count ?? unit.count
        let number = nextUnit()
        let chunk = { (index: Int) in
            SleeveChunk(sealed: record != nil, hopsLeft: hopsLeft, sender: self.local, unit: number,
                        index: UInt16(index), count: UInt16(chunks), offset: UInt32(index * self.chunkSize),
                        total: UInt32(total))
        }
        var first = 0
        if segmented {
            // Copied into the batch's staging area and sent before returning: the record is
            // released with this call, never kept.
            first = if let record {
                record.withUnsafeBytes { sendSegmented($0, chunks: chunks, chunk: chunk, to: neighbour, batch: &batch, counted: &counted) }
            } else {
                sendSegmented(unit, chunks: chunks, chunk: chunk, to: neighbour, batch: &batch, counted: &counted)
            }
        }
        guard first < chunks else { return true }
        // Queued datagrams point into the payload until the batch is sent: a sealed record is
        // kept by the batch until then, and only then.
        let payload = record.map { batch.keep($0) } ?? unit
        for index in first..<chunks {
            let offset = index * chunkSize
            let length = min(chunkSize, payload.count - offset)
            batch.append(chunk(index), payload: UnsafeRawBufferPointer(rebasing: payload[offset..<(offset + length)]), to: neighbour)
        }
        return true
    }

    /// Sends the chunks of `payload` with UDP segmentation offload: laid out back to back,
    /// header and bytes, up to 64 KiB per sendmsg. Returns the first chunk not sent: all of
    /// them, or where the kernel refused segmentation (then the sleeve stops trying it and the
    /// caller queues the rest as separate datagrams).
    private func sendSegmented(_ payload: UnsafeRawBufferPointer, chunks: Int, chunk: (Int) -> SleeveChunk,
                               to neighbour: SleeveRoutes.Neighbour, batch: inout DatagramBatch,
                               counted: inout SleeveCounters) -> Int {
        let perSend = max(1, (DatagramBatch.stagingSize - 1_024) / datagramSize)
        var index = 0
        while index < chunks {
            let count = min(perSend, chunks - index)
            var length = 0
            for current in index..<(index + count) {
                let offset = current * chunkSize
                let bytes = min(chunkSize, payload.count - offset)
                chunk(current).write(to: UnsafeMutableRawBufferPointer(start: batch.staging + length, count: SleeveChunk.size))
                (batch.staging + length + SleeveChunk.size).copyMemory(from: payload.baseAddress! + offset, byteCount: bytes)
                length += SleeveChunk.size + bytes
            }
            var attempts = 0
            while true {
                let sent = cnishim_send_segmented(socket.descriptor, batch.staging, length, UInt16(datagramSize),
                                                  neighbour.address.bigEndian, neighbour.port)
                if sent >= 0 { break }
                let error = errno
                if error == EINTR { continue }
                if (error == EAGAIN || error == ENOBUFS) && attempts < 50 {
                    attempts += 1
                    var entry = pollfd(fd: socket.descriptor, events: Int16(POLLOUT), revents: 0)
                    _ = poll(&entry, 1, 100)
                    continue
                }
                if error == EIO || error == EINVAL || error == ENOPROTOOPT || error == EOPNOTSUPP {
                    segments.store(false, ordering: .relaxed)
                    return index
                }
                counted.drop(.sendFailed)
                break
            }
            counted.datagramsSent += count
            counted.bytesSent += length
            index += count
        }
        return chunks
    }

    /// Sends what `batch` holds and releases the records it kept (also when nothing is queued).
    func flush(_ batch: inout DatagramBatch, counted: inout SleeveCounters) {
        guard batch.count > 0 || batch.keptRecords > 0 else { return }
        counted.bytesSent += batch.bytes
        counted.datagramsSent += batch.count
        let failed = batch.send(on: socket)
        for _ in 0..<failed { counted.drop(.sendFailed) }
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
