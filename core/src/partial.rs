//! The runtime side of `partial!()`: [`Partial`], a function with some leading arguments
//! bound, as data (also at the crate root), and the traits that call it with the remaining
//! arguments, [`PartialFnOnce`], [`PartialFnMut`] and [`PartialFn`].

use core::fmt;

/// A function with its leading arguments bound: what `partial!(f, a, b)` makes
/// (Python's `functools.partial`).
///
/// The bound arguments were evaluated once, when the partial was made. The partial is data:
/// [`func`](Partial::func) and [`args`](Partial::args) inspect it, `Debug` prints it like
/// `partial(add_ingredient, "honey")` (an argument without `Debug` prints as its type name in
/// angle brackets). Call it with the remaining arguments as a tuple, appended after the bound
/// ones:
///
/// | method | needs | bound arguments |
/// |---|---|---|
/// | [`call_once(rest)`](Partial::call_once) | `F: FnOnce` | moved in |
/// | [`call_mut(rest)`](Partial::call_mut) | `F: FnMut`, arguments `Clone` | cloned per call |
/// | [`call(rest)`](Partial::call) | `F: Fn`, arguments `Clone` | cloned per call |
///
/// Where a closure is wanted, wrap it: `move |x| p.call((x,))`. Functions of up to 8
/// parameters in all are supported.
///
/// # Examples
///
/// ```
/// fn brew(tea: &str, minutes: u32, cups: u32) -> String {
///     format!("{cups} cups of {tea}, {minutes} min")
/// }
///
/// // Python: p = functools.partial(brew, "sencha", 2); p(3)
/// let p = aiokit::partial!(brew, "sencha", 2);
/// assert_eq!(p.call((3,)), "3 cups of sencha, 2 min");
/// assert_eq!(p.args(), &("sencha", 2));
/// assert_eq!(format!("{p:?}"), r#"partial(brew, "sencha", 2)"#);
/// ```
#[derive(Clone)]
pub struct Partial<F, Args> {
    func: F,
    args: Args,
    name: &'static str,
    fmt_args: fn(&Args, &mut fmt::Formatter<'_>) -> fmt::Result,
}

impl<F, Args> Partial<F, Args> {
    /// Used by `partial!` only: `fmt_args` is generated where the argument types are known,
    /// which is what lets arguments without `Debug` print a placeholder.
    #[doc(hidden)]
    pub fn __new(
        func: F,
        args: Args,
        name: &'static str,
        fmt_args: fn(&Args, &mut fmt::Formatter<'_>) -> fmt::Result,
    ) -> Self {
        Partial {
            func,
            args,
            name,
            fmt_args,
        }
    }

    /// The function (Python's `p.func`).
    ///
    /// # Examples
    ///
    /// ```
    /// let p = aiokit::partial!(u32::pow, 2);
    /// assert_eq!((p.func())(2, 10), 1024);
    /// ```
    pub fn func(&self) -> &F {
        &self.func
    }

    /// The bound arguments, as a tuple (Python's `p.args`).
    ///
    /// # Examples
    ///
    /// ```
    /// let p = aiokit::partial!(u32::pow, 2);
    /// assert_eq!(p.args(), &(2,));
    /// ```
    pub fn args(&self) -> &Args {
        &self.args
    }

    /// The function as written in the macro call, like `add_ingredient` or `Kettle::boil`.
    ///
    /// # Examples
    ///
    /// ```
    /// let p = aiokit::partial!(u32::pow, 2);
    /// assert_eq!(p.func_name(), "u32::pow");
    /// ```
    pub fn func_name(&self) -> &'static str {
        self.name
    }

    /// Takes the function and the bound arguments back.
    ///
    /// # Examples
    ///
    /// ```
    /// let (f, (base,)) = aiokit::partial!(u32::pow, 2).into_parts();
    /// assert_eq!(f(base, 3), 8);
    /// ```
    pub fn into_parts(self) -> (F, Args) {
        (self.func, self.args)
    }

    /// Calls the function once, moving the bound arguments in, with `rest` appended.
    ///
    /// # Examples
    ///
    /// ```
    /// let name = String::from("honey");
    /// let p = aiokit::partial!(|s: String, n: usize| s.len() + n, name);
    /// assert_eq!(p.call_once((1,)), 6);
    /// ```
    pub fn call_once<Rest>(self, rest: Rest) -> <Self as PartialFnOnce<Rest>>::Output
    where
        Self: PartialFnOnce<Rest>,
    {
        PartialFnOnce::call_once(self, rest)
    }

    /// Calls a `FnMut` function with clones of the bound arguments and `rest` appended.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut log = Vec::new();
    /// let mut p = aiokit::partial!(|tag: &str, n: u32| log.push(format!("{tag}{n}")), "#");
    /// p.call_mut((1,));
    /// p.call_mut((2,));
    /// drop(p);
    /// assert_eq!(log, ["#1", "#2"]);
    /// ```
    pub fn call_mut<Rest>(&mut self, rest: Rest) -> <Self as PartialFnMut<Rest>>::Output
    where
        Self: PartialFnMut<Rest>,
    {
        PartialFnMut::call_mut(self, rest)
    }

    /// Calls a `Fn` function with clones of the bound arguments and `rest` appended.
    ///
    /// # Examples
    ///
    /// ```
    /// let p = aiokit::partial!(i32::max, 0);
    /// assert_eq!(p.call((-5,)), 0);
    /// assert_eq!(p.call((5,)), 5);
    /// ```
    pub fn call<Rest>(&self, rest: Rest) -> <Self as PartialFn<Rest>>::Output
    where
        Self: PartialFn<Rest>,
    {
        PartialFn::call(self, rest)
    }
}

impl<F, Args> fmt::Debug for Partial<F, Args> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("partial(")?;
        f.write_str(self.name)?;
        (self.fmt_args)(&self.args, f)?;
        f.write_str(")")
    }
}

/// A [`Partial`] that can be called once with the remaining arguments `Rest` (a tuple).
///
/// Implemented when the function takes the bound arguments followed by `Rest`. A task's
/// done-callback is a `Partial` that implements `PartialFnMut<(&Task<T>,)>`.
pub trait PartialFnOnce<Rest> {
    /// What the function returns.
    type Output;
    /// Calls the function with the bound arguments, then `rest`.
    fn call_once(self, rest: Rest) -> Self::Output;
}

/// A [`Partial`] that can be called repeatedly through `&mut`; see [`PartialFnOnce`].
pub trait PartialFnMut<Rest> {
    /// What the function returns.
    type Output;
    /// Calls the function with clones of the bound arguments, then `rest`.
    fn call_mut(&mut self, rest: Rest) -> Self::Output;
}

/// A [`Partial`] that can be called through `&`; see [`PartialFnOnce`].
pub trait PartialFn<Rest> {
    /// What the function returns.
    type Output;
    /// Calls the function with clones of the bound arguments, then `rest`.
    fn call(&self, rest: Rest) -> Self::Output;
}

macro_rules! impl_call {
    ([$($A:ident $a:ident),*] [$($R:ident $r:ident),*]) => {
        impl<Func, Out, $($A,)* $($R,)*> PartialFnOnce<($($R,)*)> for Partial<Func, ($($A,)*)>
        where
            Func: FnOnce($($A,)* $($R,)*) -> Out,
        {
            type Output = Out;
            #[allow(non_snake_case, clippy::unused_unit)]
            fn call_once(self, ($($r,)*): ($($R,)*)) -> Out {
                let ($($a,)*) = self.args;
                (self.func)($($a,)* $($r,)*)
            }
        }

        impl<Func, Out, $($A: Clone,)* $($R,)*> PartialFnMut<($($R,)*)> for Partial<Func, ($($A,)*)>
        where
            Func: FnMut($($A,)* $($R,)*) -> Out,
        {
            type Output = Out;
            #[allow(non_snake_case, clippy::unused_unit)]
            fn call_mut(&mut self, ($($r,)*): ($($R,)*)) -> Out {
                let ($($a,)*) = &self.args;
                (self.func)($($a.clone(),)* $($r,)*)
            }
        }

        impl<Func, Out, $($A: Clone,)* $($R,)*> PartialFn<($($R,)*)> for Partial<Func, ($($A,)*)>
        where
            Func: Fn($($A,)* $($R,)*) -> Out,
        {
            type Output = Out;
            #[allow(non_snake_case, clippy::unused_unit)]
            fn call(&self, ($($r,)*): ($($R,)*)) -> Out {
                let ($($a,)*) = &self.args;
                (self.func)($($a.clone(),)* $($r,)*)
            }
        }
    };
}

// Every split of at most 8 parameters into bound ones and remaining ones.
macro_rules! impl_rest {
    ($bound:tt []) => {
        impl_call!($bound []);
    };
    ($bound:tt [$R:ident $r:ident $(, $Rs:ident $rs:ident)*]) => {
        impl_call!($bound [$R $r $(, $Rs $rs)*]);
        impl_rest!($bound [$($Rs $rs),*]);
    };
}

impl_rest!([] [R1 r1, R2 r2, R3 r3, R4 r4, R5 r5, R6 r6, R7 r7, R8 r8]);
impl_rest!([A1 a1] [R1 r1, R2 r2, R3 r3, R4 r4, R5 r5, R6 r6, R7 r7]);
impl_rest!([A1 a1, A2 a2] [R1 r1, R2 r2, R3 r3, R4 r4, R5 r5, R6 r6]);
impl_rest!([A1 a1, A2 a2, A3 a3] [R1 r1, R2 r2, R3 r3, R4 r4, R5 r5]);
impl_rest!([A1 a1, A2 a2, A3 a3, A4 a4] [R1 r1, R2 r2, R3 r3, R4 r4]);
impl_rest!([A1 a1, A2 a2, A3 a3, A4 a4, A5 a5] [R1 r1, R2 r2, R3 r3]);
impl_rest!([A1 a1, A2 a2, A3 a3, A4 a4, A5 a5, A6 a6] [R1 r1, R2 r2]);
impl_rest!([A1 a1, A2 a2, A3 a3, A4 a4, A5 a5, A6 a6, A7 a7] [R1 r1]);
impl_rest!([A1 a1, A2 a2, A3 a3, A4 a4, A5 a5, A6 a6, A7 a7, A8 a8] []);

/// Formats one bound argument for `partial!`'s `Debug`: with its own `Debug` when it has one
/// (this impl wins method resolution), else as `<TypeName>` (the [`DebugFallback`] impl, one
/// autoref further).
#[doc(hidden)]
#[derive(Debug)]
pub struct DebugArg<'a, T>(pub &'a T);

#[doc(hidden)]
pub trait DebugViaDebug {
    fn __aiokit_fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result;
}

impl<T: fmt::Debug> DebugViaDebug for DebugArg<'_, T> {
    fn __aiokit_fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.0, f)
    }
}

#[doc(hidden)]
pub trait DebugFallback {
    fn __aiokit_fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result;
}

impl<T> DebugFallback for &DebugArg<'_, T> {
    fn __aiokit_fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<{}>", core::any::type_name::<T>())
    }
}
