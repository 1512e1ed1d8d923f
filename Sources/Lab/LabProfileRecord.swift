import CNISpec
import Foundation

/// A ``LabProfile`` as `state.json` records it: its kind and its encoded settings.
struct LabProfileRecord: Codable, Sendable {
    var kind: String
    var settings: JSONValue

    init(_ profile: some LabProfile) throws(LabError) {
        kind = type(of: profile).kind
        do { settings = try JSONDecoder().decode(JSONValue.self, from: try JSONEncoder().encode(profile)) } catch {
            throw LabError(.state, "cannot encode the \(kind) profile", underlying: error)
        }
    }

    /// The profile, decoded with the type of its kind among `types`.
    func decode(among types: [any LabProfile.Type]) throws(LabError) -> any LabProfile {
        guard let type = types.first(where: { $0.kind == kind }) else {
            throw LabError(
                .notAvailable,
                "the lab runs the '\(kind)' profile, which this program does not know (it knows: \(types.map { $0.kind }.joined(separator: ", ")))")
        }
        do { return try JSONDecoder().decode(type, from: try JSONEncoder().encode(settings)) } catch {
            throw LabError(.state, "cannot read the lab's \(kind) profile from state.json", underlying: error)
        }
    }
}
