//! The `as_completed` streams have their own `next`, so a `while let` loop needs no
//! `StreamExt` import; with `StreamExt` imported too, both compile and the inherent one is
//! called. This file imports no `StreamExt` at the top on purpose.

use std::time::Duration;

use aiokit::as_completed;
use futures::executor::block_on;
use futures::future::{Either, pending, ready};

mod streams_have_an_inherent_next {
    use super::*;

    #[test]
    fn plain() {
        block_on(async {
            let mut cups = as_completed([1, 2, 3].map(ready));
            let mut got = Vec::new();
            while let Some(cup) = cups.next().await {
                got.push(cup);
            }
            assert_eq!(got, [1, 2, 3]);
            assert_eq!(cups.next().await, None);
        });
    }

    #[test]
    fn indexed() {
        block_on(async {
            let mut cups = as_completed(['a', 'b'].map(ready)).indexed();
            assert_eq!(cups.next().await, Some((0, 'a')));
            assert_eq!(cups.next().await, Some((1, 'b')));
            assert_eq!(cups.next().await, None);
        });
    }

    #[test]
    fn timed() {
        block_on(async {
            let children = [Either::Left(ready(1)), Either::Right(pending())];
            let (fire, fired) = futures::channel::oneshot::channel::<()>();
            let mut cups = as_completed(children).deadline(async move {
                let _ = fired.await;
            });
            assert_eq!(cups.next().await, Some(Ok(1)));
            fire.send(()).unwrap();
            assert_eq!(cups.next().await, Some(Err(aiokit::TimeoutError::new())));
            assert_eq!(cups.next().await, None);
        });
    }

    #[test]
    fn timed_indexed_with_a_duration() {
        block_on(async {
            let mut cups = as_completed([ready(7)])
                .indexed()
                .timeout(Duration::from_secs(60));
            assert_eq!(cups.next().await, Some(Ok((0, 7))));
            assert_eq!(cups.next().await, None);
        });
    }
}

/// With `StreamExt` in scope, `.next()` still compiles (the inherent method wins), for every
/// stream type; `StreamExt::next` called by its path gives the same items.
mod next_does_not_clash_with_stream_ext {
    use super::*;
    use futures::StreamExt;

    #[test]
    fn every_stream_type() {
        block_on(async {
            let mut plain = as_completed([ready(1)]);
            assert_eq!(plain.next().await, Some(1));
            let mut indexed = as_completed([ready(1)]).indexed();
            assert_eq!(indexed.next().await, Some((0, 1)));
            let mut timed = as_completed([ready(1)]).timeout(Duration::from_secs(60));
            assert_eq!(timed.next().await, Some(Ok(1)));
            let mut timed_indexed = as_completed([ready(1)])
                .indexed()
                .timeout(Duration::from_secs(60));
            assert_eq!(timed_indexed.next().await, Some(Ok((0, 1))));
        });
    }

    #[test]
    fn stream_ext_by_path_yields_the_same() {
        block_on(async {
            let mut cups = as_completed([ready(1), ready(2)]);
            assert_eq!(StreamExt::next(&mut cups).await, Some(1));
            assert_eq!(cups.next().await, Some(2));
            assert_eq!(StreamExt::next(&mut cups).await, None);
        });
    }
}
