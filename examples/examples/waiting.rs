//! The first program of the "How to use asyncio in Python" tutorial: `main()` prints
//! `Waiting 5 seconds. `, then a `.` after each of five `await asyncio.sleep(1)`, then
//! `Finished waiting.`, run with `asyncio.run(main())`.
//!
//! Run with `cargo run -p aiokit-examples --example waiting`.
//!
//! Where the port differs: one tutorial second is 1 ms here. The tutorial's listing lost its
//! indentation (as printed it is a syntax error); this ports what it means: the `for` loop's
//! body is the sleep and the `print`, and `Finished waiting.` comes after the loop.

use aiokit_examples::Transcript;

/// The tutorial's `async def main()` (Rust's `fn main` is the program's entry point, so the
/// coroutine lives in this module).
mod coro {
    use std::time::Duration;

    use aiokit_examples::Transcript;

    pub async fn main(out: Transcript) {
        out.say("Waiting 5 seconds. ");
        for _ in 0..5 {
            aiokit::sleep(Duration::from_millis(1)).await;
            out.say(".");
        }
        out.say("Finished waiting.");
    }
}

fn main() {
    // asyncio.run(main())
    aiokit::run(coro::main(Transcript::new()));
}

#[test]
fn each_dot_is_printed_after_its_sleep() {
    let out = Transcript::new();
    aiokit::run(coro::main(out.clone()));
    assert_eq!(
        out.lines(),
        [
            "Waiting 5 seconds. ",
            ".",
            ".",
            ".",
            ".",
            ".",
            "Finished waiting."
        ]
    );
}
