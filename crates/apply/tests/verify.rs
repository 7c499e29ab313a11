//! Route checks against a peer on loopback that records what it was asked and answers as the
//! proxy or a service would: the check sends the route's Host and path, tells a service's answer
//! from Traefik's "no router" page, and gives up within its timeout.

use berth_apply::verify::{route, Outcome, Target};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc;

/// Answers every connection with `answer` and sends the request head it read.
async fn peer(answer: &'static str) -> (u16, mpsc::UnboundedReceiver<String>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok((mut conn, _)) = listener.accept().await {
            let mut head = Vec::new();
            let mut buf = [0u8; 1024];
            while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                match conn.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => head.extend_from_slice(&buf[..n]),
                }
            }
            let _ = tx.send(String::from_utf8_lossy(&head).into_owned());
            let _ = conn.write_all(answer.as_bytes()).await;
        }
    });
    (port, rx)
}

fn target(host: &str, path: &str) -> Target {
    Target {
        host: host.into(),
        path: path.into(),
        tls: false,
        acme: false,
    }
}

#[tokio::test]
async fn a_service_answer_counts_and_the_route_host_and_path_are_sent() {
    let (port, mut asked) = peer("HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nberth-demo").await;
    let outcome = route(
        "127.0.0.1",
        port,
        1,
        &target("shop.example.test", "/api/orders"),
        Duration::from_secs(5),
    )
    .await;
    assert_eq!(
        outcome,
        Outcome::Answered {
            status: 200,
            default_certificate: false
        }
    );
    let head = asked.recv().await.unwrap().to_ascii_lowercase();
    assert!(head.starts_with("get /api/orders http/1.1\r\n"), "{head}");
    assert!(head.contains("\r\nhost: shop.example.test\r\n"), "{head}");
}

#[tokio::test]
async fn the_proxys_own_404_is_not_an_answer_and_the_check_gives_up_in_time() {
    let (port, _asked) = peer(
        "HTTP/1.1 404 Not Found\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: 19\r\n\r\n404 page not found\n",
    )
    .await;
    let outcome = route(
        "127.0.0.1",
        port,
        1,
        &target("nobody.example.test", "/"),
        Duration::from_millis(600),
    )
    .await;
    assert_eq!(
        outcome,
        Outcome::NotAnswering {
            reason: "the proxy has no router for this host yet".into()
        }
    );
}
