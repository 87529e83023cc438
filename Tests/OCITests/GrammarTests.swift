import OCI
import Testing

@Suite("Digest, repository name and tag grammar")
struct GrammarTests {
    static let sha256 = "sha256:" + String(repeating: "a", count: 64)
    static let sha512 = "sha512:" + String(repeating: "0", count: 128)

    @Test("valid digests", arguments: [sha256, sha512, "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"])
    func validDigest(_ text: String) {
        #expect(Digest(text)?.description == text)
    }

    @Test("invalid digests", arguments: [
        "", "sha256", "sha256:", ":abc", "sha256:abc",
        "sha256:" + String(repeating: "A", count: 64),           // uppercase hex
        "sha256:" + String(repeating: "a", count: 63),           // too short
        "sha256:" + String(repeating: "a", count: 65),           // too long
        "sha512:" + String(repeating: "a", count: 64),           // wrong length for algorithm
        "md5:d41d8cd98f00b204e9800998ecf8427e",                   // unsupported
        "sha256:../../" + String(repeating: "a", count: 58),     // traversal
        "sha256:" + String(repeating: "g", count: 64),           // not hex
        "sha256:" + String(repeating: "a", count: 63) + "\0",
    ])
    func invalidDigest(_ text: String) {
        #expect(Digest(text) == nil)
    }

    @Test("digest of known bytes")
    func digestOfBytes() {
        #expect(Digest.of([UInt8]()).description == "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(Digest.of(Array("abc".utf8), algorithm: .sha512).description
            == "sha512:ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f")
    }

    @Test("incremental hashing equals one-shot hashing")
    func incremental() {
        let bytes = (0..<100_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        var hasher = DigestHasher(algorithm: .sha256)
        for chunk in stride(from: 0, to: bytes.count, by: 777) {
            hasher.update(Array(bytes[chunk..<min(chunk + 777, bytes.count)]))
        }
        #expect(hasher.finalize() == Digest.of(bytes))
    }

    @Test("valid repository names", arguments: [
        "a", "library/ubuntu", "a/b/c/d", "foo-bar", "foo--bar", "foo__bar", "foo_bar", "foo.bar", "a0/b1.c_d__e-f",
        "a/manifests/b", "blobs/uploads", "tags/list/x", String(repeating: "a", count: 255),
    ])
    func validName(_ text: String) {
        #expect(RepositoryName(text)?.value == text)
    }

    @Test("invalid repository names", arguments: [
        "", "A", "Foo", "-foo", "foo-", ".foo", "foo.", "foo..bar", "foo___bar", "foo/", "/foo", "foo//bar",
        "..", "../etc", "foo/../bar", "foo/./bar", "foo%2fbar", "foo%2Fbar", "foo\0bar", "foo bar", "foo\\bar",
        "foo:bar", String(repeating: "a", count: 256), "é",
    ])
    func invalidName(_ text: String) {
        #expect(RepositoryName(text) == nil)
    }

    @Test("valid tags", arguments: ["latest", "v1.0.0", "_hidden", "A-Z_a-z.0-9", "1", String(repeating: "t", count: 128)])
    func validTag(_ text: String) {
        #expect(Tag(text)?.value == text)
    }

    @Test("invalid tags", arguments: ["", ".x", "-x", "a:b", "a/b", "a b", "..", String(repeating: "t", count: 129), "ü"])
    func invalidTag(_ text: String) {
        #expect(Tag(text) == nil)
    }

    @Test("references: anything with a colon is a digest")
    func references() {
        #expect(Reference.parse("latest") == .success(.tag(Tag("latest")!)))
        #expect(Reference.parse(Self.sha256) == .success(.digest(Digest(Self.sha256)!)))
        #expect(Reference.parse("sha256:abc") == .failure(.invalidDigest))
        #expect(Reference.parse("md5:d41d8cd98f00b204e9800998ecf8427e") == .failure(.unsupportedDigestAlgorithm))
        #expect(Reference.parse("bad tag") == .failure(.invalidTag))
    }
}
