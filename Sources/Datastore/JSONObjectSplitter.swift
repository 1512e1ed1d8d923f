/// Splits a byte stream into top-level JSON objects (etcd's gateway streams one object per
/// message, not necessarily aligned with chunks).
struct JSONObjectSplitter {
    private var pending: [UInt8] = []
    private var depth = 0
    private var inString = false
    private var escaped = false
    private var start: Int?
    private var scanned = 0

    mutating func append(_ bytes: [UInt8]) -> [[UInt8]] {
        pending += bytes
        var objects: [[UInt8]] = []
        var index = scanned
        while index < pending.count {
            let byte = pending[index]
            if inString {
                if escaped { escaped = false } else if byte == UInt8(ascii: "\\") { escaped = true } else if byte == UInt8(ascii: "\"") { inString = false }
            } else if byte == UInt8(ascii: "\"") {
                inString = true
            } else if byte == UInt8(ascii: "{") {
                if depth == 0 { start = index }
                depth += 1
            } else if byte == UInt8(ascii: "}") && depth > 0 {
                depth -= 1
                if depth == 0, let begin = start {
                    objects.append(Array(pending[begin...index]))
                    start = nil
                }
            }
            index += 1
        }
        if depth == 0 {
            pending.removeAll(keepingCapacity: true)
            scanned = 0
        } else if let begin = start {
            pending.removeFirst(begin)
            start = 0
            scanned = pending.count
        }
        return objects
    }
}
