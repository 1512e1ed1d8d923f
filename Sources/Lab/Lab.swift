import CNISpec
import ChildProcess
import Foundation
import Namespaces
import NetPrimitives
import Netlink

/// A cluster of network namespaces on this machine: a fabric namespace with a bridge as the
/// underlay, nodes attached to it by veths, pods as namespaces on the nodes, each node's agent
/// running inside its node namespace, plugins run by the CNI runtime side inside the node.
///
/// A `Lab` holds the lab's lock (`<state>/lock`) for as long as it lives, so two commands at
/// once never interleave; drop it to let the next one in. Its state lives in the state
/// directory, written before each creation, so ``down(name:stateDirectory:)`` removes
/// everything even after a crash.
public actor Lab {
    public nonisolated let name: String
    public nonisolated let stateDirectory: String
    var state: LabState
    /// The plugin side of the lab (decoded from `state.plugin` by ``open(name:stateDirectory:profiles:)``).
    public nonisolated let profile: any LabProfile
    var executableDirectories: [String]
    let lock: LabLock

    var statePath: String { stateDirectory + "/state.json" }
    nonisolated var prefix: String { LabNames.prefix(lab: name) }

    init(
        name: String, stateDirectory: String, state: LabState, profile: any LabProfile, executableDirectories: [String], lock: LabLock
    ) {
        self.name = name
        self.stateDirectory = stateDirectory
        self.state = state
        self.profile = profile
        self.executableDirectories = executableDirectories
        self.lock = lock
    }

    /// Creates the lab: fabric, store, nodes (and their agents). On failure the partial lab
    /// is removed again.
    public static func up(_ configuration: LabConfiguration) async throws -> Lab {
        try LabNames.validateLab(configuration.name)
        guard (1...LabAddressing.maximumNodes).contains(configuration.nodeCount) else {
            throw LabError(.invalidArgument, "a lab has 1–\(LabAddressing.maximumNodes) nodes, not \(configuration.nodeCount)")
        }
        guard (1...LabAddressing.maximumUnderlaySubnets).contains(configuration.underlaySubnets) else {
            throw LabError(
                .invalidArgument, "a lab has 1–\(LabAddressing.maximumUnderlaySubnets) underlay subnets, not \(configuration.underlaySubnets)")
        }
        try configuration.profile.validate()
        if configuration.etcdTLS, configuration.store != .etcd {
            throw LabError(.invalidArgument, "--etcd-tls needs --store etcd")
        }
        let directory = configuration.stateDirectory
        try makeDirectory(directory)
        let lock = try LabLock(path: directory + "/lock")
        if FileManager.default.fileExists(atPath: directory + "/state.json")
            || NetworkNamespace.exists(name: LabNames.fabric(lab: configuration.name))
        {
            throw LabError(.alreadyExists, "lab '\(configuration.name)' exists; remove it with `cnilab down --lab \(configuration.name)`")
        }
        let storeURL =
            switch configuration.store {
            case .file: "file:" + directory + "/store"
            case .etcd: "etcd:" + (configuration.etcdTLS ? LabAddressing.etcdTLSClientURL : LabAddressing.etcdClientURL)
            }
        var state = LabState(lab: configuration.name, plugin: try LabProfileRecord(configuration.profile), store: storeURL)
        if configuration.underlaySubnets > 1 { state.underlaySubnets = configuration.underlaySubnets }
        if configuration.ipFamily != .ipv4 { state.ipFamily = configuration.ipFamily }
        let lab = Lab(
            name: configuration.name, stateDirectory: directory, state: state, profile: configuration.profile,
            executableDirectories: configuration.executableDirectories, lock: lock)
        do {
            try await lab.createFabric(store: configuration.store, kubernetes: configuration.kubernetes)
            configuration.progress?("fabric \(LabNames.fabric(lab: configuration.name)) ready (store \(storeURL))")
            for index in 0..<configuration.nodeCount {
                let node = try await lab.addNode(index: index)
                configuration.progress?("node \(index) up: \(node.networkNamespace), subnet \(node.subnet ?? "-"), agent \(node.agent.rawValue)")
            }
        } catch {
            configuration.progress?("failed: \(error); removing the partial lab")
            try? await lab.removeEverything()
            throw error
        }
        return lab
    }

    /// Opens an existing lab (taking its lock). `profiles` are the profile types this program
    /// knows: the lab's recorded profile is decoded with the one of its ``LabProfile/kind``
    /// (`notAvailable` when none is).
    public static func open(name: String = "default", stateDirectory: String? = nil, profiles: [any LabProfile.Type]) throws -> Lab {
        try LabNames.validateLab(name)
        let directory = stateDirectory ?? LabConfiguration.defaultStateDirectory(lab: name)
        guard FileManager.default.fileExists(atPath: directory + "/state.json") else {
            throw LabError(.notFound, "no lab '\(name)' (no \(directory)/state.json); create it with `cnilab up`")
        }
        let lock = try LabLock(path: directory + "/lock")
        let state = try LabState.load(from: directory + "/state.json")
        let profile = try state.plugin.decode(among: profiles)
        let directories = (try? String(contentsOfFile: directory + "/bin-dirs", encoding: .utf8))?
            .split(separator: "\n").map(String.init) ?? LabConfiguration.defaultExecutableDirectories
        return Lab(
            name: name, stateDirectory: directory, state: state, profile: profile, executableDirectories: directories, lock: lock)
    }

    func save() throws { try state.save(to: statePath) }

    /// Records a namespace in the state before it is created.
    func recordNamespace(_ namespace: String) throws {
        if !state.namespaces.contains(namespace) { state.namespaces.append(namespace) }
        try save()
    }

    func recordProcess(_ process: ProcessRecord) throws {
        state.processes.append(process)
        try save()
    }

    func forgetProcess(_ process: ProcessRecord?) {
        guard let process else { return }
        state.processes.removeAll { $0.pid == process.pid }
    }

    // MARK: - Fabric

    private func createFabric(store: LabStoreKind, kubernetes: Bool) async throws {
        try Self.writeText(executableDirectories.joined(separator: "\n"), to: stateDirectory + "/bin-dirs")
        try save()
        let fabricName = LabNames.fabric(lab: name)
        try recordNamespace(fabricName)
        let fabric = try Self.createNamespace(fabricName)
        try Self.kernel("fabric bridge") {
            let netlink = try NetlinkHandle(namespace: fabric)
            try netlink.addLink(.bridge("br0"))
            try netlink.addAddress(
                Address(try IPNetwork(parsing: "\(LabAddressing.fabricAddress)/\(LabAddressing.underlayPrefixLength)")),
                device: "br0")
            if ipFamily.hasIPv6 {
                try netlink.addAddress(Self.underlayIPv6Interface(LabAddressing.fabricIPv6Address), device: "br0")
            }
            try netlink.setLinkUp("br0")
        }
        if underlaySubnets > 1 { try createRouter() }
        if store == .etcd { try await startEtcd(in: fabric) }
        if kubernetes { try await startKubernetes(in: fabric) }
        try await profile.prepare(profileContext)
    }

    static func createNamespace(_ name: String) throws -> NetworkNamespace {
        do { return try NetworkNamespace.create(name: name) } catch {
            throw LabError(.kernel, "cannot create namespace \(name)", underlying: error)
        }
    }

    static func openNamespace(_ name: String) throws -> NetworkNamespace {
        do { return try NetworkNamespace.open(name: name) } catch {
            throw LabError(.notFound, "namespace \(name) is gone; remove the lab with `cnilab down`", underlying: error)
        }
    }

    static func kernel<T>(_ what: String, _ body: () throws -> T) throws -> T {
        do { return try body() } catch let error as LabError { throw error } catch {
            throw LabError(.kernel, "\(what) failed", underlying: error)
        }
    }

    static func makeDirectory(_ path: String) throws {
        do { try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true) } catch {
            throw LabError(.state, "cannot create \(path)", underlying: error)
        }
    }

    static func writeText(_ text: String, to path: String) throws {
        do { try Data(text.utf8).write(to: URL(fileURLWithPath: path)) } catch {
            throw LabError(.state, "cannot write \(path)", underlying: error)
        }
    }

    func findExecutable(_ name: String) throws -> String {
        if name.hasPrefix("/") {
            guard access(name, X_OK) == 0 else { throw LabError(.missingExecutable, "\(name) is not executable") }
            return name
        }
        guard let path = ChildProcess.find(name, in: executableDirectories) else {
            throw LabError(
                .missingExecutable,
                "\(name) not found in \(executableDirectories.joined(separator: ":")); build it (`swift build`) or set CNILAB_BIN_DIR")
        }
        return path
    }
}
