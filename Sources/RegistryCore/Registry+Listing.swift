import GRDB
import OCI

extension Registry {
    /// Tags of a repository in lexical order, `limit` at a time after `last`.
    public func tags(_ repository: RepositoryName, limit: Int?, last: String?) async throws -> ListPage {
        try await read { db in
            guard let repositoryID = try Self.repositoryID(db, repository) else {
                throw RegistryError.nameUnknown(repository.value)
            }
            let statement = try db.cachedStatement(sql: """
                SELECT name FROM tags WHERE repository_id = ? AND name > ? ORDER BY name LIMIT ?
                """)
            return try Self.page(statement, arguments: [repositoryID], last: last, limit: limit)
        }
    }

    /// Repository names in lexical order, `limit` at a time after `last`.
    public func repositories(limit: Int?, last: String?) async throws -> ListPage {
        try await read { db in
            let statement = try db.cachedStatement(sql: "SELECT name FROM repositories WHERE name > ? ORDER BY name LIMIT ?")
            return try Self.page(statement, arguments: [], last: last, limit: limit)
        }
    }

    /// Fetches one row more than asked to know whether another page follows.
    private static func page(_ statement: Statement, arguments: StatementArguments, last: String?, limit: Int?) throws -> ListPage {
        // n may be as large as Int.max: asking for one more row must not overflow (-1 = no limit).
        let sqlLimit = limit.map { $0 < Int.max ? $0 + 1 : -1 } ?? -1
        var items = try NameList.fetch(statement, arguments: arguments + [last ?? "", sqlLimit])
        guard let limit, items.count > limit else { return ListPage(items: items, next: nil) }
        items.removeLast()
        return ListPage(items: items, next: items.last)
    }

    /// Manifests in the repository whose `subject` is `digest`, optionally of one artifact type.
    public func referrers(_ repository: RepositoryName, subject digest: Digest, artifactType: String?) async throws -> [Referrer] {
        try await read { db in
            var sql = """
                SELECT m.digest, m.media_type, m.size, m.artifact_type, m.annotations
                FROM repositories r JOIN manifests m ON m.repository_id = r.id
                WHERE r.name = ? AND m.subject_digest = ?
                """
            var arguments: StatementArguments = [repository.value, digest.description]
            if let artifactType {
                sql += " AND m.artifact_type = ?"
                arguments += [artifactType]
            }
            sql += " ORDER BY m.digest"
            return try Row.fetchAll(db, sql: sql, arguments: arguments).map {
                Referrer(digest: $0["digest"], mediaType: $0["media_type"], size: $0["size"],
                         artifactType: $0["artifact_type"], annotationsJSON: $0["annotations"])
            }
        }
    }
}
