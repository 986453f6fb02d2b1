//! The byte stream to the broker: resolve its host, connect to its addresses, TLS when the URL
//! asks for it, and the WebSocket upgrade for `ws://` and `wss://`. The session above sees one
//! [`Transport`], whatever it runs over.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::task::JoinSet;
use tokio_rustls::client::TlsStream;

use crate::aws::Sigv4;
use crate::broker::{Broker, Host};
use crate::error::{Error, ProxyProblem, Step, WsProblem};
use crate::files::io_reason;
use crate::log::verbose;
use crate::proxy::{self, Proxy};
use crate::tls::Tls;
use crate::websocket::{self, WebSocket};

/// RFC 8305's connection attempt delay: when an address has not answered after this long, the
/// next one is tried too (a host whose first address is black-holed still connects).
const STAGGER: Duration = Duration::from_millis(250);

/// The connection: plain TCP or TLS over TCP, and a WebSocket over either. The TCP socket
/// stays reachable so that we can set TCP_QUICKACK on it.
pub enum Transport {
    Plain(Tcp),
    Tls(Box<TlsStream<Tcp>>),
    WebSocket(Box<WebSocket<Transport>>),
}

/// A TCP stream (or, with `--unix`, a Unix socket) that counts the bytes read from it, so that
/// a TLS handshake that failed can tell a server that never said a word from one that spoke
/// TLS.
pub struct Tcp {
    stream: Socket,
    read: u64,
}

/// The socket under everything.
enum Socket {
    Tcp(TcpStream),
    #[cfg(unix)]
    Unix(tokio::net::UnixStream),
}

/// Resolve the broker (or the proxy, which then opens a tunnel to it), connect to the first of
/// its addresses that answers, do the TLS handshake when `tls` is given, and the WebSocket
/// upgrade (signed with `sign`, if given) for `ws://` and `wss://`. `step` says where we are, for
/// a deadline or a signal.
pub async fn connect(
    broker: &Broker,
    tls: Option<&Tls>,
    proxy: Option<&Proxy>,
    sign: Option<&Sigv4>,
    step: &mut Step,
) -> Result<Transport, Error> {
    let stream = match (&broker.host, proxy) {
        #[cfg(unix)]
        (Host::Unix(path), _) => Socket::Unix(connect_unix(broker, path, step).await?),
        (_, None) => Socket::Tcp(connect_tcp(broker, step).await?),
        (_, Some(proxy)) => Socket::Tcp(through(proxy, broker, step).await?),
    };
    let tcp = Tcp { stream, read: 0 };
    let stream = match tls {
        Some(tls) => {
            *step = Step::TlsHandshake;
            match tls.connect(tcp).await {
                Ok(stream) => Transport::Tls(Box::new(stream)),
                // Nothing came back before the close: not a TLS failure, a server that turned
                // us away (or a port that does not speak TLS): could not connect, retryable.
                Err((error, tcp)) if tcp.read == 0 && closed(&error) => {
                    return Err(match proxy {
                        // Through a proxy, the tunnel itself may be what closed.
                        Some(proxy) => tunnel_closed(broker, proxy, "the TLS handshake began"),
                        None => Error::ClosedBeforeTls {
                            broker: broker.clone(),
                            reason: io_reason(&error),
                        },
                    });
                }
                Err((error, _)) => {
                    return Err(Error::Tls {
                        broker: broker.clone(),
                        problem: tls.problem(broker, &error),
                    });
                }
            }
        }
        None => Transport::Plain(tcp),
    };
    let Some(path) = &broker.websocket else {
        return Ok(stream);
    };
    *step = Step::WebSocketUpgrade;
    let host = host_header(broker);
    let target = match sign {
        Some(sign) => sign.presign(path, &host, std::time::SystemTime::now()),
        None => path.to_string(),
    };
    match websocket::upgrade(stream, &host, &target).await {
        Ok(socket) => Ok(Transport::WebSocket(Box::new(socket))),
        Err((problem, error)) => match (tls, error, proxy) {
            // Plain ws through a proxy: the tunnel closed before the answer.
            (None, _, Some(proxy)) if problem == WsProblem::Closed => Err(tunnel_closed(
                broker,
                proxy,
                "the WebSocket upgrade was answered",
            )),
            // A TLS alert after the handshake (a client certificate turned away) is about TLS.
            (Some(tls), Some(error), _) if crate::tls::rustls_error(&error).is_some() => {
                Err(Error::Tls {
                    broker: broker.clone(),
                    problem: tls.problem(broker, &error),
                })
            }
            _ => Err(Error::WebSocket {
                broker: broker.clone(),
                problem,
            }),
        },
    }
}

/// The proxy opened the tunnel, and the connection through it closed before `step`.
fn tunnel_closed(broker: &Broker, proxy: &Proxy, step: &'static str) -> Error {
    Error::Proxy {
        broker: broker.clone(),
        proxy: format!("{proxy} (from {})", proxy.from),
        problem: Box::new(ProxyProblem::ClosedInTunnel(step)),
    }
}

/// The `Host` header of a WebSocket upgrade: the host, and the port unless it is the scheme's
/// own (80 for ws, 443 for wss), as browsers send it (and as AWS SigV4 signs it).
pub fn host_header(broker: &Broker) -> String {
    let default = if broker.tls { 443 } else { 80 };
    if broker.port == default {
        broker.host.to_string()
    } else {
        broker.address()
    }
}

/// Whether an I/O error is the peer closing (or resetting) the connection.
fn closed(error: &io::Error) -> bool {
    use io::ErrorKind::{BrokenPipe, ConnectionAborted, ConnectionReset, UnexpectedEof};
    matches!(
        error.kind(),
        UnexpectedEof | ConnectionReset | BrokenPipe | ConnectionAborted
    ) && crate::tls::rustls_error(error).is_none()
}

/// Connect to a broker's Unix socket (mosquitto's `listener 0 PATH`).
#[cfg(unix)]
async fn connect_unix(
    broker: &Broker,
    path: &std::path::Path,
    step: &mut Step,
) -> Result<tokio::net::UnixStream, Error> {
    *step = Step::Connecting(Vec::new());
    let stream = tokio::net::UnixStream::connect(path)
        .await
        .map_err(|e| Error::UnixFailed {
            broker: broker.clone(),
            reason: io_reason(&e),
        })?;
    verbose!("connected to the Unix socket {}", path.display());
    Ok(stream)
}

async fn connect_tcp(broker: &Broker, step: &mut Step) -> Result<TcpStream, Error> {
    dial(&broker.address(), step)
        .await
        .map_err(|failure| match failure {
            Dial::Resolve(e) => Error::Resolve {
                broker: broker.clone(),
                reason: io_reason(&e),
            },
            Dial::Connect(last_error) => connect_failure(broker, last_error),
        })
}

/// A TCP connection to the proxy, and its tunnel to the broker.
async fn through(proxy: &Proxy, broker: &Broker, step: &mut Step) -> Result<TcpStream, Error> {
    let failed = |problem| Error::Proxy {
        broker: broker.clone(),
        proxy: format!("{proxy} (from {})", proxy.from),
        problem: Box::new(problem),
    };
    *step = Step::ToProxy(Box::new((
        format!("{proxy} (from {})", proxy.from),
        Vec::new(),
    )));
    let mut stream = dial(&proxy.address(), step)
        .await
        .map_err(|failure| match failure {
            Dial::Resolve(e) => failed(ProxyProblem::Resolve(io_reason(&e))),
            Dial::Connect(None) => failed(ProxyProblem::NoAddress),
            Dial::Connect(Some((address, e))) if e.kind() == io::ErrorKind::ConnectionRefused => {
                failed(ProxyProblem::Refused(address))
            }
            Dial::Connect(Some((address, e))) => {
                failed(ProxyProblem::Failed(address, io_reason(&e)))
            }
        })?;
    *step = Step::Tunnel;
    proxy::tunnel(&mut stream, proxy, broker)
        .await
        .map_err(failed)?;
    Ok(stream)
}

enum Dial {
    Resolve(io::Error),
    Connect(Option<(SocketAddr, io::Error)>),
}

/// Resolve `address` (host:port) and connect to the first of its addresses that answers.
async fn dial(address: &str, step: &mut Step) -> Result<TcpStream, Dial> {
    if !matches!(step, Step::ToProxy(_)) {
        *step = Step::Resolving;
    }
    let addresses: Vec<SocketAddr> = tokio::net::lookup_host(address)
        .await
        .map_err(Dial::Resolve)?
        .collect();
    let (address, stream) = race(&addresses, step).await.map_err(Dial::Connect)?;
    // One small packet at a time, each answered: Nagle would only add delay.
    if let Err(e) = stream.set_nodelay(true) {
        verbose!("could not set TCP_NODELAY: {e}");
    }
    verbose!("TCP connected to {address}");
    Ok(stream)
}

/// Connect to the first of `addresses` that answers. Each next address is tried [`STAGGER`]
/// after the one before it started, or at once when every attempt under way has failed; the
/// first connection wins and the others are dropped. The error is the last failure, if any.
async fn race(
    addresses: &[SocketAddr],
    step: &mut Step,
) -> Result<(SocketAddr, TcpStream), Option<(SocketAddr, io::Error)>> {
    let mut attempts = JoinSet::new();
    let mut next = addresses.iter().copied();
    let mut started = Vec::new();
    let mut last_error = None;
    loop {
        let more = next.len() > 0;
        if attempts.is_empty() {
            let Some(address) = next.next() else {
                return Err(last_error);
            };
            start(&mut attempts, &mut started, address, step);
            continue;
        }
        tokio::select! {
            Some(done) = attempts.join_next() => match done {
                Ok((address, Ok(stream))) => return Ok((address, stream)),
                Ok((address, Err(e))) => {
                    verbose!("TCP connect to {address} failed: {e}");
                    last_error = Some((address, e));
                }
                Err(join) => verbose!("a connection attempt ended: {join}"),
            },
            () = tokio::time::sleep(STAGGER), if more => {
                if let Some(address) = next.next() {
                    verbose!("no answer yet after {} ms; trying the next address", STAGGER.as_millis());
                    start(&mut attempts, &mut started, address, step);
                }
            }
        }
    }
}

fn start(
    attempts: &mut JoinSet<(SocketAddr, io::Result<TcpStream>)>,
    started: &mut Vec<SocketAddr>,
    address: SocketAddr,
    step: &mut Step,
) {
    verbose!("connecting to {address}");
    started.push(address);
    match step {
        Step::ToProxy(to) => to.1 = started.clone(),
        _ => *step = Step::Connecting(started.clone()),
    }
    attempts.spawn(async move { (address, TcpStream::connect(address).await) });
}

fn connect_failure(broker: &Broker, last_error: Option<(SocketAddr, io::Error)>) -> Error {
    let broker = broker.clone();
    match last_error {
        Some((address, e)) if e.kind() == io::ErrorKind::ConnectionRefused => {
            Error::TcpRefused { broker, address }
        }
        Some((address, e)) => Error::TcpFailed {
            broker,
            address,
            reason: io_reason(&e),
        },
        None => Error::NoAddress { broker },
    }
}

impl AsyncRead for Tcp {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        match &mut this.stream {
            Socket::Tcp(stream) => ready!(Pin::new(stream).poll_read(cx, buf))?,
            #[cfg(unix)]
            Socket::Unix(stream) => ready!(Pin::new(stream).poll_read(cx, buf))?,
        }
        this.read += (buf.filled().len() - before) as u64;
        Poll::Ready(Ok(()))
    }
}

impl AsyncWrite for Tcp {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match &mut self.get_mut().stream {
            Socket::Tcp(stream) => Pin::new(stream).poll_write(cx, buf),
            #[cfg(unix)]
            Socket::Unix(stream) => Pin::new(stream).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match &mut self.get_mut().stream {
            Socket::Tcp(stream) => Pin::new(stream).poll_flush(cx),
            #[cfg(unix)]
            Socket::Unix(stream) => Pin::new(stream).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match &mut self.get_mut().stream {
            Socket::Tcp(stream) => Pin::new(stream).poll_shutdown(cx),
            #[cfg(unix)]
            Socket::Unix(stream) => Pin::new(stream).poll_shutdown(cx),
        }
    }
}

impl Transport {
    /// The TCP socket under it (none for a Unix socket).
    fn tcp(&self) -> Option<&TcpStream> {
        let socket = match self {
            Transport::Plain(tcp) => &tcp.stream,
            Transport::Tls(tls) => &tls.get_ref().0.stream,
            Transport::WebSocket(socket) => return socket.get_ref().tcp(),
        };
        match socket {
            Socket::Tcp(stream) => Some(stream),
            #[cfg(unix)]
            Socket::Unix(_) => None,
        }
    }

    /// Acknowledge what arrives at once instead of after the kernel's delayed-ACK timer (up to
    /// 40 ms). A broker with Nagle on (mosquitto's default) holds its next small packet, e.g.
    /// the last PUBACKs of a burst or the CONNACK behind TLS 1.3 session tickets, until our ACK
    /// of its previous one; Linux leaves quick-ACK mode on its own, so this is set before each
    /// read. Elsewhere it does nothing.
    pub fn quickack(&self) {
        #[cfg(any(target_os = "linux", target_os = "android"))]
        {
            if let Some(tcp) = self.tcp() {
                let _ = socket2::SockRef::from(tcp).set_tcp_quickack(true);
            }
        }
    }
}

impl AsyncRead for Transport {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Transport::Plain(tcp) => Pin::new(tcp).poll_read(cx, buf),
            Transport::Tls(tls) => Pin::new(tls.as_mut()).poll_read(cx, buf),
            Transport::WebSocket(socket) => Pin::new(socket.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Transport {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Transport::Plain(tcp) => Pin::new(tcp).poll_write(cx, buf),
            Transport::Tls(tls) => Pin::new(tls.as_mut()).poll_write(cx, buf),
            Transport::WebSocket(socket) => Pin::new(socket.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Transport::Plain(tcp) => Pin::new(tcp).poll_flush(cx),
            Transport::Tls(tls) => Pin::new(tls.as_mut()).poll_flush(cx),
            Transport::WebSocket(socket) => Pin::new(socket.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Transport::Plain(tcp) => Pin::new(tcp).poll_shutdown(cx),
            Transport::Tls(tls) => Pin::new(tls.as_mut()).poll_shutdown(cx),
            Transport::WebSocket(socket) => Pin::new(socket.as_mut()).poll_shutdown(cx),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    /// A loopback address that never answers: a listener whose accept queue is full drops
    /// every new SYN, so a connect to it waits (as to a black-holed address) without any
    /// traffic leaving the machine.
    fn black_hole() -> (TcpListener, Vec<std::net::TcpStream>, SocketAddr) {
        let socket =
            socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
        socket
            .bind(&SocketAddr::from(([127, 0, 0, 1], 0)).into())
            .unwrap();
        socket.listen(0).unwrap();
        let listener: TcpListener = socket.into();
        let address = listener.local_addr().unwrap();
        // Fill the accept queue (never accepted) so that the next SYN is dropped.
        let mut held = Vec::new();
        for _ in 0..4 {
            if let Ok(stream) =
                std::net::TcpStream::connect_timeout(&address, Duration::from_millis(100))
            {
                held.push(stream);
            }
        }
        (listener, held, address)
    }

    fn block_on<F: std::future::Future>(future: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(future)
    }

    #[test]
    fn a_stalled_first_address_does_not_spend_the_deadline() {
        let (_listener, _held, stalled) = black_hole();
        let good = TcpListener::bind("127.0.0.1:0").unwrap();
        let good_address = good.local_addr().unwrap();
        let mut step = Step::Resolving;
        let started = std::time::Instant::now();
        let connected = block_on(async {
            tokio::time::timeout(
                Duration::from_secs(5),
                race(&[stalled, good_address], &mut step),
            )
            .await
        });
        let (address, _) = connected.expect("within 5 s").expect("connected");
        assert_eq!(address, good_address);
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "{:?}",
            started.elapsed()
        );
        assert_eq!(step, Step::Connecting(vec![stalled, good_address]));
    }

    #[test]
    fn a_refused_address_moves_on_at_once_and_the_last_error_is_kept() {
        let closed = TcpListener::bind("127.0.0.1:0").unwrap();
        let refused = closed.local_addr().unwrap();
        drop(closed);
        let good = TcpListener::bind("127.0.0.1:0").unwrap();
        let good_address = good.local_addr().unwrap();
        let mut step = Step::Resolving;
        let started = std::time::Instant::now();
        let (address, _) = block_on(race(&[refused, good_address], &mut step)).unwrap();
        assert_eq!(address, good_address);
        assert!(started.elapsed() < STAGGER, "no stagger after a refusal");
        let error = block_on(race(&[refused], &mut step)).unwrap_err();
        assert_eq!(
            error.map(|(address, e)| (address, e.kind())),
            Some((refused, io::ErrorKind::ConnectionRefused))
        );
    }
}
