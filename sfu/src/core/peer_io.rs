//! Moving bytes and time through the participants' str0m instances: demultiplexing
//! datagrams to the right peer connection, polling each until it asks for a timeout,
//! and isolating a peer whose state panics so the others go on.

use std::net::SocketAddr;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::{Duration, Instant};

use str0m::net::{Protocol, Receive};
use str0m::{Event, IceConnectionState, Input, Output, Rtc, RtcError};

use super::{LeaveReason, Notice, ParticipantId, PeerRole, Sfu, Transmit, KEYFRAME_RETRY};

/// How long a peer connection may stay ICE-disconnected before its participant is
/// removed as failed.
const ICE_DISCONNECTED_LIMIT: Duration = Duration::from_secs(15);

impl Sfu {
    /// Handle one datagram received on the media port. Malformed and stray datagrams
    /// are counted and dropped.
    ///
    /// The peer connection the datagram belongs to is driven at once (str0m wants its
    /// output drained after every input), and the media it carried is written into the
    /// subscriber connections it is forwarded to. Those are driven by the next
    /// [`Sfu::settle`], so that a batch of datagrams costs one drive per touched
    /// subscriber instead of one per forwarded packet: **call [`Sfu::settle`] (or
    /// [`Sfu::settle_some`] until it returns `false`) after a batch of
    /// `handle_datagram` calls and before [`Sfu::poll_transmit`]**, or the
    /// forwarded media stays inside the core until the next [`Sfu::handle_timeout`]
    /// (which [`Sfu::poll_timeout`] then asks for at once).
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
        if !self.dirty.is_empty() || !self.doomed.is_empty() {
            self.unsettled_since.get_or_insert(now);
        }
    }

    /// Finish the input fed since the last call: every subscriber connection that
    /// forwarding wrote to is given the time (str0m sends written media only on a
    /// timeout input) and polled, so its datagrams are queued for
    /// [`Sfu::poll_transmit`]; participants that failed meanwhile are removed.
    ///
    /// Call it after each batch of [`Sfu::handle_datagram`] calls, with the time of the
    /// batch or later. Every other `handle_*` method settles by itself. Between two
    /// settles a subscriber connection takes several writes without being polled in
    /// between; str0m 0.25 only queues a written packet until the next timeout input,
    /// so nothing is lost by that (the test `batch_settle` checks it).
    pub fn settle(&mut self, now: Instant) {
        self.drive_pending(now);
    }

    /// [`Sfu::settle`] in steps, for a caller that sends while it settles: drives the
    /// touched peer connections one by one until at least `transmits` datagrams wait
    /// for [`Sfu::poll_transmit`], and says whether any connection is left (then poll,
    /// send, and call again). The first datagrams of a large batch leave sooner.
    pub fn settle_some(&mut self, now: Instant, transmits: usize) -> bool {
        self.drive_pending_until(now, transmits)
    }

    /// [`Sfu::settle`], under another name for the calls inside the core, so that a
    /// profiler told to count from `settle` on sees only the caller's calls.
    pub(crate) fn drive_pending(&mut self, now: Instant) {
        self.drive_pending_until(now, usize::MAX);
    }

    fn drive_pending_until(&mut self, now: Instant, transmits: usize) -> bool {
        self.unsettled_since = None;
        loop {
            if let Some((id, role)) = self.dirty.pop() {
                let Some(peer) = self.participants.get_mut(&id).map(|p| p.peer_mut(role)) else {
                    continue;
                };
                if !peer.dirty {
                    // Already driven since it was written to (it received a datagram).
                    continue;
                }
                let tick = peer.written;
                self.drive_peer(now, id, role, tick);
                if self.transmits.len() >= transmits && !self.dirty.is_empty() {
                    self.unsettled_since = Some(now);
                    return true;
                }
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
        false
    }

    /// Advance time: every peer connection whose timeout has come is driven, and
    /// subscriptions still waiting for a keyframe ask again.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.last_timer_pass = now;
        // Input the caller did not settle goes first, in the order it came.
        self.drive_pending(now);
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
        self.drive_pending(now);
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
        self.mark(id, role, false);
    }

    /// Remember that media was written into a peer connection: it needs a timeout
    /// input before polling (see [`Sfu::settle`]).
    pub(crate) fn mark_written(&mut self, id: ParticipantId, role: PeerRole) {
        self.mark(id, role, true);
    }

    fn mark(&mut self, id: ParticipantId, role: PeerRole, written: bool) {
        if let Some(p) = self.participants.get_mut(&id) {
            let peer = p.peer_mut(role);
            peer.written |= written;
            if !peer.dirty {
                peer.dirty = true;
                self.dirty.push((id, role));
            }
        }
    }

    /// Poll one peer connection until it asks for a timeout: queue its datagrams and
    /// act on its events.
    pub(crate) fn drive(&mut self, now: Instant, id: ParticipantId, role: PeerRole) {
        self.drive_peer(now, id, role, false);
    }

    /// [`Sfu::drive`], giving the peer connection the time first if `tick` (media
    /// written into it is sent only on a timeout input). The participant is looked up
    /// once per run of datagrams: only an event needs the rest of the core.
    fn drive_peer(&mut self, now: Instant, id: ParticipantId, role: PeerRole, mut tick: bool) {
        let mut first = true;
        loop {
            let Some(p) = self.participants.get_mut(&id) else {
                return;
            };
            let peer = p.peer_mut(role);
            if std::mem::take(&mut first) {
                peer.dirty = false;
                // Driven now: whatever was written is sent with this drive's output,
                // or, for a drive that is not after an input, on the timeout it asks
                // for.
                peer.written = false;
            }
            let (rtc, transmits) = (&mut peer.rtc, &mut self.transmits);
            let polled = catch_unwind(AssertUnwindSafe(|| {
                if std::mem::take(&mut tick) {
                    if let Err(e) = rtc.handle_input(Input::Timeout(now)) {
                        tracing::debug!(participant = %id, ?role, "timeout refused: {e}");
                    }
                }
                loop {
                    match rtc.poll_output() {
                        Ok(Output::Transmit(t)) => transmits.push_back(Transmit {
                            source: t.source,
                            destination: t.destination,
                            contents: t.contents.into(),
                        }),
                        Ok(Output::Timeout(t)) => return Polled::Timeout(t),
                        Ok(Output::Event(e)) => return Polled::Event(e),
                        Err(e) => return Polled::Failed(e),
                    }
                }
            }));
            match polled {
                Err(_) => {
                    tracing::error!(participant = %id, ?role, "WebRTC state panicked; removing participant");
                    self.fail(id);
                    return;
                }
                Ok(Polled::Failed(e)) => {
                    tracing::warn!(participant = %id, ?role, "WebRTC state failed: {e}");
                    self.on_rtc_error(id, role, &e);
                    self.fail(id);
                    return;
                }
                Ok(Polled::Timeout(t)) => {
                    peer.timeout = t;
                    if !peer.rtc.is_alive() {
                        self.doomed.push((id, LeaveReason::Disconnected));
                    }
                    self.next_timeout = self.next_timeout.min(t);
                    return;
                }
                Ok(Polled::Event(e)) => self.on_event(now, id, role, e),
            }
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

/// What polling a peer connection stopped at, other than a datagram to send.
// As large as str0m's own `Output`, and moved the same way; boxing the event would
// allocate per received packet.
#[allow(clippy::large_enum_variant)]
enum Polled {
    Timeout(Instant),
    Event(Event),
    Failed(RtcError),
}
