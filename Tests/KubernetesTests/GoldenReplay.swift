import Foundation
import Kubernetes

/// One recorded exchange of Fixtures/golden (a real kube-apiserver 1.20.2's answer).
struct GoldenExchange: Sendable {
    var name: String
    var method: String
    var path: String
    var contentType: String?
    var body: JSONValue?
    var status: Int
    /// The answer (JSON), or nil for a watch.
    var response: JSONValue?
    /// A watch's event lines.
    var events: [JSONValue]?

    static var directory: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/golden")
    }

    /// Every `NN-name.json`, in recording order.
    static func all() throws -> [GoldenExchange] {
        let names = try FileManager.default.contentsOfDirectory(atPath: directory.path)
            .filter { $0.hasSuffix(".json") && $0.first?.isNumber == true }.sorted()
        return try names.map { file in
            let record = try JSONValue.decodeObject(Array(try Data(contentsOf: directory.appendingPathComponent(file))))
            let request = record[object: "request"]
            return GoldenExchange(
                name: String(file.dropLast(5)), method: request["method"]?.stringValue ?? "GET", path: request["path"]?.stringValue ?? "",
                contentType: request["contentType"]?.stringValue, body: request["body"],
                status: Int(record["status"]?.integerValue ?? 0), response: record["response"], events: record["events"]?.arrayValue)
        }
    }

    var number: Int { Int(name.prefix(2)) ?? 0 }
}

/// The normalisation of tools/normalize.py, applied to the fixture's answers and (again) to the
/// golden ones, plus what the fixture deliberately does not implement: `managedFields` are
/// dropped on both sides (no field managers), discovery is cut to what the fixture serves.
enum GoldenNormalizer {
    static let timeKeys: Set<String> = [
        "creationTimestamp", "deletionTimestamp", "lastHeartbeatTime", "lastTransitionTime", "lastProbeTime", "startTime", "time",
        "startedAt", "finishedAt", "renewTime", "acquireTime",
    ]

    static func normalize(_ value: JSONValue) -> JSONValue {
        switch value {
        case .object(let members):
            var out: JSONObject = [:]
            for (key, member) in members where key != "managedFields" && key != "_note" {
                let text = member.stringValue
                switch key {
                case "uid" where text != nil: out[key] = "<uid>"
                case _ where timeKeys.contains(key) && !(text ?? "").isEmpty: out[key] = "<time>"
                case "resourceVersion" where !(text ?? "").isEmpty: out[key] = "<rv>"
                case "selfLink" where text != nil: out[key] = "<selfLink>"
                case "continue" where !(text ?? "").isEmpty: out[key] = "<continue>"
                case "message" where text != nil: out[key] = .string(scrub(text!))
                case "clusterIP" where text != nil: out[key] = "<ip>"
                case "serverAddress" where text != nil: out[key] = "<address>"
                default: out[key] = normalize(member)
                }
            }
            return .object(out)
        case .array(let elements):
            return .array(elements.map(normalize))
        default:
            return value
        }
    }

    /// Numbers of 2+ digits in a message about versions or continue tokens.
    static func scrub(_ message: String) -> String {
        guard message.contains("version") || message.contains("continue") else { return message }
        return message.replacing(/\b\d{2,}\b/, with: "<n>")
    }

    /// The paths where two normalised values differ (at most `limit`).
    static func differences(_ real: JSONValue, _ fixture: JSONValue, at path: String = "", limit: Int = 12) -> [String] {
        var found: [String] = []
        func walk(_ a: JSONValue?, _ b: JSONValue?, _ path: String) {
            guard found.count < limit, a != b else { return }
            switch (a, b) {
            case (.object(let left)?, .object(let right)?):
                for key in Set(left.keys).union(right.keys).sorted() { walk(left[key], right[key], path + "." + key) }
            case (.array(let left)?, .array(let right)?) where left.count == right.count:
                for index in left.indices { walk(left[index], right[index], path + "[\(index)]") }
            case (.array(let left)?, .array(let right)?):
                func summary(_ items: [JSONValue]) -> String {
                    var runs: [(String, Int)] = []
                    for item in items {
                        let name = item["object"]?["metadata"]?["name"]?.stringValue ?? item["metadata"]?["name"]?.stringValue ?? ""
                        let label = "\(item["type"]?.stringValue ?? "")(\(name))"
                        if runs.last?.0 == label { runs[runs.count - 1].1 += 1 } else { runs.append((label, 1)) }
                    }
                    return runs.map { $0.1 > 1 ? "\($0.0)×\($0.1)" : $0.0 }.joined(separator: " ")
                }
                found.append("\(path.isEmpty ? "." : path): real \(left.count) [\(summary(left))] vs fixture \(right.count) [\(summary(right))]")
            default:
                let show = { (value: JSONValue?) in value.map { String($0.description.prefix(300)) } ?? "(absent)" }
                found.append("\(path.isEmpty ? "." : path): real \(show(a)) vs fixture \(show(b))")
            }
        }
        walk(real, fixture, path)
        return found
    }
}

extension Dictionary where Key == String, Value == JSONValue {
    /// The member `key` as an object (empty when absent), settable.
    subscript(object key: String) -> JSONObject {
        get { self[key]?.objectValue ?? [:] }
        set { self[key] = .object(newValue) }
    }
}
