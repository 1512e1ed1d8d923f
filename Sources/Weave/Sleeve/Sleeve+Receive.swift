#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
internal import CLinuxShim
import SystemSupport

// MARK: - UDP → TAP (and relays)

extension Sleeve {
    /// One received message with UDP_GRO (several datagrams back to back).
    static let coalescedBufferSize = 65_536

    func runReceiver() {
        _ = cnishim_set_thread_name("weave-sleeve-rx")
        // With UDP_GRO one message may hold up to 64 KiB of datagrams of one sender.
        let capacity = socket.coalescesReceived ? 16 : 64
        let size = socket.coalescesReceived ? Self.coalescedBufferSize : Self.bufferSize
        let buffers = UnsafeMutableRawPointer.allocate(byteCount: capacity * size, alignment: 16)
        let slots = UnsafeMutablePointer<cnishim_datagram>.allocate(capacity: capacity)
        let segments = UnsafeMutablePointer<UInt16>.allocate(capacity: capacity)
        defer {
            buffers.deallocate()
            slots.deallocate()
            segments.deallocate()
        }
        let reassembly = SleeveReassembly()
        var abandoned = 0
        var batch = DatagramBatch()
        var counted = SleeveCounters()
        var learned: [(UInt64, UInt64)] = []
        learned.reserveCapacity(capacity)
        while isRunning {
            guard waitReadable(socket.descriptor, milliseconds: 200) else { continue }
            for index in 0..<capacity {
                slots[index] = cnishim_datagram(header: nil, header_length: 0, payload: buffers + index * size,
                                                payload_length: size, address: 0, port: 0)
            }
            let received = SystemCall.retryingInterrupts {
                cnishim_receive_batch_segmented(socket.descriptor, slots, segments, UInt32(capacity))
            }
            guard received > 0 else { continue }
            let table = routes.withLock { $0 }
            for index in 0..<Int(received) {
                let message = UnsafeRawBufferPointer(start: slots[index].payload, count: slots[index].payload_length)
                let step = segments[index] == 0 ? max(message.count, 1) : Int(segments[index])
                for start in stride(from: 0, to: message.count, by: step) {
                    let datagram = UnsafeRawBufferPointer(rebasing: message[start..<min(start + step, message.count)])
                    counted.datagramsReceived += 1
                    counted.bytesReceived += datagram.count
                    handle(datagram, from: UInt32(bigEndian: slots[index].address), reassembly: reassembly, table: table,
                           batch: &batch, counted: &counted, learned: &learned)
                }
            }
            flush(&batch, counted: &counted)
            if !learned.isEmpty {
                owners.withLock { owners in for (mac, peer) in learned where owners[mac] != peer { owners[mac] = peer } }
                learned.removeAll(keepingCapacity: true)
            }
            for _ in abandoned..<reassembly.abandoned { counted.drop(.incomplete) }
            abandoned = reassembly.abandoned
            counts.withLock { $0.add(counted) }
            counted = SleeveCounters()
        }
    }

    private func handle(_ datagram: UnsafeRawBufferPointer, from address: UInt32, reassembly: SleeveReassembly,
                        table: SleeveRoutes, batch: inout DatagramBatch, counted: inout SleeveCounters,
                        learned: inout [(UInt64, UInt64)]) {
        guard let header = SleeveHeader(reading: datagram) else { counted.drop(.malformed); return }
        switch header.kind {
        case .heartbeat, .heartbeatAcknowledgement: return
        case .frame, .sealedFrame: counted.drop(.malformed); return  // version 1: no longer spoken
        case .chunk, .sealedChunk: break
        }
        guard let chunk = SleeveChunk(reading: datagram) else { counted.drop(.malformed); return }
        guard let sender = table.neighbour(chunk.sender, at: address) else { counted.drop(.unknownSender); return }
        guard chunk.sealed == (sender.cipher != nil) else { counted.drop(.encryptionMismatch); return }
        switch reassembly.accept(chunk, payload: UnsafeRawBufferPointer(rebasing: datagram[SleeveChunk.size...])) {
        case .pending:
            return
        case .dropped(let reason):
            counted.drop(reason)
        case .complete(let unit):
            guard let cipher = sender.cipher else {
                forward(unit, hopsLeft: chunk.hopsLeft, table: table, batch: &batch, counted: &counted, learned: &learned)
                return
            }
            switch cipher.open(unit) {
            case .failure(let reason):
                counted.drop(reason)
            case .success(let plaintext):
                plaintext.withUnsafeBytes { opened in
                    forward(opened, hopsLeft: chunk.hopsLeft, table: table, batch: &batch, counted: &counted, learned: &learned)
                }
            }
        }
    }

    /// Delivers a unit for the local peer into the TAP port (virtio header and frame), relays
    /// any other (sent before returning: `unit` is only valid during the call).
    private func forward(_ unit: UnsafeRawBufferPointer, hopsLeft: UInt8, table: SleeveRoutes, batch: inout DatagramBatch,
                         counted: inout SleeveCounters, learned: inout [(UInt64, UInt64)]) {
        guard unit.count >= SleeveUnit.minimumSize, let source = EthernetFrame.source(SleeveUnit.frame(unit)) else {
            counted.drop(.malformed)
            return
        }
        let origin = SleeveUnit.origin(unit), destination = SleeveUnit.destination(unit)
        if destination == local {
            guard table.sleevePeers.contains(origin) else { counted.drop(.wrongPath); return }
            if !EthernetFrame.isGroup(source) { learned.append((source, origin)) }
            let length = unit.count - SleeveUnit.prefixSize
            let written = write(tap.descriptor, unit.baseAddress! + SleeveUnit.prefixSize, length)
            if written == length { counted.framesDelivered += 1 } else { counted.drop(.sendFailed) }
            return
        }
        guard hopsLeft > 1 else { counted.drop(.hopLimit); return }
        flush(&batch, counted: &counted)
        if enqueue(unit: unit, towards: destination, hopsLeft: hopsLeft - 1, table: table, batch: &batch, counted: &counted) {
            counted.framesRelayed += 1
        }
        flush(&batch, counted: &counted)
    }
}
