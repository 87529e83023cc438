import Foundation
import GRDB
import OCI
@testable import RegistryCore
import Testing
import TestSupport

/// A store with garbage of every kind GC handles, and what a run should report.
struct PlantedGarbage: Sendable {
    var liveImage: PushedManifest
    var untaggedImage: PushedManifest
    var untaggedIndex: PushedManifest
    var deletedImage: PushedManifest
    var orphanBlob: Digest
    var idleUpload: UploadID
    var orphanFile: String

    /// Every blob the deleted and untagged manifests held alone, plus the orphan.
    var garbageBlobs: Set<String> {
        Set((untaggedImage.blobs + deletedImage.blobs).map(\.digest.description) + [orphanBlob.description])
            .subtracting(liveImage.blobs.map(\.digest.description))
    }

    var garbageManifests: Set<String> { [untaggedImage.digest.description, untaggedIndex.digest.description] }
}

extension GCStore {
    /// Pushes a live image, an untagged image listed by an untagged index, an image
    /// deleted by digest, an unreferenced blob, an idle upload session and an orphan
    /// file in blobs/; every lease is over and the session and file are old.
    func plantGarbage() async throws -> PlantedGarbage {
        let shared = randomBytes(3000)
        let live = try await pushImage("garbage/app", tag: "v1", layers: [shared, randomBytes(3001)])
        let untagged = try await pushImage("garbage/app", tag: nil, layers: [shared, randomBytes(3002)])
        let index = try await pushIndex("garbage/app", tag: nil, children: [untagged])
        let deleted = try await pushImage("garbage/app", tag: "v0", layers: [randomBytes(3003)])
        try await deleteManifest(deleted)
        let orphan = try await pushBlob("garbage/app", randomBytes(3004))
        let repository = try repo("garbage/app")
        let upload = try await registry.startUpload(repository, audit: audit)
        _ = try await registry.appendUpload(repository, upload, chunk: UploadChunk(), body: UploadBody(randomBytes(3005)))
        try await pool.write { db in
            try db.execute(sql: "UPDATE uploads SET updated_at = strftime('%Y-%m-%d %H:%M:%f', 'now', '-2 days')")
        }
        try await expireLeases()
        return PlantedGarbage(liveImage: live, untaggedImage: untagged, untaggedIndex: index, deletedImage: deleted,
                              orphanBlob: orphan, idleUpload: upload, orphanFile: try plantOrphanFile(ageSeconds: 7200))
    }

    /// A file in blobs/ that no row describes (left by a crash or a restore), `ageSeconds` old.
    func plantOrphanFile(ageSeconds: Double) throws -> String {
        let bytes = randomBytes(1234)
        let digest = Digest.of(bytes)
        try FileManager.default.createDirectory(atPath: paths.blobDirectory(digest), withIntermediateDirectories: true)
        #expect(FileManager.default.createFile(atPath: paths.blob(digest), contents: Data(bytes)))
        try age(paths.blob(digest), seconds: ageSeconds)
        return paths.blob(digest)
    }

    func age(_ path: String, seconds: Double) throws {
        try FileManager.default.setAttributes([.modificationDate: Date(timeIntervalSinceNow: -seconds)], ofItemAtPath: path)
    }

    /// A committed GC deletion whose trash file was never purged (a crash right after
    /// the commit): a journal row and the file in trash/, no blob row.
    func plantCommittedDeletion() async throws -> Digest {
        let bytes = randomBytes(2222)
        let digest = try await pushBlob("crash/committed", bytes)
        try await pool.write { db in
            try db.execute(sql: "DELETE FROM repository_blobs WHERE digest = ?", arguments: [digest.description])
            try db.execute(sql: "DELETE FROM blobs WHERE digest = ?", arguments: [digest.description])
            try db.execute(sql: "INSERT INTO blob_deletions(digest, size) VALUES (?, ?)", arguments: [digest.description, bytes.count])
        }
        try FileManager.default.moveItem(atPath: paths.blob(digest), toPath: registry.store.trashPath(digest))
        return digest
    }
}
