//! A TCP proxy on loopback that can freeze: while frozen it keeps every connection open
//! and accepts new ones but passes no byte either way, as a database process that was
//! stopped (not killed) behaves: the kernel still answers, the server never does.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

pub struct FreezingProxy {
    pub port: u16,
    frozen: Arc<AtomicBool>,
}

impl FreezingProxy {
    /// Forwards connections on a free loopback port to `target`.
    pub fn start(target: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the proxy");
        let port = listener.local_addr().expect("address").port();
        let frozen = Arc::new(AtomicBool::new(false));
        let gate = Arc::clone(&frozen);
        std::thread::spawn(move || {
            for client in listener.incoming().map_while(Result::ok) {
                let gate = Arc::clone(&gate);
                std::thread::spawn(move || {
                    // While frozen, a new connection is accepted and left unanswered.
                    while gate.load(Ordering::SeqCst) {
                        std::thread::sleep(Duration::from_millis(10));
                    }
                    let Ok(server) = TcpStream::connect(target) else {
                        return;
                    };
                    let pairs = [
                        (client.try_clone(), server.try_clone()),
                        (server.try_clone(), client.try_clone()),
                    ];
                    for (from, to) in pairs {
                        let (Ok(from), Ok(to)) = (from, to) else {
                            return;
                        };
                        let gate = Arc::clone(&gate);
                        std::thread::spawn(move || pump(from, to, &gate));
                    }
                });
            }
        });
        Self { port, frozen }
    }

    pub fn freeze(&self) {
        self.frozen.store(true, Ordering::SeqCst);
    }

    pub fn thaw(&self) {
        self.frozen.store(false, Ordering::SeqCst);
    }
}

/// Copies `from` to `to`, holding what it read while the gate is closed.
fn pump(mut from: TcpStream, mut to: TcpStream, frozen: &AtomicBool) {
    let mut buffer = [0u8; 16 * 1024];
    loop {
        let read = match from.read(&mut buffer) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        while frozen.load(Ordering::SeqCst) {
            std::thread::sleep(Duration::from_millis(10));
        }
        if to.write_all(&buffer[..read]).is_err() {
            break;
        }
    }
    let _ = to.shutdown(std::net::Shutdown::Write);
}
