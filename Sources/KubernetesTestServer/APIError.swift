import Kubernetes

/// An error answer of the fixture: an HTTP status and the `Status` object the real API
/// server sends with it.
struct APIError: Error, Sendable {
    var status: Status
    var retryAfter: Int?

    var code: Int { status.code ?? 500 }

    init(_ code: Int, reason: String, message: String, details: JSONObject? = nil, retryAfter: Int? = nil) {
        status = Status(code: code, reason: reason, message: message, details: details)
        self.retryAfter = retryAfter
    }

    /// `details` as kube-apiserver writes them: `group` is left out for the core group (Go's
    /// `omitempty`), `kind` is the resource (plural) for most errors, the kind for 422.
    static func details(_ resource: ResourceType, _ name: String, kind: String? = nil, uid: String? = nil) -> JSONObject {
        var details: JSONObject = ["name": .string(name), "kind": .string(kind ?? resource.plural)]
        if !resource.group.isEmpty { details["group"] = .string(resource.group) }
        if let uid { details["uid"] = .string(uid) }
        return details
    }

    static func notFound(_ resource: ResourceType, _ name: String) -> APIError {
        APIError(404, reason: "NotFound", message: "\(resource.description) \"\(name)\" not found", details: details(resource, name))
    }

    static func alreadyExists(_ resource: ResourceType, _ name: String) -> APIError {
        APIError(409, reason: "AlreadyExists", message: "\(resource.description) \"\(name)\" already exists",
                 details: details(resource, name))
    }

    static func conflict(_ resource: ResourceType, _ name: String) -> APIError {
        APIError(409, reason: "Conflict",
                 message: "Operation cannot be fulfilled on \(resource.description) \"\(name)\": the object has been modified; please apply your changes to the latest version and try again",
                 details: details(resource, name))
    }

    static func badRequest(_ message: String) -> APIError { APIError(400, reason: "BadRequest", message: message) }

    /// One field error of a 422: (field, reason such as `FieldValueRequired`, message).
    struct Cause: Sendable {
        var field: String
        var reason: String
        var message: String
    }

    static func invalid(_ resource: ResourceType, _ name: String, field: String, cause: String, detail: String) -> APIError {
        invalid(resource, name, causes: [Cause(field: field, reason: cause, message: detail)])
    }

    /// 422 Invalid with every cause; the message lists one cause plainly and several in
    /// brackets, as kube-apiserver's aggregated field errors.
    static func invalid(_ resource: ResourceType, _ name: String, causes: [Cause]) -> APIError {
        let listed = causes.map { "\($0.field): \($0.message)" }
        let summary = listed.count == 1 ? listed[0] : "[" + listed.joined(separator: ", ") + "]"
        var details = details(resource, name, kind: resource.kind)
        details["causes"] = .array(causes.map {
            .object(["reason": .string($0.reason), "message": .string($0.message), "field": .string($0.field)])
        })
        return APIError(422, reason: "Invalid", message: "\(resource.kind) \"\(name)\" is invalid: \(summary)", details: details)
    }

    static func expired(_ message: String) -> APIError { APIError(410, reason: "Expired", message: message) }

    /// A list at a compacted resourceVersion (with a limit, so not served from the watch cache).
    static let expiredList = expired("The resourceVersion for the provided list is too old.")

    /// A watch from a version older than the watch cache's window.
    static let expiredWatch = expired("The resourceVersion for the provided watch is too old.")

    /// A continue token from before a compaction: kube-apiserver answers with a fresh token
    /// (`metadata.continue`) that continues at the current version.
    static func expiredContinue(freshToken: String?) -> APIError {
        var error = expired(
            "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.")
        if let freshToken { error.status.json["metadata"] = .object(["continue": .string(freshToken)]) }
        return error
    }

    /// 415 for a body (create, update) in a media type the server does not decode.
    static let unsupportedBody = APIError(
        415, reason: "UnsupportedMediaType",
        message: "the body of the request was in an unknown format - accepted media types include: application/json, application/yaml, application/vnd.kubernetes.protobuf")

    /// 415 for a PATCH with a content type that is not a patch type.
    static let unsupportedPatch = APIError(415, reason: "UnsupportedMediaType", message: "415: Unsupported Media Type", details: [:])

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
