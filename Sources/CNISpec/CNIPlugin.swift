/// A CNI plugin: what it does for each command. Run it with ``PluginMain``.
///
/// ``PluginMain`` has validated the environment and negotiated the version before a method is
/// called; a method throws a ``CNIError`` to report a specific code, any other error is
/// reported with code 999.
public protocol CNIPlugin: Sendable {
    /// The specification versions this plugin accepts (default: all, 0.1.0 … 1.1.0).
    var supportedVersions: [CNIVersion] { get }
    /// One line for the usage text printed when CNI_COMMAND is missing.
    var about: String { get }

    /// ADD: set up the attachment and return the result (converted to the request's version
    /// by ``PluginMain``). With a `prevResult`, return it, changed where this plugin changed it.
    func add(_ request: PluginRequest) async throws -> CNIResult
    /// DEL: undo ADD; must succeed when things are already gone.
    func delete(_ request: PluginRequest) async throws
    /// CHECK (0.4.0+): fail when the attachment is not as `prevResult` says.
    func check(_ request: PluginRequest) async throws
    /// GC (1.1.0+): remove resources of attachments not in `cni.dev/valid-attachments`.
    func garbageCollect(_ request: PluginRequest) async throws
    /// STATUS (1.1.0+): fail with code 50 or 51 when ADD cannot be serviced.
    func status(_ request: PluginRequest) async throws
}

extension CNIPlugin {
    public var supportedVersions: [CNIVersion] { CNIVersion.all }
    public var about: String { "a CNI plugin built with swift-cni" }
    public func check(_ request: PluginRequest) async throws {}
    public func garbageCollect(_ request: PluginRequest) async throws {}
    public func status(_ request: PluginRequest) async throws {}
}

/// The VERSION answer: `{"cniVersion": "...", "supportedVersions": [...]}`.
public struct VersionInfo: Hashable, Sendable, Codable {
    public var cniVersion: String
    public var supportedVersions: [String]

    public init(cniVersion: String, supportedVersions: [String]) {
        self.cniVersion = cniVersion
        self.supportedVersions = supportedVersions
    }
}
