import NetPrimitives

extension NetworkPolicy {
    /// Decodes a `networking.k8s.io/v1` NetworkPolicy object (already known to be one).
    init(decoding object: DocumentField) throws {
        let metadata = try object.required("metadata")
        let name = try metadata.required("name").string()
        let namespace = try metadata.child("namespace")?.string() ?? "default"
        guard let spec = try object.child("spec") else {
            throw PolicyError(.missingField, "required field is missing", documentIndex: object.documentIndex,
                              field: object.path.isEmpty ? "spec" : "\(object.path).spec")
        }
        let podSelector = try spec.child("podSelector").map(LabelSelector.init(decoding:)) ?? .everything
        let ingress = try spec.list("ingress").map { try NetworkPolicyRule(decoding: $0, peersKey: "from") }
        let egress = try spec.list("egress").map { try NetworkPolicyRule(decoding: $0, peersKey: "to") }
        var types: Set<PolicyDirection>?
        let typeFields = try spec.list("policyTypes")
        if !typeFields.isEmpty {
            types = []
            for field in typeFields {
                let text = try field.string()
                guard let direction = PolicyDirection(rawValue: text) else {
                    throw field.error(.invalidValue, "policy type must be Ingress or Egress, found \"\(text)\"")
                }
                types?.insert(direction)
            }
        }
        self.init(name: name, namespace: namespace, podSelector: podSelector, policyTypes: types,
                  ingress: ingress, egress: egress)
    }
}

extension LabelSelector {
    init(decoding field: DocumentField) throws {
        let matchLabels = try field.child("matchLabels")?.stringMap() ?? [:]
        var requirements: [Requirement] = []
        for expression in try field.list("matchExpressions") {
            let key = try expression.required("key").string()
            let operatorField = try expression.required("operator")
            let operatorText = try operatorField.string()
            guard let op = Requirement.Operator(rawValue: operatorText) else {
                throw operatorField.error(.invalidValue, "operator must be In, NotIn, Exists or DoesNotExist, found \"\(operatorText)\"")
            }
            let values = try expression.list("values").map { try $0.string() }
            let needsValues = op == .in || op == .notIn
            if needsValues && values.isEmpty {
                throw expression.error(.invalidValue, "operator \(operatorText) needs at least one value")
            }
            if !needsValues && !values.isEmpty {
                throw expression.error(.invalidValue, "operator \(operatorText) takes no values")
            }
            requirements.append(Requirement(key: key, operator: op, values: values))
        }
        self.init(matchLabels: matchLabels, matchExpressions: requirements)
    }
}

extension NetworkPolicyRule {
    init(decoding field: DocumentField, peersKey: String) throws {
        let peers = try field.list(peersKey).map(NetworkPolicyPeer.init(decoding:))
        let ports = try field.list("ports").map(NetworkPolicyPort.init(decoding:))
        self.init(peers: peers, ports: ports)
    }
}

extension NetworkPolicyPeer {
    init(decoding field: DocumentField) throws {
        let podSelector = try field.child("podSelector").map(LabelSelector.init(decoding:))
        let namespaceSelector = try field.child("namespaceSelector").map(LabelSelector.init(decoding:))
        if let blockField = try field.child("ipBlock") {
            guard podSelector == nil, namespaceSelector == nil else {
                throw field.error(.invalidValue, "ipBlock cannot be combined with podSelector or namespaceSelector")
            }
            let cidrField = try blockField.required("cidr")
            let cidr = try cidrField.network()
            var excepts: [IPNetwork] = []
            for exceptField in try blockField.list("except") {
                let network = try exceptField.network()
                guard network.family == cidr.family, cidr.contains(network), network.prefixLength > cidr.prefixLength else {
                    throw exceptField.error(.invalidValue, "except \(network) must be strictly inside cidr \(cidr.network)")
                }
                excepts.append(network)
            }
            self = .ipBlock(IPBlock(cidr: cidr, except: excepts))
            return
        }
        guard podSelector != nil || namespaceSelector != nil else {
            throw field.error(.invalidValue, "a peer needs podSelector, namespaceSelector or ipBlock")
        }
        self = .pods(podSelector: podSelector, namespaceSelector: namespaceSelector)
    }
}

extension NetworkPolicyPort {
    init(decoding field: DocumentField) throws {
        var transport = TransportProtocol.tcp
        if let protocolField = try field.child("protocol") {
            let text = try protocolField.string()
            guard ["TCP", "UDP", "SCTP"].contains(text), let parsed = TransportProtocol(name: text) else {
                throw protocolField.error(.invalidValue, "protocol must be TCP, UDP or SCTP, found \"\(text)\"")
            }
            transport = parsed
        }
        var port: PortReference?
        if let portField = try field.child("port") {
            if let number = portField.plainInteger {
                guard (1...65535).contains(number) else {
                    throw portField.error(.invalidValue, "port \(number) is outside 1-65535")
                }
                port = .number(UInt16(number))
            } else {
                let name = try portField.string()
                guard isValidPortName(name) else {
                    throw portField.error(.invalidValue, "named port \"\(name)\" is not a valid port name (lowercase IANA service name)")
                }
                port = .named(name)
            }
        }
        var endPort: UInt16?
        if let endField = try field.child("endPort") {
            let value = try endField.integer()
            guard case let .number(start)? = port else {
                throw endField.error(.invalidValue, "endPort requires a numeric port")
            }
            guard value >= Int(start), value <= 65535 else {
                throw endField.error(.invalidValue, "endPort \(value) must be between port \(start) and 65535")
            }
            endPort = UInt16(value)
        }
        self.init(protocol: transport, port: port, endPort: endPort)
    }
}
