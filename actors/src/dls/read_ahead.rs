//! The batches of a range scan that one disk job fills: several small ones
//! (legacy) so that a disk thread is woken once for several batches, and
//! the next job can read while the connection sends what the last one
//! filled.

/// Fills up to `count` batches with `fill` (which returns the scan, its
/// batch if any record went in, and whether records may remain); returns
/// the scan unless it is over, and the batches. The scan is whatever a
/// request carries from job to job: the range scan, and its compressor.
pub fn read_ahead<S, B>(count: usize, mut scan: S, mut fill: impl FnMut(S) -> (S, Option<B>, bool)) -> (Option<S>, Vec<B>) {
    debug_assert!(count > 0, "a disk job fills at least one batch");
    let mut batches = Vec::with_capacity(count);
    while batches.len() < count {
        let (rest, batch, more) = fill(scan);
        batches.extend(batch);
        if !more {
            return (None, batches);
        }
        scan = rest;
    }
    (Some(scan), batches)
}
