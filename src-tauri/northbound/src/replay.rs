//! Reading the gap back from the history: every stored sample in `(from, to]`, band of time by band
//! ([`HistoryReader::sweep`]: one read of each chunk, no per-tag cursor), on a blocking thread with a
//! bounded channel (the session takes a batch only when its window has room, so the reader never runs
//! ahead of the broker). A batch is part of a band, grouped by tag (a device's tags together), each
//! tag's samples in time order; its mark says how far the replay got with it.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use plantwatch_core::{Plant, TagIndex, Timestamp};
use plantwatch_history::{HistoryReader, SweepMark, SweepResume, Swept};
use tokio::sync::mpsc;

/// One sample read back.
pub type Replayed = Swept<TagIndex>;

/// The stored samples after the previous batch's mark, through this one's.
#[derive(Debug, Clone)]
pub struct ReplayBatch {
    pub samples: Vec<Replayed>,
    pub mark: SweepMark,
}

/// Batches' vectors the node is done with, for the reader to fill again: a batch of a million samples
/// is 40 MB, and a new one costs the kernel ten thousand fresh pages.
#[derive(Clone, Default)]
pub struct SpareBatches(Arc<Mutex<Vec<Vec<Replayed>>>>);

impl SpareBatches {
    /// Batches in flight and being read: more spares would only hold memory.
    const KEEP: usize = 2;

    /// Keeps an emptied batch's vector for the reader.
    pub fn give(&self, mut samples: Vec<Replayed>) {
        samples.clear();
        let mut spares = self
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if spares.len() < Self::KEEP {
            spares.push(samples);
        }
    }

    /// Lets the spares go (a replay ended: tens of megabytes a plant of a million tags would keep).
    pub fn clear(&self) {
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clear();
    }

    /// A vector to fill: a spare one, or a new empty one.
    fn take(&self) -> Vec<Replayed> {
        let mut spares = self
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        spares.pop().unwrap_or_default()
    }
}

/// Streams `(from, to]` of the history at `history` into `batches`, about `batch_size` samples a
/// batch; with `resume`, the first band is `(from, resume.through]` and leaves out the tags that a
/// batch before a restart acknowledged. The last batch ends at `to` (it may be empty). Samples of tags
/// the plant no longer has are not read. Stops early when the receiver is dropped. Errors are sent as
/// text. Batches are filled in `spare`'s vectors when it has some.
pub fn spawn_reader(
    history: PathBuf,
    plant: Arc<Plant>,
    (from, to): (Timestamp, Timestamp),
    resume: Option<SweepResume>,
    batch_size: usize,
    (batches, spare): (mpsc::Sender<Result<ReplayBatch, String>>, SpareBatches),
) -> tokio::task::JoinHandle<()> {
    tokio::task::spawn_blocking(move || {
        let read_to = (&batches, &spare);
        let result = read(&history, &plant, (from, to), resume, batch_size, read_to);
        if let Err(e) = result {
            let _ = batches.blocking_send(Err(e));
        }
    })
}

fn read(
    history: &std::path::Path,
    plant: &Plant,
    (from, to): (Timestamp, Timestamp),
    resume: Option<SweepResume>,
    batch_size: usize,
    (batches, spare): (&mpsc::Sender<Result<ReplayBatch, String>>, &SpareBatches),
) -> Result<(), String> {
    let reader = HistoryReader::open(history).map_err(|e| e.to_string())?;
    let mut tags = TagFinder::new(plant);
    reader
        .sweep(
            from.add_millis(1),
            to.add_millis(1),
            resume,
            batch_size,
            |full_id| tags.find(full_id),
            |filled, mark| {
                let samples = std::mem::replace(filled, spare.take());
                batches
                    .blocking_send(Ok(ReplayBatch { samples, mark }))
                    .is_ok()
            },
        )
        .map_err(|e| e.to_string())?;
    Ok(())
}

/// Finds the plant's tags by full id for the sweep, which asks for the history's tags in id order, once
/// a window. The history numbers a plant's tags as it first meets them, in config order, so the tag
/// after the last one found is nearly always the one asked for; otherwise [`Plant::find_tag`] searches
/// the devices and their tags by name (asked for every tag of the million-tag plant, about a billion
/// string comparisons a window).
struct TagFinder<'a> {
    plant: &'a Plant,
    last: Option<TagIndex>,
}

impl<'a> TagFinder<'a> {
    fn new(plant: &'a Plant) -> Self {
        TagFinder { plant, last: None }
    }

    fn find(&mut self, full_id: &str) -> Option<TagIndex> {
        let guess = self.last.map_or(TagIndex(0), |t| TagIndex(t.0 + 1));
        let found = if self.is(guess, full_id) {
            Some(guess)
        } else {
            self.plant.find_tag(full_id)
        };
        if found.is_some() {
            self.last = found;
        }
        found
    }

    /// True when the tag at `index` is `full_id` (`"device/tag"`).
    fn is(&self, index: TagIndex, full_id: &str) -> bool {
        let Some((device, tag)) = full_id.split_once('/') else {
            return false;
        };
        self.plant
            .tag(index)
            .is_some_and(|(d, t)| d.id == device && t.id() == tag)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use plantwatch_core::testing;
    use plantwatch_core::{Table, Tag, ValueType};
    use std::path::Path;

    fn plant() -> Plant {
        let tag = |id| Tag::new(id, Table::Holding, 0, ValueType::U16);
        testing::plant(
            "p",
            Path::new("p.db"),
            vec![
                ("a", vec![tag("x"), tag("y")]),
                ("b", vec![tag("x"), tag("z")]),
            ],
        )
    }

    #[test]
    fn the_tag_finder_gives_what_the_plant_gives_in_any_order() {
        let plant = plant();
        let mut finder = TagFinder::new(&plant);
        let asked = [
            "a/x", "a/y", "b/x", "b/z", // in order, each the guess
            "b/x", "a/x", // backwards
            "gone/x", "a/gone", "a/y", "a", "", // unknown ones keep the place
        ];
        for full_id in asked {
            assert_eq!(finder.find(full_id), plant.find_tag(full_id), "{full_id}");
        }
    }
}
