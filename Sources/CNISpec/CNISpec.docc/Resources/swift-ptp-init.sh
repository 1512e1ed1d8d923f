mkdir swift-ptp && cd swift-ptp
swift package init --type executable --name swift-ptp
rm Sources/swift-ptp/main.swift   # the plugin's main is an @main type (SwiftPTPMain.swift)
