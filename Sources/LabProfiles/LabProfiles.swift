import Lab

/// The project's lab profiles: the plugins of Examples/ as `LabProfile`s, and the
/// reference plugins. `cnilab` knows these; a program that defines its own profile passes its
/// type beside them to `Lab.open(name:stateDirectory:profiles:)`.
public enum LabProfiles {
    /// Every profile type of this library (what `cnilab` opens labs with).
    public static let all: [any LabProfile.Type] = [
        ReferenceProfile.self, FlannelProfile.self, CalicoProfile.self, CanalProfile.self, WeaveProfile.self,
    ]

    /// The pod network of every profile here (flannel's `Network`, calico's pool).
    public static let clusterNetwork = "10.244.0.0/16"

    /// The reference profile's subnet of node I: 10.244.(I+1).0/24.
    public static func referenceSubnet(node index: Int) -> String { "10.244.\(index + 1).0/24" }
}

extension LabProfile where Self == ReferenceProfile {
    /// The reference `bridge` + `host-local` plugins (see ``ReferenceProfile``).
    public static func reference(agent: AgentCommand?) -> ReferenceProfile { ReferenceProfile(agent: agent) }
}

extension LabProfile where Self == FlannelProfile {
    /// `swift-flanneld` and `swift-flannel` (see ``FlannelProfile``).
    public static func flannel(backend: FlannelBackend) -> FlannelProfile { FlannelProfile(backend: backend) }
}

extension LabProfile where Self == CalicoProfile {
    /// `swift-calico-node` and `swift-calico` (see ``CalicoProfile``).
    public static func calico(_ settings: CalicoSettings) -> CalicoProfile { CalicoProfile(settings) }
}

extension LabProfile where Self == CanalProfile {
    /// `swift-canald` and `swift-canal` (see ``CanalProfile``).
    public static var canal: CanalProfile { CanalProfile() }
}
