/// How many rows a deleting write transaction takes on: small to start with, so that
/// each holds SQLite's write lock briefly; halved after a transaction that held it
/// longer than the target, doubled (up to `maximum`) after one that took under half.
struct BatchPacing: Sendable {
    var initial: Int
    var minimum: Int
    var maximum: Int
    var targetMilliseconds: Double

    func next(after size: Int, held: Duration) -> Int {
        let milliseconds = held.milliseconds
        if milliseconds > targetMilliseconds { return max(min(minimum, initial), size / 2) }
        if milliseconds < targetMilliseconds / 2 { return min(maximum, size * 2) }
        return size
    }
}
