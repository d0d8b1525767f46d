// A `Send` task's done-callbacks may run on any executor thread: a `!Send` one is refused.
use std::cell::RefCell;
use std::rc::Rc;

use aiokit::Task;

fn main() {
    let pool = futures_executor::ThreadPool::new().unwrap();
    let task = aiokit::spawn_task(&pool, async { 1 });
    let log = Rc::new(RefCell::new(Vec::new()));
    task.add_done_callback(move |t: &Task<i32>| log.borrow_mut().push(*t.result().unwrap()));
}
