//! The network half of the webhook SSRF guard (SPEC §9).
//!
//! [`Destination`] decides from the URL alone; this module makes sure the
//! connection goes where the decision was made. Deliveries go through a
//! [`DeliveryClient`], whose reqwest clients resolve names with a
//! [`GuardedResolver`]: it looks the name up, refuses the whole answer if any
//! address is forbidden, and hands reqwest only the addresses it checked, so
//! there is no second lookup an attacker's DNS could answer differently (no
//! DNS rebinding). reqwest never asks the resolver about IP-literal URLs;
//! [`DeliveryClient::post`] checks those itself, before every send.
//!
//! The clients follow no redirect (a 3xx is returned as the answer and the
//! delivery fails), use no proxy (an `HTTPS_PROXY` in the environment would
//! otherwise connect on the guard's behalf to whatever it was asked), and
//! trust only Mozilla's root certificates.

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use reqwest::redirect::Policy;
use std::error::Error as _;
use std::future::Future;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;
use tessera_core::webhooks::destination::{AllowedNetworks, Destination, DestinationRefusal};

const USER_AGENT: &str = concat!("Tessera-Webhooks/", env!("CARGO_PKG_VERSION"));

pub type LookupFuture = Pin<Box<dyn Future<Output = io::Result<Vec<IpAddr>>> + Send>>;

/// How a host name becomes addresses: [`SystemLookup`] in production, canned
/// answers in tests, which must never depend on DNS.
pub trait Lookup: Send + Sync {
    fn lookup(&self, host: &str) -> LookupFuture;
}

/// The operating system's resolver (`getaddrinfo`, on a blocking thread).
pub struct SystemLookup;

impl Lookup for SystemLookup {
    fn lookup(&self, host: &str) -> LookupFuture {
        let host = host.to_owned();
        Box::pin(async move {
            let addresses = tokio::net::lookup_host((host.as_str(), 0)).await?;
            Ok(addresses.map(|address| address.ip()).collect())
        })
    }
}

/// Which rule applies to resolved addresses. A resolver sees only the host
/// name, not the URL, so each client carries the rule of the one scheme it
/// is used for.
#[derive(Debug, Clone, Copy)]
enum Scheme {
    /// Public or allowed addresses.
    Https,
    /// Allowed addresses only.
    PlainHttp,
}

impl Scheme {
    fn as_str(self) -> &'static str {
        match self {
            Scheme::Https => "https",
            Scheme::PlainHttp => "http",
        }
    }
}

/// A reqwest resolver that returns only addresses the SSRF rules accept.
struct GuardedResolver {
    allowed: Arc<AllowedNetworks>,
    lookup: Arc<dyn Lookup>,
    scheme: Scheme,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let allowed = Arc::clone(&self.allowed);
        let lookup = Arc::clone(&self.lookup);
        // Reading the name back as a URL applies the name rules (localhost,
        // private-use suffixes) again, whoever built the request.
        let as_url = format!("{}://{}/", self.scheme.as_str(), name.as_str());
        Box::pin(async move {
            let destination = Destination::parse(&as_url, &allowed)?;
            let resolved = lookup.lookup(&destination.host().to_string()).await?;
            let checked = destination.check_resolved(&resolved, &allowed)?;
            let addresses: Addrs = Box::new(
                checked
                    .into_iter()
                    .map(|address| SocketAddr::new(address, 0)),
            );
            Ok(addresses)
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DeliveryClientError {
    #[error("a bundled root certificate could not be read: {0}")]
    RootCertificate(reqwest::Error),
    #[error("the HTTP client could not be built: {0}")]
    Client(reqwest::Error),
}

/// The HTTP client webhook deliveries are sent with.
///
/// It holds one reqwest client per scheme, because the resolver of each
/// applies that scheme's rule: the https client reaches public and allowed
/// addresses and sends nothing but https; the plain-http client reaches
/// allowed networks only.
#[derive(Clone)]
pub struct DeliveryClient {
    allowed: Arc<AllowedNetworks>,
    https: reqwest::Client,
    plain_http: reqwest::Client,
}

impl DeliveryClient {
    /// `timeout` bounds a whole delivery: connecting, sending and reading
    /// the answer.
    pub fn new(
        allowed: AllowedNetworks,
        timeout: Duration,
        lookup: Arc<dyn Lookup>,
    ) -> Result<DeliveryClient, DeliveryClientError> {
        let allowed = Arc::new(allowed);
        let roots = webpki_root_certs::TLS_SERVER_ROOT_CERTS
            .iter()
            .map(|der| reqwest::Certificate::from_der(der))
            .collect::<Result<Vec<_>, _>>()
            .map_err(DeliveryClientError::RootCertificate)?;
        let build = |scheme: Scheme| {
            reqwest::Client::builder()
                .dns_resolver(GuardedResolver {
                    allowed: Arc::clone(&allowed),
                    lookup: Arc::clone(&lookup),
                    scheme,
                })
                .https_only(matches!(scheme, Scheme::Https))
                .redirect(Policy::none())
                .no_proxy()
                .tls_certs_only(roots.clone())
                .timeout(timeout)
                .user_agent(USER_AGENT)
                .build()
                .map_err(DeliveryClientError::Client)
        };
        Ok(DeliveryClient {
            https: build(Scheme::Https)?,
            plain_http: build(Scheme::PlainHttp)?,
            allowed,
        })
    }

    /// A POST to `url`, checked again against the current rules: a URL
    /// accepted when it was saved may be refused now, and an IP-literal host
    /// is checked only here, since reqwest connects to it without asking the
    /// resolver.
    pub fn post(&self, url: &str) -> Result<reqwest::RequestBuilder, DestinationRefusal> {
        let destination = Destination::parse(url, &self.allowed)?;
        let client = if destination.is_plain_http() {
            &self.plain_http
        } else {
            &self.https
        };
        Ok(client.post(destination.url().clone()))
    }
}

/// The refusal behind a failed delivery, if the guard caused it, so that the
/// attempt is logged as `refused_address` rather than `connection`.
pub fn refusal_in(error: &reqwest::Error) -> Option<&DestinationRefusal> {
    let mut cause = error.source();
    while let Some(current) = cause {
        if let Some(refusal) = current.downcast_ref::<DestinationRefusal>() {
            return Some(refusal);
        }
        cause = current.source();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use tessera_core::webhooks::destination::AddressClass;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    /// Fixed answers; a name it does not know is an error, never a query.
    struct CannedLookup(HashMap<&'static str, Vec<IpAddr>>);

    impl Lookup for CannedLookup {
        fn lookup(&self, host: &str) -> LookupFuture {
            let answer = self.0.get(host).cloned().ok_or_else(|| {
                io::Error::new(
                    io::ErrorKind::NotFound,
                    format!("no canned answer for {host}"),
                )
            });
            Box::pin(async move { answer })
        }
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().expect("valid test address")
    }

    fn client(allowed: &str, answers: &[(&'static str, &[&str])]) -> DeliveryClient {
        let answers = answers
            .iter()
            .map(|(host, addresses)| (*host, addresses.iter().map(|a| ip(a)).collect()))
            .collect();
        DeliveryClient::new(
            allowed.parse().expect("valid test networks"),
            Duration::from_secs(5),
            Arc::new(CannedLookup(answers)),
        )
        .expect("client builds")
    }

    /// A loopback HTTP/1.1 server that answers every request with `response`
    /// and counts the connections it accepted.
    struct Receiver {
        port: u16,
        connections: Arc<AtomicUsize>,
    }

    async fn receiver(response: impl FnOnce(u16) -> String) -> Receiver {
        let listener = TcpListener::bind((IpAddr::from([127, 0, 0, 1]), 0))
            .await
            .expect("bind loopback");
        let port = listener.local_addr().expect("bound").port();
        let connections = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&connections);
        let answer = response(port);
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                counter.fetch_add(1, Ordering::SeqCst);
                let answer = answer.clone();
                tokio::spawn(async move {
                    let mut request = Vec::new();
                    let mut buffer = [0; 1024];
                    while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                        match stream.read(&mut buffer).await {
                            Ok(0) | Err(_) => return,
                            Ok(read) => request.extend_from_slice(&buffer[..read]),
                        }
                    }
                    let _ = stream.write_all(answer.as_bytes()).await;
                    let _ = stream.shutdown().await;
                });
            }
        });
        Receiver { port, connections }
    }

    fn no_content(_port: u16) -> String {
        "HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n".to_owned()
    }

    impl Receiver {
        fn connections(&self) -> usize {
            self.connections.load(Ordering::SeqCst)
        }
    }

    #[tokio::test]
    async fn a_name_resolving_to_loopback_is_refused_before_connecting() {
        let receiver = receiver(no_content).await;
        let client = client("", &[("hook.test", &["127.0.0.1"])]);

        let error = client
            .post(&format!("https://hook.test:{}/", receiver.port))
            .expect("a name is checked when resolved")
            .send()
            .await
            .expect_err("refused by the resolver");

        let refusal = refusal_in(&error).expect("the guard's refusal is in the chain");
        assert_eq!(
            refusal,
            &DestinationRefusal::ResolvesToForbiddenAddress {
                host: "hook.test".into(),
                address: ip("127.0.0.1"),
                class: AddressClass::Loopback,
            }
        );
        assert_eq!(refusal.class(), "refused_address");
        assert_eq!(receiver.connections(), 0);
    }

    #[tokio::test]
    async fn plain_http_to_a_name_outside_the_allowed_networks_is_refused() {
        let receiver = receiver(no_content).await;
        let client = client("192.0.2.0/24", &[("hook.test", &["127.0.0.1"])]);

        let error = client
            .post(&format!("http://hook.test:{}/", receiver.port))
            .expect("a name is checked when resolved")
            .send()
            .await
            .expect_err("refused by the resolver");

        assert_eq!(
            refusal_in(&error),
            Some(
                &DestinationRefusal::PlainHttpResolvesOutsideAllowedNetworks {
                    host: "hook.test".into(),
                    address: ip("127.0.0.1"),
                }
            )
        );
        assert_eq!(receiver.connections(), 0);
    }

    #[tokio::test]
    async fn an_allowed_network_is_reached_over_plain_http() {
        let receiver = receiver(no_content).await;
        let client = client("127.0.0.1/32", &[("hook.test", &["127.0.0.1"])]);

        for url in [
            format!("http://hook.test:{}/", receiver.port),
            format!("http://127.0.0.1:{}/", receiver.port),
        ] {
            let response = client
                .post(&url)
                .expect("allowed")
                .send()
                .await
                .expect("delivered");
            assert_eq!(response.status(), reqwest::StatusCode::NO_CONTENT, "{url}");
        }
        assert_eq!(receiver.connections(), 2);
    }

    #[tokio::test]
    async fn the_request_carries_the_webhook_user_agent() {
        let seen = Arc::new(tokio::sync::Mutex::new(String::new()));
        let listener = TcpListener::bind((IpAddr::from([127, 0, 0, 1]), 0))
            .await
            .expect("bind loopback");
        let port = listener.local_addr().expect("bound").port();
        let recorded = Arc::clone(&seen);
        tokio::spawn(async move {
            if let Ok((mut stream, _)) = listener.accept().await {
                let mut buffer = vec![0; 4096];
                let read = stream.read(&mut buffer).await.unwrap_or(0);
                *recorded.lock().await = String::from_utf8_lossy(&buffer[..read]).into_owned();
                let _ = stream.write_all(no_content(port).as_bytes()).await;
            }
        });
        let client = client("127.0.0.1/32", &[]);

        client
            .post(&format!("http://127.0.0.1:{port}/"))
            .expect("allowed")
            .send()
            .await
            .expect("delivered");

        let request = seen.lock().await.to_ascii_lowercase();
        let expected = format!("user-agent: tessera-webhooks/{}", env!("CARGO_PKG_VERSION"));
        assert!(request.contains(&expected), "{request}");
    }

    #[tokio::test]
    async fn an_ip_literal_is_refused_before_any_request_is_built() {
        let receiver = receiver(no_content).await;
        let client = client("", &[]);

        let refusal = client
            .post(&format!("https://127.0.0.1:{}/", receiver.port))
            .map(|_| ())
            .expect_err("loopback literal");
        assert_eq!(refusal.to_string(), "127.0.0.1 is a loopback address");
        assert_eq!(receiver.connections(), 0);
    }

    #[tokio::test]
    async fn redirects_are_returned_not_followed() {
        let target = receiver(no_content).await;
        let target_port = target.port;
        let redirecting = receiver(move |_| {
            format!(
                "HTTP/1.1 302 Found\r\nLocation: http://target.test:{target_port}/\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            )
        })
        .await;
        let client = client(
            "127.0.0.1/32",
            &[
                ("hook.test", &["127.0.0.1"]),
                ("target.test", &["127.0.0.1"]),
            ],
        );

        let response = client
            .post(&format!("http://hook.test:{}/", redirecting.port))
            .expect("allowed")
            .send()
            .await
            .expect("answered");

        assert_eq!(response.status(), reqwest::StatusCode::FOUND);
        assert_eq!(redirecting.connections(), 1);
        assert_eq!(target.connections(), 0);
    }

    /// The forbidden address comes second, and the first is one the client
    /// may reach, so a guard that checked only the first answer would
    /// connect. The first is the loopback receiver rather than a public
    /// address so that even a broken guard sends nothing off this machine.
    #[tokio::test]
    async fn one_forbidden_address_refuses_the_whole_answer() {
        let receiver = receiver(no_content).await;
        let client = client(
            "127.0.0.1/32",
            &[("mixed.test", &["127.0.0.1", "10.0.0.1"])],
        );

        for scheme in ["https", "http"] {
            let error = client
                .post(&format!("{scheme}://mixed.test:{}/", receiver.port))
                .expect("a name is checked when resolved")
                .send()
                .await
                .expect_err("refused by the resolver");
            let refusal = refusal_in(&error).expect("the guard's refusal is in the chain");
            assert!(refusal.to_string().contains("10.0.0.1"), "{refusal}");
        }
        assert_eq!(receiver.connections(), 0);
    }

    #[tokio::test]
    async fn localhost_is_refused_by_name_even_when_loopback_is_allowed() {
        let client = client("127.0.0.1/32", &[("localhost", &["127.0.0.1"])]);
        let refusal = client
            .post("http://localhost:9/")
            .map(|_| ())
            .expect_err("refused by name");
        assert_eq!(refusal.to_string(), "localhost is not a public host name");
    }

    #[tokio::test]
    async fn a_failed_lookup_or_connection_is_not_a_refusal() {
        let closed_port = {
            let listener = TcpListener::bind((IpAddr::from([127, 0, 0, 1]), 0))
                .await
                .expect("bind loopback");
            listener.local_addr().expect("bound").port()
        };
        let client = client("127.0.0.1/32", &[]);

        for url in [
            format!("http://127.0.0.1:{closed_port}/"),
            format!("http://unknown.test:{closed_port}/"),
        ] {
            let error = client
                .post(&url)
                .expect("allowed")
                .send()
                .await
                .expect_err("nothing listens");
            assert!(refusal_in(&error).is_none(), "{url}: {error:?}");
        }
    }
}
