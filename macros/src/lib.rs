//! Procedural macros for [aiokit](https://docs.rs/aiokit). Use them through `aiokit`'s
//! re-exports (`#[aiokit::coroutine]`, `aiokit::partial!`): the expansions name
//! `::aiokit::__private` items, so `aiokit` is the only dependency a user needs.
//!
//! Each macro parses its input, validates it, then expands it, in modules of those names; on
//! an error the original item is emitted beside the error, so the user sees that one error
//! rather than a cascade of "function not found".

#![forbid(unsafe_code)]

use proc_macro::TokenStream;

mod coroutine;
mod partial;
#[cfg(test)]
mod proptests;

/// Makes a function a named, lazy coroutine, like asyncio's `async def` and
/// `@asyncio.coroutine`.
///
/// The function returns an `aiokit::Coroutine` and runs nothing when called: its body runs
/// when the coroutine is first polled. It works on `async fn` and on plain `fn` (whose body
/// then runs at the first poll too), free functions and methods (`&self`, `&mut self`,
/// `self`), generics, `impl Trait` arguments, where clauses, lifetimes and `unsafe fn`;
/// attributes and doc comments stay on the function.
///
/// The coroutine's `name()` is the function's path inside its crate
/// (Python's `__qualname__`: `make_tea`, `kitchen::Kettle<_>::boil`); its `Debug` shows the
/// name and the state: `<coroutine make_tea pending>`. Dropping it without ever polling it
/// is reported (asyncio's "coroutine 'make_tea' was never awaited"), see
/// `aiokit::hooks::set_never_awaited_hook`.
///
/// Write it with its path, `#[aiokit::coroutine]`: rustc has a builtin `#[coroutine]`
/// attribute, so a bare imported `#[coroutine]` is ambiguous (error E0659).
///
/// # Examples
///
/// ```python
/// async def make_tea(kind):
///     return f"{kind} tea"
///
/// @asyncio.coroutine            # Python < 3.11: a plain function becomes a coroutine
/// def coro_sum(*args):
///     return sum(args)
///
/// coro = make_tea("green")      # nothing runs yet
/// print(asyncio.run(coro))      # green tea
/// print(asyncio.run(coro_sum(1, 2, 3, 4, 5)))   # 15
/// ```
///
/// ```
/// #[aiokit::coroutine]
/// async fn make_tea(kind: &str) -> String {
///     format!("{kind} tea")
/// }
///
/// #[aiokit::coroutine]
/// fn coro_sum(args: &[i32]) -> i32 {
///     args.iter().sum()
/// }
///
/// let coro = make_tea("green"); // nothing runs yet
/// // In a crate's root module, this prints `<coroutine make_tea pending>`.
/// assert!(format!("{coro:?}").ends_with("make_tea pending>"));
/// assert_eq!(futures::executor::block_on(coro), "green tea");
/// assert_eq!(futures::executor::block_on(coro_sum(&[1, 2, 3, 4, 5])), 15);
/// ```
///
/// Without the macro, the function above is:
///
/// ```
/// fn make_tea(kind: &str) -> aiokit::Coroutine<impl Future<Output = String>> {
///     aiokit::Coroutine::new("make_tea", async move {
///         let kind = kind; // every argument moves in, as with `async fn`
///         format!("{kind} tea")
///     })
/// }
/// # assert_eq!(futures::executor::block_on(make_tea("green")), "green tea");
/// ```
///
/// # Options
///
/// - `name = "..."` replaces the path as the name:
///   `#[aiokit::coroutine(name = "brew")]` is `aiokit::Coroutine::new("brew", async move { .. })`.
/// - `send` checks at compile time that the coroutine is `Send` (spawnable on a multi-threaded
///   executor), with the error on the function's name rather than deep in a caller; it is
///   the check `fn f() -> impl Future<Output = T> + Send` makes.
///
/// ```
/// #[aiokit::coroutine(name = "brew", send)]
/// async fn make_tea() -> u32 {
///     3
/// }
///
/// let coro = make_tea();
/// assert_eq!(coro.name(), "brew");
/// fn spawnable<T: Send>(_: &T) {}
/// spawnable(&coro);
/// # futures::executor::block_on(coro);
/// ```
///
/// On anything but a function with a body, on `const fn`, on `extern` or variadic functions,
/// and with unknown or repeated options, it reports an error on the offending tokens.
#[proc_macro_attribute]
pub fn coroutine(args: TokenStream, item: TokenStream) -> TokenStream {
    coroutine::coroutine(args.into(), item.into()).into()
}

/// Binds leading arguments of a function: Python's `functools.partial`.
///
/// `partial!(f, a, b)` evaluates `f`, `a` and `b` once, now, and returns an
/// `aiokit::Partial`: data that can be inspected (`func()`, `args()`) and printed
/// (`partial(f, a, b)`; an argument without `Debug` prints as `<TypeName>`), and called with
/// the remaining arguments appended: `p.call((x,))` (`Fn`, bound arguments cloned per call),
/// `p.call_mut((x,))` (`FnMut`), `p.call_once((x,))` (`FnOnce`, arguments moved). The function
/// may be a path (`add_ingredient`, `Kettle::boil`, `std::cmp::max::<u32>`), a closure with
/// typed arguments, or any expression. As a task's done-callback, the task is appended last:
/// `partial!(add_ingredient, "honey")` is called as `add_ingredient("honey", &task)`.
///
/// # Examples
///
/// ```python
/// def add_ingredient(ingredient, cup):
///     cup.append(ingredient)
///
/// p = functools.partial(add_ingredient, "honey")
/// print(p)                      # functools.partial(<function add_ingredient ...>, 'honey')
/// cup = []
/// p(cup)
/// print(p.args, cup)            # ('honey',) ['honey']
/// ```
///
/// ```
/// fn add_ingredient(ingredient: &str, cup: &mut Vec<String>) {
///     cup.push(ingredient.to_owned());
/// }
///
/// let mut p = aiokit::partial!(add_ingredient, "honey");
/// assert_eq!(format!("{p:?}"), r#"partial(add_ingredient, "honey")"#);
/// let mut cup = Vec::new();
/// p.call_mut((&mut cup,));
/// assert_eq!((p.args(), cup), (&("honey",), vec!["honey".to_owned()]));
/// ```
///
/// Without the macro (and without the `Debug` output), it is a closure over values computed
/// beforehand:
///
/// ```
/// # fn add_ingredient(ingredient: &str, cup: &mut Vec<String>) { cup.push(ingredient.into()) }
/// let ingredient = "honey"; // evaluated once
/// let mut p = move |cup: &mut Vec<String>| add_ingredient(ingredient, cup);
/// # let mut cup = Vec::new(); p(&mut cup);
/// ```
///
/// `_` placeholders (Python 3.14's `functools.Placeholder`) leave a position open: the
/// values given at the call fill the placeholders in order. `args()` then holds the bound
/// values only, `Debug` shows the `_`, and `func()` is a wrapper that puts the arguments in
/// their written order. A partial with placeholders takes exactly as many arguments as it has
/// placeholders.
///
/// ```
/// fn steep(tea: &str, minutes: u32, cups: u32) -> String {
///     format!("{cups} cups of {tea}, {minutes} min")
/// }
///
/// // Python 3.14: p = functools.partial(steep, Placeholder, 3); p("sencha", 2)
/// let p = aiokit::partial!(steep, _, 3, _);
/// assert_eq!(p.call(("sencha", 2)), "2 cups of sencha, 3 min");
/// assert_eq!(format!("{p:?}"), "partial(steep, _, 3, _)");
/// ```
///
/// Where a closure is wanted, wrap the partial: `move |x| p.call((x,))`. A missing function,
/// an empty call, `_` as the function and arguments that are not expressions are errors on
/// the offending tokens.
#[proc_macro]
pub fn partial(input: TokenStream) -> TokenStream {
    partial::partial(input.into()).into()
}
