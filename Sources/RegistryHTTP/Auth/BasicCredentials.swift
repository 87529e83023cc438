import Foundation

/// `Authorization: Basic base64(user:password)`.
struct BasicCredentials: Sendable {
    var user: String
    var password: String

    init(user: String, password: String) {
        self.user = user
        self.password = password
    }

    /// Parses the header value; nil when it is not Basic or not decodable.
    init?(header: String) {
        guard header.count > 6, header.prefix(6).lowercased() == "basic " else { return nil }
        let encoded = header.dropFirst(6).trimmingCharacters(in: .whitespaces)
        guard let data = Data(base64Encoded: encoded), let text = String(data: data, encoding: .utf8),
              let colon = text.firstIndex(of: ":")
        else { return nil }
        user = String(text[..<colon])
        password = String(text[text.index(after: colon)...])
    }
}

/// `Authorization: Bearer <token>`: the token, or nil.
func bearerToken(header: String) -> String? {
    guard header.count > 7, header.prefix(7).lowercased() == "bearer " else { return nil }
    let token = header.dropFirst(7).trimmingCharacters(in: .whitespaces)
    return token.isEmpty ? nil : token
}
