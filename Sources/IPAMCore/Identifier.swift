/// Validation of names that end up in paths or keys, so nothing escapes `dataDir` or a key prefix.
public enum Identifier {
    /// A network name is one path component: no `/`, not `.` or `..`, no NUL, no control
    /// characters, at most 255 bytes.
    public static func validateNetworkName(_ name: String) throws {
        guard !name.isEmpty, name.utf8.count <= 255, name != ".", name != "..",
            !name.contains("/"), !name.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7f })
        else {
            throw IPAMError(.invalidConfiguration, "invalid network name \"\(name)\"")
        }
    }

    /// A container ID as the CNI spec allows it: alphanumerics, `_`, `.`, `-`, starting with an
    /// alphanumeric (so never `..` or a path).
    public static func validateContainerID(_ id: String) throws {
        let bytes = Array(id.utf8)
        guard let first = bytes.first, isAlphanumeric(first),
            bytes.allSatisfy({ isAlphanumeric($0) || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "-") })
        else {
            throw IPAMError(.invalidIdentifier, "invalid container ID \"\(id)\"")
        }
    }

    /// An interface name: 1–15 bytes, no `/`, whitespace or `:`, not `.` or `..`.
    public static func validateInterfaceName(_ name: String) throws {
        guard !name.isEmpty, name.utf8.count <= 15, name != ".", name != "..",
            !name.contains(where: { $0 == "/" || $0 == ":" || $0.isWhitespace })
        else {
            throw IPAMError(.invalidIdentifier, "invalid interface name \"\(name)\"")
        }
    }

    private static func isAlphanumeric(_ byte: UInt8) -> Bool {
        (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5a) || (byte >= 0x61 && byte <= 0x7a)
    }
}
