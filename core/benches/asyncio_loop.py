"""CPython's side of core/benches/event_loop.rs: asyncio's loop.call_soon and gather of N
trivial tasks, on this machine. Prints "<workload> <N> <ns per op>" lines (median of rounds),
in the thread's CPU time, as the Rust side measures."""

import asyncio
import statistics
import sys
import time


def call_soon(n):
    loop = asyncio.new_event_loop()
    count = 0

    def callback():
        nonlocal count
        count += 1

    start = time.thread_time_ns()
    for _ in range(n):
        loop.call_soon(callback)
    loop.call_soon(loop.stop)
    loop.run_forever()
    elapsed = time.thread_time_ns() - start
    loop.close()
    assert count == n
    return elapsed / n


def create_task(n):
    async def trivial(i):
        return i

    async def main():
        start = time.thread_time_ns()
        results = await asyncio.gather(*[asyncio.create_task(trivial(i)) for i in range(n)])
        elapsed = time.thread_time_ns() - start
        assert sum(results) == n * (n - 1) // 2
        return elapsed / n

    return asyncio.run(main())


def main():
    sizes = [int(a) for a in sys.argv[1].split(",")]
    rounds = int(sys.argv[2])
    for n in sizes:
        for name, workload in (("call_soon", call_soon), ("create_task", create_task)):
            figures = [workload(n) for _ in range(rounds)]
            print(name, n, round(statistics.median(figures), 1))


if __name__ == "__main__":
    main()
