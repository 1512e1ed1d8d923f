import Testing
@testable import Datastore
