/// The one error type of the Kubernetes module.
///
/// `code` says what went wrong in a way callers can switch on (``Code/expired``,
/// ``Code/conflict``, ``Code/notFound`` …); `message` is the API's `Status` message or a
/// description of the local failure; `status` is the whole `Status` object the server answered
/// with, when it did; `retryAfterSeconds` carries the `Retry-After` header of a 429;
/// `server` names the API server (`https://127.0.0.1:6443`).
public struct KubernetesError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What kind of failure. Extensible: new codes may be added.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        public let name: String
        public init(_ name: String) { self.name = name }
        public var description: String { name }

        /// 410 Gone (reason `Expired` or `Gone`): the resource version asked for is compacted.
        public static let expired = Code("expired")
        /// The resource version asked for is newer than the server has
        /// ("Too large resource version", reason `Timeout` with cause `ResourceVersionTooLarge`).
        public static let tooLargeResourceVersion = Code("too large resource version")
        /// 409 Conflict: the object changed since it was read, or already exists.
        public static let conflict = Code("conflict")
        /// 409 with reason `AlreadyExists`.
        public static let alreadyExists = Code("already exists")
        /// 404 Not Found.
        public static let notFound = Code("not found")
        /// 429 Too Many Requests (see ``KubernetesError/retryAfterSeconds``).
        public static let tooManyRequests = Code("too many requests")
        /// 413 Request Entity Too Large.
        public static let requestTooLarge = Code("request too large")
        /// 401 Unauthorized: no credentials, or the server rejected them.
        public static let unauthorized = Code("unauthorized")
        /// 403 Forbidden.
        public static let forbidden = Code("forbidden")
        /// 422 Unprocessable Entity (reason `Invalid`).
        public static let invalid = Code("invalid")
        /// 400 Bad Request.
        public static let badRequest = Code("bad request")
        /// 405 Method Not Allowed.
        public static let methodNotAllowed = Code("method not allowed")
        /// Another HTTP error status (5xx and the rest).
        public static let serverError = Code("server error")
        /// The connection was refused (the server is down or not listening).
        public static let connectionRefused = Code("connection refused")
        /// The TLS handshake failed (unknown CA, wrong host name, bad client certificate).
        public static let tlsFailed = Code("TLS failed")
        /// Another transport failure (reset, closed early, timed out).
        public static let transportFailed = Code("transport failed")
        /// A response could not be understood.
        public static let protocolError = Code("protocol error")
        /// The configuration (kubeconfig, in-cluster files) is missing or invalid.
        public static let invalidConfiguration = Code("invalid configuration")
        /// The credentials could not be read (token file missing or empty).
        public static let credentialsUnavailable = Code("credentials unavailable")
    }

    public let code: Code
    public let message: String
    /// The API's `Status` object, when the server sent one.
    public let status: Status?
    /// The HTTP status code, when the server answered.
    public let httpStatus: Int?
    /// Seconds to wait before retrying, from `Retry-After` (429, 503) or the Status details.
    public let retryAfterSeconds: Int?
    /// The API server involved (`https://host:port`).
    public let server: String?

    public init(
        _ code: Code, _ message: String, status: Status? = nil, httpStatus: Int? = nil,
        retryAfterSeconds: Int? = nil, server: String? = nil
    ) {
        self.code = code
        self.message = message
        self.status = status
        self.httpStatus = httpStatus
        self.retryAfterSeconds = retryAfterSeconds
        self.server = server
    }

    public var description: String {
        var text = "\(code): \(message)"
        if let httpStatus { text += " (HTTP \(httpStatus))" }
        if let retryAfterSeconds { text += " (retry after \(retryAfterSeconds) s)" }
        if let server { text += " [\(server)]" }
        return text
    }

    /// Whether an informer must relist: the version it watches from is gone or unknown.
    public var requiresRelist: Bool { code == .expired || code == .tooLargeResourceVersion }

    /// The error for an HTTP error status and the body the server sent (a `Status` when it
    /// could be decoded).
    public static func fromResponse(
        httpStatus: Int, body: [UInt8], retryAfter: Int?, server: String?
    ) -> KubernetesError {
        let status = (try? JSONValue.decode(body)).flatMap { json -> Status? in
            guard case .object(let object) = json, object["kind"]?.stringValue == "Status" else { return nil }
            return Status(object)
        }
        return fromStatus(status, httpStatus: httpStatus, fallback: String(decoding: body.prefix(512), as: UTF8.self),
                          retryAfter: retryAfter, server: server)
    }

    /// The error a `Status` object stands for (an HTTP answer, or an ERROR event of a watch).
    public static func fromStatus(
        _ status: Status?, httpStatus: Int, fallback: String = "", retryAfter: Int? = nil, server: String?
    ) -> KubernetesError {
        let code = status?.code ?? httpStatus
        let reason = status?.reason ?? ""
        let message = status?.message ?? (fallback.isEmpty ? "HTTP \(code)" : fallback)
        let kind: Code
        switch code {
        case 410: kind = .expired
        case 409: kind = reason == "AlreadyExists" ? .alreadyExists : .conflict
        case 404: kind = .notFound
        case 429: kind = .tooManyRequests
        case 413: kind = .requestTooLarge
        case 401: kind = .unauthorized
        case 403: kind = .forbidden
        case 422: kind = .invalid
        case 405: kind = .methodNotAllowed
        case 400: kind = .badRequest
        case 504 where status?.causes.contains(where: { $0.reason == "ResourceVersionTooLarge" }) == true,
             _ where message.lowercased().contains("too large resource version"):
            kind = .tooLargeResourceVersion
        default: kind = .serverError
        }
        let retry = retryAfter ?? status?.retryAfterSeconds
        return KubernetesError(kind, message, status: status, httpStatus: code, retryAfterSeconds: retry, server: server)
    }
}
