import CNISpec
import ChildProcess
import Namespaces
import Testing

/// The checks every plugin's CNI conformance suite makes the same way, written once: each
/// plugin's suite (swift-flannel, swift-calico, swift-ptp, …) builds its node and pod
/// namespaces and its configuration, then hands them here. Plugin-specific checks (addresses,
/// routes, host interfaces, IPAM modes) stay in the plugin's suite.
public enum CNIConformanceBattery {
    /// VERSION lists every spec version the project speaks.
    public static func versionAnswersEverySpecVersion(_ runtime: CNIRuntime, plugin: String) async throws {
        let info = try await runtime.version(ofPlugin: plugin)
        #expect(info.supportedVersions == CNIVersion.all.map(\.description), "\(plugin)")
    }

    /// The raw protocol's malformed requests, each answered with the spec's error JSON and
    /// exit status 1: a configuration that is not JSON (decoding failure), an unknown
    /// `cniVersion` (incompatible version), and a pod namespace that does not exist (an error
    /// naming the netns). `configuration` is a valid single-plugin configuration with `name`;
    /// `run` runs the plugin by hand (``NetworkNamespace/runPluginRaw(_:command:configuration:podNamespace:containerID:interfaceName:pluginPath:extraEnvironment:timeoutMilliseconds:)``)
    /// with the text on standard input and, when `pod` is true, the pod's namespace.
    public static func malformedRequestsGetSpecErrors(
        configuration: [String: JSONValue], run: (_ stdin: String, _ pod: Bool) throws -> ChildProcess.Output
    ) throws {
        let garbage = try run("{not json", true)
        #expect(garbage.status == .exited(1))
        #expect(try CNIJSON.decode(CNIError.self, from: garbage.standardOutput).code == .decodingFailure)

        var config = configuration
        config["cniVersion"] = "9.9.9"
        let badVersion = try run(try text(config), true)
        #expect(badVersion.status == .exited(1))
        #expect(try CNIJSON.decode(CNIError.self, from: badVersion.standardOutput).code == .incompatibleVersion)

        config["cniVersion"] = "1.0.0"
        let noNamespace = try run(try text(config), false)
        #expect(noNamespace.status == .exited(1))
        #expect(try CNIJSON.decode(CNIError.self, from: noNamespace.standardOutput).message.contains("netns"))
    }

    /// ADD whose interface name is already taken in the pod fails saying so and rolls back:
    /// `released` (the plugin's IPAM has no reservation left, no host interface remains) holds
    /// afterwards.
    public static func interfaceClashRollsBack(
        _ runtime: CNIRuntime, _ list: NetworkConfigurationList, _ attachment: RuntimeAttachment, pod: NetworkNamespace,
        released: () throws -> Bool
    ) async throws {
        try pod.ip(["link", "add", attachment.interfaceName.value, "type", "veth", "peer", "name", "swcniclash0"])
        let clash = await cniError { _ = try await runtime.add(list, attachment) }
        #expect(clash?.message.contains("already exists") == true, "\(String(describing: clash))")
        #expect(try released())
    }

    /// ADD, then the pod's namespace disappears (the runtime deleted it first): DEL succeeds,
    /// twice, and leaves nothing (`released`: no reservation, no host interface).
    public static func deleteAfterThePodNamespaceIsGone(
        _ runtime: CNIRuntime, _ list: NetworkConfigurationList, _ attachment: RuntimeAttachment, pod: NetworkNamespace,
        released: () throws -> Bool
    ) async throws {
        _ = try await runtime.add(list, attachment)
        try NetworkNamespace.delete(name: try #require(pod.name))
        try await runtime.delete(list, attachment)
        try await runtime.delete(list, attachment)
        #expect(try released())
    }

    /// CHECK passes after ADD, and fails naming the address once `address` (with its prefix, as
    /// the plugin reported it) is removed from the pod's interface.
    public static func checkDetectsARemovedAddress(
        _ runtime: CNIRuntime, _ list: NetworkConfigurationList, _ attachment: RuntimeAttachment, pod: NetworkNamespace,
        address: String
    ) async throws {
        _ = try await runtime.add(list, attachment)
        try await runtime.check(list, attachment)
        let interface = attachment.interfaceName.value
        _ = try pod.ip(["addr", "del", address, "dev", interface])
        let error = await cniError { try await runtime.check(list, attachment) }
        #expect(error?.message.contains("address \(address) not found on \(interface)") == true, "\(String(describing: error))")
        try await runtime.delete(list, attachment)
    }

    private static func text(_ object: [String: JSONValue]) throws -> String {
        String(decoding: try CNIJSON.encode(JSONValue.object(object)), as: UTF8.self)
    }
}
