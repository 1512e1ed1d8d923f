import Netlink
internal import CNftnl

// One Swift type per kernel expression. Each writes itself into a libnftnl expression and can
// read itself back from one. Users never see these: matchers and statements compile to them.

/// A kernel expression (`payload`, `meta`, `cmp`, ...).
protocol KernelExpression: Sendable {
    static var kernelName: String { get }
    func configure(_ attributes: ExpressionAttributes)
    init?(_ attributes: ExpressionAttributes)
}

extension KernelExpression {
    /// A new libnftnl expression; the caller hands it to `nftnl_rule_add_expr`, which owns it after.
    func makeExpression() -> OpaquePointer {
        let expression = nftnl_expr_alloc(Self.kernelName)!
        configure(ExpressionAttributes(expression))
        return expression
    }
}

/// Typed access to one libnftnl expression's attributes (borrowed pointer, never freed here).
struct ExpressionAttributes {
    let pointer: OpaquePointer
    init(_ pointer: OpaquePointer) { self.pointer = pointer }

    func set(_ attribute: Int, _ value: UInt32) { nftnl_expr_set_u32(pointer, UInt16(attribute), value) }
    func set(_ attribute: Int, bytes: [UInt8]) {
        _ = bytes.withUnsafeBytes { nftnl_expr_set(pointer, UInt16(attribute), $0.baseAddress, UInt32($0.count)) }
    }
    func set(_ attribute: Int, string: String) { _ = nftnl_expr_set_str(pointer, UInt16(attribute), string) }
    func has(_ attribute: Int) -> Bool { nftnl_expr_is_set(pointer, UInt16(attribute)) }
    func u32(_ attribute: Int) -> UInt32 { nftnl_expr_get_u32(pointer, UInt16(attribute)) }
    func string(_ attribute: Int) -> String? {
        guard has(attribute), let text = nftnl_expr_get_str(pointer, UInt16(attribute)) else { return nil }
        return String(cString: text)
    }
    func bytes(_ attribute: Int) -> [UInt8] {
        var length: UInt32 = 0
        guard has(attribute), let data = nftnl_expr_get(pointer, UInt16(attribute), &length) else { return [] }
        return Array(UnsafeRawBufferPointer(start: data, count: Int(length)))
    }
    var name: String {
        nftnl_expr_get_str(pointer, UInt16(NFTNL_EXPR_NAME)).map { String(cString: $0) } ?? ""
    }
}

/// Registers: the verdict register and the first 16-byte data register (32-bit slots 8...).
enum Register {
    static let verdict: UInt32 = 0
    static let first: UInt32 = 1
    /// The 32-bit register slot `byteOffset / 4` into the data registers.
    static func slot(byteOffset: Int) -> UInt32 {
        byteOffset == 0 ? first : UInt32(NFT_REG32_00.rawValue) + UInt32(byteOffset / 4)
    }
}

/// `payload load LEN @ BASE header + OFFSET => reg`
struct PayloadExpression: KernelExpression, Hashable {
    enum Header: UInt32 { case link = 0, network = 1, transport = 2 }
    static let kernelName = "payload"
    var header: Header
    var offset: UInt32
    var length: UInt32
    var register: UInt32 = Register.first

    init(header: Header, offset: UInt32, length: UInt32, register: UInt32 = Register.first) {
        self.header = header
        self.offset = offset
        self.length = length
        self.register = register
    }

    func configure(_ a: ExpressionAttributes) {
        a.set(NFTNL_EXPR_PAYLOAD_DREG, register)
        a.set(NFTNL_EXPR_PAYLOAD_BASE, header.rawValue)
        a.set(NFTNL_EXPR_PAYLOAD_OFFSET, offset)
        a.set(NFTNL_EXPR_PAYLOAD_LEN, length)
    }

    init?(_ a: ExpressionAttributes) {
        guard a.has(NFTNL_EXPR_PAYLOAD_DREG), let header = Header(rawValue: a.u32(NFTNL_EXPR_PAYLOAD_BASE)) else {
            return nil
        }
        self.init(
            header: header, offset: a.u32(NFTNL_EXPR_PAYLOAD_OFFSET), length: a.u32(NFTNL_EXPR_PAYLOAD_LEN),
            register: a.u32(NFTNL_EXPR_PAYLOAD_DREG))
    }
}

/// `meta load KEY => reg`
struct MetaExpression: KernelExpression, Hashable {
    enum Key: UInt32 {
        case mark = 3, inputInterfaceName = 6, outputInterfaceName = 7, protocolFamily = 15, l4Protocol = 16
    }
    static let kernelName = "meta"
    var key: Key
    var register: UInt32 = Register.first

    init(key: Key, register: UInt32 = Register.first) {
        self.key = key
        self.register = register
    }

    func configure(_ a: ExpressionAttributes) {
        a.set(NFTNL_EXPR_META_KEY, key.rawValue)
        a.set(NFTNL_EXPR_META_DREG, register)
    }

    init?(_ a: ExpressionAttributes) {
        guard a.has(NFTNL_EXPR_META_DREG), let key = Key(rawValue: a.u32(NFTNL_EXPR_META_KEY)) else { return nil }
        self.init(key: key, register: a.u32(NFTNL_EXPR_META_DREG))
    }
}

/// `cmp OP reg DATA`
struct CompareExpression: KernelExpression, Hashable {
    enum Operator: UInt32 { case equal = 0, notEqual, less, lessOrEqual, greater, greaterOrEqual }
    static let kernelName = "cmp"
    var op: Operator
    var data: [UInt8]
    var register: UInt32 = Register.first

    init(_ op: Operator, _ data: [UInt8], register: UInt32 = Register.first) {
        self.op = op
        self.data = data
        self.register = register
    }

    func configure(_ a: ExpressionAttributes) {
        a.set(NFTNL_EXPR_CMP_SREG, register)
        a.set(NFTNL_EXPR_CMP_OP, op.rawValue)
        a.set(NFTNL_EXPR_CMP_DATA, bytes: data)
    }

    init?(_ a: ExpressionAttributes) {
        guard let op = Operator(rawValue: a.u32(NFTNL_EXPR_CMP_OP)) else { return nil }
        self.init(op, a.bytes(NFTNL_EXPR_CMP_DATA), register: a.u32(NFTNL_EXPR_CMP_SREG))
    }
}

/// `range OP reg FROM TO` (used for `!=` port ranges)
struct RangeExpression: KernelExpression, Hashable {
    static let kernelName = "range"
    var isNegated: Bool
    var from: [UInt8]
    var to: [UInt8]
    var register: UInt32 = Register.first

    init(isNegated: Bool, from: [UInt8], to: [UInt8], register: UInt32 = Register.first) {
        self.isNegated = isNegated
        self.from = from
        self.to = to
        self.register = register
    }

    func configure(_ a: ExpressionAttributes) {
        a.set(NFTNL_EXPR_RANGE_SREG, register)
        a.set(NFTNL_EXPR_RANGE_OP, isNegated ? 1 : 0)
        a.set(NFTNL_EXPR_RANGE_FROM_DATA, bytes: from)
        a.set(NFTNL_EXPR_RANGE_TO_DATA, bytes: to)
    }

    init?(_ a: ExpressionAttributes) {
        self.init(
            isNegated: a.u32(NFTNL_EXPR_RANGE_OP) == 1, from: a.bytes(NFTNL_EXPR_RANGE_FROM_DATA),
            to: a.bytes(NFTNL_EXPR_RANGE_TO_DATA), register: a.u32(NFTNL_EXPR_RANGE_SREG))
    }
}

/// `bitwise reg = (reg & MASK) ^ XOR`
struct BitwiseExpression: KernelExpression, Hashable {
    static let kernelName = "bitwise"
    var mask: [UInt8]
    var xor: [UInt8]
    var register: UInt32 = Register.first

    init(mask: [UInt8], xor: [UInt8]? = nil, register: UInt32 = Register.first) {
        self.mask = mask
        self.xor = xor ?? [UInt8](repeating: 0, count: mask.count)
        self.register = register
    }

    func configure(_ a: ExpressionAttributes) {
        a.set(NFTNL_EXPR_BITWISE_SREG, register)
        a.set(NFTNL_EXPR_BITWISE_DREG, register)
        a.set(NFTNL_EXPR_BITWISE_LEN, UInt32(mask.count))
        a.set(NFTNL_EXPR_BITWISE_MASK, bytes: mask)
        a.set(NFTNL_EXPR_BITWISE_XOR, bytes: xor)
    }

    init?(_ a: ExpressionAttributes) {
        self.init(
            mask: a.bytes(NFTNL_EXPR_BITWISE_MASK), xor: a.bytes(NFTNL_EXPR_BITWISE_XOR),
            register: a.u32(NFTNL_EXPR_BITWISE_SREG))
    }
}

/// `lookup reg set NAME [dreg 0]` (set membership, or a verdict map when `verdictMap`)
struct LookupExpression: KernelExpression, Hashable {
    static let kernelName = "lookup"
    var set: String
    var isVerdictMap = false
    var isInverted = false
    var register: UInt32 = Register.first
    /// The batch-local ID of a set created in the same batch (anonymous sets).
    var setIdentifier: UInt32?

    init(
        set: String, isVerdictMap: Bool = false, isInverted: Bool = false, register: UInt32 = Register.first,
        setIdentifier: UInt32? = nil
    ) {
        self.setIdentifier = setIdentifier
        self.set = set
        self.isVerdictMap = isVerdictMap
        self.isInverted = isInverted
        self.register = register
    }

    func configure(_ a: ExpressionAttributes) {
        a.set(NFTNL_EXPR_LOOKUP_SREG, register)
        a.set(NFTNL_EXPR_LOOKUP_SET, string: set)
        if let setIdentifier { a.set(NFTNL_EXPR_LOOKUP_SET_ID, setIdentifier) }
        if isVerdictMap { a.set(NFTNL_EXPR_LOOKUP_DREG, Register.verdict) }
        if isInverted { a.set(NFTNL_EXPR_LOOKUP_FLAGS, UInt32(NFT_LOOKUP_F_INV.rawValue)) }
    }

    init?(_ a: ExpressionAttributes) {
        guard let set = a.string(NFTNL_EXPR_LOOKUP_SET) else { return nil }
        self.init(
            set: set,
            isVerdictMap: a.has(NFTNL_EXPR_LOOKUP_DREG) && a.u32(NFTNL_EXPR_LOOKUP_DREG) == Register.verdict,
            isInverted: a.has(NFTNL_EXPR_LOOKUP_FLAGS)
                && a.u32(NFTNL_EXPR_LOOKUP_FLAGS) & UInt32(NFT_LOOKUP_F_INV.rawValue) != 0,
            register: a.u32(NFTNL_EXPR_LOOKUP_SREG))
    }
}

/// `ct load state => reg`
struct ConntrackExpression: KernelExpression, Hashable {
    static let kernelName = "ct"
    var register: UInt32 = Register.first
    init(register: UInt32 = Register.first) { self.register = register }
    func configure(_ a: ExpressionAttributes) {
        a.set(NFTNL_EXPR_CT_KEY, UInt32(NFT_CT_STATE.rawValue))
        a.set(NFTNL_EXPR_CT_DREG, register)
    }
    init?(_ a: ExpressionAttributes) {
        guard a.u32(NFTNL_EXPR_CT_KEY) == UInt32(NFT_CT_STATE.rawValue), a.has(NFTNL_EXPR_CT_DREG) else { return nil }
        self.init(register: a.u32(NFTNL_EXPR_CT_DREG))
    }
}

/// `fib daddr type => reg`
struct FibExpression: KernelExpression, Hashable {
    static let kernelName = "fib"
    var register: UInt32 = Register.first
    init(register: UInt32 = Register.first) { self.register = register }
    func configure(_ a: ExpressionAttributes) {
        a.set(NFTNL_EXPR_FIB_FLAGS, UInt32(NFTA_FIB_F_DADDR.rawValue))
        a.set(NFTNL_EXPR_FIB_RESULT, UInt32(NFT_FIB_RESULT_ADDRTYPE.rawValue))
        a.set(NFTNL_EXPR_FIB_DREG, register)
    }
    init?(_ a: ExpressionAttributes) {
        guard a.u32(NFTNL_EXPR_FIB_FLAGS) == UInt32(NFTA_FIB_F_DADDR.rawValue),
            a.u32(NFTNL_EXPR_FIB_RESULT) == UInt32(NFT_FIB_RESULT_ADDRTYPE.rawValue)
        else { return nil }
        self.init(register: a.u32(NFTNL_EXPR_FIB_DREG))
    }
}

/// Reads any supported kernel expression back; nil for kinds this library does not write.
func decodeKernelExpression(_ pointer: OpaquePointer) -> (any KernelExpression)? {
    let attributes = ExpressionAttributes(pointer)
    let kinds: [any KernelExpression.Type] = [
        PayloadExpression.self, MetaExpression.self, CompareExpression.self, BitwiseExpression.self,
        LookupExpression.self, RangeExpression.self, ImmediateExpression.self, CounterExpression.self, LogExpression.self,
        RejectExpression.self, MasqueradeExpression.self, NatExpression.self, ConntrackExpression.self,
        FibExpression.self,
    ]
    let name = attributes.name
    guard let kind = kinds.first(where: { $0.kernelName == name }) else { return nil }
    return kind.init(attributes)
}
