#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The plugin's and the CLI's side of the agent socket: one request, one answer, blocking
/// (the plugin runs on its calling thread).
///
/// ```swift
/// let client = WeaveAgentClient(socketPath: "/run/swift-weave/weave.sock")
/// let answer = try client.perform(WeaveAgentRequest(operation: .allocate, containerID: "c1"))
/// // answer.address == "10.32.0.5/12", answer.gateway == "10.32.0.1"
/// ```
public struct WeaveAgentClient: Sendable {
    public var socketPath: String
    /// The longest the agent may take to answer (an allocation waits for the ring).
    public var timeoutSeconds: Int

    public init(socketPath: String = WeaveNames.defaultSocketPath, timeoutSeconds: Int = 60) {
        self.socketPath = socketPath
        self.timeoutSeconds = timeoutSeconds
    }

    /// Sends `request` and returns the answer, throwing ``WeaveError/Code/refused`` with the
    /// agent's message when it answered with an error.
    public func perform(_ request: WeaveAgentRequest) throws(WeaveError) -> WeaveAgentResponse {
        let response = try exchange(request)
        if let error = response.error { throw WeaveError(.refused, error) }
        return response
    }

    /// Sends `request` and returns the answer as it came (error or not).
    public func exchange(_ request: WeaveAgentRequest) throws(WeaveError) -> WeaveAgentResponse {
        let descriptor = try UnixSocket.connect(socketPath)
        defer { close(descriptor) }
        UnixSocket.setTimeout(descriptor, seconds: timeoutSeconds)
        try UnixSocket.writeMessage(descriptor, try WeaveAgentCoding.encode(request), what: "request")
        let bytes = try UnixSocket.readMessage(descriptor, limit: WeaveAgentCoding.maximumSize, what: "answer of swift-weaved")
        return try WeaveAgentCoding.decode(WeaveAgentResponse.self, bytes)
    }
}
