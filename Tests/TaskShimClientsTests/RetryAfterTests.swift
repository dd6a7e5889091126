import Foundation
import Testing
@testable import TaskShimClients

struct RetryAfterTests {
    func response(_ value: String?) -> HTTPResponse {
        HTTPResponse(status: 429, headers: value.map { [("retry-after", $0)] } ?? [], body: Data())
    }

    @Test func secondsAndHTTPDatesAreRead() {
        #expect(response("120").retryAfter() == .seconds(120))
        #expect(response(" 0 ").retryAfter() == .seconds(0))
        let now = Date(timeIntervalSince1970: 1_445_412_450)  // 2015-10-21T07:27:30Z
        #expect(response("Wed, 21 Oct 2015 07:28:00 GMT").retryAfter(now: now) == .seconds(30))
        #expect(response("Wed, 21 Oct 2015 07:27:00 GMT").retryAfter(now: now) == .zero, "a date in the past: no wait")
    }

    @Test func absentOrUnreadableIsNil() {
        #expect(response(nil).retryAfter() == nil)
        #expect(response("soon").retryAfter() == nil)
        #expect(response("-5").retryAfter() == nil)
        #expect(response("Wed, 21 Oct 2015 07:28:00 PST").retryAfter() == nil)
    }
}
