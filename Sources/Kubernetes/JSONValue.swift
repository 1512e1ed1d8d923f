#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// A JSON object: member names to values.
public typealias JSONObject = [String: JSONValue]

/// Any JSON value. Kubernetes objects are kept as JSON so that fields this module does not
/// model survive a read-modify-write unchanged; typed models are views over it.
public enum JSONValue: Hashable, Sendable, Codable, CustomStringConvertible {
    case null
    case bool(Bool)
    /// An integer that fits 64 bits (resource versions, ports, counts).
    case integer(Int64)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object(JSONObject)

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() { self = .null; return }
        if let value = try? container.decode(Bool.self) { self = .bool(value); return }
        if let value = try? container.decode(Int64.self) { self = .integer(value); return }
        if let value = try? container.decode(Double.self) { self = .number(value); return }
        if let value = try? container.decode(String.self) { self = .string(value); return }
        if let value = try? container.decode([JSONValue].self) { self = .array(value); return }
        self = .object(try container.decode(JSONObject.self))
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

    /// Parses JSON text. Throws ``KubernetesError/Code/protocolError`` on malformed input.
    public static func decode(_ bytes: some Collection<UInt8>) throws -> JSONValue {
        do {
            return try JSONDecoder().decode(JSONValue.self, from: Data(bytes))
        } catch {
            throw KubernetesError(.protocolError, "malformed JSON: \(error)")
        }
    }

    /// Parses a JSON object. Throws when the text is not one.
    public static func decodeObject(_ bytes: some Collection<UInt8>) throws -> JSONObject {
        guard case .object(let object) = try decode(bytes) else {
            throw KubernetesError(.protocolError, "expected a JSON object")
        }
        return object
    }

    /// The value as compact JSON text with sorted keys (stable for tests and stores).
    public func encoded() -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // Encoding a JSONValue cannot fail except for non-finite doubles, which JSON cannot
        // carry: write them as null.
        if let data = try? encoder.encode(self) { return Array(data) }
        return Array("null".utf8)
    }

    public var description: String { String(decoding: encoded(), as: UTF8.self) }

    public var stringValue: String? { if case .string(let value) = self { value } else { nil } }
    public var boolValue: Bool? { if case .bool(let value) = self { value } else { nil } }
    public var objectValue: JSONObject? { if case .object(let value) = self { value } else { nil } }
    public var arrayValue: [JSONValue]? { if case .array(let value) = self { value } else { nil } }
    public var integerValue: Int64? {
        switch self {
        case .integer(let value): value
        case .number(let value) where value.rounded() == value && abs(value) < 9e18: Int64(value)
        default: nil
        }
    }

    /// A member of an object (nil for other values).
    public subscript(key: String) -> JSONValue? {
        if case .object(let object) = self { object[key] } else { nil }
    }
}

extension JSONValue: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByBooleanLiteral,
    ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral, ExpressibleByNilLiteral
{
    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int64) { self = .integer(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(arrayLiteral elements: JSONValue...) { self = .array(elements) }
    public init(dictionaryLiteral elements: (String, JSONValue)...) {
        self = .object(JSONObject(elements, uniquingKeysWith: { _, last in last }))
    }
    public init(nilLiteral: ()) { self = .null }
}

extension JSONObject {
    /// The object as compact JSON text with sorted keys.
    public func encodedJSON() -> [UInt8] { JSONValue.object(self).encoded() }

    /// A string-to-string map member (`labels`, `annotations`), or empty.
    func stringMap(_ key: String) -> [String: String] {
        guard let object = self[key]?.objectValue else { return [:] }
        return object.compactMapValues(\.stringValue)
    }

    /// Sets a string map member, removing it when empty.
    mutating func setStringMap(_ key: String, _ map: [String: String]) {
        self[key] = map.isEmpty ? nil : .object(map.mapValues { .string($0) })
    }

    /// The object member `key`, read and written in place (created on write).
    subscript(object key: String) -> JSONObject {
        get { self[key]?.objectValue ?? [:] }
        set { self[key] = .object(newValue) }
    }
}
