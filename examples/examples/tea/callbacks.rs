//! Done-callbacks: `confirm_tea` on a task, `add_ingredient` bound to "honey" with `partial!`,
//! and `mix` on a task that gathers several teas.

use std::time::Instant;

use aiokit::{Task, partial};

use super::gather::make_tea;
use super::units;

/// asyncio: `def confirm_tea(task): print(f"confirmed: {task.result()}")`
fn confirm_tea(task: &Task<String>) {
    println!(
        "  callback confirm_tea: {} is ready",
        task.result().unwrap()
    );
}

/// asyncio: `def add_ingredient(ingredient, task): print(f"adding {ingredient} to {task.result()}")`
fn add_ingredient(ingredient: &str, task: &Task<String>) {
    println!(
        "  callback add_ingredient: adding {ingredient} to {}",
        task.result().unwrap()
    );
}

/// asyncio: `def mix(gathered): print(f"mixing {gathered.result()}")`
fn mix(gathered: &Task<Vec<String>>) {
    println!(
        "  callback mix: mixing {}",
        gathered.result().unwrap().join(" + ")
    );
}

pub async fn run() {
    println!("== done-callbacks ==");
    let start = Instant::now();
    // asyncio: task = asyncio.create_task(make_tea("green", 1))
    //          task.add_done_callback(confirm_tea)
    //          task.add_done_callback(functools.partial(add_ingredient, "honey"))
    let task = aiokit::create_task(make_tea("green", 1));
    task.add_done_callback(confirm_tea);
    task.add_done_callback(partial!(add_ingredient, "honey"));
    let tea = task.await.expect("not cancelled");
    println!(
        "awaited {tea} after its callbacks, in {:.1} units\n",
        units(start)
    );

    println!("== a callback on a gathered group of teas ==");
    let start = Instant::now();
    // asyncio: group = asyncio.gather(make_tea("black", 2), make_tea("mint", 1))
    //          group.add_done_callback(mix)
    let group = aiokit::create_task(aiokit::gather([make_tea("black", 2), make_tea("mint", 1)]));
    group.add_done_callback(mix);
    let teas = group.await.expect("not cancelled");
    println!("gathered {teas:?} in {:.1} units\n", units(start));
}
