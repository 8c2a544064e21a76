//! Group commit: writes that arrive while one transaction is being committed wait and
//! are then committed together, each in a savepoint of one transaction, with one durable
//! commit (one fsync) for the group. Every catalog write locks the same row (the feed's
//! head), so writes are serialised anyway; grouping them makes that lock, the commit and
//! the read model's catching up happen once per group instead of once per write.
//!
//! A write that fails rolls back its own savepoint only; the others of its group commit.
//! A write's answer is given only after the group's commit returned, so nothing is
//! acknowledged before it is durable.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::mpsc;

use diesel::Connection;

use diesel::r2d2;

use super::DbConnection;
use super::connection::{Manager, StorageError};

thread_local! {
    /// Whether the transaction running on this thread is a group's, which holds the
    /// catalog write lock from its start.
    static CATALOG_LOCKED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Whether this thread runs a group's transaction, which already holds the catalog
/// write lock (so a write in it need not take the lock again).
pub fn holds_catalog_lock() -> bool {
    CATALOG_LOCKED.get()
}

/// Most writes committed in one transaction.
const MAX_GROUP: usize = 64;

/// Delivers a write's answer once its group's commit is known (`Err`: the commit failed).
type Delivery = Box<dyn FnOnce(Result<(), String>) + Send>;
/// A write: runs in its savepoint and gives the delivery of its answer; without a
/// connection (`Err`: why), it fails at once.
type Job = Box<dyn FnOnce(Result<&mut DbConnection, &str>) -> Delivery + Send>;

/// The handle writers submit to; the committing thread ends when it is dropped.
#[derive(Clone)]
pub struct GroupCommitter {
    pool: r2d2::Pool<Manager>,
    jobs: mpsc::Sender<(r2d2::Pool<Manager>, Job)>,
}

impl std::fmt::Debug for GroupCommitter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GroupCommitter").finish_non_exhaustive()
    }
}

impl GroupCommitter {
    /// Starts the committing thread on connections from `pool`.
    ///
    /// Each write carries the pool to the thread, which keeps no connection (nor the
    /// pool) between groups: dropping the database closes every connection at once, as
    /// SQLite's checkpoint and PostgreSQL's `DROP DATABASE` expect.
    pub(crate) fn start(pool: r2d2::Pool<Manager>) -> Result<Self, StorageError> {
        let (jobs, queue) = mpsc::channel();
        std::thread::Builder::new()
            .name("group-commit".into())
            .spawn(move || commit_groups(&queue))
            .map_err(|e| StorageError::Blocking(e.to_string()))?;
        Ok(Self { pool, jobs })
    }

    /// Runs `work` in a savepoint of the next group's transaction and returns its
    /// result once that transaction committed (or the commit's failure).
    pub async fn run<T, E, F>(&self, work: F) -> Result<T, E>
    where
        F: FnOnce(&mut DbConnection) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<StorageError> + From<diesel::result::Error> + Send + 'static,
    {
        let (answer, answered) = tokio::sync::oneshot::channel::<Result<T, E>>();
        let span = tracing::Span::current();
        let job: Job = Box::new(move |conn| {
            let _entered = span.enter();
            let conn = match conn {
                Ok(conn) => conn,
                Err(why) => {
                    let _ = answer.send(Err(E::from(StorageError::Unavailable(why.to_owned()))));
                    return Box::new(|_| {});
                }
            };
            let result =
                catch_unwind(AssertUnwindSafe(|| conn.transaction(work))).unwrap_or_else(|_| {
                    Err(E::from(StorageError::Blocking("a write panicked".into())))
                });
            Box::new(move |committed| {
                let result = match committed {
                    Ok(()) => result,
                    // The write's own refusal stands; an accepted write was lost with
                    // its group's commit.
                    Err(failure) => {
                        result.and_then(|_| Err(E::from(StorageError::Commit(failure))))
                    }
                };
                // The writer may have gone (client disconnected): nothing to tell it.
                let _ = answer.send(result);
            })
        });
        self.jobs
            .send((self.pool.clone(), job))
            .map_err(|_| E::from(StorageError::Blocking("the group committer stopped".into())))?;
        answered
            .await
            .map_err(|_| E::from(StorageError::Blocking("the group committer stopped".into())))?
    }
}

/// The committing thread: takes every write waiting (at most [`MAX_GROUP`]), runs them
/// in one transaction, commits, then answers them.
fn commit_groups(queue: &mpsc::Receiver<(r2d2::Pool<Manager>, Job)>) {
    while let Ok((pool, first)) = queue.recv() {
        let mut group = vec![first];
        while group.len() < MAX_GROUP {
            match queue.try_recv() {
                Ok((_, job)) => group.push(job),
                Err(_) => break,
            }
        }
        let mut deliveries: Vec<Delivery> = Vec::with_capacity(group.len());
        let committed = match pool.get() {
            Ok(mut conn) => {
                let committed = conn.transaction(|conn| {
                    // The group's writes all lock the catalog first: take the lock once,
                    // outside their savepoints, so that a write rolled back keeps it.
                    super::catalog::lock_catalog_for_write(conn)?;
                    CATALOG_LOCKED.set(true);
                    for job in group {
                        deliveries.push(job(Ok(&mut *conn)));
                    }
                    Ok::<_, StorageError>(())
                });
                CATALOG_LOCKED.set(false);
                committed.map_err(|e| e.to_string())
            }
            Err(e) => {
                let why = format!("no database connection available: {e}");
                for job in group {
                    deliveries.push(job(Err(&why)));
                }
                Err(why)
            }
        };
        if let Err(failure) = &committed {
            tracing::warn!(writes = deliveries.len(), error = %failure, "a group of writes failed to commit");
        }
        for deliver in deliveries {
            deliver(committed.clone());
        }
    }
}
