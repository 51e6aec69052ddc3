//! Moving bytes and time through the participants' str0m instances: demultiplexing
//! datagrams to the right peer connection, polling each until it asks for a timeout,
//! and isolating a peer whose state panics so the others go on.

use std::net::SocketAddr;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::{Duration, Instant};

use str0m::net::{Protocol, Receive};
use str0m::{Event, IceConnectionState, Input, Output, Rtc};

use super::{LeaveReason, Notice, ParticipantId, PeerRole, Sfu, Transmit, KEYFRAME_RETRY};

/// How long a peer connection may stay ICE-disconnected before its participant is
/// removed as failed.
const ICE_DISCONNECTED_LIMIT: Duration = Duration::from_secs(15);

impl Sfu {
    /// Handle one datagram received on the media port. Malformed and stray datagrams
    /// are counted and dropped.
    pub fn handle_datagram(
        &mut self,
        now: Instant,
        source: SocketAddr,
        destination: SocketAddr,
        data: &[u8],
    ) {
        self.stats.datagrams_received += 1;
        let Ok(receive) = Receive::new(Protocol::Udp, source, destination, data) else {
            self.stats.datagrams_malformed += 1;
            return;
        };
        let input = Input::Receive(now, receive);
        // One hash lookup per datagram on the fast path; the route is learnt only once
        // the peer connection accepted a datagram from a new address.
        let (id, role, new_route) = match self.routes.get(&source) {
            Some(&(id, role)) => (id, role, false),
            None => match self.find_owner(&input) {
                Some((id, role)) => (id, role, true),
                None => {
                    self.stats.datagrams_unrouted += 1;
                    return;
                }
            },
        };
        match self.with_rtc(id, role, |rtc| rtc.handle_input(input)) {
            Some(Ok(())) => {
                if new_route {
                    self.routes.insert(source, (id, role));
                }
            }
            Some(Err(e)) => {
                self.stats.datagrams_rejected += 1;
                self.on_rtc_error(id, role, &e);
                tracing::debug!(participant = %id, ?role, "datagram refused: {e}");
            }
            None => return,
        }
        self.drive(now, id, role);
        self.settle(now);
    }

    /// Advance time: every peer connection whose timeout has come is driven, and
    /// subscriptions still waiting for a keyframe ask again.
    pub fn handle_timeout(&mut self, now: Instant) {
        let mut due = std::mem::take(&mut self.scratch_due);
        due.clear();
        for p in self.participants.values() {
            for (role, peer) in [
                (PeerRole::Publisher, &p.publisher),
                (PeerRole::Subscriber, &p.subscriber),
            ] {
                if peer.timeout <= now {
                    due.push((p.id, role));
                }
            }
        }
        for &(id, role) in &due {
            if let Some(Err(e)) =
                self.with_rtc(id, role, |rtc| rtc.handle_input(Input::Timeout(now)))
            {
                tracing::debug!(participant = %id, ?role, "timeout refused: {e}");
            }
            self.drive(now, id, role);
        }
        self.scratch_due = due;
        if now >= self.next_keyframe_check {
            self.next_keyframe_check = now + KEYFRAME_RETRY;
            self.maintain(now);
        }
        self.settle(now);
        self.next_timeout = self
            .participants
            .values()
            .flat_map(|p| [p.publisher.timeout, p.subscriber.timeout])
            .min()
            .unwrap_or(now + Duration::from_secs(1))
            .max(now + Duration::from_micros(100));
    }

    /// Run `f` on one peer connection's str0m state. A panic inside marks the
    /// participant failed (it is removed by [`Sfu::settle`]) and gives `None`, as does an
    /// unknown participant.
    pub(crate) fn with_rtc<R>(
        &mut self,
        id: ParticipantId,
        role: PeerRole,
        f: impl FnOnce(&mut Rtc) -> R,
    ) -> Option<R> {
        let p = self.participants.get_mut(&id)?;
        let rtc = &mut p.peer_mut(role).rtc;
        match catch_unwind(AssertUnwindSafe(|| f(rtc))) {
            Ok(r) => Some(r),
            Err(_) => {
                tracing::error!(participant = %id, ?role, "WebRTC state panicked; removing participant");
                self.fail(id);
                None
            }
        }
    }

    /// Mark a participant failed; it is removed once the current input is handled.
    pub(crate) fn fail(&mut self, id: ParticipantId) {
        if !self.doomed.iter().any(|(d, _)| *d == id) && self.participants.contains_key(&id) {
            self.stats.participants_failed += 1;
            self.doomed.push((id, LeaveReason::Failed));
        }
    }

    /// Remember that a peer connection has new output to poll.
    pub(crate) fn mark_dirty(&mut self, id: ParticipantId, role: PeerRole) {
        if let Some(p) = self.participants.get_mut(&id) {
            let peer = p.peer_mut(role);
            if !peer.dirty {
                peer.dirty = true;
                self.dirty.push((id, role));
            }
        }
    }

    /// Poll one peer connection until it asks for a timeout: queue its datagrams and
    /// act on its events.
    pub(crate) fn drive(&mut self, now: Instant, id: ParticipantId, role: PeerRole) {
        if let Some(p) = self.participants.get_mut(&id) {
            p.peer_mut(role).dirty = false;
        }
        loop {
            match self.with_rtc(id, role, |rtc| rtc.poll_output()) {
                None => return,
                Some(Err(e)) => {
                    tracing::warn!(participant = %id, ?role, "WebRTC state failed: {e}");
                    self.on_rtc_error(id, role, &e);
                    self.fail(id);
                    return;
                }
                Some(Ok(Output::Timeout(t))) => {
                    if let Some(p) = self.participants.get_mut(&id) {
                        p.peer_mut(role).timeout = t;
                        if !p.peer_mut(role).rtc.is_alive() {
                            self.doomed.push((id, LeaveReason::Disconnected));
                        }
                    }
                    self.next_timeout = self.next_timeout.min(t);
                    return;
                }
                Some(Ok(Output::Transmit(t))) => self.transmits.push_back(Transmit {
                    source: t.source,
                    destination: t.destination,
                    contents: t.contents.into(),
                }),
                Some(Ok(Output::Event(e))) => self.on_event(now, id, role, e),
            }
        }
    }

    /// Poll what forwarding touched and remove what failed, until nothing is left.
    pub(crate) fn settle(&mut self, now: Instant) {
        loop {
            if let Some((id, role)) = self.dirty.pop() {
                self.drive(now, id, role);
                continue;
            }
            if let Some((id, reason)) = self.doomed.pop() {
                if self.participants.contains_key(&id) {
                    self.notices.push_back((id, Notice::Removed { reason }));
                    self.remove(id, reason);
                }
                continue;
            }
            break;
        }
    }

    fn find_owner(&self, input: &Input) -> Option<(ParticipantId, PeerRole)> {
        self.participants.values().find_map(|p| {
            if p.publisher.rtc.accepts(input) {
                Some((p.id, PeerRole::Publisher))
            } else if p.subscriber.rtc.accepts(input) {
                Some((p.id, PeerRole::Subscriber))
            } else {
                None
            }
        })
    }

    fn on_event(&mut self, now: Instant, id: ParticipantId, role: PeerRole, event: Event) {
        let Some(event) = self.on_stats_event(id, role, event) else {
            return;
        };
        match event {
            Event::RtpPacket(pkt) if role == PeerRole::Publisher => self.forward(now, id, pkt),
            Event::KeyframeRequest(r) if role == PeerRole::Subscriber => {
                self.on_keyframe_request(now, id, r.mid)
            }
            Event::MediaAdded(m) if role == PeerRole::Publisher => {
                let layers = m
                    .simulcast
                    .map(|s| s.recv.into_iter().map(|l| l.rid).collect())
                    .unwrap_or_default();
                if m.direction.is_receiving() {
                    self.publish(id, m.mid, m.kind, layers);
                }
            }
            Event::MediaChanged(c) if role == PeerRole::Publisher => {
                self.on_media_changed(id, c.mid, c.direction)
            }
            Event::Connected => {
                tracing::info!(participant = %id, ?role, "connected");
                if let Some(p) = self.participants.get_mut(&id) {
                    let peer = p.peer_mut(role);
                    if !peer.connected {
                        self.notices.push_back((id, Notice::Connected { role }));
                    }
                    peer.connected = true;
                }
                if role == PeerRole::Subscriber {
                    self.request_keyframes_for(now, id);
                }
            }
            Event::IceConnectionStateChange(state) => {
                tracing::debug!(participant = %id, ?role, ?state, "ICE state");
                self.on_ice_state(id, role, state);
                if let Some(p) = self.participants.get_mut(&id) {
                    p.peer_mut(role).ice_disconnected_since =
                        (state == IceConnectionState::Disconnected).then_some(now);
                }
            }
            Event::Closed => {
                tracing::info!(participant = %id, ?role, "peer closed the connection");
            }
            _ => {}
        }
    }

    /// Periodic work: re-ask keyframes for waiting subscriptions, remove participants
    /// whose connection stayed down too long.
    fn maintain(&mut self, now: Instant) {
        self.count_connect_failures(now);
        let mut waiting = std::mem::take(&mut self.scratch_due);
        waiting.clear();
        for p in self.participants.values() {
            let down = [&p.publisher, &p.subscriber].iter().any(|peer| {
                peer.ice_disconnected_since
                    .is_some_and(|t| now.saturating_duration_since(t) > ICE_DISCONNECTED_LIMIT)
            });
            if down {
                waiting.push((p.id, PeerRole::Publisher));
            }
        }
        for &(id, _) in &waiting {
            tracing::warn!(participant = %id, "ICE disconnected for too long");
            self.fail(id);
        }
        self.scratch_due = waiting;
        let ids: Vec<ParticipantId> = self
            .participants
            .values()
            .filter(|p| p.tracks_out.iter().any(|t| t.forwarder.needs_keyframe()))
            .map(|p| p.id)
            .collect();
        for id in ids {
            self.request_keyframes_for(now, id);
        }
        let pending: Vec<(ParticipantId, str0m::media::Mid)> = self
            .participants
            .values()
            .flat_map(|p| {
                p.tracks_in
                    .iter()
                    .filter(|t| !t.keyframe_pending.is_empty())
                    .map(|t| (p.id, t.mid))
            })
            .collect();
        for (id, mid) in pending {
            self.flush_keyframe_requests(now, id, mid);
        }
    }
}
