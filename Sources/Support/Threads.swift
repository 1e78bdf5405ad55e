#if canImport(Glibc)
import Glibc
#endif

/// A FIFO with a capacity: `push` blocks while it is full, `pop` while it is empty.
public final class BoundedQueue<T>: @unchecked Sendable {
    private var items: [T?] = []
    private var head = 0
    private var capacity: Int
    private var closed = false
    private var mutex = pthread_mutex_t()
    private var notEmpty = pthread_cond_t()
    private var notFull = pthread_cond_t()

    public init(capacity: Int) {
        self.capacity = capacity
        pthread_mutex_init(&mutex, nil)
        pthread_cond_init(&notEmpty, nil)
        pthread_cond_init(&notFull, nil)
    }

    deinit {
        pthread_mutex_destroy(&mutex)
        pthread_cond_destroy(&notEmpty)
        pthread_cond_destroy(&notFull)
    }

    public func push(_ x: T) {
        pthread_mutex_lock(&mutex)
        while items.count - head >= capacity { pthread_cond_wait(&notFull, &mutex) }
        items.append(x)
        pthread_cond_signal(&notEmpty)
        pthread_mutex_unlock(&mutex)
    }

    /// Returns nil once the queue is closed and drained.
    public func pop() -> T? {
        pthread_mutex_lock(&mutex)
        while items.count == head && !closed { pthread_cond_wait(&notEmpty, &mutex) }
        var x: T? = nil
        if items.count > head {
            x = items[head]
            items[head] = nil
            head += 1
            if head > 64 && head * 2 > items.count {
                items.removeFirst(head)
                head = 0
            }
        }
        pthread_cond_signal(&notFull)
        pthread_mutex_unlock(&mutex)
        return x
    }

    /// Changes how many items the queue holds before `push` waits. Items already queued stay:
    /// while more are queued than the new capacity, pushers wait for the queue to drain below it.
    public func setCapacity(_ c: Int) {
        pthread_mutex_lock(&mutex)
        capacity = max(1, c)
        pthread_cond_broadcast(&notFull)
        pthread_mutex_unlock(&mutex)
    }

    public func close() {
        pthread_mutex_lock(&mutex)
        closed = true
        pthread_cond_broadcast(&notEmpty)
        pthread_mutex_unlock(&mutex)
    }
}

private final class ThreadBody: @unchecked Sendable {
    let run: () -> Void
    init(_ run: @escaping () -> Void) { self.run = run }
}

/// A joinable POSIX thread (keeps Foundation out of the counting module).
public final class JoinableThread: @unchecked Sendable {
    private var tid = pthread_t()

    public init(_ body: @escaping () -> Void) {
        let box = Unmanaged.passRetained(ThreadBody(body)).toOpaque()
        let rc = pthread_create(&tid, nil, { raw in
            let b = Unmanaged<ThreadBody>.fromOpaque(raw!).takeRetainedValue()
            b.run()
            return nil
        }, box)
        precondition(rc == 0, "pthread_create failed: \(rc)")
    }

    private var joined = false

    /// Waits for the thread to finish; later calls return at once.
    public func join() {
        if joined { return }
        joined = true
        pthread_join(tid, nil)
    }

    /// Lets the thread run on unwaited (its resources are freed when it ends); `join` then returns at once.
    public func detach() {
        if joined { return }
        joined = true
        pthread_detach(tid)
    }
}

/// Drops `value` on a detached thread of its own: freeing a large structure of many small objects
/// (parsed rows, their dictionaries) then costs the caller nothing. Parts the caller still shares
/// stay valid: reference counts are atomic, and copy-on-write copies before a write.
public func releaseInBackground<T>(_ value: consuming T) {
    let box = UncheckedBox(value)
    JoinableThread { _ = box }.detach()
}

/// Counts arrivals; `wait(seconds:)` returns true once `count` parties have arrived.
public final class Latch: @unchecked Sendable {
    private var remaining: Int
    private var mutex = pthread_mutex_t()
    private var cond = pthread_cond_t()

    public init(count: Int) {
        remaining = count
        pthread_mutex_init(&mutex, nil)
        pthread_cond_init(&cond, nil)
    }

    deinit {
        pthread_mutex_destroy(&mutex)
        pthread_cond_destroy(&cond)
    }

    public func arrive() {
        pthread_mutex_lock(&mutex)
        remaining -= 1
        if remaining <= 0 { pthread_cond_broadcast(&cond) }
        pthread_mutex_unlock(&mutex)
    }

    /// Waits up to `seconds`; true when everyone has arrived.
    public func wait(seconds: Double) -> Bool {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        let ns = Int(ts.tv_nsec) + Int(seconds * 1e9)
        ts.tv_sec += ns / 1_000_000_000
        ts.tv_nsec = ns % 1_000_000_000
        pthread_mutex_lock(&mutex)
        while remaining > 0 {
            if pthread_cond_timedwait(&cond, &mutex, &ts) == ETIMEDOUT { break }
        }
        let done = remaining <= 0
        pthread_mutex_unlock(&mutex)
        return done
    }
}

/// A value behind a POSIX mutex. (The standard library's `Mutex` locks with raw futex calls on
/// Linux, which ThreadSanitizer cannot see, so `make sanitize` reported races through it.)
public final class Locked<Value>: @unchecked Sendable {
    private var value: Value
    private var mutex = pthread_mutex_t()

    public init(_ value: Value) {
        self.value = value
        pthread_mutex_init(&mutex, nil)
    }

    deinit { pthread_mutex_destroy(&mutex) }

    public func withLock<R>(_ body: (inout Value) -> R) -> R {
        pthread_mutex_lock(&mutex)
        defer { pthread_mutex_unlock(&mutex) }
        return body(&value)
    }
}

/// `body(range)` for contiguous chunks of 0..<count, on up to `threads` threads (one when `count`
/// is below `minimumPerThread` times two), the results concatenated in order. A chunk can set up
/// state of its own (a tokenizer, scratch buffers) once. `body` runs concurrently with itself: it
/// must only read shared state.
public func parallelChunks<T>(_ count: Int, threads: Int = onlineCores(), minimumPerThread: Int = 256,
                              _ body: (Range<Int>) -> [T]) -> [T] {
    let chunks = max(1, min(threads, count / max(1, minimumPerThread)))
    if chunks == 1 { return body(0..<count) }
    func range(_ c: Int) -> Range<Int> { (count * c / chunks)..<(count * (c + 1) / chunks) }
    return withoutActuallyEscaping(body) { body in
        let box = UncheckedBox(body)
        let parts = Locked([[T]](repeating: [], count: chunks))
        let workers = (1..<chunks).map { c in
            JoinableThread { let part = box.value(range(c)); parts.withLock { $0[c] = part } }
        }
        let first = body(range(0))
        for w in workers { w.join() }
        return parts.withLock { first + $0[1...].joined() }
    }
}

/// `body(i)` for every i in 0..<count, on threads as `parallelChunks` splits it, in order.
public func parallelMap<T>(_ count: Int, threads: Int = onlineCores(), minimumPerThread: Int = 256,
                           _ body: (Int) -> T) -> [T] {
    parallelChunks(count, threads: threads, minimumPerThread: minimumPerThread) { $0.map(body) }
}

/// A value handed to other threads whose concurrent use the caller vouches for.
private final class UncheckedBox<T>: @unchecked Sendable {
    let value: T
    init(_ v: T) { value = v }
}
