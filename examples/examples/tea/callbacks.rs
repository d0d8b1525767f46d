//! Done-callbacks with `partial!` (filled by the TaskGroup / Task work).

pub async fn run() {}
