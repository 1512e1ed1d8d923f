import CNISpec
import Testing
import TestSupport

/// 1 MiB of random bytes never crashes a decoder; it is a decoding error.
@Suite struct RandomInputTests {
    static func randomBytes(seed: UInt64, count: Int = 1 << 20) -> [UInt8] {
        var generator = SplitMix64(seed: seed)
        var bytes: [UInt8] = []
        bytes.reserveCapacity(count)
        while bytes.count < count {
            withUnsafeBytes(of: generator.next()) { bytes += $0 }
        }
        return Array(bytes.prefix(count))
    }

    @Test(arguments: [1, 2, 3] as [UInt64])
    func randomBytesAreADecodeError(seed: UInt64) async throws {
        var bytes = Self.randomBytes(seed: seed)
        if seed == 3 { bytes[0] = UInt8(ascii: "{") }  // looks like JSON at first
        let configuration = try #require(throws: CNIError.self) { try NetworkConfiguration<NoOptions>(decoding: bytes) }
        #expect(configuration.code == .decodingFailure)
        let list = try #require(throws: CNIError.self) { try NetworkConfigurationList(decoding: bytes) }
        #expect(list.code == .decodingFailure)
        let result = try #require(throws: CNIError.self) { try AnyCNIResult(decoding: bytes) }
        #expect(result.code == .decodingFailure)
        let run = await runPlugin(InProcessPlugin(log: CallLog()), command: "ADD", configuration: String(decoding: bytes, as: UTF8.self))
        #expect(run.status == 1 && run.error?.code == .decodingFailure)
    }

    @Test func deeplyNestedJSONIsAnError() throws {
        let bytes = Array(String(repeating: "[", count: 10_000).utf8)
        #expect(throws: CNIError.self) { try NetworkConfiguration<NoOptions>(decoding: bytes) }
        #expect(throws: CNIError.self) { try AnyCNIResult(decoding: bytes) }
    }
}
