import Netlink
import Nftables
import Policy
import Synchronization

/// Keeps the kernel's table `inet swiftcni_policy` equal to the compiled policies of one node,
/// in one network namespace.
///
/// Every change is ONE atomic nftables transaction, so packets always see the old rule set or
/// the new one: set elements when only elements change (a peer pod appears, goes or changes
/// labels); the pod's own chains and map entries when its policies change; changed chains and
/// sets rewritten in place when policies change; the whole table replaced in one batch
/// (`delete table` + rebuild) only as a fallback. Established connections are accepted by conntrack before any policy,
/// so an update never breaks an allowed flow. Only its own table is ever read or written.
///
/// ```swift
/// let nft = try NftablesHandle(namespace: node)
/// let enforcer = PolicyEnforcer(handle: nft, policies: policies, cluster: cluster, node: "n1")
/// try enforcer.reconcile()                 // adopt the table or rebuild it
/// try enforcer.upsert(podWithNewLabels)    // set elements only, usually
/// print(try enforcer.explain(Packet(from: .pod("x", "a"), to: .pod("y", "b"), port: 80)))
/// ```
public final class PolicyEnforcer: Sendable {
    /// How an update reached the kernel.
    public enum UpdateKind: String, Hashable, Sendable {
        /// Nothing differed: no transaction.
        case unchanged
        /// Set elements only.
        case elements
        /// The chains and dispatch entries of the changed endpoints (plus elements).
        case endpoints
        /// Changed chains rewritten and sets updated in place, in one transaction.
        case rewritten
        /// The whole table replaced in one transaction.
        case replaced
    }

    /// What one update did.
    public struct Update: Hashable, Sendable {
        public var kind: UpdateKind
        /// The program's differences that caused it.
        public var changes: ProgramChanges
        /// Operations in the applied transaction.
        public var operationCount: Int
    }

    private struct State: Sendable {
        var compiler: IncrementalCompiler
    }

    public let handle: NftablesHandle
    public let lowering: NftablesPolicyCompiler
    private let state: Mutex<State>

    /// An enforcer for `policies` over `cluster`, enforcing the endpoints of `node` (all when
    /// nil). Nothing is sent to the kernel until ``reconcile()`` or an update.
    public init(
        handle: NftablesHandle, policies: PolicySet, cluster: ClusterState, node: String? = nil,
        lowering: NftablesPolicyCompiler = NftablesPolicyCompiler()
    ) {
        self.handle = handle
        self.lowering = lowering
        state = Mutex(State(compiler: IncrementalCompiler(policies: policies, cluster: cluster, node: node)))
    }

    /// The program currently enforced (or to be enforced at the next ``reconcile()``).
    public var program: PolicyProgram { state.withLock { $0.compiler.program } }
    public var policies: PolicySet { state.withLock { $0.compiler.policies } }
    public var cluster: ClusterState { state.withLock { $0.compiler.cluster } }

    /// The table the program should produce.
    public func desiredContents() throws(PolicyError) -> NftablesTableContents {
        try lowering.contents(for: program)
    }

    /// Reads the table back (`nft list table inet swiftcni_policy`) and, when it differs from
    /// the desired rule set or is missing, replaces it in one transaction. A restarted agent
    /// calls this first: an intact table is adopted untouched. Returns true when it wrote.
    @discardableResult
    public func reconcile() throws(PolicyError) -> Bool {
        try state.withLock { state throws(PolicyError) -> Bool in
            let desired = try lowering.contents(for: state.compiler.program)
            let present = try kernel("read table \(lowering.table)") { () throws(NetlinkError) -> Bool in
                try handle.exists(lowering.table)
            }
            if present {
                let current = try kernel("read table \(lowering.table)") { () throws(NetlinkError) in
                    try handle.contents(of: lowering.table)
                }
                if current.isEquivalent(to: desired) { return false }
                // Repair in place when possible (unchanged sets keep serving lookups).
                if let repair = lowering.transaction(from: current, to: desired) {
                    do {
                        try apply(repair)
                        return true
                    } catch {}
                }
            }
            var transaction = NftablesTransaction()
            transaction.replace(with: desired)
            try apply(transaction)
            return true
        }
    }

    /// Enforces a new policy set (and, when given, a new cluster state, for example changed
    /// node addresses): recompiles, and applies the difference in one transaction (elements
    /// or endpoint chains when that is all that changed, else a one-batch table replacement).
    @discardableResult
    public func update(policies: PolicySet, cluster: ClusterState? = nil) throws(PolicyError) -> Update {
        try state.withLock { state throws(PolicyError) -> Update in
            let next = IncrementalCompiler(
                policies: policies, cluster: cluster ?? state.compiler.cluster, node: state.compiler.node)
            let changes = state.compiler.program.changes(to: next.program)
            let update = try apply(changes, from: state.compiler.program, to: next.program)
            state.compiler = next
            return update
        }
    }

    /// Adds or changes an endpoint (labels, addresses, named ports, interface).
    @discardableResult
    public func upsert(_ endpoint: Endpoint) throws(PolicyError) -> Update {
        try state.withLock { state throws(PolicyError) -> Update in
            var compiler = state.compiler
            let changes: ProgramChanges
            do { changes = try compiler.upsert(endpoint) } catch let error as PolicyError { throw error } catch {
                throw PolicyError(.invalidValue, "\(error)")
            }
            let update = try apply(changes, from: state.compiler.program, to: compiler.program)
            state.compiler = compiler
            return update
        }
    }

    /// Removes an endpoint (no change when unknown).
    @discardableResult
    public func remove(_ id: EndpointID) throws(PolicyError) -> Update {
        try state.withLock { state throws(PolicyError) -> Update in
            var compiler = state.compiler
            let changes = compiler.remove(id)
            let update = try apply(changes, from: state.compiler.program, to: compiler.program)
            state.compiler = compiler
            return update
        }
    }

    /// Why `packet` is allowed or denied under the enforced policies, naming the deciding
    /// policy and rule (delegates to `PolicyEvaluator`).
    public func explain(_ packet: Packet) throws -> Explanation {
        let (policies, cluster) = state.withLock { ($0.compiler.policies, $0.compiler.cluster) }
        return try PolicyEvaluator(policies: policies, cluster: cluster).explain(packet)
    }

    /// Deletes the enforcer's table (`nft delete table inet swiftcni_policy`), when present.
    public func removeTable() throws(PolicyError) {
        var transaction = NftablesTransaction()
        transaction.deleteIfPresent(lowering.table)
        try apply(transaction)
    }

    // MARK: Applying

    private func apply(_ changes: ProgramChanges, from old: PolicyProgram, to program: PolicyProgram) throws(PolicyError) -> Update {
        if changes.isEmpty { return Update(kind: .unchanged, changes: changes, operationCount: 0) }
        let partial: (UpdateKind, NftablesTransaction)? = if changes.isElementOnly {
            (.elements, try lowering.elementTransaction(for: changes, in: program))
        } else {
            try lowering.endpointTransaction(for: changes, from: old, to: program).map { (.endpoints, $0) }
        }
        if let (kind, transaction) = partial {
            do {
                try apply(transaction)
                return Update(kind: kind, changes: changes, operationCount: transaction.operations.count)
            } catch {
                // The kernel refused the delta (the table was changed behind our back):
                // fall through to a full replacement, still one transaction.
            }
        }
        // In place: only what changed, one batch. A full replacement if that is refused.
        if let transaction = lowering.transaction(
            from: try lowering.contents(for: old), to: try lowering.contents(for: program))
        {
            do {
                try apply(transaction)
                return Update(kind: .rewritten, changes: changes, operationCount: transaction.operations.count)
            } catch {}
        }
        let transaction = try lowering.replacement(for: program)
        try apply(transaction)
        return Update(kind: .replaced, changes: changes, operationCount: transaction.operations.count)
    }

    private func apply(_ transaction: NftablesTransaction) throws(PolicyError) {
        try kernel("apply \(transaction.operations.count) nftables operations") { () throws(NetlinkError) in
            try handle.apply(transaction)
        }
    }

    private func kernel<T>(_ what: String, _ body: () throws(NetlinkError) -> T) throws(PolicyError) -> T {
        do {
            return try body()
        } catch {
            throw PolicyError(.kernelRefused, "\(what) failed", underlying: "\(error)")
        }
    }
}

extension PolicyError.Code {
    /// The kernel refused or failed an nftables request of the enforcer.
    public static let kernelRefused = PolicyError.Code("kernel refused")
}
