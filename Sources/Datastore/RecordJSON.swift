#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// A JSON value of a record field this library does not model, kept as read so that a
/// read-modify-write (``ClusterRegistry/merge(_:)``) writes it back unchanged.
public indirect enum RecordValue: Hashable, Sendable, Codable {
    case null
    case bool(Bool)
    case integer(Int64)
    case number(Double)
    case string(String)
    case array([RecordValue])
    case object([String: RecordValue])

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Int64.self) {
            self = .integer(value)
        } else if let value = try? container.decode(Double.self) {
            self = .number(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode([RecordValue].self) {
            self = .array(value)
        } else {
            self = .object(try container.decode([String: RecordValue].self))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case .bool(let value): try container.encode(value)
        case .integer(let value): try container.encode(value)
        case .number(let value): try container.encode(value)
        case .string(let value): try container.encode(value)
        case .array(let value): try container.encode(value)
        case .object(let value): try container.encode(value)
        }
    }
}

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
    static func unknownFields(_ decoder: any Decoder, known: Set<String>) throws -> [String: RecordValue] {
        let container = try decoder.container(keyedBy: RecordKey.self)
        var result: [String: RecordValue] = [:]
        for key in container.allKeys where !known.contains(key.stringValue) {
            result[key.stringValue] = try container.decode(RecordValue.self, forKey: key)
        }
        return result
    }

    static func encodeUnknown(_ fields: [String: RecordValue], to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: RecordKey.self)
        for (key, value) in fields { try container.encode(value, forKey: RecordKey(key)) }
    }

    static func describe(_ error: any Error) -> String {
        switch error {
        case DecodingError.dataCorrupted(let context), DecodingError.keyNotFound(_, let context),
            DecodingError.typeMismatch(_, let context), DecodingError.valueNotFound(_, let context):
            let path = context.codingPath.map(\.stringValue).joined(separator: ".")
            return path.isEmpty ? context.debugDescription : "\(path): \(context.debugDescription)"
        default:
            return "\(error)"
        }
    }
}
