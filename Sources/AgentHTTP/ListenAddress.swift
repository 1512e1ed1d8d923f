/// Where a status server listens on TCP: `--listen ADDR:PORT` of the agents.
public struct ListenAddress: Hashable, Sendable, CustomStringConvertible {
    public var host: String
    public var port: Int

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    /// Parses `ADDR:PORT`, `[IPv6]:PORT` or `:PORT` (all IPv4 addresses). Port 0 lets the
    /// kernel choose.
    public init(parsing text: String) throws(AgentError) {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]), (0...65535).contains(port) else {
            throw AgentError(.invalidListenAddress, "wants ADDR:PORT with a port from 0 to 65535, got \"\(text)\"")
        }
        var host = String(text[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") {
            host = String(host.dropFirst().dropLast())
        } else if host.contains(":") {
            throw AgentError(.invalidListenAddress, "an IPv6 address is written in brackets, [ADDR]:PORT, got \"\(text)\"")
        }
        self.init(host: host.isEmpty ? "0.0.0.0" : host, port: port)
    }

    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}
