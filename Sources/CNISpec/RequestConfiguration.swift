/// Derives the request configuration of one plugin from a list's plugin object (the
/// specification's section 3, "Deriving request configuration").
public enum RequestConfiguration {
    /// - Inserts `cniVersion` and `name`; removes `capabilities`.
    /// - For attachments: `runtimeConfig` holds the capability arguments the plugin declares
    ///   (`capabilities: {"x": true}`) and the runtime offers, and nothing else; `prevResult` is
    ///   set when given.
    /// - For GC: `cni.dev/valid-attachments` (and `cni.dev/attachments`, as libcni sends both).
    /// - Every other key passes through unchanged.
    public static func derive(
        _ plugin: [String: JSONValue], list: NetworkConfigurationList, version: CNIVersion,
        attachment: RuntimeAttachment? = nil, previousResult: JSONValue? = nil,
        validAttachments: [NetworkAttachment]? = nil
    ) throws(CNIError) -> [UInt8] {
        var object = plugin
        object["cniVersion"] = .string(version.description)
        object["name"] = .string(list.name)
        let declared = plugin["capabilities"]?.objectValue ?? [:]
        object["capabilities"] = nil
        if let attachment {
            var runtimeConfig: [String: JSONValue] = [:]
            for (capability, value) in attachment.capabilityArguments where declared[capability] == .bool(true) {
                runtimeConfig[capability] = value
            }
            if !runtimeConfig.isEmpty { object["runtimeConfig"] = .object(runtimeConfig) }
        }
        if let previousResult { object["prevResult"] = previousResult }
        if let validAttachments {
            // libcni sends the list under both names (the second is the pre-1.1.0 draft's).
            let value = try JSONValue(encoding: validAttachments)
            object["cni.dev/valid-attachments"] = value
            object["cni.dev/attachments"] = value
        }
        return try CNIJSON.encode(JSONValue.object(object))
    }
}
