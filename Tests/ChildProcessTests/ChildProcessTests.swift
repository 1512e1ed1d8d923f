import Testing
import ChildProcess

@Suite struct ChildProcessTests {
    @Test func collectsOutputAndStatus() throws {
        let output = try ChildProcess.run("/bin/sh", arguments: ["-c", "echo out; echo err >&2; exit 3"], environment: [:])
        #expect(output.status == .exited(3))
        #expect(output.standardOutputText == "out\n")
        #expect(output.standardErrorText == "err\n")
    }

    @Test func feedsLargeStandardInputWithoutDeadlock() throws {
        let input = (0..<(1 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        let output = try ChildProcess.run("/bin/cat", standardInput: input)
        #expect(output.status.isSuccess)
        #expect(output.standardOutput == input)
    }

    @Test func passesExactlyTheGivenEnvironment() throws {
        let output = try ChildProcess.run("/usr/bin/env", environment: ["CNI_COMMAND": "VERSION"])
        #expect(output.standardOutputText == "CNI_COMMAND=VERSION\n")
    }

    @Test func reportsMissingExecutableAndTimeouts() throws {
        #expect(throws: ChildProcessError.self) { try ChildProcess.run("/nonexistent/plugin") }
        do {
            _ = try ChildProcess.run("/bin/sleep", arguments: ["5"], timeoutMilliseconds: 100)
            Issue.record("expected a timeout")
        } catch {
            #expect(error.code == .timedOut)
        }
        let killed = try ChildProcess.run("/bin/sh", arguments: ["-c", "kill -9 $$"])
        #expect(killed.status == .signaled(9))
    }

    @Test func launchesAndTerminatesADaemon() throws {
        let process = try ChildProcess.launch("/bin/sleep", arguments: ["30"])
        #expect(process.poll() == nil)
        #expect(process.terminate(graceMilliseconds: 2000) == .signaled(15))
    }

    @Test func findsExecutablesOnASearchPath() {
        #expect(ChildProcess.find("sh", in: ["/nonexistent", "/bin"]) == "/bin/sh")
        #expect(ChildProcess.find("no-such-plugin", in: ["/bin"]) == nil)
    }
}
