/// The one error type of the Mesh module.
///
/// ``code`` tells the kind of failure; ``message`` says what happened in words an operator can
/// act on ("peer 6a:…:01 refused: its mesh secret differs from ours").
public struct MeshError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The kind of failure; extensible (each part of the module adds its codes in an extension).
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        public let name: String
        public init(_ name: String) { self.name = name }
        public var description: String { name }

        /// A value (peer name, secret, configuration field) could not be parsed or is out of range.
        public static let invalidValue = Code("invalid value")
        /// Received bytes broke the mesh protocol (bad frame, bad length, unknown message).
        public static let malformedMessage = Code("malformed message")
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "mesh \(code): \(message)" }
}
