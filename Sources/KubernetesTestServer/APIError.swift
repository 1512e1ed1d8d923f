import Kubernetes

/// An error answer of the fixture: an HTTP status and the `Status` object the real API
/// server sends with it.
struct APIError: Error, Sendable {
    let status: Status
    var retryAfter: Int?

    var code: Int { status.code ?? 500 }

    init(_ code: Int, reason: String, message: String, details: JSONObject? = nil, retryAfter: Int? = nil) {
        status = Status(code: code, reason: reason, message: message, details: details)
        self.retryAfter = retryAfter
    }

    static func notFound(_ resource: ResourceType, _ name: String) -> APIError {
        APIError(404, reason: "NotFound", message: "\(resource.description) \"\(name)\" not found",
                 details: ["name": .string(name), "group": .string(resource.group), "kind": .string(resource.plural)])
    }

    static func alreadyExists(_ resource: ResourceType, _ name: String) -> APIError {
        APIError(409, reason: "AlreadyExists", message: "\(resource.description) \"\(name)\" already exists",
                 details: ["name": .string(name), "group": .string(resource.group), "kind": .string(resource.plural)])
    }

    static func conflict(_ resource: ResourceType, _ name: String) -> APIError {
        APIError(409, reason: "Conflict",
                 message: "Operation cannot be fulfilled on \(resource.description) \"\(name)\": the object has been modified; please apply your changes to the latest version and try again",
                 details: ["name": .string(name), "group": .string(resource.group), "kind": .string(resource.plural)])
    }

    static func badRequest(_ message: String) -> APIError { APIError(400, reason: "BadRequest", message: message) }

    static func invalid(_ resource: ResourceType, _ name: String, field: String, cause: String, detail: String) -> APIError {
        let message = "\(resource.kind) \"\(name)\" is invalid: \(field): \(detail)"
        return APIError(422, reason: "Invalid", message: message, details: [
            "name": .string(name), "group": .string(resource.group), "kind": .string(resource.kind),
            "causes": .array([.object(["reason": .string(cause), "message": .string(detail), "field": .string(field)])]),
        ])
    }

    static func expired(_ message: String) -> APIError { APIError(410, reason: "Expired", message: message) }

    static func tooLargeResourceVersion(_ requested: Int64, current: Int64) -> APIError {
        APIError(504, reason: "Timeout", message: "Too large resource version: \(requested), current: \(current)", details: [
            "causes": .array([.object(["reason": "ResourceVersionTooLarge", "message": "Too large resource version"])]),
            "retryAfterSeconds": 1,
        ], retryAfter: 1)
    }

    static let unauthorized = APIError(401, reason: "Unauthorized", message: "Unauthorized")

    static func tooManyRequests(retryAfter: Int) -> APIError {
        APIError(429, reason: "TooManyRequests", message: "Too many requests, please try again later.",
                 details: ["retryAfterSeconds": .integer(Int64(retryAfter))], retryAfter: retryAfter)
    }
}

/// A field selector (`spec.nodeName=n1,metadata.namespace!=kube-system`) over the fields the
/// real server supports for each resource.
struct FieldSelector: Sendable {
    struct Term: Sendable {
        var path: String
        var value: String
        var negated: Bool
    }

    var terms: [Term]

    static let common: Set<String> = ["metadata.name", "metadata.namespace"]
    static let supported: [String: Set<String>] = [
        "pods": ["spec.nodeName", "spec.restartPolicy", "spec.schedulerName", "spec.serviceAccountName", "spec.hostNetwork",
                 "status.phase", "status.podIP", "status.nominatedNodeName"],
        "nodes": ["spec.unschedulable"],
        "namespaces": ["status.phase"],
    ]

    init(_ text: String, resource: ResourceType) throws {
        terms = []
        for part in text.split(separator: ",") where !part.isEmpty {
            let negated = part.contains("!=")
            let separator = negated ? "!=" : (part.contains("==") ? "==" : "=")
            guard let range = part.firstRange(of: separator) else { throw APIError.badRequest("invalid field selector: '\(part)'") }
            let path = String(part[..<range.lowerBound])
            guard Self.common.contains(path) || Self.supported[resource.plural]?.contains(path) == true else {
                throw APIError.badRequest("field label not supported: \(path)")
            }
            terms.append(Term(path: path, value: String(part[range.upperBound...]), negated: negated))
        }
    }

    func matches(_ object: JSONObject) -> Bool {
        terms.allSatisfy { term in
            var value: JSONValue? = .object(object)
            for component in term.path.split(separator: ".") { value = value?[String(component)] }
            let text: String = switch value {
            case .string(let text)?: text
            case .bool(let flag)?: flag ? "true" : "false"
            case .integer(let number)?: String(number)
            default: ""
            }
            return (text == term.value) != term.negated
        }
    }
}

/// The selection of one list or watch: resource, namespace, label and field selectors.
struct Selection: Sendable {
    var resource: ResourceType
    var namespace: String?
    var labels: LabelSelector?
    var fields: FieldSelector?

    func matches(_ object: JSONObject) -> Bool {
        if let namespace, object[object: "metadata"]["namespace"]?.stringValue != namespace { return false }
        if let labels {
            let map = object[object: "metadata"][object: "labels"].compactMapValues(\.stringValue)
            if !labels.matches(map) { return false }
        }
        if let fields, !fields.matches(object) { return false }
        return true
    }
}

extension JSONObject {
    subscript(object key: String) -> JSONObject {
        get { self[key]?.objectValue ?? [:] }
        set { self[key] = .object(newValue) }
    }
}
