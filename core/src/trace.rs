//! The `tracing` feature: a span per task, with its state changes as events.
//!
//! Every task aiokit drives ([`spawn_task`](crate::spawn_task),
//! [`spawn_local_task`](crate::spawn_local_task), the event loop's
//! [`create_task`](crate::create_task), [`TaskGroup`](crate::TaskGroup) children) gets a span
//! named `task`, with the fields `task.kind` (`spawn_task`, `create_task`, `TaskGroup`) and
//! `task.name` (recorded after the first poll, once the task is named after its coroutine; a
//! later `set_name` is not recorded), entered while the task is polled. Its events, each with a
//! `state` field: `created` (DEBUG), `polled` (TRACE, one per poll), then one of `done`,
//! `failed` (a TaskGroup child's error, handed to the group), `cancelled` or `panicked` (DEBUG).
//!
//! Without the feature, [`TaskTrace`] is an empty type whose methods compile to nothing.

/// A task's span and whether its name was recorded; empty without the `tracing` feature.
#[derive(Debug)]
pub(crate) struct TaskTrace {
    #[cfg(feature = "tracing")]
    span: tracing::Span,
    #[cfg(feature = "tracing")]
    named: bool,
}

/// How a task ended, for its last event.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Ended {
    Done,
    /// A TaskGroup child's error, handed to the group.
    Failed,
    Cancelled,
    Panicked,
}

impl TaskTrace {
    /// A new task's span, with its `created` event; `kind` is what made the task.
    #[inline(always)]
    pub(crate) fn created(kind: &'static str) -> Self {
        #[cfg(feature = "tracing")]
        {
            let span =
                tracing::debug_span!("task", task.kind = kind, task.name = tracing::field::Empty);
            tracing::debug!(parent: &span, state = "created");
            TaskTrace { span, named: false }
        }
        #[cfg(not(feature = "tracing"))]
        {
            let _ = kind;
            TaskTrace {}
        }
    }

    /// Runs one poll of the task inside its span, with its `polled` event.
    #[inline(always)]
    pub(crate) fn poll<R>(&self, poll: impl FnOnce() -> R) -> R {
        #[cfg(feature = "tracing")]
        {
            let _entered = self.span.enter();
            tracing::trace!(state = "polled");
            poll()
        }
        #[cfg(not(feature = "tracing"))]
        poll()
    }

    /// After the first poll: records the name `name` gives (the task's, named by then after
    /// its coroutine unless it was named).
    #[inline(always)]
    pub(crate) fn record_name(&mut self, name: impl FnOnce() -> String) {
        #[cfg(feature = "tracing")]
        if !self.named {
            self.named = true;
            if !self.span.is_disabled() {
                self.span.record("task.name", name().as_str());
            }
        }
        #[cfg(not(feature = "tracing"))]
        let _ = name;
    }

    /// The task's last event.
    #[inline(always)]
    pub(crate) fn ended(&self, how: Ended) {
        #[cfg(feature = "tracing")]
        {
            let state = match how {
                Ended::Done => "done",
                Ended::Failed => "failed",
                Ended::Cancelled => "cancelled",
                Ended::Panicked => "panicked",
            };
            tracing::debug!(parent: &self.span, state = state);
        }
        #[cfg(not(feature = "tracing"))]
        let _ = how;
    }
}

#[cfg(all(test, feature = "tracing"))]
mod tests {
    use alloc::string::{String, ToString};
    use alloc::vec::Vec;
    use core::fmt::{self, Write};
    use std::sync::Mutex;

    use tracing::field::{Field, Visit};
    use tracing::span::{Attributes, Id, Record};
    use tracing::{Event, Metadata, Subscriber};

    use crate::coroutine::Coroutine;

    /// Records every span (its name and fields) and every event (its span and `state`).
    #[derive(Default)]
    struct Recorder {
        spans: Mutex<Vec<String>>,
        events: Mutex<Vec<(u64, String)>>,
        entered: Mutex<Vec<u64>>,
    }

    struct Fields<'a>(&'a mut String);

    impl Visit for Fields<'_> {
        fn record_str(&mut self, field: &Field, value: &str) {
            let _ = write!(self.0, " {}={}", field.name(), value);
        }
        fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
            let _ = write!(self.0, " {}={:?}", field.name(), value);
        }
    }

    impl Subscriber for &'static Recorder {
        fn enabled(&self, _: &Metadata<'_>) -> bool {
            true
        }
        fn new_span(&self, span: &Attributes<'_>) -> Id {
            let mut text = span.metadata().name().to_string();
            span.record(&mut Fields(&mut text));
            let mut spans = self.spans.lock().unwrap();
            spans.push(text);
            Id::from_u64(spans.len() as u64)
        }
        fn record(&self, span: &Id, values: &Record<'_>) {
            let mut spans = self.spans.lock().unwrap();
            values.record(&mut Fields(&mut spans[span.into_u64() as usize - 1]));
        }
        fn record_follows_from(&self, _: &Id, _: &Id) {}
        fn event(&self, event: &Event<'_>) {
            let span = match event.parent() {
                Some(id) => id.into_u64(),
                None => self.entered.lock().unwrap().last().copied().unwrap_or(0),
            };
            let mut text = String::new();
            event.record(&mut Fields(&mut text));
            self.events
                .lock()
                .unwrap()
                .push((span, text.trim().to_string()));
        }
        fn enter(&self, span: &Id) {
            self.entered.lock().unwrap().push(span.into_u64());
        }
        fn exit(&self, _: &Id) {
            self.entered.lock().unwrap().pop();
        }
    }

    impl Recorder {
        /// Runs `f` with this recorder as the thread's subscriber; returns each span's text
        /// and the `state`s of its events, in order.
        fn record(f: impl FnOnce()) -> Vec<(String, Vec<String>)> {
            let recorder: &'static Recorder = alloc::boxed::Box::leak(Default::default());
            tracing::subscriber::with_default(recorder, f);
            let spans = recorder.spans.lock().unwrap();
            let events = recorder.events.lock().unwrap();
            spans
                .iter()
                .enumerate()
                .map(|(i, span)| {
                    let states = events
                        .iter()
                        .filter(|(id, _)| *id == i as u64 + 1)
                        .map(|(_, text)| text.clone())
                        .collect();
                    (span.clone(), states)
                })
                .collect()
        }
    }

    fn states(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| alloc::format!("state={s}")).collect()
    }

    mod a_task_has_a_span_named_after_its_coroutine {
        use super::*;

        #[test]
        fn created_polled_done() {
            let seen = Recorder::record(|| {
                let mut pool = futures::executor::LocalPool::new();
                let task = crate::spawn_local_task(
                    &pool.spawner(),
                    Coroutine::new("make_tea", async { "tea" }),
                );
                pool.run();
                assert_eq!(*task.result().unwrap(), "tea");
            });
            assert_eq!(
                seen,
                [(
                    "task task.kind=spawn_local_task task.name=make_tea".to_string(),
                    states(&["created", "polled", "done"])
                )]
            );
        }

        #[test]
        fn one_polled_event_per_poll() {
            let seen = Recorder::record(|| {
                let (tx, rx) = futures::channel::oneshot::channel::<u8>();
                let mut pool = futures::executor::LocalPool::new();
                let task = crate::spawn_local_task(&pool.spawner(), async { rx.await.unwrap() });
                pool.run_until_stalled();
                tx.send(1).unwrap();
                pool.run();
                assert_eq!(*task.result().unwrap(), 1);
            });
            assert_eq!(seen[0].1, states(&["created", "polled", "polled", "done"]));
            assert!(
                seen[0]
                    .0
                    .starts_with("task task.kind=spawn_local_task task.name=Task-")
            );
        }
    }

    mod a_task_span_ends_with_how_the_task_ended {
        use super::*;

        #[test]
        fn cancelled_before_it_ran() {
            let seen = Recorder::record(|| {
                let mut pool = futures::executor::LocalPool::new();
                let task = crate::spawn_local_task(&pool.spawner(), async { 1 });
                assert!(task.cancel());
                pool.run();
                assert!(task.cancelled());
            });
            assert_eq!(seen[0].1, states(&["created", "polled", "cancelled"]));
        }

        #[test]
        fn panicked() {
            let seen = Recorder::record(|| {
                let mut pool = futures::executor::LocalPool::new();
                let task =
                    crate::spawn_local_task(&pool.spawner(), async { panic!("burnt") as u8 });
                let run = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| pool.run()));
                assert!(run.is_err());
                assert!(task.cancelled());
            });
            assert_eq!(seen[0].1, states(&["created", "polled", "panicked"]));
        }

        #[test]
        fn task_group_children_done_and_failed() {
            let seen = Recorder::record(|| {
                let out = futures::executor::block_on(crate::TaskGroup::run(async |tg| {
                    tg.create_task(Coroutine::new("fine", async { Ok::<_, &str>(1) }));
                    tg.create_task(Coroutine::new("burnt", async { Err::<u8, _>("burnt") }));
                    Ok(())
                }));
                assert!(out.is_err());
            });
            assert_eq!(
                seen,
                [
                    (
                        "task task.kind=TaskGroup task.name=fine".to_string(),
                        states(&["created", "polled", "done"])
                    ),
                    (
                        "task task.kind=TaskGroup task.name=burnt".to_string(),
                        states(&["created", "polled", "failed"])
                    ),
                ]
            );
        }

        #[cfg(feature = "event-loop")]
        #[test]
        fn create_task_on_the_loop() {
            let seen = Recorder::record(|| {
                crate::run(async {
                    let task = crate::create_task(Coroutine::new("brew", async { 2 }));
                    assert_eq!(task.await, Ok(2));
                });
            });
            let brew: Vec<_> = seen
                .iter()
                .filter(|(span, _)| span.contains("task.name=brew"))
                .collect();
            assert_eq!(brew.len(), 1, "{seen:?}");
            assert_eq!(brew[0].0, "task task.kind=create_task task.name=brew");
            assert_eq!(brew[0].1, states(&["created", "polled", "done"]));
        }
    }
}
