#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// How to reach and authenticate to one API server: what a kubeconfig context or a pod's
/// service account amounts to.
public struct ClientConfiguration: Sendable {
    /// `https` or `http`.
    public var scheme: String
    public var host: String
    public var port: Int
    /// PEM of the CA certificates that sign the server's certificate (nil: no TLS trust
    /// configured, which fails every HTTPS request unless `insecureSkipTLSVerify`).
    public var certificateAuthorityPEM: [UInt8]?
    /// Accept any server certificate (`insecure-skip-tls-verify`).
    public var insecureSkipTLSVerify: Bool
    /// The name to verify the server's certificate against instead of `host` (`tls-server-name`).
    public var tlsServerName: String?
    /// The bearer token, if any.
    public var token: BearerToken?
    /// The client certificate and key, if any.
    public var clientCertificate: ClientCertificate?
    /// The namespace of the context (or the service account's), for callers that want one.
    public var namespace: String?
    /// Bound on connecting and on every request except watches.
    public var requestTimeout: Duration
    /// When set, opens each connection instead of a connect from this process: it returns a
    /// connected TCP socket (made, say, inside another network namespace, where the server is
    /// reachable) that the client adopts and closes. `host` and `port` still name the server
    /// (the `Host` header, TLS).
    public var socketConnector: (@Sendable () async throws -> Int32)?

    public init(
        server: String, certificateAuthorityPEM: [UInt8]? = nil, insecureSkipTLSVerify: Bool = false,
        tlsServerName: String? = nil, token: BearerToken? = nil, clientCertificate: ClientCertificate? = nil,
        namespace: String? = nil, requestTimeout: Duration = .seconds(30)
    ) throws {
        let (scheme, host, port) = try Self.parse(server: server)
        self.scheme = scheme
        self.host = host
        self.port = port
        self.certificateAuthorityPEM = certificateAuthorityPEM
        self.insecureSkipTLSVerify = insecureSkipTLSVerify
        self.tlsServerName = tlsServerName
        self.token = token
        self.clientCertificate = clientCertificate
        self.namespace = namespace
        self.requestTimeout = requestTimeout
    }

    /// `https://host:port` (IPv6 hosts in brackets).
    public var server: String {
        let shown = host.contains(":") ? "[\(host)]" : host
        return "\(scheme)://\(shown):\(port)"
    }

    static func parse(server: String) throws -> (String, String, Int) {
        guard let schemeEnd = server.firstRange(of: "://") else {
            throw KubernetesError(.invalidConfiguration, "server '\(server)' has no scheme (https://HOST:PORT)")
        }
        let scheme = String(server[..<schemeEnd.lowerBound]).lowercased()
        guard scheme == "https" || scheme == "http" else {
            throw KubernetesError(.invalidConfiguration, "server '\(server)': scheme must be https or http")
        }
        var rest = String(server[schemeEnd.upperBound...])
        if let slash = rest.firstIndex(of: "/") {
            guard rest[slash...].allSatisfy({ $0 == "/" }) else {
                throw KubernetesError(.invalidConfiguration, "server '\(server)': a path prefix is not supported")
            }
            rest = String(rest[..<slash])
        }
        var host = rest
        var port = scheme == "https" ? 443 : 80
        if rest.hasPrefix("[") {
            guard let close = rest.firstIndex(of: "]") else {
                throw KubernetesError(.invalidConfiguration, "server '\(server)': unterminated IPv6 address")
            }
            host = String(rest[rest.index(after: rest.startIndex)..<close])
            let after = rest[rest.index(after: close)...]
            if after.hasPrefix(":") {
                guard let value = Int(after.dropFirst()) else {
                    throw KubernetesError(.invalidConfiguration, "server '\(server)': bad port")
                }
                port = value
            }
        } else if let colon = rest.lastIndex(of: ":") {
            host = String(rest[..<colon])
            guard let value = Int(rest[rest.index(after: colon)...]), (1...65535).contains(value) else {
                throw KubernetesError(.invalidConfiguration, "server '\(server)': bad port")
            }
            port = value
        }
        guard !host.isEmpty else { throw KubernetesError(.invalidConfiguration, "server '\(server)' has no host") }
        return (scheme, host, port)
    }
}

/// A client certificate (PEM) and its private key (PEM).
public struct ClientCertificate: Sendable, Hashable {
    public var certificatePEM: [UInt8]
    public var privateKeyPEM: [UInt8]
    public init(certificatePEM: [UInt8], privateKeyPEM: [UInt8]) {
        self.certificatePEM = certificatePEM
        self.privateKeyPEM = privateKeyPEM
    }
}

/// A bearer token: fixed, or read from a file that may be rotated (a projected service
/// account token is replaced about every hour). A file token is read again whenever the file
/// changes (inode, size or modification time), and after a 401.
public struct BearerToken: Sendable {
    enum Source: Sendable {
        case literal(String)
        case file(TokenFile)
    }

    let source: Source

    public static func literal(_ token: String) -> BearerToken { BearerToken(source: .literal(token)) }
    public static func file(_ path: String) -> BearerToken { BearerToken(source: .file(TokenFile(path: path))) }

    /// The path of a file token.
    public var path: String? { if case .file(let file) = source { file.path } else { nil } }

    /// The current token. Throws ``KubernetesError/Code/credentialsUnavailable`` naming the
    /// file when it is missing or empty.
    public func current(forceReread: Bool = false) throws -> String {
        switch source {
        case .literal(let token): return token
        case .file(let file): return try file.read(force: forceReread)
        }
    }
}

/// A token file with the last value read and the file identity it was read from.
final class TokenFile: Sendable {
    let path: String
    private let cache = LockedValue<(FileIdentity, String)?>(nil)

    init(path: String) { self.path = path }

    func read(force: Bool) throws -> String {
        guard let identity = FileIdentity(path: path) else {
            throw KubernetesError(.credentialsUnavailable, "token file \(path) does not exist or cannot be read")
        }
        if !force, let (cached, token) = cache.value, cached == identity { return token }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw KubernetesError(.credentialsUnavailable, "token file \(path) cannot be read")
        }
        let token = String(decoding: data, as: UTF8.self).trimmedWhitespace()
        guard !token.isEmpty else { throw KubernetesError(.credentialsUnavailable, "token file \(path) is empty") }
        cache.value = (identity, token)
        return token
    }
}

/// Reads a file that a configuration names, with an error naming it.
func readConfigurationFile(_ path: String, what: String) throws -> [UInt8] {
    guard let data = FileManager.default.contents(atPath: path) else {
        throw KubernetesError(.invalidConfiguration, "\(what) file \(path) does not exist or cannot be read")
    }
    return Array(data)
}
