#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import HTTPTransport

/// Blocking reads of the Kubernetes API for a short-lived process (a CNI plugin at ADD): one
/// request per connection over the shared transport (HTTPTransport), bounded by a timeout,
/// no concurrency pool, no NIO. Call it from a thread that may block.
public struct KubernetesReader: Sendable {
    public let access: APIServerAccess
    /// Bound on connecting and on the whole exchange, each.
    public var timeoutMilliseconds: Int
    private let context: TLSContext?

    /// Loads the TLS settings now (an `https://` server), so a CA, certificate or key that does
    /// not load is reported before any connection.
    public init(access: APIServerAccess, timeoutMilliseconds: Int = 5000) throws(KubernetesCoreError) {
        self.access = access
        self.timeoutMilliseconds = timeoutMilliseconds
        if access.endpoint.usesTLS {
            do { context = try TLSContext(access.tls, endpoints: access.endpoint.description) } catch {
                throw Self.error(error)
            }
        } else {
            context = nil
        }
    }

    /// `GET /api/v1/namespaces/<namespace>/pods/<name>`: the pod's labels and named ports.
    public func pod(namespace: String, name: String) throws(KubernetesCoreError) -> PodInfo {
        let path = "/api/v1/namespaces/\(Self.escaped(namespace))/pods/\(Self.escaped(name))"
        let body = try get(path)
        do { return try JSONDecoder().decode(PodInfo.self, from: Data(body)) } catch {
            throw KubernetesCoreError(
                .protocolError, "GET \(path): the answer is not a Pod: \(error)", endpoint: access.endpoint.description)
        }
    }

    /// A GET of `path`; a 200 answer's body, anything else as an error naming the server.
    public func get(_ path: String) throws(KubernetesCoreError) -> [UInt8] {
        var headers = [("Accept", "application/json"), ("User-Agent", "swift-cni-plugin")]
        if let token = access.token { headers.append(("Authorization", "Bearer \(token)")) }
        let server = access.endpoint.description
        let head: HTTPConnection.Head
        let body: [UInt8]
        do {
            var connection = try HTTPConnection(endpoint: access.endpoint, timeoutMilliseconds: timeoutMilliseconds, tls: context)
            try connection.send(method: "GET", path: path, headers: headers)
            head = try connection.readHead()
            body = try connection.readBody(head)
        } catch {
            throw Self.error(error.error)
        }
        guard head.status != 200 else { return body }
        // The API's Status object says why; a proxy's text is shown as it came.
        let status = try? JSONDecoder().decode(APIStatus.self, from: Data(body))
        let reason = status?.message ?? String(decoding: body.prefix(200), as: UTF8.self)
        let code: KubernetesCoreError.Code =
            switch head.status {
            case 401: .unauthorized
            case 403: .forbidden
            case 404: .notFound
            default: .serverError
            }
        var message = "GET \(path): \(head.status) \(reason)"
        if head.status == 401 {
            message += access.token == nil && access.tls.certificate == nil
                ? " (the kubeconfig's user has no token and no client certificate)" : " (the token or client certificate was refused)"
        }
        throw KubernetesCoreError(code, message, endpoint: server, httpStatus: head.status)
    }

    static func error(_ error: HTTPTransportError) -> KubernetesCoreError {
        let code: KubernetesCoreError.Code =
            switch error.code {
            case .tlsFailed: .tlsFailed
            case .timedOut: .timedOut
            case .protocolError: .protocolError
            case .invalidURL: .invalidConfiguration
            default: .unavailable
            }
        return KubernetesCoreError(code, error.message, endpoint: error.endpoint)
    }

    /// Path segment escaping (names are DNS labels; anything else is percent-encoded).
    static func escaped(_ segment: String) -> String {
        var result = ""
        for byte in segment.utf8 {
            let character = Character(Unicode.Scalar(byte))
            if character.isASCII, character.isLetter || character.isNumber || character == "-" || character == "." || character == "_" {
                result.append(character)
            } else {
                result += "%" + (byte < 16 ? "0" : "") + String(byte, radix: 16, uppercase: true)
            }
        }
        return result
    }

    private struct APIStatus: Decodable {
        var message: String?
    }
}

/// What policy needs of a pod: its labels and its containers' named ports.
public struct PodInfo: Sendable, Hashable, Decodable {
    /// A container port that has a name (what a policy's named port resolves to).
    public struct NamedPort: Sendable, Hashable {
        public var name: String
        public var port: UInt16
        /// `TCP`, `UDP` or `SCTP`.
        public var `protocol`: String

        public init(name: String, port: UInt16, protocol: String = "TCP") {
            self.name = name
            self.port = port
            self.protocol = `protocol`
        }
    }

    public var namespace: String
    public var name: String
    public var labels: [String: String]
    /// The named ports of the pod's containers, in their order (init containers' are not
    /// reachable and not read, as Calico's conversion does).
    public var namedPorts: [NamedPort]

    public init(namespace: String, name: String, labels: [String: String] = [:], namedPorts: [NamedPort] = []) {
        self.namespace = namespace
        self.name = name
        self.labels = labels
        self.namedPorts = namedPorts
    }

    private struct Metadata: Decodable {
        var name: String?
        var namespace: String?
        var labels: [String: String]?
    }
    private struct Spec: Decodable { var containers: [Container]? }
    private struct Container: Decodable { var ports: [Port]? }
    private struct Port: Decodable {
        var name: String?
        var containerPort: Int
        var `protocol`: String?
    }
    private enum CodingKeys: String, CodingKey { case kind, metadata, spec }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        if let kind = try container.decodeIfPresent(String.self, forKey: .kind), kind != "Pod" {
            throw DecodingError.dataCorruptedError(forKey: .kind, in: container, debugDescription: "kind is \(kind)")
        }
        let metadata = try container.decode(Metadata.self, forKey: .metadata)
        let spec = try container.decodeIfPresent(Spec.self, forKey: .spec)
        namespace = metadata.namespace ?? ""
        name = metadata.name ?? ""
        labels = metadata.labels ?? [:]
        namedPorts = (spec?.containers ?? []).flatMap { $0.ports ?? [] }.compactMap { port in
            guard let name = port.name, !name.isEmpty, let number = UInt16(exactly: port.containerPort), number > 0 else { return nil }
            return NamedPort(name: name, port: number, protocol: port.protocol ?? "TCP")
        }
    }
}
