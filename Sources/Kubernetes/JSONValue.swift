#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
@_exported import JSONValues

// JSONValue and JSONObject live in JSONValues (one JSON value type for CNISpec, Datastore and
// Kubernetes); Kubernetes re-exports them, since objects are JSONObjects in its public API, and
// adds parsing that throws its own error and the member helpers of its typed views.
extension JSONValue {
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
}

extension JSONObject {
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
