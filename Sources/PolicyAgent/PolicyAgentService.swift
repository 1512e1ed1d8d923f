import ServiceLifecycle

/// A ``PolicyAgent`` as a ServiceLifecycle `Service`: runs it until the service group shuts
/// down gracefully (or the task is cancelled). The agents (swift-calico-node, swift-canald)
/// put it in their `ServiceGroup` beside their other services.
///
/// ```swift
/// let group = ServiceGroup(configuration: .init(
///     services: [.init(service: PolicyAgentService(agent))], gracefulShutdownSignals: [.sigterm], logger: logger))
/// try await group.run()
/// ```
public struct PolicyAgentService: Service {
    public let agent: PolicyAgent

    public init(_ agent: PolicyAgent) {
        self.agent = agent
    }

    public func run() async throws {
        try await cancelWhenGracefulShutdown { await agent.run() }
    }
}
