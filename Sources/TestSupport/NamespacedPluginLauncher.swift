import CNISpec

/// CNISpec's `NamespacePluginLauncher` under the name the SDK's tests have used.
public typealias NamespacedPluginLauncher = NamespacePluginLauncher

/// The error a CNI runtime call threw (a non-CNI error as `.internal`), or nil when it succeeded.
public func cniError(_ body: () async throws -> Void) async -> CNIError? {
    do {
        try await body()
        return nil
    } catch let error as CNIError {
        return error
    } catch {
        return CNIError(.internal, "\(error)")
    }
}
