/// The schema's history: every `.sql` file in `migrations/`, embedded in the binary
/// so that a copied executable still migrates. Append; never edit a released file.
public enum Migrations {
    public struct Migration: Sendable {
        public let identifier: String
        public let sql: String
    }

    public static let all: [Migration] = [
        Migration(identifier: "0001_initial", sql: text(PackageResources._001_initial_sql)),
        Migration(identifier: "0002_garbage_collection", sql: text(PackageResources._002_garbage_collection_sql)),
        Migration(identifier: "0003_audit", sql: text(PackageResources._003_audit_sql)),
    ]

    private static func text(_ bytes: [UInt8]) -> String {
        String(decoding: bytes, as: UTF8.self)
    }
}
