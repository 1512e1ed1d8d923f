import Netlink

/// Encodes typed set elements into kernel keys and decodes them back. Interval sets hold
/// each interval as a start element and an end element (the first value past the interval,
/// flagged INTERVAL_END), as `nft` stores them.
enum NftablesElementCodec {
    enum EncodedData: Hashable, Sendable {
        case verdict(NftablesVerdict)
        case bytes([UInt8])
    }

    struct EncodedElement: Hashable, Sendable {
        var key: [UInt8]
        /// The inclusive last key, for intervals of concatenations (one element per interval).
        var keyEnd: [UInt8]?
        var isIntervalEnd = false
        var data: EncodedData?
    }

    static func encode(_ elements: [NftablesSetElement], in set: NftablesSet, operation: String)
        throws(NetlinkError) -> [EncodedElement]
    {
        var result: [EncodedElement] = []
        for element in elements {
            guard element.key.count == set.keyType.count else {
                throw NetlinkError(
                    .invalidArgument, operation: operation,
                    kernelMessage: "element \(element) has \(element.key.count) key parts, the set \(set.keyType.count)")
            }
            let data = try encodeData(element.data, for: set, operation: operation)
            if set.isInterval && set.keyType.count > 1 {
                var low: [UInt8] = []
                var high: [UInt8] = []
                for (value, type) in zip(element.key, set.keyType) {
                    let bounds = try value.encodedBounds(as: type, operation: operation)
                    let padding = [UInt8](repeating: 0, count: (4 - bounds.low.count % 4) % 4)
                    low += bounds.low + padding
                    high += bounds.high + padding
                }
                result.append(EncodedElement(key: low, keyEnd: high, data: data))
            } else if set.isInterval {
                let bounds = try element.key[0].encodedBounds(as: set.keyType[0], operation: operation)
                result.append(EncodedElement(key: bounds.low, data: data))
                if let end = NftablesBytes.successor(ofBigEndian: bounds.high) {
                    result.append(EncodedElement(key: end, isIntervalEnd: true))
                }
            } else {
                var key: [UInt8] = []
                for (value, type) in zip(element.key, set.keyType) {
                    var part = try value.encoded(as: type, operation: operation)
                    if set.keyType.count > 1 {
                        part += [UInt8](repeating: 0, count: (4 - part.count % 4) % 4)
                    }
                    key += part
                }
                result.append(EncodedElement(key: key, data: data))
            }
        }
        return result
    }

    private static func encodeData(_ data: NftablesSetElement.Data?, for set: NftablesSet, operation: String)
        throws(NetlinkError) -> EncodedData?
    {
        switch (data, set.mapData) {
        case (nil, nil): return nil
        case (.verdict(let verdict), .verdict?): return .verdict(verdict)
        case (.value(let value), .value(let type)?): return .bytes(try value.encoded(as: type, operation: operation))
        default:
            throw NetlinkError(
                .invalidArgument, operation: operation,
                kernelMessage: "element data does not fit \(set.isMap ? "map" : "set") \(set.name)")
        }
    }

    /// Decodes kernel elements of `set` (in any order) into typed elements, joining interval ends.
    static func decode(_ elements: [EncodedElement], in set: NftablesSet) -> [NftablesSetElement] {
        func data(_ encoded: EncodedData?) -> NftablesSetElement.Data? {
            switch (encoded, set.mapData) {
            case (.verdict(let verdict)?, _): return .verdict(verdict)
            case (.bytes(let bytes)?, .value(let type)?): return NftablesValue.decode(bytes, as: type).map { .value($0) }
            default: return nil
            }
        }
        func parts(_ key: [UInt8]) -> [NftablesValue]? {
            var offset = 0
            var parts: [NftablesValue] = []
            for type in set.keyType {
                guard offset < key.count, let value = NftablesValue.decode(Array(key[offset...]), as: type) else {
                    return nil
                }
                parts.append(value)
                offset += set.keyType.count > 1 ? (type.length + 3) / 4 * 4 : type.length
            }
            return parts
        }
        guard set.isInterval, set.keyType.count == 1, let type = set.keyType.first else {
            return elements.compactMap { element in
                guard let low = parts(element.key) else { return nil }
                guard let end = element.keyEnd else {
                    return NftablesSetElement(concatenation: low, data: data(element.data))
                }
                guard let high = parts(end) else { return nil }
                let key = zip(low, high).map { NftablesValue.interval(low: $0, high: $1) }
                return NftablesSetElement(concatenation: key, data: data(element.data))
            }
        }
        // Adjacent intervals share a key: the end of one and the start of the next. Ends sort
        // first, so each start pairs with the end that follows it.
        let sorted = elements.sorted {
            $0.key != $1.key ? $0.key.lexicographicallyPrecedes($1.key) : $0.isIntervalEnd && !$1.isIntervalEnd
        }
        var result: [NftablesSetElement] = []
        var index = 0
        while index < sorted.count {
            let start = sorted[index]
            index += 1
            if start.isIntervalEnd { continue }
            let lastKey: [UInt8]
            if index < sorted.count, sorted[index].isIntervalEnd {
                lastKey = NftablesBytes.predecessor(ofBigEndian: sorted[index].key)
                index += 1
            } else {
                lastKey = [UInt8](repeating: 0xFF, count: start.key.count)
            }
            guard let low = NftablesValue.decode(start.key, as: type),
                let high = NftablesValue.decode(lastKey, as: type)
            else { continue }
            result.append(NftablesSetElement(NftablesValue.interval(low: low, high: high), data: data(start.data)))
        }
        return result
    }
}
