import Netlink
internal import CNftnl

/// Builders of libnftnl objects; each returned pointer is owned (and freed) by the caller,
/// except elements, which `nftnl_set_elem_add` takes over.
enum NftablesObjects {
    static func table(_ table: NftablesTable) -> OpaquePointer {
        let object = nftnl_table_alloc()!
        nftnl_table_set_str(object, attribute(NFTNL_TABLE_NAME), table.name)
        nftnl_table_set_u32(object, attribute(NFTNL_TABLE_FAMILY), UInt32(table.family.protocolFamily))
        return object
    }

    static func chain(_ chain: NftablesChain) -> OpaquePointer {
        let object = nftnl_chain_alloc()!
        nftnl_chain_set_str(object, attribute(NFTNL_CHAIN_TABLE), chain.table.name)
        nftnl_chain_set_str(object, attribute(NFTNL_CHAIN_NAME), chain.name)
        nftnl_chain_set_u32(object, attribute(NFTNL_CHAIN_FAMILY), UInt32(chain.table.family.protocolFamily))
        if let base = chain.base {
            nftnl_chain_set_str(object, attribute(NFTNL_CHAIN_TYPE), base.type.rawValue)
            nftnl_chain_set_u32(object, attribute(NFTNL_CHAIN_HOOKNUM), base.hook.number)
            nftnl_chain_set_s32(object, attribute(NFTNL_CHAIN_PRIO), base.priority)
            nftnl_chain_set_u32(object, attribute(NFTNL_CHAIN_POLICY), base.policy == .accept ? 1 : 0)
        }
        return object
    }

    static func rule(table: NftablesTable, chain: String) -> OpaquePointer {
        let object = nftnl_rule_alloc()!
        nftnl_rule_set_str(object, attribute(NFTNL_RULE_TABLE), table.name)
        nftnl_rule_set_str(object, attribute(NFTNL_RULE_CHAIN), chain)
        nftnl_rule_set_u32(object, attribute(NFTNL_RULE_FAMILY), UInt32(table.family.protocolFamily))
        return object
    }

    /// A set named for element and delete messages.
    static func setReference(_ set: NftablesSet) -> OpaquePointer {
        let object = nftnl_set_alloc()!
        nftnl_set_set_str(object, attribute(NFTNL_SET_TABLE), set.table.name)
        nftnl_set_set_str(object, attribute(NFTNL_SET_NAME), set.name)
        nftnl_set_set_u32(object, attribute(NFTNL_SET_FAMILY), UInt32(set.table.family.protocolFamily))
        return object
    }

    /// A set definition; `anonymousSize` makes it an anonymous constant set of that many elements.
    static func set(_ set: NftablesSet, identifier: UInt32, anonymousSize: Int? = nil) -> OpaquePointer {
        let object = setReference(set)
        var flags: UInt32 = 0
        if let anonymousSize {
            flags |= UInt32(NFT_SET_ANONYMOUS.rawValue) | UInt32(NFT_SET_CONSTANT.rawValue)
            nftnl_set_set_u32(object, attribute(NFTNL_SET_DESC_SIZE), UInt32(anonymousSize))
        }
        if set.isInterval { flags |= UInt32(NFT_SET_INTERVAL.rawValue) }
        if set.isMap { flags |= UInt32(NFT_SET_MAP.rawValue) }
        if set.isInterval && set.keyType.count > 1 {
            // Intervals of concatenations: the kernel needs each field's length.
            flags |= UInt32(NFT_SET_CONCAT.rawValue)
            let lengths = set.keyType.map { UInt8($0.length) }
            _ = lengths.withUnsafeBytes {
                nftnl_set_set_data(object, attribute(NFTNL_SET_DESC_CONCAT), $0.baseAddress, UInt32($0.count))
            }
        }
        nftnl_set_set_u32(object, attribute(NFTNL_SET_FLAGS), flags)
        nftnl_set_set_u32(object, attribute(NFTNL_SET_KEY_TYPE), NftablesDataType.concatenatedNumber(set.keyType))
        nftnl_set_set_u32(object, attribute(NFTNL_SET_KEY_LEN), UInt32(set.keyLength))
        nftnl_set_set_u32(object, attribute(NFTNL_SET_ID), identifier)
        let userData = NftablesUserData.encode(setKeyType: set.keyType, mapData: set.mapData)
        if !userData.isEmpty {
            _ = userData.withUnsafeBytes {
                nftnl_set_set_data(object, attribute(NFTNL_SET_USERDATA), $0.baseAddress, UInt32($0.count))
            }
        }
        switch set.mapData {
        case nil: break
        case .verdict:
            nftnl_set_set_u32(object, attribute(NFTNL_SET_DATA_TYPE), UInt32(NFT_DATA_VERDICT.rawValue))
        case .value(let type):
            nftnl_set_set_u32(object, attribute(NFTNL_SET_DATA_TYPE), type.typeNumber)
            nftnl_set_set_u32(object, attribute(NFTNL_SET_DATA_LEN), UInt32(type.length))
        }
        return object
    }

    static func validate(_ set: NftablesSet, operation: String) throws(NetlinkError) {
        guard !set.keyType.isEmpty else {
            throw NetlinkError(.invalidArgument, operation: operation, kernelMessage: "a set needs a key type")
        }
        if set.isInterval && set.keyType.contains(where: { !$0.isNetworkOrder }) {
            throw NetlinkError(.invalidArgument, operation: operation, kernelMessage: "interval sets of marks are not supported")
        }
    }

    static func element(_ element: NftablesElementCodec.EncodedElement) -> OpaquePointer {
        let object = nftnl_set_elem_alloc()!
        _ = element.key.withUnsafeBytes {
            nftnl_set_elem_set(object, UInt16(NFTNL_SET_ELEM_KEY), $0.baseAddress, UInt32($0.count))
        }
        if let keyEnd = element.keyEnd {
            _ = keyEnd.withUnsafeBytes {
                nftnl_set_elem_set(object, UInt16(NFTNL_SET_ELEM_KEY_END), $0.baseAddress, UInt32($0.count))
            }
        }
        if element.isIntervalEnd {
            nftnl_set_elem_set_u32(object, UInt16(NFTNL_SET_ELEM_FLAGS), UInt32(NFT_SET_ELEM_INTERVAL_END.rawValue))
        }
        switch element.data {
        case nil: break
        case .verdict(let verdict):
            nftnl_set_elem_set_u32(object, UInt16(NFTNL_SET_ELEM_VERDICT), UInt32(bitPattern: verdict.code))
            if let chain = verdict.chain { nftnl_set_elem_set_str(object, UInt16(NFTNL_SET_ELEM_CHAIN), chain) }
        case .bytes(let bytes):
            _ = bytes.withUnsafeBytes {
                nftnl_set_elem_set(object, UInt16(NFTNL_SET_ELEM_DATA), $0.baseAddress, UInt32($0.count))
            }
        }
        return object
    }
}

/// nftables user data (comments): type-length-value records, as `nft` stores them.
enum NftablesUserData {
    static func encode(comment: String) -> [UInt8] {
        let value = Array(comment.utf8) + [0]
        return [UInt8(NFTNL_UDATA_RULE_COMMENT.rawValue), UInt8(value.count)] + value
    }

    /// The byte-order hints `nft` stores with a set so `nft list` prints its elements (the
    /// kernel ignores them): 1 host order (interface names, marks), 2 network order.
    static func encode(setKeyType: [NftablesDataType], mapData: NftablesMapData?) -> [UInt8] {
        func record(_ type: UInt32, _ value: UInt32) -> [UInt8] { [UInt8(type), 4] + value.hostBytes }
        func order(_ type: NftablesDataType) -> UInt32 { type.isNetworkOrder && type != .interfaceName ? 2 : 1 }
        var bytes: [UInt8] = []
        if setKeyType.count == 1 { bytes += record(NFTNL_UDATA_SET_KEYBYTEORDER.rawValue, order(setKeyType[0])) }
        if case .value(let type)? = mapData { bytes += record(NFTNL_UDATA_SET_DATABYTEORDER.rawValue, order(type)) }
        return bytes
    }

    static func comment(in bytes: [UInt8]) -> String? {
        var offset = 0
        while offset + 2 <= bytes.count {
            let type = bytes[offset]
            let length = Int(bytes[offset + 1])
            guard offset + 2 + length <= bytes.count else { return nil }
            if type == UInt8(NFTNL_UDATA_RULE_COMMENT.rawValue) {
                return String(decoding: bytes[(offset + 2)..<(offset + 2 + length)].prefix { $0 != 0 }, as: UTF8.self)
            }
            offset += 2 + length
        }
        return nil
    }
}
