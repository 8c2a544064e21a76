//! Answers for requests no handler takes: 405 with `Allow` when the path exists under
//! another method, 404 otherwise. Known paths come from the OpenAPI document, so the
//! answer can never disagree with the contract.

use actix_web::http::Method;
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, ResponseError, web};

use super::problem::ApiError;

/// Path templates (split into segments; `{x}` matches any one segment) with their methods.
#[derive(Debug, Clone, Default)]
pub struct KnownRoutes {
    routes: Vec<(Vec<String>, Vec<Method>)>,
}

impl KnownRoutes {
    /// Collects the paths of an OpenAPI document, plus the document itself.
    pub fn from_openapi(api: &serde_json::Value) -> Self {
        let mut routes: Vec<(Vec<String>, Vec<Method>)> = api["paths"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(path, item)| {
                let mut methods = Vec::new();
                for (name, allowed) in [
                    ("get", &[Method::GET, Method::HEAD][..]),
                    ("post", &[Method::POST]),
                    ("put", &[Method::PUT]),
                    ("patch", &[Method::PATCH]),
                    ("delete", &[Method::DELETE]),
                ] {
                    if item.get(name).is_some() {
                        methods.extend_from_slice(allowed);
                    }
                }
                (segments(path), methods)
            })
            .collect();
        routes.push((segments("/openapi.json"), vec![Method::GET, Method::HEAD]));
        Self { routes }
    }

    /// Methods allowed on `path`, if the path is known at all.
    pub fn allowed(&self, path: &str) -> Option<&[Method]> {
        let wanted = segments(path);
        self.routes
            .iter()
            .find(|(template, _)| {
                template.len() == wanted.len()
                    && template.iter().zip(&wanted).all(|(t, w)| {
                        (t.starts_with('{') && t.ends_with('}') && !w.is_empty()) || t == w
                    })
            })
            .map(|(_, methods)| methods.as_slice())
    }
}

/// Path segments after the leading slash; a trailing slash makes an empty last segment,
/// so `/api/v1/regions/` is a different (unknown) path from `/api/v1/regions`.
fn segments(path: &str) -> Vec<String> {
    path.strip_prefix('/')
        .unwrap_or(path)
        .split('/')
        .map(str::to_owned)
        .collect()
}

/// The application's default service.
pub async fn no_route(req: HttpRequest, known: web::Data<KnownRoutes>) -> HttpResponse {
    match known.allowed(req.path()) {
        Some(methods) => {
            let allow = methods
                .iter()
                .map(Method::as_str)
                .collect::<Vec<_>>()
                .join(", ");
            let error = ApiError::MethodNotAllowed(format!(
                "{} is not supported on {}; use {allow}.",
                req.method(),
                req.path()
            ));
            let mut response = error.error_response();
            if let Ok(value) = header::HeaderValue::from_str(&allow) {
                response.headers_mut().insert(header::ALLOW, value);
            }
            response
        }
        None => ApiError::NotFound(format!(
            "There is nothing at {}; see /docs for the API.",
            req.path()
        ))
        .error_response(),
    }
}
