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
        try await Task.sleep(for: .milliseconds(300))
        _ = tcpdump.terminate(graceMilliseconds: 2_000)
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: capture)))
        let marker = Self.captureMarker
        let seen = bytes.count >= marker.count && (0...(bytes.count - marker.count)).contains { index in
            bytes[index] == marker[0] && bytes[index..<(index + marker.count)].elementsEqual(marker)
        }
        return MarkerCapture(answered: answered, seen: seen)
    }
}
