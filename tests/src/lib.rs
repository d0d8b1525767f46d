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
            fn tokio_current_thread() {
                scenario(&$crate::tokio_current_thread());
            }
            #[test]
            fn tokio_multi_thread() {
                scenario(&$crate::tokio_multi_thread());
            }
            #[test]
            fn smol() {
                scenario(&$crate::Smol(smol::Executor::new()));
            }
            #[test]
            fn async_executor_local() {
                scenario(&$crate::AsyncExecutorLocal(async_executor::LocalExecutor::new()));
            }
            #[test]
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
