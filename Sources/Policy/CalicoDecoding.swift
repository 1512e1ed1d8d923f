import NetPrimitives

extension CalicoPolicy {
    /// Decodes a `projectcalico.org/v3` NetworkPolicy (`global == false`) or GlobalNetworkPolicy.
    init(decoding object: DocumentField, global: Bool) throws {
        let metadata = try object.required("metadata")
        let name = try metadata.required("name").string()
        let scope: Scope = global ? .global : .namespaced(try metadata.child("namespace")?.string() ?? "default")
        let spec = try object.required("spec")
        try spec.rejectUnsupported(["serviceAccountSelector", "doNotTrack", "preDNAT"])
        let tier = try spec.child("tier")?.string() ?? CalicoTier.defaultName
        let order = try spec.child("order")?.number()
        let selector = try spec.child("selector").map(CalicoSelector.init(decoding:)) ?? .all
        var namespaceSelector: CalicoSelector?
        if let field = try spec.child("namespaceSelector") {
            guard global else { throw field.error(.invalidValue, "namespaceSelector is only valid in a GlobalNetworkPolicy") }
            namespaceSelector = try CalicoSelector(decoding: field)
        }
        let ingress = try spec.list("ingress").map(CalicoRule.init(decoding:))
        let egress = try spec.list("egress").map(CalicoRule.init(decoding:))
        var types: Set<PolicyDirection>?
        let typeFields = try spec.list("types")
        if !typeFields.isEmpty {
            types = []
            for field in typeFields {
                let text = try field.string()
                guard let direction = PolicyDirection(rawValue: text) else {
                    throw field.error(.invalidValue, "type must be Ingress or Egress, found \"\(text)\"")
                }
                types?.insert(direction)
            }
        }
        self.init(name: name, scope: scope, tier: tier, order: order, selector: selector,
                  namespaceSelector: namespaceSelector, types: types, ingress: ingress, egress: egress)
    }
}

extension CalicoSelector {
    /// Decodes selector text; an empty string is `all()`.
    init(decoding field: DocumentField) throws {
        let text = try field.string()
        do { self = try CalicoSelector(parsing: text) } catch let error as PolicyError {
            throw field.error(.invalidSelector, error.message)
        }
    }
}

extension CalicoRule {
    init(decoding field: DocumentField) throws {
        try field.rejectUnsupported(["notProtocol", "icmp", "notICMP", "http"])
        let actionField = try field.required("action")
        let actionText = try actionField.string()
        guard let action = RuleAction(rawValue: actionText) else {
            throw actionField.error(.invalidValue, "action must be Allow, Deny, Log or Pass, found \"\(actionText)\"")
        }
        var transport: TransportProtocol?
        if let protocolField = try field.child("protocol") {
            let text = try protocolField.string()
            guard let parsed = TransportProtocol(name: text) else {
                throw protocolField.error(.invalidValue, "unknown protocol \"\(text)\"")
            }
            transport = parsed
        }
        var family: IPAddress.Family?
        if let versionField = try field.child("ipVersion") {
            switch try versionField.integer() {
            case 4: family = .v4
            case 6: family = .v6
            default: throw versionField.error(.invalidValue, "ipVersion must be 4 or 6")
            }
        }
        let source = try field.child("source").map(CalicoEntityRule.init(decoding:)) ?? .init()
        let destination = try field.child("destination").map(CalicoEntityRule.init(decoding:)) ?? .init()
        if !source.ports.isEmpty || !destination.ports.isEmpty {
            guard let transport, transport.hasPorts else {
                throw field.error(.invalidValue, "ports need protocol TCP, UDP, SCTP or UDPLite")
            }
        }
        for network in source.nets + source.notNets + destination.nets + destination.notNets {
            if let family, network.family != family {
                throw field.error(.invalidValue, "network \(network) does not match ipVersion")
            }
        }
        self.init(action: action, protocol: transport, ipVersion: family, source: source, destination: destination)
    }
}

extension CalicoEntityRule {
    init(decoding field: DocumentField) throws {
        try field.rejectUnsupported(["notSelector", "notPorts", "serviceAccounts", "services"])
        var selector = try field.child("selector").map(CalicoSelector.init(decoding:))
        if let text = try field.child("selector")?.string(), text.allSatisfy(\.isWhitespace) { selector = nil }
        let namespaceSelector = try field.child("namespaceSelector").map(CalicoSelector.init(decoding:))
        let nets = try field.list("nets").map { try $0.network() }
        let notNets = try field.list("notNets").map { try $0.network() }
        let ports = try field.list("ports").map(CalicoPort.init(decoding:))
        self.init(selector: selector, namespaceSelector: namespaceSelector, nets: nets, notNets: notNets, ports: ports)
    }
}

extension CalicoPort {
    init(decoding field: DocumentField) throws {
        if let number = field.plainInteger {
            guard (0...65535).contains(number) else { throw field.error(.invalidValue, "port \(number) is outside 0-65535") }
            self = .range(PortRange(port: UInt16(number)))
            return
        }
        let text = try field.string()
        let bounds = text.split(separator: ":", omittingEmptySubsequences: false)
        if bounds.count == 2 {
            guard let low = UInt16(bounds[0]), let high = UInt16(bounds[1]), let range = PortRange(low, high) else {
                throw field.error(.invalidValue, "port range \"\(text)\" must be low:high with low <= high <= 65535")
            }
            self = .range(range)
        } else if let number = UInt16(text) {
            self = .range(PortRange(port: number))
        } else if isValidPortName(text) {
            self = .named(text)
        } else {
            throw field.error(.invalidValue, "\"\(text)\" is neither a port, a range low:high nor a port name")
        }
    }
}
