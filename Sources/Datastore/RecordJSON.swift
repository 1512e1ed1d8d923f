#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
@_exported import JSONValues

// A record field this library does not model is a JSONValue (JSONValues, re-exported since
// records carry it in their public API), kept as read so that a read-modify-write
// (ClusterRegistry.merge) writes it back unchanged.

/// Any JSON object key.
struct RecordKey: CodingKey {
    var stringValue: String
    var intValue: Int? { nil }
    init(_ string: String) { stringValue = string }
    init?(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
}

/// The coder settings of every record: sorted keys, unescaped slashes (as `CNIJSON`).
enum RecordCoding {
    static func encode(_ value: some Encodable, key: String) throws(DatastoreError) -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        do { return Array(try encoder.encode(value)) } catch {
            throw DatastoreError(.malformedRecord, "cannot encode the record: \(error)", key: key)
        }
    }

    /// Decodes the record stored at `key`; any failure is a `.malformedRecord` naming the key.
    static func decode<T: Decodable>(_ type: T.Type, from bytes: [UInt8], key: String) throws(DatastoreError) -> T {
        do { return try JSONDecoder().decode(T.self, from: Data(bytes)) } catch {
            throw DatastoreError(.malformedRecord, "\(describe(error))", key: key)
        }
    }

    /// The unknown members of an object: every key not in `known`.
    static func unknownFields(_ decoder: any Decoder, known: Set<String>) throws -> [String: JSONValue] {
        let container = try decoder.container(keyedBy: RecordKey.self)
        var result: [String: JSONValue] = [:]
        for key in container.allKeys where !known.contains(key.stringValue) {
            result[key.stringValue] = try container.decode(JSONValue.self, forKey: key)
        }
        return result
    }

    static func encodeUnknown(_ fields: [String: JSONValue], to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: RecordKey.self)
        for (key, value) in fields { try container.encode(value, forKey: RecordKey(key)) }
    }

    static func describe(_ error: any Error) -> String { JSONValue.describe(decodingError: error) }
}
