import CNISpec
import IPAM
import NetPrimitives

/// swift-ipam as a ``CNIPlugin``: decodes the configuration, runs ``SwiftIPAM`` and turns its
/// allocation into a CNI result (``PluginMain`` converts it to the requested version).
struct SwiftIPAMPlugin: CNIPlugin {
    var about: String { "swift-ipam: host-local compatible, subnet-lease and block-affinity IPAM" }

    func ipam(_ request: PluginRequest) throws(CNIError) -> SwiftIPAM {
        let configuration: IPAMNetworkConfiguration
        do { configuration = try IPAMNetworkConfiguration.decode(request.configurationBytes) } catch {
            throw CNIError(.decodingFailure, "failed to decode the network configuration", details: "\(error)")
        }
        return SwiftIPAM(
            configuration: configuration, containerID: request.containerID,
            interfaceName: request.interfaceName?.description ?? "", cniArguments: request.arguments.description)
    }

    /// Maps IPAM failures to CNI error codes (IPAM's one table).
    func mapped<T>(_ body: () async throws -> T) async throws(CNIError) -> T {
        do { return try await body() } catch { throw CNIError.fromIPAM(error) }
    }

    func add(_ request: PluginRequest) async throws -> CNIResult {
        let ipam = try ipam(request)
        let allocation = try await mapped { try await ipam.add() }
        return CNIResult(allocation, cniVersion: request.version)
    }

    func delete(_ request: PluginRequest) async throws {
        let ipam = try ipam(request)
        try await mapped { try await ipam.delete() }
    }

    func check(_ request: PluginRequest) async throws {
        let ipam = try ipam(request)
        try await mapped { try await ipam.check() }
    }

    func garbageCollect(_ request: PluginRequest) async throws {
        let ipam = try ipam(request)
        try await mapped { try await ipam.garbageCollect() }
    }

    func status(_ request: PluginRequest) async throws {
        let ipam = try ipam(request)
        do { try await ipam.status() } catch {
            throw CNIError(.pluginNotAvailable, "the datastore does not answer", details: "\(error)")
        }
    }
}
