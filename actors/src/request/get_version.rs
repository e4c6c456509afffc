//! GetVersion: the API version string clients check during their handshake.

use bytes::BytesMut;
use shoal_protocol::legacy::wire::put_array;
use shoal_protocol::legacy::{Status, API_VERSION};

use super::status;

/// Applies a GetVersion.
pub fn apply(out: &mut BytesMut) {
    status(out, Status::Ok);
    put_array(out, API_VERSION.as_bytes());
}
