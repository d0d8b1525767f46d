// A `LocalSet` runs `!Send` futures on its own thread: it is a `LocalSpawn`, not a `Spawn`.
fn main() {
    let local = tokio::task::LocalSet::new();
    let _task = aiokit::spawn_task(&local, async { 1 });
}
