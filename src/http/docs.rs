//! The interactive documentation page (`/docs/`): Swagger UI with its assets embedded
//! in the binary, so it works without network access, titled for this API.

use std::sync::{Arc, OnceLock};

use actix_web::http::header;
use actix_web::{HttpResponse, get};
use utoipa_swagger_ui::Config;

/// The `<title>` of the documentation page.
pub const DOCS_TITLE: &str = "JJJ Registry API · 京津冀互认事项目录 API";

/// Swagger UI's own page with our title instead of the generic "Swagger UI".
#[get("/docs/")]
pub async fn docs_index() -> HttpResponse {
    static PAGE: OnceLock<Option<String>> = OnceLock::new();
    let page = PAGE.get_or_init(|| {
        let config = Arc::new(Config::new(["/openapi.json"]));
        let file = utoipa_swagger_ui::serve("index.html", config).ok()??;
        let html = String::from_utf8(file.bytes.to_vec()).ok()?;
        Some(html.replace(
            "<title>Swagger UI</title>",
            &format!("<title>{DOCS_TITLE}</title>"),
        ))
    });
    match page {
        Some(html) => HttpResponse::Ok()
            .insert_header((header::CACHE_CONTROL, "no-cache"))
            .content_type("text/html; charset=utf-8")
            .body(html.clone()),
        None => HttpResponse::InternalServerError().finish(),
    }
}
