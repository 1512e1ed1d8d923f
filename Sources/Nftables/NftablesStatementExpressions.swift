import Netlink
internal import CNftnl

// Kernel expressions that act on packets (immediate, counter, log, reject, masq, nat).

/// `immediate reg DATA` or `immediate reg 0 VERDICT`
struct ImmediateExpression: KernelExpression, Hashable {
    enum Content: Hashable { case data([UInt8]), verdict(NftablesVerdict) }
    static let kernelName = "immediate"
    var content: Content
    var register: UInt32

    init(_ content: Content, register: UInt32) {
        self.content = content
        self.register = register
    }

    func configure(_ a: ExpressionAttributes) {
        a.set(NFTNL_EXPR_IMM_DREG, register)
        switch content {
        case .data(let bytes): a.set(NFTNL_EXPR_IMM_DATA, bytes: bytes)
        case .verdict(let verdict):
            a.set(NFTNL_EXPR_IMM_VERDICT, UInt32(bitPattern: verdict.code))
            if let chain = verdict.chain { a.set(NFTNL_EXPR_IMM_CHAIN, string: chain) }
        }
    }

    init?(_ a: ExpressionAttributes) {
        let register = a.u32(NFTNL_EXPR_IMM_DREG)
        if a.has(NFTNL_EXPR_IMM_VERDICT) {
            let code = Int32(bitPattern: a.u32(NFTNL_EXPR_IMM_VERDICT))
            guard let verdict = NftablesVerdict(code: code, chain: a.string(NFTNL_EXPR_IMM_CHAIN)) else { return nil }
            self.init(.verdict(verdict), register: register)
        } else {
            self.init(.data(a.bytes(NFTNL_EXPR_IMM_DATA)), register: register)
        }
    }
}

/// `counter`
struct CounterExpression: KernelExpression, Hashable {
    static let kernelName = "counter"
    /// Packets and bytes counted so far (read back only).
    var packets: UInt64 = 0
    var bytes: UInt64 = 0
    init() {}
    func configure(_ a: ExpressionAttributes) {}
    init?(_ a: ExpressionAttributes) {
        packets = nftnl_expr_get_u64(a.pointer, UInt16(NFTNL_EXPR_CTR_PACKETS))
        bytes = nftnl_expr_get_u64(a.pointer, UInt16(NFTNL_EXPR_CTR_BYTES))
    }
}

/// `log [prefix TEXT]`
struct LogExpression: KernelExpression, Hashable {
    static let kernelName = "log"
    var prefix: String?
    init(prefix: String?) { self.prefix = prefix }
    func configure(_ a: ExpressionAttributes) {
        if let prefix { a.set(NFTNL_EXPR_LOG_PREFIX, string: prefix) }
    }
    init?(_ a: ExpressionAttributes) { self.init(prefix: a.string(NFTNL_EXPR_LOG_PREFIX)) }
}

/// `reject type T code C`
struct RejectExpression: KernelExpression, Hashable {
    static let kernelName = "reject"
    var type: UInt32
    var code: UInt8

    init(type: UInt32, code: UInt8) {
        self.type = type
        self.code = code
    }

    /// ICMP port unreachable, spelled for the table family as `nft reject` does.
    init(family: NftablesFamily) {
        switch family {
        case .inet: self.init(type: UInt32(NFT_REJECT_ICMPX_UNREACH.rawValue), code: 1)
        case .ipv4: self.init(type: UInt32(NFT_REJECT_ICMP_UNREACH.rawValue), code: 3)
        case .ipv6: self.init(type: UInt32(NFT_REJECT_ICMP_UNREACH.rawValue), code: 4)
        }
    }

    func configure(_ a: ExpressionAttributes) {
        a.set(NFTNL_EXPR_REJECT_TYPE, type)
        nftnl_expr_set_u8(a.pointer, UInt16(NFTNL_EXPR_REJECT_CODE), code)
    }

    init?(_ a: ExpressionAttributes) {
        self.init(type: a.u32(NFTNL_EXPR_REJECT_TYPE), code: nftnl_expr_get_u8(a.pointer, UInt16(NFTNL_EXPR_REJECT_CODE)))
    }
}

/// `masq`
struct MasqueradeExpression: KernelExpression, Hashable {
    static let kernelName = "masq"
    /// NF_NAT_RANGE_PROTO_RANDOM_FULLY
    static let fullyRandomFlag: UInt32 = 0x10
    var isFullyRandom = false
    init(isFullyRandom: Bool = false) { self.isFullyRandom = isFullyRandom }
    func configure(_ a: ExpressionAttributes) {
        if isFullyRandom { a.set(NFTNL_EXPR_MASQ_FLAGS, Self.fullyRandomFlag) }
    }
    init?(_ a: ExpressionAttributes) {
        self.init(
            isFullyRandom: a.has(NFTNL_EXPR_MASQ_FLAGS) && a.u32(NFTNL_EXPR_MASQ_FLAGS) & Self.fullyRandomFlag != 0)
    }
}

/// `nat snat|dnat FAMILY addr_min reg [proto_min reg]`
struct NatExpression: KernelExpression, Hashable {
    static let kernelName = "nat"
    var isSource: Bool
    var family: NftablesFamily
    var addressRegister: UInt32
    var portRegister: UInt32?

    init(isSource: Bool, family: NftablesFamily, addressRegister: UInt32, portRegister: UInt32?) {
        self.isSource = isSource
        self.family = family
        self.addressRegister = addressRegister
        self.portRegister = portRegister
    }

    func configure(_ a: ExpressionAttributes) {
        a.set(NFTNL_EXPR_NAT_TYPE, isSource ? UInt32(NFT_NAT_SNAT.rawValue) : UInt32(NFT_NAT_DNAT.rawValue))
        a.set(NFTNL_EXPR_NAT_FAMILY, UInt32(family.protocolFamily))
        a.set(NFTNL_EXPR_NAT_REG_ADDR_MIN, addressRegister)
        if let portRegister {
            a.set(NFTNL_EXPR_NAT_REG_PROTO_MIN, portRegister)
            a.set(NFTNL_EXPR_NAT_FLAGS, 2)  // NF_NAT_RANGE_PROTO_SPECIFIED
        }
    }

    init?(_ a: ExpressionAttributes) {
        guard let family = NftablesFamily(protocolFamily: a.u32(NFTNL_EXPR_NAT_FAMILY)) else { return nil }
        self.init(
            isSource: a.u32(NFTNL_EXPR_NAT_TYPE) == UInt32(NFT_NAT_SNAT.rawValue), family: family,
            addressRegister: a.u32(NFTNL_EXPR_NAT_REG_ADDR_MIN),
            portRegister: a.has(NFTNL_EXPR_NAT_REG_PROTO_MIN) ? a.u32(NFTNL_EXPR_NAT_REG_PROTO_MIN) : nil)
    }
}
