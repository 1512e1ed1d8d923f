@_exported import JSONValues

// JSONValue itself lives in JSONValues (one JSON value type for CNISpec, Datastore and
// Kubernetes); CNISpec re-exports it, since configurations carry it in their public API, and
// adds the conversions that throw CNISpec's error.
extension JSONValue {
    /// Decodes this value as `T` (for example a plugin's typed view of `ipam` or `runtimeConfig`).
    public func decode<T: Decodable>(as type: T.Type = T.self) throws(CNIError) -> T {
        try CNIJSON.decode(T.self, from: CNIJSON.encode(self))
    }

    /// The JSON value of any encodable value.
    public init(encoding value: some Encodable) throws(CNIError) {
        self = try CNIJSON.decode(JSONValue.self, from: CNIJSON.encode(value))
    }
}
