//! The two Sparkplug counters: `seq` (0-255 over the messages of a session) and `bdSeq` (0-255, one
//! per MQTT session, tying an NDEATH to its NBIRTH).

/// The message sequence number of a session: NBIRTH takes 0, each following NBIRTH, DBIRTH, NDATA,
/// DDATA and DDEATH the next one, wrapping from 255 to 0.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Seq(u8);

impl Seq {
    /// A new session (or a rebirth): the next number handed out is 0, for the NBIRTH.
    pub fn start() -> Seq {
        Seq(0)
    }

    /// The number for the next message.
    pub fn take(&mut self) -> u64 {
        let n = self.0;
        self.0 = self.0.wrapping_add(1);
        u64::from(n)
    }
}

/// The birth/death sequence number: the same in the MQTT will (NDEATH) and the NBIRTH of one
/// session, one more for the next session, wrapping from 255 to 0.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BdSeq(pub u8);

impl BdSeq {
    /// The number of the session after this one.
    pub fn following(self) -> BdSeq {
        BdSeq(self.0.wrapping_add(1))
    }

    pub fn value(self) -> u64 {
        u64::from(self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seq_starts_at_zero_and_wraps_after_255() {
        let mut seq = Seq::start();
        let numbers: Vec<u64> = (0..258).map(|_| seq.take()).collect();
        assert_eq!(&numbers[..3], &[0, 1, 2]);
        assert_eq!(&numbers[255..], &[255, 0, 1], "no gap across the wrap");
    }

    #[test]
    fn bd_seq_counts_sessions_and_wraps() {
        assert_eq!(BdSeq(4).following(), BdSeq(5));
        assert_eq!(BdSeq(255).following(), BdSeq(0));
    }
}
