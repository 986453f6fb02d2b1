//! Servers that misbehave on cue where a real broker cannot.

use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

/// Accepts TCP connections and never says a word (no CONNACK, ever).
pub struct SilentServer {
    pub port: u16,
    _held: Arc<Mutex<Vec<TcpStream>>>,
}

impl SilentServer {
    pub fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let held = Arc::new(Mutex::new(Vec::new()));
        let keep = Arc::clone(&held);
        thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                keep.lock().expect("lock").push(stream);
            }
        });
        SilentServer { port, _held: held }
    }

    pub fn url(&self) -> String {
        format!("tcp://127.0.0.1:{}", self.port)
    }
}

/// Per connection: what it sent, and whether its handler has finished.
type Transcripts<T> = Arc<Mutex<Vec<(Vec<T>, bool)>>>;

/// A scripted server: every connection is handled on a thread of its own by `handle`, which
/// records what the client sent through the `log` it is given. The fault brokers are this with
/// a script.
pub struct Recorder<T> {
    pub port: u16,
    transcripts: Transcripts<T>,
}

impl<T: Clone + Send + 'static> Recorder<T> {
    pub fn serve(
        listener: TcpListener,
        handle: impl Fn(TcpStream, &mut dyn FnMut(T)) + Send + Sync + 'static,
    ) -> Self {
        let port = listener.local_addr().expect("addr").port();
        let transcripts: Transcripts<T> = Arc::new(Mutex::new(Vec::new()));
        let all = Arc::clone(&transcripts);
        let handle = Arc::new(handle);
        thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let index = {
                    let mut all = all.lock().unwrap();
                    all.push((Vec::new(), false));
                    all.len() - 1
                };
                let record = Arc::clone(&all);
                let handle = Arc::clone(&handle);
                thread::spawn(move || {
                    let mut log = |what: T| record.lock().unwrap()[index].0.push(what);
                    handle(stream, &mut log);
                    record.lock().unwrap()[index].1 = true;
                });
            }
        });
        Recorder { port, transcripts }
    }

    pub fn url(&self) -> String {
        format!("tcp://127.0.0.1:{}", self.port)
    }

    /// Assert that no client connected at all (a usage error is found before any network I/O).
    #[track_caller]
    pub fn assert_untouched(&self)
    where
        T: std::fmt::Debug,
    {
        let transcripts = self.transcripts();
        assert!(
            transcripts.is_empty(),
            "a client connected: {transcripts:?}"
        );
    }

    /// One transcript per TCP connection accepted so far. mqtt-send may exit before a handler
    /// has read its last packet: wait (up to 5 s) for every handler to finish; each ends when
    /// its client closes.
    pub fn transcripts(&self) -> Vec<Vec<T>> {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let all = self.transcripts.lock().unwrap();
            if all.iter().all(|(_, done)| *done) || Instant::now() >= deadline {
                return all
                    .iter()
                    .map(|(transcript, _)| transcript.clone())
                    .collect();
            }
            drop(all);
            thread::sleep(Duration::from_millis(5));
        }
    }
}
