import SanlianTestHarness
import Testing

@testable import SanlianRPC

@Suite("The table of calls in flight, by call id")
struct CallTableTests {
    /// Ids as they come: a peer's sequential odd or even ids, a few dozen that crowd a small table,
    /// and any 32-bit value (0 and the largest among them).
    private static func id(using generator: inout SplitMix64) -> UInt32 {
        switch Int.random(in: 0..<4, using: &generator) {
        case 0: return UInt32.random(in: 0..<48, using: &generator)
        case 1: return UInt32.random(in: 0..<400, using: &generator) * 2 + 1
        case 2: return [0, 1, UInt32.max, UInt32.max - 1].randomElement(using: &generator)!
        default: return UInt32.random(in: 0...UInt32.max, using: &generator)
        }
    }

    @Test("agrees with a Dictionary over 200,000 random inserts, replacements, updates and removals")
    func agreesWithDictionary() {
        var generator = SplitMix64(seed: 0x5A17_C0DE)
        var table = CallTable<Int>()
        var expected: [UInt32: Int] = [:]
        for step in 0..<200_000 {
            let id = Self.id(using: &generator)
            switch Int.random(in: 0..<10, using: &generator) {
            case 0..<4:
                table[id] = step
                expected[id] = step
            case 4..<7:
                #expect(table.removeValue(forKey: id) == expected.removeValue(forKey: id))
            case 7:
                let updated = table.update(id) { $0 += 1 }
                #expect(updated == (expected[id] != nil))
                if updated { expected[id]! += 1 }
            case 8:
                table[id] = nil
                expected[id] = nil
            default:
                #expect(table[id] == expected[id])
            }
            #expect(table.count == expected.count)
            #expect(table.isEmpty == expected.isEmpty)
            if step % 5_000 == 0 {
                #expect(Dictionary(uniqueKeysWithValues: table.map { ($0.id, $0.value) }) == expected)
                // Now and then empty it all, so that the table also shrinks and regrows.
                if Int.random(in: 0..<4, using: &generator) == 0 {
                    table.removeAll()
                    expected.removeAll()
                }
            }
        }
        #expect(Dictionary(uniqueKeysWithValues: table.map { ($0.id, $0.value) }) == expected)
    }

    @Test("ids a peer picks to share their low bits are all kept, found and removed")
    func idsSharingLowBits() {
        var table = CallTable<UInt32>()
        let ids = (0..<10_000).map { UInt32($0) << 18 | 1 }
        for id in ids { table[id] = id }
        #expect(table.count == ids.count)
        #expect(ids.allSatisfy { table[$0] == $0 })
        for id in ids where id % 3 == 0 { table.removeValue(forKey: id) }
        #expect(ids.allSatisfy { table[$0] == ($0 % 3 == 0 ? nil : $0) })
        for id in ids { table.removeValue(forKey: id) }
        #expect(table.isEmpty)
        #expect(table[ids[0]] == nil)
        table[7] = 7
        #expect(table[7] == 7 && table.count == 1, "usable again after it was emptied and let go")
    }

    @Test("removing while iterating visits every call of the table as it was, once")
    func removingWhileIterating() {
        var table = CallTable<String>()
        for id in stride(from: UInt32(1), to: 200, by: 2) { table[id] = "call \(id)" }
        var visited: [UInt32] = []
        for (id, value) in table {
            #expect(value == "call \(id)")
            visited.append(id)
            table.removeValue(forKey: id)
        }
        #expect(visited.sorted() == Array(stride(from: UInt32(1), to: 200, by: 2)))
        #expect(table.isEmpty)
    }
}
