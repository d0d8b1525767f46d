//! The event loop: every rule of asyncio's `base_events.py` that aiokit keeps, each run on both
//! loops (`EventLoop::smol()` and `EventLoop::tokio()`).
//!
//! `on_each_loop!` turns one scenario into a module named after the rule, with one test per
//! loop. Events are ordered by the loop's own callbacks, its tasks and channels; timer tests
//! assert ordering, never durations.

use std::cell::RefCell;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::rc::Rc;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use aiokit::event_loop::EventLoopError;
use aiokit::event_loop::{ConcurrentError, ExceptionContext};
use aiokit::{EventLoop, ReturnWhen, Task};

macro_rules! on_each_loop {
    ($rule:ident, $scenario:expr) => {
        mod $rule {
            #[allow(unused_imports)]
            use super::*;

            #[test]
            fn smol() {
                let scenario: fn(EventLoop) = $scenario;
                scenario(EventLoop::smol());
            }

            #[test]
            fn tokio() {
                let scenario: fn(EventLoop) = $scenario;
                scenario(EventLoop::tokio());
            }
        }
    };
}

type Log = Rc<RefCell<Vec<String>>>;

fn log() -> Log {
    Rc::new(RefCell::new(Vec::new()))
}

fn push(log: &Log, entry: &str) -> impl FnOnce() + 'static {
    let log = log.clone();
    let entry = entry.to_string();
    move || log.borrow_mut().push(entry)
}

fn entries(log: &Log) -> Vec<String> {
    log.borrow().clone()
}

on_each_loop!(call_soon_callbacks_run_once_each_in_fifo_order, |lp| {
    let log = log();
    let threads = Rc::new(RefCell::new(Vec::new()));
    for i in 0..5 {
        let threads = threads.clone();
        let entry = push(&log, &i.to_string());
        lp.call_soon(move || {
            threads.borrow_mut().push(thread::current().id());
            entry()
        })
        .unwrap();
    }
    lp.stop();
    lp.run_forever().unwrap();
    assert_eq!(entries(&log), ["0", "1", "2", "3", "4"]);
    assert!(
        threads
            .borrow()
            .iter()
            .all(|t| *t == thread::current().id())
    );
    // Once each: another run runs none of them again.
    lp.stop();
    lp.run_forever().unwrap();
    assert_eq!(log.borrow().len(), 5);
});

on_each_loop!(a_cancelled_handle_never_runs, |lp| {
    let log = log();
    lp.call_soon(push(&log, "a")).unwrap();
    let b = lp.call_soon(push(&log, "b")).unwrap();
    let t = lp.call_later(Duration::ZERO, push(&log, "timer")).unwrap();
    lp.call_soon(push(&log, "c")).unwrap();
    b.cancel();
    t.cancel();
    assert!(b.cancelled() && t.cancelled());
    lp.call_later(Duration::from_millis(1), {
        let lp = lp.clone();
        move || lp.stop()
    })
    .unwrap();
    lp.run_forever().unwrap();
    assert_eq!(entries(&log), ["a", "c"]);
});

on_each_loop!(call_soon_takes_partials, |lp| {
    fn record(log: Log, word: &'static str, n: u32) {
        log.borrow_mut().push(format!("{word}{n}"));
    }
    let log = log();
    let p = aiokit::partial!(record, log.clone(), "tea", 2);
    assert_eq!(p.args().1, "tea");
    let handle = lp.call_soon(p).unwrap();
    assert!(format!("{handle:?}").starts_with("<Handle partial(record, "));
    lp.stop();
    lp.run_forever().unwrap();
    assert_eq!(entries(&log), ["tea2"]);
});

on_each_loop!(call_later_and_call_at_run_in_time_order, |lp| {
    let log = log();
    let times = Rc::new(RefCell::new(Vec::new()));
    let start = lp.time();
    for (ms, name) in [(30u64, "c"), (10, "a"), (20, "b"), (20, "b2")] {
        let times = times.clone();
        let entry = push(&log, name);
        let clock = lp.clone();
        let timer = lp
            .call_at(start + Duration::from_millis(ms), move || {
                times.borrow_mut().push(clock.time());
                entry()
            })
            .unwrap();
        assert_eq!(timer.when(), start + Duration::from_millis(ms));
    }
    let stopper = lp.clone();
    lp.call_later(Duration::from_millis(30), move || stopper.stop())
        .unwrap();
    lp.run_forever().unwrap();
    // Time order; equal times in scheduling order.
    assert_eq!(entries(&log), ["a", "b", "b2", "c"]);
    let whens = [10, 20, 20, 30].map(|ms| start + Duration::from_millis(ms));
    for (ran, when) in times.borrow().iter().zip(whens) {
        assert!(*ran >= when, "ran before its time");
    }
});

on_each_loop!(
    call_later_with_a_zero_delay_runs_after_the_callbacks_already_queued,
    |lp| {
        let log = log();
        lp.call_soon(push(&log, "s1")).unwrap();
        lp.call_later(Duration::ZERO, push(&log, "later0")).unwrap();
        // A time already past (asyncio: a negative delay) comes first among the timers.
        let past = lp.time() - Duration::from_millis(1);
        lp.call_at(past, push(&log, "past")).unwrap();
        lp.call_soon(push(&log, "s2")).unwrap();
        let stopper = lp.clone();
        lp.call_later(Duration::from_millis(1), move || stopper.stop())
            .unwrap();
        lp.run_forever().unwrap();
        // CPython 3.11 prints ['s1', 's2', 'lneg', 'l0'] for the same program.
        assert_eq!(entries(&log), ["s1", "s2", "past", "later0"]);
    }
);

on_each_loop!(timer_handle_when_is_the_loop_time_it_was_set_for, |lp| {
    let before = lp.time();
    let timer = lp.call_later(Duration::from_millis(50), || {}).unwrap();
    let after = lp.time();
    assert!(timer.when() >= before + Duration::from_millis(50));
    assert!(timer.when() <= after + Duration::from_millis(50));
    let at = lp.time() + Duration::from_secs(3);
    assert_eq!(lp.call_at(at, || {}).unwrap().when(), at);
    lp.close().unwrap();
});

on_each_loop!(stop_ends_run_forever_after_the_ready_callbacks, |lp| {
    let log = log();
    let lp2 = lp.clone();
    let log2 = log.clone();
    lp.call_soon(move || {
        log2.borrow_mut().push("a".into());
        lp2.stop();
        // Queued after stop: runs on the next run, not this one.
        lp2.call_soon(push(&log2, "c")).unwrap();
    })
    .unwrap();
    lp.call_soon(push(&log, "b")).unwrap();
    lp.run_forever().unwrap();
    assert_eq!(entries(&log), ["a", "b"]);
    lp.stop();
    lp.run_forever().unwrap();
    assert_eq!(entries(&log), ["a", "b", "c"]);
});

on_each_loop!(stop_before_run_forever_runs_one_turn, |lp| {
    let log = log();
    lp.stop();
    let lp2 = lp.clone();
    let log2 = log.clone();
    lp.call_soon(move || {
        log2.borrow_mut().push("x".into());
        lp2.call_soon(push(&log2, "next turn")).unwrap();
    })
    .unwrap();
    lp.run_forever().unwrap();
    assert_eq!(entries(&log), ["x"]);
    assert!(!lp.is_running());
});

on_each_loop!(running_a_running_or_closed_loop_is_an_error, |lp| {
    let results = Rc::new(RefCell::new(Vec::new()));
    let (lp2, r) = (lp.clone(), results.clone());
    lp.call_soon(move || {
        r.borrow_mut().push(lp2.run_forever().unwrap_err());
        r.borrow_mut()
            .push(lp2.run_until_complete(async {}).unwrap_err());
        r.borrow_mut().push(lp2.close().unwrap_err());
        // Another loop on the same thread is refused too.
        let other = EventLoop::smol();
        r.borrow_mut().push(other.run_forever().unwrap_err());
        lp2.stop();
    })
    .unwrap();
    lp.run_forever().unwrap();
    assert_eq!(
        *results.borrow(),
        [
            EventLoopError::AlreadyRunning,
            EventLoopError::AlreadyRunning,
            EventLoopError::CloseRunning,
            EventLoopError::AnotherLoopRunning,
        ]
    );
    assert_eq!(
        EventLoopError::AlreadyRunning.to_string(),
        "this event loop is already running"
    );
    assert_eq!(
        EventLoopError::CloseRunning.to_string(),
        "cannot close a running event loop"
    );
    // Closed: refused too.
    lp.close().unwrap();
    assert_eq!(lp.run_forever(), Err(EventLoopError::Closed));
    assert_eq!(
        lp.run_until_complete(async { 1 }),
        Err(EventLoopError::Closed)
    );
    assert_eq!(EventLoopError::Closed.to_string(), "event loop is closed");
});

on_each_loop!(close_twice_is_fine, |lp| {
    lp.close().unwrap();
    lp.close().unwrap();
    assert!(lp.is_closed());
});

on_each_loop!(scheduling_after_close_is_an_error, |lp| {
    let handle = lp.handle();
    lp.close().unwrap();
    assert_eq!(lp.call_soon(|| {}).unwrap_err(), EventLoopError::Closed);
    assert_eq!(
        lp.call_later(Duration::ZERO, || {}).unwrap_err(),
        EventLoopError::Closed
    );
    assert_eq!(
        handle.call_soon_threadsafe(|| {}).unwrap_err(),
        EventLoopError::Closed
    );
    assert!(handle.create_task_threadsafe(async {}).is_err());
    let created = catch_unwind(AssertUnwindSafe(|| lp.create_task(async {})));
    assert!(created.is_err(), "create_task on a closed loop panics");
});

on_each_loop!(
    close_drops_pending_callbacks_and_cancels_pending_tasks,
    |lp| {
        let task = lp.create_task(std::future::pending::<()>());
        let dropped = Rc::new(RefCell::new(false));
        struct Flag(Rc<RefCell<bool>>);
        impl Drop for Flag {
            fn drop(&mut self) {
                *self.0.borrow_mut() = true;
            }
        }
        let flag = Flag(dropped.clone());
        lp.call_soon(move || drop(flag)).unwrap();
        lp.close().unwrap();
        assert!(task.cancelled());
        assert!(*dropped.borrow());
    }
);

on_each_loop!(run_until_complete_returns_the_futures_outcome, |lp| {
    assert_eq!(lp.run_until_complete(async { 40 + 2 }), Ok(42));
    // The future may borrow from the caller.
    let mut teas = vec!["green"];
    let n = lp
        .run_until_complete(async {
            teas.push("black");
            teas.len()
        })
        .unwrap();
    assert_eq!((n, teas.len()), (2, 2));
    // A task handle, by reference.
    let task = lp.create_task(async { String::from("oolong") });
    assert_eq!(lp.run_until_complete(&task).unwrap().unwrap(), "oolong");
});

on_each_loop!(
    run_until_complete_stopped_before_the_future_finished_is_an_error,
    |lp| {
        let lp2 = lp.clone();
        let err = lp
            .run_until_complete(async move {
                lp2.stop();
                std::future::pending::<()>().await
            })
            .unwrap_err();
        assert_eq!(err, EventLoopError::StoppedBeforeComplete);
        assert_eq!(
            err.to_string(),
            "event loop stopped before the future completed"
        );
    }
);

on_each_loop!(
    call_soon_threadsafe_wakes_a_loop_idle_in_run_forever,
    |lp| {
        let handle = lp.handle();
        let (tx, rx) = mpsc::channel();
        let feeder = thread::spawn(move || {
            // Wait for the loop to be running (and so, with nothing to do, idle).
            while !handle.is_running() {
                thread::yield_now();
            }
            let stopper = handle.clone();
            handle
                .call_soon_threadsafe(move || {
                    tx.send(thread::current().id()).unwrap();
                    stopper.stop();
                })
                .unwrap();
        });
        lp.run_forever().unwrap();
        feeder.join().unwrap();
        // It ran on the loop's thread.
        assert_eq!(rx.recv().unwrap(), thread::current().id());
    }
);

on_each_loop!(a_loop_can_run_again_after_run_forever_returned, |lp| {
    let log = log();
    for round in ["one", "two", "three"] {
        lp.call_soon(push(&log, round)).unwrap();
        lp.stop();
        lp.run_forever().unwrap();
    }
    assert_eq!(entries(&log), ["one", "two", "three"]);
    assert_eq!(lp.run_until_complete(async { 1 }), Ok(1));
});

on_each_loop!(create_task_runs_nothing_at_once, |lp| {
    let log = log();
    let log2 = log.clone();
    let task = lp.create_task(async move {
        log2.borrow_mut().push("task".to_string());
        7
    });
    lp.call_soon(push(&log, "callback queued after the task"))
        .unwrap();
    assert!(entries(&log).is_empty());
    assert!(!task.done());
    assert_eq!(lp.run_until_complete(task.clone()), Ok(Ok(7)));
    assert!(entries(&log).contains(&"task".to_string()));
});

// A task made by a task (while the loop polls its tasks) and one made right after by other
// code: each first runs in the order it was created.
on_each_loop!(tasks_first_run_in_the_order_they_were_created, |lp| {
    let outer = log();
    let inner = outer.clone();
    let order = lp.run_until_complete(async move {
        let parent = aiokit::create_task(async move {
            outer.borrow_mut().push("parent".to_string());
            let made_by_a_task = push(&outer, "made by a task");
            // In an `Option`: a task's output that is a task would read as a forgotten await.
            Some(aiokit::create_task(async move { made_by_a_task() }))
        });
        let made_by_a_task = parent.await.unwrap().unwrap();
        let entry = push(&inner, "made after");
        let made_after = aiokit::create_task(async move { entry() });
        made_after.await.unwrap();
        made_by_a_task.await.unwrap();
        entries(&inner)
    });
    assert_eq!(order.unwrap(), ["parent", "made by a task", "made after"]);
});

on_each_loop!(all_tasks_lists_the_loops_unfinished_tasks, |lp| {
    let names = lp
        .run_until_complete(async {
            let sleeper = aiokit::create_task(std::future::pending::<()>());
            sleeper.set_name("sleeper");
            let quick = aiokit::create_task(async {});
            quick.set_name("quick");
            (&quick).await.unwrap();
            let mut names: Vec<String> = aiokit::all_tasks().iter().map(|t| t.name()).collect();
            names.sort();
            sleeper.cancel();
            names
        })
        .unwrap();
    // The main future is a task too; `quick` is done.
    assert_eq!(names.len(), 2);
    assert!(names.contains(&"sleeper".to_string()));
    assert!(!names.contains(&"quick".to_string()));
    assert!(aiokit::all_tasks().is_empty());
});

on_each_loop!(current_task_is_the_task_being_polled, |lp| {
    assert!(aiokit::current_task().is_none());
    let seen = lp
        .run_until_complete(async {
            let main = aiokit::current_task().unwrap();
            main.set_name("main");
            let child = aiokit::create_task(async {
                aiokit::sleep(Duration::from_millis(1)).await;
                aiokit::current_task().unwrap().name()
            });
            child.set_name("child");
            let in_callback = Rc::new(RefCell::new(None));
            let slot = in_callback.clone();
            aiokit::get_running_loop()
                .unwrap()
                .call_soon(move || *slot.borrow_mut() = Some(aiokit::current_task().is_none()))
                .unwrap();
            let child_saw = child.await.unwrap();
            let main_again = aiokit::current_task().unwrap();
            (child_saw, main_again.same(&main), *in_callback.borrow())
        })
        .unwrap();
    assert_eq!(seen, ("child".to_string(), true, Some(true)));
});

on_each_loop!(
    current_task_is_the_task_being_polled_after_earlier_tasks_ended,
    |lp| {
        // Tasks that ended leave the loop's records; the ones made after them, in their place,
        // are still each their own current task, also when polled again after a wait.
        let seen = lp
            .run_until_complete(async {
                let main = aiokit::current_task().unwrap();
                let mut seen = Vec::new();
                for round in 0..3 {
                    let task = aiokit::create_task(async move {
                        let me = aiokit::current_task().unwrap();
                        aiokit::sleep(Duration::from_millis(1)).await;
                        let again = aiokit::current_task().unwrap();
                        (me.name(), again.same(&me), round)
                    });
                    task.set_name(format!("round-{round}"));
                    let (name, same, r) = task.clone().await.unwrap();
                    let back_in_main = aiokit::current_task().unwrap().same(&main);
                    seen.push((name, same, r, back_in_main));
                }
                seen
            })
            .unwrap();
        let expected: Vec<_> = (0..3)
            .map(|r| (format!("round-{r}"), true, r, true))
            .collect();
        assert_eq!(seen, expected);
    }
);

on_each_loop!(tasks_keep_running_between_the_awaits_of_other_code, |lp| {
    let out = lp
        .run_until_complete(async {
            let (tx, rx) = futures::channel::oneshot::channel();
            let log = Rc::new(RefCell::new(Vec::new()));
            // Task a waits for b; main waits for neither: it awaits a channel fed by b.
            let (a_tx, a_rx) = futures::channel::oneshot::channel::<()>();
            let log_a = log.clone();
            let a = aiokit::create_task(async move {
                a_rx.await.unwrap();
                log_a.borrow_mut().push("a");
                1
            });
            let log_b = log.clone();
            let b = aiokit::create_task(async move {
                log_b.borrow_mut().push("b");
                a_tx.send(()).unwrap();
                tx.send(()).unwrap();
                2
            });
            rx.await.unwrap();
            // gather / wait / as_completed over task handles.
            let (done, pending) =
                aiokit::wait([a.clone(), b.clone()], ReturnWhen::AllCompleted).await;
            assert!(pending.is_empty());
            let gathered = aiokit::gather([a.clone(), b.clone()]).await;
            let mut order = Vec::new();
            let mut completed = aiokit::as_completed([a, b]);
            while let Some(r) = completed.next().await {
                order.push(r.unwrap());
            }
            order.sort();
            (log.borrow().clone(), done.len(), gathered, order)
        })
        .unwrap();
    assert_eq!(out, (vec!["b", "a"], 2, vec![Ok(1), Ok(2)], vec![1, 2]));
});

on_each_loop!(pending_tasks_go_on_while_wait_returns_early, |lp| {
    let out = lp
        .run_until_complete(async {
            let (tx, rx) = futures::channel::oneshot::channel::<u32>();
            let slow = aiokit::create_task(async move { rx.await.unwrap() });
            let quick = aiokit::create_task(async { 1u32 });
            let handles = [aiokit::shield(&slow), aiokit::shield(&quick)];
            let (done, pending) = aiokit::wait(handles, ReturnWhen::FirstCompleted).await;
            assert_eq!(done.len(), 1);
            // Dropping the pending set of shields cancels nothing.
            drop(pending);
            // The slow task was not cancelled by dropping the pending set of handles.
            tx.send(5).unwrap();
            (&slow).await.copied()
        })
        .unwrap();
    assert_eq!(out, Ok(5));
});

on_each_loop!(
    an_exception_in_a_callback_goes_to_the_exception_handler,
    |lp| {
        let reports = Rc::new(RefCell::new(Vec::new()));
        let r = reports.clone();
        lp.set_exception_handler(move |ctx: &ExceptionContext<'_>| {
            r.borrow_mut().push((
                ctx.message().to_string(),
                ctx.panic_message().map(String::from),
            ));
        });
        let log = log();
        lp.call_soon(|| panic!("callback boom")).unwrap();
        lp.call_soon(push(&log, "after")).unwrap();
        let task: Task<()> = lp.create_task(async { panic!("task boom") });
        task.set_name("exploding");
        let out = lp.run_until_complete(async { 3 });
        assert_eq!(out, Ok(3));
        // Let the task run if it has not yet.
        lp.run_until_complete(async {
            let _ = (&task).await;
        })
        .unwrap();
        assert!(task.cancelled());
        assert_eq!(entries(&log), ["after"]);
        let reports = reports.borrow();
        assert_eq!(reports.len(), 2, "{reports:?}");
        assert!(reports[0].0.starts_with("Exception in callback "));
        assert_eq!(reports[0].1.as_deref(), Some("callback boom"));
        assert_eq!(
            reports[1].0,
            "Task exception was never retrieved: exploding"
        );
        assert_eq!(reports[1].1.as_deref(), Some("task boom"));
    }
);

on_each_loop!(
    a_panic_of_the_run_until_complete_future_reaches_the_caller,
    |lp| {
        let out = catch_unwind(AssertUnwindSafe(|| {
            let _ = lp.run_until_complete(async { panic!("main boom") });
        }));
        assert!(out.is_err());
        assert!(!lp.is_running());
        assert_eq!(lp.run_until_complete(async { 1 }), Ok(1));
    }
);

on_each_loop!(create_task_threadsafe_runs_on_the_loop, |lp| {
    let handle = lp.handle();
    let task = thread::spawn(move || {
        handle
            .create_task_threadsafe(async { thread::current().id() })
            .unwrap()
    })
    .join()
    .unwrap();
    assert_eq!(lp.run_until_complete(task), Ok(Ok(thread::current().id())));
});

on_each_loop!(run_coroutine_threadsafe_gives_a_concurrent_future, |lp| {
    let handle = lp.handle();
    let (result_tx, result_rx) = mpsc::channel();
    let client = thread::spawn(move || {
        let sum = aiokit::run_coroutine_threadsafe(async { 2 + 3 }, &handle).unwrap();
        let got = sum.result(None);
        let again = sum.result(Some(Duration::ZERO));
        let never =
            aiokit::run_coroutine_threadsafe(std::future::pending::<u8>(), &handle).unwrap();
        let timed_out = never.result(Some(Duration::from_millis(1)));
        let cancelled = never.cancel();
        let after_cancel = never.result(None);
        // Awaitable from any executor too.
        let awaited = futures::executor::block_on(
            aiokit::run_coroutine_threadsafe(async { "awaited" }, &handle).unwrap(),
        );
        result_tx
            .send((got, again, timed_out, cancelled, after_cancel, awaited))
            .unwrap();
        handle.stop();
    });
    lp.run_forever().unwrap();
    client.join().unwrap();
    let (got, again, timed_out, cancelled, after_cancel, awaited) = result_rx.recv().unwrap();
    assert_eq!(got, Ok(5));
    assert_eq!(again, Err(ConcurrentError::Taken));
    assert!(matches!(timed_out, Err(ConcurrentError::Timeout(_))));
    assert!(cancelled);
    assert!(matches!(after_cancel, Err(ConcurrentError::Cancelled(_))));
    assert_eq!(awaited, Ok("awaited"));
});

on_each_loop!(
    to_thread_runs_a_blocking_function_while_the_loop_goes_on,
    |lp| {
        let out = lp
            .run_until_complete(async {
                let (tx, rx) = mpsc::channel::<u32>();
                // Blocks its thread until a loop task sends: deadlocks if the loop were blocked.
                let blocking =
                    aiokit::to_thread(move || (rx.recv().unwrap(), thread::current().id()));
                let sender = aiokit::create_task(async move { tx.send(9).unwrap() });
                sender.await.unwrap();
                let in_executor = aiokit::get_running_loop()
                    .unwrap()
                    .run_in_executor(|| 1 + 1);
                (blocking.await, in_executor.await)
            })
            .unwrap();
        assert_eq!(out.0.0, 9);
        assert_ne!(out.0.1, thread::current().id());
        assert_eq!(out.1, 2);
    }
);

on_each_loop!(to_thread_resumes_the_functions_panic, |lp| {
    let out = catch_unwind(AssertUnwindSafe(|| {
        lp.run_until_complete(aiokit::to_thread(|| panic!("in a thread")))
    }));
    assert!(out.is_err());
});

#[test]
fn asyncio_run_makes_runs_and_closes_a_loop() {
    let (task, lp) = aiokit::run(async {
        let sleeper = aiokit::create_task(std::future::pending::<()>());
        (sleeper, aiokit::get_running_loop().unwrap())
    });
    assert!(task.cancelled());
    assert!(lp.is_closed());
}

#[test]
fn run_inside_a_running_loop_is_an_error() {
    let nested = aiokit::run(async { aiokit::event_loop::try_run(async { 1 }) });
    assert_eq!(nested, Err(EventLoopError::RunFromRunningLoop));
    let panicked = catch_unwind(|| aiokit::run(async { aiokit::run(async { 1 }) }));
    let payload = panicked.unwrap_err();
    let message = payload.downcast_ref::<String>().unwrap();
    assert_eq!(
        message,
        "aiokit::run: aiokit::run() cannot be called from a running event loop"
    );
}

#[test]
fn get_running_loop_outside_a_loop_is_an_error() {
    assert_eq!(
        aiokit::get_running_loop().unwrap_err(),
        EventLoopError::NoRunningLoop
    );
    assert!(aiokit::all_tasks().is_empty());
    let created = catch_unwind(|| aiokit::create_task(async {}));
    assert!(created.is_err());
}

#[test]
fn event_loop_new_picks_tokio_when_the_tokio_feature_is_on() {
    // The tests crate enables `tokio`.
    let lp = EventLoop::new();
    assert!(format!("{lp:?}").starts_with("<EventLoop tokio "));
    assert!(format!("{:?}", EventLoop::smol()).starts_with("<EventLoop smol "));
}

#[test]
fn the_smol_loop_serves_async_io_timers_and_the_tokio_loop_tokios() {
    let smol = EventLoop::smol();
    let out = smol.run_until_complete(async {
        smol::Timer::after(Duration::from_millis(1)).await;
        "async-io"
    });
    assert_eq!(out, Ok("async-io"));
    let tokio = EventLoop::tokio();
    let out = tokio.run_until_complete(async {
        tokio::time::sleep(Duration::from_millis(1)).await;
        "tokio"
    });
    assert_eq!(out, Ok("tokio"));
}

#[test]
fn a_tokio_loop_inside_a_tokio_runtime_is_an_error_not_a_nested_runtime_panic() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let out = rt.block_on(async { EventLoop::tokio().run_until_complete(async { 1 }) });
    assert_eq!(out, Err(EventLoopError::AnotherLoopRunning));
}

#[test]
fn the_loop_handle_is_send_and_sync() {
    fn check<T: Send + Sync + Clone>() {}
    check::<aiokit::event_loop::LoopHandle>();
}

on_each_loop!(a_threadsafe_callback_is_cancelled_from_its_thread, |lp| {
    let handle = lp.handle();
    let ran = Arc::new(Mutex::new(Vec::new()));
    let log = ran.clone();
    thread::spawn(move || {
        let log2 = log.clone();
        let cancelled = handle
            .call_soon_threadsafe(move || log2.lock().unwrap().push("cancelled"))
            .unwrap();
        cancelled.cancel();
        assert!(cancelled.cancelled());
        handle
            .call_soon_threadsafe(move || log.lock().unwrap().push("kept"))
            .unwrap();
        handle.stop();
    })
    .join()
    .unwrap();
    lp.run_forever().unwrap();
    assert_eq!(*ran.lock().unwrap(), ["kept"]);
});

// ---- cancelled callbacks and timers ---------------------------------------------------------

/// Counts the drops of the values it hands out: proves when a callback was dropped.
#[derive(Clone, Default)]
struct DropLedger(Rc<std::cell::Cell<usize>>);

struct Counted(DropLedger);

impl Drop for Counted {
    fn drop(&mut self) {
        let cell = &(self.0).0;
        cell.set(cell.get() + 1);
    }
}

impl DropLedger {
    fn value(&self) -> Counted {
        Counted(self.clone())
    }
    fn dropped(&self) -> usize {
        self.0.get()
    }
}

on_each_loop!(cancel_drops_a_call_soon_callback_at_once, |lp| {
    let ledger = DropLedger::default();
    let value = ledger.value();
    let handle = lp
        .call_soon(move || {
            let _value = &value;
            unreachable!("cancelled")
        })
        .unwrap();
    assert_eq!(ledger.dropped(), 0);
    handle.cancel();
    // Dropped by `cancel`, before the loop reached it.
    assert_eq!(ledger.dropped(), 1);
    handle.cancel();
    assert_eq!(ledger.dropped(), 1);
    lp.stop();
    lp.run_forever().unwrap();
    assert!(handle.cancelled());
});

on_each_loop!(a_cancelled_far_future_timer_holds_no_user_value, |lp| {
    let ledger = DropLedger::default();
    let value = ledger.value();
    let timer = lp
        .call_later(Duration::from_secs(3600), move || {
            let _value = &value;
            unreachable!("cancelled")
        })
        .unwrap();
    let value = ledger.value();
    let at = lp
        .call_at(lp.time() + Duration::from_secs(7200), move || {
            let _value = &value;
            unreachable!("cancelled")
        })
        .unwrap();
    timer.cancel();
    at.cancel();
    // Dropped at cancel time, not an hour from now.
    assert_eq!(ledger.dropped(), 2);
    assert!(timer.cancelled() && at.cancelled());
});

on_each_loop!(a_handles_clones_share_its_cancel_flag, |lp| {
    let log = log();
    let handle = lp.call_soon(push(&log, "never")).unwrap();
    let clone = handle.clone();
    let timer = lp
        .call_later(Duration::from_secs(3600), push(&log, "never"))
        .unwrap();
    let timer_clone = timer.clone();
    assert!(!clone.cancelled() && !timer_clone.cancelled());
    clone.cancel();
    timer.cancel();
    assert!(handle.cancelled() && clone.cancelled());
    assert!(timer.cancelled() && timer_clone.cancelled());
    assert_eq!(format!("{handle:?}"), format!("{clone:?}"));
    assert!(format!("{handle:?}").starts_with("<Handle cancelled "));
    // A clone made after the cancel sees it too.
    assert!(handle.clone().cancelled());
    lp.stop();
    lp.run_forever().unwrap();
    assert!(entries(&log).is_empty());
});

on_each_loop!(cancelling_a_callback_after_it_ran_changes_nothing, |lp| {
    let log = log();
    let handle = lp.call_soon(push(&log, "ran")).unwrap();
    // Made after the first callback left the table: it may reuse its slot.
    let later = Rc::new(RefCell::new(None));
    lp.call_soon({
        let lp = lp.clone();
        let log = log.clone();
        let later = later.clone();
        move || *later.borrow_mut() = Some(lp.call_soon(push(&log, "later")).unwrap())
    })
    .unwrap();
    lp.stop();
    lp.run_forever().unwrap();
    handle.cancel();
    assert!(handle.cancelled());
    assert!(!later.borrow().as_ref().unwrap().cancelled());
    lp.stop();
    lp.run_forever().unwrap();
    // The stale handle did not cancel the callback that took its slot.
    assert_eq!(entries(&log), ["ran", "later"]);
});

on_each_loop!(
    a_callback_may_cancel_itself_and_others_while_running,
    |lp| {
        let log = log();
        let slot: Rc<RefCell<Vec<aiokit::event_loop::Handle>>> = Rc::new(RefCell::new(Vec::new()));
        let me = {
            let slot = slot.clone();
            let log = log.clone();
            lp.call_soon(move || {
                for handle in slot.borrow().iter() {
                    handle.cancel();
                }
                log.borrow_mut().push("first".into());
            })
            .unwrap()
        };
        let other = lp.call_soon(push(&log, "second")).unwrap();
        slot.borrow_mut().extend([me, other]);
        lp.stop();
        lp.run_forever().unwrap();
        assert_eq!(entries(&log), ["first"]);
    }
);

// ---- servers --------------------------------------------------------------------------------

on_each_loop!(all_tasks_does_not_list_a_servers_background_task, |lp| {
    async fn greet(
        _reader: aiokit::StreamReader,
        mut writer: aiokit::StreamWriter,
    ) -> std::io::Result<()> {
        writer.write(b"Welcome.\n");
        writer.drain().await
    }
    let server = lp
        .run_until_complete(async {
            let server = aiokit::start_server(greet, "127.0.0.1", 0).await.unwrap();
            // asyncio's Server is not a Task: only this main task is listed.
            assert_eq!(aiokit::all_tasks().len(), 1);
            let port = server.local_addr().port();
            let (mut reader, _writer) = aiokit::open_connection("127.0.0.1", port).await.unwrap();
            assert_eq!(reader.readline().await.unwrap(), b"Welcome.\n");
            assert_eq!(aiokit::all_tasks().len(), 1);
            server
        })
        .unwrap();
    // Still serving between runs; closing the loop closes it.
    assert!(server.is_serving());
    lp.close().unwrap();
    assert!(!server.is_serving());
});

#[test]
fn run_closes_a_server_started_on_its_loop() {
    let server = aiokit::run(async {
        aiokit::start_server(
            |_r: aiokit::StreamReader, _w: aiokit::StreamWriter| async {
                Ok::<_, std::io::Error>(())
            },
            "127.0.0.1",
            0,
        )
        .await
        .unwrap()
    });
    assert!(!server.is_serving());
}

// ---- the exception handler, debug mode ------------------------------------------------------

type Reports = Rc<RefCell<Vec<(String, String, Option<String>)>>>;

/// Sets a handler that records (message, name, panic message).
fn record_reports(lp: &EventLoop) -> Reports {
    let reports: Reports = Rc::new(RefCell::new(Vec::new()));
    let r = reports.clone();
    lp.set_exception_handler(move |ctx: &ExceptionContext<'_>| {
        r.borrow_mut().push((
            ctx.message().to_string(),
            ctx.name().to_string(),
            ctx.panic_message().map(String::from),
        ));
    });
    reports
}

on_each_loop!(
    call_exception_handler_hands_the_context_to_the_handler,
    |lp| {
        let reports = record_reports(&lp);
        let payload: Box<dyn std::any::Any + Send> = Box::new("disk full");
        lp.call_exception_handler(
            &ExceptionContext::new("Saving failed")
                .with_name("saver")
                .with_payload(&*payload),
        );
        lp.call_exception_handler(&ExceptionContext::new("no payload"));
        assert_eq!(
            *reports.borrow(),
            [
                (
                    "Saving failed".to_string(),
                    "saver".to_string(),
                    Some("disk full".to_string())
                ),
                ("no payload".to_string(), String::new(), None),
            ]
        );
    }
);

on_each_loop!(get_exception_handler_gives_the_handler_set_or_none, |lp| {
    assert!(lp.get_exception_handler().is_none());
    let reports = record_reports(&lp);
    let handler = lp.get_exception_handler().unwrap();
    handler(&ExceptionContext::new("direct"));
    assert_eq!(reports.borrow()[0].0, "direct");
    lp.clear_exception_handler();
    assert!(lp.get_exception_handler().is_none());
});

on_each_loop!(
    a_panicking_exception_handler_falls_back_to_the_default_handler,
    |lp| {
        let calls = Rc::new(std::cell::Cell::new(0));
        let c = calls.clone();
        lp.set_exception_handler(move |_: &ExceptionContext<'_>| {
            c.set(c.get() + 1);
            panic!("handler boom")
        });
        // Nothing unwinds out of the call, nor out of the loop.
        lp.call_exception_handler(&ExceptionContext::new("first"));
        let log = log();
        lp.call_soon(|| panic!("callback boom")).unwrap();
        lp.call_soon(push(&log, "after")).unwrap();
        lp.stop();
        lp.run_forever().unwrap();
        assert_eq!(calls.get(), 2);
        assert_eq!(entries(&log), ["after"]);
    }
);

on_each_loop!(
    debug_mode_reports_callbacks_slower_than_slow_callback_duration,
    |lp| {
        assert!(!lp.get_debug());
        assert_eq!(lp.slow_callback_duration(), Duration::from_millis(100));
        let reports = record_reports(&lp);
        // Debug off: nothing is timed.
        lp.set_slow_callback_duration(Duration::ZERO);
        lp.call_soon(|| {}).unwrap();
        lp.stop();
        lp.run_forever().unwrap();
        assert!(reports.borrow().is_empty());
        // Debug on, a zero threshold: every callback took at least that long (asyncio: `>=`).
        lp.set_debug(true);
        assert!(lp.get_debug());
        let handle = lp.call_soon(aiokit::partial!(drop::<u8>, 7)).unwrap();
        lp.handle().call_soon_threadsafe(|| {}).unwrap();
        lp.stop();
        lp.run_forever().unwrap();
        let got = reports.borrow().clone();
        assert_eq!(got.len(), 2, "{got:?}");
        assert!(
            got[0].0.starts_with("Executing <Handle partial(drop"),
            "{got:?}"
        );
        assert!(got[0].0.ends_with(" seconds"), "{got:?}");
        assert!(format!("{handle:?}").contains(&got[0].1));
        assert!(got[1].0.starts_with("Executing <Handle "), "{got:?}");
        assert_eq!(got[0].2, None);
        // A callback faster than the threshold is not reported.
        reports.borrow_mut().clear();
        lp.set_slow_callback_duration(Duration::from_secs(3600));
        lp.call_soon(|| {}).unwrap();
        lp.stop();
        lp.run_forever().unwrap();
        assert!(reports.borrow().is_empty());
    }
);

on_each_loop!(
    debug_mode_reports_a_slow_callback_that_panicked_twice,
    |lp| {
        let reports = record_reports(&lp);
        lp.set_debug(true);
        lp.set_slow_callback_duration(Duration::ZERO);
        lp.call_soon(|| panic!("boom")).unwrap();
        lp.stop();
        lp.run_forever().unwrap();
        let got = reports.borrow().clone();
        assert_eq!(got.len(), 2, "{got:?}");
        assert!(got[0].0.starts_with("Exception in callback "));
        assert_eq!(got[0].2.as_deref(), Some("boom"));
        assert!(got[1].0.starts_with("Executing <Handle "));
    }
);

on_each_loop!(cancelling_after_close_changes_nothing, |lp| {
    let ledger = DropLedger::default();
    let value = ledger.value();
    let handle = lp.call_soon(move || drop(value)).unwrap();
    let value = ledger.value();
    let timer = lp
        .call_later(Duration::from_secs(3600), move || drop(value))
        .unwrap();
    lp.close().unwrap();
    // Closing dropped both callbacks; a cancel afterwards finds nothing and breaks nothing.
    assert_eq!(ledger.dropped(), 2);
    handle.cancel();
    timer.cancel();
    assert!(handle.cancelled() && timer.cancelled());
    assert_eq!(ledger.dropped(), 2);
});

// ---- the default executor -------------------------------------------------------------------

/// A blocking function that waits for `release`, then marks `done`: started, then abandoned.
fn abandoned_job(lp: &EventLoop) -> (mpsc::Sender<()>, Arc<std::sync::atomic::AtomicBool>) {
    let (release, wait) = mpsc::channel::<()>();
    let (started_tx, started) = mpsc::channel::<()>();
    let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flag = done.clone();
    let job = lp.run_in_executor(move || {
        started_tx.send(()).unwrap();
        wait.recv().unwrap();
        flag.store(true, std::sync::atomic::Ordering::SeqCst);
    });
    // Dropped once started: the function goes on in the pool.
    started.recv().unwrap();
    drop(job);
    (release, done)
}

on_each_loop!(
    shutdown_default_executor_waits_for_the_blocking_functions_started,
    |lp| {
        let (release, done) = abandoned_job(&lp);
        let releaser = thread::spawn(move || release.send(()).unwrap());
        lp.run_until_complete(lp.shutdown_default_executor())
            .unwrap();
        // It returned only once the abandoned function had finished.
        assert!(done.load(std::sync::atomic::Ordering::SeqCst));
        releaser.join().unwrap();
        // Nothing running: ready at once.
        lp.run_until_complete(lp.shutdown_default_executor())
            .unwrap();
    }
);

#[test]
fn asyncio_run_waits_for_the_default_executor_before_closing() {
    let (started_tx, started) = mpsc::channel::<()>();
    let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flag = done.clone();
    let (go, wait) = mpsc::channel::<()>();
    aiokit::run(async move {
        let job = aiokit::to_thread(move || {
            started_tx.send(()).unwrap();
            wait.recv().unwrap();
            flag.store(true, std::sync::atomic::Ordering::SeqCst);
        });
        aiokit::to_thread(move || started.recv().unwrap()).await;
        // Started, then abandoned; released as main returns.
        drop(job);
        go.send(()).unwrap();
    });
    // `run` returned only once the function had finished.
    assert!(done.load(std::sync::atomic::Ordering::SeqCst));
}

// ---- signal handlers ------------------------------------------------------------------------

/// The smol and tokio variants run at once in one process: each uses its own signal.
#[cfg(unix)]
fn own_signal(lp: &EventLoop) -> (aiokit::event_loop::Signal, rustix::process::Signal) {
    if format!("{lp:?}").contains("smol") {
        (
            aiokit::event_loop::Signal::Usr1,
            rustix::process::Signal::USR1,
        )
    } else {
        (
            aiokit::event_loop::Signal::Usr2,
            rustix::process::Signal::USR2,
        )
    }
}

#[cfg(unix)]
fn raise(signal: rustix::process::Signal) {
    rustix::process::kill_process(rustix::process::getpid(), signal).unwrap();
}

#[cfg(unix)]
on_each_loop!(
    add_signal_handler_calls_the_callback_on_the_loop_per_signal,
    |lp| {
        let (signal, raw) = own_signal(&lp);
        let log = log();
        let loop_thread = thread::current().id();
        let (stopper, l) = (lp.clone(), log.clone());
        lp.add_signal_handler(signal, move || {
            assert_eq!(thread::current().id(), loop_thread);
            l.borrow_mut().push("signal".into());
            stopper.stop();
        })
        .unwrap();
        lp.call_soon(move || raise(raw)).unwrap();
        lp.run_forever().unwrap();
        assert_eq!(entries(&log), ["signal"]);
        // A second handler replaces the first.
        let (stopper, l) = (lp.clone(), log.clone());
        lp.add_signal_handler(signal, move || {
            l.borrow_mut().push("replaced".into());
            stopper.stop();
        })
        .unwrap();
        lp.call_soon(move || raise(raw)).unwrap();
        lp.run_forever().unwrap();
        assert_eq!(entries(&log), ["signal", "replaced"]);
        assert!(lp.remove_signal_handler(signal));
        assert!(!lp.remove_signal_handler(signal));
        // Removed: the signal calls nothing (and is caught, so the process goes on).
        lp.call_soon(move || raise(raw)).unwrap();
        let stopper = lp.clone();
        lp.call_soon(move || stopper.stop()).unwrap();
        lp.run_forever().unwrap();
        assert_eq!(entries(&log), ["signal", "replaced"]);
    }
);

#[cfg(unix)]
on_each_loop!(add_signal_handler_refuses_uncatchable_signals, |lp| {
    use aiokit::event_loop::Signal;
    for signal in [Signal::Kill, Signal::Stop, Signal::Segv] {
        let err = lp.add_signal_handler(signal, || {}).unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
    }
    lp.close().unwrap();
    let err = lp.add_signal_handler(Signal::Hup, || {}).unwrap_err();
    assert_eq!(err.to_string(), "event loop is closed");
});
