//! Building and running the HTTP application.

use std::net::TcpListener;
use std::sync::Arc;

use actix_web::dev::Server;
use actix_web::middleware::from_fn;
use actix_web::{App, HttpServer, web};
use utoipa_actix_web::AppExt;
use utoipa_swagger_ui::SwaggerUi;

use crate::application::UseCases;
use crate::auth::{AuthConfigError, Authenticator, DEV_ISSUER};
use crate::http::body_deadline::BodyDeadline;
use crate::http::cors::OriginPolicy;
use crate::http::docs::docs_index;
use crate::http::editing::{BodyLimit, ImportLimit};
use crate::http::metrics::Metrics;
use crate::http::middleware::observe;
use crate::http::problem::extractor_config;
use crate::http::rate_limit::RateLimits;
use crate::http::routes::{KnownRoutes, no_route};
use crate::registry::{Registry, RegistryError};
use crate::settings::Settings;

/// A bound, not yet running server.
pub struct Application {
    server: Server,
    port: u16,
}

/// Why the application could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    /// Database or catalog problem.
    #[error(transparent)]
    Registry(#[from] RegistryError),
    /// The token issuers cannot be loaded.
    #[error(transparent)]
    Auth(#[from] AuthConfigError),
    /// The listen address could not be bound.
    #[error("cannot listen on {address}: {source}")]
    Bind {
        /// The address.
        address: String,
        /// Why.
        source: std::io::Error,
    },
}

impl Application {
    /// Opens the registry and binds the listener (port 0 picks a free port).
    pub fn build(settings: &Settings) -> Result<Self, StartupError> {
        let authenticator = Arc::new(Authenticator::load(
            settings.issuers_file.as_deref(),
            settings.dev_secret.as_ref(),
        )?);
        if settings.dev_secret.is_some() {
            tracing::warn!(
                "REGISTRY_DEV_SECRET is set: development tokens (HS256, issuer {DEV_ISSUER}) are accepted for every region; never enable this in production"
            );
        }
        if !authenticator.has_issuers() {
            tracing::info!("no token issuer is configured: the registry is read-only");
        }
        let registry = Arc::new(Registry::open(settings)?);
        let listener = TcpListener::bind(settings.bind).map_err(|source| StartupError::Bind {
            address: settings.bind.to_string(),
            source,
        })?;
        Self::with_listener(settings, registry, authenticator, listener)
    }

    fn with_listener(
        settings: &Settings,
        registry: Arc<Registry>,
        authenticator: Arc<Authenticator>,
        listener: TcpListener,
    ) -> Result<Self, StartupError> {
        let bind_error = |source| StartupError::Bind {
            address: settings.bind.to_string(),
            source,
        };
        let port = listener.local_addr().map_err(bind_error)?.port();
        let data = web::Data::from(registry.clone());
        let use_cases = web::Data::new(UseCases::new(
            registry.clone(),
            authenticator,
            settings.webhooks.clone(),
        ));
        let body_limit = web::Data::new(BodyLimit(settings.max_body_bytes));
        let import_limit = web::Data::new(ImportLimit(settings.max_import_bytes));
        let body_deadline = web::Data::new(BodyDeadline(settings.body_timeout));
        let max_body_bytes = settings.max_body_bytes;
        let rate_limits = Arc::new(RateLimits::new(&settings.access));
        let rate_limits_data = web::Data::from(rate_limits.clone());
        let origin_policy = web::Data::new(OriginPolicy::new(&settings.access));
        let metrics = web::Data::new(Metrics::new(settings.access.metrics_from.clone()));
        // Built once: the same document for every worker, the docs page and 404/405 answers.
        let spec = crate::http::openapi::document();
        let known_routes = web::Data::new(KnownRoutes::from_openapi(&spec));
        let mut server = HttpServer::new(move || {
            let (json, query, path, payload) = extractor_config(max_body_bytes);
            let (app, _api) = App::new()
                .into_utoipa_app()
                .app_data(data.clone())
                .app_data(use_cases.clone())
                .app_data(body_limit.clone())
                .app_data(import_limit.clone())
                .app_data(body_deadline.clone())
                .app_data(rate_limits_data.clone())
                .app_data(metrics.clone())
                .app_data(origin_policy.clone())
                .app_data(json)
                .app_data(query)
                .app_data(path)
                .app_data(payload)
                .configure(crate::http::configure)
                .split_for_parts();
            app.app_data(known_routes.clone())
                .service(web::redirect("/docs", "/docs/"))
                .service(docs_index)
                .service(
                    SwaggerUi::new("/docs/{_:.*}")
                        .external_url_unchecked("/openapi.json", spec.clone()),
                )
                .default_service(web::to(no_route))
                .wrap(from_fn(observe))
                // Outermost, so that the answers `observe` gives itself (429, 415, …)
                // reach a page too: without CORS headers its browser would hide them.
                .wrap(origin_policy.middleware())
        })
        .listen(listener)
        .map_err(bind_error)?;
        if let Some(workers) = settings.workers {
            server = server.workers(workers);
        }
        actix_web::rt::spawn(registry.clone().keep_fresh(settings.refresh_interval));
        actix_web::rt::spawn(registry.clone().watch_database(settings.refresh_interval));
        if rate_limits.is_on() {
            actix_web::rt::spawn(forget_idle_callers(rate_limits));
        }
        actix_web::rt::spawn(crate::application::webhooks::deliver_webhooks(
            registry.clone(),
            settings.webhooks.clone(),
            settings.refresh_interval,
        ));
        Ok(Self {
            server: server.run(),
            port,
        })
    }

    /// The port actually bound.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Serves until the process is stopped (SIGINT/SIGTERM shut down gracefully).
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.server.await
    }
}

/// Every minute, drops the rate limiters' memory of callers that have been quiet long
/// enough to have their whole allowance back.
async fn forget_idle_callers(rate_limits: Arc<RateLimits>) {
    let mut every_minute = actix_web::rt::time::interval(std::time::Duration::from_secs(60));
    loop {
        every_minute.tick().await;
        rate_limits.forget_idle_callers();
    }
}
