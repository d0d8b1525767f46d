//! The never-awaited report and the combinators. The rule: children handed to a combinator
//! were handed over on purpose, so dropping the combinator, polled or not, reports none of
//! them; a coroutine dropped unpolled anywhere else is reported.
//!
//! One counting hook for the whole binary (its own process), installed once and never
//! replaced; every test names its coroutines after itself, so tests running in parallel do not
//! see each other's reports.

use std::sync::{Mutex, OnceLock};

use aiokit::wait::IntoChildren;
use aiokit::{Coroutine, ReturnWhen, as_completed, gather, try_gather, wait};
use futures::future;

static REPORTED: Mutex<Vec<String>> = Mutex::new(Vec::new());

fn install_counting_hook() {
    static INSTALLED: OnceLock<()> = OnceLock::new();
    INSTALLED.get_or_init(|| {
        aiokit::hooks::set_never_awaited_hook(|info| {
            REPORTED.lock().unwrap().push(info.name().to_owned());
        });
    });
}

/// How many coroutines named `name` were reported as never awaited so far.
fn reports(name: &str) -> usize {
    REPORTED
        .lock()
        .unwrap()
        .iter()
        .filter(|n| *n == name)
        .count()
}

/// Two never-polled coroutines named `name`, after installing the hook.
fn two(name: &'static str) -> Vec<Coroutine<future::Ready<u8>>> {
    install_counting_hook();
    vec![
        Coroutine::new(name, future::ready(1)),
        Coroutine::new(name, future::ready(2)),
    ]
}

fn two_fallible(name: &'static str) -> Vec<Coroutine<future::Ready<Result<u8, ()>>>> {
    install_counting_hook();
    vec![
        Coroutine::new(name, future::ready(Ok(1))),
        Coroutine::new(name, future::ready(Ok(2))),
    ]
}

/// The counting hook does count: without a combinator, an unpolled coroutine is reported.
mod a_coroutine_dropped_unpolled_outside_a_combinator_is_reported {
    use super::*;

    #[test]
    fn a_bare_coroutine() {
        drop(two("bare"));
        assert_eq!(reports("bare"), 2);
    }

    #[test]
    fn one_polled_coroutine_is_not_reported() {
        let mut children = two("polled_one");
        futures::executor::block_on(children.remove(0));
        drop(children);
        assert_eq!(reports("polled_one"), 1);
    }
}

mod dropping_a_combinator_unpolled_reports_nothing {
    use super::*;

    fn check(name: &str, combinator: impl Sized) {
        drop(combinator);
        assert_eq!(reports(name), 0, "{name}: {:?}", REPORTED.lock().unwrap());
    }

    #[test]
    fn gather() {
        check("gather", super::gather(two("gather")));
    }

    #[test]
    fn gather_of_a_pending_set() {
        check(
            "gather_pending",
            super::gather(two("gather_pending").into_pending()),
        );
    }

    #[test]
    fn try_gather() {
        check("try_gather", super::try_gather(two_fallible("try_gather")));
    }

    #[test]
    fn gather_macro() {
        let [a, b] = <[_; 2]>::try_from(two("gather_macro")).unwrap();
        check("gather_macro", aiokit::gather!(a, b));
    }

    #[test]
    fn try_gather_macro() {
        let [a, b] = <[_; 2]>::try_from(two_fallible("try_gather_macro")).unwrap();
        check("try_gather_macro", aiokit::try_gather!(a, b));
    }

    #[test]
    fn wait() {
        check("wait", super::wait(two("wait"), ReturnWhen::AllCompleted));
    }

    #[test]
    fn wait_with_a_deadline() {
        let waiting = super::wait(two("wait_deadline"), ReturnWhen::FirstCompleted);
        check("wait_deadline", waiting.deadline(future::pending()));
    }

    #[test]
    fn as_completed() {
        check("as_completed", super::as_completed(two("as_completed")));
    }

    #[test]
    fn as_completed_indexed_with_a_deadline() {
        let stream = super::as_completed(two("as_completed_deadline")).indexed();
        check("as_completed_deadline", stream.deadline(future::pending()));
    }

    #[test]
    fn pending() {
        check("pending", two("pending").into_pending());
    }
}

/// Children dropped after the combinator was polled, never polled themselves: abandoned by
/// design (`try_gather!` stops polling at the first error), not forgotten.
mod children_abandoned_by_a_combinator_are_not_reported {
    use super::*;

    #[test]
    fn try_gather_macro_after_the_first_error() {
        install_counting_hook();
        let fails = Coroutine::new("abandoned_macro_fails", future::ready(Err::<u8, _>("boom")));
        let never_polled = Coroutine::new("abandoned_macro", future::ready(Ok::<u8, _>(1)));
        let result = futures::executor::block_on(aiokit::try_gather!(fails, never_polled));
        assert_eq!(result, Err("boom"));
        assert_eq!(reports("abandoned_macro"), 0);
    }
}
