import PolicyAgent
import ServiceLifecycle

/// Network policy for this node's pods (PolicyAgent: policies, pods and labels from the store,
/// nftables table `inet swiftcni_policy`), run beside the BGP agent until shutdown.
struct PolicyEnforcementService: Service {
    let agent: PolicyAgent

    func run() async throws {
        try await cancelWhenGracefulShutdown { await agent.run() }
    }
}
