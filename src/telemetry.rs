//! Logging: `tracing` to standard error, compact for people or JSON for collectors.

use tracing_subscriber::EnvFilter;

use crate::settings::{LogFormat, Settings};

/// Installs the global subscriber once; later calls (tests) are ignored.
pub fn init(settings: &Settings) {
    let filter = EnvFilter::try_new(quiet_about_malformed_requests(&settings.log_filter))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match settings.log_format {
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .try_init(),
        LogFormat::Compact => builder.compact().with_ansi(false).try_init(),
    };
}

/// actix-http logs every request it cannot parse (a garbage request line, a control
/// character in a header) at ERROR, before the application sees it, and answers it 400
/// itself: a client's mistake, not the server's, and a way to flood the log. Those lines
/// are left out unless the filter names `actix_http` itself.
fn quiet_about_malformed_requests(filter: &str) -> String {
    if filter.contains("actix_http") {
        filter.to_owned()
    } else {
        format!("{filter},actix_http::h1::dispatcher=off")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn malformed_request_lines_are_left_out_unless_asked_for() {
        assert_eq!(
            quiet_about_malformed_requests("info"),
            "info,actix_http::h1::dispatcher=off"
        );
        assert_eq!(
            quiet_about_malformed_requests("warn,actix_http=debug"),
            "warn,actix_http=debug"
        );
        assert!(
            EnvFilter::try_new(quiet_about_malformed_requests("info,jjj_registry=debug")).is_ok()
        );
    }
}
