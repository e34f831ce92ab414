//! Accepting and serving client connections, with the limits that keep
//! slow or idle clients from tying the server up (slowloris): a cap on open
//! connections, all together and per client address; a deadline for each
//! request head; and one for kept-alive connections waiting idle. Request
//! bodies get their deadline in the middleware, where the route is known.

use crate::ApiError;
use crate::config::ConnectionSettings;
use axum::Router;
use axum::extract::ConnectInfo;
use axum::response::Response;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use std::collections::HashMap;
use std::convert::Infallible;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use tessera_core::ErrorCode;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tower::ServiceExt;

/// Accepts connections until `shutdown` resolves; then stops accepting,
/// asks every open connection to finish its current request and close, and
/// waits until they all have.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    settings: ConnectionSettings,
    shutdown: impl Future<Output = ()>,
) {
    let limits = Arc::new(ConnectionLimits::new(&settings));
    let settings = Arc::new(settings);
    let (stop, stopping) = watch::channel(false);
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(err) => {
                    pause_after_accept_error(err).await;
                    continue;
                }
            },
        };
        match limits.admit(peer.ip()) {
            Some(admission) => {
                let connection = Connection {
                    peer,
                    router: router.clone(),
                    settings: settings.clone(),
                    activity: Arc::new(Activity::new()),
                    _admission: admission,
                };
                tokio::spawn(connection.serve(stream, stopping.clone()));
            }
            None => refuse(&stream, peer),
        }
    }
    drop(listener);
    let _ = stop.send(true);
    limits.all_closed().await;
}

/// Errors on one incoming connection (reset before it was accepted) are
/// nothing to wait for; others (out of file descriptors) may pass once
/// some connections close, so accepting pauses briefly instead of spinning.
async fn pause_after_accept_error(err: io::Error) {
    use io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    if matches!(
        err.kind(),
        ConnectionAborted | ConnectionRefused | ConnectionReset
    ) {
        return;
    }
    tracing::error!(error = %err, "cannot accept connections");
    tokio::time::sleep(Duration::from_millis(100)).await;
}

/// Answers a connection over the caps with a 503 problem, written only if
/// the socket takes it at once, and closes it: refusing costs nothing and
/// frees the descriptor immediately.
fn refuse(stream: &TcpStream, peer: SocketAddr) {
    metrics::counter!("tessera_connections_refused_total").increment(1);
    tracing::debug!(%peer, "connection refused: too many open connections");
    let problem = ApiError::new(
        ErrorCode::ServiceUnavailable,
        "The server has too many open connections; try again shortly.",
    )
    .problem_json("");
    let answer = format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/problem+json\r\n\
         retry-after: 1\r\nconnection: close\r\ncontent-length: {}\r\n\r\n{problem}",
        problem.len()
    );
    let _ = stream.try_write(answer.as_bytes());
}

/// Counts open connections against the caps.
struct ConnectionLimits {
    max_total: usize,
    max_per_address: usize,
    open: watch::Sender<usize>,
    per_address: Mutex<HashMap<IpAddr, usize>>,
}

impl ConnectionLimits {
    fn new(settings: &ConnectionSettings) -> Self {
        ConnectionLimits {
            max_total: settings.max_connections.max(1),
            max_per_address: settings.max_connections_per_ip.max(1),
            open: watch::Sender::new(0),
            per_address: Mutex::new(HashMap::new()),
        }
    }

    /// Counts a new connection from `ip`, unless a cap is reached.
    fn admit(self: &Arc<Self>, ip: IpAddr) -> Option<Admission> {
        let mut per_address = self.per_address.lock().unwrap_or_else(|p| p.into_inner());
        let from_address = per_address.get(&ip).copied().unwrap_or(0);
        if from_address >= self.max_per_address {
            return None;
        }
        let admitted = self.open.send_if_modified(|open| {
            let room = *open < self.max_total;
            if room {
                *open += 1;
            }
            room
        });
        if !admitted {
            return None;
        }
        per_address.insert(ip, from_address + 1);
        Some(Admission {
            limits: self.clone(),
            ip,
        })
    }

    async fn all_closed(&self) {
        let _ = self.open.subscribe().wait_for(|open| *open == 0).await;
    }
}

/// An open connection's place under the caps, given back when it closes.
struct Admission {
    limits: Arc<ConnectionLimits>,
    ip: IpAddr,
}

impl Drop for Admission {
    fn drop(&mut self) {
        let mut per_address = self
            .limits
            .per_address
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        match per_address.get_mut(&self.ip) {
            Some(count) if *count > 1 => *count -= 1,
            _ => {
                per_address.remove(&self.ip);
            }
        }
        self.limits
            .open
            .send_modify(|open| *open = open.saturating_sub(1));
    }
}

struct Connection {
    peer: SocketAddr,
    router: Router,
    settings: Arc<ConnectionSettings>,
    activity: Arc<Activity>,
    _admission: Admission,
}

impl Connection {
    /// Serves requests until the client closes, a deadline passes (the
    /// connection is dropped: closed without an answer, as nothing is in
    /// flight), or the server stops (the current request is finished first).
    async fn serve(self, stream: TcpStream, mut stopping: watch::Receiver<bool>) {
        let io = TokioIo::new(Watched {
            stream,
            activity: self.activity.clone(),
        });
        let (peer, router, activity) = (self.peer, self.router.clone(), self.activity.clone());
        let service = hyper::service::service_fn(move |request| {
            answer(router.clone(), peer, activity.clone(), request)
        });
        let mut builder = auto::Builder::new(TokioExecutor::new());
        // Deadlines are kept by `Activity`, which tells waiting idle from
        // reading a head; hyper's own timer would count both as one.
        builder.http1().header_read_timeout(None);
        let connection = builder.serve_connection_with_upgrades(io, service);
        tokio::pin!(connection);
        let mut stop_requested = false;
        loop {
            tokio::select! {
                _ = connection.as_mut() => break,
                () = self.activity.expiry(&self.settings) => {
                    tracing::debug!(peer = %self.peer, "closed a connection that was idle or slow to send its request");
                    break;
                }
                _ = stopping.changed(), if !stop_requested => {
                    connection.as_mut().graceful_shutdown();
                    stop_requested = true;
                }
            }
        }
    }
}

/// Runs one request through the router; the request counts as in flight
/// until its answer's head is ready. Writing the body then counts as
/// activity ([`Watched`]), so a download that keeps flowing is never idle.
async fn answer(
    router: Router,
    peer: SocketAddr,
    activity: Arc<Activity>,
    mut request: hyper::Request<Incoming>,
) -> Result<Response, Infallible> {
    let _in_flight = InFlight::begin(activity);
    request.extensions_mut().insert(ConnectInfo(peer));
    router.oneshot(request).await
}

/// What a connection is doing, for its deadlines. Times are milliseconds
/// since the connection opened.
struct Activity {
    opened: Instant,
    in_flight: AtomicUsize,
    served_a_request: AtomicBool,
    /// When the connection last began waiting for a request, or last
    /// wrote bytes of an answer.
    waiting_since: AtomicU64,
    /// When the first byte of the next request head arrived, or `NO_HEAD`.
    head_started: AtomicU64,
}

const NO_HEAD: u64 = u64::MAX;

impl Activity {
    fn new() -> Self {
        Activity {
            opened: Instant::now(),
            in_flight: AtomicUsize::new(0),
            served_a_request: AtomicBool::new(false),
            waiting_since: AtomicU64::new(0),
            head_started: AtomicU64::new(NO_HEAD),
        }
    }

    fn now(&self) -> u64 {
        u64::try_from(self.opened.elapsed().as_millis()).unwrap_or(NO_HEAD - 1)
    }

    fn at(&self, millis: u64) -> Instant {
        self.opened + Duration::from_millis(millis)
    }

    fn note_bytes_read(&self) {
        if self.in_flight.load(Ordering::Acquire) == 0 {
            let now = self.now();
            let _ = self.head_started.compare_exchange(
                NO_HEAD,
                now,
                Ordering::AcqRel,
                Ordering::Acquire,
            );
        }
    }

    fn note_bytes_written(&self) {
        let now = self.now();
        self.waiting_since.store(now, Ordering::Release);
    }

    /// When the connection is to be closed if nothing changes; `None` while
    /// a request is in flight (its body has its own deadline).
    fn deadline(&self, settings: &ConnectionSettings) -> Option<Instant> {
        if self.in_flight.load(Ordering::Acquire) > 0 {
            return None;
        }
        let head_started = self.head_started.load(Ordering::Acquire);
        if head_started != NO_HEAD {
            return Some(self.at(head_started) + settings.header_read_timeout);
        }
        let waiting_since = self.at(self.waiting_since.load(Ordering::Acquire));
        if self.served_a_request.load(Ordering::Acquire) {
            Some(waiting_since + settings.keep_alive_timeout)
        } else {
            Some(waiting_since + settings.header_read_timeout)
        }
    }

    /// Resolves once the connection has been idle, or slow to send a
    /// request head, for longer than allowed.
    async fn expiry(&self, settings: &ConnectionSettings) {
        let recheck = settings
            .header_read_timeout
            .min(settings.keep_alive_timeout);
        loop {
            match self.deadline(settings) {
                None => tokio::time::sleep(recheck).await,
                Some(deadline) if Instant::now() >= deadline => return,
                Some(deadline) => tokio::time::sleep_until(deadline.into()).await,
            }
        }
    }
}

/// Marks a request in flight on its connection while alive.
struct InFlight(Arc<Activity>);

impl InFlight {
    fn begin(activity: Arc<Activity>) -> Self {
        activity.in_flight.fetch_add(1, Ordering::AcqRel);
        activity.served_a_request.store(true, Ordering::Release);
        activity.head_started.store(NO_HEAD, Ordering::Release);
        InFlight(activity)
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        let now = self.0.now();
        self.0.waiting_since.store(now, Ordering::Release);
        self.0.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}

/// The client socket, noting when bytes arrive.
struct Watched {
    stream: TcpStream,
    activity: Arc<Activity>,
}

impl AsyncRead for Watched {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let polled = Pin::new(&mut this.stream).poll_read(cx, buf);
        if buf.filled().len() > before {
            this.activity.note_bytes_read();
        }
        polled
    }
}

impl AsyncWrite for Watched {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.stream).poll_write(cx, buf);
        if matches!(polled, Poll::Ready(Ok(written)) if written > 0) {
            this.activity.note_bytes_written();
        }
        polled
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.stream).poll_write_vectored(cx, bufs);
        if matches!(polled, Poll::Ready(Ok(written)) if written > 0) {
            this.activity.note_bytes_written();
        }
        polled
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_shutdown(cx)
    }
}
