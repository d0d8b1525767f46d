//! `gather!` and `try_gather!`: a fixed number of futures of different types, results as a
//! tuple. Small and fixed, so each poll polls every child that is still running, like
//! `futures::join!`; the engine is for sets of one type.

use core::fmt;
use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll};

use futures_core::future::{FusedFuture, TryFuture};
use pin_project_lite::pin_project;

use crate::gather::TryChild;

pin_project! {
    /// A child of a tuple gather: running, then its output, then gone once the output is taken.
    #[doc(hidden)]
    #[project = MaybeDoneProj]
    #[project_replace = MaybeDoneReplace]
    pub enum MaybeDone<F: Future> {
        Running { #[pin] fut: F },
        Done { out: F::Output },
        Gone,
    }
}

impl<F: Future> MaybeDone<F> {
    /// Polls a running child; true once it has an output (or it was taken).
    #[inline]
    fn poll_done(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> bool {
        if let MaybeDoneProj::Running { fut } = self.as_mut().project() {
            match fut.poll(cx) {
                Poll::Ready(out) => self.set(MaybeDone::Done { out }),
                Poll::Pending => return false,
            }
        }
        true
    }

    fn take(self: Pin<&mut Self>) -> F::Output {
        match self.project_replace(MaybeDone::Gone) {
            MaybeDoneReplace::Done { out } => out,
            _ => panic!("`gather!` future polled after it returned its output"),
        }
    }

    fn state(&self) -> ChildState {
        match self {
            MaybeDone::Running { .. } => ChildState::Running,
            MaybeDone::Done { .. } => ChildState::Done,
            MaybeDone::Gone => ChildState::Gone,
        }
    }

    fn is_gone(&self) -> bool {
        matches!(self, MaybeDone::Gone)
    }

    fn is_running(&self) -> bool {
        matches!(self, MaybeDone::Running { .. })
    }
}

impl<T, E, F: Future<Output = Result<T, E>>> MaybeDone<F> {
    fn is_err(&self) -> bool {
        matches!(self, MaybeDone::Done { out: Err(_) })
    }
}

#[derive(Debug)]
enum ChildState {
    Running,
    Done,
    Gone,
}

fn unwrap_ok<T, E>(result: Result<T, E>) -> T {
    match result {
        Ok(value) => value,
        Err(_) => unreachable!("an error returns early"),
    }
}

/// Turns a tuple of futures into the future of `gather!`; implemented for tuples of 1 to 12.
#[doc(hidden)]
pub trait IntoGather {
    type Gather: Future;
    fn into_gather(self) -> Self::Gather;
}

/// Turns a tuple of fallible futures into the future of `try_gather!`.
#[doc(hidden)]
pub trait IntoTryGather {
    type TryGather: Future;
    fn into_try_gather(self) -> Self::TryGather;
}

macro_rules! tuple_gather {
    ($Gather:ident $TryGather:ident; $F0:ident $f0:ident $(, $F:ident $f:ident)*) => {
        pin_project! {
            /// Future of [`gather!`](crate::gather!) for this many children.
            #[must_use = "futures do nothing unless polled"]
            pub struct $Gather<$F0: Future, $($F: Future),*> {
                #[pin] $f0: MaybeDone<$F0>,
                $(#[pin] $f: MaybeDone<$F>,)*
            }

            // Children handed to the macro were handed over on purpose: dropping it, polled or
            // not, reports no never-awaited coroutine.
            impl<$F0: Future $(, $F: Future)*> PinnedDrop for $Gather<$F0 $(, $F)*> {
                fn drop(this: Pin<&mut Self>) {
                    let mut this = this.project();
                    if this.$f0.is_running() $(|| this.$f.is_running())* {
                        crate::coroutine::suppress_never_awaited(|| {
                            this.$f0.set(MaybeDone::Gone);
                            $(this.$f.set(MaybeDone::Gone);)*
                        });
                    }
                }
            }
        }

        impl<$F0: Future, $($F: Future),*> Future for $Gather<$F0, $($F),*> {
            type Output = ($F0::Output, $($F::Output,)*);

            fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
                let mut this = self.project();
                #[allow(unused_mut)] // one child: nothing to add
                let mut all = this.$f0.as_mut().poll_done(cx);
                $(all &= this.$f.as_mut().poll_done(cx);)*
                if all {
                    Poll::Ready((this.$f0.take(), $(this.$f.take(),)*))
                } else {
                    Poll::Pending
                }
            }
        }

        impl<$F0: Future, $($F: Future),*> FusedFuture for $Gather<$F0, $($F),*> {
            fn is_terminated(&self) -> bool {
                self.$f0.is_gone()
            }
        }

        impl<$F0: Future, $($F: Future),*> fmt::Debug for $Gather<$F0, $($F),*> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_tuple(stringify!($Gather))
                    .field(&self.$f0.state())
                    $(.field(&self.$f.state()))*
                    .finish()
            }
        }

        impl<$F0: TryFuture, $($F: TryFuture),*> fmt::Debug for $TryGather<$F0, $($F),*> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_tuple(stringify!($TryGather))
                    .field(&self.$f0.state())
                    $(.field(&self.$f.state()))*
                    .finish()
            }
        }

        impl<$F0: Future, $($F: Future),*> IntoGather for ($F0, $($F,)*) {
            type Gather = $Gather<$F0, $($F),*>;
            fn into_gather(self) -> Self::Gather {
                let ($f0, $($f,)*) = self;
                $Gather {
                    $f0: MaybeDone::Running { fut: $f0 },
                    $($f: MaybeDone::Running { fut: $f },)*
                }
            }
        }

        pin_project! {
            /// Future of [`try_gather!`](crate::try_gather!) for this many children.
            #[must_use = "futures do nothing unless polled"]
            pub struct $TryGather<$F0: TryFuture, $($F: TryFuture),*> {
                #[pin] $f0: MaybeDone<TryChild<$F0>>,
                $(#[pin] $f: MaybeDone<TryChild<$F>>,)*
            }

            // Children handed to the macro were handed over on purpose: dropping it, polled or
            // not, reports no never-awaited coroutine.
            impl<$F0: TryFuture $(, $F: TryFuture)*> PinnedDrop for $TryGather<$F0 $(, $F)*> {
                fn drop(this: Pin<&mut Self>) {
                    let mut this = this.project();
                    if this.$f0.is_running() $(|| this.$f.is_running())* {
                        crate::coroutine::suppress_never_awaited(|| {
                            this.$f0.set(MaybeDone::Gone);
                            $(this.$f.set(MaybeDone::Gone);)*
                        });
                    }
                }
            }
        }

        impl<E, $F0: TryFuture<Error = E>, $($F: TryFuture<Error = E>),*> Future
            for $TryGather<$F0, $($F),*>
        {
            type Output = Result<($F0::Ok, $($F::Ok,)*), E>;

            fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
                let mut this = self.project();
                let mut all = true;
                let mut failed = false;
                all &= this.$f0.as_mut().poll_done(cx);
                failed |= this.$f0.is_err();
                $(
                    if !failed {
                        all &= this.$f.as_mut().poll_done(cx);
                        failed |= this.$f.is_err();
                    }
                )*
                if failed {
                    // Take the first error in completion order, then drop every other child.
                    let mut error = None;
                    if this.$f0.is_err() {
                        error = this.$f0.as_mut().take().err();
                    }
                    $(
                        if error.is_none() && this.$f.is_err() {
                            error = this.$f.as_mut().take().err();
                        }
                    )*
                    // Dropped on purpose, some maybe never polled: not "never awaited".
                    crate::coroutine::suppress_never_awaited(|| {
                        this.$f0.set(MaybeDone::Gone);
                        $(this.$f.set(MaybeDone::Gone);)*
                    });
                    return Poll::Ready(Err(error.expect("a failed child holds an error")));
                }
                if all {
                    Poll::Ready(Ok((unwrap_ok(this.$f0.take()), $(unwrap_ok(this.$f.take()),)*)))
                } else {
                    Poll::Pending
                }
            }
        }

        impl<E, $F0: TryFuture<Error = E>, $($F: TryFuture<Error = E>),*> FusedFuture
            for $TryGather<$F0, $($F),*>
        {
            fn is_terminated(&self) -> bool {
                self.$f0.is_gone()
            }
        }

        impl<$F0: TryFuture, $($F: TryFuture<Error = $F0::Error>),*> IntoTryGather
            for ($F0, $($F,)*)
        {
            type TryGather = $TryGather<$F0, $($F),*>;
            fn into_try_gather(self) -> Self::TryGather {
                let ($f0, $($f,)*) = self;
                $TryGather {
                    $f0: MaybeDone::Running { fut: TryChild { fut: $f0 } },
                    $($f: MaybeDone::Running { fut: TryChild { fut: $f } },)*
                }
            }
        }
    };
}

tuple_gather!(Gather1 TryGather1; A a);
tuple_gather!(Gather2 TryGather2; A a, B b);
tuple_gather!(Gather3 TryGather3; A a, B b, C c);
tuple_gather!(Gather4 TryGather4; A a, B b, C c, D d);
tuple_gather!(Gather5 TryGather5; A a, B b, C c, D d, E5 e);
tuple_gather!(Gather6 TryGather6; A a, B b, C c, D d, E5 e, F f);
tuple_gather!(Gather7 TryGather7; A a, B b, C c, D d, E5 e, F f, G g);
tuple_gather!(Gather8 TryGather8; A a, B b, C c, D d, E5 e, F f, G g, H h);
tuple_gather!(Gather9 TryGather9; A a, B b, C c, D d, E5 e, F f, G g, H h, I i);
tuple_gather!(Gather10 TryGather10; A a, B b, C c, D d, E5 e, F f, G g, H h, I i, J j);
tuple_gather!(Gather11 TryGather11; A a, B b, C c, D d, E5 e, F f, G g, H h, I i, J j, K k);
tuple_gather!(Gather12 TryGather12; A a, B b, C c, D d, E5 e, F f, G g, H h, I i, J j, K k, L l);

/// Runs a fixed set of futures of different types concurrently and returns their outputs as
/// a tuple, in argument order (asyncio's `gather(a, b, c)`).
///
/// Takes 1 to 12 futures (anything `IntoFuture`). Every poll polls each child still running,
/// which is what a handful of children wants; for many children of one type use
/// [`gather()`](crate::gather()), whose cost per poll follows the children woken.
///
/// Dropping the future drops every child it still holds; polled or not, that reports no
/// never-polled [`Coroutine`](crate::Coroutine) as never awaited (see
/// [`set_never_awaited_hook`](crate::hooks::set_never_awaited_hook)).
///
/// # Examples
///
/// ```
/// # futures::executor::block_on(async {
/// let (tea, biscuits, milk) = aiokit::gather!(
///     async { "green tea" },
///     async { 3 },
///     async { Some("oat milk") },
/// )
/// .await;
/// assert_eq!((tea, biscuits, milk), ("green tea", 3, Some("oat milk")));
/// # });
/// ```
///
/// # Panics
///
/// A child's panic propagates; polling the future after it returned its output panics.
#[macro_export]
macro_rules! gather {
    ($($fut:expr),+ $(,)?) => {
        $crate::__private::IntoGather::into_gather((
            $($crate::__private::IntoFuture::into_future($fut),)+
        ))
    };
}

/// Like [`gather!`](crate::gather!) for futures of `Result`s with one error type: the `Ok`
/// values as a tuple, or the first `Err` in completion order, after every other child has been
/// dropped.
///
/// Dropping the future (or the first error) drops every child it still holds; that reports no
/// never-polled [`Coroutine`](crate::Coroutine) as never awaited (see
/// [`set_never_awaited_hook`](crate::hooks::set_never_awaited_hook)).
///
/// # Examples
///
/// ```
/// # futures::executor::block_on(async {
/// let ok: Result<_, String> = aiokit::try_gather!(async { Ok("tea") }, async { Ok(2) }).await;
/// assert_eq!(ok, Ok(("tea", 2)));
///
/// let err = aiokit::try_gather!(
///     async { Ok::<_, String>("tea") },
///     async { Err::<u32, _>("no milk".to_string()) },
/// )
/// .await;
/// assert_eq!(err, Err("no milk".to_string()));
/// # });
/// ```
#[macro_export]
macro_rules! try_gather {
    ($($fut:expr),+ $(,)?) => {
        $crate::__private::IntoTryGather::into_try_gather((
            $($crate::__private::IntoFuture::into_future($fut),)+
        ))
    };
}
