#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Kubernetes

/// RFC 6902 JSON patch (`application/json-patch+json`): add, remove, replace, move, copy and
/// test operations on RFC 6901 pointers. A failed operation is a 422 as kube-apiserver's
/// (`the server rejected our request due to an error in our request`).
enum JSONPatch {
    static func apply(_ patch: JSONValue, to document: JSONValue) throws -> JSONValue {
        guard let operations = patch.arrayValue else { throw APIError.badRequest("json patch must be an array of operations") }
        var document = document
        for operation in operations {
            guard let op = operation["op"]?.stringValue, let path = operation["path"]?.stringValue else {
                throw failure("an operation needs \"op\" and \"path\"")
            }
            let target = try pointer(path)
            switch op {
            case "add": document = try insert(operation["value"] ?? .null, at: target, in: document, replacing: false)
            case "replace":
                _ = try value(at: target, in: document)
                document = try insert(operation["value"] ?? .null, at: target, in: document, replacing: true)
            case "remove": document = try remove(target, from: document)
            case "move", "copy":
                guard let from = operation["from"]?.stringValue else { throw failure("\(op) needs \"from\"") }
                let source = try pointer(from)
                let moved = try value(at: source, in: document)
                if op == "move" { document = try remove(source, from: document) }
                document = try insert(moved, at: target, in: document, replacing: false)
            case "test":
                guard try value(at: target, in: document) == (operation["value"] ?? .null) else {
                    throw failure("testing value \(path) failed")
                }
            default: throw failure("unexpected kind of operation: \(op)")
            }
        }
        return document
    }

    static func failure(_ message: String) -> APIError {
        APIError(422, reason: "Invalid", message: "the server rejected our request due to an error in our request: \(message)")
    }

    static func pointer(_ path: String) throws -> [String] {
        if path.isEmpty { return [] }
        guard path.hasPrefix("/") else { throw failure("invalid pointer \(path)") }
        return path.dropFirst().split(separator: "/", omittingEmptySubsequences: false).map {
            $0.replacingOccurrences(of: "~1", with: "/").replacingOccurrences(of: "~0", with: "~")
        }
    }

    static func value(at path: [String], in document: JSONValue) throws -> JSONValue {
        var current = document
        for token in path {
            switch current {
            case .object(let members):
                guard let next = members[token] else { throw failure("missing value at /\(path.joined(separator: "/"))") }
                current = next
            case .array(let elements):
                guard let index = Int(token), elements.indices.contains(index) else {
                    throw failure("index \(token) out of range")
                }
                current = elements[index]
            default: throw failure("missing value at /\(path.joined(separator: "/"))")
            }
        }
        return current
    }

    static func insert(_ value: JSONValue, at path: [String], in document: JSONValue, replacing: Bool) throws -> JSONValue {
        guard let token = path.first else { return value }
        let rest = Array(path.dropFirst())
        switch document {
        case .object(var members):
            if rest.isEmpty {
                members[token] = value
            } else {
                guard let child = members[token] else { throw failure("missing value at \(token)") }
                members[token] = try insert(value, at: rest, in: child, replacing: replacing)
            }
            return .object(members)
        case .array(var elements):
            if rest.isEmpty {
                if token == "-", !replacing { elements.append(value); return .array(elements) }
                guard let index = Int(token), index >= 0, replacing ? index < elements.count : index <= elements.count else {
                    throw failure("index \(token) out of range")
                }
                if replacing { elements[index] = value } else { elements.insert(value, at: index) }
            } else {
                guard let index = Int(token), elements.indices.contains(index) else { throw failure("index \(token) out of range") }
                elements[index] = try insert(value, at: rest, in: elements[index], replacing: replacing)
            }
            return .array(elements)
        default:
            throw failure("cannot add into a value that is not an object or array")
        }
    }

    static func remove(_ path: [String], from document: JSONValue) throws -> JSONValue {
        guard let token = path.first else { throw failure("cannot remove the whole document") }
        let rest = Array(path.dropFirst())
        switch document {
        case .object(var members):
            guard let child = members[token] else { throw failure("missing value at \(token)") }
            members[token] = rest.isEmpty ? nil : try remove(rest, from: child)
            return .object(members)
        case .array(var elements):
            guard let index = Int(token), elements.indices.contains(index) else { throw failure("index \(token) out of range") }
            if rest.isEmpty { elements.remove(at: index) } else { elements[index] = try remove(rest, from: elements[index]) }
            return .array(elements)
        default:
            throw failure("missing value at \(token)")
        }
    }
}
