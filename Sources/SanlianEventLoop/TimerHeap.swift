/// A task an event loop runs at a deadline. It knows its place in the heap, so that cancelling
/// it (every call's deadline timer is cancelled when a call ends first) costs O(log n), not a
/// search.
///
/// `@unchecked Sendable`: created on any thread, then touched only on its loop.
final class LoopTimer: @unchecked Sendable {
    /// `NIODeadline.uptimeNanoseconds`.
    let deadline: UInt64
    /// Dropped once the timer fires or is removed: the `Scheduled` its owner keeps holds the
    /// timer, and the body holds whatever the task captured (a connection's handler keeps its
    /// ping timer's `Scheduled`), so keeping the body would make a cycle that outlives both.
    private var body: (() -> Void)?
    /// Orders timers with one deadline by when they were scheduled.
    fileprivate var sequence: UInt64 = 0
    /// Its index in the heap; -1 when not in it (not yet inserted, fired or cancelled).
    fileprivate var index = -1

    init(deadline: UInt64, body: @escaping () -> Void) {
        self.deadline = deadline
        self.body = body
    }

    /// Runs the body, once; call after taking the timer out of its heap.
    func fire() {
        let body = self.body
        self.body = nil
        body?()
    }

    /// Forgets the body of a timer that will not fire.
    fileprivate func cancel() {
        body = nil
    }

    fileprivate func precedes(_ other: LoopTimer) -> Bool {
        deadline < other.deadline || (deadline == other.deadline && sequence < other.sequence)
    }
}

/// A binary min-heap of timers by deadline, then by order of scheduling. Confined to its loop.
struct TimerHeap {
    private var heap: [LoopTimer] = []
    private var nextSequence: UInt64 = 0

    var earliestDeadline: UInt64? { heap.first?.deadline }
    var count: Int { heap.count }

    mutating func insert(_ timer: LoopTimer) {
        guard timer.index < 0 else { return }
        timer.sequence = nextSequence
        nextSequence &+= 1
        timer.index = heap.count
        heap.append(timer)
        siftUp(heap.count - 1)
    }

    /// Takes `timer` out; nothing when it already fired or was removed.
    mutating func remove(_ timer: LoopTimer) {
        let index = timer.index
        guard index >= 0, index < heap.count, heap[index] === timer else { return }
        removeAt(index)
        timer.cancel()
    }

    /// The earliest timer when its deadline is at or before `now`, taken out.
    mutating func popDue(now: UInt64) -> LoopTimer? {
        guard let first = heap.first, first.deadline <= now else { return nil }
        removeAt(0)
        return first
    }

    private mutating func removeAt(_ index: Int) {
        let removed = heap[index]
        removed.index = -1
        let last = heap.removeLast()
        guard index < heap.count else { return }
        heap[index] = last
        last.index = index
        if index > 0, last.precedes(heap[(index - 1) / 2]) {
            siftUp(index)
        } else {
            siftDown(index)
        }
    }

    private mutating func siftUp(_ start: Int) {
        var child = start
        let timer = heap[child]
        while child > 0 {
            let parent = (child - 1) / 2
            guard timer.precedes(heap[parent]) else { break }
            heap[child] = heap[parent]
            heap[child].index = child
            child = parent
        }
        heap[child] = timer
        timer.index = child
    }

    private mutating func siftDown(_ start: Int) {
        var parent = start
        let timer = heap[parent]
        while true {
            var child = 2 * parent + 1
            guard child < heap.count else { break }
            if child + 1 < heap.count, heap[child + 1].precedes(heap[child]) { child += 1 }
            guard heap[child].precedes(timer) else { break }
            heap[parent] = heap[child]
            heap[parent].index = parent
            parent = child
        }
        heap[parent] = timer
        timer.index = parent
    }
}
