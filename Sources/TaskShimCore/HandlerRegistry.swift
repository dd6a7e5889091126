/// The handlers a `runtime` binary knows: exact names, plus factories for file targets such as
/// `handler.sql`. This is the only process-wide state TaskShim keeps, and it is built once at start-up.
public struct HandlerRegistry: Sendable {
    private var byName: [String: any Handler] = [:]
    private var byExtension: [String: @Sendable (String) -> any Handler] = [:]

    public init() {}

    /// Registers a handler under its name; a later registration with the same name replaces it.
    public mutating func register(_ handler: any Handler) {
        byName[handler.name] = handler
    }

    /// Registers a factory for targets that are files ending in `.ext` (without the dot).
    public mutating func register(fileExtension ext: String, factory: @escaping @Sendable (String) -> any Handler) {
        byExtension[ext.lowercased()] = factory
    }

    /// The registered names, sorted.
    public var names: [String] { byName.keys.sorted() }

    /// The registered file extensions, sorted.
    public var fileExtensions: [String] { byExtension.keys.sorted() }

    /// Finds the handler for a name or a file path: a registered name first, then a file ending in a
    /// registered extension.
    public func resolve(_ target: String) throws(TaskShimError) -> any Handler {
        if let handler = byName[target] { return handler }
        if let dot = target.lastIndex(of: "."), let factory = byExtension[target[target.index(after: dot)...].lowercased()] {
            return factory(target)
        }
        let known = names.isEmpty ? "none" : names.joined(separator: ", ")
        let files = fileExtensions.map { "*.\($0)" }.joined(separator: ", ")
        if target.contains("/") {
            throw TaskShimError(.noHandler, "'\(target)' looks like a file, but no handler runs files of that kind.",
                                hint: "File targets: \(files.isEmpty ? "none" : files); registered handlers: \(known).")
        }
        throw TaskShimError(.noHandler, "No handler named '\(target)'.",
                            hint: "Registered handlers: \(known); file targets: \(files.isEmpty ? "none" : files). Run `runtime list` to see them.")
    }
}
