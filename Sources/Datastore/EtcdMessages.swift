#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The JSON shapes of etcd 3.4's v3 gateway: bytes as base64, int64 as strings (numbers are
/// accepted too), fields at their default value omitted.
enum Etcd {
    /// An int64 that arrives as a string (gateway) or a number.
    struct Int64Value: Codable, Hashable, Sendable {
        var value: Int64
        init(_ value: Int64) { self.value = value }
        init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            if let text = try? container.decode(String.self), let number = Int64(text) {
                value = number
            } else {
                value = try container.decode(Int64.self)
            }
        }
        func encode(to encoder: any Encoder) throws {
            var container = encoder.singleValueContainer()
            try container.encode(String(value))
        }
    }

    static func base64(_ text: String) -> String { Data(text.utf8).base64EncodedString() }
    static func base64(_ bytes: [UInt8]) -> String { Data(bytes).base64EncodedString() }
    static func decode64(_ text: String?) -> [UInt8] {
        guard let text, let data = Data(base64Encoded: text) else { return [] }
        return Array(data)
    }

    /// The end of the key range holding every key with `prefix`: the prefix with its last
    /// byte incremented (`/a/` → `/a0`); a prefix of 0xff bytes (or empty) means "all keys" ("\0").
    static func rangeEnd(forPrefix prefix: String) -> [UInt8] {
        var bytes = Array(prefix.utf8)
        while let last = bytes.last {
            if last < 0xff {
                bytes[bytes.count - 1] = last + 1
                return bytes
            }
            bytes.removeLast()
        }
        return [0]
    }

    struct Header: Codable { var revision: Int64Value? }

    struct KV: Codable {
        var key: String?
        var value: String?
        var create_revision: Int64Value?
        var mod_revision: Int64Value?
        var version: Int64Value?
        var lease: Int64Value?

        var keyValue: KeyValue {
            let leaseValue = lease?.value ?? 0
            return KeyValue(
                key: String(decoding: decode64(key), as: UTF8.self), value: decode64(value),
                createRevision: create_revision?.value ?? 0, modRevision: mod_revision?.value ?? 0,
                version: version?.value ?? 0, lease: leaseValue == 0 ? nil : LeaseID(leaseValue))
        }
    }

    struct RangeRequest: Codable {
        var key: String
        var range_end: String?
    }
    struct RangeResponse: Codable {
        var header: Header?
        var kvs: [KV]?
    }

    struct PutRequest: Codable {
        var key: String
        var value: String
        var lease: Int64Value?
    }
    struct PutResponse: Codable { var header: Header? }

    struct DeleteRangeRequest: Codable { var key: String }
    struct DeleteRangeResponse: Codable {
        var header: Header?
        var deleted: Int64Value?
    }

    struct Compare: Codable {
        var key: String
        var target: String
        var result: String
        var version: Int64Value?
        var mod_revision: Int64Value?
    }
    struct RequestOp: Codable {
        var request_put: PutRequest?
        var request_delete_range: DeleteRangeRequest?
        var request_range: RangeRequest?
    }
    struct TxnRequest: Codable {
        var compare: [Compare]
        var success: [RequestOp]
        var failure: [RequestOp]
    }
    struct ResponseOp: Codable { var response_range: RangeResponse? }
    struct TxnResponse: Codable {
        var header: Header?
        var succeeded: Bool?
        var responses: [ResponseOp]?
    }

    struct LeaseGrantRequest: Codable {
        var TTL: Int64Value
        var ID: Int64Value
    }
    struct LeaseGrantResponse: Codable {
        var ID: Int64Value?
        var TTL: Int64Value?
        var error: String?
    }
    struct LeaseIDRequest: Codable { var ID: Int64Value }
    struct LeaseKeepAliveResponse: Codable {
        var ID: Int64Value?
        var TTL: Int64Value?
    }
    struct StreamEnvelope<Result: Codable>: Codable {
        var result: Result?
        var error: ErrorBody?
    }

    struct WatchCreate: Codable {
        var key: String
        var range_end: String
        var start_revision: Int64Value?
    }
    struct WatchRequest: Codable { var create_request: WatchCreate }
    struct WatchEventBody: Codable {
        var type: String?
        var kv: KV?
    }
    struct WatchResponse: Codable {
        var header: Header?
        var created: Bool?
        var canceled: Bool?
        var compact_revision: Int64Value?
        var cancel_reason: String?
        var events: [WatchEventBody]?
    }

    /// A gateway error body: `{"error":"…","code":14,"message":"…"}` (the gRPC status code).
    struct ErrorBody: Codable {
        var error: String?
        var code: Int?
        var message: String?
        var text: String { message ?? error ?? "unknown error" }
    }
}
