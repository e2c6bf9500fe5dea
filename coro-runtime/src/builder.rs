//! Spawning with settings: `s.task().name("fetch").spawn(fut)` on any scope, and
//! [`TaskBuilder::detached`] for detached tasks (tokio's `task::Builder`, Kotlin's
//! `launch(CoroutineName("fetch"))`). A name shows in the task's [`JoinError`]
//! (its `Display` and [`JoinError::task_name`]) and on its [`JoinHandle`].
//!
//! [`JoinError`]: crate::JoinError
//! [`JoinError::task_name`]: crate::JoinError::task_name

use std::future::Future;
use std::sync::Arc;

use crate::scope::{Scope, SupervisorScope, TryScope};
use crate::task::JoinHandle;

/// Where a [`TaskBuilder`] spawns for detached tasks: outside any scope.
#[derive(Debug, Clone, Copy)]
pub struct Detached;

/// Settings for one task, then `spawn`. Made by a scope's `task()` or by
/// [`TaskBuilder::detached`]. Costs nothing beyond the name's allocation.
///
/// ```
/// coro::run(coro::scope(async |s| {
///     let handle = s.task().name("resize images").spawn(async { 3 });
///     assert_eq!(handle.name().as_deref(), Some("resize images"));
///     assert_eq!(handle.await.unwrap(), 3);
/// }));
/// ```
#[must_use = "a task builder spawns nothing until `spawn` is called"]
#[derive(Debug)]
pub struct TaskBuilder<'a, S> {
    owner: &'a S,
    name: Option<Arc<String>>,
}

impl<'a, S> TaskBuilder<'a, S> {
    pub(crate) fn new(owner: &'a S) -> Self {
        TaskBuilder { owner, name: None }
    }

    /// Names the task.
    ///
    /// ```
    /// coro::run(coro::supervisor_scope(async |s| {
    ///     let error = s.task().name("parser").spawn(async { panic!("bad input") }).await.unwrap_err();
    ///     let message = error.to_string(); // task `parser` (spawned at src/..:3:29) panicked: bad input
    ///     assert!(message.starts_with("task `parser` (spawned at "), "{message}");
    ///     assert!(message.ends_with(") panicked: bad input"), "{message}");
    /// }));
    /// ```
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(Arc::new(name.into()));
        self
    }
}

impl TaskBuilder<'static, Detached> {
    /// A builder for a detached task, spawned with
    /// [`spawn_detached`](TaskBuilder::spawn_detached).
    ///
    /// ```
    /// coro::run(async {
    ///     let handle = coro::TaskBuilder::detached().name("heartbeat").spawn_detached(async { 1 });
    ///     assert_eq!(handle.await.unwrap(), 1);
    /// });
    /// ```
    pub fn detached() -> Self {
        TaskBuilder::new(&Detached)
    }

    /// Spawns as [`coro::spawn_detached`](crate::spawn_detached) does.
    ///
    /// # Panics
    /// Outside [`coro::run`](crate::run).
    ///
    /// ```
    /// coro::run(async {
    ///     let error = coro::TaskBuilder::detached()
    ///         .name("reporter")
    ///         .spawn_detached(async { panic!("lost connection") })
    ///         .await
    ///         .unwrap_err();
    ///     assert_eq!(error.task_name(), Some("reporter"));
    /// });
    /// ```
    #[track_caller]
    pub fn spawn_detached<F>(self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        crate::spawn_detached(future).named(self.name)
    }
}

impl<'env> TaskBuilder<'_, Scope<'env>> {
    /// Spawns as [`Scope::spawn`] does.
    ///
    /// ```
    /// coro::run(coro::scope(async |s| {
    ///     assert_eq!(s.task().name("one").spawn(async { 1 }).await.unwrap(), 1);
    /// }));
    /// ```
    #[track_caller]
    pub fn spawn<F>(self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + 'env,
        F::Output: 'env,
    {
        self.owner.spawn(future).named(self.name)
    }
}

impl<'env> TaskBuilder<'_, SupervisorScope<'env>> {
    /// Spawns as [`SupervisorScope::spawn`] does.
    ///
    /// ```
    /// coro::run(coro::supervisor_scope(async |s| {
    ///     assert_eq!(s.task().name("one").spawn(async { 1 }).await.unwrap(), 1);
    /// }));
    /// ```
    #[track_caller]
    pub fn spawn<F>(self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + 'env,
        F::Output: 'env,
    {
        self.owner.spawn(future).named(self.name)
    }
}

impl<'env, E: 'env> TaskBuilder<'_, TryScope<'env, E>> {
    /// Spawns as [`TryScope::spawn`] does.
    ///
    /// ```
    /// let result: Result<u32, String> = coro::run(coro::try_scope(async |s| {
    ///     Ok(s.task().name("one").spawn(async { Ok(1) }).await.unwrap())
    /// }));
    /// assert_eq!(result, Ok(1));
    /// ```
    #[track_caller]
    pub fn spawn<T, F>(self, future: F) -> JoinHandle<T>
    where
        F: Future<Output = Result<T, E>> + 'env,
        T: 'env,
    {
        self.owner.spawn(future).named(self.name)
    }
}
