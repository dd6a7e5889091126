import Foundation
import Testing
import TestSupport
@testable import TaskShim

extension ProcessDrivingTests {
/// Lambda response streaming, through the `Runtime` entry point with a streaming handler of the test's
/// own, against the fault-injecting Runtime API (cargo-lambda's emulator does not accept streamed
/// responses from a runtime: it answers the invoker 500).
@Suite struct LambdaStreamingTests {
    struct Countdown: StreamingHandler {
        let name = "countdown"
        let failAfterFirst: Bool

        func stream(_ invocation: Invocation, context: HandlerContext, to writer: any ResponseWriter) async throws {
            for part in ["three,", "two,", "one"] {
                try await writer.write(Data(part.utf8))
                if failAfterFirst { throw TaskShimError.data("The countdown broke after the first part.") }
                try await Task.sleep(for: .milliseconds(150))
            }
        }
    }

    func serve(_ handler: Countdown, streaming: Bool) async throws -> (status: Int32, posts: [FakeRuntimeAPI.Post]) {
        let api = try await FakeRuntimeAPI.start(events: [["body": "{}"]])
        var registry = HandlerRegistry.builtIn
        registry.register(handler)
        let io = Runtime.IO(environment: Environment(["AWS_LAMBDA_RUNTIME_API": api.runtimeAPI, "_HANDLER": "countdown",
                                                      "TASKSHIM_LAMBDA_STREAMING": streaming ? "true" : "false"]),
                            standardOutput: MemoryLineWriter(), standardError: MemoryLineWriter(), isTerminal: false)
        let status = await Runtime(registry: registry).run(arguments: ["lambda", "--max-invocations", "1"], io: io)
        return (status, await api.waitForPosts(1))
    }

    @Test func partsAreStreamedAsTheyAreWritten() async throws {
        let (status, posts) = try await serve(Countdown(failAfterFirst: false), streaming: true)
        #expect(status == 0)
        let post = try #require(posts.first)
        #expect(post.path.hasSuffix("/response"))
        #expect(post.headers["lambda-runtime-function-response-mode"] == "streaming")
        #expect(post.body == "three,two,one")
        #expect(post.chunks.count >= 3, "each part went out as it was written: \(post.chunks)")
        #expect(post.trailers.isEmpty)
    }

    @Test func aFailureAfterStreamingStartedGoesInTheTrailers() async throws {
        let (status, posts) = try await serve(Countdown(failAfterFirst: true), streaming: true)
        #expect(status == 0)
        let post = try #require(posts.first)
        #expect(post.body == "three,")
        #expect(post.trailers["lambda-runtime-function-error-type"] == "TaskShim.DataError")
        let encoded = try #require(post.trailers["lambda-runtime-function-error-body"])
        let body = try #require(Data(base64Encoded: encoded))
        let error = try #require(JSONSerialization.jsonObject(with: body) as? [String: Any])
        #expect((error["errorMessage"] as? String)?.contains("broke after the first part") == true)
    }

    @Test func withoutStreamingTheResponseIsPostedWhole() async throws {
        let (status, posts) = try await serve(Countdown(failAfterFirst: false), streaming: false)
        #expect(status == 0)
        let post = try #require(posts.first)
        #expect(post.headers["lambda-runtime-function-response-mode"] == nil)
        #expect(post.body == "three,two,one")
        #expect(post.chunks.isEmpty)
    }
}
}
