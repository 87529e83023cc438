import Foundation

/// Checks manifest bytes before they are decoded, so that the registry reads exactly
/// what every client reads.
///
/// - Encoding: JSON exchanged between systems is UTF-8 without a byte order mark
///   (RFC 8259 §8.1). Foundation's decoder also accepts UTF-16 and a BOM; Go does not.
/// - Duplicate keys: Foundation keeps the first of two equal keys, Go's encoding/json
///   (distribution, containerd, podman, skopeo) and JavaScript keep the last. A
///   manifest with `"layers"` twice would reference, for its clients, layers the
///   registry never protected. Any object with two equal keys is refused.
/// - Go also matches struct fields without regard to case, under Unicode simple
///   folding (`"Layers"` and `"ſize"` are `layers` and `size` to Go). In the objects
///   both sides read as structures (the manifest, descriptors, platforms) a key that
///   folds to a known field but is spelled otherwise is refused, and so are two keys
///   that fold alike.
///
/// The scanner validates the JSON grammar completely (it does not build values) and
/// bounds nesting as Foundation's decoder does.
struct StrictJSONScanner {
    /// What an object at some place in a manifest is read as.
    private enum Shape {
        case manifest, descriptor, descriptorList, platform, free

        var fields: [String: Shape]? {
            switch self {
            case .manifest:
                ["schemaVersion": .free, "mediaType": .free, "artifactType": .free, "config": .descriptor,
                 "layers": .descriptorList, "manifests": .descriptorList, "subject": .descriptor, "annotations": .free]
            case .descriptor:
                ["mediaType": .free, "digest": .free, "size": .free, "artifactType": .free, "annotations": .free,
                 "urls": .free, "platform": .platform, "data": .free]
            case .platform:
                ["architecture": .free, "os": .free, "os.version": .free, "os.features": .free,
                 "variant": .free, "features": .free]
            case .descriptorList, .free:
                nil
            }
        }
    }

    static let maximumDepth = 512

    private let bytes: [UInt8]
    private var index = 0
    private var path: [String] = []

    private init(_ bytes: [UInt8]) { self.bytes = bytes }

    static func check(_ bytes: [UInt8]) throws(ManifestParseError) {
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) {
            throw .invalid("manifest starts with a byte order mark; JSON must be UTF-8 without one")
        }
        if bytes.count >= 2, bytes[0] == 0 || bytes[1] == 0 {
            throw .invalid("manifest is not UTF-8 (UTF-16 or UTF-32?); JSON must be UTF-8")
        }
        if String(validating: bytes, as: UTF8.self) == nil {
            throw .invalid("manifest is not valid UTF-8")
        }
        var scanner = StrictJSONScanner(bytes)
        try scanner.value(.manifest, depth: 0)
        scanner.skipWhitespace()
        if scanner.index < bytes.count { throw scanner.syntaxError("unexpected data after the JSON value") }
    }

    // MARK: Grammar

    private mutating func value(_ shape: Shape, depth: Int) throws(ManifestParseError) {
        skipWhitespace()
        guard let byte = peek() else { throw syntaxError("unexpected end of input") }
        switch byte {
        case UInt8(ascii: "{"):
            try object(shape, depth: depth + 1)
        case UInt8(ascii: "["):
            try array(shape == .descriptorList ? .descriptor : .free, depth: depth + 1)
        case UInt8(ascii: "\""):
            _ = try string(decoding: false)
        case UInt8(ascii: "t"): try literal("true")
        case UInt8(ascii: "f"): try literal("false")
        case UInt8(ascii: "n"): try literal("null")
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            try number()
        default:
            throw syntaxError("unexpected character")
        }
    }

    private mutating func object(_ shape: Shape, depth: Int) throws(ManifestParseError) {
        guard depth <= Self.maximumDepth else { throw syntaxError("nested too deeply") }
        index += 1
        let fields = shape.fields
        var keys = Set<String>()
        var folded = [String: String]()
        skipWhitespace()
        if peek() == UInt8(ascii: "}") { index += 1; return }
        while true {
            skipWhitespace()
            guard peek() == UInt8(ascii: "\"") else { throw syntaxError("expected an object key") }
            let key = try string(decoding: true)
            guard keys.insert(key).inserted else { throw keyError("duplicate key \"\(key)\"") }
            var fieldShape = Shape.free
            if let fields {
                let fold = Self.fold(key)
                if let other = folded.updateValue(key, forKey: fold) {
                    throw keyError("keys \"\(other)\" and \"\(key)\" differ only in case; clients read them as one")
                }
                if let known = fields[key] {
                    fieldShape = known
                } else if let known = fields.keys.first(where: { Self.fold($0) == fold }) {
                    throw keyError("key \"\(key)\" is not \"\(known)\", but clients would read it as \"\(known)\"")
                }
            }
            skipWhitespace()
            guard peek() == UInt8(ascii: ":") else { throw syntaxError("expected ':' after an object key") }
            index += 1
            path.append(key)
            try value(fieldShape, depth: depth)
            path.removeLast()
            skipWhitespace()
            switch peek() {
            case UInt8(ascii: ","): index += 1
            case UInt8(ascii: "}"): index += 1; return
            default: throw syntaxError("expected ',' or '}' in an object")
            }
        }
    }

    private mutating func array(_ elements: Shape, depth: Int) throws(ManifestParseError) {
        guard depth <= Self.maximumDepth else { throw syntaxError("nested too deeply") }
        index += 1
        skipWhitespace()
        if peek() == UInt8(ascii: "]") { index += 1; return }
        var position = 0
        while true {
            path.append("[\(position)]")
            try value(elements, depth: depth)
            path.removeLast()
            position += 1
            skipWhitespace()
            switch peek() {
            case UInt8(ascii: ","): index += 1
            case UInt8(ascii: "]"): index += 1; return
            default: throw syntaxError("expected ',' or ']' in an array")
            }
        }
    }

    /// Reads a string starting at its opening quote; returns its decoded value when asked.
    private mutating func string(decoding: Bool) throws(ManifestParseError) -> String {
        index += 1
        var decoded: [UInt8] = []
        while let byte = peek() {
            index += 1
            switch byte {
            case UInt8(ascii: "\""):
                return decoding ? String(decoding: decoded, as: UTF8.self) : ""
            case UInt8(ascii: "\\"):
                guard let escaped = peek() else { break }
                index += 1
                let scalar: Unicode.Scalar
                switch escaped {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): scalar = Unicode.Scalar(escaped)
                case UInt8(ascii: "b"): scalar = "\u{08}"
                case UInt8(ascii: "f"): scalar = "\u{0C}"
                case UInt8(ascii: "n"): scalar = "\n"
                case UInt8(ascii: "r"): scalar = "\r"
                case UInt8(ascii: "t"): scalar = "\t"
                case UInt8(ascii: "u"): scalar = try unicodeEscape()
                default: throw syntaxError("invalid escape in a string")
                }
                if decoding { decoded.append(contentsOf: UTF8.encode(scalar)!) }
            case 0..<0x20:
                throw syntaxError("control character in a string")
            default:
                if decoding { decoded.append(byte) }
            }
        }
        throw syntaxError("unterminated string")
    }

    /// `\uXXXX`, with a surrogate pair when one follows; a lone surrogate reads as
    /// U+FFFD, as Go reads it.
    private mutating func unicodeEscape() throws(ManifestParseError) -> Unicode.Scalar {
        let first = try hex4()
        if (0xD800..<0xDC00).contains(first), bytes[index...].starts(with: [UInt8(ascii: "\\"), UInt8(ascii: "u")]) {
            let mark = index
            index += 2
            let second = try hex4()
            if (0xDC00..<0xE000).contains(second) {
                return Unicode.Scalar(0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00))!
            }
            index = mark
        }
        return Unicode.Scalar(first) ?? "\u{FFFD}"
    }

    private mutating func hex4() throws(ManifestParseError) -> UInt32 {
        var value: UInt32 = 0
        for _ in 0..<4 {
            guard let byte = peek(), let digit = Self.hexValue(byte) else { throw syntaxError("invalid \\u escape") }
            value = value << 4 | digit
            index += 1
        }
        return value
    }

    private mutating func number() throws(ManifestParseError) {
        if peek() == UInt8(ascii: "-") { index += 1 }
        if peek() == UInt8(ascii: "0") {
            index += 1
        } else {
            guard digits() > 0 else { throw syntaxError("invalid number") }
        }
        if peek() == UInt8(ascii: ".") {
            index += 1
            guard digits() > 0 else { throw syntaxError("invalid number") }
        }
        if peek() == UInt8(ascii: "e") || peek() == UInt8(ascii: "E") {
            index += 1
            if peek() == UInt8(ascii: "+") || peek() == UInt8(ascii: "-") { index += 1 }
            guard digits() > 0 else { throw syntaxError("invalid number") }
        }
    }

    private mutating func digits() -> Int {
        let start = index
        while let byte = peek(), (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) { index += 1 }
        return index - start
    }

    private mutating func literal(_ word: StaticString) throws(ManifestParseError) {
        let expected = UnsafeBufferPointer(start: word.utf8Start, count: word.utf8CodeUnitCount)
        guard bytes[index...].starts(with: expected) else { throw syntaxError("invalid literal") }
        index += expected.count
    }

    private mutating func skipWhitespace() {
        while let byte = peek(), byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09 { index += 1 }
    }

    private func peek() -> UInt8? { index < bytes.count ? bytes[index] : nil }

    // MARK: Helpers

    /// Go's case-insensitive field match, for the keys that can matter: ASCII case,
    /// plus the two non-ASCII letters that fold to ASCII (U+017F ſ and U+212A K).
    private static func fold(_ key: String) -> String {
        key.lowercased().replacingOccurrences(of: "\u{17F}", with: "s")
    }

    private static func hexValue(_ byte: UInt8) -> UInt32? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): UInt32(byte - UInt8(ascii: "0"))
        case UInt8(ascii: "a")...UInt8(ascii: "f"): UInt32(byte - UInt8(ascii: "a") + 10)
        case UInt8(ascii: "A")...UInt8(ascii: "F"): UInt32(byte - UInt8(ascii: "A") + 10)
        default: nil
        }
    }

    private var location: String {
        var text = ""
        for component in path {
            if component.hasPrefix("[") || text.isEmpty { text += component } else { text += "." + component }
        }
        return text
    }

    private func keyError(_ message: String) -> ManifestParseError {
        .invalid(path.isEmpty ? "manifest: \(message)" : "manifest \(location): \(message)")
    }

    private func syntaxError(_ message: String) -> ManifestParseError {
        .invalid("manifest is not valid JSON: \(message) at byte \(index)")
    }
}
