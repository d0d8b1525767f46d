//! Inside a tokio runtime the combinators spend tokio's cooperative budget
//! (`tokio::task::coop`): a combinator over always-ready children yields to the runtime's other
//! tasks instead of running all its children in one poll.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use aiokit::{Done, ReturnWhen, as_completed, gather, try_gather, wait};

const N: usize = 1_000_000;

/// Runs `combinator(flag)` as a task beside a task that sets `flag`, both spawned on a
/// current-thread runtime, the combinator first. Returns what `combinator` saw of the flag,
/// once per child, in index order.
fn beside_other_task<Fut>(combinator: impl FnOnce(Arc<AtomicBool>) -> Fut) -> Vec<bool>
where
    Fut: Future<Output = Vec<bool>> + Send + 'static,
{
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    rt.block_on(async {
        let flag = Arc::new(AtomicBool::new(false));
        let combined = tokio::spawn(combinator(flag.clone()));
        let other = tokio::spawn({
            let flag = flag.clone();
            async move { flag.store(true, Ordering::SeqCst) }
        });
        let seen = combined.await.unwrap();
        other.await.unwrap();
        seen
    })
}

/// The other task ran after the first child and before the last one.
fn assert_interleaved(seen: &[bool]) {
    assert_eq!(seen.len(), N);
    assert!(
        !seen[0],
        "the combinator's task was spawned first: its first child runs first"
    );
    assert!(
        seen[N - 1],
        "the other task never ran while the {N} children ran"
    );
    // Once set, the flag stays set: the children saw it in one switch.
    let switch = seen.iter().position(|&s| s).unwrap();
    assert!(seen[switch..].iter().all(|&s| s));
}

fn child(flag: &Arc<AtomicBool>) -> impl Future<Output = bool> + Send + 'static {
    let flag = flag.clone();
    async move { flag.load(Ordering::SeqCst) }
}

mod gather_of_ready_children_yields_to_other_tokio_tasks {
    use super::*;

    #[test]
    fn gather() {
        let seen =
            beside_other_task(
                |flag| async move { super::gather((0..N).map(|_| child(&flag))).await },
            );
        assert_interleaved(&seen);
    }

    #[test]
    fn try_gather() {
        let seen = beside_other_task(|flag| async move {
            let children = (0..N).map(|_| {
                let child = child(&flag);
                async move { Ok::<_, ()>(child.await) }
            });
            super::try_gather(children).await.unwrap()
        });
        assert_interleaved(&seen);
    }

    #[test]
    fn wait_all_completed() {
        let seen = beside_other_task(|flag| async move {
            let (done, pending) = wait(
                (0..N).map(|_| child(&flag)).collect::<Vec<_>>(),
                ReturnWhen::AllCompleted,
            )
            .await;
            assert!(pending.is_empty());
            let mut done: Vec<_> = done.into_iter().collect();
            done.sort_unstable_by_key(|d| d.index);
            done.into_iter().map(Done::into_output).collect()
        });
        assert_interleaved(&seen);
    }

    #[test]
    fn as_completed() {
        let seen = beside_other_task(|flag| async move {
            let mut stream = super::as_completed((0..N).map(|_| child(&flag)));
            let mut seen = Vec::with_capacity(N);
            while let Some(s) = stream.next().await {
                seen.push(s);
            }
            seen
        });
        assert_interleaved(&seen);
    }

    #[test]
    fn task_group() {
        let seen = beside_other_task(|flag| async move {
            let seen = std::sync::Mutex::new(Vec::with_capacity(N));
            aiokit::TaskGroup::run(async |tg| {
                for _ in 0..N {
                    let child = child(&flag);
                    let seen = &seen;
                    tg.create_task(async move {
                        let s = child.await;
                        seen.lock().unwrap().push(s);
                        Ok::<_, ()>(())
                    });
                }
                Ok(())
            })
            .await
            .unwrap();
            seen.into_inner().unwrap()
        });
        assert_interleaved(&seen);
    }
}
