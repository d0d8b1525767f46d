// Something that is not an executor at all.
struct Kettle;

fn main() {
    let _task = aiokit::spawn_local_task(&Kettle, async { 1 });
}
