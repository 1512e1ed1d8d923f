import Netlink
internal import CNftnl

/// Reading back what is installed, for reconciliation.
extension NftablesHandle {
    /// The tables of the families this library models (`nft list tables`).
    public func tables() throws(NetlinkError) -> [NftablesTable] {
        try dump(NFT_MSG_GETTABLE, family: 0, operation: "list tables") { header in
            let object = nftnl_table_alloc()!
            defer { nftnl_table_free(object) }
            guard nftnl_table_nlmsg_parse(header, object) >= 0,
                let family = NftablesFamily(protocolFamily: nftnl_table_get_u32(object, attribute(NFTNL_TABLE_FAMILY))),
                let name = nftnl_table_get_str(object, attribute(NFTNL_TABLE_NAME))
            else { return nil }
            return NftablesTable(family: family, name: String(cString: name))
        }
    }

    /// Whether `table` exists (`nft list table inet NAME` succeeds).
    public func exists(_ table: NftablesTable) throws(NetlinkError) -> Bool {
        try tables().contains(table)
    }

    /// The chains of `table`, base chains with their configuration (`nft list chains`).
    public func chains(in table: NftablesTable) throws(NetlinkError) -> [NftablesChain] {
        try dump(NFT_MSG_GETCHAIN, family: table.family.protocolFamily, operation: "list chains \(table)") { header in
            let object = nftnl_chain_alloc()!
            defer { nftnl_chain_free(object) }
            guard nftnl_chain_nlmsg_parse(header, object) >= 0,
                let tableName = nftnl_chain_get_str(object, attribute(NFTNL_CHAIN_TABLE)),
                String(cString: tableName) == table.name,
                let name = nftnl_chain_get_str(object, attribute(NFTNL_CHAIN_NAME))
            else { return nil }
            var chain = NftablesChain(table: table, name: String(cString: name))
            if nftnl_chain_is_set(object, attribute(NFTNL_CHAIN_HOOKNUM)),
                let hook = NftablesChain.Hook(number: nftnl_chain_get_u32(object, attribute(NFTNL_CHAIN_HOOKNUM)))
            {
                let typeName = nftnl_chain_get_str(object, attribute(NFTNL_CHAIN_TYPE)).map { String(cString: $0) }
                chain.base = NftablesChain.BaseConfiguration(
                    type: typeName.flatMap(NftablesChain.ChainType.init(rawValue:)) ?? .filter, hook: hook,
                    priority: nftnl_chain_get_s32(object, attribute(NFTNL_CHAIN_PRIO)),
                    policy: nftnl_chain_get_u32(object, attribute(NFTNL_CHAIN_POLICY)) == 0 ? .drop : .accept)
            }
            return chain
        }
    }

    /// The named sets and maps of `table` whose types this library models (`nft list sets`);
    /// anonymous sets (inline `{ ... }` in rules) are not listed.
    public func sets(in table: NftablesTable) throws(NetlinkError) -> [NftablesSet] {
        try setDefinitions(in: table).filter { !$0.isAnonymous }.map(\.set)
    }

    struct SetDefinition: Sendable {
        var set: NftablesSet
        var isAnonymous: Bool
    }

    func setDefinitions(in table: NftablesTable) throws(NetlinkError) -> [SetDefinition] {
        try dump(NFT_MSG_GETSET, family: table.family.protocolFamily, operation: "list sets \(table)") { header in
            let object = nftnl_set_alloc()!
            defer { nftnl_set_free(object) }
            guard nftnl_set_nlmsg_parse(header, object) >= 0,
                let tableName = nftnl_set_get_str(object, attribute(NFTNL_SET_TABLE)),
                String(cString: tableName) == table.name,
                let name = nftnl_set_get_str(object, attribute(NFTNL_SET_NAME))
            else { return nil }
            let flags = nftnl_set_get_u32(object, attribute(NFTNL_SET_FLAGS))
            guard let keyType = NftablesDataType.split(
                    concatenatedNumber: nftnl_set_get_u32(object, attribute(NFTNL_SET_KEY_TYPE)))
            else { return nil }
            var mapData: NftablesMapData?
            if flags & UInt32(NFT_SET_MAP.rawValue) != 0 {
                let dataType = nftnl_set_get_u32(object, attribute(NFTNL_SET_DATA_TYPE))
                if dataType == UInt32(NFT_DATA_VERDICT.rawValue) {
                    mapData = .verdict
                } else if let type = NftablesDataType(typeNumber: dataType) {
                    mapData = .value(type)
                } else {
                    return nil
                }
            }
            let set = NftablesSet(
                table: table, name: String(cString: name), keyType: keyType, mapData: mapData,
                isInterval: flags & UInt32(NFT_SET_INTERVAL.rawValue) != 0)
            return SetDefinition(set: set, isAnonymous: flags & UInt32(NFT_SET_ANONYMOUS.rawValue) != 0)
        }
    }

    /// The elements of `set` (`nft list set inet t NAME`); intervals come back as prefixes
    /// where they are one, else as ranges.
    public func elements(of set: NftablesSet) throws(NetlinkError) -> [NftablesSetElement] {
        let reference = NftablesObjects.setReference(set)
        defer { nftnl_set_free(reference) }
        let encoded = try dump(
            NFT_MSG_GETSETELEM, family: set.table.family.protocolFamily, operation: "list set \(set)",
            payload: { nftnl_set_elems_nlmsg_build_payload($0, reference) }
        ) { header -> [NftablesElementCodec.EncodedElement]? in
            let object = nftnl_set_alloc()!
            defer { nftnl_set_free(object) }
            guard nftnl_set_elems_nlmsg_parse(header, object) >= 0,
                let iterator = nftnl_set_elems_iter_create(object)
            else { return nil }
            defer { nftnl_set_elems_iter_destroy(iterator) }
            var elements: [NftablesElementCodec.EncodedElement] = []
            // iter_next returns the current element and then advances.
            while let current = nftnl_set_elems_iter_next(iterator) {
                elements.append(Self.decodeElement(current))
            }
            return elements
        }
        return NftablesElementCodec.decode(encoded.flatMap { $0 }, in: set)
    }

    private static func decodeElement(_ object: OpaquePointer) -> NftablesElementCodec.EncodedElement {
        func bytes(_ attribute: Int) -> [UInt8] {
            var length: UInt32 = 0
            guard nftnl_set_elem_is_set(object, UInt16(attribute)),
                let data = nftnl_set_elem_get(object, UInt16(attribute), &length)
            else { return [] }
            return Array(UnsafeRawBufferPointer(start: data, count: Int(length)))
        }
        var element = NftablesElementCodec.EncodedElement(key: bytes(NFTNL_SET_ELEM_KEY))
        if nftnl_set_elem_is_set(object, UInt16(NFTNL_SET_ELEM_KEY_END)) { element.keyEnd = bytes(NFTNL_SET_ELEM_KEY_END) }
        if nftnl_set_elem_is_set(object, UInt16(NFTNL_SET_ELEM_FLAGS)) {
            element.isIntervalEnd =
                nftnl_set_elem_get_u32(object, UInt16(NFTNL_SET_ELEM_FLAGS))
                & UInt32(NFT_SET_ELEM_INTERVAL_END.rawValue) != 0
        }
        if nftnl_set_elem_is_set(object, UInt16(NFTNL_SET_ELEM_VERDICT)) {
            let chain = nftnl_set_elem_is_set(object, UInt16(NFTNL_SET_ELEM_CHAIN))
                ? nftnl_set_elem_get_str(object, UInt16(NFTNL_SET_ELEM_CHAIN)).map { String(cString: $0) } : nil
            let code = Int32(bitPattern: nftnl_set_elem_get_u32(object, UInt16(NFTNL_SET_ELEM_VERDICT)))
            element.data = NftablesVerdict(code: code, chain: chain).map { .verdict($0) }
        } else if nftnl_set_elem_is_set(object, UInt16(NFTNL_SET_ELEM_DATA)) {
            element.data = .bytes(bytes(NFTNL_SET_ELEM_DATA))
        }
        return element
    }

    /// The rules of `table` (of one chain when `chain` is given) in chain order, each with its
    /// handle, comment, and matches/statements decoded back (`nft -a list table`). Inline
    /// sets (`tcp dport { 22, 80 }`) come back with their values.
    public func rules(in table: NftablesTable, chain: String? = nil) throws(NetlinkError) -> [NftablesRule] {
        let raw = try dump(NFT_MSG_GETRULE, family: table.family.protocolFamily, operation: "list table \(table)") {
            header -> RawRule? in
            let object = nftnl_rule_alloc()!
            defer { nftnl_rule_free(object) }
            guard nftnl_rule_nlmsg_parse(header, object) >= 0,
                let tableName = nftnl_rule_get_str(object, attribute(NFTNL_RULE_TABLE)),
                String(cString: tableName) == table.name,
                let chainName = nftnl_rule_get_str(object, attribute(NFTNL_RULE_CHAIN)).map({ String(cString: $0) }),
                chain == nil || chain == chainName
            else { return nil }
            var rule = RawRule(chain: chainName, handle: nftnl_rule_get_u64(object, attribute(NFTNL_RULE_HANDLE)))
            if let iterator = nftnl_expr_iter_create(object) {
                defer { nftnl_expr_iter_destroy(iterator) }
                while let expression = nftnl_expr_iter_next(iterator) {
                    rule.expressions.append(decodeKernelExpression(expression))
                }
            }
            var length: UInt32 = 0
            if nftnl_rule_is_set(object, attribute(NFTNL_RULE_USERDATA)),
                let data = nftnl_rule_get_data(object, attribute(NFTNL_RULE_USERDATA), &length)
            {
                rule.comment = NftablesUserData.comment(in: Array(UnsafeRawBufferPointer(start: data, count: Int(length))))
            }
            return rule
        }
        // Inline sets are anonymous sets of the table: read them once, only when used.
        var anonymous: [String: [NftablesSetElement]] = [:]
        let usesAnonymous = raw.contains { rule in
            rule.expressions.contains { ($0 as? LookupExpression)?.set.hasPrefix("__") == true }
        }
        if usesAnonymous {
            for definition in try setDefinitions(in: table) where definition.isAnonymous {
                anonymous[definition.set.name] = try elements(of: definition.set)
            }
        }
        var decoder = NftablesRuleDecoder(family: table.family)
        decoder.anonymousElements = { anonymous[$0.set] }
        return raw.map { raw in
            var rule = decoder.decode(raw.expressions, table: table, chain: raw.chain)
            rule.handle = raw.handle
            rule.comment = raw.comment
            return rule
        }
    }
}

/// A rule as dumped, before decoding.
struct RawRule: Sendable {
    var chain: String
    var handle: UInt64
    var comment: String?
    var expressions: [(any KernelExpression)?] = []

    init(chain: String, handle: UInt64) {
        self.chain = chain
        self.handle = handle
    }
}
