import Testing
@testable import Lab

/// Names, prefixes and label changes: pure, no root.
struct LabNamingTests {
    @Test func labNamesAreShortLowercaseAlphanumerics() throws {
        try LabNames.validateLab("default")
        try LabNames.validateLab("t42")
        for bad in ["", "a-b", "Lab", "a/b", String(repeating: "a", count: 21)] {
            #expect(throws: LabError.self) { try LabNames.validateLab(bad) }
        }
    }

    @Test func aLabOwnsOnlyItsOwnNamespaces() {
        #expect(LabNames.belongs("cnilab-a-fabric", to: "a"))
        #expect(LabNames.belongs("cnilab-a-n0", to: "a") && LabNames.belongs("cnilab-a-p12", to: "a"))
        #expect(!LabNames.belongs("cnilab-ab-n0", to: "a"))
        #expect(!LabNames.belongs("cnilab-a-x0", to: "a") && !LabNames.belongs("cnilab-a-n", to: "a"))
        #expect(!LabNames.belongs("swcni-t-1", to: "a"))
    }

    @Test func podReferences() throws {
        let pod = try PodReference(parsing: "kube-system/web-1")
        #expect(pod.namespace == "kube-system" && pod.name == "web-1")
        for bad in ["web", "a/b/c", "/a", "A/b", "a/-b", "a/b_c"] {
            #expect(throws: LabError.self) { try PodReference(parsing: bad) }
        }
    }

    @Test func labelChanges() throws {
        let labels = try Lab.applyLabelChanges(["app=web", "tier=db", "tier-", "x=1=2"], to: ["old": "v"])
        #expect(labels == ["old": "v", "app": "web", "x": "1=2"])
        #expect(throws: LabError.self) { try Lab.applyLabelChanges(["novalue"], to: [:]) }
        // What `cnilab pod add --label` and `cnilab bgp node --label` read: removals are nil.
        let expected: [String: String?] = ["a": "2", "b": .none]
        #expect(try Lab.labelChanges(["a=1", "b-", "a=2"]) == expected)
        for bad in ["=v", "bad key=v", "novalue"] {
            #expect(throws: LabError.self) { try Lab.labelChanges([bad]) }
        }
    }

    @Test func commandNamesAreTruncatedLikeTheKernel() {
        #expect(ProcessSupervisor.commandName(of: "/x/cnilab-pod-server") == "cnilab-pod-serv")
        #expect(ProcessSupervisor.commandName(of: "sleep") == "sleep")
    }
}
