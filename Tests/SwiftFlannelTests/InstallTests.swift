import CNISpec
import ChildProcess
import Foundation
import Testing
import TestSupport

/// `make install-plugins PREFIX=DIR` puts a working plugin binary into DIR/bin.
@Suite struct InstallTests {
    /// The repository root (this file is Tests/SwiftFlannelTests/InstallTests.swift).
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path

    @Test func installsIntoAPrefixAndTheInstalledBinaryAnswersVersion() throws {
        try #require(FileManager.default.isExecutableFile(atPath: "/usr/bin/make"), "make is not installed")
        let prefix = try TestDirectories.temporary(prefix: "swcni-flannel-")
        defer { TestDirectories.remove(prefix) }
        // PLUGIN_BIN_DIR: install this test build's binary rather than building release here.
        let make = try ChildProcess.run(
            "/usr/bin/make",
            arguments: ["-s", "-C", Self.repository, "install-plugins", "PREFIX=\(prefix)", "PLUGIN_BIN_DIR=\(TestDirectories.products)"],
            environment: ["PATH": "/usr/bin:/bin"], timeoutMilliseconds: 60_000)
        #expect(make.status == .exited(0), "\(make.standardErrorText)")
        let installed = prefix + "/bin/swift-flannel"
        #expect(FileManager.default.isExecutableFile(atPath: installed))
        // Every plugin by default, the separate-package example swift-ptp too.
        for plugin in ["swift-ipam", "swift-calico", "swift-canal", "swift-ptp"] {
            #expect(FileManager.default.isExecutableFile(atPath: prefix + "/bin/" + plugin), "\(plugin) not installed")
        }
        let version = try ChildProcess.run(
            installed, environment: ["CNI_COMMAND": "VERSION"], standardInput: Array(#"{"cniVersion":"1.0.0"}"#.utf8),
            timeoutMilliseconds: 10_000)
        #expect(version.status == .exited(0))
        let info = try CNIJSON.decode(VersionInfo.self, from: version.standardOutput)
        #expect(info.supportedVersions == CNIVersion.all.map(\.description))
        #expect(info.cniVersion == "1.0.0")
    }
}
