use std::net::UdpSocket;
use std::os::fd::AsRawFd;
use std::time::Duration;

use super::*;

fn pair() -> (UdpSocket, UdpSocket) {
    let a = UdpSocket::bind("127.0.0.1:0").unwrap();
    let b = UdpSocket::bind("127.0.0.1:0").unwrap();
    a.set_nonblocking(true).unwrap();
    b.set_nonblocking(true).unwrap();
    (a, b)
}

fn transmit(from: &UdpSocket, to: SocketAddr, contents: Vec<u8>) -> Transmit {
    Transmit {
        source: from.local_addr().unwrap(),
        destination: to,
        contents,
    }
}

/// Everything waiting on `sock`, as (source, bytes), read with plain `recv_from` after
/// giving loopback delivery a moment.
fn drain(sock: &UdpSocket) -> Vec<(SocketAddr, Vec<u8>)> {
    std::thread::sleep(Duration::from_millis(20));
    let mut buf = [0u8; 4096];
    let mut out = Vec::new();
    while let Ok((n, from)) = sock.recv_from(&mut buf) {
        out.push((from, buf[..n].to_vec()));
    }
    out
}

fn recv_all(rx: &mut Receiver, sock: &UdpSocket) -> (Vec<(SocketAddr, Vec<u8>)>, Vec<Received>) {
    std::thread::sleep(Duration::from_millis(20));
    let mut got = Vec::new();
    let mut calls = Vec::new();
    loop {
        match rx.recv(sock.as_raw_fd(), |_, from, data| {
            got.push((from, data.to_vec()))
        }) {
            Ok(r) => calls.push(r),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
            Err(e) => panic!("recv: {e}"),
        }
    }
    (got, calls)
}

#[test]
fn a_datagram_longer_than_the_buffer_is_dropped_and_the_next_one_kept() {
    let (a, b) = pair();
    let to = b.local_addr().unwrap();
    a.send_to(&vec![7u8; DATAGRAM_BUF + 500], to).unwrap();
    a.send_to(b"after", to).unwrap();
    let mut rx = Receiver::new(MAX_BATCH);
    let (got, calls) = recv_all(&mut rx, &b);
    assert_eq!(got, vec![(a.local_addr().unwrap(), b"after".to_vec())]);
    let truncated: usize = calls.iter().map(|c| c.truncated).sum();
    assert_eq!(truncated, 1);
}

#[test]
fn a_burst_longer_than_one_batch_is_read_in_batches_in_order() {
    let (a, b) = pair();
    let to = b.local_addr().unwrap();
    for i in 0..100u8 {
        a.send_to(&[i; 10], to).unwrap();
    }
    let mut rx = Receiver::new(MAX_BATCH);
    let (got, calls) = recv_all(&mut rx, &b);
    assert_eq!(got.len(), 100);
    for (i, (from, data)) in got.iter().enumerate() {
        assert_eq!(*from, a.local_addr().unwrap());
        assert_eq!(data, &vec![i as u8; 10]);
    }
    let sizes: Vec<usize> = calls.iter().map(|c| c.datagrams).collect();
    assert_eq!(sizes, vec![32, 32, 32, 4]);
}

#[test]
fn a_batch_size_of_one_reads_one_datagram_per_call() {
    let (a, b) = pair();
    for i in 0..3u8 {
        a.send_to(&[i], b.local_addr().unwrap()).unwrap();
    }
    let mut rx = Receiver::new(1);
    let (got, calls) = recv_all(&mut rx, &b);
    assert_eq!(got.len(), 3);
    assert_eq!(calls.len(), 3);
}

#[test]
fn a_queue_longer_than_one_batch_is_sent_in_order_to_many_destinations() {
    let (a, b) = pair();
    let c = UdpSocket::bind("127.0.0.1:0").unwrap();
    c.set_nonblocking(true).unwrap();
    let mut q = SendQueue::default();
    let t0 = Instant::now();
    for i in 0..70u8 {
        let to = if i % 2 == 0 { &b } else { &c };
        q.push(
            transmit(&a, to.local_addr().unwrap(), vec![i; 20]),
            Some(t0),
        );
    }
    // One timer-made datagram: sent, but no receive to measure from.
    q.push(transmit(&a, b.local_addr().unwrap(), vec![200; 20]), None);
    let mut sender = Sender::default();
    let delay = ForwardingDelay::new();
    let mut calls = 0;
    q.flush(MAX_BATCH, &delay, |batch| {
        calls += 1;
        sender.send(a.as_raw_fd(), batch)
    })
    .unwrap();
    assert!(q.is_empty());
    assert_eq!(calls, 3, "71 datagrams in batches of 32");
    let at_b: Vec<u8> = drain(&b).into_iter().map(|(_, d)| d[0]).collect();
    let at_c: Vec<u8> = drain(&c).into_iter().map(|(_, d)| d[0]).collect();
    let mut want_b: Vec<u8> = (0..70).step_by(2).collect();
    want_b.push(200);
    assert_eq!(at_b, want_b);
    assert_eq!(at_c, (1..70).step_by(2).collect::<Vec<u8>>());
    assert_eq!(delay.snapshot().count, 70);
}

#[test]
fn a_destination_that_fails_does_not_stop_the_others() {
    let (a, b) = pair();
    let to = b.local_addr().unwrap();
    let mut q = SendQueue::default();
    q.push(transmit(&a, to, b"one".to_vec()), None);
    // Broadcast without SO_BROADCAST: EACCES for this datagram alone.
    q.push(
        transmit(&a, "255.255.255.255:9".parse().unwrap(), b"x".to_vec()),
        None,
    );
    q.push(transmit(&a, to, b"two".to_vec()), None);
    q.push(transmit(&a, to, b"three".to_vec()), None);
    let mut sender = Sender::default();
    q.flush(MAX_BATCH, &ForwardingDelay::new(), |batch| {
        sender.send(a.as_raw_fd(), batch)
    })
    .unwrap();
    assert!(q.is_empty());
    assert_eq!(q.failed, 1);
    let got: Vec<Vec<u8>> = drain(&b).into_iter().map(|(_, d)| d).collect();
    assert_eq!(
        got,
        vec![b"one".to_vec(), b"two".to_vec(), b"three".to_vec()]
    );
}

#[test]
fn a_full_socket_keeps_the_unsent_rest_in_order_for_the_next_flush() {
    let (a, _) = pair();
    let to: SocketAddr = "127.0.0.1:9".parse().unwrap();
    let mut q = SendQueue::default();
    for i in 0..10u8 {
        q.push(transmit(&a, to, vec![i]), None);
    }
    // The socket takes three, then is full.
    let mut sent = Vec::new();
    let mut room = 3;
    let r = q.flush(4, &ForwardingDelay::new(), |batch| {
        if room == 0 {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        let n = batch.len().min(room);
        room -= n;
        sent.extend(batch[..n].iter().map(|o| o.transmit.contents[0]));
        Ok(n)
    });
    assert_eq!(r.unwrap_err().kind(), io::ErrorKind::WouldBlock);
    assert_eq!(q.len(), 7);
    assert_eq!(q.failed, 0, "a full socket drops nothing");
    // Writable again: the rest goes, in order, none twice.
    q.flush(4, &ForwardingDelay::new(), |batch| {
        sent.extend(batch.iter().map(|o| o.transmit.contents[0]));
        Ok(batch.len())
    })
    .unwrap();
    assert_eq!(sent, (0..10).collect::<Vec<u8>>());
}

#[test]
fn the_delay_of_each_datagram_runs_from_its_own_receive() {
    let (a, _) = pair();
    let to: SocketAddr = "127.0.0.1:9".parse().unwrap();
    let now = Instant::now();
    let mut q = SendQueue::default();
    q.push(
        transmit(&a, to, vec![1]),
        Some(now - Duration::from_millis(30)),
    );
    q.push(
        transmit(&a, to, vec![2]),
        Some(now - Duration::from_millis(30)),
    );
    q.push(transmit(&a, to, vec![3]), Some(now));
    let delay = ForwardingDelay::new();
    q.flush(MAX_BATCH, &delay, |batch| Ok(batch.len())).unwrap();
    let s = delay.snapshot();
    assert_eq!(s.count, 3);
    assert_eq!(s.buckets[s.buckets.len() - 1], 2, "30 ms is above 25 ms");
    assert!(s.sum >= Duration::from_millis(60));
}

#[test]
fn the_socket_buffers_grow_as_far_as_the_process_may() {
    let (a, _) = pair();
    let before = getsockopt(&a, sockopt::RcvBuf).unwrap();
    let wanted = 1 << 20;
    let got = grow_buffers(&a, wanted).unwrap();
    // Without CAP_NET_ADMIN the sysctl limits cap the request; the kernel reports
    // twice what it grants.
    let limit = |name: &str| -> usize {
        std::fs::read_to_string(format!("/proc/sys/net/core/{name}"))
            .unwrap()
            .trim()
            .parse()
            .unwrap()
    };
    let floor = |max: usize| 2 * wanted.min(max);
    assert!(got.receive >= floor(limit("rmem_max")), "{got:?}");
    assert!(got.send >= floor(limit("wmem_max")), "{got:?}");
    assert!(
        got.receive > before || before >= 2 * wanted,
        "{got:?}, before {before}"
    );
}
