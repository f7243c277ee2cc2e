//! The framing on the page's WebSocket.
//!
//! Binary frames carry terminal bytes: server → page they are PTY output, page
//! → server they are keystrokes. Text frames carry the JSON messages below.
//! After every [`ServerMessage::Screen`] the next binary frame is the screen
//! snapshot, which the page writes into a freshly reset terminal.

use serde::{Deserialize, Serialize};

use super::backend::Actor;

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum ServerMessage {
    /// First message on every socket.
    #[serde(rename_all = "camelCase")]
    Hello {
        id: String,
        display_name: String,
        read_only: bool,
        state: String,
        last_actor: Option<Actor>,
    },
    /// Reset the terminal to `cols`×`rows`; the screen follows as binary.
    /// `resync` is true when the page fell behind and output was skipped.
    Screen {
        cols: u16,
        rows: u16,
        resync: bool,
    },
    #[serde(rename_all = "camelCase")]
    State {
        state: String,
        last_actor: Option<Actor>,
    },
    Resized {
        cols: u16,
        rows: u16,
    },
    /// The session is gone; the server closes the socket next.
    Closed {
        reason: String,
    },
    /// A line typed in the page was not submitted: the policy refused it
    /// (`message` names the rule); the line was killed on the terminal.
    Refused {
        message: String,
    },
    /// Something the page asked for failed (e.g. the PTY refused input).
    Error {
        message: String,
    },
}

#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum ClientMessage {
    /// Keystrokes as text (the page normally sends binary frames instead).
    Input { data: String },
    /// The page's terminal fits `cols`×`rows`; resize the PTY to it.
    Resize { cols: u16, rows: u16 },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_format() {
        let hello = ServerMessage::Hello {
            id: "s1".into(),
            display_name: "Python".into(),
            read_only: true,
            state: "ready".into(),
            last_actor: Some(Actor::Person),
        };
        assert_eq!(
            serde_json::to_string(&hello).expect("serializes"),
            r#"{"type":"hello","id":"s1","displayName":"Python","readOnly":true,"state":"ready","lastActor":"person"}"#
        );
        let refused = ServerMessage::Refused {
            message: "Refused by policy rule `input.deny[0]`".into(),
        };
        assert_eq!(
            serde_json::to_string(&refused).expect("serializes"),
            r#"{"type":"refused","message":"Refused by policy rule `input.deny[0]`"}"#
        );
        let resize: ClientMessage =
            serde_json::from_str(r#"{"type":"resize","cols":100,"rows":30}"#).expect("parses");
        assert_eq!(
            resize,
            ClientMessage::Resize {
                cols: 100,
                rows: 30
            }
        );
    }
}
