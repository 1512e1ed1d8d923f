import Glibc
import Crypto
import Testing
@testable import Mesh

@Suite struct KeyScheduleTests {
    static let secret = try! MeshSecret(key: Array(repeating: 7, count: 32))
    static let shared: [UInt8] = Array(repeating: 42, count: 32)

    func bytes(_ key: SymmetricKey) -> [UInt8] { key.withUnsafeBytes { Array($0) } }

    @Test func separatesDirectionsAndChannels() {
        let schedule = HandshakeKeySchedule(sharedSecret: Self.shared, meshSecret: Self.secret, transcript: [1, 2, 3])
        let dialer = schedule.sessionKeys(as: .dialer)
        let acceptor = schedule.sessionKeys(as: .acceptor)
        let all = [dialer.controlSend, dialer.controlReceive, dialer.dataSend, dialer.dataReceive].map(bytes)
            + [.dialer, .acceptor].map { schedule.confirmation(by: $0) }
        #expect(Set(all).count == 6)
        #expect(bytes(dialer.controlSend) == bytes(acceptor.controlReceive))
        #expect(bytes(dialer.controlReceive) == bytes(acceptor.controlSend))
        #expect(bytes(dialer.dataSend) == bytes(acceptor.dataReceive))
        #expect(bytes(dialer.dataReceive) == bytes(acceptor.dataSend))
    }

    @Test func dependsOnSecretSharedSecretAndTranscript() throws {
        let base = HandshakeKeySchedule(sharedSecret: Self.shared, meshSecret: Self.secret, transcript: [1])
        let otherSecret = HandshakeKeySchedule(sharedSecret: Self.shared, meshSecret: try MeshSecret(key: Array(repeating: 8, count: 32)), transcript: [1])
        let otherShared = HandshakeKeySchedule(sharedSecret: Array(repeating: 43, count: 32), meshSecret: Self.secret, transcript: [1])
        let otherTranscript = HandshakeKeySchedule(sharedSecret: Self.shared, meshSecret: Self.secret, transcript: [2])
        let key = bytes(base.trafficKey(.control, from: .dialer))
        for other in [otherSecret, otherShared, otherTranscript] {
            #expect(bytes(other.trafficKey(.control, from: .dialer)) != key)
            #expect(!other.verifyConfirmation(base.confirmation(by: .dialer), by: .dialer))
        }
        #expect(base.verifyConfirmation(base.confirmation(by: .dialer), by: .dialer))
        #expect(!base.verifyConfirmation(base.confirmation(by: .dialer), by: .acceptor))
    }

    @Test func secretFilesAreWrittenPrivateAndReadBack() throws {
        let directory = "/tmp/swift-cni-mesh-secret-\(UInt32.random(in: 0...UInt32.max))"
        #expect(mkdir(directory, 0o700) == 0)
        defer { unlink(directory + "/secret"); unlink(directory + "/open"); rmdir(directory) }
        let path = directory + "/secret"
        let secret = try MeshSecret.generateFile(atPath: path)
        var info = stat()
        #expect(stat(path, &info) == 0)
        #expect(info.st_mode & 0o777 == 0o600)
        #expect(try MeshSecret(contentsOfFile: path) == secret)
        #expect(throws: MeshError.self) { try MeshSecret.generateFile(atPath: path) }
        let open = directory + "/open"
        try MeshSecret.generate().write(toFile: open)
        chmod(open, 0o644)
        #expect(throws: MeshError.self) { try MeshSecret(contentsOfFile: open) }
        #expect(throws: MeshError.self) { try MeshSecret(hex: "abc") }
        #expect(!secret.description.contains(secret.hexEncoded))
    }

    @Test func passwordsAreStretchedDeterministically() throws {
        let one = try MeshSecret(password: "correct horse")
        #expect(try MeshSecret(password: "correct horse") == one)
        #expect(try MeshSecret(password: "correct horsf") != one)
        #expect(one.isPassword)
        #expect(throws: MeshError.self) { try MeshSecret(password: "") }
    }
}
