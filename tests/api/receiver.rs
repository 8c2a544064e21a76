//! A webhook receiver on loopback: a real HTTP/1.1 server on a thread, recording every
//! request it is sent and answering with the status it is told to. It can be stopped
//! (its port then refuses connections) and started again on the same port.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU16, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// One request as received.
#[derive(Debug, Clone)]
pub struct Received {
    pub method: String,
    pub path: String,
    /// Header names lower-cased.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Received {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("a JSON delivery")
    }
}

/// A running (or stopped) receiver.
pub struct Receiver {
    pub port: u16,
    received: Arc<Mutex<Vec<Received>>>,
    status: Arc<AtomicU16>,
    /// Milliseconds to wait before answering.
    delay: Arc<AtomicU64>,
    running: Option<Arc<AtomicBool>>,
}

impl Receiver {
    /// Starts on a free port, answering 200.
    pub fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind a receiver");
        let port = listener.local_addr().expect("address").port();
        let mut receiver = Self {
            port,
            received: Arc::default(),
            status: Arc::new(AtomicU16::new(200)),
            delay: Arc::default(),
            running: None,
        };
        receiver.serve(listener);
        receiver
    }

    /// A port with nothing listening on it (yet): connections are refused.
    pub fn down() -> Self {
        let mut receiver = Self::start();
        receiver.stop();
        receiver
    }

    /// The URL deliveries go to.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/events", self.port)
    }

    /// Answers every request with `status` from now on.
    pub fn answer(&self, status: u16) {
        self.status.store(status, Ordering::SeqCst);
    }

    /// Takes `delay` to answer each request from now on (a slow receiver).
    pub fn answer_after(&self, delay: Duration) {
        self.delay.store(delay.as_millis() as u64, Ordering::SeqCst);
    }

    /// Stops listening: the port refuses connections.
    pub fn stop(&mut self) {
        if let Some(running) = self.running.take() {
            running.store(false, Ordering::SeqCst);
            // Wakes the accepting thread so that it sees the flag and drops the listener.
            let _ = TcpStream::connect(("127.0.0.1", self.port));
            let deadline = Instant::now() + Duration::from_secs(5);
            while TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                assert!(Instant::now() < deadline, "the receiver did not stop");
                std::thread::sleep(Duration::from_millis(10));
            }
        }
    }

    /// Listens again on the same port.
    pub fn restart(&mut self) {
        let listener =
            TcpListener::bind(("127.0.0.1", self.port)).expect("bind the same port again");
        self.serve(listener);
    }

    /// Everything received so far.
    pub fn received(&self) -> Vec<Received> {
        self.received.lock().expect("lock").clone()
    }

    /// Waits until `done` holds for what was received (at most `within`).
    pub async fn wait_for(
        &self,
        within: Duration,
        done: impl Fn(&[Received]) -> bool,
    ) -> Vec<Received> {
        let deadline = Instant::now() + within;
        loop {
            let received = self.received();
            if done(&received) {
                return received;
            }
            assert!(
                Instant::now() < deadline,
                "not received within {within:?}: {received:#?}"
            );
            actix_rt::time::sleep(Duration::from_millis(50)).await;
        }
    }

    fn serve(&mut self, listener: TcpListener) {
        let running = Arc::new(AtomicBool::new(true));
        self.running = Some(Arc::clone(&running));
        let received = Arc::clone(&self.received);
        let status = Arc::clone(&self.status);
        let delay = Arc::clone(&self.delay);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                if !running.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                if let Some(request) = read_request(&stream) {
                    let status = status.load(Ordering::SeqCst);
                    received.lock().expect("lock").push(request);
                    std::thread::sleep(Duration::from_millis(delay.load(Ordering::SeqCst)));
                    let mut stream = stream;
                    let _ = write!(
                        stream,
                        "HTTP/1.1 {status} X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                    );
                }
            }
        });
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.stop();
    }
}

fn read_request(stream: &TcpStream) -> Option<Received> {
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    let mut parts = line.split_whitespace();
    let method = parts.next()?.to_owned();
    let path = parts.next()?.to_owned();
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).ok()?;
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        let (name, value) = line.split_once(':')?;
        headers.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
    }
    let length: usize = headers
        .iter()
        .find(|(n, _)| n == "content-length")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; length];
    reader.read_exact(&mut body).ok()?;
    Some(Received {
        method,
        path,
        headers,
        body,
    })
}
