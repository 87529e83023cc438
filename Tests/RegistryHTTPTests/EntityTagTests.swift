@testable import RegistryHTTP
import HTTPTypes
import OCI
import Testing

/// `If-None-Match` against the ETag of a blob or manifest (its quoted digest).
@Suite("If-None-Match: weak comparison, lists, *")
struct EntityTagTests {
    static let digest = Digest("sha256:" + String(repeating: "ab", count: 32))!
    static let other = "\"sha256:" + String(repeating: "cd", count: 32) + "\""
    static var tag: String { "\"\(digest)\"" }

    static let cases: [(fields: [String], matched: Bool)] = [
        ([], false),
        ([tag], true),
        (["W/" + tag], true),
        (["*"], true),
        ([other], false),
        (["\(other), \(tag)"], true),
        (["\(other),W/\(tag)"], true),
        ([other, tag], true),
        ([other, "W/\"x\""], false),
        // Not entity tags: an unquoted digest, a tag missing its closing quote.
        (["\(digest)"], false),
        (["\"\(digest)"], false),
        // A tag may contain a comma.
        (["\"a,b\", \(tag)"], true),
        (["\"a,\(digest)\""], false),
        (["garbage, \(tag)"], true),
        ([""], false),
    ]

    @Test("which If-None-Match fields match", arguments: cases.indices)
    func matching(_ index: Int) {
        let (values, matched) = Self.cases[index]
        var fields = HTTPFields()
        for value in values { fields.append(HTTPField(name: .ifNoneMatch, value: value)) }
        #expect(EntityTag(Self.digest).isMatched(byIfNoneMatchIn: fields) == matched, "\(values)")
    }

    @Test("the ETag is the quoted digest")
    func field() {
        #expect(EntityTag(Self.digest).field == Self.tag)
    }
}
