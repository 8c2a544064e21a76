//! What an operator watches: the figures `/metrics` exports at each scrape, read from
//! the process and, within the database timeout, from the database.

use super::UseCases;
use crate::domain::webhook::SubscriptionState;
use crate::storage::{audit, changes, webhooks};

/// Figures of this instance at one moment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OperationalFigures {
    /// Connections in this instance's pool.
    pub pool_connections: u32,
    /// Of those, the idle ones.
    pub pool_idle: u32,
    /// The last change of the feed this instance's read model includes.
    pub read_model_sequence: i64,
    /// What the database says; `None` when it did not answer in time.
    pub database: Option<DatabaseFigures>,
}

/// Figures only the database knows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatabaseFigures {
    /// The last change committed (by any instance).
    pub feed_head: i64,
    /// The number of the last audit record (the chain's head).
    pub audit_head: i64,
    /// Changes committed after an active subscription's last acknowledged one, summed
    /// over the active subscriptions: the webhook outbox still to go through.
    pub webhook_backlog: i64,
    /// Subscriptions marked failing (no longer tried until resumed).
    pub webhooks_failing: i64,
}

impl UseCases {
    /// Reads the figures; a database that does not answer within the configured
    /// timeout leaves its part out instead of holding up the scrape.
    pub async fn operational_figures(&self) -> OperationalFigures {
        let (pool_connections, pool_idle) = self.registry.database().pool_state();
        let read_model_sequence = self.registry.applied();
        let from_database = self.registry.database().run(|conn| {
            let feed_head = changes::head(conn)?;
            let (audit_head, _) = audit::head(conn)?;
            let subscriptions = webhooks::list(conn, None)?;
            let active = subscriptions
                .iter()
                .filter(|s| s.state == SubscriptionState::Active);
            Ok::<_, crate::storage::StorageError>(DatabaseFigures {
                feed_head,
                audit_head,
                webhook_backlog: active
                    .map(|s| (feed_head - s.delivered_through).max(0))
                    .sum(),
                webhooks_failing: subscriptions
                    .iter()
                    .filter(|s| s.state == SubscriptionState::Failing)
                    .count() as i64,
            })
        });
        let database = match actix_web::rt::time::timeout(self.registry.db_timeout(), from_database)
            .await
        {
            Ok(Ok(figures)) => Some(figures),
            Ok(Err(error)) => {
                tracing::warn!(error = %error, "metrics: the database figures could not be read");
                None
            }
            Err(_) => {
                tracing::warn!("metrics: the database did not answer in time");
                None
            }
        };
        OperationalFigures {
            pool_connections,
            pool_idle,
            read_model_sequence,
            database,
        }
    }
}
