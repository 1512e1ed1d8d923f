import CNISpec
import Foundation
import Testing

/// Loading an `/etc/cni/net.d`-style directory as libcni does (file selection and order,
/// `.conflist` before single-plugin files, per-network plugin folders,
/// `loadOnlyInlinedPlugins`). Pure file work: no root.
@Suite struct ConfigurationDirectoryTests {
    static func write(_ directory: String, _ name: String, _ text: String) throws {
        let path = directory + "/" + name
        try FileManager.default.createDirectory(
            atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
    }

    static func types(_ list: NetworkConfigurationList) -> [String] { list.plugins.map { $0["type"]?.stringValue ?? "?" } }

    @Test func conflistsWinOverSingleFilesWhateverTheirNames() throws {
        let directory = try temporaryDirectory()
        defer { removeDirectory(directory) }
        try Self.write(directory, "00-first.conf", #"{"cniVersion":"1.0.0","name":"net1","type":"single"}"#)
        try Self.write(directory, "99-last.conflist", #"{"cniVersion":"1.0.0","name":"net1","plugins":[{"type":"listed"}]}"#)
        let list = try NetworkConfigurationDirectory(path: directory).load(network: "net1")
        #expect(Self.types(list) == ["listed"])
        // Every file, in name order: the single file is the default network.
        #expect(try NetworkConfigurationDirectory(path: directory).networks().map(Self.types) == [["single"], ["listed"]])
    }

    @Test func filesAreTakenByExtensionInByteOrder() throws {
        let directory = try temporaryDirectory()
        defer { removeDirectory(directory) }
        for (file, name) in [("9-x.conf", "n9"), ("10-x.conf", "n10"), ("a.json", "na"), ("B.conf", "nB")] {
            try Self.write(directory, file, #"{"cniVersion":"0.4.0","name":"\#(name)","type":"t"}"#)
        }
        try Self.write(directory, "old.conf.bak", "not json")
        try Self.write(directory, "README", "not json")
        try FileManager.default.createDirectory(atPath: directory + "/dir.conf", withIntermediateDirectories: true)
        let folder = NetworkConfigurationDirectory(path: directory)
        #expect(try folder.files().map { ($0 as NSString).lastPathComponent } == ["10-x.conf", "9-x.conf", "B.conf", "a.json"])
        #expect(try folder.networks().map(\.name) == ["n10", "n9", "nB", "na"])
        #expect(try folder.load(network: "na").cniVersion == "0.4.0")
    }

    @Test func perNetworkFolderAddsPluginsUnlessInlinedOnly() throws {
        let directory = try temporaryDirectory()
        defer { removeDirectory(directory) }
        try Self.write(directory, "10-net.conflist", #"{"cniVersion":"1.1.0","name":"net2","plugins":[{"type":"bridge"}]}"#)
        try Self.write(directory, "net2/20-portmap.conf", #"{"type":"portmap"}"#)
        try Self.write(directory, "net2/10-tuning.conf", #"{"type":"tuning"}"#)
        try Self.write(directory, "net2/30-other.json", #"{"type":"ignored"}"#)
        let folder = NetworkConfigurationDirectory(path: directory)
        #expect(Self.types(try folder.load(network: "net2")) == ["bridge", "tuning", "portmap"])

        // The flag may be a string, as libcni accepts.
        try Self.write(
            directory, "10-net.conflist",
            #"{"cniVersion":"1.1.0","name":"net2","loadOnlyInlinedPlugins":"TRUE","plugins":[{"type":"bridge"}]}"#)
        #expect(Self.types(try folder.load(network: "net2")) == ["bridge"])

        // Without "plugins", the folder provides them all; with neither, nothing loads.
        try Self.write(directory, "10-net.conflist", #"{"cniVersion":"1.1.0","name":"net2"}"#)
        #expect(Self.types(try folder.load(network: "net2")) == ["tuning", "portmap"])
        try FileManager.default.removeItem(atPath: directory + "/net2")
        let none = try #require(throws: CNIError.self) { try folder.load(network: "net2") }
        #expect(none.message.contains("10-net.conflist") && none.message.contains("no plugin configs found"))
    }

    @Test func malformedListsAreRefusedNamingTheFile() throws {
        let directory = try temporaryDirectory()
        defer { removeDirectory(directory) }
        let folder = NetworkConfigurationDirectory(path: directory)
        let cases: [(String, String)] = [
            (#"{"cniVersion":"1.0.0","name":"n","plugins":[]}"#, "no plugins in list"),
            (#"{"cniVersion":"1.0.0","name":"n","loadOnlyInlinedPlugins":true}"#, "no \"plugins\" key"),
            (#"{"cniVersion":"1.0.0","name":"n","disableCheck":"maybe","plugins":[{"type":"t"}]}"#, "decode"),
            (#"{"cniVersion":"1.0.0","plugins":[{"type":"t"}]}"#, "no name"),
        ]
        for (text, message) in cases {
            try Self.write(directory, "10-n.conflist", text)
            let error = try #require(throws: CNIError.self) { try folder.load(network: "n") }
            #expect(error.message.contains("10-n.conflist"), "\(text)")
            #expect("\(error.message) \(error.details ?? "")".contains(message), "\(text): \(error)")
        }
        try FileManager.default.removeItem(atPath: directory + "/10-n.conflist")
        try Self.write(directory, "10-n.conf", #"{"cniVersion":"1.0.0","name":"n"}"#)
        let untyped = try #require(throws: CNIError.self) { try folder.load(network: "n") }
        #expect(untyped.message.contains("missing 'type'"))
    }

    @Test func missingNetworksAndEmptyDirectories() throws {
        let directory = try temporaryDirectory()
        defer { removeDirectory(directory) }
        let folder = NetworkConfigurationDirectory(path: directory)
        let empty = try #require(throws: CNIError.self) { try folder.load(network: "n") }
        #expect(empty.message.contains("no net configurations found"))
        #expect(try NetworkConfigurationDirectory(path: directory + "/absent").networks().isEmpty)
        try Self.write(directory, "10-n.conflist", #"{"cniVersion":"1.0.0","name":"other","plugins":[{"type":"t"}]}"#)
        let missing = try #require(throws: CNIError.self) { try folder.load(network: "n") }
        #expect(missing.message.contains("no net configuration with name \"n\""))
    }
}
