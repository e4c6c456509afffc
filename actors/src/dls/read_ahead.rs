//! Several batches of a range scan filled by one disk job, so that a disk
//! thread is woken once for several batches, and the next job can read
//! while the connection sends what the last one filled.

/// Batches one disk job fills.
pub const BATCHES: usize = 4;

/// Fills up to [`BATCHES`] batches with `fill` (which returns the scan, its
/// batch if any record went in, and whether records may remain); returns
/// the scan unless it is over, and the batches. The scan is whatever a
/// request carries from job to job: the range scan, and its compressor.
pub fn read_ahead<S, B>(mut scan: S, mut fill: impl FnMut(S) -> (S, Option<B>, bool)) -> (Option<S>, Vec<B>) {
    let mut batches = Vec::with_capacity(BATCHES);
    while batches.len() < BATCHES {
        let (rest, batch, more) = fill(scan);
        batches.extend(batch);
        if !more {
            return (None, batches);
        }
        scan = rest;
    }
    (Some(scan), batches)
}
