//! Network family: socket, connect, accept, bind, listen, DNS queries and answers, fd redirection.

use std::net::{Ipv4Addr, Ipv6Addr};

use harrier_events::{DnsEvent, FdRedirectEvent, NetEvent, SocketAddress, SocketEvent};
use harrier_sensor_common::FdInfo;

use super::prelude::*;
use crate::{decode::RawRecord, dns};

const AF_UNIX: u16 = libc::AF_UNIX as u16;
const AF_INET: u16 = libc::AF_INET as u16;
const AF_INET6: u16 = libc::AF_INET6 as u16;

/// Every network syscall hooked.
pub static HOOKS: &[Hook] = &[
    Spec::new(EventKind::SocketCreate).hook(libc::SYS_socket, "socket"),
    Spec::new(EventKind::NetConnect)
        .addr(addr_mode::PTR_LEN, 1, 2)
        .hook(libc::SYS_connect, "connect"),
    Spec::new(EventKind::NetAccept)
        .addr(addr_mode::PTR_LEN_PTR, 1, 2)
        .hook(libc::SYS_accept, "accept"),
    Spec::new(EventKind::NetAccept)
        .addr(addr_mode::PTR_LEN_PTR, 1, 2)
        .hook(libc::SYS_accept4, "accept4"),
    Spec::new(EventKind::NetBind)
        .addr(addr_mode::PTR_LEN, 1, 2)
        .hook(libc::SYS_bind, "bind"),
    Spec::new(EventKind::NetListen)
        .fd(0, fd_mode::INFO)
        .hook(libc::SYS_listen, "listen"),
    Spec::new(EventKind::DnsQuery)
        .filter(filter::DNS, 0)
        .addr(addr_mode::PTR_LEN, 4, 5)
        .payload(1)
        .fd(0, fd_mode::INFO)
        .hook(libc::SYS_sendto, "sendto"),
    Spec::new(EventKind::DnsQuery)
        .filter(filter::DNS, 0)
        .addr(addr_mode::MSGHDR, 1, 0)
        .fd(0, fd_mode::INFO)
        .hook(libc::SYS_sendmsg, "sendmsg"),
    // struct mmsghdr starts with its msghdr: the first message is captured.
    Spec::new(EventKind::DnsQuery)
        .filter(filter::DNS, 0)
        .addr(addr_mode::MSGHDR, 1, 0)
        .fd(0, fd_mode::INFO)
        .hook(libc::SYS_sendmmsg, "sendmmsg"),
    Spec::new(EventKind::DnsAnswer)
        .filter(filter::DNS_REPLY, 0)
        .addr(addr_mode::PTR_LEN_PTR, 4, 5)
        .payload(1)
        .received(payload_mode::RECEIVED)
        .fd(0, fd_mode::INFO)
        .hook(libc::SYS_recvfrom, "recvfrom"),
    Spec::new(EventKind::DnsAnswer)
        .filter(filter::DNS_REPLY, 0)
        .addr(addr_mode::MSGHDR, 1, 0)
        .received(payload_mode::RECEIVED)
        .fd(0, fd_mode::INFO)
        .hook(libc::SYS_recvmsg, "recvmsg"),
    // The first message of the batch is captured.
    Spec::new(EventKind::DnsAnswer)
        .filter(filter::DNS_REPLY, 0)
        .addr(addr_mode::MSGHDR, 1, 0)
        .received(payload_mode::RECEIVED_MMSG)
        .fd(0, fd_mode::INFO)
        .hook(libc::SYS_recvmmsg, "recvmmsg"),
    // Connected UDP sockets read with read(2) (Go's resolver); the kernel
    // checks the fd at entry, so other reads cost one lookup.
    Spec::new(EventKind::DnsAnswer)
        .filter(filter::DNS_REPLY, 0)
        .payload(1)
        .received(payload_mode::RECEIVED)
        .fd(0, fd_mode::INFO)
        .hook(libc::SYS_read, "read"),
    Spec::new(EventKind::FdRedirect)
        .filter(filter::STD_FD, 1)
        .fd(0, fd_mode::INFO)
        .hook(libc::SYS_dup2, "dup2"),
    Spec::new(EventKind::FdRedirect)
        .filter(filter::STD_FD, 1)
        .fd(0, fd_mode::INFO)
        .hook(libc::SYS_dup3, "dup3"),
];

/// Decode a network record.
pub fn decode(kind: EventKind, _name: &str, rec: &RawRecord<'_>) -> Option<EventDetail> {
    let result = rec.result();
    let fd = rec.arg(0) as i32 as i64;
    let sockaddr = || {
        rec.item(tag::SOCKADDR)
            .map(|i| parse_sockaddr(i.data))
            .unwrap_or(SocketAddress::Other(0))
    };
    let net = |address| NetEvent {
        fd,
        address,
        result,
    };
    let detail = match kind {
        EventKind::SocketCreate => EventDetail::SocketCreate(SocketEvent {
            family: rec.arg(0) as u32,
            socket_type: rec.arg(1) as u32,
            protocol: rec.arg(2) as u32,
            result,
        }),
        EventKind::NetConnect => EventDetail::NetConnect(net(sockaddr())),
        EventKind::NetAccept => EventDetail::NetAccept(net(sockaddr())),
        EventKind::NetBind => EventDetail::NetBind(net(sockaddr())),
        EventKind::NetListen => {
            let address = fd_info(rec)
                .map(|info| local_address(&info))
                .unwrap_or(SocketAddress::Other(0));
            EventDetail::NetListen(net(address))
        }
        EventKind::DnsQuery => {
            let payload = rec.item(tag::PAYLOAD)?;
            let (query, query_type) = dns::parse_query(payload.data).ok()?;
            EventDetail::DnsQuery(DnsEvent {
                query,
                query_type,
                server: dns_server(rec),
            })
        }
        EventKind::FdRedirect => EventDetail::FdRedirect(FdRedirectEvent {
            old_fd: fd,
            new_fd: rec.arg(1) as i32 as i64,
            is_socket: fd_info(rec).is_some_and(|i| i.mode & libc::S_IFMT == libc::S_IFSOCK),
            result,
        }),
        _ => return None,
    };
    Some(detail)
}

/// Decode a DNS answer record: the response's question, rcode and answers.
/// `Err` when the message is not a DNS response.
pub fn decode_dns_answer(rec: &RawRecord<'_>) -> Result<dns::Response, dns::DnsError> {
    let payload = rec.item(tag::PAYLOAD).map(|i| i.data).unwrap_or_default();
    let mut response = dns::parse_response(payload)?;
    if rec.item(tag::PAYLOAD).is_some_and(|i| i.truncated) {
        response.complete = false;
    }
    Ok(response)
}

/// Who a DNS message went to or came from: the address argument, else the
/// connected peer.
pub fn dns_server(rec: &RawRecord<'_>) -> SocketAddress {
    match rec.item(tag::SOCKADDR) {
        Some(item) => parse_sockaddr(item.data),
        None => fd_info(rec)
            .map(|info| peer_address(&info))
            .unwrap_or(SocketAddress::Other(0)),
    }
}

/// The [`FdInfo`] item, if the kernel sent one.
fn fd_info(rec: &RawRecord<'_>) -> Option<FdInfo> {
    let item = rec.item(tag::FD_INFO)?;
    if item.data.len() < std::mem::size_of::<FdInfo>() {
        return None;
    }
    // SAFETY: length checked; FdInfo is plain integers.
    Some(unsafe { std::ptr::read_unaligned(item.data.as_ptr() as *const FdInfo) })
}

/// Decode a raw `struct sockaddr`.
pub fn parse_sockaddr(b: &[u8]) -> SocketAddress {
    if b.len() < 2 {
        return SocketAddress::Other(0);
    }
    let family = u16::from_ne_bytes([b[0], b[1]]);
    match family {
        AF_INET if b.len() >= 8 => SocketAddress::Ipv4((
            Ipv4Addr::new(b[4], b[5], b[6], b[7]).to_string(),
            u16::from_be_bytes([b[2], b[3]]),
        )),
        AF_INET6 if b.len() >= 24 => {
            let mut octets = [0u8; 16];
            octets.copy_from_slice(&b[8..24]);
            SocketAddress::Ipv6((
                Ipv6Addr::from(octets).to_string(),
                u16::from_be_bytes([b[2], b[3]]),
            ))
        }
        AF_UNIX => {
            let path = &b[2..];
            match path.first() {
                // Abstract socket: leading NUL, name runs to the end of the given length.
                Some(0) => SocketAddress::Unix(format!(
                    "@{}",
                    String::from_utf8_lossy(path[1..].split(|&c| c == 0).next().unwrap_or(&[]))
                )),
                _ => SocketAddress::Unix(crate::decode::record::cstr(path)),
            }
        }
        other => SocketAddress::Other(other as u32),
    }
}

fn ip_address(family: u16, addr: &[u8; 16], port: u16) -> SocketAddress {
    match family {
        AF_INET => SocketAddress::Ipv4((
            Ipv4Addr::new(addr[0], addr[1], addr[2], addr[3]).to_string(),
            port,
        )),
        AF_INET6 => SocketAddress::Ipv6((Ipv6Addr::from(*addr).to_string(), port)),
        other => SocketAddress::Other(other as u32),
    }
}

/// The local (bound) address of a socket.
fn local_address(info: &FdInfo) -> SocketAddress {
    ip_address(info.family, &info.saddr, info.sport)
}

/// The peer address of a connected socket.
fn peer_address(info: &FdInfo) -> SocketAddress {
    ip_address(info.family, &info.daddr, info.dport)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sockaddr_in(ip: [u8; 4], port: u16) -> Vec<u8> {
        let mut b = (libc::AF_INET as u16).to_ne_bytes().to_vec();
        b.extend_from_slice(&port.to_be_bytes());
        b.extend_from_slice(&ip);
        b.extend_from_slice(&[0; 8]);
        b
    }

    #[test]
    fn sockaddrs_decode() {
        assert_eq!(
            parse_sockaddr(&sockaddr_in([127, 0, 0, 1], 8080)),
            SocketAddress::Ipv4(("127.0.0.1".into(), 8080))
        );
        let mut v6 = (libc::AF_INET6 as u16).to_ne_bytes().to_vec();
        v6.extend_from_slice(&443u16.to_be_bytes());
        v6.extend_from_slice(&[0; 4]);
        v6.extend_from_slice(&Ipv6Addr::LOCALHOST.octets());
        v6.extend_from_slice(&[0; 4]);
        assert_eq!(
            parse_sockaddr(&v6),
            SocketAddress::Ipv6(("::1".into(), 443))
        );
        let mut unix = (libc::AF_UNIX as u16).to_ne_bytes().to_vec();
        unix.extend_from_slice(b"/run/docker.sock\0");
        assert_eq!(
            parse_sockaddr(&unix),
            SocketAddress::Unix("/run/docker.sock".into())
        );
        let mut abs = (libc::AF_UNIX as u16).to_ne_bytes().to_vec();
        abs.extend_from_slice(b"\0hidden");
        assert_eq!(parse_sockaddr(&abs), SocketAddress::Unix("@hidden".into()));
        assert_eq!(parse_sockaddr(&[17, 0, 1, 2]), SocketAddress::Other(17));
    }
}
