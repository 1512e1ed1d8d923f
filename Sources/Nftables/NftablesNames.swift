import Netlink

/// Names of tables, chains and sets: what `nft` can parse, so every transaction also renders
/// to a valid `nft -f` script (the kernel alone would take any string). The length limit (255
/// bytes) is left to the kernel, which says so in its extended ACK.
enum NftablesNames {
    /// A letter or `_` first, then letters, digits, `_`, `-`, `.` or `/`.
    static func isValid(_ name: String) -> Bool {
        let bytes = Array(name.utf8)
        guard let first = bytes.first, isLetter(first) || first == UInt8(ascii: "_") else {
            return false
        }
        return bytes.allSatisfy { byte in
            isLetter(byte) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
                || [UInt8(ascii: "_"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "/")].contains(byte)
        }
    }

    private static func isLetter(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
    }

    static func validate(_ operation: NftablesOperation, operation text: String) throws(NetlinkError) {
        var names = [operation.table.name]
        switch operation {
        case .addChain(let chain), .deleteChain(let chain), .flushChain(let chain): names.append(chain.name)
        case .addSet(let set), .deleteSet(let set), .addElements(let set, _), .deleteElements(let set, _):
            names.append(set.name)
        case .addRule(let rule), .insertRule(let rule):
            names.append(rule.chain)
            for case .verdict(let verdict) in rule.statements { names += verdict.chain.map { [$0] } ?? [] }
            for case .inSet(_, let set, _) in rule.matches { names.append(set) }
            for case .verdictMap(_, let map) in rule.statements { names.append(map) }
        case .deleteRule(_, let chain, _): names.append(chain)
        case .addTable, .deleteTable: break
        }
        if case .addElements(_, let elements) = operation {
            for case .verdict(let verdict)? in elements.map(\.data) { names += verdict.chain.map { [$0] } ?? [] }
        }
        if let bad = names.first(where: { !isValid($0) }) {
            throw NetlinkError(
                .invalidArgument, operation: text,
                kernelMessage: "\"\(bad)\" is not a valid name (a letter or _ first, then letters, digits, _ - . /)")
        }
    }
}
