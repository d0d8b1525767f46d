//! `asyncio.gather`: three teas brewed at once, results in argument order.

use std::time::Instant;

use super::{UNIT, units};

/// asyncio: `async def make_tea(tea, minutes): await asyncio.sleep(minutes); return f"{tea} tea"`
pub async fn make_tea(tea: &str, minutes: u32) -> String {
    println!("  brewing {tea} tea for {minutes} units...");
    aiokit::sleep(UNIT * minutes).await;
    println!("  {tea} tea is ready");
    format!("{tea} tea")
}

pub async fn run() {
    println!("== gather: three teas at once ==");
    let start = Instant::now();
    // asyncio: teas = await asyncio.gather(make_tea("green", 3), make_tea("black", 1), ...)
    let teas = aiokit::gather([
        make_tea("green", 3),
        make_tea("black", 1),
        make_tea("oolong", 2),
    ])
    .await;
    println!("teas: {teas:?} (argument order, not completion order)");
    println!(
        "took {:.1} units, not 6: they brewed together\n",
        units(start)
    );

    println!("== gather!: a tea and biscuits, different types ==");
    let start = Instant::now();
    let (tea, biscuits) = aiokit::gather!(make_tea("mint", 2), async {
        aiokit::sleep(UNIT).await;
        3
    })
    .await;
    println!(
        "{tea} with {biscuits} biscuits, in {:.1} units\n",
        units(start)
    );
}
