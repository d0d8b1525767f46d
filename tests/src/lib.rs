//! Integration tests of aiokit, run on every executor.
//!
//! This library holds what the test files share: [`Exec`], one executor as a scenario sees it,
//! its implementations for tokio (current-thread and multi-thread), smol, async-executor and
//! futures' ThreadPool / LocalPool, and [`on_each_executor!`], which turns one scenario into a
//! module named after the rule, with one test per executor.

use std::cell::RefCell;
use std::future::Future;

use aiokit::Task;

/// One executor as the scenarios see it.
pub trait Exec {
    /// Spawns through aiokit's `Spawn` / `LocalSpawn` impl for this executor.
    fn spawn<F>(&self, fut: F) -> Task<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + Sync + 'static;

    /// Runs the executor (if it needs driving) until `fut` completes.
    fn block_on<F: Future>(&self, fut: F) -> F::Output;

    /// Whether spawned futures run on the test's thread, and only inside `block_on`.
    fn is_local(&self) -> bool;
}

pub struct TokioCurrentThread(pub tokio::runtime::Runtime);
pub struct TokioMultiThread(pub tokio::runtime::Runtime);
pub struct Smol(pub smol::Executor<'static>);
pub struct AsyncExecutorLocal(pub async_executor::LocalExecutor<'static>);
pub struct FuturesThreadPool(pub futures_executor::ThreadPool);
pub struct FuturesLocalPool(
    pub RefCell<futures::executor::LocalPool>,
    pub futures::executor::LocalSpawner,
);

/// `impl Exec` from three expressions over `$this`: how it spawns `$fut`, how it runs `$fut`
/// to completion, and whether it is local.
macro_rules! exec {
    ($ty:ty, |$this:ident, $fut:ident| spawn: $spawn:expr, block_on: $block_on:expr, local: $local:expr) => {
        impl Exec for $ty {
            fn spawn<F>(&self, $fut: F) -> Task<F::Output>
            where
                F: Future + Send + 'static,
                F::Output: Send + Sync + 'static,
            {
                let $this = self;
                $spawn
            }
            fn block_on<F: Future>(&self, $fut: F) -> F::Output {
                #[allow(unused_variables)] // the futures thread pool needs no driving
                let $this = self;
                $block_on
            }
            fn is_local(&self) -> bool {
                $local
            }
        }
    };
}

exec!(TokioCurrentThread, |this, fut|
    spawn: aiokit::spawn_task(this.0.handle(), fut),
    block_on: this.0.block_on(fut),
    local: true);
exec!(TokioMultiThread, |this, fut|
    spawn: aiokit::spawn_task(&this.0, fut),
    block_on: this.0.block_on(fut),
    local: false);
exec!(Smol, |this, fut|
    spawn: aiokit::spawn_task(&this.0, fut),
    block_on: smol::block_on(this.0.run(fut)),
    local: true);
exec!(AsyncExecutorLocal, |this, fut|
    spawn: aiokit::spawn_local_task(&this.0, fut).into_task(),
    block_on: futures_lite::future::block_on(this.0.run(fut)),
    local: true);
exec!(FuturesThreadPool, |this, fut|
    spawn: aiokit::spawn_task(&this.0, fut),
    block_on: futures::executor::block_on(fut),
    local: false);
exec!(FuturesLocalPool, |this, fut|
    spawn: aiokit::spawn_local_task(&this.1, fut).into_task(),
    block_on: this.0.borrow_mut().run_until(fut),
    local: true);

pub fn tokio_current_thread() -> TokioCurrentThread {
    TokioCurrentThread(
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap(),
    )
}

pub fn tokio_multi_thread() -> TokioMultiThread {
    TokioMultiThread(
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .build()
            .unwrap(),
    )
}

pub fn futures_local_pool() -> FuturesLocalPool {
    let pool = futures::executor::LocalPool::new();
    let spawner = pool.spawner();
    FuturesLocalPool(RefCell::new(pool), spawner)
}

/// Turns `fn rule(ex) { .. }` into `mod rule` with one `#[test]` per executor.
#[macro_export]
macro_rules! on_each_executor {
    ($(#[$meta:meta])* fn $rule:ident($ex:ident) $body:block) => {
        $(#[$meta])*
        mod $rule {
            #[allow(unused_imports)]
            use super::*;

            fn scenario<E: $crate::Exec>($ex: &E) $body

            #[test]
            #[cfg_attr(miri, ignore)] // needs a runtime: miri runs futures_local_pool only
            fn tokio_current_thread() {
                scenario(&$crate::tokio_current_thread());
            }
            #[test]
            #[cfg_attr(miri, ignore)] // needs a runtime: miri runs futures_local_pool only
            fn tokio_multi_thread() {
                scenario(&$crate::tokio_multi_thread());
            }
            #[test]
            #[cfg_attr(miri, ignore)] // needs a runtime: miri runs futures_local_pool only
            fn smol() {
                scenario(&$crate::Smol(smol::Executor::new()));
            }
            #[test]
            #[cfg_attr(miri, ignore)] // needs a runtime: miri runs futures_local_pool only
            fn async_executor_local() {
                scenario(&$crate::AsyncExecutorLocal(async_executor::LocalExecutor::new()));
            }
            #[test]
            #[cfg_attr(miri, ignore)] // needs a runtime: miri runs futures_local_pool only
            fn futures_thread_pool() {
                scenario(&$crate::FuturesThreadPool(futures_executor::ThreadPool::new().unwrap()));
            }
            #[test]
            fn futures_local_pool() {
                scenario(&$crate::futures_local_pool());
            }
        }
    };
}

pub mod counting_alloc;

/// Manual polling for the rules that need an exact order of events: a waker that counts its
/// wakes, one poll with a given waker, and a shared log.
pub mod manual {
    use std::future::Future;
    use std::pin::Pin;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{Arc, Mutex};
    use std::task::{Context, Poll, Waker};

    use futures::task::{ArcWake, waker};

    /// A waker that counts its wakes.
    pub struct Counter(AtomicUsize);

    impl ArcWake for Counter {
        fn wake_by_ref(arc_self: &Arc<Self>) {
            arc_self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    /// A counting waker and the counter it bumps.
    pub fn counting() -> (Arc<Counter>, Waker) {
        let counter = Arc::new(Counter(AtomicUsize::new(0)));
        (counter.clone(), waker(counter))
    }

    /// How many times the counter's waker was woken.
    pub fn wakes(counter: &Counter) -> usize {
        counter.0.load(Ordering::SeqCst)
    }

    /// Polls `fut` once with `waker`.
    pub fn poll<F: Future>(fut: Pin<&mut F>, waker: &Waker) -> Poll<F::Output> {
        fut.poll(&mut Context::from_waker(waker))
    }

    /// A log shared by the scenario's tasks.
    pub type Log<T> = Arc<Mutex<Vec<T>>>;

    /// An empty log.
    pub fn log<T>() -> Log<T> {
        Arc::new(Mutex::new(Vec::new()))
    }
}
