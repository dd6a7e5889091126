import Foundation
import Logging
import Testing
import TestSupport
import TaskShimCore
@testable import TaskShimLambda

/// `LambdaLoop` in process against the fault-injecting Runtime API, with a handler that reports what it
/// was given (cargo-lambda's emulator sends no client context or Cognito identity).
struct LambdaLoopTests {
    struct AttributeEcho: Handler {
        let name = "attributes"
        func handle(_ invocation: Invocation, context: HandlerContext) async throws -> Data {
            let attributes = Dictionary(uniqueKeysWithValues: invocation.attributes.map { ($0.name, $0.value) })
            return try JSONSerialization.data(withJSONObject: attributes, options: .sortedKeys)
        }
    }

    @Test func clientContextCognitoIdentityAndFunctionARNReachTheHandler() async throws {
        let clientContext = #"{"client":{"app_title":"ops"},"custom":{"tenant":"acme"},"env":{}}"#
        let identity = #"{"cognitoIdentityId":"us-east-1:1234","cognitoIdentityPoolId":"us-east-1:pool"}"#
        let api = try await FakeRuntimeAPI.start(events: [
            ["body": "{}", "headers": ["Lambda-Runtime-Client-Context": clientContext, "Lambda-Runtime-Cognito-Identity": identity]],
            ["body": "{}"],
        ])
        let out = MemoryLineWriter()
        let environment = Environment([:])
        let runner = Runner(logger: Logger(label: "test") { _ in SwiftLogNoOpLogHandler() }, environment: environment,
                            secrets: EnvironmentSecrets(environment: environment, redactor: Redactor()), output: out)
        let loop = LambdaLoop(api: try RuntimeAPIClient(api: api.runtimeAPI), runner: runner, logger: Logger(label: "test"))
        try await loop.run(AttributeEcho(), limit: 2)

        let responses = api.posts.filter { $0.path.hasSuffix("/response") }.map(\.json)
        #expect(responses.count == 2)
        #expect(responses.first??["client_context"] as? String == clientContext)
        #expect(responses.first??["cognito_identity"] as? String == identity)
        #expect(responses.first??["invoked_function_arn"] as? String == "arn:aws:lambda:us-east-1:123456789012:function:test")
        #expect(responses.last??["client_context"] == nil, "attributes belong to their own invocation")
    }
}
