// docs/semantics.md#only-the-body-creates-children
// A child of `TaskGroup::on(&spawner)` is `'static`: it cannot hold the group to create
// children of its own.
fn spawner(fut: aiokit::spawn::SpawnFuture) {
    drop(fut);
}

fn main() {
    let _ = futures::executor::block_on(aiokit::TaskGroup::on(&spawner).run(async |tg| {
        tg.create_task(async move {
            tg.create_task(async { Ok::<_, ()>(()) });
            Ok(())
        });
        Ok::<_, ()>(())
    }));
}
