import ChildProcess
import Foundation
import Namespaces

/// Whether pod traffic crosses the underlay in clear: tcpdump on the fabric's bridge captures
/// every packet between the nodes (encapsulated or routed as is) while one pod pings another with a marker repeated
/// through its payload (`ping -p`); the capture is then searched for the marker.
extension Lab {
    /// What ``captureMarker(from:to:in:)`` saw.
    public struct MarkerCapture: Hashable, Sendable {
        /// The pings were answered (the pods reach each other).
        public var answered: Bool
        /// The marker was in the capture: the payload crossed the fabric in clear.
        public var seen: Bool
    }

    /// The 8-byte marker: "SWCNIMRK".
    public static let captureMarker = Array("SWCNIMRK".utf8)

    /// Pings `to` from `from` (4 pings of 200 bytes) while `tcpdump -i br0` runs in the
    /// fabric namespace, writing to a file in `directory`; needs `/usr/bin/tcpdump`.
    public func captureMarker(from: LabPod, to: LabPod, in directory: String) async throws -> MarkerCapture {
        guard let target = to.address else { throw LabError(.invalidArgument, "pod \(to.qualifiedName) has no address") }
        let capture = directory + "/marker-\(UInt32.random(in: 0...UInt32.max)).pcap"
        defer { try? FileManager.default.removeItem(atPath: capture) }
        let fabric = try Self.openNamespace(LabNames.fabric(lab: name))
        let tcpdump = try fabric.launchProcess("/usr/bin/tcpdump", arguments: ["-i", "br0", "-U", "-n", "-s", "0", "-w", capture])
        defer { _ = tcpdump.terminate(graceMilliseconds: 2_000) }
        let clock = ContinuousClock()
        let deadline = clock.now + .seconds(10)
        while !FileManager.default.fileExists(atPath: capture) {
            guard clock.now < deadline, tcpdump.poll() == nil else { throw LabError(.process, "tcpdump did not start in the fabric") }
            try await Task.sleep(for: .milliseconds(50))
        }
        try await Task.sleep(for: .milliseconds(300))
        let pattern = Self.captureMarker.map { String(format: "%02x", $0) }.joined()
        let pod = try Self.openNamespace(from.networkNamespace)
        let answered = try await pod.run {
            try pod.runProcess(
                "/usr/bin/ping", arguments: ["-c", "4", "-i", "0.2", "-W", "2", "-s", "200", "-p", pattern, target],
                timeoutMilliseconds: 20_000).status.isSuccess
        }
        // tcpdump writes each packet as it reads it (-U) but drops what it has not read yet when
        // it is stopped: wait until the file stops growing (or shows the marker), 5 s at most.
        let marker = Self.captureMarker
        func contains(_ bytes: [UInt8]) -> Bool {
            bytes.count >= marker.count && (0...(bytes.count - marker.count)).contains { index in
                bytes[index] == marker[0] && bytes[index..<(index + marker.count)].elementsEqual(marker)
            }
        }
        var seen = false
        var size = -1
        let settle = clock.now + .seconds(5)
        while clock.now < settle {
            try await Task.sleep(for: .milliseconds(700))
            let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: capture)))
            seen = contains(bytes)
            if seen || bytes.count == size { break }
            size = bytes.count
        }
        _ = tcpdump.terminate(graceMilliseconds: 2_000)
        if !seen { seen = contains([UInt8](try Data(contentsOf: URL(fileURLWithPath: capture)))) }
        return MarkerCapture(answered: answered, seen: seen)
    }
}
