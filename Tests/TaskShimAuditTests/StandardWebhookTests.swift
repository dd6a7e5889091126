import Foundation
import Testing
@testable import TaskShimAudit
@testable import TaskShimClients
import TaskShimCore

@Suite struct StandardWebhookTests {
    /// The example in the Standard Webhooks specification.
    @Test func signsLikeTheSpecificationsExample() throws {
        let key = try #require(Data(base64Encoded: "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"))
        let signature = try StandardWebhook.signature(id: "msg_p5jXN8AQM9LWM0D4loKWxJek", timestamp: 1614265330,
                                                      body: Data(#"{"test": 2432232314}"#.utf8), key: key)
        #expect(signature == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")
    }

    /// RFC 4231 test case 2.
    @Test func hmacSHA256MatchesRFC4231() throws {
        let digest = try HMAC.sha256(key: Data("Jefe".utf8), message: Data("what do ya want for nothing?".utf8))
        #expect(digest.map { String(format: "%02x", $0) }.joined() == "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
    }

    @Test func answersAreSortedIntoRetryRefuseAndMisconfigured() {
        func status(_ code: Int) -> TaskShimCore.ExitStatus? {
            do { try StandardWebhook.check(HTTPResponse(status: code, headers: [], body: Data()), url: "http://h/x"); return nil } catch { return error.status }
        }
        #expect(status(204) == nil)
        #expect(status(503) == .temporaryFailure)
        #expect(status(429) == .temporaryFailure)
        #expect(status(401) == .noPermission)
        #expect(status(410) == .configuration)
        #expect(status(400) == .configuration, "receivers answer 400 to a bad signature: held, not set aside")
        #expect(status(422) == .dataError)
    }

    @Test func hecAnswersFollowItsDocumentedCodes() {
        func status(_ code: Int, _ body: String) -> TaskShimCore.ExitStatus? {
            do { try SplunkHEC.check(HTTPResponse(status: code, headers: [], body: Data(body.utf8)), url: "http://h/services/collector/event"); return nil }
            catch { return error.status }
        }
        #expect(status(200, #"{"text":"Success","code":0}"#) == nil)
        #expect(status(403, #"{"text":"Invalid token","code":4}"#) == .noPermission)
        #expect(status(400, #"{"text":"Incorrect index","code":7}"#) == .configuration)
        #expect(status(400, #"{"text":"Invalid data format","code":6}"#) == .dataError)
        #expect(status(503, #"{"text":"Server is busy","code":9}"#) == .temporaryFailure)
        #expect(SplunkHEC.ackURL("https://s:8088/services/collector/event") == "https://s:8088/services/collector/ack")
    }
}
