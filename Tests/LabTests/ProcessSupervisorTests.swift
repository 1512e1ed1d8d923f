#if canImport(Glibc)
import Glibc
#endif
import Namespaces
import Testing
import TestSupport
@testable import Lab

/// The lab's process supervision leaves no zombie behind in a long-lived process.
struct ProcessSupervisorTests {
    @Test(.privileged) func killAllReapsItsOwnChildren() async throws {
        let directory = try TestDirectories.temporary(prefix: "swcni-supervisor-")
        defer { TestDirectories.remove(directory) }
        try await NamespaceFixture.with(count: 1) { namespaces in
            let namespace = namespaces[0]
            let records = try (0..<3).map { index in
                try ProcessSupervisor.launch(
                    role: "sleeper", executable: "/usr/bin/sleep", arguments: ["600"], in: namespace,
                    namespaceName: "fixture", log: directory + "/sleeper\(index).log")
            }
            #expect(records.allSatisfy(ProcessSupervisor.isRunning))
            ProcessSupervisor.killAll(in: namespace)
            for record in records {
                // Reaped already: not a zombie child of ours any more.
                var status: Int32 = 0
                #expect(waitpid(record.pid, &status, WNOHANG) == -1 && errno == ECHILD, "pid \(record.pid) is left unreaped")
            }
        }
    }
}
