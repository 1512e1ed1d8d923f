import Testing
@testable import VXLAN
