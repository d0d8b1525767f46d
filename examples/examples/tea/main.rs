//! The make_tea programs of the asyncio tutorials, ported to aiokit.
//!
//! Run with `cargo run -p aiokit-examples --example tea`. One time unit is 100 ms here
//! (the tutorials sleep whole seconds); every section prints how long it took.

mod callbacks;
mod gather;
mod wait;

use std::time::{Duration, Instant};

/// One tutorial second, scaled down.
pub const UNIT: Duration = Duration::from_millis(100);

/// Elapsed time since `start`, in tutorial units, for printing.
pub fn units(start: Instant) -> f64 {
    start.elapsed().as_secs_f64() / UNIT.as_secs_f64()
}

// asyncio: asyncio.run(main())
fn main() {
    aiokit::run(async {
        gather::run().await;
        wait::run().await;
        callbacks::run().await;
    });
}
