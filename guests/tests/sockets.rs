//! Host sockets, friendly and hostile, by the first label of names under `sock.test` (args: the UDP echo, the
//! silent UDP server and the TCP echo server as `ip:port`, space separated):
//! `echo` and `tcp` send "ping" and answer what came back; `outside` opens a socket off the allow-list; `flood`
//! sends 1 KiB datagrams until the host cuts it off; `hang` waits on a server that never answers.
#[path = "../sdk/lib.rs"]
mod ananas;
use ananas::net::Socket;
use ananas::{response, Phase, Request, Section, Verdict};
use std::cell::RefCell;

thread_local! {
    static PEERS: RefCell<Vec<String>> = RefCell::new(Vec::new());
}

fn peer(i: usize) -> String {
    PEERS.with(|p| p.borrow().get(i).cloned().unwrap_or_default())
}

fn answer(req: &Request, text: &str) -> Verdict {
    response::add_record(Section::Answer, &format!("{}. 0 IN TXT \"{}\"", req.qname(), text)).unwrap();
    Verdict::Answer
}

async fn on_request(req: Request) -> Verdict {
    let qname = req.qname().to_string();
    if !qname.ends_with(".sock.test") {
        return Verdict::Continue;
    }
    let label = qname.split('.').next().unwrap_or("");
    match label {
        "echo" | "tcp" => {
            let socket = if label == "echo" { Socket::udp(&peer(0)) } else { Socket::tcp(&peer(2)) };
            let socket = match socket {
                Ok(s) => s,
                Err(e) => return answer(&req, &format!("open={:?}", e)),
            };
            if let Err(e) = socket.send(b"ping").await {
                return answer(&req, &format!("send={:?}", e));
            }
            match socket.recv(512).await {
                Ok(bytes) => answer(&req, &format!("got={}", String::from_utf8_lossy(&bytes))),
                Err(e) => answer(&req, &format!("recv={:?}", e)),
            }
        }
        "outside" => match Socket::udp("127.0.0.1:9") {
            Ok(_) => answer(&req, "open=ok"),
            Err(e) => answer(&req, &format!("open={:?}", e)),
        },
        "flood" => {
            let socket = match Socket::udp(&peer(0)) {
                Ok(s) => s,
                Err(e) => return answer(&req, &format!("open={:?}", e)),
            };
            let chunk = [0x55u8; 1024];
            let mut sent = 0;
            let mut error = String::new();
            for _ in 0..100_000 {
                match socket.send(&chunk).await {
                    Ok(()) => sent += 1,
                    Err(e) => {
                        error = format!("{:?}", e);
                        break;
                    }
                }
            }
            answer(&req, &format!("sent={} err={}", sent, error))
        }
        "hang" => {
            let socket = match Socket::udp(&peer(1)) {
                Ok(s) => s,
                Err(e) => return answer(&req, &format!("open={:?}", e)),
            };
            let before = ananas::monotonic_ms();
            let result = socket.recv(512).await;
            answer(&req, &format!("recv={:?} after={}", result.err(), ananas::monotonic_ms() - before))
        }
        _ => Verdict::Continue,
    }
}

fn start(args: &str) -> Result<(), String> {
    PEERS.with(|p| *p.borrow_mut() = args.split_whitespace().map(|s| s.to_string()).collect());
    ananas::register_async(Phase::Request, on_request);
    Ok(())
}
ananas::plugin!(start);
