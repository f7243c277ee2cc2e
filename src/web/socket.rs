//! One page's WebSocket: the screen first, then the live stream; keystrokes
//! and resizes back from interactive pages.

use std::sync::Arc;

use axum::extract::ws::{Message, WebSocket};
use bytes::{Bytes, BytesMut};
use tokio::sync::broadcast::{self, error::RecvError, error::TryRecvError};
use tracing::debug;

use super::backend::{Attachment, LineOutcome, WebEvent};
use super::line::{LineAssembler, Piece};
use super::protocol::{ClientMessage, ServerMessage};
use super::routes::AppState;
use super::tokens::Access;

/// Output already queued when a frame is sent is merged into it up to this
/// size, so a flood becomes a few large frames instead of many tiny ones.
const MAX_FRAME: usize = 64 * 1024;

/// Largest message a page may send (a big paste).
pub const MAX_INCOMING: usize = 1 << 20;

/// How long an Enter waits for the echo of keys whose effect on the line
/// only the program knows (arrows, history, completion).
const ECHO_WAIT: std::time::Duration = std::time::Duration::from_millis(150);

/// Terminal sizes outside this range are a bug or an attack, not a window.
const MAX_COLS: u16 = 1000;
const MAX_ROWS: u16 = 500;

/// What the socket task does next.
#[derive(Debug)]
pub(crate) enum Pumped {
    Output(Bytes),
    Event(WebEvent),
    /// The receiver fell behind and output was dropped: resend the screen.
    Lagged,
    /// The session's sender is gone.
    Closed,
}

/// How long output is gathered before it is sent: a page repainting at
/// ~120 Hz looks live, and the agent's own round trip (well under a
/// millisecond) is then never slowed by a crowd of watchers doing their
/// work at the same moment.
const FRAME_DELAY: std::time::Duration = std::time::Duration::from_millis(8);

/// Reads a session's events, merging consecutive output.
pub(crate) struct EventPump {
    rx: broadcast::Receiver<WebEvent>,
    /// A non-output event read while merging output, delivered next.
    stash: Option<WebEvent>,
    /// Output received and the time it is due to be sent.
    pending: Option<(Bytes, tokio::time::Instant)>,
}

impl EventPump {
    pub(crate) fn new(rx: broadcast::Receiver<WebEvent>) -> Self {
        Self {
            rx,
            stash: None,
            pending: None,
        }
    }

    /// Cancel-safe: `recv` loses nothing when dropped, and output waiting
    /// for its frame is kept in `pending` if the wait is cancelled.
    pub(crate) async fn next(&mut self) -> Pumped {
        if self.pending.is_none() {
            let first = match self.stash.take() {
                Some(event) => event,
                None => match self.rx.recv().await {
                    Ok(event) => event,
                    Err(RecvError::Lagged(_)) => return Pumped::Lagged,
                    Err(RecvError::Closed) => return Pumped::Closed,
                },
            };
            let WebEvent::Output(first) = first else {
                return Pumped::Event(first);
            };
            self.pending = Some((first, tokio::time::Instant::now() + FRAME_DELAY));
        }
        if let Some((_, due)) = &self.pending {
            tokio::time::sleep_until(*due).await;
        }
        let Some((first, _)) = self.pending.take() else {
            return Pumped::Closed;
        };
        let mut merged: Option<BytesMut> = None;
        while merged.as_ref().map_or(first.len(), BytesMut::len) < MAX_FRAME {
            match self.rx.try_recv() {
                Ok(WebEvent::Output(more)) => merged
                    .get_or_insert_with(|| BytesMut::from(&first[..]))
                    .extend_from_slice(&more),
                Ok(other) => {
                    self.stash = Some(other);
                    break;
                }
                // The screen we resend supersedes whatever we merged.
                Err(TryRecvError::Lagged(_)) => return Pumped::Lagged,
                // Empty: send what we have. Closed: noticed by the next `recv`.
                Err(TryRecvError::Empty | TryRecvError::Closed) => break,
            }
        }
        Pumped::Output(merged.map_or(first, BytesMut::freeze))
    }
}

/// Runs one socket until the page leaves or the session ends.
pub(crate) async fn serve(mut socket: WebSocket, app: Arc<AppState>, id: String, access: Access) {
    if let Err(err) = drive(&mut socket, &app, &id, access).await {
        // A page closing its tab mid-send lands here; nothing to do about it.
        debug!(session = %id, %err, "web socket ended");
    }
    let _ = socket.send(Message::Close(None)).await;
}

async fn send_json(socket: &mut WebSocket, message: &ServerMessage) -> Result<(), axum::Error> {
    let text = serde_json::to_string(message).map_err(axum::Error::new)?;
    socket.send(Message::Text(text.into())).await
}

async fn send_closed(socket: &mut WebSocket, reason: &str) -> Result<(), axum::Error> {
    send_json(
        socket,
        &ServerMessage::Closed {
            reason: reason.to_owned(),
        },
    )
    .await
}

/// Sends a snapshot and returns the pump for what follows it.
async fn send_screen(
    socket: &mut WebSocket,
    attachment: Attachment,
    resync: bool,
) -> Result<EventPump, axum::Error> {
    let Attachment {
        screen,
        cols,
        rows,
        events,
    } = attachment;
    send_json(socket, &ServerMessage::Screen { cols, rows, resync }).await?;
    socket.send(Message::Binary(screen.into())).await?;
    Ok(EventPump::new(events))
}

async fn drive(
    socket: &mut WebSocket,
    app: &AppState,
    id: &str,
    access: Access,
) -> Result<(), axum::Error> {
    let Some(mut revoked) = app.tokens.revoked(id) else {
        return send_closed(socket, "session closed").await;
    };
    let Some(info) = app.backend.session_info(id) else {
        return send_closed(socket, "session closed").await;
    };
    let read_only = app.access(id, access) == Access::ReadOnly;
    send_json(
        socket,
        &ServerMessage::Hello {
            id: info.id,
            display_name: info.display_name,
            read_only,
            state: info.state,
            last_actor: info.last_actor,
        },
    )
    .await?;
    let Some(attachment) = app.backend.attach(id) else {
        return send_closed(socket, "session closed").await;
    };
    let mut pump = send_screen(socket, attachment, false).await?;
    // Read-only pages type nothing, so they assemble no line.
    let mut typing = (!read_only).then(LineAssembler::default);

    loop {
        if *revoked.borrow_and_update() {
            return send_closed(socket, "session closed").await;
        }
        tokio::select! {
            changed = revoked.changed() => {
                // An error means the registry itself is gone: the server stops.
                if changed.is_err() {
                    return send_closed(socket, "server stopped").await;
                }
            }
            pumped = pump.next() => match pumped {
                Pumped::Output(bytes) | Pumped::Event(WebEvent::Output(bytes)) => {
                    socket.send(Message::Binary(bytes)).await?;
                }
                Pumped::Event(WebEvent::State { state, last_actor }) => {
                    send_json(socket, &ServerMessage::State { state, last_actor }).await?;
                }
                Pumped::Event(WebEvent::Resized { cols, rows }) => {
                    send_json(socket, &ServerMessage::Resized { cols, rows }).await?;
                }
                Pumped::Event(WebEvent::Closed) | Pumped::Closed => {
                    return send_closed(socket, "session closed").await;
                }
                Pumped::Lagged => {
                    // Dropping the old receiver frees its place in the ring;
                    // a fresh snapshot brings the page back in step.
                    debug!(session = %id, "viewer fell behind; resending the screen");
                    let Some(attachment) = app.backend.attach(id) else {
                        return send_closed(socket, "session closed").await;
                    };
                    pump = send_screen(socket, attachment, true).await?;
                }
            },
            incoming = socket.recv() => match incoming {
                None | Some(Ok(Message::Close(_))) => return Ok(()),
                Some(Err(err)) => return Err(err),
                Some(Ok(Message::Binary(bytes))) => handle_input(socket, app, id, typing.as_mut(), &bytes).await?,
                Some(Ok(Message::Text(text))) => match serde_json::from_str::<ClientMessage>(&text) {
                    Ok(ClientMessage::Input { data }) => {
                        handle_input(socket, app, id, typing.as_mut(), data.as_bytes()).await?;
                    }
                    Ok(ClientMessage::Resize { cols, rows }) => {
                        handle_resize(socket, app, id, read_only, cols, rows).await?;
                    }
                    Err(err) => debug!(session = %id, %err, "ignoring a malformed page message"),
                },
                // axum answers pings itself.
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
            },
        }
    }
}

/// Keys go to the terminal as they come; each Enter is submitted with the
/// line it ends, and a refused line is killed instead (the rest of that
/// message, a paste's following lines, is dropped) and the page told why.
async fn handle_input(
    socket: &mut WebSocket,
    app: &AppState,
    id: &str,
    typing: Option<&mut LineAssembler>,
    bytes: &[u8],
) -> Result<(), axum::Error> {
    // The read-only page never sends input; a hand-made client that does is
    // ignored rather than disconnected, as there is nothing to protect by
    // telling it more.
    let Some(typing) = typing else {
        return Ok(());
    };
    for piece in typing.feed(bytes) {
        let written = match piece {
            Piece::Keys(keys) => app.backend.write_input(id, &keys),
            Piece::Enter { line, key, edited } => {
                if edited {
                    // Let the program echo what arrows or completion did,
                    // so the line on the screen is the line checked.
                    tokio::time::sleep(ECHO_WAIT).await;
                }
                match app.backend.submit_line(id, &line, key) {
                    Ok(LineOutcome::Sent) => Ok(()),
                    Ok(LineOutcome::Refused { message }) => {
                        let killed = app.backend.write_input(id, &typing.kill_line());
                        send_json(socket, &ServerMessage::Refused { message }).await?;
                        return match killed {
                            Ok(()) => Ok(()),
                            Err(message) => {
                                send_json(socket, &ServerMessage::Error { message }).await
                            }
                        };
                    }
                    Err(message) => Err(message),
                }
            }
        };
        if let Err(message) = written {
            return send_json(socket, &ServerMessage::Error { message }).await;
        }
    }
    Ok(())
}

async fn handle_resize(
    socket: &mut WebSocket,
    app: &AppState,
    id: &str,
    read_only: bool,
    cols: u16,
    rows: u16,
) -> Result<(), axum::Error> {
    if read_only {
        return Ok(());
    }
    if !(2..=MAX_COLS).contains(&cols) || !(1..=MAX_ROWS).contains(&rows) {
        debug!(session = %id, cols, rows, "ignoring an implausible resize");
        return Ok(());
    }
    match app.backend.resize(id, cols, rows) {
        Ok(()) => Ok(()),
        Err(message) => send_json(socket, &ServerMessage::Error { message }).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn out(s: &str) -> WebEvent {
        WebEvent::Output(Bytes::copy_from_slice(s.as_bytes()))
    }

    #[tokio::test]
    async fn merges_output_and_keeps_order() {
        let (tx, rx) = broadcast::channel(16);
        let mut pump = EventPump::new(rx);
        for event in [
            out("a"),
            out("b"),
            WebEvent::Resized { cols: 1, rows: 2 },
            out("c"),
        ] {
            tx.send(event).expect("receiver alive");
        }
        assert!(matches!(pump.next().await, Pumped::Output(b) if &b[..] == b"ab"));
        assert!(matches!(
            pump.next().await,
            Pumped::Event(WebEvent::Resized { cols: 1, rows: 2 })
        ));
        assert!(matches!(pump.next().await, Pumped::Output(b) if &b[..] == b"c"));
        drop(tx);
        assert!(matches!(pump.next().await, Pumped::Closed));
    }

    #[tokio::test]
    async fn reports_lag() {
        let (tx, rx) = broadcast::channel(2);
        let mut pump = EventPump::new(rx);
        for i in 0..5 {
            tx.send(out(&i.to_string())).expect("receiver alive");
        }
        assert!(matches!(pump.next().await, Pumped::Lagged));
    }

    #[tokio::test]
    async fn bounds_merged_frames() {
        let (tx, rx) = broadcast::channel(64);
        let mut pump = EventPump::new(rx);
        let chunk = "x".repeat(16 * 1024);
        for _ in 0..8 {
            tx.send(out(&chunk)).expect("receiver alive");
        }
        let Pumped::Output(first) = pump.next().await else {
            panic!("expected output");
        };
        assert_eq!(first.len(), MAX_FRAME);
        let Pumped::Output(second) = pump.next().await else {
            panic!("expected output");
        };
        assert_eq!(second.len(), MAX_FRAME);
    }
}
