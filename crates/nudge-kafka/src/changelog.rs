//! The changelog's record format: one record per customer (postcard state, or a tombstone),
//! and one checkpoint per task holding its input offsets and watermark, so a restored task
//! knows exactly which input records its state already holds.

use nudge_engine::CustomerState;
use serde::{Deserialize, Serialize};

use crate::error::Error;

/// The checkpoint's key: 0xFF never occurs in UTF-8, so no customer id can collide with it.
pub const CHECKPOINT_KEY: &[u8] = b"\xff\xffnudge.checkpoint";

const STATE_V1: u8 = 1;
const CHECKPOINT_V1: u8 = 1;

/// What a task had consumed and how far its event time had got when it last committed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    /// Next offset to read per input (crm, email, clickstream); -1 if none read yet.
    pub offsets: [i64; 3],
    pub watermark: i64,
}

/// A changelog record, decoded.
#[derive(Debug, PartialEq)]
pub enum Entry {
    State(String, Box<CustomerState>),
    Tombstone(String),
    Checkpoint(Checkpoint),
}

/// The value of a customer's changelog record.
pub fn encode_state(state: &CustomerState, buf: &mut Vec<u8>) -> Result<(), Error> {
    buf.clear();
    buf.push(STATE_V1);
    state
        .encode_into(buf)
        .map_err(|e| Error::Changelog(format!("encoding state: {e}")))
}

/// The value of a task's checkpoint record.
pub fn encode_checkpoint(cp: &Checkpoint) -> Vec<u8> {
    let mut buf = vec![CHECKPOINT_V1];
    // Plain integers: postcard cannot fail on them.
    buf.extend(postcard::to_stdvec(cp).unwrap_or_default());
    buf
}

/// Decodes a changelog record. A record that does not decode is an error, never skipped:
/// skipping it would silently lose a customer's state.
pub fn decode(key: &[u8], value: Option<&[u8]>) -> Result<Entry, Error> {
    if key == CHECKPOINT_KEY {
        let body = value
            .and_then(|v| v.strip_prefix(&[CHECKPOINT_V1]))
            .ok_or_else(|| Error::Changelog("checkpoint with unknown version".into()))?;
        let cp = postcard::from_bytes(body)
            .map_err(|e| Error::Changelog(format!("checkpoint does not decode: {e}")))?;
        return Ok(Entry::Checkpoint(cp));
    }
    let customer = std::str::from_utf8(key)
        .map_err(|_| Error::Changelog("changelog key is not UTF-8".into()))?
        .to_owned();
    let Some(value) = value else {
        return Ok(Entry::Tombstone(customer));
    };
    let body = value
        .strip_prefix(&[STATE_V1])
        .ok_or_else(|| Error::Changelog(format!("state of {customer:?} has an unknown version")))?;
    let state = CustomerState::from_bytes(body)
        .map_err(|e| Error::Changelog(format!("state of {customer:?} does not decode: {e}")))?;
    Ok(Entry::State(customer, Box::new(state)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use nudge_events::Ts;

    #[test]
    fn records_round_trip() {
        let state = CustomerState {
            last_seen: Ts(42),
            purchases: 3,
            ..CustomerState::default()
        };
        let mut buf = Vec::new();
        encode_state(&state, &mut buf).unwrap();
        assert_eq!(
            decode(b"c1", Some(&buf)).unwrap(),
            Entry::State("c1".into(), Box::new(state))
        );
        assert_eq!(decode(b"c1", None).unwrap(), Entry::Tombstone("c1".into()));
        let cp = Checkpoint {
            offsets: [1, -1, 7],
            watermark: 99,
        };
        assert_eq!(
            decode(CHECKPOINT_KEY, Some(&encode_checkpoint(&cp))).unwrap(),
            Entry::Checkpoint(cp)
        );
    }

    #[test]
    fn corrupt_records_are_errors() {
        assert!(decode(b"c1", Some(b"\x09garbage")).is_err());
        assert!(decode(b"c1", Some(b"\x01\xff\xff\xff\xff\xff\xff")).is_err());
        assert!(decode(b"\xff", Some(b"\x01")).is_err());
        assert!(decode(CHECKPOINT_KEY, None).is_err());
    }
}
