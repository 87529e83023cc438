import Logging

/// Installs the process-wide log handler for `registry serve`: swift-log's stream
/// handler (text) or `JSONLogHandler`, both on standard error, at the configured level.
public enum LogBootstrap {
    public static func bootstrap(_ settings: LogSettings) {
        let level = Logger.Level(rawValue: settings.level) ?? .info
        switch settings.format {
        case .text:
            LoggingSystem.bootstrap { label in
                var handler = StreamLogHandler.standardError(label: label)
                handler.logLevel = level
                return handler
            }
        case .json:
            LoggingSystem.bootstrap { label in JSONLogHandler(label: label, level: level) }
        }
    }
}
