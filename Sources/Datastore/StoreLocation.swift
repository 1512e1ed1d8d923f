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

extension HTTPEndpoint {
    /// Parses an etcd endpoint: `http://host:port` or `https://host:port` (no scheme means
    /// `http://`, no port 2379); errors are ``DatastoreError/Code/invalidStoreURL``.
    public init(parsing text: String) throws(DatastoreError) {
        do { try self.init(parsing: text, defaultPort: 2379) } catch {
            throw DatastoreError(.invalidStoreURL, error.message)
        }
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
