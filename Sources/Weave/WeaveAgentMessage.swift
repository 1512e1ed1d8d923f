#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// A request to the agent on its local socket: one JSON object per connection, answered by one
/// ``WeaveAgentResponse`` (then the agent closes the connection).
public struct WeaveAgentRequest: Codable, Hashable, Sendable {
    public enum Operation: String, Codable, Hashable, Sendable {
        /// An address for a container (idempotent: the same container keeps its address).
        case allocate
        /// Frees the container's address (absent is fine).
        case release
        /// The containers that still exist: every other allocation is freed (CNI GC).
        case retain
        /// Whether the agent is ready for pods (answers ``WeaveAgentResponse/gateway``).
        case ping
        /// The agent's status document (`swift-weaved status --json`).
        case status
        /// Reclaims a dead peer's address space (`swift-weaved rmpeer NAME`).
        case removePeer
    }

    public var operation: Operation
    public var containerID: String?
    /// The containers to keep (``Operation/retain``).
    public var containerIDs: [String]?
    /// A peer name or nickname (``Operation/removePeer``).
    public var peer: String?

    public init(operation: Operation, containerID: String? = nil, containerIDs: [String]? = nil, peer: String? = nil) {
        self.operation = operation
        self.containerID = containerID
        self.containerIDs = containerIDs
        self.peer = peer
    }
}

/// The agent's answer. `error` set means the request failed; otherwise the fields the
/// operation fills.
public struct WeaveAgentResponse: Codable, Hashable, Sendable {
    /// The pod's address with the range's prefix length (`10.32.0.5/12`).
    public var address: String?
    /// The bridge's address: the pods' gateway on this node.
    public var gateway: String?
    /// The MTU pods get.
    public var mtu: Int?
    /// The status document (JSON text), or a human-readable outcome (rmpeer).
    public var text: String?
    public var error: String?

    public init(address: String? = nil, gateway: String? = nil, mtu: Int? = nil, text: String? = nil, error: String? = nil) {
        self.address = address
        self.gateway = gateway
        self.mtu = mtu
        self.text = text
        self.error = error
    }

    public static func failure(_ message: String) -> WeaveAgentResponse { WeaveAgentResponse(error: message) }
}

/// The JSON of the socket protocol (one place for both ends).
package enum WeaveAgentCoding {
    /// Requests and answers larger than this are refused.
    package static let maximumSize = 4 << 20

    package static func encode<T: Encodable>(_ value: T) throws(WeaveError) -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        do { return Array(try encoder.encode(value)) } catch {
            throw WeaveError(.malformedMessage, "cannot encode \(T.self): \(error)")
        }
    }

    package static func decode<T: Decodable>(_ type: T.Type, _ bytes: [UInt8]) throws(WeaveError) -> T {
        guard bytes.count <= maximumSize else { throw WeaveError(.malformedMessage, "\(T.self) of \(bytes.count) bytes is too large") }
        do { return try JSONDecoder().decode(T.self, from: Data(bytes)) } catch {
            throw WeaveError(.malformedMessage, "not a \(T.self): \(error)")
        }
    }
}
