//! One WebSocket signaling session: authenticate with `join`, then relay between the
//! client and its participant in the SFU until either side ends it.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket};
use sfu::driver::DriverError;
use sfu::{
    Grants, LeaveReason, Notice, ParticipantHandle, ParticipantInfo, ParticipantSummary, PeerRole,
    SfuError,
};
use tokio::sync::mpsc;
use tokio::time::{interval, Instant, MissedTickBehavior};

use crate::auth::TokenError;
use crate::board::engine::End;
use crate::board::service::Attendee;
use crate::metrics::JoinFailure;
use crate::protocol::{
    close, validate_stats, ClientMessage, ErrorCode, ParticipantWire, PeerTarget, ServerMessage,
    TrackWire, MAX_MESSAGE_BYTES,
};
use crate::AppState;

/// Time allowed between connecting and `join`.
const JOIN_TIMEOUT: Duration = Duration::from_secs(10);
/// Silence after which a client is considered gone.
const IDLE_TIMEOUT: Duration = Duration::from_secs(30);

/// How a session ends, from the server's side.
struct Ending {
    code: u16,
    reason: &'static str,
}

enum Step {
    Continue,
    End(Option<Ending>),
}

struct Joined {
    handle: ParticipantHandle,
    notices: mpsc::UnboundedReceiver<Notice>,
    /// In a meeting room: its presence on the board and its attendance.
    attendee: Option<Attendee>,
    /// When the SFU admitted it (the join time runs until its media is up).
    admitted: Instant,
    /// Its media connection has come up.
    connected: bool,
    /// A newer session of the same identity replaced this one.
    replaced: bool,
}

impl Joined {
    /// The participant's stay ends: the board and the attendance record learn how.
    fn end(self, state: &AppState, end: End) {
        if let Some(a) = &self.attendee {
            state.board.ended(a, (!self.replaced).then_some(end));
        }
        if end == End::Left {
            self.handle.leave(LeaveReason::Left);
        }
    }
}

/// Run one session to its end.
pub async fn run(mut socket: WebSocket, state: Arc<AppState>) {
    let _open = state.metrics.websocket_session();
    let mut joined: Option<Joined> = None;
    let mut last_heard = Instant::now();
    let opened = Instant::now();
    let mut tick = interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(MissedTickBehavior::Delay);

    let ending = loop {
        let step = tokio::select! {
            msg = socket.recv() => {
                last_heard = Instant::now();
                match msg {
                    Some(Ok(Message::Text(text))) => on_text(&mut socket, &state, &mut joined, &text).await,
                    Some(Ok(Message::Binary(_))) => {
                        send_error(&mut socket, ErrorCode::BadMessage, "binary frames are not accepted; send JSON text").await
                    }
                    Some(Ok(Message::Close(_))) | None => Step::End(None),
                    Some(Ok(_)) => Step::Continue, // ping/pong frames
                    Some(Err(e)) => {
                        tracing::debug!("websocket receive: {e}");
                        // Oversized frames land here too; tungstenite cannot resume after.
                        Step::End(None)
                    }
                }
            }
            Some(notice) = next_notice(&mut joined) => {
                if let Some(j) = joined.as_mut() {
                    match notice {
                        Notice::Connected { .. } if !j.connected => {
                            j.connected = true;
                            state.metrics.join_connected(j.admitted.elapsed());
                        }
                        Notice::Removed { reason: LeaveReason::Replaced } => j.replaced = true,
                        _ => {}
                    }
                }
                on_notice(&mut socket, notice).await
            }
            _ = tick.tick() => {
                if joined.is_none() && opened.elapsed() > JOIN_TIMEOUT {
                    let _ = send(&mut socket, &ServerMessage::Error {
                        code: ErrorCode::JoinTimeout,
                        message: format!("no join within {} s", JOIN_TIMEOUT.as_secs()),
                    }).await;
                    Step::End(Some(Ending { code: close::JOIN_TIMEOUT, reason: "join timeout" }))
                } else if last_heard.elapsed() > IDLE_TIMEOUT {
                    tracing::info!("client silent for {} s; closing", IDLE_TIMEOUT.as_secs());
                    Step::End(Some(Ending { code: 1001, reason: "idle" }))
                } else {
                    Step::Continue
                }
            }
        };
        if let Step::End(e) = step {
            break e;
        }
    };
    if let Some(Ending { code, reason }) = ending {
        let _ = socket
            .send(Message::Close(Some(CloseFrame {
                code,
                reason: Utf8Bytes::from_static(reason),
            })))
            .await;
    }
    // Dropping the handle makes the participant leave as disconnected, unless
    // `leave` already did.
    if let Some(j) = joined {
        j.end(&state, End::Dropped);
    }
}

async fn next_notice(joined: &mut Option<Joined>) -> Option<Notice> {
    match joined {
        Some(j) => j.notices.recv().await,
        None => std::future::pending().await,
    }
}

async fn on_text(
    socket: &mut WebSocket,
    state: &AppState,
    joined: &mut Option<Joined>,
    text: &str,
) -> Step {
    if text.len() > MAX_MESSAGE_BYTES {
        return send_error(socket, ErrorCode::BadMessage, "message larger than 256 KiB").await;
    }
    let msg: ClientMessage = match serde_json::from_str(text) {
        Ok(m) => m,
        Err(e) => {
            return send_error(
                socket,
                ErrorCode::BadMessage,
                &format!("malformed message: {e}"),
            )
            .await
        }
    };
    match (msg, joined.as_ref()) {
        (ClientMessage::Ping, _) => send_step(socket, &ServerMessage::Pong).await,
        (ClientMessage::Join { token }, None) => match join(state, &token).await {
            Ok((j, reply)) => {
                state.metrics.join_accepted();
                *joined = Some(j);
                send_step(socket, &reply).await
            }
            Err((code, message)) => {
                state.metrics.join_failed(match code {
                    ErrorCode::InvalidToken => JoinFailure::InvalidToken,
                    ErrorCode::TokenExpired => JoinFailure::TokenExpired,
                    _ => JoinFailure::Internal,
                });
                let _ = send(socket, &ServerMessage::Error { code, message }).await;
                match code {
                    ErrorCode::InvalidToken | ErrorCode::TokenExpired => Step::End(Some(Ending {
                        code: close::AUTH_FAILED,
                        reason: "authentication failed",
                    })),
                    _ => Step::End(Some(Ending {
                        code: 1011,
                        reason: "internal error",
                    })),
                }
            }
        },
        (ClientMessage::Join { .. }, Some(_)) => {
            send_error(
                socket,
                ErrorCode::AlreadyJoined,
                "this session has already joined",
            )
            .await
        }
        (_, None) => send_error(socket, ErrorCode::NotJoined, "send join first").await,
        (ClientMessage::Leave, Some(_)) => {
            if let Some(j) = joined.take() {
                j.end(state, End::Left);
            }
            Step::End(Some(Ending {
                code: 1000,
                reason: "left",
            }))
        }
        (ClientMessage::Stats { inbound, outbound }, Some(j)) => {
            if let Err(message) = validate_stats(&inbound, &outbound) {
                return send_error(socket, ErrorCode::BadMessage, &message).await;
            }
            if let Some(a) = &j.attendee {
                // Too frequent or too many reporters: ignored, as documented.
                let _ = state.board.report(a, &inbound, &outbound);
            }
            Step::Continue
        }
        (ClientMessage::PublishOffer { sdp }, Some(j)) => match j.handle.publish_offer(sdp).await {
            Ok(sdp) => send_step(socket, &ServerMessage::PublishAnswer { sdp }).await,
            Err(e) => on_sfu_error(socket, e).await,
        },
        (ClientMessage::SubscribeAnswer { sdp }, Some(j)) => {
            match j.handle.subscribe_answer(sdp).await {
                Ok(()) => Step::Continue,
                Err(e) => on_sfu_error(socket, e).await,
            }
        }
        (
            ClientMessage::Candidate {
                target, candidate, ..
            },
            Some(j),
        ) => {
            let role = match target {
                PeerTarget::Publisher => PeerRole::Publisher,
                PeerTarget::Subscriber => PeerRole::Subscriber,
            };
            match j.handle.candidate(role, candidate).await {
                Ok(()) => Step::Continue,
                Err(e) => on_sfu_error(socket, e).await,
            }
        }
    }
}

async fn join(
    state: &AppState,
    token: &str,
) -> Result<(Joined, ServerMessage), (ErrorCode, String)> {
    let claims = state.keys.verify(token).map_err(|e| match e {
        TokenError::Expired | TokenError::NotYetValid => (ErrorCode::TokenExpired, e.to_string()),
        TokenError::Invalid(_) => (ErrorCode::InvalidToken, e.to_string()),
    })?;
    let info = ParticipantInfo {
        identity: claims.sub.clone(),
        name: claims.name.clone(),
        grants: Grants {
            publish: claims.grants.publish,
            subscribe: claims.grants.subscribe,
        },
    };
    let (handle, outcome, notices) = state.sfu.join(&claims.room, info).await.map_err(|e| {
        tracing::error!("join failed: {e}");
        (
            ErrorCode::Internal,
            "the server could not add you to the room".to_string(),
        )
    })?;
    tracing::info!(room = %claims.room, identity = %claims.sub, role = claims.role.as_str(), participant = %handle.id(), "joined");
    let attendee = state
        .board
        .joined(&claims.room, &claims.sub, &claims.name, handle.id());
    let reply = ServerMessage::Joined {
        participant_id: handle.id().to_string(),
        room: claims.room,
        identity: claims.sub,
        name: claims.name,
        grants: claims.grants,
        role: claims.role,
        participants: outcome.others.iter().map(participant_wire).collect(),
    };
    Ok((
        Joined {
            handle,
            notices,
            attendee,
            admitted: Instant::now(),
            connected: false,
            replaced: false,
        },
        reply,
    ))
}

async fn on_notice(socket: &mut WebSocket, notice: Notice) -> Step {
    let msg = match notice {
        Notice::SubscribeOffer { sdp } => ServerMessage::SubscribeOffer { sdp },
        Notice::ParticipantJoined(p) => ServerMessage::ParticipantJoined {
            participant: participant_wire(&p),
        },
        Notice::ParticipantLeft {
            participant_id,
            reason,
        } => ServerMessage::ParticipantLeft {
            participant_id: participant_id.to_string(),
            reason: reason.as_str().to_string(),
        },
        Notice::TrackPublished {
            participant_id,
            track,
        } => ServerMessage::TrackPublished {
            participant_id: participant_id.to_string(),
            track: TrackWire {
                track_id: track.track_id,
                kind: track.kind.as_str().to_string(),
            },
        },
        Notice::TrackUnpublished {
            participant_id,
            track_id,
        } => ServerMessage::TrackUnpublished {
            participant_id: participant_id.to_string(),
            track_id,
        },
        Notice::Connected { .. } => return Step::Continue,
        Notice::Removed {
            reason: LeaveReason::Replaced,
        } => {
            return Step::End(Some(Ending {
                code: close::REPLACED,
                reason: "replaced by a newer session",
            }));
        }
        Notice::Removed { .. } => {
            let _ = send(
                socket,
                &ServerMessage::Error {
                    code: ErrorCode::MediaFailed,
                    message: "your media connection failed; reconnect".into(),
                },
            )
            .await;
            return Step::End(Some(Ending {
                code: close::MEDIA_FAILED,
                reason: "media failed",
            }));
        }
        // `Notice` is non-exhaustive upstream of us in spirit; ignore what we do not know.
        #[allow(unreachable_patterns)]
        _ => return Step::Continue,
    };
    send_step(socket, &msg).await
}

async fn on_sfu_error(socket: &mut WebSocket, e: DriverError) -> Step {
    let (code, message) = match &e {
        DriverError::Sfu(SfuError::NotAllowed(m)) => (ErrorCode::Forbidden, m.to_string()),
        DriverError::Sfu(
            SfuError::BadSdp(_) | SfuError::NoOfferPending | SfuError::BadCandidate(_),
        ) => (ErrorCode::BadSdp, e.to_string()),
        DriverError::Sfu(SfuError::UnknownParticipant(_)) => (
            ErrorCode::MediaFailed,
            "you are no longer in the room; reconnect".to_string(),
        ),
        _ => {
            tracing::error!("media engine: {e}");
            (
                ErrorCode::Internal,
                "the server failed; see its log".to_string(),
            )
        }
    };
    send_error(socket, code, &message).await
}

fn participant_wire(p: &ParticipantSummary) -> ParticipantWire {
    ParticipantWire {
        participant_id: p.participant_id.to_string(),
        identity: p.identity.clone(),
        name: p.name.clone(),
        tracks: p
            .tracks
            .iter()
            .map(|t| TrackWire {
                track_id: t.track_id.clone(),
                kind: t.kind.as_str().to_string(),
            })
            .collect(),
    }
}

async fn send_error(socket: &mut WebSocket, code: ErrorCode, message: &str) -> Step {
    send_step(
        socket,
        &ServerMessage::Error {
            code,
            message: message.to_string(),
        },
    )
    .await
}

async fn send_step(socket: &mut WebSocket, msg: &ServerMessage) -> Step {
    match send(socket, msg).await {
        Ok(()) => Step::Continue,
        Err(()) => Step::End(None),
    }
}

async fn send(socket: &mut WebSocket, msg: &ServerMessage) -> Result<(), ()> {
    // Serializing our own enum cannot fail: no maps with non-string keys, no floats.
    let text = serde_json::to_string(msg).expect("server messages serialize");
    socket.send(Message::Text(text.into())).await.map_err(|e| {
        tracing::debug!("websocket send: {e}");
    })
}
