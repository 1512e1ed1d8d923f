/// Where a store lives, written the same way by every plugin, agent and the lab:
/// `file:DIR` (the embedded file backend, a directory) or `etcd:URL[,URL…]` (etcd v3 endpoints,
/// e.g. `etcd:http://10.0.0.1:2379,http://10.0.0.2:2379`, or `https://` ones with
/// ``EtcdSecurity``).
public enum StoreLocation: Hashable, Sendable, CustomStringConvertible {
    case file(directory: String)
    case etcd(endpoints: [HTTPEndpoint])

    /// Parses `file:DIR` or `etcd:URL[,URL…]`. `file:///abs/dir` is accepted too.
    public init(parsing text: String) throws {
        let trimmed = text.trimmingWhitespace()
        if trimmed.hasPrefix("file:") {
            var directory = String(trimmed.dropFirst("file:".count))
            if directory.hasPrefix("//") { directory = String(directory.dropFirst(2)) }
            guard !directory.isEmpty else {
                throw DatastoreError(.invalidStoreURL, "\"\(text)\": file: needs a directory")
            }
            self = .file(directory: directory)
        } else if trimmed.hasPrefix("etcd:") {
            let list = trimmed.dropFirst("etcd:".count).split(separator: ",", omittingEmptySubsequences: true)
            guard !list.isEmpty else {
                throw DatastoreError(.invalidStoreURL, "\"\(text)\": etcd: needs at least one URL")
            }
            self = .etcd(endpoints: try list.map { try HTTPEndpoint(parsing: String($0)) })
        } else {
            throw DatastoreError(
                .invalidStoreURL, "\"\(text)\": expected file:DIR or etcd:URL[,URL…]")
        }
    }

    public var description: String {
        switch self {
        case .file(let directory): "file:\(directory)"
        case .etcd(let endpoints): "etcd:" + endpoints.map(\.description).joined(separator: ",")
        }
    }

    /// Opens the store: the one factory every component uses. `security` applies to etcd
    /// (TLS files for `https://` endpoints, an etcd user); the file store ignores it.
    public func open(security: EtcdSecurity = .none) throws -> any Datastore {
        switch self {
        case .file(let directory): try FileDatastore(directory: directory)
        case .etcd(let endpoints): EtcdDatastore(endpoints: endpoints, security: security)
        }
    }

    /// Parses and opens in one step.
    public static func open(_ text: String, security: EtcdSecurity = .none) throws -> any Datastore {
        try StoreLocation(parsing: text).open(security: security)
    }
}

/// An `http://host:port` or `https://host:port` endpoint (no scheme means `http://`).
public struct HTTPEndpoint: Hashable, Sendable, CustomStringConvertible {
    public var host: String
    public var port: Int
    /// `https://`: the exchange runs over TLS (see ``EtcdSecurity``).
    public var usesTLS: Bool

    public init(host: String, port: Int, usesTLS: Bool = false) {
        self.host = host
        self.port = port
        self.usesTLS = usesTLS
    }

    public init(parsing text: String) throws {
        var rest = Substring(text.trimmingWhitespace())
        var usesTLS = false
        if rest.hasPrefix("https://") {
            rest = rest.dropFirst("https://".count)
            usesTLS = true
        } else if rest.hasPrefix("http://") {
            rest = rest.dropFirst("http://".count)
        } else if let scheme = rest.firstRange(of: "://") {
            throw DatastoreError(.invalidStoreURL, "\"\(text)\": unsupported scheme \(rest[..<scheme.lowerBound]), use http:// or https://")
        }
        if let slash = rest.firstIndex(of: "/") { rest = rest[..<slash] }
        var host = rest
        var port = 2379
        if rest.hasPrefix("[") {  // [IPv6]:port
            guard let close = rest.firstIndex(of: "]") else {
                throw DatastoreError(.invalidStoreURL, "\"\(text)\": unterminated [IPv6] host")
            }
            host = rest[rest.index(after: rest.startIndex)..<close]
            let after = rest[rest.index(after: close)...]
            if after.hasPrefix(":") {
                guard let value = Int(after.dropFirst()) else {
                    throw DatastoreError(.invalidStoreURL, "\"\(text)\": invalid port")
                }
                port = value
            }
        } else if let colon = rest.lastIndex(of: ":") {
            host = rest[..<colon]
            guard let value = Int(rest[rest.index(after: colon)...]) else {
                throw DatastoreError(.invalidStoreURL, "\"\(text)\": invalid port")
            }
            port = value
        }
        guard !host.isEmpty, (1...65535).contains(port) else {
            throw DatastoreError(.invalidStoreURL, "\"\(text)\": expected http://HOST:PORT or https://HOST:PORT")
        }
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
