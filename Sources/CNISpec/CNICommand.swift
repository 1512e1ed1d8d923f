/// The operation a plugin is asked to perform (`CNI_COMMAND`).
public enum CNICommand: String, Hashable, Sendable, CaseIterable {
    case add = "ADD"
    case delete = "DEL"
    case check = "CHECK"
    /// `GC` (1.1.0): remove resources of attachments not in `cni.dev/valid-attachments`.
    case garbageCollect = "GC"
    /// `STATUS` (1.1.0): whether the plugin can service ADD.
    case status = "STATUS"
    case version = "VERSION"

    /// The environment variables this command requires, as the reference skeleton checks them.
    var requiredVariables: [String] {
        switch self {
        case .add, .check: ["CNI_COMMAND", "CNI_CONTAINERID", "CNI_NETNS", "CNI_IFNAME", "CNI_PATH"]
        case .delete: ["CNI_COMMAND", "CNI_CONTAINERID", "CNI_IFNAME", "CNI_PATH"]
        case .garbageCollect, .status: ["CNI_COMMAND", "CNI_PATH"]
        case .version: ["CNI_COMMAND"]
        }
    }

    /// The first specification version that defines this command.
    public var introducedIn: CNIVersion {
        switch self {
        case .add, .delete, .version: .v0_1_0
        case .check: .v0_4_0
        case .garbageCollect, .status: .v1_1_0
        }
    }
}
