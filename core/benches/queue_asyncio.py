"""CPython's asyncio.Queue on the same put/get workload as core/benches/queue.rs.

Usage: python3 queue_asyncio.py ITEMS PRODUCERS CONSUMERS
Prints one line: the nanoseconds per item, in CPU time of the thread (best of three runs).
"""

import asyncio
import sys
import time


async def run(items, producers, consumers):
    queue = asyncio.Queue(maxsize=1024)
    per_producer = items // producers
    per_consumer = items // consumers

    async def produce():
        put = queue.put
        for i in range(per_producer):
            await put(i)

    async def consume():
        get = queue.get
        for _ in range(per_consumer):
            await get()

    start = time.thread_time_ns()
    await asyncio.gather(
        *(produce() for _ in range(producers)), *(consume() for _ in range(consumers))
    )
    return (time.thread_time_ns() - start) / items


def main():
    items, producers, consumers = (int(arg) for arg in sys.argv[1:4])
    best = min(asyncio.run(run(items, producers, consumers)) for _ in range(3))
    print(f"{best:.1f}")


if __name__ == "__main__":
    main()
