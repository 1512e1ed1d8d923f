import Foundation
import Lab

/// One data path `cnilab bench datapath` measures (`--modes`, a comma list of the raw values).
///
/// Each mode carries pod-to-pod traffic between a pod on node 0 and a pod on node 1 of a
/// two-node lab; the kernel and user-space references are built by hand on a reference lab
/// of the same size, so every mode crosses the same fabric.
public enum DatapathMode: String, CaseIterable, Sendable, Codable, CustomStringConvertible {
    /// flannel's agent and plugin (`--backend`).
    case flannel
    /// flannel's hand-built kernel baseline: VXLAN on 4789 at MTU 1450 (vxlan backend) or
    /// static routes (host-gw backend).
    case flannelBaseline = "flannel-baseline"
    /// swift-weaved with its kernel VXLAN fast path (UDP 6784).
    case weaveFast = "weave-fast"
    /// swift-weaved with UDP 6784 blocked between the two nodes: the plain sleeve.
    case weaveSleeve = "weave-sleeve"
    /// swift-weaved with a mesh secret, the nodes untrusted: the encrypted sleeve.
    case weaveEncrypted = "weave-encrypted"
    /// A kernel VXLAN on UDP 6784 built by hand: the fast path's reference.
    case vxlan
    /// wireguard-go (user space via TUN) between the two nodes.
    case wireguardGo = "wireguard-go"
    /// tinc 1.0 in router mode, encrypted (its default cipher and digest).
    case tinc

    public var description: String { rawValue }

    /// The lab the mode runs in: the modes built by hand share the reference lab.
    public var lab: DatapathLab {
        switch self {
        case .flannel: .flannel
        case .flannelBaseline, .vxlan, .wireguardGo, .tinc: .reference
        case .weaveFast: .weave
        case .weaveSleeve: .weaveBlocked
        case .weaveEncrypted: .weaveEncrypted
        }
    }

    /// The mode a mode's own row is compared with (nil: it is a reference itself).
    public var reference: DatapathMode? {
        switch self {
        case .flannel: .flannelBaseline
        case .weaveFast, .weaveSleeve: .vxlan
        case .weaveEncrypted: .wireguardGo
        case .flannelBaseline, .vxlan, .wireguardGo, .tinc: nil
        }
    }

    /// The ratios the issue names, each measured per round and reported as the median:
    /// fast path ÷ hand-built VXLAN, encrypted sleeve ÷ wireguard-go and ÷ tinc, plain sleeve
    /// ÷ wireguard-go (for scale), flannel ÷ its baseline.
    public static let ratios: [(DatapathMode, DatapathMode)] = [
        (.weaveFast, .vxlan), (.weaveEncrypted, .wireguardGo), (.weaveEncrypted, .tinc), (.weaveSleeve, .wireguardGo),
        (.flannel, .flannelBaseline),
    ]

    /// Parses a `--modes` list: comma-separated raw values, blanks around names ignored,
    /// duplicates dropped (first place kept); nil or empty means every mode.
    public static func parseList(_ list: String?) throws(LabError) -> [DatapathMode] {
        guard let list, !list.trimmingCharacters(in: .whitespaces).isEmpty else { return allCases }
        var modes: [DatapathMode] = []
        for word in list.split(separator: ",", omittingEmptySubsequences: false) {
            let name = word.trimmingCharacters(in: .whitespaces)
            guard let mode = DatapathMode(rawValue: name) else {
                let known = allCases.map(\.rawValue).joined(separator: ", ")
                throw LabError(.invalidArgument, "--modes: no mode '\(name)' (available: \(known))")
            }
            if !modes.contains(mode) { modes.append(mode) }
        }
        return modes
    }
}

/// The labs of one `cnilab bench datapath` run, each two nodes with a pod on each; named
/// `<lab><suffix>`.
public enum DatapathLab: String, CaseIterable, Sendable {
    case flannel, reference, weave, weaveBlocked, weaveEncrypted

    /// The lab name suffix (`dpo`, `dpr` as before; `dpw`, `dps`, `dpe` for the weave labs).
    public var suffix: String {
        switch self {
        case .flannel: "dpo"
        case .reference: "dpr"
        case .weave: "dpw"
        case .weaveBlocked: "dps"
        case .weaveEncrypted: "dpe"
        }
    }
}
