/// The calls in flight on one connection in one direction, by call id.
///
/// `Dictionary<UInt32, _>` hashes every key with SipHash, and a forwarded call looks its id up
/// about seven times across the broker's two connections. Here an id is
/// hashed by one multiplication (multiply-shift). The multiplier is random per table: a peer
/// that does not know it cannot pick ids that collide, so it cannot build long probe chains on
/// purpose (up to `ConnectionConfiguration.maxConcurrentInboundCalls` of them), which is what
/// SipHash's random seed gives `Dictionary`.
///
/// Open addressing with linear probing, at most half full, and removal by shifting later
/// entries of the run back (no tombstones, so lookups never slow down with churn). A value type
/// like `Dictionary`: iterating while removing iterates the table as it was.
struct CallTable<Value>: Sequence {
    /// Each slot's id, or `empty`; apart from the values, so that probing reads ids without
    /// copying (and retaining) the values beside them.
    private var keys: [UInt64] = []
    private var values: [Value?] = []
    /// `keys.count - 1`; slots are a power of two.
    private var mask = 0
    /// Right shift that takes a 64-bit product's top bits as a slot index.
    private var shift: UInt64 = 64
    /// Odd, so that multiplying by it is a bijection on ids.
    private let multiplier: UInt64

    private(set) var count = 0

    var isEmpty: Bool { count == 0 }

    /// No id: ids are 32-bit.
    private static var empty: UInt64 { .max }

    /// Slots kept when the table empties; larger tables are freed (64 calls in flight use 128).
    private static var retainedSlots: Int { 256 }

    init() {
        multiplier = UInt64.random(in: 1...UInt64.max) | 1
    }

    private init(multiplier: UInt64) {
        self.multiplier = multiplier
    }

    /// The first slot `key` probes.
    @inline(__always)
    private func home(of key: UInt64) -> Int {
        Int(truncatingIfNeeded: (key &* multiplier) &>> shift)
    }

    /// The slot holding `id`, or nil.
    private func slot(of id: UInt32) -> Int? {
        guard count > 0 else { return nil }
        let key = UInt64(id)
        var index = home(of: key)
        while keys[index] != Self.empty {
            if keys[index] == key { return index }
            index = (index &+ 1) & mask
        }
        return nil
    }

    subscript(id: UInt32) -> Value? {
        get {
            guard let index = slot(of: id) else { return nil }
            return values[index]
        }
        set {
            if let newValue {
                insert(newValue, for: id)
            } else {
                removeValue(forKey: id)
            }
        }
    }

    /// Stores `value` for `id`, replacing any value it had.
    mutating func insert(_ value: consuming Value, for id: UInt32) {
        if (count + 1) * 2 > keys.count { grow() }
        let key = UInt64(id)
        var index = home(of: key)
        while keys[index] != Self.empty {
            if keys[index] == key {
                values[index] = value
                return
            }
            index = (index &+ 1) & mask
        }
        keys[index] = key
        values[index] = value
        count += 1
    }

    /// Applies `change` to the value of `id` in place.
    /// - Returns: false when `id` is not there.
    mutating func update(_ id: UInt32, _ change: (inout Value) -> Void) -> Bool {
        guard let index = slot(of: id) else { return false }
        change(&values[index]!)
        return true
    }

    /// Removes `id` and returns its value, or nil when it was not there.
    @discardableResult
    mutating func removeValue(forKey id: UInt32) -> Value? {
        guard let index = slot(of: id) else { return nil }
        var removed: Value?
        swap(&removed, &values[index])
        count -= 1
        // Backward-shift deletion: an entry later in the run moves into the hole unless its home
        // lies cyclically after the hole (then the hole is not on its probe path).
        var hole = index
        var next = (index &+ 1) & mask
        while keys[next] != Self.empty {
            let distanceFromHome = (next &- home(of: keys[next])) & mask
            let distanceFromHole = (next &- hole) & mask
            if distanceFromHome >= distanceFromHole {
                keys[hole] = keys[next]
                values.swapAt(hole, next)
                hole = next
            }
            next = (next &+ 1) & mask
        }
        keys[hole] = Self.empty
        // A burst of calls leaves a large table behind; let it go once the burst is over.
        if count == 0, keys.count > Self.retainedSlots { self = CallTable(multiplier: multiplier) }
        return removed
    }

    mutating func removeAll() {
        self = CallTable(multiplier: multiplier)
    }

    private mutating func grow() {
        let oldKeys = keys
        var oldValues = values
        let capacity = Swift.max(16, oldKeys.count * 2)
        keys = Array(repeating: Self.empty, count: capacity)
        values = Array(repeating: nil, count: capacity)
        mask = capacity - 1
        shift = UInt64(64 - capacity.trailingZeroBitCount)
        count = 0
        for (index, key) in oldKeys.enumerated() where key != Self.empty {
            var value: Value?
            swap(&value, &oldValues[index])
            insert(value!, for: UInt32(truncatingIfNeeded: key))
        }
    }

    func makeIterator() -> some IteratorProtocol<(id: UInt32, value: Value)> {
        zip(keys, values).lazy.compactMap { key, value in
            value.map { (id: UInt32(truncatingIfNeeded: key), value: $0) }
        }.makeIterator()
    }
}
