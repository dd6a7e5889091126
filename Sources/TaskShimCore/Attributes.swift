/// Named string values kept sorted by name: a CloudEvent's context attributes, what a platform said
/// about an invocation. A handful of short names, where a scan is cheaper than hashing (a
/// dictionary's hashes were a percent of an HTTP server's time); iterated in name order, the order
/// they are written in.
public struct Attributes: Sendable, Equatable, Sequence, ExpressibleByDictionaryLiteral {
    @usableFromInline var pairs: [(name: String, value: String)] = []

    public init() {}

    public init(capacity: Int) {
        pairs.reserveCapacity(capacity)
    }

    /// Inlinable, so the literal's own array can live on the stack.
    @inlinable
    public init(dictionaryLiteral elements: (String, String)...) {
        pairs.reserveCapacity(elements.count)
        for (name, value) in elements { self[name] = value }
    }

    public var count: Int { pairs.count }
    public var isEmpty: Bool { pairs.isEmpty }

    public subscript(name: String) -> String? {
        get { pairs.first { $0.name == name }?.value }
        set {
            // Names set in order (a literal written sorted) are appended after one comparison.
            if let newValue, pairs.last.map({ $0.name < name }) ?? true {
                pairs.append((name, newValue))
            } else if let index = pairs.firstIndex(where: { $0.name == name }) {
                if let newValue { pairs[index].value = newValue } else { pairs.remove(at: index) }
            } else if let newValue {
                pairs.insert((name, newValue), at: pairs.firstIndex { $0.name > name } ?? pairs.endIndex)
            }
        }
    }

    /// Name and value pairs in name order.
    public func makeIterator() -> IndexingIterator<[(name: String, value: String)]> {
        pairs.makeIterator()
    }

    public static func == (left: Attributes, right: Attributes) -> Bool {
        left.pairs.elementsEqual(right.pairs) { $0 == $1 }
    }
}
