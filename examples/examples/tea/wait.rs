//! `asyncio.wait` and `as_completed`: FIRST_COMPLETED, FIRST_EXCEPTION, a timeout that leaves a
//! tea pending, and the teas printed as they come.

use std::time::Instant;

use aiokit::{ReturnWhen, as_completed, gather, wait};

use super::gather::make_tea;
use super::{UNIT, units};

/// A tea that may fail: asyncio's `make_tea` raising for a tea out of stock.
async fn try_make_tea(tea: &str, minutes: u32) -> Result<String, String> {
    if tea == "earl grey" {
        aiokit::sleep(UNIT * minutes).await;
        println!("  {tea}: out of stock!");
        return Err(format!("no {tea} left"));
    }
    Ok(make_tea(tea, minutes).await)
}

pub async fn run() {
    println!("== wait(FIRST_COMPLETED): the first tea ready wins ==");
    let start = Instant::now();
    // asyncio: done, pending = await asyncio.wait(tasks, return_when=FIRST_COMPLETED)
    let teas = [
        make_tea("green", 3),
        make_tea("black", 2),
        make_tea("oolong", 1),
    ];
    let (done, pending) = wait(teas, ReturnWhen::FirstCompleted).await;
    for cup in &done {
        println!("first ready: {} (argument {})", cup.output, cup.index);
    }
    println!(
        "{} still brewing after {:.1} units",
        pending.len(),
        units(start)
    );
    // The pending set is the live set: waiting on it again rebuilds nothing.
    let (done, _) = wait(pending, ReturnWhen::AllCompleted).await;
    let rest: Vec<_> = done.into_iter().map(|cup| cup.output).collect();
    println!("then: {rest:?}, all in {:.1} units\n", units(start));

    println!("== wait(FIRST_EXCEPTION): stop at the first failure ==");
    let start = Instant::now();
    let teas = [
        try_make_tea("green", 3),
        try_make_tea("earl grey", 1),
        try_make_tea("mint", 2),
    ];
    let (done, pending) = wait(teas, ReturnWhen::FirstException).await;
    for cup in &done {
        match &cup.output {
            Ok(tea) => println!("done: {tea}"),
            Err(e) => println!("failed: argument {} ({e})", cup.index),
        }
    }
    println!(
        "returned after {:.1} units, {} teas left brewing (not cancelled)",
        units(start),
        pending.len()
    );
    drop(pending); // dropping the pending set cancels them: we only wanted to know
    println!();

    println!("== wait(timeout=2.5): what is done by then ==");
    let start = Instant::now();
    let teas = [
        make_tea("green", 1),
        make_tea("black", 2),
        make_tea("oolong", 4),
    ];
    // asyncio: done, pending = await asyncio.wait(tasks, timeout=2.5)
    let (done, pending) = wait(teas, ReturnWhen::AllCompleted)
        .timeout(UNIT * 5 / 2)
        .await;
    let ready: Vec<_> = done.iter().map(|cup| cup.output.as_str()).collect();
    println!(
        "after {:.1} units: {ready:?} ready, {} pending",
        units(start),
        pending.len()
    );
    // Nothing was cancelled: the oolong is still brewing and can be awaited.
    let late = gather(pending).await;
    println!("later: {late:?}, at {:.1} units\n", units(start));

    println!("== as_completed: each tea as soon as it is ready ==");
    let start = Instant::now();
    let teas = [
        make_tea("green", 3),
        make_tea("black", 1),
        make_tea("oolong", 2),
    ];
    // asyncio: for coro in asyncio.as_completed(tasks): print(await coro)
    let mut cups = as_completed(teas).indexed();
    while let Some((index, tea)) = cups.next().await {
        println!("{tea} (argument {index}) at {:.1} units", units(start));
    }
    println!();
}
