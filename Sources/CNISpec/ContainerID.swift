/// The container ID (and network name) rule of the specification:
/// `^[A-Za-z0-9][A-Za-z0-9_.\-]*$`.
public enum ContainerID {
    public static func isValid(_ text: String) -> Bool {
        var first = true
        for byte in text.utf8 {
            let alphanumeric = (0x30...0x39).contains(byte) || (0x41...0x5A).contains(byte) || (0x61...0x7A).contains(byte)
            if first {
                guard alphanumeric else { return false }
                first = false
            } else if !(alphanumeric || byte == UInt8(ascii: "_") || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "-")) {
                return false
            }
        }
        return !first
    }
}
