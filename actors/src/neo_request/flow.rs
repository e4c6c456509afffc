//! Suspend, resume and stop of a streaming request (GetAll, Mirror): the
//! client's control messages, each acknowledged, and the closing handshake
//! in which the client acknowledges the end of the stream.

use shoal_protocol::neo::dht::Control;
use shoal_protocol::neo::RequestError;

use crate::neo::{RequestIo, TaskError};

/// Whether a streaming request may send.
#[derive(Debug, Default)]
pub(super) struct Flow {
    suspended: bool,
}

/// What the request does after a control message.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Next {
    /// Carry on (sending or not, as [`Flow::suspended`] says).
    Continue,
    /// The client stopped the request: end it.
    Stop,
}

impl Flow {
    /// A flow that starts suspended or not, as the client asked.
    pub(super) fn new(suspended: bool) -> Self {
        Flow { suspended }
    }

    /// Whether the client has suspended the request.
    pub(super) fn suspended(&self) -> bool {
        self.suspended
    }

    /// Acts on one client message: acknowledges it, then suspends, resumes
    /// or stops. An Ack (or anything else) while the stream runs is a
    /// protocol error, as in the original.
    pub(super) async fn handle(&mut self, io: &RequestIo, payload: &[u8]) -> Result<Next, TaskError> {
        let control = Control::decode(payload)?;
        if control == Control::Ack {
            return Err(RequestError::UnknownStatus { kind: "unexpected control message", byte: 4 }.into());
        }
        io.send(&Control::Ack.encode()).await?;
        Ok(match control {
            Control::Suspend => {
                self.suspended = true;
                Next::Continue
            }
            Control::Resume => {
                self.suspended = false;
                Next::Continue
            }
            _ => Next::Stop,
        })
    }

    /// Acts on every control message already waiting, without waiting.
    pub(super) async fn poll(&mut self, io: &mut RequestIo) -> Result<Next, TaskError> {
        while let Some(payload) = io.try_recv() {
            if self.handle(io, &payload).await? == Next::Stop {
                return Ok(Next::Stop);
            }
        }
        Ok(Next::Continue)
    }

    /// Waits while suspended, acting on control messages.
    pub(super) async fn wait_while_suspended(&mut self, io: &mut RequestIo) -> Result<Next, TaskError> {
        while self.suspended {
            let payload = io.recv().await?;
            if self.handle(io, &payload).await? == Next::Stop {
                return Ok(Next::Stop);
            }
        }
        Ok(Next::Continue)
    }
}

/// After the stream's last message: waits for the client's Ack, ignoring
/// control messages that crossed the end (they are not acknowledged).
pub(super) async fn await_final_ack(io: &mut RequestIo) -> Result<(), TaskError> {
    loop {
        if Control::decode(&io.recv().await?)? == Control::Ack {
            return Ok(());
        }
    }
}
