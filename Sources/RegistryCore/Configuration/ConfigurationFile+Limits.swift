// The limits of `storage:` (max_blob_size, max_concurrent_uploads, min_free_space) and
// the `maintenance:` section (read_only).

extension ConfigurationFile {
    struct Maintenance: Codable {
        var readOnly: Bool?

        enum CodingKeys: String, CodingKey, CaseIterable {
            case readOnly = "read_only"
        }
    }

    func applyLimits(to configuration: inout RegistryConfiguration) throws {
        if let value = maintenance?.readOnly { configuration.readOnly = value }
        if let text = storage?.maxBlobSize {
            configuration.limits.maxBlobSize = try ByteSize.parse(text, key: "storage.max_blob_size")
        }
        if let value = storage?.maxConcurrentUploads {
            guard value >= 0 else {
                throw ConfigurationError.invalid(key: "storage.max_concurrent_uploads", expected: "0 (no limit) or a positive number", got: "\(value)")
            }
            configuration.limits.maxConcurrentUploads = value
        }
        if let text = storage?.minFreeSpace {
            configuration.limits.minFreeSpace = try FreeSpaceFloor.parse(text, key: "storage.min_free_space")
        }
        if let value = storage?.maxManifestSize, value <= 0 {
            throw ConfigurationError.invalid(key: "storage.max_manifest_size", expected: "a positive number of bytes", got: "\(value)")
        }
    }
}

/// What a push may use: blob size, concurrent uploads, and the free space it must leave.
public struct StorageLimits: Sendable, Equatable {
    /// The largest blob accepted, in bytes; 0 means no limit.
    public var maxBlobSize: Int64 = 0
    /// Upload requests receiving data at the same time; past it, new uploads get 429. 0 means no limit.
    public var maxConcurrentUploads = 0
    /// Pushes are refused while the data directory's filesystem has less free space.
    public var minFreeSpace = FreeSpaceFloor.default

    public init() {}
}
