#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import HTTPTransport

/// etcd users: `/v3/auth/authenticate` trades the user name and password for a token that
/// every later request carries in its `Authorization` header. etcd's default "simple" tokens
/// live in the member that issued them and expire (`--auth-token-ttl`, 300 s by default), so a
/// token is kept per endpoint and renewed when etcd calls it invalid.
extension EtcdDatastore {
    /// The token to send to endpoint `index`, authenticating first when none is cached; nil
    /// without an etcd user.
    func authorization(endpoint index: Int) throws -> String? {
        guard let username = security.username else { return nil }
        if let token = tokens.withLock({ $0[index] }) { return token }
        let endpoint = endpoints[index]
        let body = Array(try JSONEncoder().encode(Etcd.AuthenticateRequest(name: username, password: security.password ?? "")))
        var connection = try connect(to: endpoint)
        try connection.sendPost(path: "/v3/auth/authenticate", body: body)
        let head = try connection.readHead()
        let response = try connection.readBody(head)
        guard head.status == 200 else {
            let error = Self.serverError(status: head.status, body: response, endpoint: endpoint)
            if error.code == .authenticationFailed {
                throw DatastoreError(
                    .authenticationFailed, "etcd user \"\(username)\": \(error.message)", endpoint: endpoint.description)
            }
            if error.code == .unavailable {
                throw HTTPConnection.Failure(stage: .connecting, error: HTTPTransportError(.unavailable, error.message, endpoint: error.endpoint))
            }
            throw error
        }
        guard let token = (try? JSONDecoder().decode(Etcd.AuthenticateResponse.self, from: Data(response)))?.token,
            !token.isEmpty
        else {
            throw DatastoreError(
                .authenticationFailed, "etcd user \"\(username)\": etcd returned no token (is authentication enabled?)",
                endpoint: endpoint.description)
        }
        tokens.withLock { $0[index] = token }
        return token
    }

    func forgetToken(endpoint index: Int) {
        _ = tokens.withLock { $0.removeValue(forKey: index) }
    }

    /// Whether etcd refused a token that a new authentication would replace.
    static func isStaleToken(_ error: DatastoreError) -> Bool {
        error.code == .authenticationFailed
            && (error.message.contains("invalid auth token") || error.message.contains("revision of auth store is old"))
    }

    /// etcd's authentication errors in words naming the options to set; nil for other errors.
    static func authenticationError(_ text: String, endpoint: HTTPEndpoint) -> DatastoreError? {
        if text.contains("authentication failed") {
            return DatastoreError(
                .authenticationFailed, "\(text) (check --etcd-username/--etcd-password, etcd_username/etcd_password)",
                endpoint: endpoint.description)
        }
        if text.contains("user name is empty") || text.contains("user name not found") {
            return DatastoreError(
                .authenticationFailed,
                "\(text): etcd requires authentication (give --etcd-username/--etcd-password, etcd_username/etcd_password)",
                endpoint: endpoint.description)
        }
        if text.contains("invalid auth token") || text.contains("revision of auth store is old") {
            return DatastoreError(.authenticationFailed, text, endpoint: endpoint.description)
        }
        return nil
    }
}

extension Etcd {
    struct AuthenticateRequest: Codable {
        var name: String
        var password: String
    }
    struct AuthenticateResponse: Codable { var token: String? }
}
