//! `asyncio.wait` and `as_completed` (filled by the wait / as_completed work).

pub async fn run() {}
