// A room terminal's session: the two RTCPeerConnections of docs/protocol.md
// (publisher: we offer; subscriber: the server offers), the roster of the
// room, and recovery by rejoining with the same token. Never touches the DOM;
// the UI listens to the events below.

import { SignalingChannel, CloseCode } from './protocol.js';
import { Roster } from './roster.js';
import { VIDEO_CODECS, preferVideoCodec } from './codecs.js';
import { REPORT_INTERVAL_MS, statsReport } from './stats-report.js';

/** Reconnect backoff: 1 s, 2 s, 4 s, … capped at 10 s. */
const BACKOFF_START_MS = 1_000;
const BACKOFF_MAX_MS = 10_000;
/** A peer connection `disconnected` this long is treated as failed. */
const DISCONNECTED_GRACE_MS = 5_000;
/** Media must come up this long after `joined`, or we rejoin. */
const MEDIA_DEADLINE_MS = 30_000;
/**
 * After `leave`, the peer connections close this much later: a media connection
 * closed before the server has read `leave` looks like a dropped room to it
 * (the attendance record and the operators' alarms would say "dropped").
 */
const LEAVE_MEDIA_GRACE_MS = 1_000;

const CAPTURE_CONSTRAINTS = Object.freeze({
  audio: true,
  video: { width: 1280, height: 720 },
});

/** Server error codes after which rejoining with the same token is pointless. */
const FATAL_ERRORS = new Set(['invalid_token', 'token_expired']);

/**
 * @typedef {import('./protocol.js').Message} Message
 * @typedef {import('./protocol.js').WireParticipant} WireParticipant
 * @typedef {import('./roster.js').Participant} Participant
 * @typedef {import('./codecs.js').VideoCodecName} VideoCodecName
 * @typedef {'idle' | 'connecting' | 'connected' | 'reconnecting' | 'failed' | 'closed'} SessionState
 * @typedef {{participantId: string | null, trackId: string, kind: string,
 *            packetsReceived: number, packetsLost: number, framesDecoded: number,
 *            bytesReceived: number, jitter: number, freezeCount: number,
 *            codec: string | null}} InboundStats `codec` is the mimeType, e.g. `video/H264`
 * @typedef {{kind: string, packetsSent: number, framesEncoded: number,
 *            codec: string | null}} OutboundStats
 */

/**
 * Events (all `CustomEvent`s, payload in `detail`):
 * - `state` `{state, attempt?, delayMs?}` — see {@link SessionState}.
 * - `joined` `{self}` — we are in the room (again, after a reconnect).
 * - `participantadded` `{participant}` / `participantupdated` `{participant}` /
 *   `participantremoved` `{participantId, reason}` — the roster, ourselves included.
 * - `stream` `{participantId, stream}` — remote media of a participant (call again
 *   when its tracks change).
 * - `localstream` `{stream}` — our camera and microphone (null if unavailable).
 * - `warning` `{code, message}` — e.g. `media_unavailable`; we carry on.
 * - `error` `{code, message, fatal}` — fatal errors end the session.
 */
export class Session extends EventTarget {
  /** @type {SessionState} */
  state = 'idle';
  /** The room as the server announced it, ourselves included. */
  roster = new Roster();
  /** @type {MediaStream | null} reused across reconnects */
  localStream = null;
  /** @type {RTCPeerConnection | null} */
  publisher = null;
  /** @type {RTCPeerConnection | null} */
  subscriber = null;

  #token;
  #signalingUrl;
  /** @type {RTCConfiguration} */
  #rtcConfig;
  /** @type {VideoCodecName | null} */
  #videoCodec;
  /** @type {SignalingChannel | null} */
  #channel = null;
  /** Bumped on every teardown; callbacks of an older epoch do nothing. */
  #epoch = 0;
  #attempt = 0;
  #stopped = false;
  /** @type {Promise<void>} signaling messages are handled one after another */
  #queue = Promise.resolve();
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  #reconnectTimer;
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  #mediaDeadline;
  /** @type {ReturnType<typeof setInterval> | undefined} */
  #statsTimer;
  /** @type {Map<RTCPeerConnection, ReturnType<typeof setTimeout>>} */
  #disconnectTimers = new Map();
  /** @type {Map<string, string>} remote track id → participant id, from ontrack */
  #trackOwner = new Map();
  /** @type {Map<string, MediaStream>} participant id → its remote stream */
  #streams = new Map();
  /** @type {{code: string, message: string} | null} the last error the server sent */
  #lastServerError = null;

  /**
   * @param {object} options
   * @param {string} options.token the join JWT
   * @param {string} [options.signalingUrl] defaults to `/ws` on this host
   * @param {RTCConfiguration} [options.rtcConfig]
   * @param {VideoCodecName | null} [options.videoCodec] the codec to publish video in,
   *   if the browser has it; by default the browser's own choice
   */
  constructor({ token, signalingUrl, rtcConfig = {}, videoCodec = null }) {
    super();
    this.#token = token;
    this.#signalingUrl = signalingUrl;
    this.#videoCodec = videoCodec;
    this.#rtcConfig = { iceServers: [], bundlePolicy: 'max-bundle', ...rtcConfig };
  }

  /** Joins the room; from here on the session recovers by itself until {@link leave}. */
  start() {
    if (this.state !== 'idle') throw new Error('Session.start called twice');
    this.#connect();
  }

  /** Says goodbye to the server and stops everything, the camera included. */
  leave() {
    if (this.state === 'closed') return;
    const wasStopped = this.#stopped;
    this.#stopped = true;
    clearTimeout(this.#reconnectTimer);
    if (!wasStopped) {
      this.#channel?.leave();
      const peers = [this.publisher, this.subscriber];
      this.publisher = null;
      this.subscriber = null;
      this.#teardown('left');
      // Their callbacks belong to the ended epoch now and do nothing.
      setTimeout(() => peers.forEach((pc) => pc?.close()), LEAVE_MEDIA_GRACE_MS);
    }
    this.#stopLocalMedia();
    this.#setState('closed');
  }

  /** @returns {string | null} our participant id, once joined */
  get selfId() {
    return this.roster.selfId;
  }

  /** @returns {Promise<{inbound: InboundStats[], outbound: OutboundStats[]}>} */
  async stats() {
    /** @type {InboundStats[]} */
    const inbound = [];
    /** @type {OutboundStats[]} */
    const outbound = [];
    /** @param {RTCStatsReport} report @param {any} s */
    const codecOf = (report, s) => (s.codecId ? (report.get(s.codecId)?.mimeType ?? null) : null);
    if (this.subscriber) {
      const report = await this.subscriber.getStats();
      report.forEach((s) => {
        if (s.type !== 'inbound-rtp') return;
        const trackId = s.trackIdentifier ?? '';
        inbound.push({
          participantId: this.#ownerOf(trackId),
          trackId,
          kind: s.kind,
          packetsReceived: s.packetsReceived ?? 0,
          packetsLost: s.packetsLost ?? 0,
          framesDecoded: s.framesDecoded ?? 0,
          bytesReceived: s.bytesReceived ?? 0,
          jitter: s.jitter ?? 0,
          freezeCount: s.freezeCount ?? 0,
          codec: codecOf(report, s),
        });
      });
    }
    if (this.publisher) {
      const report = await this.publisher.getStats();
      report.forEach((s) => {
        if (s.type !== 'outbound-rtp') return;
        outbound.push({
          kind: s.kind,
          packetsSent: s.packetsSent ?? 0,
          framesEncoded: s.framesEncoded ?? 0,
          codec: codecOf(report, s),
        });
      });
    }
    return { inbound, outbound };
  }

  /**
   * Tells the server what this browser measures (the `stats` message), for the
   * operators' board. A failed getStats() skips one report; the next may work.
   * @param {number} epoch
   */
  async #reportStats(epoch) {
    const { subscriber, publisher } = this;
    try {
      const [sub, pub] = await Promise.all([subscriber?.getStats() ?? null, publisher?.getStats() ?? null]);
      if (epoch !== this.#epoch) return;
      this.#channel?.send(statsReport(sub, pub, (trackId) => this.#ownerOf(trackId)));
    } catch (err) {
      console.warn('hoinghi: no statistics this time', err);
    }
  }

  // ---- connection lifecycle ----

  #connect() {
    const epoch = this.#epoch;
    this.#setState(this.#attempt === 0 ? 'connecting' : 'reconnecting', { attempt: this.#attempt });
    this.#lastServerError = null;
    const channel = new SignalingChannel(this.#signalingUrl);
    this.#channel = channel;
    channel.addEventListener('open', () => {
      if (epoch === this.#epoch) channel.join(this.#token);
    });
    channel.addEventListener('message', (ev) => {
      const msg = /** @type {CustomEvent<Message>} */ (ev).detail;
      // Noted at once: the close that follows an auth error must not wait for the queue.
      if (msg.type === 'error') this.#lastServerError = { code: msg.code, message: msg.message ?? '' };
      this.#queue = this.#queue
        .then(() => (epoch === this.#epoch ? this.#handle(msg, epoch) : undefined))
        .catch((err) => this.#onLocalFailure(epoch, err));
    });
    channel.addEventListener('close', (ev) => {
      const { code, reason } = /** @type {CustomEvent<{code: number, reason: string}>} */ (ev).detail;
      if (epoch === this.#epoch) this.#onChannelClosed(code, reason);
    });
    channel.connect();
  }

  /**
   * @param {number} code
   * @param {string} reason
   */
  #onChannelClosed(code, reason) {
    if (this.#stopped) return;
    if (code === CloseCode.AUTH) {
      const err = this.#lastServerError;
      const known = err && FATAL_ERRORS.has(err.code);
      this.#fail(known ? err.code : 'invalid_token', known ? err.message : reason);
      return;
    }
    if (code === CloseCode.REPLACED) {
      this.#fail('replaced', reason);
      return;
    }
    console.warn(`hoinghi: signaling closed (${code} ${reason}); reconnecting`);
    this.#scheduleReconnect();
  }

  /**
   * A local WebRTC call failed (e.g. setRemoteDescription). Rejoining starts
   * both connections from scratch, which is the surest way out.
   * @param {number} epoch
   * @param {unknown} err
   */
  #onLocalFailure(epoch, err) {
    console.error('hoinghi: session error', err);
    if (epoch !== this.#epoch || this.#stopped) return;
    this.#emit('error', { code: 'webrtc', message: String(err), fatal: false });
    this.#scheduleReconnect();
  }

  #scheduleReconnect() {
    if (this.#stopped) return;
    this.#teardown('reconnecting');
    const delayMs = Math.min(BACKOFF_START_MS * 2 ** this.#attempt, BACKOFF_MAX_MS);
    this.#attempt += 1;
    this.#setState('reconnecting', { attempt: this.#attempt, delayMs });
    clearTimeout(this.#reconnectTimer);
    this.#reconnectTimer = setTimeout(() => {
      if (!this.#stopped) this.#connect();
    }, delayMs);
  }

  /**
   * @param {string} code
   * @param {string} message
   */
  #fail(code, message) {
    this.#stopped = true;
    clearTimeout(this.#reconnectTimer);
    this.#teardown('failed');
    this.#stopLocalMedia();
    this.#emit('error', { code, message, fatal: true });
    this.#setState('failed');
  }

  /**
   * Closes the socket and both peer connections and empties the roster.
   * The local media stream survives for the next join.
   * @param {string} reason reported with `participantremoved`
   */
  #teardown(reason) {
    this.#epoch += 1;
    clearTimeout(this.#mediaDeadline);
    clearInterval(this.#statsTimer);
    for (const t of this.#disconnectTimers.values()) clearTimeout(t);
    this.#disconnectTimers.clear();
    const channel = this.#channel;
    this.#channel = null;
    channel?.close();
    for (const pc of [this.publisher, this.subscriber]) pc?.close();
    this.publisher = null;
    this.subscriber = null;
    this.#streams.clear();
    this.#trackOwner.clear();
    for (const participantId of this.roster.clear()) this.#emit('participantremoved', { participantId, reason });
  }

  #stopLocalMedia() {
    if (!this.localStream) return;
    this.localStream.getTracks().forEach((t) => t.stop());
    this.localStream = null;
    this.#emit('localstream', { stream: null });
  }

  // ---- signaling messages (called strictly in order) ----

  /**
   * @param {Message} msg
   * @param {number} epoch
   */
  async #handle(msg, epoch) {
    switch (msg.type) {
      case 'joined':
        return this.#onJoined(msg, epoch);
      case 'subscribe_offer':
        return this.#onSubscribeOffer(msg.sdp, epoch);
      case 'publish_answer':
        if (!this.publisher) return;
        await this.publisher.setRemoteDescription({ type: 'answer', sdp: msg.sdp });
        return;
      case 'participant_joined':
        this.#addParticipant(msg.participant, false);
        return;
      case 'participant_left':
        this.#removeParticipant(msg.participant_id, msg.reason ?? 'left');
        return;
      case 'track_published':
      case 'track_unpublished': {
        const published = msg.type === 'track_published';
        const trackId = published ? msg.track?.track_id : msg.track_id;
        if (typeof trackId !== 'string') return;
        const p = this.roster.setTrack(msg.participant_id, trackId, published ? msg.track.kind : null);
        if (p) this.#emit('participantupdated', { participant: p });
        return;
      }
      case 'pong':
        return;
      case 'error':
        return this.#onServerError(msg.code, msg.message ?? '');
      default:
        console.warn('hoinghi: unknown message type', msg.type);
    }
  }

  /**
   * @param {Message} msg
   * @param {number} epoch
   */
  #onJoined(msg, epoch) {
    this.#addParticipant(
      { participant_id: msg.participant_id, identity: msg.identity, name: msg.name, tracks: [] },
      true,
    );
    for (const p of msg.participants ?? []) this.#addParticipant(p, false);
    this.#emit('joined', { self: this.roster.self, room: msg.room, grants: msg.grants });
    clearTimeout(this.#mediaDeadline);
    this.#mediaDeadline = setTimeout(() => {
      if (epoch !== this.#epoch || this.#stopped) return;
      console.warn('hoinghi: media did not come up after joining; rejoining');
      this.#scheduleReconnect();
    }, MEDIA_DEADLINE_MS);
    clearInterval(this.#statsTimer);
    this.#statsTimer = setInterval(() => void this.#reportStats(epoch), REPORT_INTERVAL_MS);
    if (msg.grants?.publish) {
      // Not awaited: the subscriber offer that follows must not wait for the camera.
      this.#publish(epoch).catch((err) => this.#onLocalFailure(epoch, err));
    }
  }

  /**
   * @param {string} code
   * @param {string} message
   */
  #onServerError(code, message) {
    this.#lastServerError = { code, message };
    if (FATAL_ERRORS.has(code)) {
      // The server closes with 4001 next; fail now so that no reconnect races it.
      this.#fail(code, message);
      return;
    }
    console.warn(`hoinghi: server error ${code}: ${message}`);
    this.#emit('error', { code, message, fatal: false });
  }

  /**
   * @param {string} sdp
   * @param {number} epoch
   */
  async #onSubscribeOffer(sdp, epoch) {
    const pc = this.subscriber ?? this.#makeSubscriber(epoch);
    await pc.setRemoteDescription({ type: 'offer', sdp });
    const answer = await pc.createAnswer();
    await pc.setLocalDescription(answer);
    if (epoch !== this.#epoch) return;
    this.#channel?.send({ type: 'subscribe_answer', sdp: pc.localDescription?.sdp ?? answer.sdp });
  }

  // ---- peer connections ----

  /** @param {number} epoch */
  #makeSubscriber(epoch) {
    const pc = new RTCPeerConnection(this.#rtcConfig);
    this.subscriber = pc;
    this.#watch(pc, 'subscriber', epoch);
    pc.ontrack = (ev) => {
      if (epoch !== this.#epoch) return;
      this.#onRemoteTrack(ev);
    };
    // The server's `sfu` data channel only exists to bring the connection up.
    pc.ondatachannel = () => {};
    return pc;
  }

  /** @param {RTCTrackEvent} ev */
  #onRemoteTrack(ev) {
    const track = ev.track;
    const stream = ev.streams[0];
    const participantId = stream?.id ?? this.roster.ownerOfTrack(track.id);
    if (!participantId) {
      console.warn('hoinghi: remote track without an owner', track.id);
      return;
    }
    this.#trackOwner.set(track.id, participantId);
    let s = this.#streams.get(participantId);
    if (!s) {
      s = stream ?? new MediaStream();
      this.#streams.set(participantId, s);
    }
    if (!s.getTrackById(track.id)) s.addTrack(track);
    const announce = () => {
      if (this.#streams.get(participantId) === s) this.#emit('stream', { participantId, stream: s });
    };
    // The browser drops a track from its stream when the server stops sending it.
    s.onremovetrack = announce;
    track.addEventListener('ended', () => {
      s.removeTrack(track);
      announce();
    });
    announce();
  }

  /** @param {number} epoch */
  async #publish(epoch) {
    if (!this.localStream) {
      try {
        this.localStream = await navigator.mediaDevices.getUserMedia(CAPTURE_CONSTRAINTS);
      } catch (err) {
        console.warn('hoinghi: no camera/microphone; joining receive-only', err);
        if (epoch === this.#epoch) {
          this.#emit('warning', { code: 'media_unavailable', message: String(err) });
        }
        return;
      }
      if (this.#stopped) {
        this.#stopLocalMedia();
        return;
      }
      this.#emit('localstream', { stream: this.localStream });
    }
    if (epoch !== this.#epoch || this.#stopped) return;
    const pc = new RTCPeerConnection(this.#rtcConfig);
    this.publisher = pc;
    this.#watch(pc, 'publisher', epoch);
    // Audio first: it matters most, and the server's track ids follow this order.
    const tracks = [...this.localStream.getAudioTracks(), ...this.localStream.getVideoTracks()];
    for (const track of tracks) {
      const transceiver = pc.addTransceiver(track, { direction: 'sendonly', streams: [this.localStream] });
      if (track.kind === 'video' && this.#videoCodec) this.#preferCodec(transceiver, this.#videoCodec);
    }
    const offer = await pc.createOffer();
    await pc.setLocalDescription(offer);
    if (epoch !== this.#epoch) return;
    this.#channel?.send({ type: 'publish_offer', sdp: pc.localDescription?.sdp ?? offer.sdp });
  }

  /**
   * Offers `codec` first on a video transceiver; the browser's default order if it lacks it.
   * @param {RTCRtpTransceiver} transceiver
   * @param {VideoCodecName} codec
   */
  #preferCodec(transceiver, codec) {
    const available = RTCRtpSender.getCapabilities?.('video')?.codecs ?? [];
    const ordered = preferVideoCodec(available, codec);
    if (!ordered) {
      console.warn(`hoinghi: this browser cannot send ${VIDEO_CODECS[codec]}; using its default video codec`);
      return;
    }
    try {
      transceiver.setCodecPreferences(ordered);
    } catch (err) {
      console.warn(`hoinghi: cannot prefer ${VIDEO_CODECS[codec]}; using the default video codec`, err);
    }
  }

  /**
   * Trickles candidates and turns a failed (or long-disconnected) connection into a rejoin.
   * @param {RTCPeerConnection} pc
   * @param {'publisher' | 'subscriber'} target
   * @param {number} epoch
   */
  #watch(pc, target, epoch) {
    pc.onicecandidate = (ev) => {
      if (epoch !== this.#epoch || !ev.candidate || !ev.candidate.candidate) return;
      this.#channel?.send({
        type: 'candidate',
        target,
        candidate: ev.candidate.candidate,
        sdp_mid: ev.candidate.sdpMid,
      });
    };
    pc.onconnectionstatechange = () => {
      if (epoch !== this.#epoch) return;
      const st = pc.connectionState;
      clearTimeout(this.#disconnectTimers.get(pc));
      this.#disconnectTimers.delete(pc);
      if (st === 'connected') {
        this.#attempt = 0;
        clearTimeout(this.#mediaDeadline);
        this.#setState('connected');
      } else if (st === 'failed') {
        console.warn(`hoinghi: ${target} connection failed; rejoining`);
        this.#scheduleReconnect();
      } else if (st === 'disconnected') {
        this.#disconnectTimers.set(
          pc,
          setTimeout(() => {
            if (epoch !== this.#epoch || pc.connectionState !== 'disconnected') return;
            console.warn(`hoinghi: ${target} connection disconnected for too long; rejoining`);
            this.#scheduleReconnect();
          }, DISCONNECTED_GRACE_MS),
        );
      }
    };
  }

  // ---- roster ----

  /**
   * @param {WireParticipant} wire
   * @param {boolean} isSelf
   */
  #addParticipant(wire, isSelf) {
    const change = this.roster.upsert(wire, isSelf);
    if (change) this.#emit(change.added ? 'participantadded' : 'participantupdated', { participant: change.participant });
  }

  /**
   * @param {string} participantId
   * @param {string} reason
   */
  #removeParticipant(participantId, reason) {
    if (!this.roster.remove(participantId)) return;
    this.#streams.delete(participantId);
    this.#emit('participantremoved', { participantId, reason });
  }

  /**
   * @param {string} trackId
   * @returns {string | null}
   */
  #ownerOf(trackId) {
    return this.#trackOwner.get(trackId) ?? this.roster.ownerOfTrack(trackId);
  }

  // ---- events ----

  /**
   * @param {SessionState} state
   * @param {object} [extra]
   */
  #setState(state, extra = {}) {
    this.state = state;
    this.#emit('state', { state, ...extra });
  }

  /**
   * @param {string} type
   * @param {object} detail
   */
  #emit(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }
}
