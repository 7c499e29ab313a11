//! The engine client against the real engine on this machine's socket: raw reads keep the
//! engine's status and message, bollard and raw reads share one endpoint, and consecutive reads
//! reuse one connection. The TCP cases reach the same engine through a counting forwarder, so
//! that the number of connections the client opens can be observed.

use berth_apply::endpoint::{EngineEndpoint, Settings};
use berth_apply::raw;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

const SOCKET: &str = "/var/run/docker.sock";

fn endpoint(host: &str) -> EngineEndpoint {
    EngineEndpoint::from_settings(&Settings {
        docker_host: Some(host.to_string()),
        ..Settings::default()
    })
    .unwrap()
}

/// Listens on loopback and pipes every connection to the engine's socket; counts connections.
async fn forwarder() -> (String, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let count = Arc::new(AtomicUsize::new(0));
    let seen = count.clone();
    tokio::spawn(async move {
        while let Ok((mut client, _)) = listener.accept().await {
            seen.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(async move {
                let mut engine = tokio::net::UnixStream::connect(SOCKET).await.unwrap();
                let _ = tokio::io::copy_bidirectional(&mut client, &mut engine).await;
            });
        }
    });
    (format!("tcp://{addr}"), count)
}

#[tokio::test]
async fn a_missing_object_keeps_the_engines_status_and_message() {
    let client = raw::Client::new(&endpoint(&format!("unix://{SOCKET}")));
    let err = raw::get(
        &client,
        "/v1.41/services/berth-test-no-such-service",
        Duration::from_secs(30),
    )
    .await
    .unwrap_err();
    assert_eq!(err.status, Some(404));
    assert_eq!(err.message, "service berth-test-no-such-service not found");
}

#[tokio::test]
async fn raw_reads_and_bollard_share_the_client_and_reuse_its_connection() {
    let (host, connections) = forwarder().await;
    let client = raw::Client::new(&endpoint(&host));

    // bollard's requests go through the client's transport: the forwarder sees them.
    let docker = client.docker().unwrap().negotiate_version().await.unwrap();
    assert!(docker.version().await.unwrap().api_version.is_some());
    assert_eq!(connections.load(Ordering::SeqCst), 1);

    // Raw reads take the same pooled connection.
    for _ in 0..3 {
        let text = raw::get(&client, "/v1.41/version", Duration::from_secs(30))
            .await
            .unwrap();
        let version: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert!(version["ApiVersion"].is_string(), "{text}");
    }
    assert_eq!(connections.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn an_engine_that_is_not_there_is_an_error_without_a_status() {
    let client = raw::Client::new(&endpoint("unix:///nonexistent/berth-test.sock"));
    let err = raw::get(&client, "/v1.41/version", Duration::from_secs(5))
        .await
        .unwrap_err();
    assert_eq!(err.status, None);
    assert!(err.message.contains("No such file"), "{err}");
}

#[tokio::test]
async fn an_engine_that_does_not_answer_times_out_per_request() {
    // Accepts connections and never answers.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((conn, _)) = listener.accept().await {
            held.push(conn);
        }
    });
    let client = raw::Client::new(&endpoint(&format!("tcp://{addr}")));
    let err = raw::get(&client, "/v1.41/version", Duration::from_millis(300))
        .await
        .unwrap_err();
    assert_eq!(err.status, None);
    assert!(err.message.contains("no answer within"), "{err}");
}

/// A CA and a client certificate signed by it, in the names `DOCKER_CERT_PATH` holds.
fn client_certificates(dir: &std::path::Path) {
    use berth_testkit::certs;
    std::fs::create_dir_all(dir).unwrap();
    certs::ca(dir, "ca", "berth-test-ca")
        .and_then(|_| certs::signed(dir, "ca", "cert", certs::CLIENT_EXTENSIONS))
        .unwrap_or_else(|e| panic!("{e}"));
    std::fs::rename(dir.join("cert.key"), dir.join("key.pem")).unwrap();
}

#[test]
fn a_tls_endpoint_loads_its_certificates_when_made_and_refuses_a_key_that_does_not_match() {
    let dir = std::env::temp_dir().join(format!("berth-apply-tls-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    client_certificates(&dir);
    let settings = |certs: &std::path::Path| Settings {
        docker_host: Some("tcp://127.0.0.1:2376".into()),
        tls_verify: true,
        cert_path: Some(certs.to_path_buf()),
        home: None,
    };
    let endpoint = EngineEndpoint::from_settings(&settings(&dir)).unwrap();
    assert!(matches!(
        &endpoint.transport,
        berth_apply::endpoint::Transport::Tls { addr, .. } if addr == "127.0.0.1:2376"
    ));
    assert_eq!(endpoint.proxy_host(), "127.0.0.1");

    // A key of another certificate: refused when the endpoint is made, not on first use.
    let other = dir.join("other");
    client_certificates(&other);
    std::fs::copy(other.join("key.pem"), dir.join("key.pem")).unwrap();
    let refused = EngineEndpoint::from_settings(&settings(&dir));
    std::fs::remove_dir_all(&dir).unwrap();
    match refused {
        Err(berth_apply::ApplyError::Unreachable { message, hint, .. }) => {
            assert!(message.contains("client certificate"), "{message}");
            assert!(hint.contains("DOCKER_CERT_PATH"), "{hint}");
        }
        other => panic!("expected Unreachable, got {other:?}"),
    }
}
