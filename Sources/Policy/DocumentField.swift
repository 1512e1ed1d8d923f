import NetPrimitives
import Yams

/// A node of a parsed YAML/JSON document together with where it sits (document index and
/// field path), so every decoding error can say exactly which field is wrong.
struct DocumentField {
    let node: Yams.Node
    let documentIndex: Int
    let path: String

    func error(_ code: PolicyError.Code, _ message: String) -> PolicyError {
        PolicyError(code, message, documentIndex: documentIndex, field: path)
    }

    var isNull: Bool {
        guard let scalar = node.scalar, scalar.style == .plain else { return false }
        return ["", "~", "null", "Null", "NULL"].contains(scalar.string)
    }

    private func childPath(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    /// The value under `key`; `nil` when absent or null. Throws when this is not a mapping.
    func child(_ key: String) throws -> DocumentField? {
        guard let mapping = node.mapping else {
            throw error(.invalidValue, "expected a mapping, found \(kindName)")
        }
        guard let value = mapping[key] else { return nil }
        let field = DocumentField(node: value, documentIndex: documentIndex, path: childPath(key))
        return field.isNull ? nil : field
    }

    func required(_ key: String) throws -> DocumentField {
        guard let field = try child(key) else {
            throw PolicyError(.missingField, "required field is missing", documentIndex: documentIndex, field: childPath(key))
        }
        return field
    }

    func keys() throws -> [String] {
        guard let mapping = node.mapping else { throw error(.invalidValue, "expected a mapping, found \(kindName)") }
        return mapping.keys.compactMap { $0.scalar?.string }
    }

    /// Rejects fields that exist in the API but whose meaning this module does not implement.
    func rejectUnsupported(_ keys: [String]) throws {
        for key in keys {
            if let field = try child(key) {
                if let scalar = field.node.scalar, scalar.style == .plain, scalar.string == "false" { continue }
                throw field.error(.unsupportedField, "'\(key)' is not supported by this implementation")
            }
        }
    }

    func elements() throws -> [DocumentField] {
        guard let sequence = node.sequence else { throw error(.invalidValue, "expected a list, found \(kindName)") }
        return sequence.enumerated().map { index, element in
            DocumentField(node: element, documentIndex: documentIndex, path: "\(path)[\(index)]")
        }
    }

    /// The elements of a list under `key`; empty when absent or null.
    func list(_ key: String) throws -> [DocumentField] {
        try child(key)?.elements() ?? []
    }

    func string() throws -> String {
        guard let scalar = node.scalar else { throw error(.invalidValue, "expected a string, found \(kindName)") }
        return scalar.string
    }

    /// A plain (unquoted) integer scalar, or `nil` when the scalar is not one.
    var plainInteger: Int? {
        guard let scalar = node.scalar, scalar.style == .plain else { return nil }
        return Int(scalar.string)
    }

    func integer() throws -> Int {
        guard let value = plainInteger else { throw error(.invalidValue, "expected an integer, found \(describedValue)") }
        return value
    }

    func number() throws -> Double {
        guard let scalar = node.scalar, scalar.style == .plain, let value = Double(scalar.string), value.isFinite else {
            throw error(.invalidValue, "expected a number, found \(describedValue)")
        }
        return value
    }

    func stringMap() throws -> [String: String] {
        guard let mapping = node.mapping else { throw error(.invalidValue, "expected a mapping, found \(kindName)") }
        var result: [String: String] = [:]
        for (key, value) in mapping {
            guard let keyText = key.scalar?.string, let valueText = value.scalar?.string else {
                throw error(.invalidValue, "expected string keys and values")
            }
            result[keyText] = valueText
        }
        return result
    }

    func network() throws -> IPNetwork {
        let text = try string()
        do { return try IPNetwork(parsing: text) } catch {
            // A bare address is a host network, as Calico accepts for nets.
            if let address = try? IPAddress(parsing: text) { return IPNetwork(host: address) }
            throw self.error(.invalidValue, "\"\(text)\" is not a CIDR network")
        }
    }

    var describedValue: String {
        if let scalar = node.scalar { return "\"\(scalar.string)\"" }
        return kindName
    }

    private var kindName: String {
        switch node {
        case .scalar: "a scalar"
        case .mapping: "a mapping"
        case .sequence: "a list"
        case .alias: "an alias"
        }
    }
}
