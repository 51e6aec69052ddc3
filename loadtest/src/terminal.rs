//! One synthetic room terminal: it signs in through the target's signaling, publishes
//! its audio (and camera, if the scenario gives it one), answers every subscriber
//! offer, and keeps going until the run stops.

use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;

use crate::engine::{Publisher, Subscriber};
use crate::peer::{stopped, Shared};
use crate::target::{SessionEvent, Target, TerminalSession, TerminalSpec};

/// How long a terminal's publisher connection may take to come up.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);

/// What the scenario has a terminal do.
#[derive(Debug, Clone)]
pub struct Plan {
    /// Publishes a simulcast camera.
    pub video: bool,
    /// Sends speech (else DTX silence); the scenario may flip it during the run.
    pub speaking: Arc<AtomicBool>,
    /// Simulcast rids in the order the offer lists them.
    pub rids: Vec<&'static str>,
}

/// How a terminal's run went.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// From opening signaling to the publisher connection being up (ICE and DTLS
    /// done, media can flow); `None` if it never was.
    pub join_ms: Option<f64>,
    /// What went wrong, if anything.
    pub error: Option<String>,
}

/// Runs terminal `spec` with `plan` on engine `P`/`S` until the run stops.
pub async fn run<T: Target, P: Publisher, S: Subscriber>(
    target: Arc<T>,
    spec: TerminalSpec,
    plan: Plan,
    shared: Arc<Shared>,
) -> Outcome {
    let started = Instant::now();
    let mut outcome = Outcome {
        join_ms: None,
        error: None,
    };
    let mut settled = false;
    let result = drive::<T, P, S>(
        &*target,
        &spec,
        plan,
        &shared,
        started,
        &mut outcome,
        &mut settled,
    )
    .await;
    if let Err(e) = result {
        let stopping = *shared.stop.borrow();
        if !stopping || outcome.join_ms.is_none() {
            outcome.error = Some(format!("{}: {e:#}", spec.identity));
        }
    }
    if !settled {
        shared.settled.fetch_add(1, Relaxed);
    }
    outcome
}

async fn drive<T: Target, P: Publisher, S: Subscriber>(
    target: &T,
    spec: &TerminalSpec,
    plan: Plan,
    shared: &Arc<Shared>,
    started: Instant,
    outcome: &mut Outcome,
    settled: &mut bool,
) -> anyhow::Result<()> {
    let index = spec.index as u16;
    let mut session = target.connect(spec).await.context("joining")?;
    let subscriber = S::open(shared, index).await?;
    let publisher = Arc::new(P::open(shared, index, &plan).await?);
    let offer = publisher.offer().await?;
    let answer = session.publish(offer).await.context("publishing")?;
    publisher.accept_answer(answer).await?;

    let up = {
        let publisher = publisher.clone();
        async move { publisher.connected(CONNECT_TIMEOUT).await }
    };
    tokio::pin!(up);
    let mut is_up = false;
    let mut senders = Vec::new();
    let mut stop = shared.stop.clone();
    let result = loop {
        tokio::select! {
            r = &mut up, if !is_up => {
                if let Err(e) = r {
                    break Err(e.context("publisher connection"));
                }
                is_up = true;
                outcome.join_ms = Some(started.elapsed().as_secs_f64() * 1000.0);
                shared.joined.fetch_add(1, Relaxed);
                shared.settled.fetch_add(1, Relaxed);
                *settled = true;
                senders = publisher.start_media(index, &plan, shared);
            }
            event = session.next_event() => match event {
                Ok(SessionEvent::SubscriberOffer(sdp)) => {
                    let answer = match subscriber.answer(sdp).await {
                        Ok(a) => a,
                        Err(e) => break Err(e.context("answering a subscriber offer")),
                    };
                    if let Err(e) = session.answer(answer).await {
                        break Err(e.context("sending a subscriber answer"));
                    }
                }
                Ok(SessionEvent::Closed(why)) => {
                    break Err(anyhow::anyhow!("signaling closed: {why}"));
                }
                Err(e) => break Err(e.context("signaling")),
            },
            _ = stopped(&mut stop) => break Ok(()),
        }
    };
    if result.is_err() {
        senders.iter().for_each(|s| s.abort());
    }
    for s in senders {
        match s.await {
            Ok(Err(e)) if result.is_ok() => tracing::warn!("{}: sending: {e:#}", spec.identity),
            _ => {}
        }
    }
    publisher.close().await;
    subscriber.close().await;
    if let Err(e) = session.leave().await {
        tracing::debug!("{}: leaving: {e:#}", spec.identity);
    }
    result
}
