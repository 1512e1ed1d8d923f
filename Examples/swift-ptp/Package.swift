// swift-tools-version: 6.1
// swift-ptp: a ptp-style CNI plugin written as a user of swift-cni would write it, in a package
// of its own that depends on swift-cni by path and uses its public API only (the DocC tutorial
// "Build a ptp plugin" walks through these sources). A ptp conflist works by changing `type`.
//
// Build it as an installable static executable:
//   swift build -c release --static-swift-stdlib -Xswiftc -static-executable --product swift-ptp
import PackageDescription

let package = Package(
    name: "swift-ptp",
    platforms: [.macOS(.v15)],
    dependencies: [
        // By path, the package is named after its folder unless `name:` says otherwise; from
        // another machine: .package(url: "https://github.com/OWNER/swift-cni.git", from: "0.1.0").
        .package(name: "swift-cni", path: "../.."),
    ],
    targets: [
        .executableTarget(
            name: "swift-ptp",
            dependencies: [
                .product(name: "CNISpec", package: "swift-cni"),
                .product(name: "IPAMCore", package: "swift-cni"),
                .product(name: "Routing", package: "swift-cni"),
                .product(name: "Netlink", package: "swift-cni"),
                .product(name: "NetPrimitives", package: "swift-cni"),
                .product(name: "ChildProcess", package: "swift-cni"),
            ],
            swiftSettings: [.swiftLanguageMode(.v6)]
        ),
    ]
)
