#if canImport(Glibc)
import Glibc
#endif
import Datastore
import Foundation
import Kubernetes
import Namespaces

/// `cnilab up --kube`: the fixture API server (`cnilab-apiserver`) and `swift-kube-sync` run in
/// the fabric namespace, on the lab's store; the lab's pods, labels and Kubernetes policies go
/// through the API and reach the store (and the agents) through the sync, as in a cluster.
/// The lab's own process is not on the underlay: its client connects from a thread inside the
/// fabric namespace (``Kubernetes/ClientConfiguration/socketConnector``).
extension Lab {
    /// Whether the lab runs the API server and the sync (`cnilab up --kube`).
    public var usesKubernetes: Bool { state.kubernetes != nil }

    /// The API server's URL, reachable inside the fabric namespace and from every node.
    public static let kubernetesServer = "http://\(LabAddressing.fabricAddress):\(LabAddressing.apiServerPort)"

    nonisolated var kubeconfigPath: String { stateDirectory + "/kubeconfig" }
    nonisolated var kubeSyncStatusPath: String { stateDirectory + "/kube-sync/status.json" }

    /// A kubeconfig naming the lab's API server (no credentials: the fixture asks for none).
    /// Use it inside the fabric namespace: `ip netns exec cnilab-<lab>-fabric kubectl --kubeconfig F get pods -A`.
    public func kubeconfig() throws -> String {
        guard usesKubernetes else { throw LabError(.notAvailable, "lab '\(name)' runs no API server; create it with `cnilab up --kube`") }
        return Self.kubeconfigText(lab: name)
    }

    static func kubeconfigText(lab: String) -> String {
        """
        apiVersion: v1
        kind: Config
        clusters:
        - name: cnilab-\(lab)
          cluster:
            server: \(kubernetesServer)
        users:
        - name: cnilab
          user: {}
        contexts:
        - name: cnilab-\(lab)
          context:
            cluster: cnilab-\(lab)
            user: cnilab
            namespace: default
        current-context: cnilab-\(lab)

        """
    }

    // MARK: Starting

    /// Starts the API server and the sync in the fabric namespace and waits until the sync has
    /// mirrored the (empty) cluster once.
    func startKubernetes(in fabric: NetworkNamespace) async throws {
        let directory = stateDirectory + "/kube-sync"
        try Self.makeDirectory(directory)
        let fabricName = LabNames.fabric(lab: name)
        let apiServer = try ProcessSupervisor.launch(
            role: "apiserver", executable: try findExecutable("cnilab-apiserver"),
            // A bookmark every 100 ms on watches that allow them (a test-only cadence; the real
            // server sends one before the watch's timeout): `waitForKubeSync` sees each informer
            // reach the version of an API change made to another resource through them.
            arguments: [
                "--store", state.store, "--host", LabAddressing.fabricAddress, "--port", "\(LabAddressing.apiServerPort)",
                "--bookmark-interval-milliseconds", "100",
            ],
            in: fabric, namespaceName: fabricName, log: directory + "/apiserver.log")
        try recordProcess(apiServer)
        try Self.writeText(Self.kubeconfigText(lab: name), to: kubeconfigPath)
        let client = try kubernetesClient()
        var answered = false
        for _ in 0..<200 {
            if (try? await client.list(Kubernetes.Namespace.self)) != nil { answered = true; break }
            guard ProcessSupervisor.isRunning(apiServer) else { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        guard answered else {
            throw LabError(.process, "cnilab-apiserver does not answer; see \(apiServer.log)\(Self.logTail(apiServer.log))")
        }
        let sync = try ProcessSupervisor.launch(
            role: "kube-sync", executable: try findExecutable("swift-kube-sync"),
            arguments: [
                "--kubeconfig", kubeconfigPath, "--store", state.store, "--status-file", kubeSyncStatusPath,
                "--marker-interval-milliseconds", "100",
            ],
            in: fabric, namespaceName: fabricName, log: directory + "/kube-sync.log")
        try recordProcess(sync)
        state.kubernetes = LabState.KubernetesRecord(server: Self.kubernetesServer, kubeconfig: kubeconfigPath)
        try save()
        try await waitForKubeSync(timeout: .seconds(60))
    }

    /// A client of the lab's API server, connecting from inside the fabric namespace.
    public nonisolated func kubernetesClient() throws -> KubernetesClient {
        let fabricName = LabNames.fabric(lab: name)
        var configuration = try ClientConfiguration(server: Self.kubernetesServer, requestTimeout: .seconds(15))
        let port = UInt16(LabAddressing.apiServerPort)
        let address = LabAddressing.fabricAddress
        configuration.socketConnector = {
            let fabric = try NetworkNamespace.open(name: fabricName)
            return try await fabric.run { try Self.connectedSocket(to: address, port: port) }
        }
        do { return try KubernetesClient(configuration: configuration) } catch {
            throw LabError(.state, "cannot make a client of \(Self.kubernetesServer)", underlying: error)
        }
    }

    /// A TCP socket connected to `address:port` from the calling thread's namespace.
    nonisolated static func connectedSocket(to address: String, port: UInt16) throws -> Int32 {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard descriptor >= 0 else { throw LabError(.kernel, "socket() failed (errno \(errno))") }
        var target = sockaddr_in()
        target.sin_family = sa_family_t(AF_INET)
        target.sin_port = port.bigEndian
        target.sin_addr.s_addr = inet_addr(address)
        let result = withUnsafePointer(to: &target) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard result == 0 else {
            let code = errno
            close(descriptor)
            throw LabError(.process, "cannot connect to \(address):\(port) in the fabric namespace (errno \(code))")
        }
        return descriptor
    }

    // MARK: Waiting for the sync

    /// Waits until swift-kube-sync has mirrored every API change made before the call. The
    /// lab's store also holds the agents' and the sync's own keys, so a list's version (the
    /// store's revision) may lie beyond any API change; instead the lab makes one more API
    /// change (an annotation of namespace `default`) and waits until every resource's informer
    /// has reached its version (by the event, or by a bookmark).
    @discardableResult
    public func waitForKubeSync(timeout: Duration = .seconds(10)) async throws -> Duration {
        let clock = ContinuousClock()
        let start = clock.now
        let client = try kubernetesClient()
        let patch: JSONValue = ["metadata": ["annotations": ["cnilab.swiftcni.io/sync": .string("\(Date().timeIntervalSince1970)")]]]
        let current = try await apiCall("annotate namespace default") {
            try await client.patch(Kubernetes.Namespace.self, name: "default", patch: patch).resourceVersion ?? ""
        }
        let resources = ["nodes", "pods", "namespaces", "networkpolicies"]
        while true {
            if let status = Self.readSyncStatus(kubeSyncStatusPath), status.synced,
                resources.allSatisfy({ (status.resourceVersions[$0].flatMap { Int64($0) } ?? -1) >= (Int64(current) ?? .max) })
            {
                return clock.now - start
            }
            if clock.now - start > timeout {
                throw LabError(
                    .timedOut,
                    "swift-kube-sync did not mirror resource version \(current) within \(timeout); see \(stateDirectory)/kube-sync/kube-sync.log")
            }
            try await Task.sleep(for: .milliseconds(10))
        }
    }

    /// The sync's status file (KubeSync's `KubeSyncStatus` JSON; only the fields read here).
    struct SyncStatusFile: Decodable {
        var synced: Bool
        var resourceVersions: [String: String]
    }

    static func readSyncStatus(_ path: String) -> SyncStatusFile? {
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        return try? JSONDecoder().decode(SyncStatusFile.self, from: data)
    }

    /// Runs one API call, its failure as a ``LabError``.
    func apiCall<T>(_ what: String, _ body: () async throws -> T) async throws -> T {
        do { return try await body() } catch let error as LabError { throw error } catch {
            throw LabError(.state, "the lab's API server refused to \(what)", underlying: error)
        }
    }
}
