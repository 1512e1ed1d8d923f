/// The one error type of the KubernetesCore module: what a plugin's read of the API server
/// found, with the server (`endpoint`) and, for an HTTP answer, its status.
public struct KubernetesCoreError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What kind of failure. Extensible: new codes may be added.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        public let name: String
        public init(_ name: String) { self.name = name }
        public var description: String { name }

        /// The kubeconfig is missing, unreadable, not the YAML subset or JSON read here, or
        /// names a context, cluster or user it does not define.
        public static let invalidConfiguration = Code("invalid configuration")
        /// A token file, certificate or key the kubeconfig names is missing or empty.
        public static let credentialsUnavailable = Code("credentials unavailable")
        /// TLS could not be set up, or the server's certificate is not trusted.
        public static let tlsFailed = Code("TLS failed")
        /// The API server could not be reached (refused, unreachable, broken connection).
        public static let unavailable = Code("API server unavailable")
        /// No complete answer within the timeout.
        public static let timedOut = Code("timed out")
        /// 401: no or a wrong token or certificate.
        public static let unauthorized = Code("unauthorized")
        /// 403: authenticated, not allowed.
        public static let forbidden = Code("forbidden")
        /// 404: no such object.
        public static let notFound = Code("not found")
        /// Any other error status.
        public static let serverError = Code("server error")
        /// An answer that does not decode.
        public static let protocolError = Code("protocol error")
    }

    public let code: Code
    public let message: String
    /// The API server (`https://10.0.0.1:6443`), when one was involved.
    public let endpoint: String?
    /// The HTTP status of an error answer.
    public let httpStatus: Int?

    public init(_ code: Code, _ message: String, endpoint: String? = nil, httpStatus: Int? = nil) {
        self.code = code
        self.message = message
        self.endpoint = endpoint
        self.httpStatus = httpStatus
    }

    public var description: String {
        var text = "\(code): \(message)"
        if let endpoint { text += " [\(endpoint)]" }
        return text
    }
}
