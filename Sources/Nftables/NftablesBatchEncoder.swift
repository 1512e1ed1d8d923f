import Netlink
internal import CNftnl

/// Netlink header flags of nftables requests (NLM_F_*); NLM_F_REQUEST is set by libnftnl,
/// sequence numbers and NLM_F_ACK by the netlink core when it sends.
enum NetlinkFlags {
    static let excl: UInt16 = 0x200
    static let create: UInt16 = 0x400
    static let append: UInt16 = 0x800
}

/// `enum nftnl_*_attr` values as libnftnl's `uint16_t` attribute numbers.
@inline(__always) func attribute<A: RawRepresentable>(_ value: A) -> UInt16 where A.RawValue == UInt32 {
    UInt16(value.rawValue)
}

/// Serialises operations into one NFNL batch (BATCH_BEGIN, messages, BATCH_END) through
/// libnftnl's object builders, remembering which operation each message belongs to. The
/// messages go out through Netlink's core (`NetlinkSocket.performTransaction`), which stamps
/// their sequence numbers.
struct NftablesBatchEncoder: ~Copyable {
    /// Elements per NEWSETELEM/DELSETELEM message, to keep messages well under a page set.
    static let elementsPerMessage = 256
    private static let scratchSize = 1 << 18

    private(set) var messages = NetlinkMessageBuffer()
    /// Message index -> index of the operation in the transaction (nil for BATCH_BEGIN/END).
    private(set) var operationByMessage: [Int?] = []
    private let scratch: UnsafeMutableRawPointer
    private var nextSetIdentifier: UInt32 = 1

    init() {
        scratch = UnsafeMutableRawPointer.allocate(byteCount: Self.scratchSize, alignment: 8)
        scratch.initializeMemory(as: UInt8.self, repeating: 0, count: Self.scratchSize)
        appendMessage { buffer in nftnl_batch_begin(buffer, 0) }
    }

    deinit { scratch.deallocate() }

    /// Adds BATCH_END; the messages are then ready to send.
    mutating func finish() {
        appendMessage { buffer in nftnl_batch_end(buffer, 0) }
    }

    /// The last operation message, the one that asks for an ACK so success is confirmed
    /// explicitly.
    var lastOperationMessage: Int {
        operationByMessage.lastIndex { $0 != nil } ?? 0
    }

    private mutating func appendMessage(
        operationIndex: Int? = nil, _ build: (UnsafeMutablePointer<CChar>) -> UnsafeMutablePointer<nlmsghdr>?
    ) {
        let buffer = scratch.assumingMemoryBound(to: CChar.self)
        guard let header = build(buffer) else { return }
        messages.append(UnsafeRawBufferPointer(start: scratch, count: Int(header.pointee.nlmsg_len)))
        operationByMessage.append(operationIndex)
    }

    private mutating func header(
        _ type: nf_tables_msg_types, _ table: NftablesTable, flags: UInt16, index: Int,
        payload: (UnsafeMutablePointer<nlmsghdr>) -> Void
    ) {
        appendMessage(operationIndex: index) { buffer in
            let nlh = nftnl_nlmsg_build_hdr(
                buffer, UInt16(type.rawValue), table.family.protocolFamily, flags, 0)!
            payload(nlh)
            return nlh
        }
    }

    /// NEWSET (anonymous, constant) and its elements, both addressed by the batch-local ID.
    private mutating func encodeAnonymousSet(
        _ anonymous: NftablesRuleCompiler.AnonymousSet, index: Int, operation: String
    ) throws(NetlinkError) {
        let set = anonymous.set
        let object = NftablesObjects.set(set, identifier: anonymous.identifier, anonymousSize: anonymous.elements.count)
        defer { nftnl_set_free(object) }
        header(NFT_MSG_NEWSET, set.table, flags: NetlinkFlags.create, index: index) {
            nftnl_set_nlmsg_build_payload($0, object)
        }
        let encoded = try NftablesElementCodec.encode(anonymous.elements, in: set, operation: operation)
        var start = 0
        while start < encoded.count {
            let chunk = encoded[start..<min(start + Self.elementsPerMessage, encoded.count)]
            start += Self.elementsPerMessage
            let reference = NftablesObjects.setReference(set)
            defer { nftnl_set_free(reference) }
            nftnl_set_set_u32(reference, attribute(NFTNL_SET_ID), anonymous.identifier)
            for element in chunk { nftnl_set_elem_add(reference, NftablesObjects.element(element)) }
            header(NFT_MSG_NEWSETELEM, set.table, flags: NetlinkFlags.create, index: index) {
                nftnl_set_elems_nlmsg_build_payload($0, reference)
            }
        }
    }

    mutating func encode(_ operation: NftablesOperation, index: Int) throws(NetlinkError) {
        let name = operation.description
        try NftablesNames.validate(operation, operation: name)
        switch operation {
        case .addTable(let table):
            let object = NftablesObjects.table(table)
            defer { nftnl_table_free(object) }
            header(NFT_MSG_NEWTABLE, table, flags: NetlinkFlags.create, index: index) {
                nftnl_table_nlmsg_build_payload($0, object)
            }
        case .deleteTable(let table):
            let object = NftablesObjects.table(table)
            defer { nftnl_table_free(object) }
            header(NFT_MSG_DELTABLE, table, flags: 0, index: index) { nftnl_table_nlmsg_build_payload($0, object) }
        case .addChain(let chain):
            let object = NftablesObjects.chain(chain)
            defer { nftnl_chain_free(object) }
            header(NFT_MSG_NEWCHAIN, chain.table, flags: NetlinkFlags.create, index: index) {
                nftnl_chain_nlmsg_build_payload($0, object)
            }
        case .deleteChain(let chain):
            let object = NftablesObjects.chain(NftablesChain(table: chain.table, name: chain.name))
            defer { nftnl_chain_free(object) }
            header(NFT_MSG_DELCHAIN, chain.table, flags: 0, index: index) { nftnl_chain_nlmsg_build_payload($0, object) }
        case .flushChain(let chain):
            let object = NftablesObjects.rule(table: chain.table, chain: chain.name)
            defer { nftnl_rule_free(object) }
            header(NFT_MSG_DELRULE, chain.table, flags: 0, index: index) { nftnl_rule_nlmsg_build_payload($0, object) }
        case .addSet(let set):
            try NftablesObjects.validate(set, operation: name)
            let object = NftablesObjects.set(set, identifier: nextSetIdentifier)
            nextSetIdentifier += 1
            defer { nftnl_set_free(object) }
            header(NFT_MSG_NEWSET, set.table, flags: NetlinkFlags.create, index: index) {
                nftnl_set_nlmsg_build_payload($0, object)
            }
        case .deleteSet(let set):
            let object = NftablesObjects.setReference(set)
            defer { nftnl_set_free(object) }
            header(NFT_MSG_DELSET, set.table, flags: 0, index: index) { nftnl_set_nlmsg_build_payload($0, object) }
        case .addElements(let set, let elements), .deleteElements(let set, let elements):
            let isAdd = if case .addElements = operation { true } else { false }
            let encoded = try NftablesElementCodec.encode(elements, in: set, operation: name)
            var start = 0
            while start < encoded.count {
                let chunk = encoded[start..<min(start + Self.elementsPerMessage, encoded.count)]
                start += Self.elementsPerMessage
                let object = NftablesObjects.setReference(set)
                defer { nftnl_set_free(object) }
                for element in chunk { nftnl_set_elem_add(object, NftablesObjects.element(element)) }
                header(
                    isAdd ? NFT_MSG_NEWSETELEM : NFT_MSG_DELSETELEM, set.table,
                    flags: isAdd ? NetlinkFlags.create : 0, index: index
                ) { nftnl_set_elems_nlmsg_build_payload($0, object) }
            }
        case .addRule(let rule), .insertRule(let rule):
            let isAppend = if case .addRule = operation { true } else { false }
            var compiler = NftablesRuleCompiler(
                family: rule.table.family, operation: name, nextSetIdentifier: nextSetIdentifier)
            let expressions = try compiler.compile(rule)
            nextSetIdentifier = compiler.nextSetIdentifier
            for anonymous in compiler.anonymousSets {
                try encodeAnonymousSet(anonymous, index: index, operation: name)
            }
            if let comment = rule.comment {
                guard comment.utf8.count <= 127, !comment.contains(where: { $0 == "\"" || $0.isNewline }) else {
                    throw NetlinkError(
                        .invalidArgument, operation: name,
                        kernelMessage: "a comment has at most 127 bytes and no quotes or line breaks")
                }
            }
            let object = NftablesObjects.rule(table: rule.table, chain: rule.chain)
            defer { nftnl_rule_free(object) }
            for expression in expressions { nftnl_rule_add_expr(object, expression.makeExpression()) }
            if let comment = rule.comment {
                let userData = NftablesUserData.encode(comment: comment)
                _ = userData.withUnsafeBytes {
                    nftnl_rule_set_data(object, attribute(NFTNL_RULE_USERDATA), $0.baseAddress, UInt32($0.count))
                }
            }
            let flags = NetlinkFlags.create | (isAppend ? NetlinkFlags.append : 0)
            header(NFT_MSG_NEWRULE, rule.table, flags: flags, index: index) {
                nftnl_rule_nlmsg_build_payload($0, object)
            }
        case .deleteRule(let table, let chain, let handle):
            let object = NftablesObjects.rule(table: table, chain: chain)
            defer { nftnl_rule_free(object) }
            nftnl_rule_set_u64(object, attribute(NFTNL_RULE_HANDLE), handle)
            header(NFT_MSG_DELRULE, table, flags: 0, index: index) { nftnl_rule_nlmsg_build_payload($0, object) }
        }
    }
}
