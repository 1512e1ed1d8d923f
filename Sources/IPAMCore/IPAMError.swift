#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import JSONValues

/// The one error type of the IPAM module.
public struct IPAMError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What kind of failure. Extensible: new codes may be added.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        public let name: String
        public init(_ name: String) { self.name = name }
        public var description: String { name }

        /// The IPAM configuration is invalid (bad range, gateway outside the subnet, …).
        public static let invalidConfiguration = Code("invalid IPAM configuration")
        /// A container ID or interface name is not acceptable (could escape dataDir); a bad
        /// network or node name is ``invalidConfiguration``.
        public static let invalidIdentifier = Code("invalid identifier")
        /// No free address (or subnet, or block) is left.
        public static let exhausted = Code("addresses exhausted")
        /// A requested address is taken, outside every range, or the gateway.
        public static let requestedAddressUnavailable = Code("requested address unavailable")
        /// The container already holds an address in this range set (host-local refuses too).
        public static let duplicateAllocation = Code("duplicate allocation")
        /// A file operation on dataDir failed.
        public static let ioFailed = Code("I/O failed")
        /// The cluster datastore failed; `underlying` has the `DatastoreError`.
        public static let datastoreFailed = Code("datastore failed")
        /// Too many concurrent writers kept winning the compare-and-swap.
        public static let contention = Code("too much contention")
        /// CHECK found an allocation missing.
        public static let notAllocated = Code("address not allocated")
        /// Two ring states cannot be merged: different ranges or seeds, or one token at one
        /// version with different contents (a peer changed a token it did not own).
        public static let ringConflict = Code("ring conflict")
        /// A ring change was asked of a peer that does not own the tokens or addresses involved.
        public static let notOwner = Code("not the owner")
        /// A message between ring peers is malformed or not addressed to this peer.
        public static let invalidMessage = Code("invalid ring message")
        /// What the allocator needs is not there yet (flanneld has not written subnet.env).
        public static let notReady = Code("not ready")
        /// A stored block, handle or lease does not decode; the message names its key.
        public static let malformedRecord = Code("malformed record")
    }

    public let code: Code
    public let message: String
    public let errno: Int32?
    /// The description of the underlying error (for example a `DatastoreError`).
    public let underlying: String?

    public init(_ code: Code, _ message: String, errno: Int32? = nil, underlying: String? = nil) {
        self.code = code
        self.message = message
        self.errno = errno
        self.underlying = underlying
    }

    public var description: String {
        var text = "\(code): \(message)"
        if let underlying { text += ": \(underlying)" }
        if let errno { text += " (errno \(errno))" }
        return text
    }
}

/// Decodes the record stored at `key`; any failure is `.malformedRecord` naming the key.
package func decodeRecord<T: Decodable>(_ type: T.Type, _ bytes: [UInt8], key: String) throws(IPAMError) -> T {
    do { return try JSONDecoder().decode(T.self, from: Data(bytes)) } catch {
        throw IPAMError(.malformedRecord, "\(key) does not decode", underlying: describeDecoding(error))
    }
}

/// A one-line description of a decoding error: the field path and the reason.
package func describeDecoding(_ error: any Error) -> String { JSONValue.describe(decodingError: error) }

/// Wraps datastore failures into ``IPAMError``.
package func withDatastore<T>(_ what: String, _ body: () async throws -> T) async throws -> T {
    do {
        return try await body()
    } catch let error as IPAMError {
        throw error
    } catch {
        throw IPAMError(.datastoreFailed, what, underlying: "\(error)")
    }
}
