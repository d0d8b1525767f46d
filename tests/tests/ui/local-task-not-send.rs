// A `LocalTask` may hold `!Send` callbacks: it cannot leave its thread.
fn main() {
    let pool = futures::executor::LocalPool::new();
    let task = aiokit::spawn_local_task(&pool.spawner(), async { 1 });
    std::thread::spawn(move || task.done());
}
