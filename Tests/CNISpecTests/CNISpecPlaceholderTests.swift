import Testing
@testable import CNISpec
