//! Futures of different types boxed to one type, for [`wait`](crate::wait()),
//! [`as_completed`](crate::as_completed()) and [`gather`](crate::gather()), keeping the name of
//! a [`Coroutine`].
//!
//! asyncio's `wait([sleep(1), raise_ex_after(2)])` takes awaitables of any kind; in Rust the
//! children of one `wait` share one type. [`boxed!`](crate::boxed!) boxes any `Send` future to
//! [`Boxed`], and when the future is a `Coroutine` (a `#[aiokit::coroutine]` fn's return value)
//! the box keeps its name, as asyncio's `Task(<raise_ex_after>)` does.

use alloc::boxed::Box;
use core::cell::Cell;
use core::fmt;
use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll};

use crate::coroutine::Coroutine;

/// A boxed `Send` future with an optional name: the one type that futures of different types
/// become with [`boxed!`](crate::boxed!), so that they can be children of one
/// [`wait`](crate::wait()).
///
/// # Examples
///
/// ```
/// use aiokit::{ReturnWhen, wait};
///
/// #[aiokit::coroutine]
/// async fn raise_ex_after(n: u8) -> Result<u8, String> {
///     Err(format!("raised after {n}"))
/// }
///
/// # futures::executor::block_on(async {
/// let children = [
///     aiokit::boxed!(async { Ok::<u8, String>(1) }),
///     aiokit::boxed!(raise_ex_after(2)),
/// ];
/// // The names, by index, before `wait` takes the children.
/// let names: Vec<_> = children.iter().map(|child| child.name()).collect();
/// assert_eq!(names[0], None);
/// assert!(names[1].unwrap().ends_with("raise_ex_after"));
///
/// let (done, pending) = wait(children, ReturnWhen::FirstException).await;
/// assert!(pending.is_empty());
/// let failed = done.iter().find(|d| d.output.is_err()).unwrap();
/// assert!(names[failed.index].unwrap().ends_with("raise_ex_after"));
/// # });
/// ```
pub struct Boxed<'a, T> {
    fut: Pin<Box<dyn Future<Output = T> + Send + 'a>>,
    name: Option<&'static str>,
    /// Whether the name was announced to the combinator driving the box (on its first poll).
    announced: bool,
}

impl<'a, T> Boxed<'a, T> {
    /// Boxes `fut`, without a name.
    ///
    /// # Examples
    ///
    /// ```
    /// let fut = aiokit::boxed::Boxed::new(async { 1 });
    /// assert_eq!(fut.name(), None);
    /// assert_eq!(futures::executor::block_on(fut), 1);
    /// ```
    pub fn new<F: Future<Output = T> + Send + 'a>(fut: F) -> Self {
        Boxed {
            fut: Box::pin(fut),
            name: None,
            announced: false,
        }
    }

    /// Boxes the coroutine `coro`, keeping its name.
    ///
    /// # Examples
    ///
    /// ```
    /// let coro = aiokit::Coroutine::new("brew", async { 1 });
    /// let fut = aiokit::boxed::Boxed::from_coroutine(coro);
    /// assert_eq!(fut.name(), Some("brew"));
    /// assert_eq!(futures::executor::block_on(fut), 1);
    /// ```
    pub fn from_coroutine<F>(coro: Coroutine<F>) -> Self
    where
        F: Future<Output = T> + Send + 'a,
    {
        let name = coro.name();
        Boxed {
            fut: Box::pin(coro),
            name: Some(name),
            announced: false,
        }
    }

    /// The name of the coroutine that was boxed, if it was one.
    pub fn name(&self) -> Option<&'static str> {
        self.name
    }
}

impl<T> Future for Boxed<'_, T> {
    type Output = T;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        if let (Some(name), false) = (self.name, self.announced) {
            // The coroutine inside is on the heap: a combinator holding the box learns the
            // name from the box, on its first poll (as a coroutine announces itself).
            self.announced = true;
            crate::names::announce(&*self as *const Self as usize, name);
        }
        self.fut.as_mut().poll(cx)
    }
}

impl<T> fmt::Debug for Boxed<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name {
            Some(name) => write!(f, "Boxed(<{name}>)"),
            None => f.write_str("Boxed(<future>)"),
        }
    }
}

/// Boxes a `Send` future to a [`Boxed`](crate::boxed::Boxed), keeping its name when it is a
/// [`Coroutine`](crate::Coroutine): `aiokit::boxed!(fut)`.
///
/// Futures of different types boxed this way are children of one [`wait`](crate::wait()),
/// [`as_completed`](crate::as_completed()) or [`gather`](crate::gather()) (asyncio's
/// `wait([sleep(1), raise_ex_after(2)])`). The name is found from the expression's type where
/// the macro is used (a function can't tell, generically, whether its future is a coroutine).
/// The future must be `Send` (the box is `dyn Future + Send`).
///
/// # Examples
///
/// ```
/// #[aiokit::coroutine]
/// async fn make_tea() -> &'static str {
///     "tea"
/// }
///
/// let teas = [aiokit::boxed!(make_tea()), aiokit::boxed!(async { "water" })];
/// assert!(teas[0].name().unwrap().ends_with("make_tea"));
/// assert_eq!(teas[1].name(), None);
/// let cups = futures::executor::block_on(aiokit::gather(teas));
/// assert_eq!(cups, ["tea", "water"]);
/// ```
#[macro_export]
macro_rules! boxed {
    ($fut:expr $(,)?) => {{
        #[allow(unused_imports)]
        use $crate::__private::{BoxViaCoroutine as _, BoxViaFuture as _};
        (&$crate::__private::BoxProbe::new($fut)).__aiokit_boxed()
    }};
}

/// The macro's probe: a coroutine takes the first impl, any other future the second.
#[doc(hidden)]
pub struct BoxProbe<F>(Cell<Option<F>>);

impl<F> fmt::Debug for BoxProbe<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("BoxProbe")
    }
}

impl<F> BoxProbe<F> {
    #[doc(hidden)]
    pub fn new(fut: F) -> Self {
        BoxProbe(Cell::new(Some(fut)))
    }

    fn take(&self) -> F {
        self.0.take().expect("boxed! takes its future once")
    }
}

#[doc(hidden)]
pub trait BoxViaCoroutine<'a, T> {
    fn __aiokit_boxed(&self) -> Boxed<'a, T>;
}

impl<'a, F: Future + Send + 'a> BoxViaCoroutine<'a, F::Output> for BoxProbe<Coroutine<F>> {
    fn __aiokit_boxed(&self) -> Boxed<'a, F::Output> {
        Boxed::from_coroutine(self.take())
    }
}

#[doc(hidden)]
pub trait BoxViaFuture<'a, T> {
    fn __aiokit_boxed(&self) -> Boxed<'a, T>;
}

impl<'a, F: Future + Send + 'a> BoxViaFuture<'a, F::Output> for &BoxProbe<F> {
    fn __aiokit_boxed(&self) -> Boxed<'a, F::Output> {
        Boxed::new(self.take())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ReturnWhen, wait};

    mod boxed_children_keep_their_coroutine_names {
        use super::*;

        // `Coroutine::new` is what `#[aiokit::coroutine]` expands to; in this crate's own unit
        // tests the attribute's `::aiokit` paths do not name this crate's `Coroutine`.
        fn sleep_a_bit() -> Coroutine<impl Future<Output = Result<(), &'static str>>> {
            Coroutine::new("sleep_a_bit", async { Ok(()) })
        }

        fn raise_ex_after() -> Coroutine<impl Future<Output = Result<(), &'static str>>> {
            Coroutine::new("raise_ex_after", async { Err("Raising an exception.") })
        }

        #[test]
        fn coroutines_keep_their_names_and_other_futures_have_none() {
            let children = [
                crate::boxed!(sleep_a_bit()),
                crate::boxed!(raise_ex_after()),
                crate::boxed!(core::future::pending::<Result<(), &'static str>>()),
            ];
            let names: Vec<_> = children.iter().map(|c| c.name()).collect();
            assert!(names[0].unwrap().ends_with("sleep_a_bit"), "{names:?}");
            assert!(names[1].unwrap().ends_with("raise_ex_after"), "{names:?}");
            assert_eq!(names[2], None);
            assert_eq!(format!("{:?}", children[2]), "Boxed(<future>)");

            let (done, pending) =
                futures::executor::block_on(wait(children, ReturnWhen::FirstException));
            let done: Vec<_> = done.iter().map(|d| (names[d.index], d.output)).collect();
            assert_eq!(done.len(), 2);
            assert!(done.contains(&(names[0], Ok(()))));
            assert!(done.contains(&(names[1], Err("Raising an exception."))));
            assert_eq!(pending.indices().collect::<Vec<_>>(), [2]);
        }

        #[test]
        fn a_boxed_coroutine_polls_as_the_coroutine() {
            let fut = crate::boxed!(sleep_a_bit());
            assert!(format!("{fut:?}").contains("sleep_a_bit"));
            assert_eq!(futures::executor::block_on(fut), Ok(()));
        }
    }
}
