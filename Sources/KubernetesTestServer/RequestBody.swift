import Kubernetes
import Yams

/// Decodes a create or update body as kube-apiserver does: JSON or YAML (protobuf is not
/// served: kubectl and client-go send JSON to servers that answer 415 for it).
enum RequestBody {
    static func decode(_ bytes: [UInt8], contentType: String, kind: String) throws -> JSONObject {
        switch contentType {
        case "application/json", "*/*", "":
            do {
                return try JSONValue.decodeObject(bytes)
            } catch {
                throw APIError.badRequest(
                    "the object provided is unrecognized (must be of type \(kind)): couldn't get version/kind; json parse error: \(jsonProblem(bytes)) (\(String(decoding: bytes.prefix(1024), as: UTF8.self)))")
            }
        case "application/yaml":
            let text = String(decoding: bytes, as: UTF8.self)
            guard let node = try? Yams.compose(yaml: text), case .object(let object) = value(node) else {
                throw APIError.badRequest("the object provided is unrecognized (must be of type \(kind)): couldn't get version/kind; yaml parse error")
            }
            return object
        default:
            throw APIError.unsupportedBody
        }
    }

    /// Go's encoding/json wording for the two failures clients meet: a cut-off body and a
    /// stray character.
    static func jsonProblem(_ bytes: [UInt8]) -> String {
        var depth = 0
        var inString = false
        var escaped = false
        for byte in bytes {
            if inString {
                if escaped { escaped = false } else if byte == UInt8(ascii: "\\") { escaped = true } else if byte == UInt8(ascii: "\"") { inString = false }
                continue
            }
            switch byte {
            case UInt8(ascii: "\""): inString = true
            case UInt8(ascii: "{"), UInt8(ascii: "["): depth += 1
            case UInt8(ascii: "}"), UInt8(ascii: "]"): depth -= 1
            default: break
            }
        }
        return depth > 0 || inString || bytes.allSatisfy({ $0 == 0x20 || $0 == 0x0a || $0 == 0x0d || $0 == 0x09 })
            ? "unexpected end of JSON input" : "invalid character in JSON input"
    }

    /// A YAML node as JSON: plain scalars resolve to null, booleans and numbers (YAML 1.2
    /// core schema), quoted ones stay strings.
    static func value(_ node: Yams.Node) -> JSONValue {
        switch node {
        case .mapping(let mapping):
            var object: JSONObject = [:]
            for (key, value) in mapping { object[key.scalar?.string ?? ""] = Self.value(value) }
            return .object(object)
        case .sequence(let sequence):
            return .array(sequence.map(Self.value))
        case .scalar(let scalar):
            let text = scalar.string
            guard scalar.style == .plain else { return .string(text) }
            switch text {
            case "", "~", "null", "Null", "NULL": return .null
            case "true", "True", "TRUE": return .bool(true)
            case "false", "False", "FALSE": return .bool(false)
            default:
                if let integer = Int64(text) { return .integer(integer) }
                if let number = Double(text), number.isFinite, text.contains(where: { $0 == "." || $0 == "e" || $0 == "E" }) {
                    return .number(number)
                }
                return .string(text)
            }
        case .alias:
            return .null
        }
    }
}
