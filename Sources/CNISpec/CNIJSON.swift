#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The JSON coder settings used for every CNI document: sorted keys (stable output, easy to
/// diff), no escaped slashes (paths such as `/var/run/netns/x` stay readable).
public enum CNIJSON {
    /// Encodes `value` as compact JSON.
    public static func encode(_ value: some Encodable) throws(CNIError) -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        do {
            return Array(try encoder.encode(value))
        } catch {
            throw CNIError(.internal, "failed to encode JSON", details: "\(error)")
        }
    }

    /// Decodes `type` from JSON bytes; any failure is a ``CNIError/Code/decodingFailure`` (6).
    public static func decode<T: Decodable>(_ type: T.Type, from bytes: some Collection<UInt8>) throws(CNIError) -> T {
        do {
            return try JSONDecoder().decode(T.self, from: Data(bytes))
        } catch let error as CNIError {
            throw error
        } catch {
            throw CNIError(.decodingFailure, "failed to decode \(T.self)", details: describe(error))
        }
    }

    /// A one-line description of a decoding error (the key path and the reason).
    static func describe(_ error: any Error) -> String { JSONValue.describe(decodingError: error) }
}

/// Reads only `cniVersion` of a document.
struct VersionProbe: Decodable {
    var cniVersion: String?
}
