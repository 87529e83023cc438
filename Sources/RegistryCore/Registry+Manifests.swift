import Foundation
import GRDB
import OCI

extension Registry {
    /// Stores a manifest under a tag or its digest. Parsing and validation happen
    /// before the transaction; inside it, every referenced blob must be linked to the
    /// repository and every child manifest present, or nothing is written and the
    /// error names every missing digest.
    public func putManifest(
        _ repository: RepositoryName, reference: Reference, payload: [UInt8], contentType: String?, audit: AuditContext
    ) async throws -> PutManifestResult {
        guard payload.count <= configuration.maxManifestSize else {
            throw RegistryError.manifestTooLarge(limit: configuration.maxManifestSize)
        }
        let digest: Digest
        switch reference {
        case .digest(let expected):
            digest = Digest.of(payload, algorithm: expected.algorithm)
            guard digest == expected else {
                throw RegistryError.digestInvalid("the manifest's digest is \(digest), not \(expected)")
            }
        case .tag:
            digest = Digest.of(payload)
        }
        let parsed: ParsedManifest
        do {
            parsed = try ManifestParser.parse(payload, contentType: contentType)
        } catch {
            switch error {
            case .invalid(let why): throw RegistryError.manifestInvalid(why)
            case .unsupportedMediaType(let why): throw RegistryError.manifestInvalid(why)
            }
        }
        let annotations = parsed.annotations.flatMap { try? JSONEncoder().encode($0) }.map { String(decoding: $0, as: UTF8.self) }
        try await write { db in
            let repositoryID = try Self.ensureRepository(db, repository, audit: audit)
            let missing = try Self.missingReferences(db, repositoryID: repositoryID, parsed)
            guard missing.isEmpty else { throw RegistryError.manifestBlobUnknown(missing) }
            let manifestID = try Self.insertManifest(
                db, repositoryID: repositoryID, digest: digest, parsed: parsed, payload: payload,
                annotations: annotations, audit: audit, repository: repository)
            if case .tag(let tag) = reference {
                try Self.pointTag(db, repositoryID: repositoryID, tag: tag, manifestID: manifestID, digest: digest,
                                  audit: audit, repository: repository)
            }
        }
        return PutManifestResult(digest: digest, subject: parsed.subject?.digest)
    }

    private static func missingReferences(_ db: Database, repositoryID: Int64, _ parsed: ParsedManifest) throws -> [Digest] {
        let blobLinked = try db.cachedStatement(sql: "SELECT EXISTS (SELECT 1 FROM repository_blobs WHERE repository_id = ? AND digest = ?)")
        let childPresent = try db.cachedStatement(sql: "SELECT EXISTS (SELECT 1 FROM manifests WHERE repository_id = ? AND digest = ?)")
        var missing: [Digest] = []
        for blob in parsed.blobs where try Bool.fetchOne(blobLinked, arguments: [repositoryID, blob.description]) != true {
            missing.append(blob)
        }
        for child in parsed.children where try Bool.fetchOne(childPresent, arguments: [repositoryID, child.description]) != true {
            missing.append(child)
        }
        return missing
    }

    private static func insertManifest(
        _ db: Database, repositoryID: Int64, digest: Digest, parsed: ParsedManifest, payload: [UInt8],
        annotations: String?, audit: AuditContext, repository: RepositoryName
    ) throws -> Int64 {
        if let id = try Int64.fetchOne(db, sql: "SELECT id FROM manifests WHERE repository_id = ? AND digest = ?",
                                       arguments: [repositoryID, digest.description]) {
            // A re-push is a new promise to the client: GC counts the delay from it.
            try db.execute(sql: "UPDATE manifests SET pushed_at = strftime('%Y-%m-%d %H:%M:%f', 'now') WHERE id = ?", arguments: [id])
            try recordAudit(db, audit, action: "manifest.put", repository: repository, digest: digest.description, size: Int64(payload.count))
            return id
        }
        try db.execute(sql: """
            INSERT INTO manifests(repository_id, digest, media_type, artifact_type, subject_digest, size, payload, annotations)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?)
            """, arguments: [
                repositoryID, digest.description, parsed.mediaType, parsed.artifactType,
                parsed.subject?.digest.description, payload.count, Data(payload), annotations,
            ])
        let id = db.lastInsertedRowID
        for blob in parsed.blobs {
            try db.execute(sql: "INSERT INTO manifest_blobs(manifest_id, digest) VALUES (?, ?)", arguments: [id, blob.description])
        }
        for child in parsed.children {
            try db.execute(sql: """
                INSERT INTO manifest_children(parent_id, child_id)
                SELECT ?, id FROM manifests WHERE repository_id = ? AND digest = ?
                """, arguments: [id, repositoryID, child.description])
        }
        try recordAudit(db, audit, action: "manifest.put", repository: repository, digest: digest.description, size: Int64(payload.count))
        return id
    }

    private static func pointTag(
        _ db: Database, repositoryID: Int64, tag: Tag, manifestID: Int64, digest: Digest,
        audit: AuditContext, repository: RepositoryName
    ) throws {
        let current = try Int64.fetchOne(db, sql: "SELECT manifest_id FROM tags WHERE repository_id = ? AND name = ?",
                                         arguments: [repositoryID, tag.value])
        switch current {
        case nil:
            try db.execute(sql: "INSERT INTO tags(repository_id, name, manifest_id) VALUES (?, ?, ?)",
                           arguments: [repositoryID, tag.value, manifestID])
            try recordAudit(db, audit, action: "tag.create", repository: repository, tag: tag.value, digest: digest.description)
        case manifestID:
            break
        default:
            try db.execute(sql: """
                UPDATE tags SET manifest_id = ?, updated_at = strftime('%Y-%m-%d %H:%M:%f', 'now')
                WHERE repository_id = ? AND name = ?
                """, arguments: [manifestID, repositoryID, tag.value])
            try recordAudit(db, audit, action: "tag.move", repository: repository, tag: tag.value, digest: digest.description)
        }
    }

    /// The manifest a tag or digest names, with its exact bytes.
    public func manifest(_ repository: RepositoryName, _ reference: Reference) async throws -> StoredManifest {
        let found = try await read { db -> StoredManifest? in
            let statement: Statement
            switch reference {
            case .tag:
                statement = try db.cachedStatement(sql: """
                    SELECT m.digest, m.media_type, m.payload FROM repositories r
                    JOIN tags t ON t.repository_id = r.id JOIN manifests m ON m.id = t.manifest_id
                    WHERE r.name = ? AND t.name = ?
                    """)
            case .digest:
                statement = try db.cachedStatement(sql: """
                    SELECT m.digest, m.media_type, m.payload FROM repositories r
                    JOIN manifests m ON m.repository_id = r.id
                    WHERE r.name = ? AND m.digest = ?
                    """)
            }
            guard let row = try Row.fetchOne(statement, arguments: [repository.value, reference.description]),
                  let digest = Digest(row["digest"] as String)
            else { return nil }
            let payload: Data = row["payload"]
            return StoredManifest(digest: digest, mediaType: row["media_type"], payload: Array(payload))
        }
        guard let found else { throw RegistryError.manifestUnknown(reference.description) }
        return found
    }

    /// Deletes a tag (by tag) or a manifest with every tag pointing at it (by digest).
    /// A manifest an index still lists is refused: the index would break.
    public func deleteManifest(_ repository: RepositoryName, _ reference: Reference, audit: AuditContext) async throws {
        guard configuration.deleteEnabled else { throw RegistryError.unsupported("deletes are disabled on this registry") }
        try await write { db in
            guard let repositoryID = try Self.repositoryID(db, repository) else {
                throw RegistryError.manifestUnknown(reference.description)
            }
            switch reference {
            case .tag(let tag):
                let digest = try String.fetchOne(db, sql: """
                    SELECT m.digest FROM tags t JOIN manifests m ON m.id = t.manifest_id
                    WHERE t.repository_id = ? AND t.name = ?
                    """, arguments: [repositoryID, tag.value])
                guard let digest else { throw RegistryError.manifestUnknown(tag.value) }
                try db.execute(sql: "DELETE FROM tags WHERE repository_id = ? AND name = ?", arguments: [repositoryID, tag.value])
                try Self.recordAudit(db, audit, action: "tag.delete", repository: repository, tag: tag.value, digest: digest)
            case .digest(let digest):
                try Self.deleteManifest(db, repositoryID: repositoryID, digest: digest, audit: audit, repository: repository)
            }
        }
    }

    private static func deleteManifest(_ db: Database, repositoryID: Int64, digest: Digest, audit: AuditContext, repository: RepositoryName) throws {
        guard let id = try Int64.fetchOne(db, sql: "SELECT id FROM manifests WHERE repository_id = ? AND digest = ?",
                                          arguments: [repositoryID, digest.description])
        else { throw RegistryError.manifestUnknown(digest.description) }
        let parents = try String.fetchAll(db, sql: """
            SELECT p.digest FROM manifest_children c JOIN manifests p ON p.id = c.parent_id
            WHERE c.child_id = ? ORDER BY p.digest LIMIT 10
            """, arguments: [id])
        guard parents.isEmpty else { throw RegistryError.manifestReferenced(digest, byIndexes: parents) }
        for tag in try String.fetchAll(db, sql: "SELECT name FROM tags WHERE manifest_id = ? ORDER BY name", arguments: [id]) {
            try recordAudit(db, audit, action: "tag.delete", repository: repository, tag: tag, digest: digest.description)
        }
        try db.execute(sql: "DELETE FROM manifests WHERE id = ?", arguments: [id])
        try recordAudit(db, audit, action: "manifest.delete", repository: repository, digest: digest.description)
    }
}
