import Logging

extension Platform {
    /// Writes the one start-up line naming the platform: `platform detected platform=cloud-run-job
    /// job=... execution=...`.
    public func log(to logger: Logger, level: Logger.Level) {
        var metadata: Logger.Metadata = ["platform": .string(kind.rawValue)]
        for (name, value) in details { metadata[name] = .string(value) }
        logger.log(level: level, "platform detected", metadata: metadata)
    }
}
