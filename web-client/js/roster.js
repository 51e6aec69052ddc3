// Who is in the room and what each one publishes, as the server announced it
// (`joined`, `participant_joined`/`_left`, `track_published`/`_unpublished`).
// Plain data: session.js owns one and turns its changes into events.

/**
 * @typedef {import('./protocol.js').WireParticipant} WireParticipant
 * @typedef {'audio' | 'video'} Kind
 * @typedef {{participantId: string, identity: string, name: string, isSelf: boolean,
 *            tracks: Map<string, Kind>}} Participant
 */

export class Roster {
  /** @type {Map<string, Participant>} participant_id → participant, ourselves included */
  #byId = new Map();
  /** @type {string | null} */
  selfId = null;

  /**
   * Adds or replaces a participant.
   * @param {WireParticipant} wire
   * @param {boolean} isSelf
   * @returns {{participant: Participant, added: boolean} | null} null if `wire` has no id
   */
  upsert(wire, isSelf) {
    if (!wire?.participant_id) return null;
    /** @type {Participant} */
    const participant = {
      participantId: wire.participant_id,
      identity: wire.identity ?? '',
      name: wire.name || wire.identity || wire.participant_id,
      isSelf,
      tracks: new Map((wire.tracks ?? []).map((t) => [t.track_id, t.kind])),
    };
    if (isSelf) this.selfId = participant.participantId;
    const added = !this.#byId.has(participant.participantId);
    this.#byId.set(participant.participantId, participant);
    return { participant, added };
  }

  /**
   * @param {string} participantId
   * @returns {boolean} whether it was there
   */
  remove(participantId) {
    return this.#byId.delete(participantId);
  }

  /**
   * Records a published (`kind` given) or unpublished (`kind` null) track.
   * @param {string} participantId
   * @param {string} trackId
   * @param {Kind | null} kind
   * @returns {Participant | null} the participant, if known
   */
  setTrack(participantId, trackId, kind) {
    const p = this.#byId.get(participantId);
    if (!p) return null;
    if (kind) p.tracks.set(trackId, kind);
    else p.tracks.delete(trackId);
    return p;
  }

  /**
   * @param {string} participantId
   * @returns {Participant | undefined}
   */
  get(participantId) {
    return this.#byId.get(participantId);
  }

  /** @returns {Participant | null} ourselves, once joined */
  get self() {
    return (this.selfId && this.#byId.get(this.selfId)) || null;
  }

  /** @returns {Participant[]} everyone, ourselves included */
  list() {
    return [...this.#byId.values()];
  }

  /**
   * @param {string} trackId
   * @returns {string | null} the participant that announced this track
   */
  ownerOfTrack(trackId) {
    for (const p of this.#byId.values()) if (p.tracks.has(trackId)) return p.participantId;
    return null;
  }

  /** @returns {string[]} the ids that were there; the roster is empty afterwards */
  clear() {
    const ids = [...this.#byId.keys()];
    this.#byId.clear();
    this.selfId = null;
    return ids;
  }
}
