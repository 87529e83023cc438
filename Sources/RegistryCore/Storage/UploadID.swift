import Foundation

/// An upload session id: a lowercase UUID, so it is always a safe file name.
public struct UploadID: Hashable, Sendable, CustomStringConvertible {
    public let value: String

    public init?(_ string: some StringProtocol) {
        guard let uuid = UUID(uuidString: String(string)) else { return nil }
        value = uuid.uuidString.lowercased()
    }

    public static func make() -> UploadID {
        UploadID(UUID().uuidString)!
    }

    public var description: String { value }
}
