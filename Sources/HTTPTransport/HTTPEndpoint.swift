/// An `http://host:port` or `https://host:port` endpoint.
public struct HTTPEndpoint: Hashable, Sendable, CustomStringConvertible {
    public var host: String
    public var port: Int
    /// `https://`: the exchange runs over TLS (``TLSConfiguration``).
    public var usesTLS: Bool

    public init(host: String, port: Int, usesTLS: Bool = false) {
        self.host = host
        self.port = port
        self.usesTLS = usesTLS
    }

    /// Parses `scheme://host[:port][/]`, `[IPv6]` hosts included. Without a scheme the
    /// endpoint is `http://` when `schemeRequired` is false. Without a port it is
    /// `defaultPort`, or the scheme's (443, 80) when that is nil. A path is ignored unless
    /// `allowsPath` is false, when anything but `/` is an error.
    public init(
        parsing text: String, defaultPort: Int? = nil, schemeRequired: Bool = false, allowsPath: Bool = true
    ) throws(HTTPTransportError) {
        func invalid(_ why: String) -> HTTPTransportError { HTTPTransportError(.invalidURL, "\"\(text)\": \(why)") }
        var rest = Substring(text.trimmingWhitespace())
        var usesTLS = false
        if rest.lowercased().hasPrefix("https://") {
            rest = rest.dropFirst("https://".count)
            usesTLS = true
        } else if rest.lowercased().hasPrefix("http://") {
            rest = rest.dropFirst("http://".count)
        } else if let scheme = rest.firstRange(of: "://") {
            throw invalid("unsupported scheme \(rest[..<scheme.lowerBound]), use http:// or https://")
        } else if schemeRequired {
            throw invalid("no scheme (https://HOST:PORT)")
        }
        if let slash = rest.firstIndex(of: "/") {
            if !allowsPath, !rest[slash...].allSatisfy({ $0 == "/" }) { throw invalid("a path prefix is not supported") }
            rest = rest[..<slash]
        }
        var host = rest
        var port = defaultPort ?? (usesTLS ? 443 : 80)
        if rest.hasPrefix("[") {  // [IPv6]:port
            guard let close = rest.firstIndex(of: "]") else { throw invalid("unterminated [IPv6] host") }
            host = rest[rest.index(after: rest.startIndex)..<close]
            let after = rest[rest.index(after: close)...]
            if after.hasPrefix(":") {
                guard let value = Int(after.dropFirst()) else { throw invalid("invalid port") }
                port = value
            }
        } else if let colon = rest.lastIndex(of: ":") {
            host = rest[..<colon]
            guard let value = Int(rest[rest.index(after: colon)...]) else { throw invalid("invalid port") }
            port = value
        }
        guard !host.isEmpty, (1...65535).contains(port) else { throw invalid("expected http://HOST:PORT or https://HOST:PORT") }
        self.host = String(host)
        self.port = port
        self.usesTLS = usesTLS
    }

    public var description: String {
        let scheme = usesTLS ? "https" : "http"
        return host.contains(":") ? "\(scheme)://[\(host)]:\(port)" : "\(scheme)://\(host):\(port)"
    }
}

extension String {
    func trimmingWhitespace() -> String {
        var slice = Substring(self)
        while let first = slice.first, first.isWhitespace { slice.removeFirst() }
        while let last = slice.last, last.isWhitespace { slice.removeLast() }
        return String(slice)
    }
}
