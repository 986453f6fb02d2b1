//! The byte stream to the broker: resolve its host, connect to its addresses, and TLS when the
//! URL asks for it. The session above sees one [`Transport`], whatever it runs over.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;

use crate::broker::Broker;
use crate::error::{Error, Step};
use crate::files::io_reason;
use crate::log::verbose;
use crate::tls::Tls;

/// The connection: plain TCP or TLS over TCP. The TCP socket stays reachable so that we can
/// set TCP_QUICKACK on it.
pub enum Transport {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
}

/// Resolve the broker, connect to the first of its addresses that answers, and do the TLS
/// handshake when `tls` is given. `step` says where we are, for a deadline or a signal.
pub async fn connect(
    broker: &Broker,
    tls: Option<&Tls>,
    step: &mut Step,
) -> Result<Transport, Error> {
    let tcp = connect_tcp(broker, step).await?;
    match tls {
        Some(tls) => {
            *step = Step::TlsHandshake;
            let stream = tls
                .connect(tcp, broker)
                .await
                .map_err(|problem| Error::Tls {
                    broker: broker.clone(),
                    problem,
                })?;
            Ok(Transport::Tls(Box::new(stream)))
        }
        None => Ok(Transport::Plain(tcp)),
    }
}

async fn connect_tcp(broker: &Broker, step: &mut Step) -> Result<TcpStream, Error> {
    *step = Step::Resolving;
    let addresses: Vec<SocketAddr> = tokio::net::lookup_host(broker.address())
        .await
        .map_err(|e| Error::Resolve {
            broker: broker.clone(),
            reason: io_reason(&e),
        })?
        .collect();
    let mut last_error = None;
    for address in addresses {
        *step = Step::Connecting(address);
        verbose!("connecting to {address}");
        match TcpStream::connect(address).await {
            Ok(stream) => {
                // One small packet at a time, each answered: Nagle would only add delay.
                if let Err(e) = stream.set_nodelay(true) {
                    verbose!("could not set TCP_NODELAY: {e}");
                }
                verbose!("TCP connected to {address}");
                return Ok(stream);
            }
            Err(e) => {
                verbose!("TCP connect to {address} failed: {e}");
                last_error = Some((address, e));
            }
        }
    }
    let broker = broker.clone();
    Err(match last_error {
        Some((address, e)) if e.kind() == io::ErrorKind::ConnectionRefused => {
            Error::TcpRefused { broker, address }
        }
        Some((address, e)) => Error::TcpFailed {
            broker,
            address,
            reason: io_reason(&e),
        },
        None => Error::NoAddress { broker },
    })
}

impl Transport {
    fn tcp(&self) -> &TcpStream {
        match self {
            Transport::Plain(tcp) => tcp,
            Transport::Tls(tls) => tls.get_ref().0,
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
            let _ = socket2::SockRef::from(self.tcp()).set_tcp_quickack(true);
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
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Transport::Plain(tcp) => Pin::new(tcp).poll_flush(cx),
            Transport::Tls(tls) => Pin::new(tls.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Transport::Plain(tcp) => Pin::new(tcp).poll_shutdown(cx),
            Transport::Tls(tls) => Pin::new(tls.as_mut()).poll_shutdown(cx),
        }
    }
}
