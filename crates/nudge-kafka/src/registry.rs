//! Registering the output schemas with a Confluent-compatible schema registry, for the ids
//! Avro output carries. Over `http://` or `https://` (rustls, trusting the bundled Mozilla
//! roots or the CAs in `schema_registry_ca`), with optional HTTP basic auth.

use std::path::Path;

use base64::Engine;
use nudge_events::avro::{schema_json, SchemaKind};
use serde::Deserialize;
use ureq::tls::{Certificate, PemItem, RootCerts, TlsConfig};

use crate::config::{OutputConfig, RegistryUrl, Secret};
use crate::error::Error;
use crate::sink::SchemaIds;
use crate::topics::Topics;

/// The longest a registration request may take, connection included.
const REQUEST_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

#[derive(Deserialize)]
struct Registered {
    id: u32,
}

/// One configured registry.
struct Registry {
    /// The URL without credentials, so neither a request line nor an error carries them.
    base: String,
    /// `Basic base64(user:password)`, from `schema_registry_user_info` or the URL.
    authorization: Option<String>,
    agent: ureq::Agent,
}

impl Registry {
    /// Reads the CA file now, so a wrong path fails at start and names the key.
    fn new(
        url: &RegistryUrl,
        user_info: Option<&Secret>,
        ca: Option<&Path>,
    ) -> Result<Self, Error> {
        let user_info = match (user_info, url.userinfo()) {
            (Some(secret), _) => Some(secret.0.clone()),
            (None, Some(encoded)) => Some(
                percent_encoding::percent_decode_str(encoded)
                    .decode_utf8()
                    .map_err(|_| {
                        Error::Config(
                            "output.schema_registry_url: its credentials are not UTF-8 once \
                             percent-decoded"
                                .into(),
                        )
                    })?
                    .into_owned(),
            ),
            (None, None) => None,
        };
        let tls = match ca {
            Some(path) => TlsConfig::builder()
                .root_certs(RootCerts::new_with_certs(&read_ca(path)?))
                .build(),
            None => TlsConfig::default(),
        };
        Ok(Registry {
            base: url.without_userinfo().trim_end_matches('/').to_owned(),
            authorization: user_info.map(|u| {
                format!(
                    "Basic {}",
                    base64::engine::general_purpose::STANDARD.encode(u)
                )
            }),
            // A registry that accepts the connection but never answers must not hang the
            // start-up forever.
            agent: ureq::Agent::new_with_config(
                ureq::Agent::config_builder()
                    .tls_config(tls)
                    .timeout_global(Some(REQUEST_TIMEOUT))
                    .build(),
            ),
        })
    }

    /// Registers `schema` under `<topic>-value` and returns its id (idempotent on the registry).
    fn register(&self, topic: &str, kind: SchemaKind) -> Result<u32, Error> {
        let url = format!("{}/subjects/{topic}-value/versions", self.base);
        let body = serde_json::json!({ "schema": schema_json(kind) }).to_string();
        let mut request = self
            .agent
            .post(&url)
            .header("Content-Type", "application/vnd.schemaregistry.v1+json");
        if let Some(authorization) = &self.authorization {
            request = request.header("Authorization", authorization);
        }
        let reply = request
            .send(body.as_bytes())
            .map_err(|e| {
                Error::Config(format!(
                    "registering {topic}-value at {url}: {}",
                    explain(&e)
                ))
            })?
            .into_body()
            .read_to_string()
            .map_err(|e| Error::Config(format!("reading the registry's reply for {topic}: {e}")))?;
        let registered: Registered = serde_json::from_str(&reply).map_err(|e| {
            Error::Config(format!(
                "the registry's reply for {topic} has no id ({e}): {reply}"
            ))
        })?;
        Ok(registered.id)
    }
}

/// The certificates in the PEM file at `path`, checked now: ureq would skip a bad one
/// silently, and the registry would then fail as untrusted.
fn read_ca(path: &Path) -> Result<Vec<Certificate<'static>>, Error> {
    let bad = |why: String| {
        Error::Config(format!(
            "output.schema_registry_ca: {}: {why}",
            path.display()
        ))
    };
    let pem = std::fs::read(path).map_err(|e| bad(e.to_string()))?;
    let mut certs = Vec::new();
    for item in ureq::tls::parse_pem(&pem) {
        if let PemItem::Certificate(cert) = item.map_err(|e| bad(format!("not PEM: {e}")))? {
            let der = rustls::pki_types::CertificateDer::from(cert.der());
            rustls::RootCertStore::empty()
                .add(der)
                .map_err(|e| bad(format!("not a usable CA certificate: {e}")))?;
            certs.push(cert);
        }
    }
    if certs.is_empty() {
        return Err(bad("no PEM certificate in it".into()));
    }
    Ok(certs)
}

/// ureq's error, with what to do about the one a private CA causes.
fn explain(e: &ureq::Error) -> String {
    // A failed handshake reaches ureq through the TLS stream, so usually as an io error.
    let tls = match e {
        ureq::Error::Rustls(tls) => Some(tls),
        ureq::Error::Io(io) => io.get_ref().and_then(|inner| inner.downcast_ref()),
        _ => None,
    };
    match tls {
        Some(rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer)) => {
            format!(
                "its TLS certificate is not trusted ({e}); for a registry behind a private CA, \
                 set [output] schema_registry_ca to that CA's PEM file"
            )
        }
        _ => e.to_string(),
    }
}

/// The ids to write: the registry's, having registered every output schema under its topics'
/// subjects, or the fixed ones without a registry.
pub fn register_outputs(output: &OutputConfig, topics: &Topics) -> Result<SchemaIds, Error> {
    let Some(url) = &output.schema_registry_url else {
        return Ok(SchemaIds::default());
    };
    let registry = Registry::new(
        url,
        output.schema_registry_user_info.as_ref(),
        output.schema_registry_ca.as_deref(),
    )?;
    let mut trigger = None;
    for topic in topics.trigger_topics() {
        let id = registry.register(topic, SchemaKind::Trigger)?;
        trigger.get_or_insert(id);
    }
    let suppressed = registry.register(topics.suppressed(), SchemaKind::Trigger)?;
    Ok(SchemaIds {
        trigger: trigger.unwrap_or(suppressed),
        session: registry.register(topics.sessions(), SchemaKind::Session)?,
        outcome: registry.register(topics.outcomes(), SchemaKind::Outcome)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{self, BufRead, BufReader, Read, Write};
    use std::net::{TcpListener, TcpStream};
    use std::sync::Arc;
    use std::thread::JoinHandle;

    /// Registrations `register_outputs` makes: 5 trigger topics, suppressed, sessions, outcomes.
    const REGISTRATIONS: usize = 8;

    /// What a stand-in saw of one registration.
    struct Seen {
        path: String,
        authorization: Option<String>,
    }

    /// Reads one registration from `conn` and answers it with `id`.
    fn answer(conn: impl Read + Write, id: usize) -> io::Result<Seen> {
        let mut reader = BufReader::new(conn);
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        let path = line
            .split_whitespace()
            .nth(1)
            .unwrap_or_default()
            .to_owned();
        let (mut length, mut authorization) = (0, None);
        loop {
            let mut header = String::new();
            reader.read_line(&mut header)?;
            let Some((name, value)) = header.split_once(':') else {
                break;
            };
            match name.to_ascii_lowercase().as_str() {
                "content-length" => length = value.trim().parse().unwrap(),
                "authorization" => authorization = Some(value.trim().to_owned()),
                _ => {}
            }
        }
        let mut body = vec![0; length];
        reader.read_exact(&mut body)?;
        assert!(String::from_utf8(body).unwrap().contains("dev.nudge"));
        let reply = format!("{{\"id\":{id}}}");
        let conn = reader.get_mut();
        write!(
            conn,
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{reply}",
            reply.len()
        )?;
        conn.flush()?;
        Ok(Seen {
            path,
            authorization,
        })
    }

    /// A registry stand-in on a real socket, over whatever `wrap` makes of each connection:
    /// answers `requests` connections, the n-th with id 100 + n, and returns its base URL and
    /// what it saw (leaving out connections that failed, such as a refused TLS handshake).
    fn serve<S: Read + Write>(
        scheme: &str,
        requests: usize,
        wrap: impl Fn(TcpStream) -> S + Send + 'static,
    ) -> (String, JoinHandle<Vec<Seen>>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("{scheme}://{}", listener.local_addr().unwrap());
        let handle = std::thread::spawn(move || {
            (listener.incoming().take(requests).enumerate())
                .filter_map(|(n, conn)| answer(wrap(conn.unwrap()), 100 + n).ok())
                .collect()
        });
        (base, handle)
    }

    /// A plain-HTTP stand-in for one `register_outputs`.
    fn registry() -> (String, JoinHandle<Vec<Seen>>) {
        serve("http", REGISTRATIONS, |tcp| tcp)
    }

    /// A stand-in over TLS with a certificate for 127.0.0.1 signed by a CA made for it, and
    /// that CA's PEM file.
    fn tls_registry(requests: usize) -> (String, JoinHandle<Vec<Seen>>, tempfile::NamedTempFile) {
        let mut ca = rcgen::CertificateParams::default();
        ca.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        ca.distinguished_name
            .push(rcgen::DnType::CommonName, "nudge test CA");
        let ca =
            rcgen::CertifiedIssuer::self_signed(ca, rcgen::KeyPair::generate().unwrap()).unwrap();
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = rcgen::CertificateParams::new(vec!["127.0.0.1".to_owned()])
            .unwrap()
            .signed_by(&key, &ca)
            .unwrap();
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(
                vec![cert.der().clone()],
                rustls::pki_types::PrivatePkcs8KeyDer::from(key.serialize_der()).into(),
            )
            .unwrap();
        let config = Arc::new(config);
        let mut ca_file = tempfile::NamedTempFile::new().unwrap();
        ca_file.write_all(ca.pem().as_bytes()).unwrap();
        let (base, handle) = serve("https", requests, move |tcp| {
            rustls::StreamOwned::new(rustls::ServerConnection::new(config.clone()).unwrap(), tcp)
        });
        (base, handle, ca_file)
    }

    fn output(url: &str) -> OutputConfig {
        OutputConfig {
            schema_registry_url: Some(RegistryUrl(url.to_owned())),
            ..OutputConfig::default()
        }
    }

    fn topics() -> Topics {
        Topics::new(&crate::config::TopicsConfig::default())
    }

    fn assert_registered_every_subject(ids: SchemaIds, seen: &[Seen]) {
        let paths: Vec<_> = seen.iter().map(|s| s.path.as_str()).collect();
        assert_eq!(paths.len(), REGISTRATIONS, "{paths:?}");
        assert!(paths.contains(&"/subjects/triggers.cart_abandoned-value/versions"));
        assert!(paths.contains(&"/subjects/triggers.suppressed-value/versions"));
        assert!(paths.contains(&"/subjects/sessions-value/versions"));
        assert_eq!(ids.trigger, 100);
        assert_eq!(ids.session, 106);
        assert_eq!(ids.outcome, 107);
    }

    #[test]
    fn registers_every_output_subject_and_uses_the_returned_ids() {
        let (base, server) = registry();
        let ids = register_outputs(&output(&base), &topics()).unwrap();
        let seen = server.join().unwrap();
        assert_registered_every_subject(ids, &seen);
        assert!(seen.iter().all(|s| s.authorization.is_none()));
    }

    #[test]
    fn registers_over_https_trusting_the_configured_ca() {
        let (base, server, ca) = tls_registry(REGISTRATIONS);
        let config = OutputConfig {
            schema_registry_ca: Some(ca.path().to_owned()),
            ..output(&base)
        };
        let ids = register_outputs(&config, &topics()).unwrap();
        assert_registered_every_subject(ids, &server.join().unwrap());
    }

    #[test]
    fn a_certificate_from_an_unknown_ca_is_a_clear_error() {
        let (base, server, _ca) = tls_registry(1);
        let err = register_outputs(&output(&base), &topics()).unwrap_err();
        let err = err.to_string();
        assert!(
            err.contains(&format!(
                "registering triggers.cart_abandoned-value at {base}/subjects/"
            )),
            "{err}"
        );
        assert!(err.contains("TLS certificate is not trusted"), "{err}");
        assert!(err.contains("schema_registry_ca"), "{err}");
        assert!(server.join().unwrap().is_empty(), "nothing got through");
    }

    #[test]
    fn a_ca_file_that_is_missing_or_not_pem_names_the_key_and_path() {
        let (base, _server) = registry();
        let mut not_pem = tempfile::NamedTempFile::new().unwrap();
        not_pem.write_all(b"not a certificate\n").unwrap();
        let mut not_der = tempfile::NamedTempFile::new().unwrap();
        not_der
            .write_all(b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")
            .unwrap();
        let missing = not_pem.path().with_extension("missing");
        for path in [not_pem.path(), not_der.path(), &missing] {
            let config = OutputConfig {
                schema_registry_ca: Some(path.to_owned()),
                ..output(&base)
            };
            let err = register_outputs(&config, &topics())
                .unwrap_err()
                .to_string();
            let expected = format!("output.schema_registry_ca: {}: ", path.display());
            assert!(err.contains(&expected), "{err}");
        }
    }

    #[test]
    fn sends_basic_auth_from_the_user_info_key() {
        let (base, server) = registry();
        let config = OutputConfig {
            schema_registry_user_info: Some(Secret("user:password".into())),
            ..output(&base)
        };
        register_outputs(&config, &topics()).unwrap();
        for seen in server.join().unwrap() {
            assert_eq!(
                seen.authorization.as_deref(),
                Some("Basic dXNlcjpwYXNzd29yZA==")
            );
        }
    }

    #[test]
    fn sends_basic_auth_from_the_url_and_keeps_it_out_of_the_request_line() {
        let (base, server) = registry();
        let url = base.replace("http://", "http://user:p%40ss@");
        register_outputs(&output(&url), &topics()).unwrap();
        let seen = server.join().unwrap();
        assert_eq!(seen.len(), REGISTRATIONS);
        for seen in seen {
            // base64("user:p@ss"): the URL's userinfo is percent-decoded.
            assert_eq!(seen.authorization.as_deref(), Some("Basic dXNlcjpwQHNz"));
            assert!(seen.path.starts_with("/subjects/"), "{}", seen.path);
        }
    }

    #[test]
    fn an_unreachable_registry_is_a_clear_error_without_the_password() {
        let url = "http://user:hunter2@127.0.0.1:1";
        let err = register_outputs(&output(url), &topics()).unwrap_err();
        let err = err.to_string();
        assert!(
            err.contains("registering triggers.cart_abandoned-value at http://127.0.0.1:1/"),
            "{err}"
        );
        assert!(!err.contains("hunter2"), "{err}");
        let url = RegistryUrl(url.into());
        assert_eq!(url.to_string(), "http://***@127.0.0.1:1");
        assert!(!format!("{url:?}").contains("hunter2"));
    }
}
