import Netlink

/// The error of the VXLAN module.
public struct VXLANError: Error, Hashable, Sendable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        public let name: String
        public init(_ name: String) { self.name = name }
        public var description: String { name }

        /// A configuration value is out of range (VNI, MTU, addresses of mixed families).
        public static let invalidConfiguration = Code("invalid VXLAN configuration")
        /// The underlay device or its address is missing.
        public static let underlayMissing = Code("underlay missing")
        /// A kernel request failed; see ``VXLANError/underlying``.
        public static let kernelRefused = Code("kernel refused")
    }

    public let code: Code
    public let message: String
    /// The netlink error behind a ``Code/kernelRefused``.
    public let underlying: NetlinkError?

    public init(_ code: Code, _ message: String, underlying: NetlinkError? = nil) {
        self.code = code
        self.message = message
        self.underlying = underlying
    }

    public var description: String {
        "\(code): \(message)" + (underlying.map { " (\($0))" } ?? "")
    }
}
