import CNISpec
import ChildProcess
import Foundation
import Testing
import TestSupport

/// CNISpec's agent readiness record without an agent: this process and short-lived children
/// stand in for one.
@Suite struct AgentReadinessTests {
    func temporaryPath() throws -> (directory: String, path: String) {
        let directory = try TestDirectories.temporary(prefix: "swcni-readiness-")
        return (directory, directory + "/run/agent.ready")
    }

    @Test func publishCheckWithdraw() throws {
        let (directory, path) = try temporaryPath()
        defer { TestDirectories.remove(directory) }
        let missing = #expect(throws: CNIError.self) { try AgentReadiness.check(path: path, agent: "test-agent") }
        #expect(missing?.code == .pluginNotAvailable && missing?.message.contains("test-agent is not running") == true)

        var record = try AgentReadiness.current(agent: "test-agent", ready: false, detail: "waiting for a lease")
        try record.publish(to: path)
        #expect(try AgentReadiness.read(path: path) == record)
        let waiting = #expect(throws: CNIError.self) { try AgentReadiness.check(path: path, agent: "test-agent") }
        #expect(waiting?.code == .pluginNotAvailable && waiting?.message.contains("waiting for a lease") == true)

        record.ready = true
        try record.publish(to: path)
        try AgentReadiness.check(path: path, agent: "test-agent")

        record.limited = true
        try record.publish(to: path)
        let limited = #expect(throws: CNIError.self) { try AgentReadiness.check(path: path, agent: "test-agent") }
        #expect(limited?.code == .limitedConnectivity)

        // Another process's record is left alone; the own one goes.
        var other = record
        other.startTime += 1
        other.withdraw(from: path)
        #expect(FileManager.default.fileExists(atPath: path))
        record.withdraw(from: path)
        #expect(!FileManager.default.fileExists(atPath: path))
    }

    @Test func corruptFileIsNamed() throws {
        let (directory, path) = try temporaryPath()
        defer { TestDirectories.remove(directory) }
        try FileManager.default.createDirectory(atPath: directory + "/run", withIntermediateDirectories: true)
        try "not json".write(toFile: path, atomically: true, encoding: .utf8)
        let error = #expect(throws: CNIError.self) { try AgentReadiness.check(path: path, agent: "test-agent") }
        #expect(error?.code == .pluginNotAvailable && error?.message.contains(path) == true, "\(String(describing: error))")
    }

    /// An exited child not yet reaped (a zombie, as after a SIGKILL before the supervisor
    /// waits) and then a reaped one: neither is alive, whatever the record says.
    @Test func zombieAndDeadProcessesAreNotAlive() throws {
        let child = try ChildProcess.launch("/bin/sleep", arguments: ["0.2"])
        // Its start time, read while it runs.
        let stat = try String(contentsOfFile: "/proc/\(child.pid)/stat", encoding: .utf8)
        let fields = stat[stat.index(after: stat.lastIndex(of: ")")!)...].split(separator: " ")
        let startTime = try #require(UInt64(fields[19]))
        let record = AgentReadiness(agent: "child", pid: child.pid, startTime: startTime, ready: true, detail: "")
        #expect(record.isAlive)
        usleep(600_000)
        #expect(!record.isAlive, "an exited, unreaped child is a zombie, not alive")
        _ = try child.wait()
        #expect(!record.isAlive)
    }
}
