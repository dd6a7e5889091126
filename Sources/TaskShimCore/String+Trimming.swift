extension StringProtocol {
    /// Without leading and trailing white space and line breaks (`"\r\n"` included, which Swift treats
    /// as one character).
    public var trimmed: String {
        guard let first = firstIndex(where: { !$0.isWhitespace }), let last = lastIndex(where: { !$0.isWhitespace }) else { return "" }
        return String(self[first...last])
    }
}
