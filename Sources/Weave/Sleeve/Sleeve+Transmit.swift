#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
internal import CLinuxShim

// MARK: - TAP → UDP

extension Sleeve {
    /// TAP reads kept in flight per batch (each one 64 KiB super-frame at most).
    static let transmitSlots = 8
    /// One TAP read with room for the unit's prefix before it.
    static let transmitSlotSize = SleeveChunk.maximumUnit

    func runTransmitter() {
        _ = cnishim_set_thread_name("weave-sleeve-tx")
        let buffers = UnsafeMutableRawPointer.allocate(byteCount: Self.transmitSlots * Self.transmitSlotSize, alignment: 16)
        defer { buffers.deallocate() }
        var batch = DatagramBatch()
        var counted = SleeveCounters()
        while isRunning {
            guard waitReadable(tap.descriptor, milliseconds: 200) else { continue }
            let table = routes.withLock { $0 }
            let known = owners.withLock { $0 }
            var slot = 0
            for _ in 0..<64 {
                // A slot's bytes stay queued until the batch is sent: reuse them only after that.
                if slot == Self.transmitSlots {
                    flush(&batch, counted: &counted)
                    slot = 0
                }
                let unit = UnsafeMutableRawBufferPointer(start: buffers + slot * Self.transmitSlotSize, count: Self.transmitSlotSize)
                let length = read(tap.descriptor, unit.baseAddress! + SleeveUnit.prefixSize, Self.transmitSlotSize - SleeveUnit.prefixSize)
                guard length > 0 else { break }
                slot += 1
                let whole = UnsafeMutableRawBufferPointer(rebasing: unit[0..<(SleeveUnit.prefixSize + length)])
                guard whole.count >= SleeveUnit.minimumSize, let mac = EthernetFrame.destination(SleeveUnit.frame(UnsafeRawBufferPointer(whole))) else {
                    counted.drop(.malformed)
                    continue
                }
                switch table.destinations(destinationMAC: mac, owner: known[mac]) {
                case .none:
                    counted.ignored += 1
                case .one(let peer):
                    SleeveUnit.writePrefix(origin: local, destination: peer, to: whole)
                    if enqueue(unit: UnsafeRawBufferPointer(whole), towards: peer, hopsLeft: SleeveHeader.initialHops,
                               table: table, batch: &batch, counted: &counted) {
                        counted.framesSent += 1
                    }
                case .all:
                    // One buffer, a destination per copy: each copy is sent before the next is written.
                    for peer in table.sleevePeers {
                        SleeveUnit.writePrefix(origin: local, destination: peer, to: whole)
                        if enqueue(unit: UnsafeRawBufferPointer(whole), towards: peer, hopsLeft: SleeveHeader.initialHops,
                                   table: table, batch: &batch, counted: &counted) {
                            counted.framesSent += 1
                        }
                        flush(&batch, counted: &counted)
                    }
                    slot = 0
                }
            }
            flush(&batch, counted: &counted)
            counts.withLock { $0.add(counted) }
            counted = SleeveCounters()
        }
    }
}
