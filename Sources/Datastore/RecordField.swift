/// One modelled member of a stored record's JSON object: its key and how it is read into and
/// written from the record. A record lists its fields once (`FieldCodedRecord.fields`); every
/// other member is an unknown field, kept as read.
struct RecordField<Record> {
    let name: String
    let decode: (inout Record, KeyedDecodingContainer<RecordKey>) throws -> Void
    let encode: (Record, inout KeyedEncodingContainer<RecordKey>) throws -> Void

    /// A member that may be absent or null (nil), and is not written when nil.
    static func optional<Value: Codable>(_ name: String, _ path: WritableKeyPath<Record, Value?>) -> Self {
        let key = RecordKey(name)
        return Self(
            name: name,
            decode: { record, container in record[keyPath: path] = try container.decodeIfPresent(Value.self, forKey: key) },
            encode: { record, container in try container.encodeIfPresent(record[keyPath: path], forKey: key) })
    }

    /// A member always written; read, an absent (or null) one is `absent`, or without `absent`
    /// an error.
    static func required<Value: Codable>(_ name: String, _ path: WritableKeyPath<Record, Value>, absent: Value? = nil) -> Self {
        let key = RecordKey(name)
        return Self(
            name: name,
            decode: { record, container in
                if let absent {
                    record[keyPath: path] = try container.decodeIfPresent(Value.self, forKey: key) ?? absent
                } else {
                    record[keyPath: path] = try container.decode(Value.self, forKey: key)
                }
            },
            encode: { record, container in try container.encode(record[keyPath: path], forKey: key) })
    }
}

/// A record coded from its `fields` plus the unknown fields it keeps: its `init(from:)` is
/// a blank record and `decodeFields(from:)`, its `encode(to:)` `encodeFields(to:)`.
protocol FieldCodedRecord {
    var unknownFields: [String: JSONValue] { get set }
    static var fields: [RecordField<Self>] { get }
}

extension FieldCodedRecord {
    /// Reads every field, then the members no field names into `unknownFields`.
    mutating func decodeFields(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: RecordKey.self)
        let fields = Self.fields
        for field in fields { try field.decode(&self, container) }
        unknownFields = try RecordCoding.unknownFields(decoder, known: Set(fields.map(\.name)))
    }

    /// Writes the unknown fields, then every field (a field wins over an unknown one of its name).
    func encodeFields(to encoder: any Encoder) throws {
        try RecordCoding.encodeUnknown(unknownFields, to: encoder)
        var container = encoder.container(keyedBy: RecordKey.self)
        for field in Self.fields { try field.encode(self, &container) }
    }
}
