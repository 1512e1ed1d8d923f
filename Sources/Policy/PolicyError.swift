/// The one error type of the Policy modules (the pure layer and its PolicyEnforcement): what went wrong, where (document and field), and why.
///
/// Parse errors name the document (0-based, in file order) and the field path inside it, for
/// example `document 2, spec.ingress[0].ports[1].port: named port "HTTP" is not a valid name`.
public struct PolicyError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What kind of failure this is. Extensible: new codes may be added.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        public let name: String
        public init(_ name: String) { self.name = name }
        public var description: String { name }

        /// The text is not YAML or JSON.
        public static let malformedDocument = Code("malformed document")
        /// `apiVersion`/`kind` name a resource this module does not understand.
        public static let unsupportedKind = Code("unsupported kind")
        /// A required field is absent.
        public static let missingField = Code("missing field")
        /// A field has the wrong type or an invalid value.
        public static let invalidValue = Code("invalid value")
        /// A field exists in the API but is not supported here (ignoring it would change meaning).
        public static let unsupportedField = Code("unsupported field")
        /// A Calico selector expression does not parse.
        public static let invalidSelector = Code("invalid selector")
        /// A packet names an endpoint that is not in the cluster state.
        public static let unknownEndpoint = Code("unknown endpoint")
        /// Two endpoints or objects share an identity or an address.
        public static let duplicate = Code("duplicate")
    }

    public let code: Code
    public let message: String
    /// The 0-based document index in the parsed text, when the error comes from parsing.
    public let documentIndex: Int?
    /// The field path inside the document (`spec.ingress[0].from[1].ipBlock.cidr`), when known.
    public let field: String?
    /// A lower-level error (for example the YAML parser's), when there is one.
    public let underlying: String?

    public init(
        _ code: Code, _ message: String, documentIndex: Int? = nil, field: String? = nil,
        underlying: String? = nil
    ) {
        self.code = code
        self.message = message
        self.documentIndex = documentIndex
        self.field = field
        self.underlying = underlying
    }

    public var description: String {
        var location: [String] = []
        if let documentIndex { location.append("document \(documentIndex)") }
        if let field, !field.isEmpty { location.append(field) }
        var text = "\(code): "
        if !location.isEmpty { text += location.joined(separator: ", ") + ": " }
        text += message
        if let underlying { text += " (\(underlying))" }
        return text
    }
}
