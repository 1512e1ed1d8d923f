#if canImport(Glibc)
import Glibc
#endif
import Crypto
import CryptoExtras

/// The shared secret of a mesh: every peer holds the same one, and a peer without it (or with
/// another) cannot complete a handshake.
///
/// The recommended secret is a random 256-bit key (``generate()``, ``write(toFile:)``). A
/// password (``init(password:)``) is stretched with scrypt; it is weaker: an attacker who gets a
/// peer to dial it can test guesses offline at scrypt cost per guess (see <doc:MeshSecurity>).
public struct MeshSecret: Sendable, Hashable {
    /// The 32-byte key mixed into every handshake's key derivation.
    let keyBytes: [UInt8]
    /// Whether the key came from a password (shown in status).
    public let isPassword: Bool

    /// A 32-byte key.
    public init(key: some Collection<UInt8>) throws(MeshError) {
        guard key.count == 32 else {
            throw MeshError(.invalidValue, "mesh secret key has \(key.count) bytes, expected 32")
        }
        self.keyBytes = Array(key)
        self.isPassword = false
    }

    /// A new random 256-bit key.
    public static func generate() -> MeshSecret {
        let key = SymmetricKey(size: .bits256)
        return try! MeshSecret(key: key.withUnsafeBytes { Array($0) })
    }

    /// The fixed scrypt salt of passwords (the same on every peer, so all derive one key).
    public static let passwordSalt = Array("swift-cni mesh password v1".utf8)

    /// Stretches a human password with scrypt (N = 2^15, r = 8, p = 1) and a fixed salt, so
    /// every peer derives the same key. Weaker than a generated key; see <doc:MeshSecurity>.
    public init(password: String) throws(MeshError) {
        guard !password.isEmpty else { throw MeshError(.invalidValue, "mesh password is empty") }
        do {
            let key = try KDF.Scrypt.deriveKey(
                from: Array(password.utf8), salt: MeshSecret.passwordSalt, outputByteCount: 32,
                rounds: 1 << 15, blockSize: 8, parallelism: 1, maxMemory: 64 << 20)
            self.keyBytes = key.withUnsafeBytes { Array($0) }
        } catch {
            throw MeshError(.invalidValue, "cannot stretch the mesh password: \(error)")
        }
        self.isPassword = true
    }

    /// Parses the file format of ``write(toFile:)``: 64 hex digits, surrounding white space
    /// ignored.
    public init(hex text: some StringProtocol) throws(MeshError) {
        let digits = Array(text.utf8.filter { !($0 == 0x20 || $0 == 0x0a || $0 == 0x0d || $0 == 0x09) })
        guard digits.count == 64 else {
            throw MeshError(.invalidValue, "mesh secret is not 64 hex digits (\(digits.count) characters)")
        }
        var key: [UInt8] = []
        for index in stride(from: 0, to: 64, by: 2) {
            guard let high = Self.hexValue(digits[index]), let low = Self.hexValue(digits[index + 1]) else {
                throw MeshError(.invalidValue, "mesh secret contains a character that is not a hex digit")
            }
            key.append(high << 4 | low)
        }
        try self.init(key: key)
    }

    /// The key as 64 lower-case hex digits.
    public var hexEncoded: String {
        keyBytes.map { byte in (byte < 16 ? "0" : "") + String(byte, radix: 16) }.joined()
    }

    private static func hexValue(_ digit: UInt8) -> UInt8? {
        switch digit {
        case 0x30...0x39: digit - 0x30
        case 0x61...0x66: digit - 0x61 + 10
        case 0x41...0x46: digit - 0x41 + 10
        default: nil
        }
    }

    var symmetricKey: SymmetricKey { SymmetricKey(data: keyBytes) }

    // MARK: Files

    /// Generates a key and writes it to a new file `path` with mode 0600 (the `generate-secret`
    /// operation). Fails if the file exists, so a secret is never overwritten by accident.
    @discardableResult
    public static func generateFile(atPath path: String) throws(MeshError) -> MeshSecret {
        let secret = generate()
        try secret.write(toFile: path)
        return secret
    }

    /// Writes the key as hex plus a newline to a new file with mode 0600.
    public func write(toFile path: String) throws(MeshError) {
        let descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else {
            throw MeshError(.invalidValue, "cannot create mesh secret file \(path): \(String(cString: strerror(errno)))")
        }
        defer { close(descriptor) }
        // The umask may have narrowed the mode, never widened it; make it exactly 0600.
        fchmod(descriptor, 0o600)
        let bytes = Array((hexEncoded + "\n").utf8)
        let written = bytes.withUnsafeBytes { Glibc.write(descriptor, $0.baseAddress, $0.count) }
        guard written == bytes.count else {
            throw MeshError(.invalidValue, "cannot write mesh secret file \(path): \(String(cString: strerror(errno)))")
        }
    }

    /// Reads a key file written by ``write(toFile:)``. Refuses a file others can read.
    public init(contentsOfFile path: String) throws(MeshError) {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else {
            throw MeshError(.invalidValue, "cannot open mesh secret file \(path): \(String(cString: strerror(errno)))")
        }
        defer { close(descriptor) }
        var info = stat()
        guard fstat(descriptor, &info) == 0 else {
            throw MeshError(.invalidValue, "cannot stat mesh secret file \(path)")
        }
        guard info.st_mode & 0o077 == 0 else {
            throw MeshError(.invalidValue, "mesh secret file \(path) is readable by group or others (mode must be 0600)")
        }
        var buffer = [UInt8](repeating: 0, count: 256)
        let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
        guard count > 0 else { throw MeshError(.invalidValue, "mesh secret file \(path) is empty") }
        try self.init(hex: String(decoding: buffer[..<count], as: UTF8.self))
    }

    public static func == (lhs: MeshSecret, rhs: MeshSecret) -> Bool {
        // Constant time over the 32 bytes.
        var difference: UInt8 = 0
        for (left, right) in zip(lhs.keyBytes, rhs.keyBytes) { difference |= left ^ right }
        return difference == 0 && lhs.keyBytes.count == rhs.keyBytes.count
    }

    public func hash(into hasher: inout Hasher) { hasher.combine(keyBytes.count) }
}

extension MeshSecret: CustomStringConvertible {
    /// Never prints the key.
    public var description: String { isPassword ? "MeshSecret(password)" : "MeshSecret(key)" }
}
