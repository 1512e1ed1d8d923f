/// The one error type of the BGP module.
///
/// Protocol errors carry the ``NotificationMessage`` that RFC 4271 §6 says to send before the
/// session is closed; ``code`` tells the kind of failure.
public struct BGPError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The kind of failure; extensible.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        public let name: String
        public init(_ name: String) { self.name = name }
        public var description: String { name }

        /// A received message broke the protocol; ``BGPError/notification`` says what to send.
        public static let malformedMessage = Code("malformed message")
        /// The peer sent a NOTIFICATION and closed the session.
        public static let notificationReceived = Code("notification received")
        /// A configuration value is out of range.
        public static let invalidConfiguration = Code("invalid configuration")
        /// Creating, binding or connecting a socket failed (see ``BGPError/errno``).
        public static let socketFailed = Code("socket failed")
        /// The operation needs a running speaker.
        public static let notRunning = Code("speaker not running")
        /// No peer with this address is configured.
        public static let unknownPeer = Code("unknown peer")
        /// A message could not be encoded (too large, missing fields).
        public static let encodingFailed = Code("encoding failed")
    }

    public var code: Code
    public var message: String
    /// The NOTIFICATION to send (protocol errors) or the one received.
    public var notification: NotificationMessage?
    /// The errno of a failed system call.
    public var errno: Int32?

    public init(_ code: Code, _ message: String, notification: NotificationMessage? = nil, errno: Int32? = nil) {
        self.code = code
        self.message = message
        self.notification = notification
        self.errno = errno
    }

    /// A protocol error that resets the session with this NOTIFICATION.
    static func reset(
        _ code: UInt8, _ subcode: UInt8, _ message: String, data: [UInt8] = []
    ) -> BGPError {
        BGPError(.malformedMessage, message,
                 notification: NotificationMessage(errorCode: code, errorSubcode: subcode, data: data))
    }

    public var description: String {
        var text = "BGP \(code): \(message)"
        if let notification { text += " [\(notification)]" }
        if let errno { text += " (errno \(errno))" }
        return text
    }
}
