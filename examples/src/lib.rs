//! Runnable twins of the asyncio tutorial programs; see `examples/`.
