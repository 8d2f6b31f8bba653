//! Live tests of DNS answers: a DNS server this test runs on a loopback
//! address answers real queries, and each way of receiving the answer
//! (recvfrom, recv on a connected socket, read, recvmsg, recvmmsg) yields a
//! `dns-answer` event with the parsed records.

mod common;

use std::net::{Ipv4Addr, SocketAddrV4, UdpSocket};
use std::os::fd::AsRawFd;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use harrier_events::{DnsAnswerEvent, EventDetail, EventKind, SocketAddress};

use common::{me, sensor};

/// A query for `name`, type A.
fn query(name: &str) -> Vec<u8> {
    let mut q = vec![0x42, 0x42, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0];
    for label in name.split('.') {
        q.push(label.len() as u8);
        q.extend_from_slice(label.as_bytes());
    }
    q.extend_from_slice(&[0, 0, 1, 0, 1]);
    q
}

/// The answer the test server gives to `q`: names starting with `nx` get
/// NXDOMAIN, `bad` a response with a forward compression pointer, others a
/// CNAME to `edge.` + the name, an A 127.9.9.9 and an AAAA ::1 for it.
fn answer(q: &[u8]) -> Vec<u8> {
    let question_end = q.len();
    let name_first = q[13];
    let mut r = q.to_vec();
    r[2] = 0x81;
    r[3] = 0x80;
    if name_first == b'n' {
        r[3] = 0x83;
        return r;
    }
    if name_first == b'b' {
        // The question's name replaced by a pointer to after the message.
        r.truncate(12);
        r.extend_from_slice(&[0xc0, 0xff, 0, 1, 0, 1]);
        return r;
    }
    r[7] = 3;
    // CNAME: owner = the question's name (offset 12), target "edge" + pointer to it.
    r.extend_from_slice(&[0xc0, 12, 0, 5, 0, 1, 0, 0, 0, 30, 0, 7]);
    let target_at = r.len();
    r.extend_from_slice(&[4, b'e', b'd', b'g', b'e', 0xc0, 12]);
    let ptr = [0xc0, target_at as u8];
    assert!(target_at < 256 && question_end < target_at);
    r.extend_from_slice(&ptr);
    r.extend_from_slice(&[0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 127, 9, 9, 9]);
    r.extend_from_slice(&ptr);
    r.extend_from_slice(&[0, 28, 0, 1, 0, 0, 0, 61, 0, 16]);
    r.extend_from_slice(&std::net::Ipv6Addr::LOCALHOST.octets());
    r
}

/// A DNS server on port 53 of a loopback address of its own, answering until dropped.
struct Server {
    addr: SocketAddrV4,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Server {
    fn start() -> Server {
        let pid = me();
        let sock = (0..16u32)
            .find_map(|i| {
                let n = pid.wrapping_add(i * 7919);
                let ip = Ipv4Addr::new(127, 53, (n >> 8) as u8, (n as u8).max(2));
                UdpSocket::bind(SocketAddrV4::new(ip, 53)).ok()
            })
            .expect("bind a loopback DNS server on port 53");
        sock.set_read_timeout(Some(Duration::from_millis(50)))
            .unwrap();
        let std::net::SocketAddr::V4(addr) = sock.local_addr().unwrap() else {
            unreachable!()
        };
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            let mut buf = [0u8; 512];
            while !flag.load(Ordering::Relaxed) {
                if let Ok((n, from)) = sock.recv_from(&mut buf) {
                    let _ = sock.send_to(&answer(&buf[..n]), from);
                }
            }
        });
        Server {
            addr,
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// A client socket connected to the server, with a receive timeout.
fn connected(server: &Server) -> UdpSocket {
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    sock.connect(server.addr).unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
    sock
}

fn check_answer(d: &DnsAnswerEvent, name: &str, server: &Server) {
    assert_eq!(d.query, name);
    assert_eq!((d.query_type, d.rcode), (1, 0));
    assert_eq!(
        d.server,
        SocketAddress::Ipv4((server.addr.ip().to_string(), 53))
    );
    let edge = format!("edge.{name}");
    let got: Vec<(&str, u16, u32, &str)> = d
        .answers
        .iter()
        .map(|a| (a.name.as_str(), a.record_type, a.ttl, a.value.as_str()))
        .collect();
    assert_eq!(
        got,
        vec![
            (name, 5, 30, edge.as_str()),
            (edge.as_str(), 1, 60, "127.9.9.9"),
            (edge.as_str(), 28, 61, "::1"),
        ]
    );
}

#[test]
fn dns_answers_by_every_receive_call() {
    let Some(mut s) = sensor("dns_answers", &[EventKind::DnsAnswer]) else {
        return;
    };
    let server = Server::start();
    let tag = me();
    let mut wait = |name: &str| {
        let ev = s.wait_for(
            name,
            |e| matches!(&e.detail, EventDetail::DnsAnswer(d) if d.query == name),
        );
        assert_eq!(ev.process.pid, me());
        let EventDetail::DnsAnswer(d) = ev.detail else {
            unreachable!()
        };
        d
    };
    let mut buf = [0u8; 1500];

    // recvfrom on an unconnected socket: the source address is the server.
    let name = format!("recvfrom{tag}.harrier.test");
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
    sock.send_to(&query(&name), server.addr).unwrap();
    let (_, from) = sock.recv_from(&mut buf).expect("answer");
    assert_eq!(from, std::net::SocketAddr::V4(server.addr));
    check_answer(&wait(&name), &name, &server);

    // recv on a connected socket (recvfrom without an address): the peer.
    let name = format!("recv{tag}.harrier.test");
    let sock = connected(&server);
    sock.send(&query(&name)).unwrap();
    sock.recv(&mut buf).expect("answer");
    check_answer(&wait(&name), &name, &server);

    // read(2) on a connected socket (Go's resolver).
    let name = format!("read{tag}.harrier.test");
    let sock = connected(&server);
    sock.send(&query(&name)).unwrap();
    // SAFETY: reading into a live buffer of its length.
    let n = unsafe { libc::read(sock.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
    assert!(n > 0, "read: {}", std::io::Error::last_os_error());
    check_answer(&wait(&name), &name, &server);

    // recvmsg with a name buffer (systemd-resolved's way).
    let name = format!("recvmsg{tag}.harrier.test");
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
    sock.send_to(&query(&name), server.addr).unwrap();
    let mut iov = libc::iovec {
        iov_base: buf.as_mut_ptr().cast(),
        iov_len: buf.len(),
    };
    // SAFETY: zeroed sockaddr_in and msghdr are valid; pointers set below are live.
    let mut from: libc::sockaddr_in = unsafe { std::mem::zeroed() };
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_name = (&mut from as *mut libc::sockaddr_in).cast();
    msg.msg_namelen = std::mem::size_of::<libc::sockaddr_in>() as u32;
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    // SAFETY: a valid msghdr on an open socket.
    let n = unsafe { libc::recvmsg(sock.as_raw_fd(), &mut msg, 0) };
    assert!(n > 0, "recvmsg: {}", std::io::Error::last_os_error());
    check_answer(&wait(&name), &name, &server);

    // recvmmsg on a connected socket: the first message.
    let name = format!("mmsg{tag}.harrier.test");
    let sock = connected(&server);
    sock.send(&query(&name)).unwrap();
    let mut iov = libc::iovec {
        iov_base: buf.as_mut_ptr().cast(),
        iov_len: buf.len(),
    };
    // SAFETY: zeroed mmsghdr is valid; its iovec points to a live buffer.
    let mut mmsg: libc::mmsghdr = unsafe { std::mem::zeroed() };
    mmsg.msg_hdr.msg_iov = &mut iov;
    mmsg.msg_hdr.msg_iovlen = 1;
    // SAFETY: one valid mmsghdr on an open socket; no timeout (the socket's applies).
    let n = unsafe { libc::recvmmsg(sock.as_raw_fd(), &mut mmsg, 1, 0, std::ptr::null_mut()) };
    assert_eq!(n, 1, "recvmmsg: {}", std::io::Error::last_os_error());
    check_answer(&wait(&name), &name, &server);

    // NXDOMAIN: the rcode, no answers.
    let name = format!("nx{tag}.harrier.test");
    let sock = connected(&server);
    sock.send(&query(&name)).unwrap();
    sock.recv(&mut buf).expect("answer");
    let d = wait(&name);
    assert_eq!((d.rcode, d.answers.len()), (3, 0));
}

#[test]
fn malformed_answers_are_counted_and_other_ports_ignored() {
    let Some(mut s) = sensor("dns_malformed", &[EventKind::DnsAnswer]) else {
        return;
    };
    let server = Server::start();
    let tag = me();
    let mut buf = [0u8; 1500];
    let before = s.sensor.stats().dns_malformed;
    let sock = connected(&server);
    sock.send(&query(&format!("bad{tag}.harrier.test")))
        .unwrap();
    sock.recv(&mut buf).expect("answer");

    // An answer-shaped datagram from a port other than 53 is not captured.
    let name = format!("port{tag}.harrier.test");
    let a = UdpSocket::bind("127.0.0.1:0").unwrap();
    let b = UdpSocket::bind("127.0.0.1:0").unwrap();
    b.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
    a.send_to(&answer(&query(&name)), b.local_addr().unwrap())
        .unwrap();
    b.recv_from(&mut buf).expect("datagram");

    // A good answer afterwards proves the stream was read past both.
    let after = format!("after{tag}.harrier.test");
    let sock = connected(&server);
    sock.send(&query(&after)).unwrap();
    sock.recv(&mut buf).expect("answer");
    s.wait_for(
        "later answer",
        |e| matches!(&e.detail, EventDetail::DnsAnswer(d) if d.query == after),
    );
    let leaked = s.drain_matching(|e| {
        matches!(&e.detail, EventDetail::DnsAnswer(d) if d.query == name || d.query.starts_with("bad"))
    });
    assert_eq!(leaked, 0);
    assert!(
        s.sensor.stats().dns_malformed > before,
        "malformed answer counted: {:?}",
        s.sensor.stats()
    );
}
