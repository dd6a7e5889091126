extension CloudEvent {
    /// Context attributes by name, as strings, kept sorted by name: the order the structured form is
    /// written in. An event has a handful of short ones, where a scan is cheaper than hashing.
    public struct Attributes: Sendable, Equatable, Sequence, ExpressibleByDictionaryLiteral {
        private var pairs: [(name: String, value: String)] = []

        public init() {}

        init(capacity: Int) {
            pairs.reserveCapacity(capacity)
        }

        public init(dictionaryLiteral elements: (String, String)...) {
            for (name, value) in elements { self[name] = value }
        }

        public var count: Int { pairs.count }

        public subscript(name: String) -> String? {
            get { pairs.first { $0.name == name }?.value }
            set {
                if let index = pairs.firstIndex(where: { $0.name == name }) {
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
}
