import Crypto

/// A content digest, `algorithm:encoded`, as the OCI image spec defines it.
///
/// Only the algorithms the registry can verify are accepted (`sha256`, `sha512`);
/// the encoded part must be lowercase hex of the algorithm's length, so a digest is
/// always safe to use as a file name.
public struct Digest: Hashable, Sendable, CustomStringConvertible, Comparable {
    public enum Algorithm: String, Sendable, CaseIterable {
        case sha256
        case sha512

        public var hexLength: Int { self == .sha256 ? 64 : 128 }
    }

    public let algorithm: Algorithm
    public let encoded: String

    public init?(_ string: some StringProtocol) {
        // On the UTF-8 view: the GC parses thousands of digests per batch.
        let utf8 = string.utf8
        guard let colon = utf8.firstIndex(of: UInt8(ascii: ":")) else { return nil }
        let name = utf8[..<colon]
        let algorithm: Algorithm
        if name.elementsEqual("sha256".utf8) {
            algorithm = .sha256
        } else if name.elementsEqual("sha512".utf8) {
            algorithm = .sha512
        } else {
            return nil
        }
        let start = utf8.index(after: colon)
        let encoded = utf8[start...]
        guard encoded.count == algorithm.hexLength,
              encoded.allSatisfy({ ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x66) })
        else { return nil }
        self.algorithm = algorithm
        self.encoded = String(string[start...])
    }

    /// Whether a string has the general digest shape (`algorithm:encoded`) from the
    /// image spec's grammar, even when the algorithm is one this registry does not support.
    public static func looksLikeDigest(_ string: some StringProtocol) -> Bool {
        guard let colon = string.firstIndex(of: ":") else { return false }
        let algorithm = string[..<colon]
        let encoded = string[string.index(after: colon)...]
        guard !algorithm.isEmpty, !encoded.isEmpty else { return false }
        let algorithmOK = algorithm.utf8.allSatisfy {
            ($0 >= 0x61 && $0 <= 0x7a) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2b || $0 == 0x2e || $0 == 0x5f || $0 == 0x2d
        }
        let encodedOK = encoded.utf8.allSatisfy {
            ($0 >= 0x61 && $0 <= 0x7a) || ($0 >= 0x41 && $0 <= 0x5a) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x3d || $0 == 0x5f || $0 == 0x2d
        }
        return algorithmOK && encodedOK
    }

    public var description: String { "\(algorithm.rawValue):\(encoded)" }

    public static func < (lhs: Digest, rhs: Digest) -> Bool { lhs.description < rhs.description }

    /// The digest of a byte sequence held in memory (manifests only; blobs are
    /// hashed incrementally with `DigestHasher`).
    public static func of(_ bytes: some Sequence<UInt8>, algorithm: Algorithm = .sha256) -> Digest {
        var hasher = DigestHasher(algorithm: algorithm)
        hasher.update(Array(bytes))
        return hasher.finalize()
    }
}

/// Incremental hashing for one of the supported digest algorithms.
public struct DigestHasher: Sendable {
    private enum State: Sendable {
        case sha256(SHA256)
        case sha512(SHA512)
    }

    private var state: State
    public let algorithm: Digest.Algorithm

    public init(algorithm: Digest.Algorithm) {
        self.algorithm = algorithm
        switch algorithm {
        case .sha256: state = .sha256(SHA256())
        case .sha512: state = .sha512(SHA512())
        }
    }

    public mutating func update(_ bytes: UnsafeRawBufferPointer) {
        switch state {
        case .sha256(var h): h.update(bufferPointer: bytes); state = .sha256(h)
        case .sha512(var h): h.update(bufferPointer: bytes); state = .sha512(h)
        }
    }

    public mutating func update(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { update($0) }
    }

    /// Lower-case hex, two digits a byte.
    private static func hex(_ bytes: some Sequence<UInt8>) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var text: [UInt8] = []
        for byte in bytes { text += [digits[Int(byte >> 4)], digits[Int(byte & 0x0f)]] }
        return String(decoding: text, as: UTF8.self)
    }

    public func finalize() -> Digest {
        let hex: String
        switch state {
        case .sha256(let h): hex = Self.hex(h.finalize())
        case .sha512(let h): hex = Self.hex(h.finalize())
        }
        return Digest("\(algorithm.rawValue):\(hex)")!
    }
}
