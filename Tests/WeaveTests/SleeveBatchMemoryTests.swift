import Namespaces
import Netlink
import NetPrimitives
import Testing
import TestSupport
@testable import Weave

/// The sleeve's send batch keeps a sealed record only while queued datagrams point into it. A
/// unit sent with UDP segmentation offload is copied into the batch's staging area, so its
/// record must not be kept: before the fix every such record stayed in the batch (nothing was
/// queued, so no send ever released them) and the encrypted agent's memory grew by the bytes
/// it sealed (hundreds of MiB per iperf3 run). A real TAP device and UDP socket in a network
/// namespace; the neighbour is the socket itself on loopback.
@Suite(.serialized) struct SleeveBatchMemoryTests {
    /// Seals by appending a 28-byte trailer (the sleeve only needs a record of the right size).
    struct TrailerCipher: SleeveCipher {
        var overhead: Int { 28 }
        func seal(_ plaintext: UnsafeRawBufferPointer) -> [UInt8] { Array(plaintext) + [UInt8](repeating: 0xee, count: 28) }
        func open(_ record: UnsafeRawBufferPointer) -> Result<[UInt8], SleeveDrop> { .success(Array(record.dropLast(28))) }
    }

    @Test(.privileged, arguments: [65_000, 1_000]) func sealedRecordsAreReleasedWithTheirSend(unitSize: Int) async throws {
        try await NamespaceFixture.with(count: 1) { namespaces in
            try NetlinkHandle(namespace: namespaces[0]).setLinkUp("lo")
            let outcome = try namespaces[0].runBlocking { () throws -> (queued: Int, kept: [Int], afterFlush: [Int], counted: SleeveCounters) in
                let tap = try TapDevice(name: try InterfaceName("swsleevemem0"), persistent: false)
                let socket = try SleeveSocket(port: UInt16(WeaveNames.controlPort))
                defer {
                    tap.close()
                    socket.close()
                }
                let sleeve = Sleeve(local: 1, tap: tap, socket: socket)
                let routes = SleeveRoutes(
                    local: 1, neighbours: [2: SleeveRoutes.Neighbour(address: 0x7f00_0001, cipher: TrailerCipher())],
                    nextHops: [2: 2], sleevePeers: [2])
                let unit = [UInt8](repeating: 0x42, count: unitSize)
                var batch = DatagramBatch()
                var counted = SleeveCounters()
                var kept: [Int] = []
                var afterFlush: [Int] = []
                var queuedUnits = 0
                for _ in 0..<200 {
                    let queued = unit.withUnsafeBytes {
                        sleeve.enqueue(unit: $0, towards: 2, hopsLeft: SleeveHeader.initialHops, table: routes,
                                       batch: &batch, counted: &counted)
                    }
                    if queued { queuedUnits += 1 }
                    kept.append(batch.keptRecords)
                    sleeve.flush(&batch, counted: &counted)
                    afterFlush.append(batch.keptRecords)
                }
                return (queuedUnits, kept, afterFlush, counted)
            }
            #expect(outcome.queued == 200)
            // At most the one record the queued chunks point into, none once they are sent.
            #expect(outcome.kept.allSatisfy { $0 <= 1 }, "\(outcome.kept)")
            #expect(outcome.afterFlush.allSatisfy { $0 == 0 }, "\(outcome.afterFlush)")
            let chunks = SleeveChunk.count(unitLength: unitSize + 28, chunkSize: 1_472 - SleeveChunk.size)
            #expect(outcome.counted.datagramsSent == 200 * chunks && outcome.counted.drops.isEmpty, "\(outcome.counted)")
        }
    }
}
