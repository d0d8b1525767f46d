//! `ExceptionGroup`: the errors of a failed task group. Only a task group makes one, so it
//! exists with the `std` feature only, as `TaskGroup` does.

use core::fmt;

/// The errors of a [`TaskGroup`](crate::TaskGroup) that failed (asyncio's `ExceptionGroup`):
/// every child error, in the order the children failed, then the body's error, each with the
/// name of the task that failed.
///
/// It is a plain collection: iterate it (`&E` by reference, `E` by value), count it, take the
/// errors out with [`into_inner`](ExceptionGroup::into_inner), or ask whether it holds an error of
/// some kind with [`contains`](ExceptionGroup::contains) and [`split`](ExceptionGroup::split)
/// (asyncio's `except*`). `Display` lists every failure with its task's name.
///
/// # Examples
///
/// ```
/// use aiokit::TaskGroup;
///
/// # futures::executor::block_on(async {
/// let result = TaskGroup::run(async |tg| {
///     tg.create_task(async { Err::<(), _>("out of milk") });
///     Ok(())
/// })
/// .await;
/// let errors = result.unwrap_err();
/// assert_eq!(errors.len(), 1);
/// assert!(errors.contains(|e| *e == "out of milk"));
/// assert!(errors.to_string().starts_with("unhandled errors in a TaskGroup (1 sub-error): "));
/// assert_eq!(errors.into_inner(), ["out of milk"]);
/// # });
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct ExceptionGroup<E> {
    errors: alloc::vec::Vec<E>,
    /// The name of the task that failed with `errors[i]`; `None` for the group's body.
    tasks: alloc::vec::Vec<Option<alloc::string::String>>,
}

/// What `Display` calls the body of a task group.
const BODY: &str = "<body>";

impl<E> ExceptionGroup<E> {
    pub(crate) fn new() -> Self {
        ExceptionGroup {
            errors: alloc::vec::Vec::new(),
            tasks: alloc::vec::Vec::new(),
        }
    }

    pub(crate) fn push_child(&mut self, task: alloc::string::String, error: E) {
        self.errors.push(error);
        self.tasks.push(Some(task));
    }

    pub(crate) fn push_body(&mut self, error: E) {
        self.errors.push(error);
        self.tasks.push(None);
    }

    /// How many errors the group holds (at least one when a task group returns it).
    ///
    /// # Examples
    ///
    /// See [`ExceptionGroup`].
    pub fn len(&self) -> usize {
        self.errors.len()
    }

    /// Whether the group holds no error (never the case for one a task group returned; a
    /// [`split`](ExceptionGroup::split) gives `None` rather than an empty group).
    ///
    /// # Examples
    ///
    /// See [`ExceptionGroup::split`].
    pub fn is_empty(&self) -> bool {
        self.errors.is_empty()
    }

    /// The errors, in order (children in the order they failed, then the body).
    ///
    /// # Examples
    ///
    /// ```
    /// # futures::executor::block_on(async {
    /// let errors = aiokit::TaskGroup::run(async |tg| {
    ///     tg.create_task(async { Err::<(), _>(1) });
    ///     tg.create_task(async { Err::<(), _>(2) });
    ///     Ok(())
    /// })
    /// .await
    /// .unwrap_err();
    /// assert_eq!(errors.iter().sum::<i32>(), 3);
    /// # });
    /// ```
    pub fn iter(&self) -> core::slice::Iter<'_, E> {
        self.errors.iter()
    }

    /// The errors with the name of the task that failed; `None` for the group's body.
    ///
    /// # Examples
    ///
    /// ```
    /// # futures::executor::block_on(async {
    /// let errors = aiokit::TaskGroup::run(async |tg| {
    ///     tg.create_task(async { Err::<(), _>("burnt") }).set_name("toast");
    ///     Ok(())
    /// })
    /// .await
    /// .unwrap_err();
    /// let named: Vec<_> = errors.iter_named().collect();
    /// assert_eq!(named, [(Some("toast"), &"burnt")]);
    /// # });
    /// ```
    pub fn iter_named(&self) -> impl ExactSizeIterator<Item = (Option<&str>, &E)> + '_ {
        self.tasks.iter().map(Option::as_deref).zip(&self.errors)
    }

    /// The errors, in order, without their task names.
    ///
    /// # Examples
    ///
    /// See [`ExceptionGroup`].
    pub fn into_inner(self) -> alloc::vec::Vec<E> {
        self.errors
    }

    /// Whether some error satisfies `pred` (asyncio's `except* Kind:` test, with a predicate
    /// such as `|e| matches!(e, MyError::Timeout(_))`).
    ///
    /// # Examples
    ///
    /// See [`ExceptionGroup`].
    pub fn contains(&self, pred: impl FnMut(&E) -> bool) -> bool {
        self.errors.iter().any(pred)
    }

    /// Splits the group into the errors that satisfy `pred` and the rest, keeping order and
    /// names (Python's `ExceptionGroup.split`, what `except*` does): handle the first part,
    /// return the second. An empty part is `None`.
    ///
    /// # Examples
    ///
    /// ```
    /// #[derive(Debug, PartialEq)]
    /// enum Kitchen { NoMilk, Burnt(u8) }
    ///
    /// # futures::executor::block_on(async {
    /// let errors = aiokit::TaskGroup::run(async |tg| {
    ///     tg.create_task(async { Err::<(), _>(Kitchen::NoMilk) });
    ///     tg.create_task(async { Err::<(), _>(Kitchen::Burnt(2)) });
    ///     Ok(())
    /// })
    /// .await
    /// .unwrap_err();
    /// let (burnt, rest) = errors.split(|e| matches!(e, Kitchen::Burnt(_)));
    /// assert_eq!(burnt.unwrap().into_inner(), [Kitchen::Burnt(2)]);
    /// assert_eq!(rest.unwrap().into_inner(), [Kitchen::NoMilk]);
    /// # });
    /// ```
    pub fn split(self, mut pred: impl FnMut(&E) -> bool) -> (Option<Self>, Option<Self>) {
        let mut matched = ExceptionGroup::new();
        let mut rest = ExceptionGroup::new();
        for (error, task) in self.errors.into_iter().zip(self.tasks) {
            let part = if pred(&error) {
                &mut matched
            } else {
                &mut rest
            };
            part.errors.push(error);
            part.tasks.push(task);
        }
        let wrap = |group: Self| (!group.is_empty()).then_some(group);
        (wrap(matched), wrap(rest))
    }
}

impl ExceptionGroup<alloc::boxed::Box<dyn std::error::Error + Send + Sync>> {
    /// Whether the group holds an error of type `K`, looking into nested groups of boxed
    /// errors too (asyncio's `except* K`, which matches inside nested groups).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::error::Error;
    ///
    /// type BoxError = Box<dyn Error + Send + Sync>;
    ///
    /// # futures::executor::block_on(async {
    /// let errors = aiokit::TaskGroup::run(async |tg| {
    ///     tg.create_task(async { Err::<(), BoxError>(aiokit::TimeoutError::new().into()) });
    ///     Ok(())
    /// })
    /// .await
    /// .unwrap_err();
    /// assert!(errors.contains_type::<aiokit::TimeoutError>());
    /// assert!(!errors.contains_type::<std::fmt::Error>());
    /// # });
    /// ```
    pub fn contains_type<K: std::error::Error + 'static>(&self) -> bool {
        self.iter().any(|e| {
            e.is::<K>()
                || e.downcast_ref::<Self>()
                    .is_some_and(|inner| inner.contains_type::<K>())
        })
    }
}

impl<E> IntoIterator for ExceptionGroup<E> {
    type Item = E;
    type IntoIter = alloc::vec::IntoIter<E>;

    fn into_iter(self) -> Self::IntoIter {
        self.errors.into_iter()
    }
}

impl<'a, E> IntoIterator for &'a ExceptionGroup<E> {
    type Item = &'a E;
    type IntoIter = core::slice::Iter<'a, E>;

    fn into_iter(self) -> Self::IntoIter {
        self.errors.iter()
    }
}

impl<E: fmt::Debug> fmt::Debug for ExceptionGroup<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ExceptionGroup")?;
        f.debug_list()
            .entries(
                self.iter_named()
                    .map(|(task, error)| (task.unwrap_or(BODY), error)),
            )
            .finish()
    }
}

impl<E: fmt::Display> fmt::Display for ExceptionGroup<E> {
    /// `unhandled errors in a TaskGroup (2 sub-errors): Task-3: no milk; <body>: burnt`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.errors.len();
        let plural = if n == 1 { "" } else { "s" };
        write!(
            f,
            "unhandled errors in a TaskGroup ({n} sub-error{plural}): "
        )?;
        for (i, (task, error)) in self.iter_named().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{}: {error}", task.unwrap_or(BODY))?;
        }
        Ok(())
    }
}

// No `source()`: a group has many causes, and Display already prints every one.
impl<E: fmt::Debug + fmt::Display> core::error::Error for ExceptionGroup<E> {}
