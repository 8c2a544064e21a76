//! A deadline on reading a request body. actix-web times out a request's head, not its
//! body: a client that declares `Content-Length: 100` and sends one byte would hold its
//! connection (and a file descriptor, and buffers) for ever. Every body is wrapped here
//! so that reading it fails once the deadline from the request's arrival has passed;
//! the handler answers 408 and the connection, its body unread, is closed.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use actix_web::dev::Payload;
use actix_web::error::PayloadError;
use actix_web::web::Bytes;
use futures_core::Stream;

/// How long a request body may take to arrive.
#[derive(Debug, Clone, Copy)]
pub struct BodyDeadline(pub Duration);

/// The message of the I/O error a late body ends with.
const LATE: &str = "the request body did not arrive in time";

/// `payload`, failing with a timed-out error once `within` has passed.
pub fn with_deadline(payload: Payload, within: Duration) -> Payload {
    let stream: Pin<Box<dyn Stream<Item = Result<Bytes, PayloadError>>>> = Box::pin(Deadline {
        inner: payload,
        timer: Box::pin(actix_web::rt::time::sleep(within)),
        expired: false,
    });
    Payload::from(stream)
}

/// Whether reading a body failed because it came too slowly.
pub fn is_late(error: &PayloadError) -> bool {
    matches!(error, PayloadError::Io(e) if e.kind() == io::ErrorKind::TimedOut && e.to_string() == LATE)
}

struct Deadline {
    inner: Payload,
    timer: Pin<Box<actix_web::rt::time::Sleep>>,
    expired: bool,
}

impl Stream for Deadline {
    type Item = Result<Bytes, PayloadError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.expired {
            return Poll::Ready(None);
        }
        if let Poll::Ready(item) = Pin::new(&mut self.inner).poll_next(cx) {
            return Poll::Ready(item);
        }
        match self.timer.as_mut().poll(cx) {
            Poll::Ready(()) => {
                self.expired = true;
                Poll::Ready(Some(Err(PayloadError::Io(io::Error::new(
                    io::ErrorKind::TimedOut,
                    LATE,
                )))))
            }
            Poll::Pending => Poll::Pending,
        }
    }
}
