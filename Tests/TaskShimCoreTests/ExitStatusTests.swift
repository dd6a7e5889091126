import Testing
@testable import TaskShimCore

struct ExitStatusTests {
    @Test func codesFollowSysexits() {
        #expect(ExitStatus.ok.rawValue == 0)
        #expect(ExitStatus.usage.rawValue == 64)
        #expect(ExitStatus.dataError.rawValue == 65)
        #expect(ExitStatus.noInput.rawValue == 66)
        #expect(ExitStatus.unavailable.rawValue == 69)
        #expect(ExitStatus.software.rawValue == 70)
        #expect(ExitStatus.temporaryFailure.rawValue == 75)
        #expect(ExitStatus.noPermission.rawValue == 77)
        #expect(ExitStatus.configuration.rawValue == 78)
    }

    @Test func onlyTemporaryFailureIsRetryable() {
        for status in ExitStatus.allCases {
            #expect(status.isRetryable == (status == .temporaryFailure))
        }
    }

    @Test func foreignErrorsBecomeSoftwareErrorsAndCancellationIsTemporary() {
        struct Boom: Error {}
        #expect(TaskShimError.wrapping(Boom()).status == .software)
        #expect(TaskShimError.wrapping(CancellationError()).status == .temporaryFailure)
        let original = TaskShimError.usage("bad", hint: "fix it")
        #expect(TaskShimError.wrapping(original) == original)
        #expect(original.description == "bad fix it")
    }
}
