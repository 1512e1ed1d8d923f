/// A CNI specification version ("1.0.0"), ordered as semantic versions.
public struct CNIVersion: Hashable, Comparable, Sendable, CustomStringConvertible {
    public let major: Int
    public let minor: Int
    public let patch: Int

    public init(_ major: Int, _ minor: Int, _ patch: Int) {
        (self.major, self.minor, self.patch) = (major, minor, patch)
    }

    /// Parses "X.Y.Z" (also "X" and "X.Y", as the reference library does).
    public init(parsing text: String) throws(CNIError) {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard (1...3).contains(parts.count) else {
            throw CNIError(.decodingFailure, "invalid version \"\(text)\": must be X.Y.Z")
        }
        var numbers: [Int] = []
        for part in parts {
            guard !part.isEmpty, part.utf8.allSatisfy({ (0x30...0x39).contains($0) }), let number = Int(part) else {
                throw CNIError(.decodingFailure, "invalid version \"\(text)\": must be X.Y.Z")
            }
            numbers.append(number)
        }
        while numbers.count < 3 { numbers.append(0) }
        self.init(numbers[0], numbers[1], numbers[2])
    }

    public var description: String { "\(major).\(minor).\(patch)" }

    public static func < (lhs: CNIVersion, rhs: CNIVersion) -> Bool {
        (lhs.major, lhs.minor, lhs.patch) < (rhs.major, rhs.minor, rhs.patch)
    }

    public static let v0_1_0 = CNIVersion(0, 1, 0)
    public static let v0_2_0 = CNIVersion(0, 2, 0)
    public static let v0_3_0 = CNIVersion(0, 3, 0)
    public static let v0_3_1 = CNIVersion(0, 3, 1)
    public static let v0_4_0 = CNIVersion(0, 4, 0)
    public static let v1_0_0 = CNIVersion(1, 0, 0)
    public static let v1_1_0 = CNIVersion(1, 1, 0)

    /// Every released version of the specification, oldest first.
    public static let all: [CNIVersion] = [.v0_1_0, .v0_2_0, .v0_3_0, .v0_3_1, .v0_4_0, .v1_0_0, .v1_1_0]

    /// The newest version this SDK implements.
    public static let latest = v1_1_0

    /// The result layout used by this version.
    public var resultFamily: ResultFamily? {
        switch self {
        case .v0_1_0, .v0_2_0: .ip4ip6
        case .v0_3_0, .v0_3_1, .v0_4_0: .ipsWithVersion
        case .v1_0_0, .v1_1_0: .current
        default: nil
        }
    }

    /// Whether the CHECK command exists in this version (0.4.0 and later).
    public var supportsCheck: Bool { self >= .v0_4_0 }
    /// Whether the GC and STATUS commands exist in this version (1.1.0 and later).
    public var supportsGarbageCollectionAndStatus: Bool { self >= .v1_1_0 }

    /// The three result layouts of the specification's history.
    public enum ResultFamily: Hashable, Sendable {
        /// 0.1.0 and 0.2.0: `ip4` / `ip6` objects with their own routes.
        case ip4ip6
        /// 0.3.0, 0.3.1 and 0.4.0: `interfaces`, `ips` with `version`, `routes`.
        case ipsWithVersion
        /// 1.0.0 and 1.1.0: `ips` without `version`; interface `mtu`, `socketPath`, `pciID`; route extras.
        case current
    }
}

extension CNIVersion: Codable {
    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        self = try CNIVersion(parsing: text)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}

extension CNIVersion: ExpressibleByStringLiteral {
    /// For literals in code ("1.0.0"); traps on a malformed literal.
    public init(stringLiteral value: String) {
        do { self = try CNIVersion(parsing: value) } catch { preconditionFailure("\(error)") }
    }
}
