import Testing
@testable import BGP
