/// A coding key for any member name (used to carry unknown keys through).
struct DynamicKey: CodingKey, Hashable {
    var stringValue: String
    var intValue: Int? { nil }
    init(_ stringValue: String) { self.stringValue = stringValue }
    init?(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
}

extension KeyedDecodingContainer where Key == DynamicKey {
    /// Every member whose name is not in `known`, as JSON values.
    func unknownMembers(excluding known: Set<String>) throws -> [String: JSONValue] {
        var members: [String: JSONValue] = [:]
        for key in allKeys where !known.contains(key.stringValue) {
            members[key.stringValue] = try decode(JSONValue.self, forKey: key)
        }
        return members
    }
}

extension KeyedEncodingContainer where Key == DynamicKey {
    mutating func encode(members: [String: JSONValue]) throws {
        for (name, value) in members { try encode(value, forKey: DynamicKey(name)) }
    }
}
