import NetPrimitives

/// One pool of a block-affinity configuration: `{"cidr":"10.244.0.0/16","blockSize":26}`.
public struct BlockPool: Hashable, Sendable, Codable {
    public var cidr: IPNetwork
    public var blockSize: Int?

    public init(cidr: IPNetwork, blockSize: Int? = nil) {
        self.cidr = cidr
        self.blockSize = blockSize
    }

    /// /26 for IPv4, /122 for IPv6 (Calico's defaults).
    public var effectiveBlockSize: Int { blockSize ?? (cidr.family == .v4 ? 26 : 122) }

    func validate() throws {
        let size = effectiveBlockSize
        guard size >= cidr.prefixLength, size <= cidr.family.bitWidth, size - cidr.prefixLength <= 24 else {
            throw IPAMError(.invalidConfiguration, "blockSize /\(size) does not fit pool \(cidr)")
        }
    }
}

/// An IPAM block as stored at `/swiftcni/ipam/blocks/10.244.0.0-26`:
/// `{"cidr":"10.244.0.0/26","affinity":"node-1","allocations":{"2":"net.c1"}}`; allocation keys
/// are ordinals (offsets in the block), values the handles holding them.
public struct AllocationBlock: Hashable, Sendable, Codable {
    public var cidr: IPNetwork
    public var affinity: String?
    public var allocations: [String: String]

    public init(cidr: IPNetwork, affinity: String?, allocations: [String: String] = [:]) {
        self.cidr = cidr
        self.affinity = affinity
        self.allocations = allocations
    }

    public var isEmpty: Bool { allocations.isEmpty }

    public func address(ordinal: Int) -> IPAddress? { cidr.network.address(at: UInt64(ordinal)) }

    public func ordinals(of handle: String) -> [Int] {
        allocations.filter { $0.value == handle }.compactMap { Int($0.key) }.sorted()
    }

    /// The lowest free ordinal, never the pool's network or (IPv4) broadcast address.
    public func freeOrdinal(pool: IPNetwork) -> Int? {
        let size = 1 << min(cidr.family.bitWidth - cidr.prefixLength, 24)
        let poolNetwork = pool.network
        for ordinal in 0..<size where allocations[String(ordinal)] == nil {
            guard let address = address(ordinal: ordinal) else { continue }
            if address == poolNetwork.address { continue }
            if pool.family == .v4 && address == poolNetwork.lastAddress { continue }
            return ordinal
        }
        return nil
    }
}

/// The pure decision of a block-affinity ADD for one address family.
public enum BlockPlan: Hashable, Sendable {
    /// Take `ordinal` in an existing block (affine to the node, or borrowed).
    case allocate(block: IPNetwork, ordinal: Int, borrowed: Bool)
    /// Claim this unclaimed block for the node and take `ordinal` in it.
    case claim(block: IPNetwork, ordinal: Int)
    case exhausted

    /// Affine blocks first (lowest CIDR first), then the first unclaimed block of the pools,
    /// then (unless `strictAffinity`) a free address in another node's block.
    public static func make(
        node: String, pools: [BlockPool], blocks: [AllocationBlock], strictAffinity: Bool
    ) -> BlockPlan {
        let sorted = blocks.sorted { $0.cidr.address < $1.cidr.address }
        func pool(of block: AllocationBlock) -> BlockPool? { pools.first { $0.cidr.contains(block.cidr.network) } }
        for block in sorted where block.affinity == node {
            if let pool = pool(of: block), let ordinal = block.freeOrdinal(pool: pool.cidr) {
                return .allocate(block: block.cidr, ordinal: ordinal, borrowed: false)
            }
        }
        let existing = Set(blocks.map(\.cidr.network))
        for pool in pools {
            guard let subnets = try? pool.cidr.network.subnets(prefixLength: pool.effectiveBlockSize) else { continue }
            for candidate in subnets where !existing.contains(candidate) {
                let block = AllocationBlock(cidr: candidate, affinity: node)
                if let ordinal = block.freeOrdinal(pool: pool.cidr) { return .claim(block: candidate, ordinal: ordinal) }
            }
        }
        if !strictAffinity {
            for block in sorted where block.affinity != node {
                if let pool = pool(of: block), let ordinal = block.freeOrdinal(pool: pool.cidr) {
                    return .allocate(block: block.cidr, ordinal: ordinal, borrowed: true)
                }
            }
        }
        return .exhausted
    }
}

extension BlockPlan {
    /// The pure decision for a requested address (`IP=` in `CNI_ARGS`, the `ips` capability):
    /// take it in its block (affine to the node, or borrowed from another node's block), or
    /// claim its block for the node when nobody has yet. An address outside every pool, a
    /// pool's network or (IPv4) broadcast address, or one held by another handle is
    /// `.requestedAddressUnavailable`.
    public static func make(
        requested address: IPAddress, node: String, pools: [BlockPool], blocks: [AllocationBlock], handle: String
    ) throws(IPAMError) -> BlockPlan {
        guard let pool = pools.first(where: { $0.cidr.contains(address) }) else {
            throw IPAMError(.requestedAddressUnavailable, "\(address) is in no pool (\(pools.map(\.cidr)))")
        }
        let poolNetwork = pool.cidr.network
        if address == poolNetwork.address || (address.family == .v4 && address == poolNetwork.lastAddress) {
            throw IPAMError(.requestedAddressUnavailable, "\(address) is the network or broadcast address of pool \(poolNetwork)")
        }
        guard let cidr = try? IPNetwork(address: address, prefixLength: pool.effectiveBlockSize).network,
            let ordinal = cidr.offset(of: address).map(Int.init)
        else {
            throw IPAMError(.requestedAddressUnavailable, "\(address) has no block in pool \(poolNetwork)")
        }
        guard let block = blocks.first(where: { $0.cidr.network == cidr }) else { return .claim(block: cidr, ordinal: ordinal) }
        if let holder = block.allocations[String(ordinal)], holder != handle {
            throw IPAMError(.requestedAddressUnavailable, "\(address) is already allocated (to \(holder))")
        }
        return .allocate(block: block.cidr, ordinal: ordinal, borrowed: block.affinity != node)
    }
}

/// What swift-calico-node routes for a node from the IPAM records: the blocks affine to it
/// (each advertised with a blackhole route) and the addresses it borrowed from other nodes'
/// blocks (each advertised as a host route, /32 or /128, the more specific route that wins over
/// the block owner's blackhole). Pure.
public struct BlockRoutes: Hashable, Sendable {
    public var affineBlocks: Set<IPNetwork>
    public var borrowedAddresses: Set<IPNetwork>

    /// `handleOwners`: the node of each handle (the handle records); an allocation whose handle
    /// has no record is its block's node's and never counts as borrowed.
    public init(node: String, blocks: [AllocationBlock], handleOwners: [String: String]) {
        var affine: Set<IPNetwork> = []
        var borrowed: Set<IPNetwork> = []
        for block in blocks {
            if block.affinity == node {
                affine.insert(block.cidr.network)
                continue
            }
            for (ordinal, handle) in block.allocations where handleOwners[handle] == node {
                if let ordinal = Int(ordinal), let address = block.address(ordinal: ordinal) { borrowed.insert(IPNetwork(host: address)) }
            }
        }
        affineBlocks = affine
        borrowedAddresses = borrowed
    }
}
