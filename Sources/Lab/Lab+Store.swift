import ChildProcess
import Datastore
import Foundation
import Namespaces

/// The lab's cluster store: the embedded file store in the state directory, or a real etcd
/// inside the fabric namespace (reached by the agents over the underlay, and by the lab through
/// `etcdctl` run inside the fabric namespace: the lab's own process is not on the underlay).
extension Lab {
    func startEtcd(in fabric: NetworkNamespace) async throws {
        let directory = stateDirectory + "/etcd"
        try Self.makeDirectory(directory)
        let executable = try findExecutable("/usr/bin/etcd")
        var arguments = [
            "--name", "cnilab-\(name)", "--data-dir", directory + "/data",
            "--listen-client-urls", etcdURL, "--advertise-client-urls", etcdURL,
            "--listen-peer-urls", "http://127.0.0.1:2380", "--initial-advertise-peer-urls", "http://127.0.0.1:2380",
            "--initial-cluster", "cnilab-\(name)=http://127.0.0.1:2380",
        ]
        if let pki = etcdCertificates {
            // Client-certificate authentication only: the one client listener is https.
            try Self.makeDirectory(pki.directory)
            _ = try EtcdCertificates.generate(in: pki.directory, serverAddresses: [LabAddressing.fabricAddress])
            arguments += [
                "--cert-file", pki.serverCertificateFile, "--key-file", pki.serverKeyFile,
                "--trusted-ca-file", pki.caFile, "--client-cert-auth",
            ]
        }
        let record = try ProcessSupervisor.launch(
            role: "etcd", executable: executable,
            arguments: arguments,
            in: fabric, namespaceName: LabNames.fabric(lab: name), log: directory + "/etcd.log")
        try recordProcess(record)
        for _ in 0..<100 {
            if let output = try? etcdctl(["endpoint", "health"]), output.status.isSuccess { return }
            guard ProcessSupervisor.isRunning(record) else { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw LabError(.process, "etcd did not become healthy; see \(directory)/etcd.log")
    }

    func etcdctl(_ arguments: [String], input: String = "") throws -> ChildProcess.Output {
        let fabric = try Self.openNamespace(LabNames.fabric(lab: name))
        return try fabric.runProcess(
            "/usr/bin/etcdctl", arguments: ["--endpoints", etcdURL, "--dial-timeout", "2s"] + etcdctlSecurity + arguments,
            environment: ["ETCDCTL_API": "3", "PATH": "/usr/bin:/bin"], standardInput: Array(input.utf8),
            timeoutMilliseconds: 10_000)
    }

    var usesEtcd: Bool { state.store.hasPrefix("etcd:") }

    /// The lab etcd's client URL (https with `--etcd-tls`).
    var etcdURL: String { state.store.hasPrefix("etcd:https:") ? LabAddressing.etcdTLSClientURL : LabAddressing.etcdClientURL }

    /// The PKI of an etcd that requires client certificates, in `<state>/etcd/pki`.
    public var etcdCertificates: EtcdCertificates? { Self.etcdCertificates(store: state.store, stateDirectory: stateDirectory) }

    nonisolated static func etcdCertificates(store: String, stateDirectory: String) -> EtcdCertificates? {
        store.hasPrefix("etcd:https:") ? EtcdCertificates(directory: stateDirectory + "/etcd/pki") : nil
    }

    private var etcdctlSecurity: [String] {
        guard let pki = etcdCertificates else { return [] }
        return ["--cacert", pki.caFile, "--cert", pki.clientCertificateFile, "--key", pki.clientKeyFile]
    }

    /// Releases every record of node `name` from the lab's store with IPAM's `NodeCleanup`,
    /// the call a real controller makes: `datastore-tool STORE remove-node NAME`, run in the
    /// fabric namespace (where the lab's etcd is reachable). Returns its JSON report.
    @discardableResult
    func releaseNodeRecords(_ node: String) throws -> String {
        let executable = try findExecutable("datastore-tool")
        let fabric = try Self.openNamespace(LabNames.fabric(lab: name))
        let output = try fabric.runProcess(
            executable, arguments: [state.store] + profileContext.storeArguments + ["remove-node", node],
            environment: ["PATH": "/usr/bin:/bin"], timeoutMilliseconds: 30_000)
        guard output.status.isSuccess else {
            throw LabError(.state, "datastore-tool remove-node \(node) failed: \(output.standardErrorText)")
        }
        return output.standardOutputText
    }

    func storePut(_ key: String, _ value: String) async throws {
        _ = try await storePutReturningRevision(key, value)
    }

    /// Writes `key` and returns the store revision of the write.
    func storePutReturningRevision(_ key: String, _ value: String) async throws -> Int64 {
        if usesEtcd {
            let output = try etcdctl(["put", key, value, "-w", "json"])
            let object = try? JSONSerialization.jsonObject(with: Data(output.standardOutput)) as? [String: Any]
            guard output.status.isSuccess, let header = object?["header"] as? [String: Any],
                let revision = (header["revision"] as? NSNumber)?.int64Value
            else { throw LabError(.state, "etcdctl put \(key) failed: \(output.standardErrorText)") }
            return revision
        }
        return try await FileStoreAccess.put(key, value, store: state.store)
    }

    func storeDelete(_ key: String) async throws {
        if usesEtcd {
            let output = try etcdctl(["del", key])
            guard output.status.isSuccess else {
                throw LabError(.state, "etcdctl del \(key) failed: \(output.standardErrorText)")
            }
        } else {
            try await FileStoreAccess.delete(key, store: state.store)
        }
    }
}

/// The file store through the Datastore library (one short-lived handle per change).
enum FileStoreAccess {
    /// Writes `key`; returns the store revision of the write.
    @discardableResult
    static func put(_ key: String, _ value: String, store: String) async throws -> Int64 {
        let datastore = try open(store)
        let revision: Int64
        do { revision = try await datastore.put(key, value: Array(value.utf8)) } catch {
            await datastore.close()
            throw LabError(.state, "cannot write \(key) to \(store)", underlying: error)
        }
        await datastore.close()
        return revision
    }

    static func delete(_ key: String, store: String) async throws {
        let datastore = try open(store)
        do { try await datastore.delete(key) } catch {
            await datastore.close()
            throw LabError(.state, "cannot delete \(key) from \(store)", underlying: error)
        }
        await datastore.close()
    }

    static func open(_ store: String) throws -> any Datastore {
        do { return try StoreLocation.open(store) } catch {
            throw LabError(.state, "cannot open the store \(store)", underlying: error)
        }
    }
}
