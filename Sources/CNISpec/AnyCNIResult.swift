/// A result of any specification version, decoded with the layout its version uses.
///
/// ```swift
/// let result = try AnyCNIResult(decoding: bytes, assumingVersion: "0.4.0")
/// let old = try result.converted(to: "0.2.0")      // ip4/ip6, as the runtime asked
/// let model = try result.current()                 // CNIResult, 1.1.0 layout
/// ```
public enum AnyCNIResult: Hashable, Sendable {
    case ip4ip6(CNIResult020)
    case ipsWithVersion(CNIResult040)
    case current(CNIResult)

    public var version: CNIVersion {
        switch self {
        case .ip4ip6(let result): result.cniVersion
        case .ipsWithVersion(let result): result.cniVersion
        case .current(let result): result.cniVersion
        }
    }

    /// Decodes a result document. Its own `cniVersion` decides the layout; when it has none
    /// (delegated IPAM plugins may omit it), `assumingVersion` does, as the reference library
    /// fixes up such results with the configuration's version.
    public init(decoding bytes: some Collection<UInt8>, assumingVersion: CNIVersion? = nil) throws(CNIError) {
        let probe = try CNIJSON.decode(VersionProbe.self, from: bytes)
        let version: CNIVersion
        if let text = probe.cniVersion, !text.isEmpty {
            version = try CNIVersion(parsing: text)
        } else if let assumingVersion {
            version = assumingVersion
        } else {
            version = .v0_1_0
        }
        guard let family = version.resultFamily else {
            throw CNIError(.incompatibleVersion, "unsupported result version \"\(version)\"")
        }
        switch family {
        case .ip4ip6:
            var result = try CNIJSON.decode(CNIResult020.self, from: bytes)
            result.cniVersion = version
            self = .ip4ip6(result)
        case .ipsWithVersion:
            var result = try CNIJSON.decode(CNIResult040.self, from: bytes)
            result.cniVersion = version
            self = .ipsWithVersion(result)
        case .current:
            var result = try CNIJSON.decode(CNIResult.self, from: bytes)
            result.cniVersion = version
            self = .current(result)
        }
    }

    /// Decodes a result held as a JSON value (a configuration's `prevResult`).
    public init(_ value: JSONValue, assumingVersion: CNIVersion? = nil) throws(CNIError) {
        try self.init(decoding: CNIJSON.encode(value), assumingVersion: assumingVersion)
    }

    /// The JSON document, in this result's own layout.
    public func encoded() throws(CNIError) -> [UInt8] {
        switch self {
        case .ip4ip6(let result): try CNIJSON.encode(result)
        case .ipsWithVersion(let result): try CNIJSON.encode(result)
        case .current(let result): try CNIJSON.encode(result)
        }
    }

    /// The result as a JSON value (to place as `prevResult`).
    public func jsonValue() throws(CNIError) -> JSONValue {
        try CNIJSON.decode(JSONValue.self, from: encoded())
    }

    /// This result in the 1.x layout, with version 1.1.0 unless it already is a 1.x result.
    public func current() throws(CNIError) -> CNIResult {
        if case .current(let result) = self { return result }
        guard case .current(let result) = try converted(to: .latest) else {
            preconditionFailure("conversion to 1.1.0 yields a 1.x result")
        }
        return result
    }

    /// Converts to `version` exactly as the reference library's converters do
    /// (containernetworking/cni pkg/types/020, 040, 100):
    /// - 0.1.0 ↔ 0.2.0: copied.
    /// - 0.1/0.2 → 0.3.x/0.4.0: `ip4` then `ip6` become `ips` with `version`; their routes are
    ///   concatenated into `routes`; no interfaces.
    /// - 0.3.x/0.4.0 ↔ each other, 1.0.0 ↔ 1.1.0: copied.
    /// - 0.3.x/0.4.0 → 0.1/0.2: the first IPv4 and the first IPv6 entry; each route goes (dst
    ///   and gw only) to the family of its destination if that family has an address; fails
    ///   when there is no address at all.
    /// - 0.3.x/0.4.0 → 1.x: `version` dropped from `ips`.
    /// - 1.x → 0.3.x/0.4.0: interface `mtu`/`socketPath`/`pciID` dropped; `ips[].version` from
    ///   the address family; routes copied whole (their 1.x fields ride along).
    /// - 0.1/0.2 → 1.x and 1.x → 0.1/0.2 go through 0.4.0.
    public func converted(to version: CNIVersion) throws(CNIError) -> AnyCNIResult {
        guard let target = version.resultFamily else {
            throw CNIError(.incompatibleVersion, "no converter for CNI result version \(self.version) to \(version)")
        }
        if self.version == version { return self }
        switch (self, target) {
        case (.ip4ip6(var result), .ip4ip6):
            result.cniVersion = version
            return .ip4ip6(result)
        case (.ip4ip6(let result), .ipsWithVersion):
            return .ipsWithVersion(ResultConversion.from020(result, to: version))
        case (.ip4ip6(let result), .current):
            return .current(ResultConversion.from040(ResultConversion.from020(result, to: .v0_4_0), to: version))
        case (.ipsWithVersion(var result), .ipsWithVersion):
            result.cniVersion = version
            return .ipsWithVersion(result)
        case (.ipsWithVersion(let result), .ip4ip6):
            return .ip4ip6(try ResultConversion.to020(result, to: version))
        case (.ipsWithVersion(let result), .current):
            return .current(ResultConversion.from040(result, to: version))
        case (.current(var result), .current):
            result.cniVersion = version
            return .current(result)
        case (.current(let result), .ipsWithVersion):
            return .ipsWithVersion(ResultConversion.to040(result, to: version))
        case (.current(let result), .ip4ip6):
            return .ip4ip6(try ResultConversion.to020(ResultConversion.to040(result, to: .v0_4_0), to: version))
        }
    }
}

extension AnyCNIResult {
    /// Wraps a 1.x-layout result. A ``CNIResult`` whose `cniVersion` is older (a plugin set the
    /// request's version on it) is taken as 1.1.0, so converting it yields the old layout.
    public init(_ result: CNIResult) {
        var result = result
        if result.cniVersion.resultFamily != .current { result.cniVersion = .latest }
        self = .current(result)
    }
}
