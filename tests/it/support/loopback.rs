//! The TCP server under the test fakes, on 127.0.0.1 only (never any other
//! interface): one thread accepts, each connection is served in a thread of
//! its own, and dropping the server stops accepting.

use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::Duration;

pub struct LoopbackServer {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
}

impl LoopbackServer {
    /// Binds 127.0.0.1:0 and serves every connection with `serve`, which is
    /// also given the flag set when the server is dropped (for connections
    /// held open on purpose). Threads are named `NAME-accept`, `NAME-conn`.
    pub fn start<F>(name: &str, serve: F) -> LoopbackServer
    where
        F: Fn(TcpStream, &AtomicBool) + Send + Sync + 'static,
    {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .unwrap_or_else(|e| panic!("bind {name} on loopback: {e}"));
        let addr = listener.local_addr().expect("loopback address");
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = Arc::clone(&stop);
        let serve = Arc::new(serve);
        let conn = format!("{name}-conn");
        thread::Builder::new()
            .name(format!("{name}-accept"))
            .spawn(move || {
                for stream in listener.incoming() {
                    if stopped.load(Ordering::SeqCst) {
                        return;
                    }
                    let Ok(stream) = stream else { continue };
                    let (serve, stopped) = (Arc::clone(&serve), Arc::clone(&stopped));
                    let _ = thread::Builder::new()
                        .name(conn.clone())
                        .spawn(move || serve(stream, &stopped));
                }
            })
            .unwrap_or_else(|e| panic!("spawn the {name} accept thread: {e}"));
        LoopbackServer { addr, stop }
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
}

impl Drop for LoopbackServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the blocking accept() so the thread sees the flag and exits.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
    }
}
