//! HTTP proxies: a real tinyproxy between mqtt-send and a real mosquitto, for tcp, ws and wss;
//! its refusals (credentials, ports); which proxy the environment gives, and when none.

use crate::support::broker::free_port;
use crate::support::certs::Ca;
use crate::support::proxy::Tinyproxy;
use crate::support::{Mosquitto, Subscriber, mqtt_send, run};

const PASSWORD: &str = "pw-proxy-4a7e";

fn ws_broker() -> Mosquitto {
    Mosquitto::with_listener("protocol websockets\nallow_anonymous true\n", |_| {})
}

#[test]
fn tcp_and_ws_go_through_the_proxy_flag() {
    let broker = ws_broker();
    let proxy = Tinyproxy::start("");
    let mut sub = Subscriber::connect(broker.observer, &["p/#"]);
    for (url, topic) in [
        (format!("tcp://127.0.0.1:{}", broker.observer), "p/tcp"),
        (format!("ws://127.0.0.1:{}", broker.port), "p/ws"),
    ] {
        let result = run(mqtt_send().args([
            "-b",
            &url,
            "--proxy",
            &proxy.url(),
            "-t",
            topic,
            "-m",
            "tunnelled",
            "-q",
            "1",
        ]));
        result.expect(0);
        let message = sub.expect_message();
        assert_eq!(
            (message.topic.as_str(), &message.payload[..]),
            (topic, &b"tunnelled"[..])
        );
    }
    let log = proxy.log();
    assert!(
        log.contains(&format!("CONNECT 127.0.0.1:{}", broker.observer)),
        "{log}"
    );
    assert!(
        log.contains(&format!("CONNECT 127.0.0.1:{}", broker.port)),
        "{log}"
    );
}

#[test]
fn wss_goes_through_the_proxy_which_resolves_the_name() {
    let dir = tempfile::tempdir().unwrap();
    let ca = Ca::new(dir.path(), "ca");
    let server = ca.server("server", &["localhost"]);
    let broker = Mosquitto::with_listener(
        &format!(
            "protocol websockets\ncafile {}\ncertfile {}\nkeyfile {}\nallow_anonymous true\n",
            ca.pem.display(),
            server.cert.display(),
            server.key.display()
        ),
        |_| {},
    );
    let proxy = Tinyproxy::start(&format!("BasicAuth alice {PASSWORD}"));
    let mut sub = Subscriber::connect(broker.observer, &["p/wss"]);
    let result = run(mqtt_send().args([
        "-b",
        &format!("wss://localhost:{}/mqtt", broker.port),
        "--proxy",
        &format!("http://alice:{PASSWORD}@127.0.0.1:{}", proxy.port),
        "--root-ca-crt",
        ca.pem.to_str().unwrap(),
        "-t",
        "p/wss",
        "-m",
        "secure and tunnelled",
        "-q",
        "2",
        "-v",
    ]));
    result.expect(0).expect_message("PUBCOMP");
    assert!(
        result.stderr.contains("with credentials"),
        "{}",
        result.stderr
    );
    assert_eq!(sub.expect_message().payload, b"secure and tunnelled");
    // The name went to the proxy, not an address we resolved.
    let log = proxy.log();
    assert!(
        log.contains(&format!("CONNECT localhost:{}", broker.port)),
        "{log}"
    );
}

#[test]
fn a_proxy_that_refuses_is_exit_3_naming_it_and_its_status() {
    let broker = Mosquitto::start();
    let with_auth = Tinyproxy::start(&format!("BasicAuth alice {PASSWORD}"));
    for proxy in [
        format!(
            "http://alice:pw-proxy-wrong-19c2@127.0.0.1:{}",
            with_auth.port
        ),
        with_auth.url(),
    ] {
        let result = run(mqtt_send().args([
            "-b",
            &broker.url(),
            "--proxy",
            &proxy,
            "-t",
            "t",
            "-m",
            "x",
            "-v",
        ]));
        // tinyproxy answers wrong credentials with 401, none with 407.
        result
            .expect(3)
            .expect_message(&format!(
                "the proxy {} (from --proxy) refused the tunnel",
                with_auth.url()
            ))
            .expect_message("HTTP 40")
            .expect_message("http://user:password@host:port");
    }
    let only_443 = Tinyproxy::start("ConnectPort 443");
    run(mqtt_send().args([
        "-b",
        &broker.url(),
        "--proxy",
        &only_443.url(),
        "-t",
        "t",
        "-m",
        "x",
    ]))
    .expect(3)
    .expect_message("refused the tunnel")
    .expect_message("HTTP 403");
    assert_eq!(broker.connections(), 0, "nothing reached the broker");

    // Nobody listening where the proxy should be.
    let port = free_port();
    run(mqtt_send().args([
        "-b",
        &broker.url(),
        "--proxy",
        &format!("http://127.0.0.1:{port}"),
        "-t",
        "t",
        "-m",
        "x",
    ]))
    .expect(3)
    .expect_message(&format!("the proxy http://127.0.0.1:{port} (from --proxy)"))
    .expect_message("refused the connection");
}

#[test]
fn the_environment_gives_the_proxy_by_scheme() {
    let proxy = Tinyproxy::start("");
    let dead = format!("http://127.0.0.1:{}", free_port());
    // A name only the proxy would resolve (and cannot): its answer shows it was asked.
    for (url, vars) in [
        (
            "tcp://mqtt-send-test.invalid:1883",
            vec![("ALL_PROXY", proxy.url()), ("HTTPS_PROXY", dead.clone())],
        ),
        (
            "ws://mqtt-send-test.invalid/mqtt",
            vec![("HTTP_PROXY", proxy.url()), ("HTTPS_PROXY", dead.clone())],
        ),
        (
            "ssl://mqtt-send-test.invalid:8883",
            vec![("https_proxy", proxy.url()), ("HTTP_PROXY", dead.clone())],
        ),
        (
            "wss://mqtt-send-test.invalid/mqtt",
            vec![("ALL_PROXY", proxy.url())],
        ),
    ] {
        let var = vars[0].0;
        let result = run(mqtt_send()
            .args(["-b", url, "-t", "t", "-m", "x"])
            .envs(vars.iter().map(|(k, v)| (k, v))));
        result.expect(3).expect_message(&format!(
            "the proxy {} (from {var}) refused the tunnel",
            proxy.url()
        ));
    }
    assert_eq!(
        proxy
            .log()
            .matches("CONNECT mqtt-send-test.invalid")
            .count(),
        4
    );
    // HTTP_PROXY is for HTTP (and ws): a plain tcp:// broker is reached directly.
    run(mqtt_send()
        .args(["-b", "tcp://mqtt-send-test.invalid", "-t", "t", "-m", "x"])
        .env("HTTP_PROXY", &dead))
    .expect(3)
    .expect_message("cannot resolve the broker host mqtt-send-test.invalid");
}

#[test]
fn no_proxy_and_loopback_brokers_go_direct_but_the_flag_always_applies() {
    let broker = Mosquitto::start();
    let dead = format!("http://127.0.0.1:{}", free_port());
    // A loopback broker: ALL_PROXY is not used.
    run(mqtt_send()
        .args(["-b", &broker.url(), "-t", "t", "-m", "x", "-q", "1"])
        .env("ALL_PROXY", &dead))
    .expect(0);
    // NO_PROXY: the broker's name is resolved here (and fails), no proxy is asked.
    for no_proxy in [
        ".invalid",
        "mqtt-send-test.invalid",
        "*",
        "other.org,invalid",
    ] {
        run(mqtt_send()
            .args(["-b", "tcp://mqtt-send-test.invalid", "-t", "t", "-m", "x"])
            .env("ALL_PROXY", &dead)
            .env("NO_PROXY", no_proxy))
        .expect(3)
        .expect_message("cannot resolve the broker host mqtt-send-test.invalid");
    }
    // --proxy applies to a loopback broker too.
    run(mqtt_send().args(["-b", &broker.url(), "--proxy", &dead, "-t", "t", "-m", "x"]))
        .expect(3)
        .expect_message("(from --proxy) refused the connection");
    // A proxy variable that is not an HTTP proxy: a usage error naming it, no secret shown.
    run(mqtt_send()
        .args(["-b", "ws://b.example", "-t", "t", "-m", "x"])
        .env(
            "HTTP_PROXY",
            format!("socks5://alice:{PASSWORD}@127.0.0.1:1080"),
        ))
    .expect(2)
    .expect_message("HTTP_PROXY: the proxy \"socks5://***@127.0.0.1:1080\" is not an HTTP proxy");
}

#[test]
fn proxy_credentials_are_never_shown_from_the_flag_or_the_config() {
    let broker = Mosquitto::start();
    let proxy = Tinyproxy::start(&format!("BasicAuth alice {PASSWORD}"));
    run(mqtt_send().args([
        "-b",
        "tcp://b.example",
        "-t",
        "t",
        "-m",
        "x",
        "--proxy",
        &format!("http://alice:{PASSWORD}@127.0.0.1:99999"),
    ]))
    .expect(2)
    .expect_message("--proxy: the proxy \"http://***@127.0.0.1:99999\" has a port");
    // The config key, with the password percent-encoded: the run goes through and -v names the
    // proxy without its credentials.
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("c.json");
    std::fs::write(
        &config,
        format!(
            r#"{{"broker": "{}", "topic": "t", "content": "x", "qos": 1,
                "proxy": "http://alice:{}@127.0.0.1:{}"}}"#,
            broker.url(),
            PASSWORD.replace('-', "%2D"),
            proxy.port
        ),
    )
    .unwrap();
    let result = run(mqtt_send().args(["-c", config.to_str().unwrap(), "-v"]));
    result.expect(0);
    assert!(
        result.stderr.contains(&format!(
            "asking the proxy {} (from \"proxy\" in the config file)",
            proxy.url()
        )),
        "{}",
        result.stderr
    );
}

#[test]
fn a_proxy_that_never_accepts_is_named_when_the_deadline_comes() {
    // A listener whose accept queue is full drops every new SYN: a connect to it waits as to a
    // black-holed address, without any traffic leaving the machine.
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    socket
        .bind(&std::net::SocketAddr::from(([127, 0, 0, 1], 0)).into())
        .unwrap();
    socket.listen(0).unwrap();
    let listener: std::net::TcpListener = socket.into();
    let address = listener.local_addr().unwrap();
    let _held: Vec<_> = (0..4)
        .filter_map(|_| {
            std::net::TcpStream::connect_timeout(&address, std::time::Duration::from_millis(100))
                .ok()
        })
        .collect();
    run(mqtt_send().args([
        "-b",
        "tcp://broker.invalid:1883",
        "--proxy",
        &format!("http://{address}"),
        "--timeout",
        "1",
        "-t",
        "t",
        "-m",
        "x",
    ]))
    .expect(6)
    .expect_message(&format!(
        "connecting to the proxy http://{address} (from --proxy) at {address} for \
         tcp://broker.invalid:1883: no answer"
    ));
}

#[test]
fn a_tunnel_the_proxy_closes_at_once_is_exit_3_naming_the_proxy() {
    // A proxy that says 200 and then closes the tunnel (it could not reach the broker after
    // all): not the broker's port or TLS to blame.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            crate::support::ws::read_request(&mut stream);
            let _ = std::io::Write::write_all(
                &mut stream,
                b"HTTP/1.1 200 Connection established\r\n\r\n",
            );
        }
    });
    for (url, shown) in [
        ("wss://broker.example/mqtt", "wss://broker.example:443/mqtt"),
        ("ws://broker.example/mqtt", "ws://broker.example:80/mqtt"),
    ] {
        run(mqtt_send().args([
            "-b",
            url,
            "--proxy",
            &format!("http://127.0.0.1:{port}"),
            "-t",
            "t",
            "-m",
            "x",
        ]))
        .expect(3)
        .expect_message(&format!(
            "the proxy http://127.0.0.1:{port} (from --proxy) opened the tunnel to {shown}, \
             which then closed"
        ));
    }
}
