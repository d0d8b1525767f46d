//! Behaviour tests of `#[aiokit::coroutine]` and `partial!()`; the tests named after a rule
//! are the rules of `docs/semantics.md#coroutines` and `docs/semantics.md#functoolspartial`.

use std::cell::Cell;
use std::future::Future;
use std::pin::pin;
use std::sync::{Arc, Mutex, OnceLock};
use std::task::{Context, Poll, Waker};

use aiokit::coroutine::CoroutineState;
use aiokit::{Coroutine, partial};
use futures::executor::block_on;

/// Names reported by the never-awaited hook. The hook is global and tests run in parallel, so
/// each test looks only for the names of its own coroutines.
fn reported() -> &'static Mutex<Vec<String>> {
    static REPORTED: OnceLock<Mutex<Vec<String>>> = OnceLock::new();
    REPORTED.get_or_init(|| {
        aiokit::hooks::set_never_awaited_hook(|info| {
            reported().lock().unwrap().push(info.name().to_owned());
        });
        Mutex::new(Vec::new())
    })
}

fn times_reported(name: &str) -> usize {
    reported()
        .lock()
        .unwrap()
        .iter()
        .filter(|n| n.ends_with(name))
        .count()
}

// --- @asyncio.coroutine / async def ---------------------------------------------------------

thread_local! {
    static BREWED: Cell<u32> = const { Cell::new(0) };
}

/// Makes tea.
#[aiokit::coroutine]
async fn make_tea(kind: &str) -> String {
    BREWED.with(|b| b.set(b.get() + 1));
    format!("{kind} tea")
}

#[test]
fn calling_a_coroutine_function_runs_nothing() {
    let coro = make_tea("green");
    assert_eq!(BREWED.with(Cell::get), 0, "the body ran at the call");
    assert_eq!(coro.state(), CoroutineState::Pending);
    assert_eq!(block_on(coro), "green tea");
    assert_eq!(BREWED.with(Cell::get), 1);
}

#[aiokit::coroutine]
fn coro_sum(a: i32, b: i32, c: i32, d: i32, e: i32) -> i32 {
    BREWED.with(|b| b.set(b.get() + 100));
    a + b + c + d + e
}

#[test]
fn a_plain_function_under_the_decorator_becomes_a_coroutine_too() {
    let coro = coro_sum(1, 2, 3, 4, 5);
    assert_eq!(BREWED.with(Cell::get), 0, "a plain fn body ran at the call");
    let _: &Coroutine<_> = &coro;
    assert_eq!(block_on(coro), 15);
    assert_eq!(BREWED.with(Cell::get), 100);
}

mod kitchen {
    pub struct Kettle<T> {
        pub water: T,
        pub boiled: u32,
    }

    impl<T: Clone + Send> Kettle<T> {
        #[aiokit::coroutine]
        pub async fn pour(&self) -> T {
            self.water.clone()
        }

        #[aiokit::coroutine]
        pub async fn boil(&mut self) -> u32 {
            self.boiled += 1;
            self.boiled
        }

        #[aiokit::coroutine]
        pub async fn into_water(self) -> T {
            self.water
        }
    }
}

#[test]
fn a_coroutine_has_a_name_that_shows_in_every_tasks_repr() {
    let coro = make_tea("black");
    assert_eq!(coro.name(), "make_tea");
    assert_eq!(format!("{coro:?}"), "<coroutine make_tea pending>");
    // Containers that print their children with `{:?}` show the name.
    assert_eq!(
        format!("{:?}", vec![coro]),
        "[<coroutine make_tea pending>]"
    );

    let mut kettle = kitchen::Kettle {
        water: 3u8,
        boiled: 0,
    };
    let pour = kettle.pour();
    assert_eq!(pour.name(), "kitchen::Kettle<_>::pour");
    block_on(pour);
    let boil = kettle.boil();
    assert_eq!(
        format!("{boil:?}"),
        "<coroutine kitchen::Kettle<_>::boil pending>"
    );
    assert_eq!(block_on(boil), 1);
    assert_eq!(block_on(kettle.into_water()), 3);
}

#[aiokit::coroutine(name = "custom.name")]
async fn renamed() -> u8 {
    7
}

#[test]
fn name_option_replaces_the_path() {
    let coro = renamed();
    assert_eq!(format!("{coro:?}"), "<coroutine custom.name pending>");
    assert_eq!(block_on(coro), 7);
}

#[aiokit::coroutine]
async fn forgotten_tea() {}

#[aiokit::coroutine]
async fn cancelled_tea() {
    futures::future::pending::<()>().await;
}

#[test]
fn a_coroutine_created_and_never_awaited_is_reported() {
    let _ = reported();
    drop(forgotten_tea());
    assert_eq!(times_reported("forgotten_tea"), 1);

    // Polled once then dropped: cancelled, not forgotten.
    let mut coro = Box::pin(cancelled_tea());
    let mut cx = Context::from_waker(Waker::noop());
    assert!(coro.as_mut().poll(&mut cx).is_pending());
    drop(coro);
    assert_eq!(times_reported("cancelled_tea"), 0);
}

#[test]
fn combinators_that_drop_unpolled_children_on_purpose_do_not_report_them() {
    let _ = reported();
    let children = vec![
        Coroutine::new("on_purpose_a", std::future::ready(())),
        Coroutine::new("on_purpose_b", std::future::ready(())),
    ];
    aiokit::coroutine::suppress_never_awaited(|| drop(children));
    assert_eq!(times_reported("on_purpose_a"), 0);
    assert_eq!(times_reported("on_purpose_b"), 0);

    let mut pinned = Box::pin(Coroutine::new("on_purpose_c", async {}));
    pinned.as_mut().defuse();
    drop(pinned);
    drop(Coroutine::new("on_purpose_d", async {}).set_never_awaited_report(false));
    assert_eq!(
        times_reported("on_purpose_c") + times_reported("on_purpose_d"),
        0
    );

    // Outside the scope, reporting is back.
    drop(Coroutine::new("after_scope", async {}));
    assert_eq!(times_reported("after_scope"), 1);
}

#[test]
#[should_panic(expected = "cannot reuse already awaited coroutine")]
fn polling_a_finished_coroutine_panics() {
    let mut coro = pin!(make_tea("oolong"));
    let mut cx = Context::from_waker(Waker::noop());
    assert!(coro.as_mut().poll(&mut cx).is_ready());
    let _ = coro.as_mut().poll(&mut cx);
}

// Every shape of signature the attribute keeps.

trait Steep {
    fn minutes(&self) -> u32;
}

impl Steep for u32 {
    fn minutes(&self) -> u32 {
        *self
    }
}

#[aiokit::coroutine]
async fn generic<'a, T: Steep, U>(first: &'a T, second: impl Steep, label: &str) -> (u32, String)
where
    U: Default + std::fmt::Debug,
{
    (
        first.minutes() + second.minutes(),
        format!("{label}{:?}", U::default()),
    )
}

#[aiokit::coroutine]
async fn borrowed<'a>(text: &'a str) -> &'a str {
    &text[1..]
}

#[aiokit::coroutine]
fn patterns((a, b): (u32, u32), mut c: u32, _: u32) -> u32 {
    c += 1;
    a + b + c
}

#[aiokit::coroutine]
async fn early(fail: bool) -> Result<u8, String> {
    if fail {
        return Err("early".into());
    }
    let n: u8 = "12".parse().map_err(|_| "parse")?;
    Ok(n)
}

/// # Safety
/// Always safe; `unsafe` is kept on the signature, which is what this test checks.
#[aiokit::coroutine]
unsafe fn risky() -> u8 {
    9
}

#[aiokit::coroutine]
#[allow(clippy::needless_lifetimes)]
#[must_use]
async fn attributes_kept<'a>(x: &'a u8) -> u8 {
    *x
}

#[test]
fn works_on_generics_impl_trait_where_clauses_lifetimes_and_unsafe_fn() {
    assert_eq!(
        block_on(generic::<u32, u8>(&2, 3u32, "x")),
        (5, "x0".to_owned())
    );
    let owned = String::from("abc");
    assert_eq!(block_on(borrowed(&owned)), "bc");
    assert_eq!(block_on(patterns((1, 2), 3, 4)), 7);
    assert_eq!(block_on(early(true)), Err("early".to_owned()));
    assert_eq!(block_on(early(false)), Ok(12));
    // SAFETY: `risky` has no safety requirement; the test checks `unsafe` is kept.
    assert_eq!(block_on(unsafe { risky() }), 9);
    assert_eq!(block_on(attributes_kept(&4)), 4);
}

struct Flag(Arc<Mutex<Vec<&'static str>>>, &'static str);

impl Drop for Flag {
    fn drop(&mut self) {
        self.0.lock().unwrap().push(self.1);
    }
}

#[aiokit::coroutine]
async fn ignores(_unused: Flag, _: Flag) {}

#[test]
fn arguments_move_into_the_coroutine_like_async_fn() {
    let log = Arc::new(Mutex::new(Vec::new()));
    let coro = ignores(Flag(log.clone(), "a"), Flag(log.clone(), "b"));
    assert!(
        log.lock().unwrap().is_empty(),
        "arguments dropped at the call"
    );
    block_on(coro);
    assert_eq!(log.lock().unwrap().len(), 2);
}

#[aiokit::coroutine(send)]
async fn sendable(n: u32) -> u32 {
    tokio::task::yield_now().await;
    n * 2
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn send_option_makes_a_spawnable_coroutine() {
    let handle = tokio::spawn(sendable(21));
    assert_eq!(handle.await.unwrap(), 42);
}

// --- functools.partial ----------------------------------------------------------------------

fn add_ingredient(ingredient: &str, cup: &mut Vec<String>) {
    cup.push(ingredient.to_owned());
}

#[test]
fn bound_arguments_are_evaluated_once_when_the_partial_is_made() {
    let evaluated = Cell::new(0);
    let next = || {
        evaluated.set(evaluated.get() + 1);
        evaluated.get() * 10
    };
    let p = partial!(|a: u32, b: u32| a + b, next());
    assert_eq!(evaluated.get(), 1);
    assert_eq!(p.call((1,)), 11);
    assert_eq!(p.call((2,)), 12);
    assert_eq!(evaluated.get(), 1, "a bound argument was evaluated again");
}

struct NoDebug;

#[test]
fn the_partial_is_data_its_function_and_bound_arguments_can_be_inspected_and_printed() {
    let mut p = partial!(add_ingredient, "honey");
    assert_eq!(p.args(), &("honey",));
    assert_eq!(p.func_name(), "add_ingredient");
    assert_eq!(format!("{p:?}"), r#"partial(add_ingredient, "honey")"#);
    let mut cup = Vec::new();
    p.call_mut((&mut cup,));
    (p.func())("lemon", &mut cup);
    assert_eq!(cup, ["honey", "lemon"]);

    let q = partial!(|_: NoDebug, n: u8| n, NoDebug);
    assert_eq!(
        format!("{q:?}"),
        "partial(|_: NoDebug, n: u8| n, <macros::NoDebug>)"
    );
    assert_eq!(partial!(u8::max).call((1, 2)), 2);
    assert_eq!(format!("{:?}", partial!(u8::max)), "partial(u8::max)");
}

struct Cup {
    sugar: u32,
}

impl Cup {
    fn stir(&self, times: u32) -> u32 {
        self.sugar * times
    }
    fn add(&mut self, sugar: u32) {
        self.sugar += sugar;
    }
}

#[test]
fn methods_closures_and_generic_paths_as_the_function() {
    let cup = Cup { sugar: 2 };
    let stir = partial!(Cup::stir, &cup);
    assert_eq!(stir.call((3,)), 6);
    assert_eq!(
        format!("{stir:?}").split(',').next(),
        Some("partial(Cup::stir")
    );

    let mut cup = Cup { sugar: 0 };
    partial!(Cup::add, &mut cup).call_once((5,));
    assert_eq!(cup.sugar, 5);

    let max = partial!(std::cmp::max::<u64>, 4);
    assert_eq!(max.call((9,)), 9);
    assert_eq!(max.func_name(), "std::cmp::max::<u64>");

    let owned = String::from("milk");
    let once = partial!(move |extra: &str| owned + extra,);
    assert_eq!(once.call_once(("!",)), "milk!");
}

/// A stand-in for `Task<T>`: `Task::add_done_callback` passes the task by reference, last.
struct FakeTask {
    name: &'static str,
}

trait DoneCallback {
    fn call(&mut self, task: &FakeTask);
}

impl<F: FnMut(&FakeTask)> DoneCallback for F {
    fn call(&mut self, task: &FakeTask) {
        self(task)
    }
}

struct Callback<P>(P);

impl<P> DoneCallback for Callback<P>
where
    for<'a> P: aiokit::partial::PartialFnMut<(&'a FakeTask,)>,
{
    fn call(&mut self, task: &FakeTask) {
        self.0.call_mut((task,));
    }
}

fn run_callbacks(callbacks: &mut [&mut dyn DoneCallback]) {
    let task = FakeTask { name: "brew" };
    for cb in callbacks {
        cb.call(&task);
    }
}

#[test]
fn functools_partial_as_a_callback_is_called_with_the_future_last() {
    let log = Mutex::new(Vec::new());
    let note = |ingredient: &str, task: &FakeTask| {
        log.lock()
            .unwrap()
            .push(format!("{ingredient} in {}", task.name));
    };
    let mut honey = Callback(partial!(note, "honey"));
    let mut lemon = Callback(partial!(&note, "lemon"));
    let mut plain = |task: &FakeTask| log.lock().unwrap().push(task.name.to_owned());
    run_callbacks(&mut [&mut honey, &mut lemon, &mut plain]);
    assert_eq!(
        *log.lock().unwrap(),
        ["honey in brew", "lemon in brew", "brew"]
    );
}

#[test]
fn coroutine_futures_are_polled_in_place() {
    let mut coro = pin!(make_tea("white"));
    let mut cx = Context::from_waker(Waker::noop());
    assert_eq!(
        coro.as_mut().poll(&mut cx),
        Poll::Ready("white tea".to_owned())
    );
}

// A spawned coroutine names its task (once the executor has polled it), as asyncio's task
// repr shows its coroutine.
#[test]
fn a_spawned_coroutine_names_its_task() {
    let mut pool = futures::executor::LocalPool::new();
    let task = aiokit::spawn_local_task(&pool.spawner(), make_tea("green"));
    pool.run_until_stalled();
    assert_eq!(task.name(), "make_tea");
    assert!(format!("{task:?}").contains("make_tea"), "{task:?}");
    let named = aiokit::spawn_local_task(&pool.spawner(), async { 1 });
    pool.run_until_stalled();
    assert!(named.name().starts_with("Task-"), "{}", named.name());
}

fn steep(tea: &str, minutes: u32, cups: u32) -> String {
    format!("{cups} cups of {tea} for {minutes} min")
}

// `_` placeholders (Python 3.14's functools.Placeholder): bind a later position, fill the
// placeholders in order at the call; bound arguments are still evaluated once.
#[test]
fn placeholders_bind_later_positions() {
    let p = aiokit::partial!(steep, _, 3, _);
    assert_eq!(p.call(("sencha", 2)), "2 cups of sencha for 3 min");
    assert_eq!(p.call(("genmaicha", 1)), "1 cups of genmaicha for 3 min");
    assert_eq!(p.args(), &(3,));
    assert_eq!(format!("{p:?}"), "partial(steep, _, 3, _)");

    let evaluated = std::cell::Cell::new(0);
    let minutes = || {
        evaluated.set(evaluated.get() + 1);
        4
    };
    let q = aiokit::partial!(steep, _, minutes(), 1);
    assert_eq!(q.call(("oolong",)), "1 cups of oolong for 4 min");
    assert_eq!(q.call(("oolong",)), "1 cups of oolong for 4 min");
    assert_eq!(evaluated.get(), 1, "bound once, at creation");
    let sub = aiokit::partial!(u32::saturating_sub, _, 1);
    assert_eq!(sub.call((10,)), 9);
}
